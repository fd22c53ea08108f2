// The actors' one reading of the monotonic clock, in milliseconds. Plain cores
// never read a clock: the actors pass them this time (a seam for tests).
#pragma once

#include <chrono>
#include <cstdint>

namespace troupe {

inline int64_t steady_now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace troupe
