// Shorthands shared by the replication cores' tests (member, intake, quorum
// reads): the timing and the three-server role they start from.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/replication/member.hpp"

namespace troupe::replication::testing {

inline constexpr member_timing timing{1000, 300, 50, 100};

// Database "demo" on servers a, b, c with `online` of them online.
inline role three(std::vector<std::string> online, uint32_t quorum = 2) {
  role r;
  r.db = "demo";
  r.servers = {"a", "b", "c"};
  r.online = std::move(online);
  r.write_quorum = quorum;
  return r;
}

}  // namespace troupe::replication::testing
