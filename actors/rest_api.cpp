#include "actors/rest_api.hpp"

#include <cctype>
#include <set>
#include <thread>
#include <variant>
#include <boost/json.hpp>

#include "actors/db_lifecycle.hpp"
#include "src/auth/db_users.hpp"
#include "src/backup/export.hpp"
#include "src/backup/install.hpp"
#include "src/config/db_config.hpp"
#include "src/cluster/cluster_model.hpp"
#include "src/util/json_text.hpp"
#include "src/query/batch.hpp"
#include "src/query/command.hpp"
#include "src/query/parser.hpp"
#include "src/query/select.hpp"
#include "src/query/write.hpp"
#include "src/util/strings.hpp"
#include "troupe_build_config.hpp"

namespace json = boost::json;

namespace troupe {

namespace {

using http::error_response;
using http::request;
using http::responder;
using http::response;

// --- small helpers -----------------------------------------------------------

response json_response(int status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response no_content() {
  response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

response method_not_allowed(const request& req, const char* allow) {
  auto r = error_response(405, cat("Method ", req.method, " is not allowed on ", req.path, " (allowed: ", allow, ")"));
  r.headers.emplace_back("Allow", allow);
  return r;
}

int status_of(storage::errc e) {
  switch (e) {
    case storage::errc::ok: return 200;
    case storage::errc::not_found: return 404;
    case storage::errc::version_conflict: return 409;
    case storage::errc::already_exists: return 409;
    case storage::errc::invalid_argument: return 400;
    case storage::errc::io_error: return 500;
    case storage::errc::duplicate_key: return 409;
  }
  return 500;
}

int status_of(const caf::error& e) {
  switch (troupe_code(e)) {
    case errc::database_not_found: return 404;
    case errc::database_exists: return 409;
    case errc::database_in_use: return 409;
    case errc::no_leader: return 503;
    case errc::invalid_argument: return 400;
    case errc::shutting_down: return 503;
    default: break;
  }
  if (e == caf::sec::request_timeout) return 504;
  // The database was dropped (its writer stopped) between lookup and write.
  if (e == caf::sec::request_receiver_down) return 404;
  return 500;
}

// The answer to a failed request. A write without its quorum (503) carries
// the facts as top-level fields next to OrientDB's "errors": the quorum, the
// servers that answered and those missing, and the outcome ("not applied":
// visible nowhere, ever; "unknown": the quorum did not confirm it in time).
response failure(const caf::actor_system& sys, const caf::error& e) {
  if (troupe_code(e) == errc::unavailable) {
    boost::system::error_code ec;
    auto v = json::parse(error_text(sys, e), ec);
    if (!ec && v.is_object()) {
      auto& o = v.get_object();
      auto* content = o.if_contains("content");
      json::object body;
      json::object err;
      err["code"] = 503;
      err["reason"] = "Service Unavailable";
      err["content"] = content != nullptr && content->is_string() ? content->get_string() : json::string("no quorum");
      body["errors"] = json::array{err};
      for (auto* k : {"quorum", "answered", "missing", "outcome"})
        if (auto* x = o.if_contains(k)) body[k] = *x;
      response r;
      r.status = 503;
      r.body = json::serialize(body);
      return r;
    }
  }
  if (e == caf::sec::request_timeout)
    return error_response(504, "The write was not confirmed in time: its outcome is unknown");
  return error_response(status_of(e), error_text(sys, e));
}

using query::parse_doc_body;

// Runs `msg` against `dest` from a throw-away actor and hands the reply (or the
// error) to `done`. The calling thread (an Asio thread) does not wait.
template <class Result, class Dest, class... Ts>
void ask(caf::actor_system& sys, Dest dest, std::chrono::milliseconds timeout,
         std::function<void(caf::expected<Result>)> done, Ts... xs) {
  sys.spawn([dest, timeout, done = std::move(done), xs...](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, xs...)
        .then([done](Result& r) { done(std::move(r)); }, [done](caf::error& e) { done(std::move(e)); });
  });
}

class rest {
 public:
  explicit rest(std::shared_ptr<const rest_context> ctx) : ctx_(std::move(ctx)) {}

  void handle(request&& req, responder respond) {
    try {
      dispatch(std::move(req), std::move(respond));
    } catch (const std::exception& e) {
      // Handlers do not throw by design; this keeps a bug from killing an io thread.
      ctx_->log->error("OServerNetworkListener", cat("request failed: ", e.what()));
    }
  }

  // The header check: a body is read only for a client with valid credentials.
  std::optional<response> check_head(const request& head, bool body_follows) const {
    if (!body_follows) return std::nullopt;
    if (auto* db = database_named(head)) {
      // A database's route: its users too (and no decoy PBKDF2 for a name
      // that is not a server user's: db_user_of pays it if the name is unknown there too).
      const user_config* named = head.auth ? server_named(head.auth->user) : nullptr;
      if (named ? verify_server(head, named) : (!head.auth && session_user(head) != nullptr)) return std::nullopt;
      if (db_user_of(head, *db, named != nullptr)) return std::nullopt;
      return unauthorized(head, "OrientDB Server");
    }
    if (authenticate(head) != nullptr) return std::nullopt;
    return unauthorized(head, "OrientDB Server");
  }

 private:
  std::shared_ptr<const rest_context> ctx_;

  caf::actor_system& sys() const { return *ctx_->sys; }

  // --- authentication ---------------------------------------------------------

  // The password is checked against the user's stored value, plaintext or
  // hashed (src/config/password.hpp), through the shared cache: PBKDF2 runs on
  // a (user, password) pair's first right answer and on every wrong one. The
  // time of an answer does not tell how much of a guess was right, nor (for an
  // unknown name, checked against a decoy hash) whether a hashed user exists.
  const user_config* authenticate(const request& req) const {
    if (!req.auth) return session_user(req);
    const user_config* found = server_named(req.auth->user);
    bool ok = ctx_->passwords->verify(req.auth->user, found ? &found->password : nullptr, req.auth->password);
    return ok ? found : nullptr;
  }

  const user_config* server_named(std::string_view name) const {
    for (auto& u : ctx_->users)
      if (u.name == name) return &u;
    return nullptr;
  }

  // The Basic password of a known server user, through the cache.
  bool verify_server(const request& req, const user_config* u) const {
    return req.auth && ctx_->passwords->verify(u->name, &u->password, req.auth->password);
  }

  // The user of the session the request's OSESSIONID cookie names, if it lives.
  const user_config* session_user(const request& req) const {
    auto* cookies = req.header("cookie");
    if (cookies == nullptr) return nullptr;
    auto id = http::cookie_value(*cookies, http::session_cookie);
    if (!id) return nullptr;
    auto s = ctx_->sessions->find(*id);
    if (!s || s->user.starts_with(db_session_mark)) return nullptr;
    for (auto& u : ctx_->users)
      if (u.name == s->user) return &u;
    return nullptr;
  }

  // The 401 for a request without valid credentials. Wrong credentials (not
  // missing ones) are a failed login of the client's address: logged, and the
  // answer waits the guard's delay.
  response unauthorized(const request& req, std::string_view realm) const {
    bool wrong = req.auth || req.auth_malformed;
    auto r = error_response(401, wrong ? "Wrong user name or password" : "Authentication required");
    r.headers.emplace_back("WWW-Authenticate", cat("Basic realm=\"", realm, "\""));
    if (wrong) r.send_delay = ctx_->logins->failure(req.remote_ip, req.auth ? req.auth->user : "", ctx_->log).delay;
    return r;
  }

  // Returns an error response unless the request's user may use `resource`.
  std::optional<response> authorize(const request& req, std::string_view resource, std::string_view realm) const {
    auto* user = authenticate(req);
    if (user == nullptr) return unauthorized(req, realm);
    ctx_->logins->success(req.remote_ip);
    if (!user->may(resource)) return error_response(403, cat("User '", user->name, "' has no permission for ", resource));
    return std::nullopt;
  }

  // --- database users (src/auth/db_users.hpp) ---------------------------------
  //
  // A route that names a database takes a server user allowed on it
  // (database.<db> or database: everything, as before) or, failing that, a
  // user of that database's OUser records, valid for that database only;
  // what such a user may do is its roles' (auth::allows), refused with
  // OrientDB's OSecurityAccessException text (403).

  // A session opened by a database user holds this before the user name, so
  // it never passes for a server user, nor for another database.
  static constexpr std::string_view db_session_mark = "\x1f" "db-user:";

  // The database a route names (segments[1]), if it is a database's route;
  // server-level routes (/listDatabases, /server, creating and dropping
  // databases) are for server users only.
  static const std::string* database_named(const request& req) {
    static const std::set<std::string, std::less<>> routes = {"document", "class", "cluster", "query",
                                                              "command",  "batch", "index",   "property",
                                                              "connect",  "database"};
    if (req.segments.size() < 2 || !routes.contains(req.segments[0])) return nullptr;
    if (req.segments[0] == "database" && req.method != "GET") return nullptr;
    return &req.segments[1];
  }

  struct db_access {
    bool server = false;                // a server user allowed on the database: everything
    std::optional<auth::db_user> user;  // else: this user of the database
  };

  // The user of database `db` the request's Basic credentials (or its
  // session, opened on that database) name, if the password is right and the
  // user active. `server_name_known`: the name is a server user's, whose
  // check already cost a PBKDF2; else an unknown name pays the decoy's.
  std::optional<auth::db_user> db_user_of(const request& req, const std::string& db, bool server_name_known) const {
    auto e = ctx_->dbs->find(db);
    if (req.auth) {
      auto u = e ? auth::find_user(*e->db, req.auth->user) : std::nullopt;
      if (!u) {
        if (!server_name_known) ctx_->passwords->verify(req.auth->user, nullptr, req.auth->password);
        return std::nullopt;
      }
      if (!auth::check_password(*ctx_->passwords, db, *u, req.auth->password)) return std::nullopt;
      return u;
    }
    auto* cookies = req.header("cookie");
    auto id = cookies ? http::cookie_value(*cookies, http::session_cookie) : std::nullopt;
    auto s = id ? ctx_->sessions->find(*id) : std::nullopt;
    if (!s || !e || s->db != db || !s->user.starts_with(db_session_mark)) return std::nullopt;
    // Read again on every request: a dropped or suspended user's session ends there.
    auto u = auth::find_user(*e->db, std::string_view(s->user).substr(db_session_mark.size()));
    if (!u || !u->active) return std::nullopt;
    return u;
  }

  // Who may use database `db` for this request, or the 401/403 to answer.
  std::variant<response, db_access> access_db(const request& req, const std::string& db) const {
    const user_config* named = req.auth ? server_named(req.auth->user) : nullptr;
    const user_config* server = req.auth ? (named && verify_server(req, named) ? named : nullptr) : session_user(req);
    if (server && server->may(cat("database.", db))) {
      ctx_->logins->success(req.remote_ip);
      return db_access{true, std::nullopt};
    }
    if (auto u = db_user_of(req, db, named != nullptr)) {
      ctx_->logins->success(req.remote_ip);
      return db_access{false, std::move(u)};
    }
    if (server) {
      ctx_->logins->success(req.remote_ip);
      return error_response(403, cat("User '", server->name, "' has no permission for database.", db));
    }
    return unauthorized(req, cat("OrientDB db-", db));
  }

  // The 403 when `a` may not do `action` in `db`.
  std::optional<response> denied(const db_access& a, const std::string& db, auth::db_action action) const {
    if (a.server) return std::nullopt;
    auto e = ctx_->dbs->find(db);
    if (e && a.user && auth::allows(*e->db, *a.user, action)) return std::nullopt;
    auth::db_user nobody;
    return error_response(403, cat("com.orientechnologies.orient.core.exception.OSecurityAccessException: ",
                                   auth::denied_message(a.user ? *a.user : nobody, action), "\r\n\tDB name=\"", db,
                                   "\""));
  }

  // Both at once: the error response unless the request may do `action` in `db`.
  std::optional<response> authorize_db(const request& req, const std::string& db, auth::db_action action) const {
    auto a = access_db(req, db);
    if (auto* r = std::get_if<response>(&a)) return std::move(*r);
    return denied(std::get<db_access>(a), db, action);
  }

  // --- routing ----------------------------------------------------------------

  void dispatch(request&& req, responder respond) {
    auto& seg = req.segments;
    const std::string cmd = seg.empty() ? "" : seg[0];
    if (cmd == "listDatabases") return list_databases(req, respond);
    if (cmd == "database") return database_cmd(std::move(req), respond);
    if (cmd == "document") return document_cmd(std::move(req), respond);
    if (cmd == "class") return class_cmd(std::move(req), respond);
    if (cmd == "cluster") return cluster_cmd(req, respond);
    if (cmd == "server") return server_cmd(req, respond);
    if (cmd == "distributed") return distributed_cmd(req, respond);
    if (cmd == "query") return query_cmd(req, respond);
    if (cmd == "command") return command_cmd(req, respond);
    if (cmd == "connect") return connect_cmd(req, respond);
    if (cmd == "batch") return batch_cmd(req, respond);
    if (cmd == "index") return index_cmd(req, respond);
    if (cmd == "property") return property_cmd(req, respond);
    if (cmd == "disconnect") return disconnect_cmd(req, respond);
    if (cmd == "export" || cmd == "import" || cmd == "backup" || cmd == "restore") return backup_cmd(req, respond);
    respond(error_response(404, cat("No command for ", req.method, " ", req.path)));
  }

  // POST /batch/<db>: OrientDB's batch (src/query/batch.hpp): its document
  // operations as ONE write, all or nothing, answered with the last
  // operation's result; or one SQL command, run as /command runs it.
  void batch_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    if (req.method != "POST") return respond(method_not_allowed(req, "POST"));
    if (seg.size() != 2) return respond(error_response(400, "Syntax error: batch/<database>"));
    db_access who;
    auto e = sql_database(req, respond, std::nullopt, &who);
    if (!e) return;
    auto b = query::parse_batch(req.body);
    if (!b) return respond(error_response(400, b.error().what));
    if (b->cmd) {
      auto parsed = query::parse(b->cmd->text);
      if (auto* bad = std::get_if<query::syntax_error>(&parsed)) return respond(error_response(400, bad->message()));
      if (auto no = denied(who, seg[1], auth::statement_action(*e->db, std::get<query::statement>(parsed))))
        return respond(std::move(*no));
      if (query::is_write(std::get<query::statement>(parsed)))
        return write_statement(*e, seg[1], std::move(*b->cmd), respond);
      return run_sql(*e->db, b->cmd->text, b->cmd->ps, std::nullopt, respond);
    }
    for (auto& o : b->ops)
      if (auto no = denied(who, seg[1], auth::op_action(*e->db, o))) return respond(std::move(*no));
    auto ctx = ctx_;
    auto db = e->db;
    auto sent = b->ops;
    auto cb = write_callback([ctx, db, sent, respond](caf::expected<op_results> r) {
      if (!r) return respond(failure(*ctx->sys, r.error()));
      if (r->size() != sent.size()) return respond(error_response(500, "unexpected number of results"));
      for (size_t i = 0; i < r->size(); ++i) {
        auto& res = (*r)[i];
        if (res.code == storage::errc::ok) continue;
        if (res.code == storage::errc::version_conflict) return respond(conflict(*db, sent[i]));
        return respond(error_response(res.code == storage::errc::not_found ? 404 : status_of(res.code),
                                      cat("operation ", i, ": ", res.message)));
      }
      auto& last = r->back();
      std::string rec = sent.back().k == storage::op::kind::remove ? R"({"@type":"d","@version":0,"value":1})"
                                                                    : last.rec.to_json();
      respond(json_response(200, cat("{\"result\":[", rec, "]}")));
    });
    caf::anon_send(e->writer, write_atom::value, std::move(b->ops), std::move(cb));
  }

  // GET /index/<db>/<index>/<key>: the records an index maps the key to
  // (the key as text, or as JSON for a number, boolean or composite [a, b]).
  void index_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (seg.size() != 4) return respond(error_response(400, "Syntax error: index/<database>/<index>/<key>"));
    auto e = sql_database(req, respond, auth::db_action::read);
    if (!e) return;
    auto idx = e->db->index_by_name(seg[2]);
    if (!idx) return respond(error_response(404, cat("Index '", seg[2], "' not found")));
    std::vector<json::value> key;
    boost::system::error_code ec;
    auto v = json::parse(seg[3], ec);
    if (ec || v.is_object() || v.is_string()) key.emplace_back(json::string(seg[3]));
    else if (auto* a = v.if_array()) key.assign(a->begin(), a->end());
    else key.push_back(v);
    if (key.size() > idx->fields.size())
      return respond(error_response(400, cat("Index '", idx->name, "' has ", idx->fields.size(), " field(s), the key ",
                                             key.size())));
    std::string body = "[";
    size_t n = 0;
    for (auto& id : e->db->index_find(idx->name, key, storage::browse_records_max))
      if (auto rec = e->db->find(id)) body += (n++ ? "," : "") + rec->to_json();
    respond(json_response(200, body + "]"));
  }

