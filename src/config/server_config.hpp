// config/orientdb-server-config.xml, read into typed structs.
//
// Accepts the file as OrientDB 1.6 / 2.x ships it: unknown handlers, handler
// parameters, properties and top-level elements are ignored and reported in
// `notices` (one line each) for the caller to log. Everything troupe uses is
// validated; the first problem found is returned as an error_info naming the
// file, the line and the problem. Parsing never writes anything.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/util/result.hpp"

namespace troupe {

inline constexpr const char* distributed_handler_class =
    "com.orientechnologies.orient.server.hazelcast.OHazelcastPlugin";

struct port_range {
  uint16_t first = 0;
  uint16_t last = 0;
};

struct listener_config {
  std::string protocol;  // "http" or "binary"
  std::string ip_address = "0.0.0.0";
  port_range ports;
  bool served = false;  // http: the REST API; binary: the console's admin endpoint
  int line = 0;
};

struct user_config {
  std::string name;
  std::string password;   // as stored: plaintext or hashed (src/config/password.hpp), checked by the parser
  std::string resources;  // "*" or a comma-separated list
  bool has_resource(std::string_view r) const;
};

struct distributed_config {
  bool handler_present = false;
  bool enabled = false;
  std::optional<std::string> node_name;  // present and non-empty in the file
  std::filesystem::path db_default_path;  // configuration.db.default, expanded
  std::filesystem::path hazelcast_path;   // configuration.hazelcast, expanded
};

struct server_config {
  std::filesystem::path path;
  std::vector<listener_config> listeners;
  std::vector<user_config> users;
  std::vector<std::pair<std::string, std::string>> properties;  // the ones troupe uses
  distributed_config distributed;
  std::vector<std::string> notices;  // "ignored ..." lines, for the caller to log

  const listener_config* http_listener() const;
  const user_config* find_user(std::string_view name) const;
  std::optional<std::string> property(std::string_view name) const;
};

// Variables expanded in attribute values: ${ORIENTDB_HOME} -> `home`,
// ${distributed} -> "true"; any other ${NAME} -> the environment variable NAME.
// An undefined variable is an error.
result<std::string> expand_variables(std::string_view value, const std::filesystem::path& home);

// Parses a port range "2480-2490" or a single port "2480".
std::optional<port_range> parse_port_range(std::string_view s);

result<server_config> parse_server_config(std::string_view xml, const std::filesystem::path& path,
                                          const std::filesystem::path& home);
result<server_config> load_server_config(const std::filesystem::path& path,
                                         const std::filesystem::path& home);

// Rewrites the server config file with nodeName set in the distributed handler's
// parameters (added or replaced). Comments, order and formatting of the rest of
// the file are kept. Atomic (temporary file + rename).
// REQUIRES: the file parses, valid_node_name(name).
status store_node_name(const std::filesystem::path& path, std::string_view name);

// Adds (or replaces) <user name=... password=... resources=.../> in <users>,
// with the same care as store_node_name.
status store_user(const std::filesystem::path& path, const user_config& user);

}  // namespace troupe
