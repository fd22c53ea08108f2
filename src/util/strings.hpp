// Small string helpers shared by the parsers. No allocation tricks: these run at
// startup and on request edges, never in a hot loop.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

// Concatenates anything that has operator<<.
template <class... Ts>
std::string cat(const Ts&... xs) {
  std::ostringstream os;
  (os << ... << xs);
  return os.str();
}

std::string_view trim(std::string_view s);

// Parses a whole decimal string (no sign, no spaces) into [lo, hi].
std::optional<int64_t> parse_int(std::string_view s, int64_t lo, int64_t hi);

// "true"/"false" (case-insensitive), nothing else.
std::optional<bool> parse_bool(std::string_view s);

// 1-based line number of byte `offset` in `text`.
int line_of(std::string_view text, size_t offset);

std::vector<std::string> split(std::string_view s, char sep);

// A node name: 1-64 characters of [A-Za-z0-9._-]. Used in file names and log
// prefixes, hence the narrow alphabet.
bool valid_node_name(std::string_view s);

// Bytes as hex digits (lower case unless `upper`), and back (either case;
// nullopt on an odd length or a non-hex digit).
std::string hex(std::string_view bytes, bool upper = false);
std::optional<std::string> unhex(std::string_view h);

}  // namespace troupe