  // POST /property/<db>/<class>/<name>[/<type>]: a property (type STRING when
  // not given), as CREATE PROPERTY makes it; GET: the class's properties.
  void property_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    if (req.method != "POST" && req.method != "GET") return respond(method_not_allowed(req, "GET, POST"));
    if (seg.size() < 3 || seg.size() > 5)
      return respond(error_response(400, "Syntax error: property/<database>/<class>[/<name>[/<type>]]"));
    auto e = sql_database(req, respond, req.method == "GET" ? auth::db_action::read : auth::db_action::schema);
    if (!e) return;
    if (!e->db->class_by_name(seg[2])) return respond(error_response(404, cat("Class '", seg[2], "' not found")));
    if (req.method == "GET") {
      json::array out;
      for (auto& p : e->db->properties(seg[2])) {
        json::object o;
        o["name"] = p.name;
        o["type"] = p.type;
        o["class"] = p.class_name;
        out.push_back(std::move(o));
      }
      return respond(json_response(200, json::serialize(json::object{{"properties", std::move(out)}})));
    }
    if (seg.size() < 4) return respond(error_response(400, "Syntax error: POST property/<database>/<class>/<name>[/<type>]"));
    std::string type = seg.size() == 5 ? seg[4] : "STRING";
    for (auto& ch : type) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    if (!query::known_property_type(type)) return respond(error_response(400, cat("Unknown property type '", seg[4], "'")));
    storage::op o;
    o.k = storage::op::kind::create_property;
    o.class_name = seg[2];
    o.fields = json::serialize(json::object{{"name", seg[3]}, {"type", type}});
    auto db = e->db;
    auto cls = seg[2];
    write_one(*e, std::move(o), respond, [db, cls](storage::op_result&) {
      return json_response(201, cat(db->properties(cls).size()));
    });
  }

