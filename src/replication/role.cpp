#include "src/replication/role.hpp"

#include <algorithm>

#include "src/util/json_text.hpp"
#include "src/util/strings.hpp"


namespace troupe::replication {

bool role::is_server(const std::string& n) const { return std::find(servers.begin(), servers.end(), n) != servers.end(); }

bool role::is_online(const std::string& n) const { return std::find(online.begin(), online.end(), n) != online.end(); }

size_t role::index_of(const std::string& n) const {
  return static_cast<size_t>(std::find(servers.begin(), servers.end(), n) - servers.begin());
}

std::vector<std::string> role::missing() const {
  std::vector<std::string> out;
  for (auto& s : servers)
    if (!is_online(s)) out.push_back(s);
  return out;
}

role role_of(const std::string& db, const db_config& cfg, const cluster_view& view,
             const std::set<std::string>& suspected, const std::string& self) {
  role r;
  r.db = db;
  r.view_version = view.version;
  auto& star = cfg.effective("*");
  bool replicated = cfg.replication && star.replication.value_or(true) && star.partitioning &&
                    !star.partitioning->partitions.empty();
  if (replicated)
    for (auto& n : star.partitioning->partitions.front())
      if (n != new_node_tag && !r.is_server(n)) r.servers.push_back(n);
  if (r.servers.empty()) r.servers.push_back(self);
  for (auto& n : r.servers) {
    if (n == self && view.members.empty()) {
      r.online.push_back(n);  // no cluster: alone
      continue;
    }
    if (serves_database(view, suspected, n, db)) r.online.push_back(n);
  }
  int n = static_cast<int>(r.servers.size());
  int q = star.write_quorum ? star.write_quorum->resolve(n) : quorum{quorum::kind::majority, 1}.resolve(n);
  if (q > n && !star.failure_available_nodes_less_quorum.value_or(false)) q = n;
  r.write_quorum = static_cast<uint32_t>(std::max(q, 1));
  r.resync_every_s = static_cast<uint32_t>(std::max(cfg.resync_every_s, 0));
  return r;
}

std::string unavailable_body(std::string_view content, uint32_t quorum, const std::vector<std::string>& answered,
                             const std::vector<std::string>& servers, std::string_view outcome) {
  std::vector<std::string> missing;
  for (auto& s : servers)
    if (std::find(answered.begin(), answered.end(), s) == answered.end()) missing.push_back(s);
  return cat("{\"content\":", json_quote(content), ",\"quorum\":", quorum, ",\"answered\":", json_list(answered),
             ",\"missing\":", json_list(missing), outcome.empty() ? std::string() : cat(",\"outcome\":", json_quote(outcome)),
             "}");
}

}  // namespace troupe::replication
