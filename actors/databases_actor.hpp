// databases_actor: opens, creates and drops the node's databases.
//
// Contract
//   owns:       the set of open databases (published in a db_directory for
//               readers on other threads) and one database_actor per database
//   at spawn:   opens every database found under the databases folder
//   receives:   (create_atom, name), (drop_atom, name), (list_atom) from the
//               REST layer (later: membership and deploy)
//   invariants: a name is in the directory iff its database is open and its
//               writer runs; a dropped database's folder is deleted only after
//               its writer has finished (so no write is in flight on deleted files)
//   threads:    detached (RocksDB open and folder removal block)
//   on exit:    its writers are linked to it and exit with it; pending drops are
//               answered with errc::shutting_down
#pragma once

#include <chrono>

#include <filesystem>
#include <memory>

#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/util/log.hpp"

namespace troupe {

struct databases_options {
  std::filesystem::path dir;  // the home's databases/ folder
  bool sync = true;           // fsync every batch (false only in benchmarks)
  std::string node_name;      // this node (replication names servers by node name)
  bool standalone = true;     // no cluster: every database is its own owner
  std::chrono::milliseconds write_timeout{5000};  // a replicated write's quorum must answer within this
};

databases_actor spawn_databases_actor(caf::actor_system& sys, databases_options opts,
                                      std::shared_ptr<db_directory> directory, logger* log);

}  // namespace troupe
