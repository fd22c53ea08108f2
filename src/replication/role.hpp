// Who orders a database's writes, who holds copies, and how many must hold a
// write before it is acknowledged: computed from the database's distributed
// configuration and the cluster view, the same way on every node (so every
// node that sees the same view names the same owner).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "src/cluster/cluster_model.hpp"
#include "src/config/db_config.hpp"

namespace troupe::replication {

struct role {
  std::string db;
  // The configured replica set of the database (the "*" cluster's first
  // partition, <NEW_NODE> left out), in order: the owner is the first of them
  // that is online. Nodes that are down stay configured (and in quorums).
  std::vector<std::string> servers;
  // The servers that are members now (not suspected) with the database ONLINE.
  std::vector<std::string> online;
  uint32_t write_quorum = 1;  // resolved against servers.size()
  uint32_t resync_every_s = 0;  // anti-entropy period (resyncEvery; 0: off)
  uint64_t view_version = 0;
  friend bool operator==(const role&, const role&) = default;

  // "" when no server is online.
  std::string owner() const { return online.empty() ? std::string() : online.front(); }
  bool is_server(const std::string& n) const;
  bool is_online(const std::string& n) const;
  size_t index_of(const std::string& n) const;  // servers.size() when absent
  std::vector<std::string> missing() const;       // servers not online
};

// The role of `db` with configuration `cfg` in `view`, `suspected` members not
// counted. A database without replication (or with no server listed) has
// `self` as its only server. writeQuorum "majority"/"all"/n is resolved
// against the configured servers; a quorum above their number is lowered to
// it unless failureAvailableNodesLessQuorum is true (OrientDB 1.6's meaning):
// then the quorum stays and writes fail.
role role_of(const std::string& db, const db_config& cfg, const cluster_view& view,
             const std::set<std::string>& suspected, const std::string& self);

// The one 503 body (errc::unavailable, HTTP 503 and the console's error): a
// sentence and the facts behind it, as JSON: the quorum, the servers that
// answered, the configured ones that did not, and for a write its outcome
// ("not applied": visible nowhere, ever; "unknown": it may still be applied).
// `outcome` empty: a read, no outcome.
std::string unavailable_body(std::string_view content, uint32_t quorum, const std::vector<std::string>& answered,
                             const std::vector<std::string>& servers, std::string_view outcome);

}  // namespace troupe::replication
