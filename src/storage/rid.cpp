#include "src/storage/rid.hpp"


#include <cassert>
#include <cstdint>

#include "src/util/strings.hpp"

namespace troupe::storage {

namespace {

constexpr int64_t position_max = INT64_MAX;

}  // namespace

bool rid::valid() const { return cluster >= 0 && cluster <= cluster_id_max && position >= 0; }

// Without a stream: it runs for every record a query reads.
std::string rid::to_string() const {
  std::string out = "#";
  out += std::to_string(cluster);
  out += ':';
  out += std::to_string(position);
  return out;
}

std::optional<rid> rid::parse(std::string_view s) {
  if (!s.empty() && s.front() == '#') s.remove_prefix(1);
  auto colon = s.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  // parse_int refuses empty strings, signs, spaces, junk and overflow, which
  // is exactly the RID grammar for each part: [0-9]+.
  auto c = parse_int(s.substr(0, colon), 0, cluster_id_max);
  auto p = parse_int(s.substr(colon + 1), 0, position_max);
  if (!c || !p) return std::nullopt;
  rid out{static_cast<int32_t>(*c), *p};
  assert(out.cluster >= 0 && out.position >= 0);
  return out;
}

}  // namespace troupe::storage
