// databases_actor: opens, creates and drops the node's databases.
//
// Contract
//   owns:       the set of open databases (published in a db_directory for
//               readers on other threads) and one database_actor per database
//   receives:   (create_atom, name), (drop_atom, name), (list_atom) from the
//               REST layer; (open_atom, name) and (replace_atom, name) from
//               deploy receivers
//   replace:    a redeploy's copy (databases/<name>.installed) takes the place
//               of the open one: its writer is stopped, the RocksDB instance
//               closed (every reader's reference gone, waited for up to
//               replace_close_wait), the folders swapped (swap_in_installed),
//               the new copy opened with a new writer, the old folder removed.
//               If any step fails the copy that was in use is open again.
//   at spawn:   settles a swap a crash interrupted (recover_swaps), then opens
//               every database found
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
  std::chrono::milliseconds command_timeout{30'000};  // planning one SQL write statement (command.timeout; 0: none)
  uint64_t log_keep = storage::committed_entries_kept;  // see storage::open_options::log_keep (tests lower it)
};

inline constexpr std::chrono::seconds replace_close_wait{10};

databases_actor spawn_databases_actor(caf::actor_system& sys, databases_options opts,
                                      std::shared_ptr<db_directory> directory, logger* log);

}  // namespace troupe