  // GET /connect/<db>: a session for the Basic credentials' user (OrientDB's
  // cookie OSESSIONID), if that user may use the database.
  void connect_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (seg.size() != 2) return respond(error_response(400, "Syntax error: connect/<database>"));
    if (!req.auth) return respond(unauthorized(req, cat("OrientDB db-", seg[1])));
    auto a = access_db(req, seg[1]);
    if (auto* r = std::get_if<response>(&a)) return respond(std::move(*r));
    if (!ctx_->dbs->find(seg[1])) return respond(error_response(404, cat("Database '", seg[1], "' not found")));
    // A database user's session is marked, so it stays theirs and that database's.
    auto id = ctx_->sessions->open(std::get<db_access>(a).server ? req.auth->user : cat(db_session_mark, req.auth->user),
                                   seg[1]);
    response r;
    r.status = 204;
    r.headers.emplace_back("Set-Cookie", cat(http::session_cookie, "=", id, "; Path=/; HttpOnly"));
    respond(std::move(r));
  }

  // GET /disconnect: the session ends; OrientDB answers 401 so that a browser
  // forgets its Basic credentials too.
  void disconnect_cmd(const request& req, const responder& respond) {
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (auto* cookies = req.header("cookie"))
      if (auto id = http::cookie_value(*cookies, http::session_cookie)) ctx_->sessions->close(*id);
    auto r = error_response(401, "Logged out");
    r.headers.emplace_back("Set-Cookie", cat(http::session_cookie, "=-; Path=/; HttpOnly; Max-Age=0"));
    respond(std::move(r));
  }

  // GET /query/<db>/sql/<text>[/<limit>]: a SELECT, run here on the Asio
  // thread over the shared storage (src/query/select.hpp), never behind writes.
  // The statement's own LIMIT wins; else the path's; else OrientDB's 20.
  void query_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (seg.size() < 4 || seg.size() > 5 || seg[2] != "sql")
      return respond(error_response(400, "Syntax error: query/<database>/sql/<query-text>[/<limit>]"));
    auto e = sql_database(req, respond, auth::db_action::read);
    if (!e) return;
    std::optional<int64_t> limit = 20;
    if (seg.size() == 5) {
      limit = parse_int(seg[4], -1, INT64_MAX);
      if (!limit) return respond(error_response(400, cat("Invalid limit '", seg[4], "': expected -1 or more")));
    }
    run_sql(*e->db, seg[3], {}, limit, respond);
  }

  // POST /command/<db>/sql[/<text>]: the statement in the path, or the body as
  // its text or as {"command": text, "parameters": [values for ?] or {name: value
  // for :name}}, as OrientDB's drivers send it. No default LIMIT (the
  // executor's bounds hold). Only SELECT so far: anything else is a syntax error.
  void command_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    if (req.method != "POST") return respond(method_not_allowed(req, "POST"));
    if (seg.size() < 3 || seg.size() > 4 || seg[2] != "sql")
      return respond(error_response(400, "Syntax error: command/<database>/sql[/<command-text>]"));
    db_access who;
    auto e = sql_database(req, respond, std::nullopt, &who);
    if (!e) return;
    auto c = seg.size() == 4 ? result<query::command>(query::command{seg[3], {}}) : query::command_from_body(req.body);
    if (!c) return respond(error_response(400, c.error().what));
    auto parsed = query::parse(c->text);
    if (auto* bad = std::get_if<query::syntax_error>(&parsed)) return respond(error_response(400, bad->message()));
    if (auto no = denied(who, seg[1], auth::statement_action(*e->db, std::get<query::statement>(parsed))))
      return respond(std::move(*no));
    if (query::is_write(std::get<query::statement>(parsed))) return write_statement(*e, seg[1], std::move(*c), respond);
    run_sql(*e->db, c->text, c->ps, std::nullopt, respond);
  }

  // A write statement goes to the database's writer as one statement op; the
  // owner runs it in the cluster's write order (src/replication/intake.hpp)
  // and its answer comes back as the last result.
  void write_statement(const db_entry& e, const std::string& db_name, query::command c, const responder& respond) {
    auto ctx = ctx_;
    auto cb = write_callback([ctx, db_name, respond](caf::expected<op_results> r) {
      if (!r) return respond(failure(*ctx->sys, r.error()));
      if (r->empty()) return respond(error_response(500, "a statement without an answer"));
      for (auto& res : *r)
        if (res.code != storage::errc::ok) return respond(statement_error(db_name, res));
      respond(json_response(200, cat("{\"result\":", r->back().rec.fields, "}")));
    });
    caf::anon_send(e.writer, write_atom::value, op_list{query::statement_op(c)}, std::move(cb));
  }

  // A refused statement, in OrientDB's words: a UNIQUE index's refusal is its
  // ORecordDuplicatedException (409), a stale record 409, bad input 400.
  static response statement_error(const std::string& db, const storage::op_result& res) {
    if (res.code == storage::errc::duplicate_key)
      return error_response(409, cat("com.orientechnologies.orient.core.storage.ORecordDuplicatedException: ",
                                     res.message, "\r\n\tDB name=\"", db, "\""));
    int status = res.code == storage::errc::not_found ? 400 : status_of(res.code);
    return error_response(status, res.message);
  }

  // The database segments[1] names, if the user may use it (else answered).
  // `action`: checked here; nullopt: the caller checks it (through `who`)
  // once it knows what the request does.
  std::optional<db_entry> sql_database(const request& req, const responder& respond,
                                       std::optional<auth::db_action> action, db_access* who = nullptr) const {
    const std::string& name = req.segments[1];
    auto a = access_db(req, name);
    if (auto* r = std::get_if<response>(&a)) {
      respond(std::move(*r));
      return std::nullopt;
    }
    if (who != nullptr) *who = std::get<db_access>(a);
    if (auto no = action ? denied(std::get<db_access>(a), name, *action) : std::nullopt) {
      respond(std::move(*no));
      return std::nullopt;
    }
    auto e = ctx_->dbs->find(name);
    if (!e) respond(error_response(404, cat("Database '", name, "' not found")));
    return e;
  }

  // Parses and runs one SELECT here, on the Asio thread over the shared
  // storage; `limit` applies when the statement has none.
  void run_sql(const storage::database& db, std::string_view text, const query::params& ps,
               std::optional<int64_t> limit, const responder& respond) const {
    auto parsed = query::parse(text);
    if (auto* bad = std::get_if<query::syntax_error>(&parsed)) return respond(error_response(400, bad->message()));
    auto& stmt = std::get<query::statement>(parsed);
    if (auto* sel = std::get_if<query::select_stmt>(&stmt); sel && !sel->limit && limit) sel->limit = *limit;
    if (auto* tr = std::get_if<query::traverse_stmt>(&stmt); tr && !tr->limit && limit) tr->limit = *limit;
    query::select_limits limits;
    if (ctx_->command_timeout.count() > 0) limits.deadline = std::chrono::steady_clock::now() + ctx_->command_timeout;
    auto rows = query::run_query(db, stmt, ps, limits);
    if (!rows) return respond(error_response(400, rows.error().render()));
    std::string body = "{\"result\":[";
    for (size_t i = 0; i < rows->size(); ++i) body += (i ? "," : "") + (*rows)[i];
    respond(json_response(200, body + "]}"));
  }

  void list_databases(const request& req, const responder& respond) {
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (auto denied = authorize(req, "server.listDatabases", "OrientDB Server")) return respond(*denied);
    json::object o;
    o["@type"] = "d";
    o["@version"] = 0;
    json::array names;
    for (auto& n : ctx_->dbs->names()) names.emplace_back(n);
    o["databases"] = std::move(names);
    respond(json_response(200, json::serialize(o)));
  }

  std::string database_info(const std::string& name, const storage::database& db, const std::string& user) const {
    json::object o;
    json::object server;
    server["version"] = TROUPE_VERSION;
    server["build"] = "troupe";
    server["osName"] = "Linux";
    server["node"] = ctx_->node_name;
    o["server"] = std::move(server);
    auto clusters = db.clusters();
    json::array classes;
    for (auto& c : db.classes()) {
      json::object co;
      co["name"] = c.name;
      co["superClass"] = c.superclass;
      co["defaultCluster"] = c.default_cluster;
      co["clusters"] = json::array{c.default_cluster};
      int64_t records = 0;
      for (auto& cl : clusters)
        if (cl.id == c.default_cluster) records = cl.records;
      co["records"] = records;
      classes.emplace_back(std::move(co));
    }
    o["classes"] = std::move(classes);
    json::array cls;
    for (auto& c : clusters) {
      json::object co;
      co["id"] = c.id;
      co["name"] = c.name;
      co["type"] = "PHYSICAL";
      co["records"] = c.records;
      cls.emplace_back(std::move(co));
    }
    o["clusters"] = std::move(cls);
    o["currentUser"] = user;
    o["name"] = name;
    return json::serialize(o);
  }

  void database_cmd(request&& req, const responder& respond) {
    auto& seg = req.segments;
    if (seg.size() < 2) return respond(error_response(400, "Syntax error: database/<database>[/<storage>]"));
    const std::string name = seg[1];
    if (req.method == "GET") {
      if (seg.size() != 2) return respond(error_response(400, "Syntax error: GET database/<database>"));
      if (auto no = authorize_db(req, name, auth::db_action::read)) return respond(std::move(*no));
      auto e = ctx_->dbs->find(name);
      if (!e) return respond(error_response(404, cat("Database '", name, "' not found")));
      return respond(json_response(200, database_info(name, *e->db, req.auth ? req.auth->user : "")));
    }
    if (req.method == "POST") {
      if (seg.size() < 3 || seg.size() > 4)
        return respond(error_response(400, "Syntax error: POST database/<database>/<storage>[/<type>]"));
      if (seg[2] != "plocal" && seg[2] != "local")
        return respond(error_response(400, cat("Storage type '", seg[2], "' is not supported: use plocal")));
      if (seg.size() == 4 && seg[3] != "document" && seg[3] != "graph")
        return respond(error_response(400, cat("Database type '", seg[3], "' is unknown: use document or graph")));
      if (auto denied = authorize(req, "database.create", "OrientDB Server")) return respond(*denied);
      auto ctx = ctx_;
      std::string user = req.auth->user;
      ask<bool>(sys(), ctx_->databases, ctx_->write_timeout,
                [ctx, name, user, respond, this_copy = *this](caf::expected<bool> r) {
                  if (!r) return respond(error_response(status_of(r.error()), error_text(*ctx->sys, r.error())));
                  auto e = ctx->dbs->find(name);
                  if (!e) return respond(error_response(500, cat("Database '", name, "' vanished after creation")));
                  auto body = this_copy.database_info(name, *e->db, user);
                  // In a cluster every other member receives it by autoDeploy
                  // (SYNCHRONIZING in GET /distributed/node until it holds it).
                  if (ctx->cluster && !body.empty() && body.back() == '}') {
                    auto snap = ctx->cluster->get();
                    std::vector<std::string> others;
                    for (auto& m : snap.state.view.members)
                      if (m.name != snap.local_name) others.push_back(m.name);
                    body.pop_back();
                    body += cat(",\"deployingTo\":", json_list(others), "}");
                  }
                  respond(json_response(200, body));
                },
                create_atom::value, name);
      return;
    }
    if (req.method == "DELETE") {
      if (seg.size() != 2) return respond(error_response(400, "Syntax error: DELETE database/<database>"));
      if (auto denied = authorize(req, "database.drop", "OrientDB Server")) return respond(*denied);
      auto ctx = ctx_;
      ask<bool>(sys(), ctx_->databases, ctx_->write_timeout,
                [ctx, respond](caf::expected<bool> r) {
                  if (!r) return respond(error_response(status_of(r.error()), error_text(*ctx->sys, r.error())));
                  respond(no_content());
                },
                drop_atom::value, name);
      return;
    }
    respond(method_not_allowed(req, "GET, POST, DELETE"));
  }

  // Sends `ops` to the database's writer and answers with `on_ok` applied to the
  // single result, or the error.
  // OrientDB's wording for a stale version, so that clients matching on it keep working.
  static response conflict(const storage::database& db, const storage::op& o) {
    auto current = db.find(o.id);
    const char* what = o.k == storage::op::kind::remove ? "DELETE" : "UPDATE";
    return error_response(409, cat("Cannot ", what, " the record ", o.id.to_string(),
                                   " because the version is not the latest. Probably you are updating an old record "
                                   "or it has been modified by another user (db=v",
                                   current ? current->version : 0, " your=v", o.expected_version, ")"));
  }

  // Sends one op to the database's writer and answers with `on_ok` applied to
  // its result, or the error. No requester actor: the writer calls back (see
  // write_callback), on its own thread, and the responder posts the answer to
  // the connection's strand. The wait is bounded by the writer, which answers
  // every write it holds by the write timeout (a forwarded one a second after).
  void write_one(const db_entry& e, storage::op o, responder respond,
                 std::function<response(storage::op_result&)> on_ok) {
    auto ctx = ctx_;
    auto db = e.db;
    storage::op sent = o;
    auto cb = write_callback([ctx, db, sent, respond, on_ok = std::move(on_ok)](caf::expected<op_results> r) {
      if (!r) return respond(failure(*ctx->sys, r.error()));
      if (r->size() != 1) return respond(error_response(500, "unexpected number of results"));
      auto& res = r->front();
      if (res.code == storage::errc::version_conflict) return respond(conflict(*db, sent));
      if (res.code == storage::errc::not_found &&
          (sent.k == storage::op::kind::create || sent.k == storage::op::kind::create_class))
        return respond(error_response(400, res.message));  // an unknown (super)class is bad input
      if (res.code == storage::errc::not_found && sent.k != storage::op::kind::create_class)
        return respond(error_response(404, cat("Record ", sent.id.to_string(), " not found")));
      if (res.code != storage::errc::ok) return respond(error_response(status_of(res.code), res.message));
      respond(on_ok(res));
    });
    caf::anon_send(e.writer, write_atom::value, op_list{std::move(o)}, std::move(cb));
  }

  void document_cmd(request&& req, const responder& respond) {
    auto& seg = req.segments;
    if (seg.size() < 2) return respond(error_response(400, "Syntax error: document/<database>[/<rid>]"));
    const std::string name = seg[1];
    bool known = req.method == "GET" || req.method == "HEAD" || req.method == "POST" || req.method == "PUT" ||
                 req.method == "DELETE";
    if (!known) return respond(method_not_allowed(req, "GET, HEAD, POST, PUT, DELETE"));
    auto access = access_db(req, name);
    if (auto* r = std::get_if<response>(&access)) return respond(std::move(*r));
    const db_access& who = std::get<db_access>(access);
    auto e = ctx_->dbs->find(name);
    if (!e) return respond(error_response(404, cat("Database '", name, "' not found")));

    std::optional<storage::rid> id;
    if (seg.size() >= 3) {
      id = storage::rid::parse(seg[2]);
      if (!id) return respond(error_response(400, cat("Invalid record id '", seg[2], "': expected #<cluster>:<position>")));
    }
    if (req.method == "GET" || req.method == "HEAD") {
      if (!id || seg.size() > 4) return respond(error_response(400, "Syntax error: GET document/<database>/<rid>"));
      if (auto no = denied(who, name, auth::db_action::read)) return respond(std::move(*no));
      // readQuorum > 1: the newest of that many servers' copies, through the
      // relay actor (actors/relay_actor.hpp); 1 (the default): this node's copy, read right here.
      if (auto q = ctx_->cluster ? ctx_->cluster->read_quorum(name) : 1; q > 1) {
        auto relay = caf::actor_cast<relay_actor>(ctx_->cluster->actor());
        if (relay) {
          auto ctx = ctx_;
          bool head = req.method == "HEAD";
          auto rid_text = id->to_string();
          ask<read_reply>(sys(), relay, std::chrono::seconds(5),
                          [ctx, head, rid_text, respond](caf::expected<read_reply> r) {
                            if (!r) return respond(failure(*ctx->sys, r.error()));
                            if (!r->found) {
                              if (head) {
                                response x;
                                x.status = 404;
                                return respond(x);
                              }
                              return respond(error_response(404, cat("Record ", rid_text, " not found")));
                            }
                            if (head) return respond(no_content());
                            respond(json_response(200, r->rec.to_json()));
                          },
                          read_atom::value, name, *id, q);
          return;
        }
      }
      auto rec = e->db->find(*id);
      if (!rec) {
        if (req.method == "HEAD") {
          response r;
          r.status = 404;
          return respond(r);
        }
        return respond(error_response(404, cat("Record ", id->to_string(), " not found")));
      }
      if (req.method == "HEAD") return respond(no_content());
      return respond(json_response(200, rec->to_json()));
    }
    if (req.method == "DELETE") {
      if (!id || seg.size() != 3) return respond(error_response(400, "Syntax error: DELETE document/<database>/<rid>"));
      storage::op o;
      o.k = storage::op::kind::remove;
      o.id = *id;
      if (auto* v = req.query_param("version")) {
        auto n = parse_int(*v, 0, INT64_MAX);
        if (!n) return respond(error_response(400, "version must be a non-negative integer"));
        o.expected_version = *n;
      }
      if (auto no = denied(who, name, auth::op_action(*e->db, o))) return respond(std::move(*no));
      return write_one(*e, std::move(o), respond, [](storage::op_result&) { return no_content(); });
    }
    auto body = parse_doc_body(req.body);
    if (!body) return respond(error_response(400, body.error().what));
    if (req.method == "POST") {
      if (seg.size() != 2) return respond(error_response(400, "Syntax error: POST document/<database>"));
      storage::op o;
      o.k = storage::op::kind::create;
      o.class_name = body->class_name.value_or("");
      if (o.class_name.empty()) return respond(error_response(400, "The document has no @class"));
      o.fields = json::serialize(body->fields);
      if (auto no = denied(who, name, auth::op_action(*e->db, o))) return respond(std::move(*no));
      return write_one(*e, std::move(o), respond,
                       [](storage::op_result& r) { return json_response(201, r.rec.to_json()); });
    }
    // PUT: full replace, or merge with updateMode=partial.
    if (seg.size() > 3) return respond(error_response(400, "Syntax error: PUT document/<database>[/<rid>]"));
    if (!id && body->rid_text) {
      id = storage::rid::parse(*body->rid_text);
      if (!id) return respond(error_response(400, cat("Invalid record id '", *body->rid_text, "'")));
    }
    if (!id) return respond(error_response(400, "The document to update has no @rid"));
    if (!body->version) return respond(error_response(400, "The document to update has no @version"));
    storage::op o;
    o.k = storage::op::kind::update;
    o.id = *id;
    o.expected_version = *body->version;
    if (auto no = denied(who, name, auth::op_action(*e->db, o))) return respond(std::move(*no));
    auto* mode = req.query_param("updateMode");
    if (mode != nullptr && *mode != "full" && *mode != "partial")
      return respond(error_response(400, "updateMode must be full or partial"));
    if (mode != nullptr && *mode == "partial") {
      auto current = e->db->find(*id);
      if (!current) return respond(error_response(404, cat("Record ", id->to_string(), " not found")));
      boost::system::error_code ec;
      auto merged = json::parse(current->fields, ec);
      if (ec || !merged.is_object()) return respond(error_response(500, "stored record is not a JSON object"));
      for (auto& [k, v] : body->fields) merged.get_object()[k] = v;
      o.fields = json::serialize(merged);
    } else {
      o.fields = json::serialize(body->fields);
    }
    write_one(*e, std::move(o), respond, [](storage::op_result& r) { return json_response(200, r.rec.to_json()); });
  }

  void class_cmd(request&& req, const responder& respond) {
    auto& seg = req.segments;
    if (seg.size() != 3) return respond(error_response(400, "Syntax error: class/<database>/<class>"));
    const std::string name = seg[1];
    const std::string cls = seg[2];
    if (req.method != "GET" && req.method != "POST") return respond(method_not_allowed(req, "GET, POST"));
    if (auto no = authorize_db(req, name, req.method == "GET" ? auth::db_action::read : auth::db_action::schema))
      return respond(std::move(*no));
    auto e = ctx_->dbs->find(name);
    if (!e) return respond(error_response(404, cat("Database '", name, "' not found")));
    auto class_json = [](const storage::class_info& c) {
      json::object o;
      o["name"] = c.name;
      o["superClass"] = c.superclass;
      o["defaultCluster"] = c.default_cluster;
      o["clusters"] = json::array{c.default_cluster};
      return json::serialize(o);
    };
    if (req.method == "GET") {
      auto c = e->db->class_by_name(cls);
      if (!c) return respond(error_response(404, cat("Class '", cls, "' not found")));
      return respond(json_response(200, class_json(*c)));
    }
    storage::op o;
    o.k = storage::op::kind::create_class;
    o.class_name = cls;
    if (auto* sc = req.query_param("superClass")) o.superclass = *sc;
    if (!trim(req.body).empty()) {
      boost::system::error_code ec;
      json::parse_options opts;
      opts.max_depth = json_depth_max;
      auto v = json::parse(req.body, ec, {}, opts);
      if (ec || !v.is_object()) return respond(error_response(400, "the request body must be a JSON object"));
      if (auto* sc = v.get_object().if_contains("superClass")) {
        if (!sc->is_string()) return respond(error_response(400, "superClass must be a string"));
        o.superclass = std::string(sc->get_string());
      }
    }
    auto db = e->db;
    write_one(*e, std::move(o), respond, [db, cls, class_json](storage::op_result&) {
      auto c = db->class_by_name(cls);
      if (!c) return error_response(500, "class vanished after creation");
      return json_response(201, class_json(*c));
    });
  }

  void cluster_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (seg.size() < 3 || seg.size() > 4)
      return respond(error_response(400, "Syntax error: cluster/<database>/<cluster>[/<limit>]"));
    const std::string name = seg[1];
    if (auto no = authorize_db(req, name, auth::db_action::read)) return respond(std::move(*no));
    auto e = ctx_->dbs->find(name);
    if (!e) return respond(error_response(404, cat("Database '", name, "' not found")));
    size_t limit = default_browse_records;
    if (seg.size() == 4) {
      auto n = parse_int(seg[3], 1, static_cast<int64_t>(storage::browse_records_max));
      if (!n) return respond(error_response(400, cat("limit must be 1..", storage::browse_records_max)));
      limit = static_cast<size_t>(*n);
    }
    auto c = e->db->cluster_by_name(seg[2]);
    if (!c) {
      // OrientDB also accepts the cluster id.
      if (auto id = parse_int(seg[2], 0, 32767)) {
        for (auto& x : e->db->clusters())
          if (x.id == *id) c = x;
      }
    }
    if (!c) return respond(error_response(404, cat("Cluster '", seg[2], "' not found")));
    std::string out = cat("{\"schema\":{\"id\":", c->id, ",\"name\":", json::serialize(json::value(c->name)),
                          "},\"result\":[");
    bool first = true;
    for (auto& r : e->db->browse_cluster(c->id, limit)) {
      if (!first) out += ',';
      first = false;
      out += r.to_json();
    }
    out += "]}";
    respond(json_response(200, std::move(out)));
  }

  // GET /distributed/node and GET /distributed/database/<db>, in the shapes of
  // OrientDB's (Enterprise) distributed HTTP API.
  void distributed_cmd(const request& req, const responder& respond) {
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (auto denied = authorize(req, "server.info", "OrientDB Server")) return respond(*denied);
    if (!ctx_->cluster) return respond(error_response(404, "this server does not run distributed"));
    auto snap = ctx_->cluster->get();
    auto& seg = req.segments;
    if (seg.size() == 2 && seg[1] == "node") {
      json::object o;
      o["localId"] = snap.local_node_id;
      o["localName"] = snap.local_name;
      json::array members;
      for (auto& m : snap.state.view.members) {
        json::object mo;
        mo["id"] = m.node_id;
        mo["name"] = m.name;
        mo["startedOn"] = m.started_on_ms;
        mo["status"] = m.status;
        json::array listeners;
        json::object http_l;
        http_l["protocol"] = "ONetworkProtocolHttpDb";
        http_l["listen"] = cat(m.http_host, ":", m.http_port);
        listeners.emplace_back(std::move(http_l));
        json::object cluster_l;
        cluster_l["protocol"] = "cluster";
        cluster_l["listen"] = cat(m.cluster_host, ":", m.cluster_port);
        listeners.emplace_back(std::move(cluster_l));
        mo["listeners"] = std::move(listeners);
        json::array dbs;
        for (auto& d : m.databases) dbs.emplace_back(d);
        mo["databases"] = std::move(dbs);
        // OFFLINE / SYNCHRONIZING / ONLINE per database (OrientDB 1.7+ database status).
        json::object status;
        for (auto& [d, ds] : m.db_status) status[d] = m.shown_status(d);
        mo["databasesStatus"] = std::move(status);
        members.emplace_back(std::move(mo));
      }
      o["members"] = std::move(members);
      o["version"] = snap.state.view.version;
      return respond(json_response(200, json::serialize(o)));
    }
    if (seg.size() == 3 && seg[1] == "database") {
      for (auto& c : snap.state.configs)
        if (c.db == seg[2]) return respond(json_response(200, c.json));
      return respond(error_response(404, cat("no distributed configuration for database '", seg[2], "'")));
    }
    respond(error_response(400, "Syntax error: distributed/node or distributed/database/<database>"));
  }

  // --- backup, restore, export, import (src/backup/) ----------------------------
  // GET /export/<db>: OrientDB 2.2's route: the export (gzip) as a download.
  // POST /import/<db>: the body (an export, plain or gzip) into a NEW database <db>.
  // POST /backup/<db>/<file>, POST /restore/<db>/<file>: archives in
  // <home>/backup/, named by plain file names only (no path: no traversal).
  // Permissions: database.<db> for export and backup; database.create for
  // import and restore. The file work blocks, so it runs on a detached actor
  // of its own (one thread per request, ended with it), never on an Asio
  // thread. The HTTP server sends whole-string bodies: an export over
  // export_response_bytes_max is refused (413) rather than held in memory;
  // POST /backup takes any size.
  static constexpr size_t export_response_bytes_max = 64u << 20;

  std::filesystem::path backup_dir() const {
    return std::filesystem::path(ctx_->databases_dir).parent_path() / "backup";
  }

  // Runs `job` on a thread of its own; `job` answers through the responder.
  void off_thread(std::function<void()> job) const {
    ctx_->sys->spawn<caf::detached>([job = std::move(job)](caf::event_based_actor* self) {
      job();
      self->quit();
    });
  }

  // The shared cluster steps (actors/db_lifecycle.hpp, also the console's):
  // their failure as this API's response.
  response lifecycle_response(const lifecycle_error& e) const {
    if (e.actor_error) return error_response(status_of(*e.actor_error), error_text(*ctx_->sys, *e.actor_error));
    return error_response(e.status, e.message);
  }

  // Restore and import: claim the name, `build` the files, open and announce
  // (actors/db_lifecycle.hpp). On the caller's own thread (off_thread).
  // nullopt: done; else the error response.
  std::optional<response> claim_build_announce(const std::string& db,
                                                const std::function<std::optional<response>()>& build) const {
    std::optional<response> built_bad;
    auto bad = troupe::claim_build_announce(*ctx_->sys, ctx_->databases, ctx_->log, db,
                                            [&]() -> std::optional<lifecycle_error> {
                                              built_bad = build();
                                              if (!built_bad) return std::nullopt;
                                              return lifecycle_error{};
                                            });
    if (built_bad) return built_bad;
    if (bad) return lifecycle_response(*bad);
    return std::nullopt;
  }

  // Backup and export: wait until this copy has what the owner had committed
  // (actors/db_lifecycle.hpp). On the caller's own thread (off_thread).
  std::optional<response> catch_up_to_owner(const std::string& db, const storage::database& live) const {
    if (auto bad = troupe::catch_up_to_owner(*ctx_->sys, ctx_->cluster.get(), db, live)) return lifecycle_response(*bad);
    return std::nullopt;
  }

  void backup_cmd(const request& req, const responder& respond) {
    auto& seg = req.segments;
    const std::string& cmd = seg[0];
    const bool with_file = cmd == "backup" || cmd == "restore";
    const char* method = cmd == "export" ? "GET" : "POST";
    if (req.method != method) return respond(method_not_allowed(req, method));
    if (seg.size() != (with_file ? 3u : 2u))
      return respond(error_response(400, cat("Syntax error: ", cmd, "/<database>", with_file ? "/<file>" : "")));
    const std::string db = seg[1];
    const bool creates = cmd == "import" || cmd == "restore";
    // Server users only (not a database's own users): these touch the server's files.
    auto denied = creates ? authorize(req, "database.create", "OrientDB Server")
                          : authorize(req, cat("database.", db), cat("OrientDB db-", db));
    if (denied) return respond(*denied);
    if (!valid_database_name(db)) return respond(error_response(400, cat("'", db, "' is not a database name")));
    std::filesystem::path file;
    if (with_file) {
      if (!backup::plain_backup_name(seg[2]))
        return respond(error_response(400, cat("'", seg[2], "' is not a plain file name (1-128 of A-Z a-z 0-9 _ . -, "
                                                            "not starting with '.'): backups live in <home>/backup/")));
      file = backup_dir() / seg[2];
    }
    auto e = ctx_->dbs->find(db);
    if (!creates && !e) return respond(error_response(404, cat("Database '", db, "' not found")));
    if (creates && e) return respond(error_response(409, cat("Database '", db, "' already exists")));
    auto self = *this;
    if (cmd == "export") {
      auto live = e->db;
      return off_thread([self, live, db, respond] {
        if (auto behind = self.catch_up_to_owner(db, *live)) return respond(std::move(*behind));
        std::string out;
        auto scratch = self.backup_dir() / cat(".export-", db, "-", std::hash<std::thread::id>{}(std::this_thread::get_id()));
        std::error_code ec;
        std::filesystem::create_directories(scratch.parent_path(), ec);
        auto r = backup::export_database(*live, scratch, [&](std::string_view b) -> status {
          if (out.size() + b.size() > export_response_bytes_max)
            return error_info{"", "", cat("the export is over ", export_response_bytes_max >> 20,
                                          " MiB, more than one HTTP answer carries here: back the database up with "
                                          "POST /backup/<db>/<file> instead")};
          out.append(b);
          return ok_status();
        }, {.name = db, .gzip = true});
        if (!r) return respond(error_response(r.error().what.find("MiB, more than") != std::string::npos ? 413 : 500,
                                              r.error().render()));
        response resp;
        resp.content_type = "application/x-gzip";
        resp.headers.emplace_back("Content-Disposition", cat("attachment; filename=", db, ".gz"));
        resp.body = std::move(out);
        respond(std::move(resp));
      });
    }
    if (cmd == "backup") {
      auto live = e->db;
      return off_thread([self, live, db, file, respond] {
        if (auto behind = self.catch_up_to_owner(db, *live)) return respond(std::move(*behind));
        std::error_code ec;
        std::filesystem::create_directories(file.parent_path(), ec);
        auto r = backup::write_backup(*live, file, {.created_ms = std::nullopt, .database = db});
        if (!r) return respond(error_response(500, r.error().render()));
        json::object o;
        o["database"] = db;
        o["file"] = file.filename().string();
        o["lsn"] = r->lsn;
        o["committedSeq"] = r->committed_seq;
        o["files"] = r->files.size();
        o["rawBytes"] = r->raw_bytes;
        o["archiveBytes"] = r->archive_bytes;
        respond(json_response(200, json::serialize(o)));
      });
    }
    if (cmd == "restore") {
      return off_thread([self, db, file, respond] {
        // A file that is missing, truncated, corrupt or of another format is
        // refused before the cluster hears of the name.
        if (auto v = backup::verify_backup(file); !v)
          return respond(error_response(std::filesystem::exists(file) ? 400 : 404, v.error().render()));
        json::object o;
        auto bad = self.claim_build_announce(db, [&]() -> std::optional<response> {
          auto r = backup::restore_database(self.ctx_->databases_dir, db, file);
          if (!r) {
            bool exists = r.error().what.find("exists already") != std::string::npos;
            return error_response(exists ? 409 : 400, r.error().render());
          }
          o["database"] = db;
          o["from"] = r->database;
          o["lsn"] = r->lsn;
          o["committedSeq"] = r->committed_seq;
          o["createdMs"] = r->created_ms;
          return std::nullopt;
        });
        respond(bad ? std::move(*bad) : json_response(200, json::serialize(o)));
      });
    }
    // import: the body is the export (as OrientDB's POST /import takes it).
    std::string body = req.body;
    return off_thread([self, db, body = std::move(body), respond]() mutable {
      auto text = backup::export_text(std::move(body));
      if (!text) return respond(error_response(400, text.error().render()));
      json::object o;
      auto bad = self.claim_build_announce(db, [&]() -> std::optional<response> {
        auto r = backup::import_database(self.ctx_->databases_dir, db, *text);
        if (!r) {
          bool exists = r.error().what.find("exists already") != std::string::npos;
          return error_response(exists ? 409 : 400, r.error().render());
        }
        o["responseText"] = "Database imported Correctly, see server log for more informations.";
        o["classes"] = r->classes;
        o["records"] = r->records;
        o["recordsMoved"] = r->records_moved;
        o["recordsSkipped"] = r->records_skipped;
        o["indexes"] = r->indexes;
        json::array notes;
        for (auto& n : r->notes) notes.emplace_back(json::string(n));
        o["notes"] = std::move(notes);
        return std::nullopt;
      });
      respond(bad ? std::move(*bad) : json_response(200, json::serialize(o)));
    });
  }

  void server_cmd(const request& req, const responder& respond) {
    if (req.method != "GET") return respond(method_not_allowed(req, "GET"));
    if (req.segments.size() != 1) return respond(error_response(400, "Syntax error: server"));
    if (auto denied = authorize(req, "server.info", "OrientDB Server")) return respond(*denied);
    json::object o;
    o["connections"] = json::array{};
    json::array dbs, storages;
    for (auto& n : ctx_->dbs->names()) {
      json::object d;
      d["db"] = n;
      dbs.emplace_back(std::move(d));
      json::object s;
      s["name"] = n;
      s["type"] = "plocal";
      s["path"] = cat(ctx_->databases_dir, "/", n);
      s["activeUsers"] = 0;
      storages.emplace_back(std::move(s));
    }
    o["dbs"] = std::move(dbs);
    o["storages"] = std::move(storages);
    json::array props;
    json::object node;
    node["name"] = "node.name";
    node["value"] = ctx_->node_name;
    props.emplace_back(std::move(node));
    o["properties"] = std::move(props);
    // What is really bound, as the start-up log says it (and what others are told).
    json::array ls;
    for (auto& l : ctx_->listeners->get()) {
      json::object e;
      e["protocol"] = l.protocol;
      e["listen"] = l.listen;
      if (!l.told.empty()) e["advertised"] = l.told;
      ls.emplace_back(std::move(e));
    }
    o["listeners"] = std::move(ls);
    respond(json_response(200, json::serialize(o)));
  }
};

}  // namespace

http::handler make_rest_handler(std::shared_ptr<const rest_context> ctx) {
  auto r = std::make_shared<rest>(std::move(ctx));
  return [r](http::request&& req, http::responder respond) { r->handle(std::move(req), std::move(respond)); };
}

http::header_check make_rest_header_check(std::shared_ptr<const rest_context> ctx) {
  auto r = std::make_shared<const rest>(std::move(ctx));
  return [r](const http::request& head, bool body_follows) { return r->check_head(head, body_follows); };
}

}  // namespace troupe
