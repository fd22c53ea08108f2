// db_lifecycle: the two cluster steps that REST (actors/rest_api.cpp) and the
// console's session (actors/admin_actor.cpp) share for backup, restore,
// export and import (docs/ARCHITECTURE.md, "Backup, export, import"). One
// rule in one place: both callers use these functions, neither has its own.
//
// Contract
//   threads:  both BLOCK (a scoped_actor waits for the actors, catch_up polls
//             the database): call them from a thread of one's own (a detached
//             actor), never from a scheduler or Asio thread.
//   claim_build_announce: a restore or import makes a new database of the
//             cluster, as a create does: the name is claimed from the
//             databases actor (dbcreate_atom: in a cluster the leader decides,
//             so two nodes cannot both take it), then `build` makes the files
//             here, then (add_db_atom) the database is opened and announced
//             (the other members receive it by autoDeploy). A failed build
//             gives the name back (drop_atom). Timeouts: 15 s for the claim and
//             the give-back, 60 s for the opening.
//   catch_up_to_owner: in a cluster this node's copy may lag the owner's (a
//             write is acknowledged once a quorum has it); before a backup or
//             export it first commits what the owner had committed when asked
//             (the relay's fetch_atom), waiting at most 30 s. No cluster, no
//             owner known, or this node the owner: nothing to wait for.
//   errors:   nullopt is success; otherwise a lifecycle_error: either the
//             actor's caf::error (REST maps it to its status as everywhere) or
//             a status and a sentence (503: the owner's commit point unknown or
//             not reached; whatever `build` returned).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "actors/cluster_directory.hpp"
#include "actors/protocol.hpp"
#include "src/storage/database.hpp"
#include "src/util/log.hpp"

namespace troupe {

struct lifecycle_error {
  std::optional<caf::error> actor_error;  // set: an actor refused or did not answer
  int status = 500;                       // else: an HTTP status, and
  std::string message;                    // the sentence
};

// nullopt: the database `db` exists here and is announced.
std::optional<lifecycle_error> claim_build_announce(caf::actor_system& sys, const databases_actor& databases,
                                                    logger* log, const std::string& db,
                                                    const std::function<std::optional<lifecycle_error>()>& build);

// nullopt: `live` (this node's copy of `db`) has caught up (or need not).
// `cluster` may be null (not distributed).
std::optional<lifecycle_error> catch_up_to_owner(caf::actor_system& sys, const cluster_directory* cluster,
                                                 const std::string& db, const storage::database& live);

}  // namespace troupe
