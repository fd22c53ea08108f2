// rest_api: OrientDB's HTTP REST API (1.6 paths and JSON shapes) on top of the
// node's actors. Each http::request is answered through its responder.
//
// Contract
//   threads:  handle() runs on an Asio io thread and never blocks on an actor:
//             reads go straight to the shared storage (thread-safe, from a
//             consistent point in time); writes and database creation/drop are
//             sent to the owning actor by a short-lived requester actor whose
//             reply calls the responder.
//   auth:     HTTP Basic against the server's users, whose stored passwords
//             are plaintext or OrientDB 2.2's PBKDF2 hashes (compared in
//             constant time; a hash's PBKDF2 runs once per right (user,
//             password), then `passwords` remembers it, and on every wrong
//             one). "*" may do everything; the
//             resource "server.listDatabases" allows GET /listDatabases;
//             "database.create"/"database.drop" allow creating/dropping;
//             "server.info" allows GET /server; "database" or "database.<db>"
//             allows the document, class, cluster and query commands on a database.
//             Database users: on a route that names a database, credentials
//             that are not a server user's allowed there are checked against
//             that database's OUser records (src/auth/db_users.hpp), valid for
//             that database only; what the user's roles do not allow is 403
//             with OrientDB's OSecurityAccessException text (document GET:
//             read, POST create, PUT update, DELETE remove; /class, /property
//             and /index creation: schema; /command and /batch by the
//             statement; writes to OUser/ORole records: security).
//   sessions: GET /connect/<db> with Basic credentials (and the database's
//             permission) answers 204 with the cookie OSESSIONID (HttpOnly); a
//             request without Basic credentials may send that cookie instead
//             and acts as the session's user (permissions checked the same
//             way, on every database); GET /disconnect ends the session (401,
//             as OrientDB answers it). Idle sessions end after 300 s; at most
//             10,000 live (src/http/sessions.hpp).
//   query:    GET /query/<db>/sql/<text>[/<limit>]: a SELECT (src/query/), parsed
//             and run on the Asio thread over the shared storage; the
//             statement's LIMIT, else the path's, else 20; a syntax error is
//             400 with its position and what was expected.
//             POST /command/<db>/sql[/<text>]: the same from the path, or from
//             the body as text or {"command", "parameters": [..] | {..}}; no
//             default LIMIT; write statements go to the database's owner.
//   before the body: make_rest_header_check() answers a request that announces
//             a body (Content-Length > 0 or chunked) with 401 from its headers
//             when its credentials are missing or wrong, so no body is read
//             for a client that has not proved who it is. Permissions (403)
//             are still checked after the body, by the route.
//   wrong logins: a 401 for wrong (not missing) credentials counts as a failed
//             login of the client's IP address in `logins` (http/login_guard.hpp:
//             logged, and answered after its delay through the response's
//             send_delay, no thread blocked); a right login ends the window.
//   errors:   every error is {"errors":[{"code","reason","content"}]} with its
//             status: 400 bad JSON/RID/request, 401, 403, 404 unknown database or
//             record or path, 405 (with Allow), 409 stale version or existing
//             database/class, 413 (the server), 500 only for server faults.
//   bounds:   a JSON body nests at most json_depth_max; one browse answers at
//             most storage::browse_records_max; writes time out after write_timeout.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "actors/cluster_directory.hpp"
#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/config/password.hpp"
#include "src/config/server_config.hpp"
#include "src/http/login_guard.hpp"
#include "src/http/message.hpp"
#include "src/http/server.hpp"
#include "src/http/sessions.hpp"
#include "src/util/log.hpp"

namespace troupe {

inline constexpr size_t json_depth_max = 64;
// browse limit: storage::browse_records_max (the storage caps it there too).
inline constexpr size_t default_browse_records = 20;

// What the node's listeners really bound (filled by node.cpp as each starts),
// for GET /server: the log and the API say the same.
struct bound_listeners {
  struct entry {
    std::string protocol;  // "http", "binary", "cluster"
    std::string listen;    // ip:port bound
    std::string told;      // what other nodes or clients are told ("" = the same)
  };
  void add(entry e) {
    std::lock_guard<std::mutex> g(m);
    list.push_back(std::move(e));
  }
  std::vector<entry> get() const {
    std::lock_guard<std::mutex> g(m);
    return list;
  }

 private:
  mutable std::mutex m;
  std::vector<entry> list;
};

struct rest_context {
  caf::actor_system* sys = nullptr;
  std::shared_ptr<db_directory> dbs;
  std::shared_ptr<cluster_directory> cluster;
  databases_actor databases;
  std::vector<user_config> users;
  std::string node_name;
  std::string databases_dir;
  logger* log = nullptr;
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds command_timeout{30'000};  // one SQL read (command.timeout; 0: none)
  // Wrong logins per client address; shared by the handler and the header check.
  std::shared_ptr<http::login_guard> logins = std::make_shared<http::login_guard>();
  // Right (user, password) pairs of hashed users, so a request with Basic
  // credentials costs one HMAC and not 65536 PBKDF2 rounds.
  std::shared_ptr<password_cache> passwords = std::make_shared<password_cache>();
  std::shared_ptr<bound_listeners> listeners = std::make_shared<bound_listeners>();
  // OrientDB's HTTP sessions (GET /connect/<db>, cookie OSESSIONID).
  std::shared_ptr<http::sessions> sessions = std::make_shared<http::sessions>();
};

// The handler to give to http::server. Copies of it share `ctx`.
http::handler make_rest_handler(std::shared_ptr<const rest_context> ctx);

// The header check to give to http::server (server_options::check_header),
// with the same `ctx` as the handler.
http::header_check make_rest_header_check(std::shared_ptr<const rest_context> ctx);

}  // namespace troupe
