// placement_actor: this node's databases in the cluster.
//
// Contract
//   owns:       what follows from the membership for the databases held here:
//               each local database actor's replication role, each database's
//               stored distributed configuration (one db_config_actor per local
//               database: it stores and prints), the partition table's input,
//               the cluster_directory's snapshot and read quorums (REST reads
//               them), and the copies of databases this node receives and sends.
//   fed by:     the cluster actor (actors/cluster_actor.hpp), which owns the
//               membership: (view_atom, membership_snapshot) after every change
//               of the view, a suspicion, a configuration or the connections;
//               (suspect_atom, name) when a member left the view; (tick_atom)
//               every heartbeat interval. It decides nothing about membership.
//   tells:      each local database actor its role when it changed (role_atom,
//               in the relay actor's name: a database actor talks to other
//               nodes through the sender of its role);
//               the partition-table actor every snapshot (repart_atom); each
//               database's db_config_actor its configuration when it changed;
//               the cluster actor of changes to this node's own databases
//               (add_db_atom, db_status_atom, catchup_atom): the membership core
//               decides what follows, and the next snapshot brings it back.
//   roles:      a database still SYNCHRONIZING here (a deploy or redeploy under
//               way) gets no role, so its writes wait; an open one is ONLINE in
//               this node's own entry even before the leader echoed it.
//   deploy:     when the cluster has a database with autoDeploy that this node
//               lacks, it asks a connected member holding it for a copy (one
//               database at a time, retried from the next member on failure,
//               after a back-off that doubles per failure up to
//               deploy_backoff_max_ms; the rules and the book of attempts are
//               src/cluster/deploy_plan.hpp's); a deploy from a member that left
//               the view is abandoned at once and retried elsewhere. A database
//               actor whose copy is behind the owner's log asks for a redeploy
//               (redeploy_atom, through the cluster actor): the new copy is
//               installed beside the one in use and swapped in. While a database
//               is being received it is SYNCHRONIZING in this member's entry of
//               the view, then ONLINE. It serves deploy requests from others
//               with a deploy sender (actors/deploy.hpp).
//   trust:      local only: never published, and its handle travels only as
//               the sender of its own deploy requests. Local messages are
//               refused from other nodes; deploy requests reach it delegated by
//               the cluster actor, which checked that the sender is a member.
//   threads:    event-based; deploy senders and receivers are linked to it and
//               stop with it, as do the configuration actors it spawned.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "actors/cluster_directory.hpp"
#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/config/db_config.hpp"
#include "src/deploy/progress.hpp"
#include "src/util/log.hpp"

namespace troupe {

struct placement_options {
  db_config default_db;  // for a database the cluster has no configuration of yet
  std::filesystem::path databases_dir;
  // The configuration actor of each database held at start (more are spawned
  // for databases that appear later).
  std::map<std::string, db_config_actor> config_actors;
  partition_table_actor partitions;  // told of every snapshot (may be null)
  relay_actor relay;  // REQUIRED: roles go out in its name; deploys catch up through it
  std::shared_ptr<cluster_directory> directory;  // REQUIRED: snapshot and read quorums for REST
  // For deploys: the node's open databases and the actor that opens them.
  std::shared_ptr<db_directory> dbs;
  databases_actor db_opener;
  std::shared_ptr<deploy::progress_board> deploys;  // REQUIRED: transfers under way
  int deploy_compress_level = 1;
  // Test seam: the first outgoing deploy corrupts this chunk (-1: none).
  int64_t corrupt_first_deploy_chunk = -1;
  // Test seams: outgoing deploys pause before each chunk; incoming ones find
  // the disk full after this many bytes (0: never).
  std::chrono::milliseconds test_deploy_chunk_delay{0};
  uint64_t test_deploy_disk_limit = 0;
};

placement_actor spawn_placement_actor(caf::actor_system& sys, placement_options opts, logger* log);

}  // namespace troupe
