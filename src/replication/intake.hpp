// Where a client write goes when it reaches a node: the write intake's rule,
// as plain code, used by the database actor (enqueue) and by the failover
// simulation (its clients write through any node). Refused at once, visible
// nowhere: when fewer of the database's servers are online than its write
// quorum (this is how the minority side of a split refuses), or when too many
// writes wait here. Otherwise ordered here when this node owns the database,
// takes it over or should own it (replication::member::orders_here), else
// forwarded to the owner; a write another node forwarded is never forwarded
// again (the two nodes disagree about the owner: refused).
#pragma once

#include <cstddef>
#include <string>

#include "src/replication/member.hpp"

namespace troupe::replication {

struct intake_decision {
  enum class kind { refuse, order_here, forward } what = kind::refuse;
  std::string why;  // refuse: the sentence of the 503 body (the write was not applied)
};

// `forwarded`: another node passed this write on as the owner's. `waiting`:
// writes waiting here already (queued or being forwarded); `waiting_max` the bound.
intake_decision route_write(const member& m, const std::string& db, const std::string& self, bool forwarded,
                            size_t waiting, size_t waiting_max);

}  // namespace troupe::replication
