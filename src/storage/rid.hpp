// Record identity: OrientDB's RID "#<cluster-id>:<position>".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::storage {

// OrientDB cluster ids are Java shorts; negative ids are reserved for
// temporary records, which never reach storage. The one bound on cluster ids.
inline constexpr int32_t cluster_id_max = 32767;

struct rid {
  int32_t cluster = -1;   // 0 .. cluster_id_max, as OrientDB's short cluster ids
  int64_t position = -1;  // >= 0

  // Whether it names a storable record: cluster 0..32767, position >= 0.
  // RIDs that arrive from outside (REST, the console, peers) are checked with
  // it where they enter; storage refuses invalid ones too.
  bool valid() const;
  // "#12:34". Total: an invalid RID prints as what it holds ("#-1:0"), so an
  // error message about hostile input never takes the node down.
  std::string to_string() const;
  // Accepts "#12:34" and "12:34" (the '#' is optional in OrientDB's REST paths).
  // Refuses signs, spaces, empty parts, leading '+', numbers out of range.
  static std::optional<rid> parse(std::string_view s);

  friend bool operator==(const rid&, const rid&) = default;
  friend auto operator<=>(const rid&, const rid&) = default;
};

}  // namespace troupe::storage
