// What the node's admin and session actors answer the console with: plain
// structs (no CAF), so that the console's rendering is tested without an actor
// system. Their inspect() functions and wire names are in actors/protocol.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/cluster/cluster_model.hpp"
#include "src/storage/database.hpp"
#include "src/util/json_text.hpp"  // json_quote, json_list: the actors build detail_json with them

namespace troupe {

// One actor of a node, as the actor itself describes it in its (inspect_atom)
// handler: so the mailbox length is read inside the actor, never from outside.
struct actor_summary {
  std::string name;          // "server", "cluster", "db:GratefulDeadConcerts", ...
  uint64_t id = 0;           // the CAF actor id (unique within the node)
  uint64_t mailbox = 0;      // messages waiting when it answered
  std::string summary;       // one line: the state at a glance
  std::string detail_json;   // the full state as a JSON object (text)
};

// The cluster as the connected node sees it (its cluster_directory), plus the
// cluster actor's own summary, whose detail carries the heartbeat ages.
struct cluster_report {
  std::string local_name;
  std::string local_node_id;
  cluster_state state;
  std::vector<partition_entry> partitions;
  actor_summary cluster_actor;  // detail_json: {"heardMsAgo": {"<member>": ms, ...}, ...}
  std::vector<std::string> receiving;  // databases this node is being deployed right now
};

// A class or a cluster of a database with its record count (the `info` command).
struct class_row {
  std::string name;
  std::string superclass;
  int32_t default_cluster = -1;
  int64_t records = 0;
};

// A member as a console sees it: where its console endpoint listens and its
// status (the `members_atom` answer, and the members of `info`). The console
// fails over to these addresses when its node is gone (src/console/failover.hpp).
struct console_peer {
  std::string name;
  std::string host;        // its console endpoint; "" and 0 when it publishes none
  uint16_t port = 0;
  std::string status;      // the member's status (ONLINE, ...)
  std::string db_status;   // the database's status there (member_info::shown_status), "" when not held
  bool here = false;       // the node that answered
  friend bool operator==(const console_peer&, const console_peer&) = default;
};

struct db_info {
  std::string name;
  uint64_t last_lsn = 0;
  std::vector<class_row> classes;
  std::vector<storage::cluster_info> clusters;
  // Its distributed configuration as the cluster holds it now (the JSON that
  // GET /distributed/database/<db> serves, "" when the node does not run
  // distributed or has none) and the members with its status on each.
  std::string config_json;
  int64_t config_version = 0;
  std::vector<console_peer> members;
};

// One node's position in one database (the `replication` command): its own
// change log (LSN) and the replication order it has committed up to (seq).
struct replication_row {
  std::string node;
  std::string status;     // the member's status, or "UNREACHABLE: <why>"
  bool has_db = false;    // the node holds the database
  uint64_t last_lsn = 0;  // valid when has_db
  uint64_t committed_seq = 0;  // valid when has_db
};

}  // namespace troupe
