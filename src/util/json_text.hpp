// Small JSON texts built by hand where a document model would be overkill
// (inspection details, the 503 body). Plain functions, no allocation beyond
// the result.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace troupe {

// A JSON string literal for `s` (quotes added, control characters escaped):
// the node's actors build their small detail_json objects with it.
inline std::string json_quote(std::string_view s) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// ["a","b"]
inline std::string json_list(const std::vector<std::string>& xs) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? "," : "") + json_quote(xs[i]);
  return out + "]";
}

}  // namespace troupe
