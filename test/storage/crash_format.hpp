// What crash_writer prints and writes, shared with the crash test that checks
// it. One line per acknowledged op, written only after apply() returned:
//   ACK <n> #<cluster>:<position> v<version> <fnv1a-64 of the stored fields, hex>
// Every record the writer makes is self-describing, so any version found after
// a crash (acknowledged or not) can be checked for integrity:
//   {"k":"<run>-<n>","v":<version>,"pad":"<letters>","sum":"<fnv1a-64 of pad, hex>"}
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace troupe::storage::testing {

inline uint64_t fnv1a(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

inline std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// The class the writer fills: "V" exists in every database.
inline constexpr const char* crash_class = "V";

}  // namespace troupe::storage::testing
