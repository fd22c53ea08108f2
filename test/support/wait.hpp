// Bounded waits for a condition (never a fixed sleep).
#pragma once

#include <chrono>
#include <thread>

namespace troupe::test {

// Polls `pred` until it holds or `timeout` passes; the last answer of `pred`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

}  // namespace troupe::test
