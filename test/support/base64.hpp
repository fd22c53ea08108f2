// Standard base64 (with padding), for building HTTP Basic credentials in tests
// and benchmarks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace troupe::test {

inline std::string base64(std::string_view in) {
  static constexpr const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (in.size() - i == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

// "Authorization: Basic ...\r\n" for `user`:`password`.
inline std::string basic_auth_header(std::string_view user, std::string_view password) {
  std::string up(user);
  up += ':';
  up += password;
  return "Authorization: Basic " + base64(up) + "\r\n";
}

}  // namespace troupe::test
