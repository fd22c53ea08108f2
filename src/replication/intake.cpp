#include "src/replication/intake.hpp"

#include "src/util/strings.hpp"

namespace troupe::replication {

intake_decision route_write(const member& m, const std::string& db, const std::string& self, bool forwarded,
                            size_t waiting, size_t waiting_max) {
  using k = intake_decision::kind;
  if (auto& r = m.current_role(); r && r->online.size() < r->write_quorum)
    return {k::refuse, cat("Quorum ", r->write_quorum, " not reached for database ", db, ": ", r->online.size(),
                           " of its ", r->servers.size(), " servers are online")};
  if (waiting >= waiting_max) return {k::refuse, cat("too many writes waiting for database ", db)};
  if (m.orders_here()) return {k::order_here, ""};
  if (forwarded) return {k::refuse, cat(self, " is not the owner of ", db)};
  return {k::forward, ""};
}

}  // namespace troupe::replication
