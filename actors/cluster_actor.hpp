// cluster_actor: the node's cluster endpoint and membership.
//
// Contract
//   owns:       the connections to the other members, and a membership core
//               (src/cluster/membership.hpp: the cluster view, suspicion, the
//               cluster's copy of every database's distributed configuration, and
//               every rule that changes them); this actor feeds it messages and
//               ticks and carries out its effects. The leader decides changes.
//   tells:      the placement actor (actors/placement_actor.hpp) the membership
//               after every change of the view, a suspicion, a configuration or
//               the connections (view_atom, membership_snapshot, naming the
//               configurations to store), each member that left the view
//               (suspect_atom) and each tick; it turns them into the local
//               databases' roles, the partition table, the directory, stored
//               configurations and deploys. It tells this actor of changes to
//               this node's own databases (add_db_atom, db_status_atom).
//   published:  on the cluster port of hazelcast.xml (auto-increment), by node.cpp
//   addresses:  tells the others the address planned for it (advertised host
//               and port, never 0.0.0.0 or a loopback address that is not where
//               the others are), and every reconnection uses the address a
//               member told; probing skips this node's own entry of the list.
//   join:       both sides of the handshake are a helper actor it spawns and
//               links (actors/joiner.hpp). Hellos and auths that reach this
//               actor go to it (delegate; src/cluster/handshake.hpp's acceptor,
//               a challenge/response in both directions over fresh nonces and
//               both CAF node ids; the password never travels), and a proven
//               joiner comes back to be admitted (join_atom with its cluster
//               actor): the leader admits it, a member asks the leader.
//               The joiner also probes the tcp-ip members while this
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
//   deploy:     the placement actor asks for copies and sends them; requests
//               from members (deploy_atom) are handed to it (delegate) once the
//               sender proved a member, and a local database actor's redeploy
//               request goes to it too. A member reports its databases and
//               their status to the leader (update_atom), which puts them in
//               the next view.
//   relays:     replication between database actors of different nodes, and
//               quorum reads, go through the relay actors (actors/relay_actor.hpp);
//               this actor tells a member its relay's handle (relay_atom).
//   on exit:    (leave_atom) first tells every member, so a clean stop is not
//               mistaken for a crash.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/cluster/addresses.hpp"
#include "src/link/guard.hpp"
#include "src/config/db_config.hpp"
#include "src/config/hazelcast_config.hpp"
#include "src/util/log.hpp"

namespace troupe {

struct cluster_options {
  std::string name;
  hazelcast_config hazelcast;
  db_config default_db;
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
  // What each local database's configuration actor held at start.
  std::vector<db_config_msg> initial_configs;
  // The tombstones of dropped databases (membership::dropped): read at start
  // from `dropped_file`, written there whenever they change ("" : not kept).
  std::vector<db_config_msg> initial_dropped;
  std::filesystem::path dropped_file;
  std::shared_ptr<db_directory> dbs;  // the node's open databases (their last LSNs, for inspection)
  placement_actor placement;          // REQUIRED: told of every change (actors/placement_actor.hpp)
  relay_actor relay;                  // REQUIRED: told of every change (actors/relay_actor.hpp)
};

cluster_actor spawn_cluster_actor(caf::actor_system& sys, cluster_options opts, logger* log);

}  // namespace troupe
