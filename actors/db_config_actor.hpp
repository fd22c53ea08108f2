// db_config_actor: one per local database; the owner of its
// databases/<db>/distributed-config.json.
//
// Contract
//   owns:       the file and the configuration it holds
//   at spawn:   loads the file, or a copy of the default configuration when the
//               database has none yet (written when it first changes, or at the
//               first status request, so every local database gets its file)
//   receives:   (update_atom, msg) from the placement actor whenever the cluster's
//               leader changed this database's configuration; (status_atom) from
//               node.cpp at start and from anyone who wants the current one
//   writes:     atomically (temporary file, fsync, rename); prints the new
//               configuration as the seed does ("updated distributed configuration
//               for database: X:" and the JSON between ---------- lines)
//   threads:    detached (it fsyncs)
//   invariants: the version on disk never goes down except when the cluster's
//               leader says so on a join (an update with the same or a lower
//               version is applied only if its content differs)
#pragma once

#include <filesystem>

#include "actors/protocol.hpp"
#include "src/config/db_config.hpp"
#include "src/util/log.hpp"

namespace troupe {

db_config_actor spawn_db_config_actor(caf::actor_system& sys, std::string db, std::filesystem::path dir,
                                      db_config default_config, logger* log);

}  // namespace troupe
