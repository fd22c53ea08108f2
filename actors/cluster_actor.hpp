// cluster_actor: the node's cluster endpoint and membership.
//
// Contract
//   owns:       the connections to the other members, and a membership core
//               (src/cluster/membership.hpp: the cluster view, suspicion, the
//               cluster's copy of every database's distributed configuration, and
//               every rule that changes them); this actor feeds it messages and
//               ticks and carries out its effects. The leader decides changes;
//               each local database's db_config_actor stores and prints them.
//   tells:      the partition-table actor after every change of view or
//               configuration; a db_config_actor after every change of its database
//   published:  on the cluster port of hazelcast.xml (auto-increment), by node.cpp
//   addresses:  tells the others the address planned for it (advertised host
//               and port, never 0.0.0.0 or a loopback address that is not where
//               the others are), and every reconnection uses the address a
//               member told; probing skips this node's own entry of the list.
//   join:       accepts joiners (hello_atom, auth_atom: src/cluster/handshake.hpp's
//               acceptor, a challenge/response in both directions over fresh
//               nonces and both CAF node ids; the password never travels).
//               The joining side is a helper actor it spawns and links
//               (actors/joiner.hpp): it probes the tcp-ip members while this
//               node is alone or leads, and asks this actor to join behind a
//               proven hello (join_atom): a node joins a larger cluster, or one
//               as large with an older leader (membership::joins); a leader of
//               several first dissolves its own (dissolve_atom to every member,
//               which goes alone and joins too). This actor sends the auth
//               itself; the leader that admits it takes the auth's sender as its
//               peer instead of connecting back (one connection per pair of
//               nodes: CAF drops one of two, and what was sent on it).
//   ordering:   the leader (oldest member not suspected here: cluster_view::leader)
//               alone changes the view and the
//               configurations; each change bumps the version and is sent to all
//               members, who adopt any higher version. A change of the servers of
//               a hotAlignment=false database is proposed in the state and
//               committed once a majority of each partition's servers answered
//               agree_atom. Members tell the leader
//               whom they lost (suspect); a new leader takes over when the old one
//               is lost.
//   failure:    heartbeats every interval to every member; a member not heard
//               within the timeout is suspected (the leader removes it); one whose
//               connection drops (down message) is connected to again at once and
//               suspected only if that fails. CAF's middleman heartbeat is set too, so a frozen peer's
//               connection is closed.
//   trust:      only hello/auth are served to nodes outside the view; every other
//               cluster message from a node that is not a member (by CAF node id)
//               is refused.
//   deploy:     when the cluster has a database with autoDeploy that this node
//               lacks, it asks a member holding it for a copy (one database at a
//               time, retried from the next member on failure, after a back-off
//               that doubles per failure up to deploy_backoff_max_ms; the rules
//               and the book of attempts are src/cluster/deploy_plan.hpp's); a deploy from
//               a member that is lost is abandoned at once and retried elsewhere.
//               It serves such requests from others with a deploy sender
//               (actors/deploy.hpp). While a database is being received it is
//               SYNCHRONIZING in this member's entry of the view, then ONLINE:
//               a member reports its databases to the leader (update_atom),
//               which puts them in the next view.
//   relays:     replication between database actors of different nodes goes
//               through the cluster actors (fetch, tail, fwd, repl); quorum reads
//               ask the database's other online servers (src/replication/read_quorum.hpp).
//   on exit:    (leave_atom) first tells every member, so a clean stop is not
//               mistaken for a crash.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster_directory.hpp"
#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/cluster/addresses.hpp"
#include "src/link/guard.hpp"
#include "src/config/db_config.hpp"
#include "src/config/hazelcast_config.hpp"
#include "src/util/log.hpp"

namespace troupe {

inline constexpr size_t pending_hellos_max = 64;

struct cluster_options {
  std::string name;
  hazelcast_config hazelcast;
  db_config default_db;
  std::filesystem::path databases_dir;
  // Where other nodes and clients reach this one, and the names under which it
  // appears in the tcp-ip member list (src/cluster/addresses.hpp).
  address_plan addresses;
  // REQUIRED: every connection to another node goes through the node's link
  // guard (src/link/guard.hpp): CAF connects to a local port it relays.
  std::shared_ptr<link::guard> guard;
  // REQUIRED: the guard's book of which node key each link's node id proved
  // (src/link/identity.hpp). The actor admits joiners with the key their link
  // proved and gives the book every member's node id and key at each change.
  std::shared_ptr<link::peer_book> book;
  std::string key;  // key_text of this node's own node key
  int64_t started_on_ms = 0;
  std::vector<std::string> databases;  // local databases at start
  // The configuration actor of each local database and what it held at start.
  std::map<std::string, db_config_actor> config_actors;
  std::vector<db_config_msg> initial_configs;
  partition_table_actor partitions;  // told of every change
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

cluster_actor spawn_cluster_actor(caf::actor_system& sys, cluster_options opts,
                                  std::shared_ptr<cluster_directory> directory, logger* log);

}  // namespace troupe
