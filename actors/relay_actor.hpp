// relay_actor: replication between the database actors of different nodes.
//
// Contract
//   owns:       the relay handles of the connected members (learnt from their
//               cluster actors, relay_atom, once per connection) and nothing
//               else: it holds no replication state.
//   fed by:     the cluster actor (actors/cluster_actor.hpp): (view_atom,
//               membership_snapshot) after every change (which members there
//               are, by node id, and which are connected), (tick_atom) every
//               heartbeat interval (asks again for relay handles not yet known).
//   outbound:   a local database actor's message for member `to` (relay_atom,
//               fwd_atom, tail_atom, fetch_atom with `to`) goes to that member's
//               relay; without a connection (or its relay not yet known) a
//               request fails at once with not_member and an envelope is
//               dropped, as on a connection that drops (the replication core
//               lives with lost messages: src/replication/member.hpp).
//   inbound:    a member's relay's message for one of our databases is handed
//               to its database actor, and the answer sent back. Not delegate():
//               a (detached) database actor that replies to another node, or
//               is named to it, stays referenced by the middleman and keeps
//               ~actor_system waiting; so database actors never talk across
//               nodes. An envelope (repl_atom) is accepted only from the
//               member it names as its sender.
//   reads:      (read_atom, db, rid) a member's request for our copy;
//               (read_atom, db, rid, quorum) from REST: the newest of `quorum`
//               servers' copies (src/replication/read_quorum.hpp decides whom
//               to ask and when the answers suffice). REST finds this actor in
//               the cluster_directory.
//   local:      a database actor's other reports go to the cluster actor
//               (catchup_atom, redeploy_atom): database actors know only the
//               sender of their role, which is this actor (actors/placement_actor.hpp
//               sends roles in its name).
//   trust:      inbound messages only from members (by CAF node id:
//               actors/senders.hpp), local ones only from this node; everything
//               else is refused and logged once per source.
//   threads:    event-based: it only forwards.
#pragma once

#include <memory>

#include "actors/cluster_directory.hpp"
#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/config/db_config.hpp"
#include "src/util/log.hpp"

namespace troupe {

struct relay_options {
  std::shared_ptr<db_directory> dbs;             // REQUIRED: the node's open databases
  std::shared_ptr<cluster_directory> directory;  // REQUIRED: where REST finds this actor
  db_config default_db;  // a database's configuration while the cluster has none
};

relay_actor spawn_relay_actor(caf::actor_system& sys, relay_options opts, logger* log);

}  // namespace troupe
