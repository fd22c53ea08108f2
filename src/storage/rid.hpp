// Record identity: OrientDB's RID "#<cluster-id>:<position>".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::storage {

struct rid {
  int32_t cluster = -1;   // 0 .. 32767, as OrientDB's short cluster ids
  int64_t position = -1;  // >= 0

  std::string to_string() const;  // "#12:34"
  // Accepts "#12:34" and "12:34" (the '#' is optional in OrientDB's REST paths).
  // Refuses signs, spaces, empty parts, leading '+', numbers out of range.
  static std::optional<rid> parse(std::string_view s);

  friend bool operator==(const rid&, const rid&) = default;
  friend auto operator<=>(const rid&, const rid&) = default;
};

}  // namespace troupe::storage
