// config/orientdb-server-config.xml, read into typed structs.
//
// Accepts the file as OrientDB 1.6 / 2.x ships it: unknown handlers, handler
// parameters, socket implementations, socket parameters troupe does not use,
// properties and top-level elements are ignored and reported in
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
// The one <socket implementation> troupe provides besides the default (plain) one.
inline constexpr const char* tls_socket_class = "com.orientechnologies.orient.server.network.OServerTLSSocketFactory";

inline constexpr int64_t command_timeout_ms_default = 30'000;
inline constexpr int64_t command_timeout_ms_max = 86'400'000;

struct port_range {
  uint16_t first = 0;
  uint16_t last = 0;
};

// A <socket implementation="...OServerTLSSocketFactory"> of <network><sockets>.
// OrientDB reads Java keystores there; troupe reads PEM files under the same
// parameter names. Paths are absolute: relative ones are resolved against the
// server home, as OrientDB does. Nothing here has been read from disk yet: the
// http server loads the files when its listener starts (and fails then).
struct tls_settings {
  std::string socket_name;  // <socket name="...">, what a listener's socket="..." names
  // network.ssl.keyStore: PEM, the server's certificate first, then its
  // intermediates; also holds the private key unless private_key says otherwise.
  std::filesystem::path certificate_chain;
  // network.ssl.key (troupe's own parameter): PEM private key; when absent, the
  // key is read from the keyStore file.
  std::filesystem::path private_key;
  // network.ssl.keyStorePassword: the private key's passphrase; empty for an
  // unencrypted key.
  std::string key_passphrase;
  // network.ssl.clientAuth: require a client certificate signed by a CA of
  // client_ca (network.ssl.trustStore, PEM; required when client_auth).
  bool client_auth = false;
  std::filesystem::path client_ca;
  int line = 0;  // the <socket> element's line, for errors found when the files are loaded
};

struct listener_config {
  std::string protocol;  // "http" or "binary"
  std::string ip_address = "0.0.0.0";
  port_range ports;
  bool served = false;  // http: the REST API; binary: the console's admin endpoint
  int line = 0;
  // The socket="..." attribute; "default" (or absent): plain connections.
  std::string socket = "default";
  // Set when `socket` names a TLS socket (http listeners only: anything else
  // is a configuration error).
  std::optional<tls_settings> tls;
};

struct user_config {
  std::string name;
  std::string password;   // as stored: plaintext or hashed (src/config/password.hpp), checked by the parser
  std::string resources;  // "*" or a comma-separated list
  bool has_resource(std::string_view r) const;
  // The one permission rule, for REST and the console: the resource itself,
  // or, for "database.<name>" (not database.create / database.drop), the
  // "database" resource, which grants every database.
  bool may(std::string_view resource) const;
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
  // <entry name="command.timeout" value="ms"/>: how long one SQL statement may
  // run (reads on the node that serves them, writes' planning on the owner).
  // OrientDB's default is 0 (none); troupe bounds every statement unless told 0.
  int64_t command_timeout_ms = command_timeout_ms_default;
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
