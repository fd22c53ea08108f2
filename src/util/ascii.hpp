// ASCII case folding for names that compare case-insensitively (SQL keywords,
// class, index and edge-class names): bytes outside A-Z are left alone, so
// UTF-8 text passes through unchanged and no locale is consulted.
#pragma once

#include <string>
#include <string_view>

namespace troupe {

inline char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

}  // namespace troupe
