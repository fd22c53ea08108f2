#include "src/console/failover.hpp"

#include <algorithm>

#include "src/cluster/cluster_model.hpp"
#include "src/util/strings.hpp"

namespace troupe::console {

std::vector<console_peer> failover_candidates(const std::vector<console_peer>& members, const std::string& gone,
                                              const std::string& db) {
  std::vector<console_peer> out;
  if (members.empty()) return out;
  // Start after the lost member so that consoles of one node spread the same
  // way every time (the next one in join order), not all onto the oldest.
  size_t start = 0;
  for (size_t i = 0; i < members.size(); ++i)
    if (members[i].name == gone) start = i + 1;
  for (size_t k = 0; k < members.size() && out.size() < failover_candidates_max; ++k) {
    const auto& m = members[(start + k) % members.size()];
    if (m.name == gone || m.host.empty() || m.port == 0) continue;
    if (m.status != node_online) continue;
    if (!db.empty() && m.db_status != db_online) continue;
    out.push_back(m);
  }
  return out;
}

next_step decide(attempt a, bool write) {
  switch (a) {
    case attempt::answered: return next_step::done;
    case attempt::not_delivered:
    case attempt::refused: return next_step::failover_retry;
    case attempt::lost_in_flight: return write ? next_step::failover_unknown : next_step::failover_retry;
    case attempt::timed_out: return next_step::report;
  }
  return next_step::report;
}

std::string moved_line(const std::string& from_name, const std::string& from_endpoint, const std::string& to_name,
                       const std::string& to_endpoint) {
  return cat("Connection to ", from_name, " (", from_endpoint, ") lost: now connected to ", to_name, " (",
             to_endpoint, ")");
}

std::string unknown_outcome_text(const std::string& from_name, const std::string& to_name) {
  return cat("the connection to ", from_name, " dropped while the command was in flight: it may or may not have "
             "been applied (not sent again to ", to_name, "; check before repeating it)");
}

}  // namespace troupe::console
