// Everything dserver does before it starts its actor system: initialise the
// home, read and validate the three configuration files, pick the node name and
// store it. Plain C++ so that tests can drive it without a CAF system.
//
// Contract: either every file is valid and a server_settings comes back, or an
// error_info names the file, the place and the problem and no file was written
// (the one write, storing the node name, happens only after all files passed).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "src/config/db_config.hpp"
#include "src/config/hazelcast_config.hpp"
#include "src/config/node_name.hpp"
#include "src/config/server_config.hpp"
#include "src/util/log.hpp"
#include "src/util/result.hpp"

namespace troupe {

struct startup_options {
  std::filesystem::path home;
  std::optional<std::filesystem::path> config_file;  // --config; default home/config/orientdb-server-config.xml
  std::filesystem::path shipped_config_dir;          // copied into a home that has no config/
  node_name_inputs name_inputs;                      // `parameter` is filled from the config file
};

struct server_settings {
  std::filesystem::path home;
  std::filesystem::path config_file;
  server_config server;
  hazelcast_config hazelcast;
  db_config default_db;
  node_name_choice name;
  bool name_stored = false;  // the name was written into config_file now
  bool home_initialised = false;
  // Set when the config had no root user: the password generated now, to be
  // shown once (the config file stores only its hash).
  std::optional<std::string> generated_root_password;
  log_level level = log_level::info;
  std::vector<std::string> notices;  // every "ignored ..." line of every file

  std::filesystem::path databases_dir() const { return home / "databases"; }
};

result<server_settings> prepare_server(const startup_options& opts);

// A random password of `length` characters from an unambiguous alphabet, from
// the operating system's random source.
std::string generate_password(size_t length = 20);

// Names of the databases under `dir`: folders whose name is a valid database
// name, skipping transfers in progress (*.installing) and hidden folders.
std::vector<std::string> scan_databases(const std::filesystem::path& dir);

// --- a redeploy's swap (databases actor, replace_atom) ---------------------
// A node behind the owner's replication log receives a full copy into
// <dir>/<name>.installed while <name> stays in use. The swap:
//   1. <name>'s distributed-config.json is copied into <name>.installed (the
//      database's configuration is the node's, not the sender's);
//   2. <name> -> <name>.old;  3. <name>.installed -> <name>;  fsync <dir>.
// REQUIRES: <name> is closed. After the new copy is open, <name>.old is removed
// (remove_old_copy). A crash anywhere leaves a state recover_swaps() settles.
status swap_in_installed(const std::filesystem::path& dir, const std::string& name);
// Undoes swap_in_installed (the new copy cannot be opened): the new copy is
// removed and <name>.old is <name> again.
status swap_back(const std::filesystem::path& dir, const std::string& name);
status remove_old_copy(const std::filesystem::path& dir, const std::string& name);
// At start, before databases are opened: settles every swap a crash
// interrupted. <name>.old beside <name>: the swap was done, .old is removed;
// <name>.old without <name>: the crash came between the renames, .old is
// <name> again (the copy that was in use); a <name>.installed left over is
// removed (it never became the copy in use; a later redeploy starts over).
// Returns one line per action, for the log.
std::vector<std::string> recover_swaps(const std::filesystem::path& dir);

// valid_database_name: src/config/db_config.hpp (names become paths).

}  // namespace troupe
