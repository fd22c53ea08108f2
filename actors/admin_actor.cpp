#include "actors/admin_actor.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <filesystem>
#include <set>
#include <thread>

#include <boost/json.hpp>
#include <caf/io/all.hpp>

#include "actors/db_lifecycle.hpp"
#include "src/auth/db_users.hpp"
#include "src/backup/archive.hpp"
#include "src/backup/export.hpp"
#include "src/backup/import.hpp"
#include "src/backup/install.hpp"
#include "src/config/db_config.hpp"
#include "src/console/sql.hpp"
#include "src/http/login_guard.hpp"
#include "src/query/command.hpp"
#include "src/query/parser.hpp"
#include "src/util/strings.hpp"

namespace json = boost::json;
using std::chrono::steady_clock;

namespace troupe {

namespace {

// "10.0.0.5:41234" -> "10.0.0.5" (the guard names a peer by address and port).
std::string address_only(const std::string& peer) {
  auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

constexpr const char* component = "OServerNetworkListener";

using opts_ptr = std::shared_ptr<const admin_options>;

// May `user` run a command needing `resource`? The rule REST applies too (user_config::may).
bool allowed(const user_config& user, const std::string& resource) { return user.may(resource); }

// --- session -------------------------------------------------------------------

struct session_state {
  opts_ptr opts;
  user_config user;
  caf::node_id client;
  admin_actor admin;
  // A database user's session (OUser of `bound_db`, src/auth/db_users.hpp):
  // it serves that database only, each command as the user's roles allow.
  // Empty for a server user's session.
  std::string bound_db;
  std::optional<auth::db_user> db_user;
};

using session_ptr = session_actor::stateful_pointer<session_state>;

// Every session message must come from the console that logged in, and its user
// must hold `resource`.
caf::error refuse(session_ptr self, const std::string& resource) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!sender || sender->node() != st.client)
    return make_troupe_error(errc::access_denied, "this session belongs to another console");
  if (st.db_user) {
    // Bound to its database: nothing server-wide, no other database.
    if (resource.empty() || resource == cat("database.", st.bound_db)) return caf::none;
    if (resource.rfind("database.", 0) == 0 && resource != "database.create")
      return make_troupe_error(errc::access_denied,
                               cat("User '", st.user.name, "' is a user of database '", st.bound_db,
                                   "' and may not use database '", resource.substr(9),
                                   "': connect to it with one of its own users"));
    return make_troupe_error(errc::access_denied,
                             cat("User '", st.user.name, "' is a user of database '", st.bound_db,
                                 "' only: this command needs a server user (", resource, ")"));
  }
  if (!resource.empty() && !allowed(st.user, resource))
    return make_troupe_error(errc::access_denied, cat("User '", st.user.name, "' has no permission for ", resource));
  return caf::none;
}

// A database user's roles must allow `action` in `db` (OrientDB's refusal
// text otherwise); a server user's session passed refuse() already.
// The user is read again for every command (as REST does for a session): a
// user dropped or suspended since the login is refused from then on, and
// changed roles count at once.
caf::error refuse_action(session_ptr self, const storage::database& db, auth::db_action action) {
  auto& st = self->state;
  if (!st.db_user) return caf::none;
  auto now = auth::find_user(db, st.db_user->name);
  if (!now || !now->active)
    return make_troupe_error(errc::access_denied, cat("User '", st.db_user->name, "' of database '", st.bound_db,
                                                      "' no longer exists or is suspended: connect again"));
  st.db_user = std::move(*now);
  if (auth::allows(db, *st.db_user, action)) return caf::none;
  return make_troupe_error(errc::access_denied, auth::denied_message(*st.db_user, action));
}

caf::expected<db_entry> find_db(session_ptr self, const std::string& db) {
  if (auto err = refuse(self, cat("database.", db))) return err;
  auto e = self->state.opts->dbs->find(db);
  if (!e) return make_troupe_error(errc::database_not_found, cat("Database '", db, "' not found"));
  return *e;
}

// Asks every actor of the node for its summary and calls `done` with all of
// them (in spawn order) once every one answered or timed out.
void gather_summaries(session_ptr self, std::function<void(actor_summaries&&)> done) {
  struct gather {
    actor_summaries out;
    size_t left = 0;
    std::function<void(actor_summaries&&)> done;
    void one(actor_summary s) {
      out.push_back(std::move(s));
      if (--left > 0) return;
      std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
      done(std::move(out));
    }
  };
  auto g = std::make_shared<gather>();
  g->done = std::move(done);
  auto& st = self->state;
  auto& o = *st.opts;
  auto ask = [&](auto handle, std::string name) {
    if (!handle) return;
    ++g->left;
    auto id = handle.id();
    self->request(handle, o.ask_timeout, inspect_atom::value)
        .then([g](actor_summary& s) { g->one(std::move(s)); },
              [self, g, id, name](caf::error& e) {
                g->one(actor_summary{name, id, 0, cat("no answer: ", error_text(self->system(), e)), "{}"});
              });
  };
  ask(o.server, "server");
  ask(o.databases, "databases");
  ask(o.cluster, "cluster");
  ask(o.partitions, "partitions");
  ask(o.placement, "placement");
  ask(o.relay, "relay");
  for (auto& a : o.config_actors) ask(a, "config:?");
  for (auto& name : o.dbs->names())
    if (auto e = o.dbs->find(name)) ask(e->writer, cat("db:", name));
  ask(st.admin, "admin");
  // The session answers for itself: it is running this very handler.
  ++g->left;
  g->one(actor_summary{cat("session:", st.user.name), self->id(), self->mailbox().size(),
                       cat("console session of user ", st.user.name, " from node ", to_string(st.client)),
                       cat("{\"user\":", json_quote(st.user.name), ",\"client\":", json_quote(to_string(st.client)),
                           "}")});
}

// A number about `db` in a cluster actor's inspect detail
// ("databases":{db:{"lastLsn":n,"committedSeq":n}}).
std::optional<uint64_t> db_figure(const std::string& detail_json, const std::string& db, const char* key) {
  boost::system::error_code ec;
  auto v = json::parse(detail_json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  auto* dbs = v.get_object().if_contains("databases");
  if (dbs == nullptr || !dbs->is_object()) return std::nullopt;
  auto* d = dbs->get_object().if_contains(db);
  if (d == nullptr || !d->is_object()) return std::nullopt;
  auto* n = d->get_object().if_contains(key);
  if (n == nullptr) return std::nullopt;
  if (n->is_uint64()) return n->get_uint64();
  if (n->is_int64() && n->get_int64() >= 0) return static_cast<uint64_t>(n->get_int64());
  return std::nullopt;
}

// Every member with its console endpoint and `db`'s status there ("" db: no
// status), in the view's join order; a node that does not run distributed is
// its own only member.
console_peers members_of(const admin_options& o, const std::string& db) {
  console_peers out;
  auto snap = o.cluster_dir->get();
  if (!o.cluster || snap.state.view.members.empty()) {
    bool holds = !db.empty() && o.dbs->find(db).has_value();
    out.push_back(console_peer{o.node_name, "", 0, node_online, holds ? db_online : "", true});
    return out;
  }
  for (auto& m : snap.state.view.members)
    out.push_back(console_peer{m.name, m.console_host, m.console_port, m.status, db.empty() ? "" : m.shown_status(db),
                               m.name == snap.local_name});
  return out;
}

void replication(session_ptr self, const std::string& db, caf::typed_response_promise<replication_rows> rp) {
  auto& o = *self->state.opts;
  auto snap = o.cluster_dir->get();
  struct gather {
    replication_rows rows;
    size_t left = 0;
    caf::typed_response_promise<replication_rows> rp;
    void one() {
      if (--left == 0) rp.deliver(std::move(rows));
    }
  };
  auto g = std::make_shared<gather>();
  g->rp = rp;
  replication_row local{o.node_name, node_online, false, 0};
  if (auto e = o.dbs->find(db)) {
    local.has_db = true;
    local.last_lsn = e->db->last_lsn();
    local.committed_seq = e->db->last_committed_seq();
  }
  if (!o.cluster || snap.state.view.members.empty()) {
    g->rows.push_back(std::move(local));
    rp.deliver(std::move(g->rows));
    return;
  }
  // One row per member in view order; the remote ones are filled in as they answer.
  g->rows.reserve(snap.state.view.members.size());
  g->left = 1;
  for (auto& m : snap.state.view.members) {
    if (m.name == snap.local_name) {
      local.status = m.status;
      g->rows.push_back(local);
      continue;
    }
    size_t at = g->rows.size();
    g->rows.push_back(replication_row{m.name, m.status, false, 0, 0});
    ++g->left;
    auto fail = [g, at, self](caf::error& e) {
      g->rows[at].status = cat("UNREACHABLE: ", error_text(self->system(), e));
      g->one();
    };
    // Through the node's link guard, as every connection to another node.
    auto via = o.guard ? o.guard->forward(m.cluster_host, m.cluster_port)
                       : result<uint16_t>(error_info{"", "", "not distributed"});
    if (!via) {
      g->rows[at].status = cat("UNREACHABLE: ", via.error().render());
      g->one();
      continue;
    }
    auto mm = self->system().middleman().actor_handle();
    self->request(mm, o.ask_timeout, caf::connect_atom::value, std::string("127.0.0.1"), *via)
        .then(
            [self, g, at, db, fail](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
              if (!ptr) {
                g->rows[at].status = "UNREACHABLE: no cluster endpoint";
                return g->one();
              }
              auto h = caf::actor_cast<cluster_actor>(ptr);
              self->request(h, self->state.opts->ask_timeout, inspect_atom::value)
                  .then(
                      [g, at, db](actor_summary& s) {
                        if (auto lsn = db_figure(s.detail_json, db, "lastLsn")) {
                          g->rows[at].has_db = true;
                          g->rows[at].last_lsn = *lsn;
                          g->rows[at].committed_seq = db_figure(s.detail_json, db, "committedSeq").value_or(0);
                        }
                        g->one();
                      },
                      fail);
            },
            fail);
  }
  g->one();  // the initial count of 1 keeps an early answer from delivering half the rows
}

// One read statement on a thread of its own: a detached actor that answers
// (sql_atom) once and ends. A long scan (bounded by the executor's
// scan_records_max) then holds neither one of CAF's scheduler threads nor the
// database actor, which never sees reads. At most one per session at a time
// is in flight from a console (it waits for each answer), so at most
// console_sessions_max of these threads run.
caf::behavior sql_reader(caf::event_based_actor* self, std::shared_ptr<storage::database> db, std::string text,
                         uint32_t rows_max, std::chrono::milliseconds timeout) {
  return {[self, db, text, rows_max, timeout](sql_atom) {
    auto rp = self->make_response_promise();
    auto r = console::run_read_statement(*db, text, rows_max, console_reply_bytes_max, timeout);
    if (r)
      rp.deliver(std::move(*r));
    else
      rp.deliver(make_troupe_error(errc::invalid_argument, r.error().what));
    self->quit();
    return rp;
  }};
}

// A SQL statement from the console: a read runs over the shared storage
// (sql_reader), a write goes to the database's writer as one statement op,
// like any write (the owner expands it: src/replication/intake.hpp).
caf::result<std::string> run_sql(session_ptr self, const db_entry& e, const std::string& text, uint32_t rows_max) {
  if (text.size() > query::statement_length_max)
    return make_troupe_error(errc::invalid_argument,
                             cat("the statement is longer than ", query::statement_length_max, " bytes"));
  if (rows_max < 1 || rows_max > console::sql_rows_max + 1)
    return make_troupe_error(errc::invalid_argument, cat("the rows asked for must be 1..", console::sql_rows_max + 1));
  auto kind = console::sql_statement_kind(text);
  if (kind == console::sql_kind::none)
    return make_troupe_error(errc::invalid_argument,
                             "not a SQL statement (it starts with SELECT, TRAVERSE, EXPLAIN, INSERT, UPDATE, DELETE, "
                             "CREATE VERTEX|EDGE|CLASS|PROPERTY|INDEX or DROP CLASS|INDEX|PROPERTY)");
  auto timeout = self->state.opts->ask_timeout;
  auto rp = self->make_response_promise<std::string>();
  auto fail = [rp, timeout, kind](caf::error& err) mutable {
    if (err != caf::sec::request_timeout) {
      rp.deliver(std::move(err));
      return;
    }
    rp.deliver(make_troupe_error(
        errc::unavailable,
        kind == console::sql_kind::read
            ? cat("the query did not finish within ", timeout.count(), " ms: narrow the WHERE or add a LIMIT")
            : cat("the database did not answer the statement within ", timeout.count(),
                  " ms: it may or may not have been applied")));
  };
  if (kind == console::sql_kind::read) {
    // The reader stops at the statement's timeout, and never later than this
    // session stops waiting for it.
    auto& ct = self->state.opts->command_timeout;
    auto reader = self->system().spawn<caf::detached>(sql_reader, e.db, text, rows_max,
                                                      ct.count() > 0 ? std::min(ct, timeout) : timeout);
    self->request(reader, timeout, sql_atom::value)
        .then([rp](std::string& answer) mutable { rp.deliver(std::move(answer)); }, fail);
    return rp;
  }
  self->request(e.writer, timeout, write_atom::value, op_list{query::statement_op(query::command{text, {}})})
      .then(
          [rp](op_results& r) mutable {
            auto answer = console::write_statement_answer(r);
            if (answer)
              rp.deliver(std::move(*answer));
            else
              rp.deliver(make_troupe_error(errc::invalid_argument, answer.error().what));
          },
          fail);
  return rp;
}

// --- lifecycle: backup, restore, export, import, drop ------------------------

// These touch the server's files and the cluster's databases: server users
// only, as REST (a database user is refused even for its own database).
caf::error refuse_lifecycle(session_ptr self, const std::string& resource, const char* what) {
  auto& st = self->state;
  if (st.db_user)
    return make_troupe_error(errc::access_denied, cat("User '", st.user.name, "' is a user of database '", st.bound_db,
                                                      "': ", what, " needs a server user (", resource, ")"));
  return refuse(self, resource);
}

std::filesystem::path backup_dir(const admin_options& o) {
  return std::filesystem::path(o.databases_dir).parent_path() / "backup";
}

caf::expected<std::filesystem::path> backup_file(const admin_options& o, const std::string& name) {
  if (!backup::plain_backup_name(name))
    return make_troupe_error(errc::invalid_argument,
                             cat("'", name, "' is not a plain file name (1-128 of A-Z a-z 0-9 _ . -, not starting "
                                            "with '.'): backups live in the node's <home>/backup/"));
  return backup_dir(o) / name;
}

caf::error lifecycle_caf_error(caf::actor_system& sys, const lifecycle_error& e) {
  if (e.actor_error) return *e.actor_error;
  (void)sys;
  return make_troupe_error(e.status == 503 ? errc::unavailable : errc::invalid_argument, e.message);
}

using lifecycle_fn = std::function<caf::expected<std::string>()>;

// One blocking job (file work, waits for actors) on a thread of its own: a
// detached actor that answers once and ends, as sql_reader.
caf::behavior lifecycle_job(caf::event_based_actor* self, lifecycle_fn job) {
  return {[self, job](caf::atom_value) -> caf::result<std::string> {
    auto r = job();
    self->quit();
    if (!r) return r.error();
    return std::move(*r);
  }};
}

caf::result<std::string> run_lifecycle(session_ptr self, lifecycle_fn job) {
  auto rp = self->make_response_promise<std::string>();
  auto worker = self->system().spawn<caf::detached>(lifecycle_job, std::move(job));
  self->request(worker, lifecycle_timeout, caf::atom("run"))
      .then([rp](std::string& s) mutable { rp.deliver(std::move(s)); },
            [rp](caf::error& e) mutable {
              if (e == caf::sec::request_timeout)
                rp.deliver(make_troupe_error(errc::unavailable,
                                             cat("the node did not finish within ", lifecycle_timeout.count(),
                                                 " s; it may still finish (see the node's log)")));
              else
                rp.deliver(std::move(e));
            });
  return rp;
}

caf::result<std::string> backup_db(session_ptr self, const std::string& db, const std::string& name) {
  if (auto err = refuse_lifecycle(self, cat("database.", db), "backup database")) return err;
  auto& o = *self->state.opts;
  auto e = o.dbs->find(db);
  if (!e) return make_troupe_error(errc::database_not_found, cat("Database '", db, "' not found"));
  auto file = backup_file(o, name);
  if (!file) return file.error();
  auto& sys = self->system();
  auto opts = self->state.opts;
  auto live = e->db;
  return run_lifecycle(self, [&sys, opts, live, db, file = *file]() -> caf::expected<std::string> {
    if (auto behind = catch_up_to_owner(sys, opts->cluster_dir.get(), db, *live))
      return lifecycle_caf_error(sys, *behind);
    std::error_code ec;
    std::filesystem::create_directories(file.parent_path(), ec);
    auto r = backup::write_backup(*live, file, {.created_ms = std::nullopt, .database = db});
    if (!r) return make_troupe_error(errc::io_error, r.error().render());
    return cat("Backup of database '", db, "' completed in ", file.filename().string(), " (lsn ", r->lsn,
               ", committed seq ", r->committed_seq, ", ", r->files.size(), " files, ", r->raw_bytes, " bytes, archive ",
               r->archive_bytes, " bytes)");
  });
}

caf::result<std::string> restore_db(session_ptr self, const std::string& name, const std::string& target) {
  if (auto err = refuse_lifecycle(self, "database.create", "restore database")) return err;
  auto& o = *self->state.opts;
  auto file = backup_file(o, name);
  if (!file) return file.error();
  if (!target.empty() && !valid_database_name(target))
    return make_troupe_error(errc::invalid_argument, cat("'", target, "' is not a database name"));
  if (!target.empty() && o.dbs->find(target))
    return make_troupe_error(errc::invalid_argument, cat("Database '", target, "' already exists: restore into a new "
                                                         "name (restore database <file> <new name>) or drop it first"));
  auto& sys = self->system();
  auto opts = self->state.opts;
  return run_lifecycle(self, [&sys, opts, target, file = *file]() -> caf::expected<std::string> {
    // A missing, truncated, corrupt or foreign file is refused before the cluster hears of the name.
    auto v = backup::verify_backup(file);
    if (!v)
      return make_troupe_error(std::filesystem::exists(file) ? errc::invalid_argument : errc::not_found,
                               v.error().render());
    auto db = target.empty() ? v->database : target;
    if (!valid_database_name(db))
      return make_troupe_error(errc::invalid_argument, cat("the archive names no usable database ('", db,
                                                           "'): restore database <file> <new name>"));
    if (opts->dbs->find(db))
      return make_troupe_error(errc::invalid_argument,
                               cat("Database '", db, "' already exists", target.empty() ? " (the archive's name)" : "",
                                   ": restore into a new name (restore database <file> <new name>) or drop it first"));
    std::string out;
    auto bad = claim_build_announce(sys, opts->databases, opts->log, db, [&]() -> std::optional<lifecycle_error> {
      auto r = backup::restore_database(opts->databases_dir, db, file);
      if (!r) return lifecycle_error{std::nullopt, 400, r.error().render()};
      out = cat("Database '", db, "' restored from ", file.filename().string(), " (backup of '", r->database,
                "', lsn ", r->lsn, ", committed seq ", r->committed_seq, ")");
      return std::nullopt;
    });
    if (bad) return lifecycle_caf_error(sys, *bad);
    return out;
  });
}

caf::result<std::string> export_db(session_ptr self, const std::string& db) {
  if (auto err = refuse_lifecycle(self, cat("database.", db), "export database")) return err;
  auto& o = *self->state.opts;
  auto e = o.dbs->find(db);
  if (!e) return make_troupe_error(errc::database_not_found, cat("Database '", db, "' not found"));
  auto& sys = self->system();
  auto opts = self->state.opts;
  auto live = e->db;
  return run_lifecycle(self, [&sys, opts, live, db]() -> caf::expected<std::string> {
    if (auto behind = catch_up_to_owner(sys, opts->cluster_dir.get(), db, *live))
      return lifecycle_caf_error(sys, *behind);
    std::string out;
    auto scratch = backup_dir(*opts) / cat(".export-", db, "-console-",
                                           std::hash<std::thread::id>{}(std::this_thread::get_id()));
    std::error_code ec;
    std::filesystem::create_directories(scratch.parent_path(), ec);
    auto r = backup::export_database(*live, scratch, [&](std::string_view b) -> status {
      if (out.size() + b.size() > console_export_bytes_max)
        return error_info{"", "", cat("the export is over ", console_export_bytes_max >> 20,
                                      " MiB, more than one console answer carries: back the database up with "
                                      "`backup database <file>` instead")};
      out.append(b);
      return ok_status();
    }, {.name = db, .gzip = true});
    if (!r) return make_troupe_error(errc::invalid_argument, r.error().render());
    return out;
  });
}

caf::result<std::string> import_db(session_ptr self, const std::string& db, std::string& bytes) {
  if (auto err = refuse_lifecycle(self, "database.create", "import database")) return err;
  auto& o = *self->state.opts;
  if (!valid_database_name(db)) return make_troupe_error(errc::invalid_argument, cat("'", db, "' is not a database name"));
  if (o.dbs->find(db))
    return make_troupe_error(errc::invalid_argument,
                             cat("Database '", db, "' already exists: import into a new name (import database <file> "
                                 "<new name>) or drop it first"));
  auto& sys = self->system();
  auto opts = self->state.opts;
  return run_lifecycle(self, [&sys, opts, db, body = std::move(bytes)]() mutable -> caf::expected<std::string> {
    auto text = backup::export_text(std::move(body));
    if (!text) return make_troupe_error(errc::invalid_argument, text.error().render());
    std::string out;
    auto bad = claim_build_announce(sys, opts->databases, opts->log, db, [&]() -> std::optional<lifecycle_error> {
      auto r = backup::import_database(opts->databases_dir, db, *text);
      if (!r) return lifecycle_error{std::nullopt, 400, r.error().render()};
      out = cat("Database '", db, "' imported: ", r->classes, " classes, ", r->records, " records, ", r->indexes,
                " indexes");
      if (r->records_skipped > 0) out += cat(", ", r->records_skipped, " records skipped");
      for (auto& n : r->notes) out += cat("\n  note: ", n);
      return std::nullopt;
    });
    if (bad) return lifecycle_caf_error(sys, *bad);
    return out;
  });
}

caf::result<bool> drop_db(session_ptr self, const std::string& db) {
  if (auto err = refuse_lifecycle(self, "database.drop", "drop database")) return err;
  auto& o = *self->state.opts;
  auto rp = self->make_response_promise<bool>();
  self->request(o.databases, lifecycle_timeout, drop_atom::value, db)
      .then([rp](bool b) mutable { rp.deliver(b); }, [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

session_actor::behavior_type session_impl(session_ptr self, opts_ptr opts, user_config user, caf::node_id client,
                                          admin_actor admin, caf::actor console, std::string bound_db,
                                          std::optional<auth::db_user> db_user) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.user = std::move(user);
  st.bound_db = std::move(bound_db);
  st.db_user = std::move(db_user);
  st.client = client;
  st.admin = std::move(admin);
  // The console's actor goes down when its connection closes: the session ends with it.
  self->monitor(console);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  return {
      [self](list_atom) -> caf::result<actor_summaries> {
        if (auto err = refuse(self, "server.info")) return err;
        auto rp = self->make_response_promise<actor_summaries>();
        gather_summaries(self, [rp](actor_summaries&& all) mutable { rp.deliver(std::move(all)); });
        return rp;
      },
      [self](inspect_atom, const std::string& which) -> caf::result<actor_summary> {
        if (auto err = refuse(self, "server.info")) return err;
        auto rp = self->make_response_promise<actor_summary>();
        gather_summaries(self, [rp, which](actor_summaries&& all) mutable {
          std::string names;
          for (auto& s : all) {
            if (s.name == which || std::to_string(s.id) == which) {
              rp.deliver(std::move(s));
              return;
            }
            names += cat(names.empty() ? "" : ", ", s.name);
          }
          rp.deliver(make_troupe_error(errc::not_found, cat("no actor '", which, "' on this node (actors: ", names, ")")));
        });
        return rp;
      },
      [self](status_atom) -> caf::result<cluster_report> {
        if (auto err = refuse(self, "server.info")) return err;
        auto& o = *self->state.opts;
        if (!o.cluster) return make_troupe_error(errc::invalid_argument, "this node does not run distributed");
        auto rp = self->make_response_promise<cluster_report>();
        self->request(o.cluster, o.ask_timeout, inspect_atom::value)
            .then(
                [self, rp](actor_summary& s) mutable {
                  auto& o = *self->state.opts;
                  auto snap = o.cluster_dir->get();
                  cluster_report r;
                  r.local_name = snap.local_name;
                  r.local_node_id = snap.local_node_id;
                  r.state = std::move(snap.state);
                  r.partitions = std::move(snap.partitions);
                  r.cluster_actor = std::move(s);
                  for (auto& p : o.deploys->snapshot())
                    if (!p.outgoing) r.receiving.push_back(p.db);
                  rp.deliver(std::move(r));
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [self](deploys_atom) -> caf::result<deploy_progresses> {
        if (auto err = refuse(self, "server.info")) return err;
        return self->state.opts->deploys->snapshot();
      },
      [self](lsn_atom, const std::string& db) -> caf::result<replication_rows> {
        if (auto err = refuse(self, "server.info")) return err;
        auto rp = self->make_response_promise<replication_rows>();
        replication(self, db, rp);
        return rp;
      },
      [self](dbs_atom) -> caf::result<std::vector<std::string>> {
        // A database user sees its own database (so that `use` works for it).
        if (self->state.db_user) return std::vector<std::string>{self->state.bound_db};
        if (auto err = refuse(self, "server.listDatabases")) return err;
        return self->state.opts->dbs->names();
      },
      [self](create_atom, const std::string& name) -> caf::result<bool> {
        if (auto err = refuse(self, "database.create")) return err;
        auto rp = self->make_response_promise<bool>();
        auto& o = *self->state.opts;
        self->request(o.databases, o.ask_timeout, create_atom::value, name)
            .then([rp](bool b) mutable { rp.deliver(b); }, [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [self](info_atom, const std::string& db) -> caf::result<db_info> {
        auto e = find_db(self, db);
        if (!e) return e.error();
        if (auto err = refuse_action(self, *e->db, auth::db_action::read)) return err;
        db_info out;
        out.name = db;
        out.last_lsn = e->db->last_lsn();
        out.clusters = e->db->clusters();
        auto& o = *self->state.opts;
        for (auto& c : o.cluster_dir->get().state.configs)
          if (c.db == db) {
            out.config_json = c.json;
            out.config_version = c.version;
          }
        // Without a cluster there is nothing more to show ("Not distributed").
        if (o.cluster) out.members = members_of(o, db);
        for (auto& c : e->db->classes()) {
          class_row row{c.name, c.superclass, c.default_cluster, 0};
          for (auto& cl : out.clusters)
            if (cl.id == c.default_cluster) row.records = cl.records;
          out.classes.push_back(std::move(row));
        }
        return out;
      },
      [self](load_atom, const std::string& db, const storage::rid& id) -> caf::result<storage::record> {
        // Hostile input from a logged-in client: refused here, where it enters.
        if (!id.valid()) return make_troupe_error(errc::invalid_argument, cat("invalid RID ", id.to_string()));
        auto e = find_db(self, db);
        if (!e) return e.error();
        if (auto err = refuse_action(self, *e->db, auth::db_action::read)) return err;
        auto rec = e->db->find(id);
        if (!rec) return make_troupe_error(errc::not_found, cat("Record ", id.to_string(), " not found"));
        return *rec;
      },
      [self](write_atom, const std::string& db, storage::op& o) -> caf::result<storage::op_result> {
        auto e = find_db(self, db);
        if (!e) return e.error();
        if (auto err = refuse_action(self, *e->db, auth::op_action(*e->db, o))) return err;
        auto rp = self->make_response_promise<storage::op_result>();
        self->request(e->writer, self->state.opts->ask_timeout, write_atom::value, op_list{std::move(o)})
            .then(
                [rp](op_results& r) mutable {
                  if (r.size() != 1)
                    rp.deliver(make_troupe_error(errc::io_error, "unexpected number of results"));
                  else
                    rp.deliver(std::move(r.front()));
                },
                [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
        return rp;
      },
      [self](browse_atom, const std::string& db, const std::string& cluster,
             uint32_t limit) -> caf::result<records> {
        auto e = find_db(self, db);
        if (!e) return e.error();
        if (auto err = refuse_action(self, *e->db, auth::db_action::read)) return err;
        if (limit < 1 || limit > console::console_browse_records_max)
          return make_troupe_error(errc::invalid_argument, cat("the limit must be 1..", console::console_browse_records_max));
        auto c = e->db->cluster_by_name(cluster);
        if (!c) {
          if (auto id = parse_int(cluster, 0, 32767))
            for (auto& x : e->db->clusters())
              if (x.id == *id) c = x;
        }
        if (!c) return make_troupe_error(errc::not_found, cat("Cluster '", cluster, "' not found in ", db));
        records out;
        size_t bytes = 0;
        for (auto& r : e->db->browse_cluster(c->id, limit)) {
          bytes += r.fields.size();
          if (bytes > console_reply_bytes_max) break;
          out.push_back(std::move(r));
        }
        return out;
      },
      [self](leave_atom) -> caf::result<bool> {
        if (auto err = refuse(self, "")) return err;
        self->quit();
        return true;
      },
      [self](members_atom, const std::string& db) -> caf::result<console_peers> {
        // Open to every session: the console needs it to move elsewhere when
        // this node is gone. It tells names, addresses and statuses only.
        if (auto err = refuse(self, "")) return err;
        return members_of(*self->state.opts, db);
      },
      [self](sql_atom, const std::string& db, const std::string& text, uint32_t rows_max) -> caf::result<std::string> {
        // The permission of the other database commands (reads and writes alike): database.<db>.
        auto e = find_db(self, db);
        if (!e) return e.error();
        if (self->state.db_user && text.size() <= query::statement_length_max) {
          // The action the statement needs (a statement that does not parse
          // runs nowhere: its syntax error comes from run_sql).
          auto parsed = query::parse(text);
          if (auto* st = std::get_if<query::statement>(&parsed))
            if (auto err = refuse_action(self, *e->db, auth::statement_action(*e->db, *st))) return err;
        }
        return run_sql(self, *e, text, rows_max);
      },
      [self](backup_atom, const std::string& db, const std::string& file) -> caf::result<std::string> {
        return backup_db(self, db, file);
      },
      [self](restore_atom, const std::string& file, const std::string& name) -> caf::result<std::string> {
        return restore_db(self, file, name);
      },
      [self](export_atom, const std::string& db) -> caf::result<std::string> { return export_db(self, db); },
      [self](import_atom, const std::string& name, std::string& bytes) -> caf::result<std::string> {
        return import_db(self, name, bytes);
      },
      [self](drop_atom, const std::string& name) -> caf::result<bool> { return drop_db(self, name); },
  };
}

// --- admin ---------------------------------------------------------------------

struct pending_login {
  std::string user;
  caf::node_id client;
  steady_clock::time_point at;
  // The nonce came with a login_challenge (challenge_atom): the proof is keyed
  // with the PBKDF2 key. Otherwise (login_atom, the first protocol) with the
  // plaintext password.
  bool derived_key = false;
  std::string db;  // the database the login names ("" none): the login must name the same
  // A user of `db` (its OUser record as read at the challenge) and the key
  // its stored password gives; unset for a server user.
  std::optional<auth::db_user> db_user;
  std::optional<std::string> db_key;
};

struct admin_state {
  opts_ptr opts;
  std::optional<console_login_keys> keys;       // from opts->users
  std::map<std::string, pending_login> logins;  // by nonce
  std::map<caf::actor_addr, caf::actor> sessions;
  uint64_t refused = 0;
  // Wrong logins per console (by its CAF node: the actor does not see the
  // address; the port's guard bounds connections per address): after a few,
  // each answer is held back longer, and they are logged at most every 10 s.
  std::unique_ptr<http::login_guard> wrong_logins = std::make_unique<http::login_guard>();
};

using admin_ptr = admin_actor::stateful_pointer<admin_state>;

void drop_expired(admin_state& st, steady_clock::time_point now) {
  for (auto i = st.logins.begin(); i != st.logins.end();) {
    if (now - i->second.at > login_nonce_ttl)
      i = st.logins.erase(i);
    else
      ++i;
  }
}

// A fresh single-use nonce for `user`, bound to the asking node; the oldest
// pending one goes when pending_logins_max are kept.
caf::expected<std::string> issue_nonce(admin_ptr self, const std::string& user, bool derived_key,
                                       const std::string& db = {}) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!sender) return make_troupe_error(errc::invalid_argument, "anonymous login");
  auto now = steady_clock::now();
  drop_expired(st, now);
  while (st.logins.size() >= pending_logins_max) {
    auto oldest = std::min_element(st.logins.begin(), st.logins.end(),
                                   [](auto& a, auto& b) { return a.second.at < b.second.at; });
    st.logins.erase(oldest);
  }
  auto nonce = random_nonce();
  st.logins.emplace(nonce, pending_login{user, sender->node(), now, derived_key, db, std::nullopt, std::nullopt});
  return nonce;
}

// Step 2 of the login (actors/protocol.hpp, admin_actor): checks the proof
// against the pending challenge and opens a session. `with_db`: the login
// named database `db` (the proof covers it too).
caf::result<caf::strong_actor_ptr> login(admin_ptr self, const std::string& user, const std::string& db,
                                   const std::string& nonce, const std::string& proof, bool with_db) {
  auto& st = self->state;
  auto& o = *st.opts;
  auto sender = self->current_sender();
  if (!sender) return make_troupe_error(errc::invalid_argument, "anonymous login");
  auto client = sender->node();
  auto now = steady_clock::now();
  drop_expired(st, now);
  auto i = st.logins.find(nonce);
  bool known = i != st.logins.end() && i->second.user == user && i->second.client == client && i->second.db == db;
  bool derived_key = known && i->second.derived_key;
  std::optional<auth::db_user> db_user;
  std::optional<std::string> db_key;
  if (known) {
    db_user = std::move(i->second.db_user);
    db_key = std::move(i->second.db_key);
  }
  if (i != st.logins.end()) st.logins.erase(i);  // single use, whatever happens next
  if (!known)
    return make_troupe_error(errc::access_denied, "the login challenge is unknown or expired: connect again");
  const user_config* u = nullptr;
  // A database user stands in a user_config of its own: no server resources.
  user_config as_db_user{user, "", ""};
  if (db_user) {
    if (db_user->active) u = &as_db_user;  // a suspended user cannot log in
  } else {
    for (auto& x : o.users)
      if (x.name == user) u = &x;
  }
  // The key the console must have used; none for an unknown user, nor
  // for a hashed password under the first protocol (no plaintext here).
  std::optional<std::string> key;
  if (db_user) {
    key = db_key;
  } else if (u != nullptr && derived_key) {
    key = st.keys->key(user);
  } else if (u != nullptr) {
    auto stored = parse_stored_password(u->password);
    if (stored && !stored->hashed()) key = stored->plain;
  }
  std::vector<std::string> parts{"troupe-console", nonce, user, to_string(client), to_string(self->node())};
  if (with_db) parts.push_back(db);
  auto expected = hmac_proof(key ? *key : random_nonce(), parts);
  // Per address, as REST: one machine cannot spread its guesses over
  // many CAF node ids. A console that did not come through the port's
  // guard (this process, or CAF's loopback endpoint) counts by node id.
  std::string source = cat("console node ", to_string(client));
  if (o.consoles)
    if (auto addr = o.consoles->address_of(to_string(client))) source = cat("console at ", address_only(*addr));
  if (u == nullptr || !key || !constant_time_equal(expected, proof)) {
    ++st.refused;
    auto v = st.wrong_logins->failure(source, user, o.log);
    auto refusal = make_troupe_error(errc::access_denied, "wrong user name or password");
    if (v.delay.count() == 0) return refusal;
    // Held back without holding this actor: a short-lived timer actor answers.
    auto rp = self->make_response_promise<caf::strong_actor_ptr>();
    self->system().spawn([rp, refusal, delay = v.delay](caf::event_based_actor* timer) mutable -> caf::behavior {
      timer->delayed_send(timer, delay, caf::atom("answer"));
      return {[rp, refusal, timer](caf::atom_value) mutable {
        rp.deliver(refusal);
        timer->quit();
      }};
    });
    return rp;
  }
  st.wrong_logins->success(source);
  if (st.sessions.size() >= console_sessions_max)
    return make_troupe_error(errc::invalid_argument,
                             cat("too many console sessions (", console_sessions_max, "): close one first"));
  auto console = caf::actor_cast<caf::actor>(sender);
  bool bound = db_user.has_value();
  auto s = self->spawn(session_impl, st.opts, *u, client, caf::actor_cast<admin_actor>(self), console,
                       bound ? db : std::string(), std::move(db_user));
  self->monitor(s);
  st.sessions.emplace(s.address(), caf::actor_cast<caf::actor>(s));
  o.log->info(component, cat("console session opened for ", bound ? cat("database '", db, "' user '") : "user '",
                             user, "' from node ", to_string(client), " (", st.sessions.size(), " open)"));
  return caf::actor_cast<caf::strong_actor_ptr>(s);
}

admin_actor::behavior_type admin_impl(admin_ptr self, opts_ptr opts) {
  self->state.opts = std::move(opts);
  std::vector<std::pair<std::string, std::string>> users;
  for (auto& u : self->state.opts->users) users.emplace_back(u.name, u.password);
  self->state.keys.emplace(users);
  self->set_down_handler([self](caf::down_msg& dm) { self->state.sessions.erase(dm.source); });
  self->set_exit_handler([self](caf::exit_msg& m) {
    for (auto& [addr, s] : self->state.sessions) self->send_exit(s, m.reason);
    self->state.sessions.clear();
    self->quit(m.reason);
  });
  return {
      [self](login_atom, const std::string& user) -> caf::result<std::string> {
        auto nonce = issue_nonce(self, user, false);
        if (!nonce) return nonce.error();
        return std::move(*nonce);
      },
      [self](challenge_atom, const std::string& user) -> caf::result<login_challenge> {
        auto nonce = issue_nonce(self, user, true);
        if (!nonce) return nonce.error();
        auto c = self->state.keys->challenge(user);
        c.nonce = std::move(*nonce);
        return c;
      },
      [self](login_atom, const std::string& user, const std::string& nonce,
             const std::string& proof) -> caf::result<caf::strong_actor_ptr> {
        return login(self, user, std::string(), nonce, proof, false);
      },
      [self](login_atom, const std::string& db, const std::string& user, const std::string& nonce,
             const std::string& proof) -> caf::result<caf::strong_actor_ptr> {
        return login(self, user, db, nonce, proof, true);
      },
      [self](challenge_atom, const std::string& user, const std::string& db) -> caf::result<login_challenge> {
        auto nonce = issue_nonce(self, user, true, db);
        if (!nonce) return nonce.error();
        auto& st = self->state;
        // A server user of that name first, then the database's own user: the
        // order REST resolves Basic credentials in (actors/rest_api.cpp), so a
        // name means the same user on both. Either way the challenge has the
        // same form (console_login_keys).
        bool server_user = std::any_of(st.opts->users.begin(), st.opts->users.end(),
                                       [&](const user_config& u) { return u.name == user; });
        if (!db.empty() && !server_user)
          if (auto e = st.opts->dbs->find(db))
            if (auto u = auth::find_user(*e->db, user)) {
              console_login_keys keys({{u->name, u->password}});
              auto c = keys.challenge(user);
              auto& pending = st.logins.at(*nonce);
              pending.db_key = keys.key(user);  // nullopt when the stored value does not parse
              pending.db_user = std::move(*u);
              c.nonce = std::move(*nonce);
              return c;
            }
        auto c = st.keys->challenge(user);
        c.nonce = std::move(*nonce);
        return c;
      },
      [self](inspect_atom) -> caf::result<actor_summary> {
        // Its state is for this node's sessions (the console's "actors"), not
        // for whoever reaches the port before logging in.
        auto sender = self->current_sender();
        if (!sender || sender->node() != self->node())
          return make_troupe_error(errc::access_denied, "log in first");
        auto& st = self->state;
        return actor_summary{"admin", self->id(), self->mailbox().size(),
                             cat(st.sessions.size(), " console session(s), ", st.logins.size(), " pending login(s), ",
                                 st.refused, " refused"),
                             cat("{\"sessions\":", st.sessions.size(), ",\"pendingLogins\":", st.logins.size(),
                                 ",\"refusedLogins\":", st.refused, ",\"maxSessions\":", console_sessions_max, "}")};
      },
  };
}

}  // namespace

admin_actor spawn_admin_actor(caf::actor_system& sys, admin_options opts) {
  assert(opts.dbs && opts.cluster_dir && opts.deploys && opts.log);
  return sys.spawn(admin_impl, std::make_shared<const admin_options>(std::move(opts)));
}

}  // namespace troupe
