// The plain data and rules of cluster membership, shared by the cluster actor
// and the REST layer, and tested without actors.
//
// A view is the ordered member list plus a version. The leader (the oldest
// member: smallest started_on_ms, then name) is the only node that changes the
// view and the databases' distributed configurations; every change bumps the
// version and is sent to every member, who adopt any view whose version is
// higher than theirs. So after a change has reached everyone, every member holds
// the same view.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "src/config/db_config.hpp"

namespace troupe {

// Node status names are OrientDB's (1.7-2.1 spelling).
inline constexpr const char* node_starting = "STARTING";
inline constexpr const char* node_online = "ONLINE";
inline constexpr const char* node_shutting_down = "SHUTTINGDOWN";
inline constexpr const char* node_offline = "OFFLINE";
// Database status names on a member (OrientDB 1.7-2.1: OFFLINE, SYNCHRONIZING, ONLINE).
inline constexpr const char* db_synchronizing = "SYNCHRONIZING";
inline constexpr const char* db_online = "ONLINE";
inline constexpr const char* db_offline = "OFFLINE";

struct member_info {
  std::string name;
  std::string node_id;       // CAF node id of the member's actor system, as text
  std::string cluster_host;  // where its cluster endpoint is published
  uint16_t cluster_port = 0;
  std::string http_host;
  uint16_t http_port = 0;
  int64_t started_on_ms = 0;
  std::string status;  // STARTING, ONLINE, SHUTTINGDOWN, OFFLINE
  std::vector<std::string> databases;
  // Status of each database on this member: SYNCHRONIZING while a deploy
  // runs, ONLINE when it serves. A database being received is in db_status but
  // not yet in `databases`.
  std::map<std::string, std::string> db_status;
  // Databases ONLINE here whose replica is receiving writes it missed (it was
  // away): shown as SYNCHRONIZING, but, unlike a deploy, still sent the
  // owner's appends (that is how it catches up), so roles take it as online.
  std::vector<std::string> catching_up;
  // Lower-case hex of the member's node key (src/link/identity.hpp): the key
  // its link proved when it was admitted. Links announcing node_id under
  // another key are refused; the name stays with this key while it is a member.
  std::string key;
  // Where its console (admin) endpoint listens (actors/admin_actor.hpp), so a
  // console can move to another member when its node is gone; "" and 0 when the
  // node publishes none. Appended last: the wire order of the older fields stays.
  std::string console_host;
  uint16_t console_port = 0;

  // The status users see for `db`: SYNCHRONIZING while catching up, else
  // db_status (empty when the member does not hold it).
  std::string shown_status(const std::string& db) const;

  // "Member [127.0.0.1]:2435", as Hazelcast named members in the seed's log lines.
  std::string member_id() const;
  friend bool operator==(const member_info&, const member_info&) = default;
};

struct cluster_view {
  uint64_t version = 0;
  std::vector<member_info> members;  // in join order

  const member_info* find(std::string_view name) const;
  member_info* find(std::string_view name);
  // The one leader rule: the oldest member (start time, then name) that is not
  // suspected, or nullptr when there is none. When the leader is lost, the next
  // oldest leads at once, without waiting for a view change.
  const member_info* leader(const std::set<std::string>& suspected = {}) const;
  friend bool operator==(const cluster_view&, const cluster_view&) = default;
};

// One database's distributed configuration on the wire: its JSON text (parsed
// again on arrival, so both sides validate it) and version.
struct db_config_msg {
  std::string db;
  std::string json;
  int64_t version = 0;
  std::string changed_by;  // the node whose join or leave caused the change ("" = none)
};

// The whole shared state the leader distributes.
struct cluster_state {
  cluster_view view;
  std::vector<db_config_msg> configs;
  // The leader's proposals to shrink a database's servers (hotAlignment
  // false), each waiting for a majority of the servers to agree: `db`, the
  // configuration (`json`, `version`) it changes, the server it removes in
  // `changed_by`. A server that holds that very configuration answers agree_atom.
  std::vector<db_config_msg> proposals;
  // Databases the cluster dropped (tombstones): `db` and the highest
  // configuration `version` it had (json and changed_by empty). A copy whose
  // configuration is not newer belongs to the dropped database: every member
  // deletes it, and nothing deploys or readmits it (membership::dropped).
  std::vector<db_config_msg> dropped;
};

// --- distributed configuration changes (pure; return whether anything changed) --

// Adds `node` to every partition that holds <NEW_NODE> and not `node` yet.
// `added` receives "db.cluster.index" descriptions for the log.
bool add_node_to_partitions(db_config& c, const std::string& node, std::vector<std::string>* added);
// Removes `node` from every partition (hotAlignment=false, when a member is
// removed), but only where the servers that stay and `agree` (reachable now,
// or the leaver itself when it left cleanly) are a majority of the servers the
// partition had. **Why:** shrinking a partition lowers the majority its writes
// need; done on the minority side of a split (a leader alone, its peers
// suspected) it made the quorum 1 there while the majority side wrote too.
// The old majority must be behind a change of who must agree, as behind a
// write. `removed` and `kept` receive "cluster.index" for the log.
bool remove_node_from_partitions(db_config& c, const std::string& node, const std::set<std::string>& agree,
                                 std::vector<std::string>* removed, std::vector<std::string>* kept = nullptr);

// --- the partition table -------------------------------------------------------

struct partition_entry {
  std::string database;
  std::string cluster;  // a cluster name of the config, "*" for every other one
  int partition = 0;
  std::vector<std::string> replicas;  // configured nodes (no <NEW_NODE>)
  // The first replica that serves the database (serves_database: the rule
  // replication's owner follows), "" if none does. Writes to every cluster
  // of a database are ordered by the "*" entry's owner.
  std::string owner;
  friend bool operator==(const partition_entry&, const partition_entry&) = default;
};

// The one rule for who may serve `db` (order its writes, count toward its
// quorum, own a partition): a member of the view that is not suspected, is
// ONLINE, and has the database ONLINE there.
bool serves_database(const cluster_view& view, const std::set<std::string>& suspected, const std::string& node,
                     const std::string& db);

// For every database config and every cluster entry with partitioning, the
// replica sets and owners (serves_database) given the view and the members
// suspected here.
std::vector<partition_entry> compute_partition_table(const std::vector<std::pair<std::string, db_config>>& configs,
                                                     const cluster_view& view,
                                                     const std::set<std::string>& suspected = {});

// --- authentication ---------------------------------------------------------------

// HMAC-SHA256(key = group password, message = parts joined by '\n'), hex. Used
// to prove knowledge of the password without sending it.
std::string hmac_proof(const std::string& password, const std::vector<std::string>& parts);
// 32 random bytes, hex.
std::string random_nonce();
// Compares in time independent of where the strings differ.
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace troupe
