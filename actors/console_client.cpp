#include "actors/console_client.hpp"

#include <algorithm>
#include <atomic>
#include <optional>

#include <caf/io/all.hpp>

#include "actors/admin_actor.hpp"
#include "actors/protocol.hpp"
#include "src/console/failover.hpp"
#include "src/console/sql.hpp"
#include "src/util/strings.hpp"

namespace troupe {

namespace {

// The admin endpoint before challenge_atom: its login only.
using first_admin_actor = caf::typed_actor<caf::replies_to<login_atom, std::string>::with<std::string>>;

// Does a published interface offer every message of `wanted`? A node may
// offer more (handlers are only ever appended).
bool serves(const std::set<std::string>& published, const std::set<std::string>& wanted) {
  return std::includes(published.begin(), published.end(), wanted.begin(), wanted.end());
}

}  // namespace

struct console_client::impl {
  console_client_options opts;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  std::optional<caf::scoped_actor> self;
  session_actor session;
  std::string endpoint;
  // What a reconnect needs: the login as the user typed it.
  std::string user, password, login_db, db;
  std::string node;  // the member the session is on ("" unknown)
  std::vector<console_peer> peers;
  std::chrono::steady_clock::time_point peers_at;
  // Set by the watcher actor when the session's actor (its connection) is
  // gone: a command is then known not to have left this process.
  std::shared_ptr<std::atomic<bool>> gone;
  caf::actor watcher;
  std::function<void(const std::string&)> notice;

  explicit impl(console_client_options o) : opts(o) {
    add_message_types(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", size_t{1});
    // A hung node is noticed by the middleman's heartbeat (CAF-NOTES §3); the
    // interval is also the handshake timeout, hence not shorter than a second.
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
    cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(5)});
    sys.emplace(cfg);
    self.emplace(*sys);
  }

  ~impl() {
    leave();
    self.reset();
    sys.reset();
  }

  // Forgets the session without telling the node (it is gone, or leave() told it).
  void drop() {
    if (watcher) caf::anon_send_exit(watcher, caf::exit_reason::user_shutdown);
    watcher = nullptr;
    session = nullptr;
    endpoint.clear();
    node.clear();
  }

  void leave() {
    if (!session) return;
    // Best effort: the session also ends when this connection closes. Not
    // when it is known gone: nothing would answer.
    if (!(gone && gone->load()))
      (*self)->request(session, std::chrono::seconds(2), leave_atom::value).receive([](bool) {}, [](caf::error&) {});
    drop();
  }

  std::string describe(const caf::error& e, std::chrono::milliseconds timeout) const {
    if (e == caf::sec::request_timeout) return cat("the node did not answer within ", timeout.count(), " ms");
    if (e == caf::sec::request_receiver_down) return "the session ended (the node stopped or closed the connection)";
    return error_text(*sys, e);
  }

  // Watches the session: `gone` turns true when its actor goes down (CAF
  // kills a remote actor's proxy when the connection drops).
  void watch() {
    gone = std::make_shared<std::atomic<bool>>(false);
    auto flag = gone;
    auto target = caf::actor_cast<caf::actor>(session);
    watcher = sys->spawn([flag, target](caf::event_based_actor* w) -> caf::behavior {
      w->monitor(target);
      w->set_down_handler([flag, w](caf::down_msg&) {
        flag->store(true);
        w->quit();
      });
      return {[](caf::atom_value) {}};
    });
  }

  void refresh_members(bool force) {
    if (!session) return;
    auto now = std::chrono::steady_clock::now();
    if (!force && now - peers_at < std::chrono::seconds(1)) return;
    peers_at = now;
    (*self)
        ->request(session, opts.timeout, members_atom::value, db)
        .receive(
            [&](console_peers& ps) {
              peers = std::move(ps);
              for (auto& p : peers)
                if (p.here) node = p.name;
            },
            [](caf::error&) {});  // best effort: the last list stays
  }

  template <class T>
  struct outcome {
    console::attempt how = console::attempt::timed_out;
    std::optional<T> value;
    caf::error err;
  };

  static console::attempt classify(const caf::error& e) {
    if (e == caf::sec::request_timeout) return console::attempt::timed_out;
    // The session's actor was gone when the command reached it: not processed.
    if (e == caf::sec::request_receiver_down) return console::attempt::not_delivered;
    if (troupe_code(e) == errc::shutting_down) return console::attempt::refused;
    return console::attempt::answered;
  }

  // One attempt over the current session. A helper actor sends the request
  // and watches the session meanwhile: a pending request to a node that died
  // is failed by CAF only at its own timeout (CAF-NOTES §3), the down message
  // comes within milliseconds.
  template <class T, class... Ts>
  outcome<T> attempt_once(Ts... xs) {
    outcome<T> out;
    if (!session || (gone && gone->load())) {
      out.how = console::attempt::not_delivered;
      return out;
    }
    struct box {
      bool done = false;
      outcome<T> o;
      caf::typed_response_promise<bool> rp;
    };
    auto b = std::make_shared<box>();
    auto target = session;
    auto timeout = opts.timeout;
    auto asker = sys->spawn([b, target, timeout, xs...](caf::event_based_actor* a) -> caf::behavior {
      return {[=](caf::atom_value) -> caf::result<bool> {
        b->rp = a->make_response_promise<bool>();
        // Whichever comes first (the answer, an error, the session's down
        // message) decides; the rest is ignored.
        auto finish = [a, b](console::attempt how) {
          if (b->done) return;
          b->done = true;
          b->o.how = how;
          b->rp.deliver(true);
          a->quit();
        };
        a->monitor(target);
        a->set_down_handler([finish](caf::down_msg&) { finish(console::attempt::lost_in_flight); });
        a->request(target, timeout, xs...)
            .then(
                [b, finish](T& v) {
                  if (!b->done) b->o.value = std::move(v);
                  finish(console::attempt::answered);
                },
                [b, finish](caf::error& e) {
                  if (!b->done) b->o.err = e;
                  finish(classify(e));
                });
        return b->rp;
      }};
    });
    (*self)
        ->request(asker, timeout + std::chrono::seconds(2), caf::atom("go"))
        .receive([](bool) {}, [&](caf::error& e) { b->o.err = e; });
    caf::anon_send_exit(asker, caf::exit_reason::user_shutdown);
    if (!b->done) {
      b->o.how = console::attempt::timed_out;
      b->o.err = caf::sec::request_timeout;
    }
    return b->o;
  }

  // Moves to the next live member (src/console/failover.hpp); one notice line.
  status failover() {
    auto from_name = node.empty() ? endpoint : node;
    auto from_endpoint = endpoint;
    auto candidates = console::failover_candidates(peers, node, db);
    drop();
    std::string tried;
    for (auto& c : candidates) {
      auto st = login(c.host, c.port, login_db);
      if (st) {
        if (node.empty()) node = c.name;
        if (notice) notice(console::moved_line(from_name, from_endpoint, node, endpoint));
        return ok_status();
      }
      tried += cat(tried.empty() ? "" : "; ", c.name, " (", c.host, ":", c.port, "): ", st.error().what);
    }
    return error_info{"", "", cat("the connection to ", from_name, " (", from_endpoint, ") was lost and no other member ",
                                  "took over", tried.empty() ? " (none known with a console endpoint)" : cat(": ", tried))};
  }

  // A command with failover: `write` says whether it changes anything.
  template <class T, class... Ts>
  result<T> ask(bool write, Ts... xs) {
    if (!session) return error_info{"", "", "not connected: connect remote:<host>[:<port>] <user> <password> first"};
    auto first = attempt_once<T>(xs...);
    auto step = console::decide(first.how, write);
    if (step == console::next_step::done || step == console::next_step::report) {
      if (first.value) {
        refresh_members(false);
        return std::move(*first.value);
      }
      return error_info{"", "", describe(first.err, opts.timeout)};
    }
    auto from = node.empty() ? endpoint : node;
    if (auto moved = failover(); !moved) return moved.error();
    if (step == console::next_step::failover_unknown) return error_info{"", "", console::unknown_outcome_text(from, node)};
    auto second = attempt_once<T>(xs...);
    if (second.value) return std::move(*second.value);
    if (second.how == console::attempt::answered || second.how == console::attempt::timed_out)
      return error_info{"", "", describe(second.err, opts.timeout)};
    return error_info{"", "", cat("the connection to ", node, " was lost too: ", describe(second.err, opts.timeout))};
  }

  // ask() with the lifecycle commands' longer timeout.
  template <class T, class... Ts>
  result<T> ask_long(bool write, Ts... xs) {
    auto usual = opts.timeout;
    opts.timeout = std::max(opts.timeout, opts.lifecycle_timeout);
    auto r = ask<T>(write, std::move(xs)...);
    opts.timeout = usual;
    return r;
  }

  status login(const std::string& host, uint16_t port, const std::string& with_db);
};

console_client::console_client(console_client_options opts) : impl_(std::make_unique<impl>(opts)) {}

console_client::~console_client() = default;

bool console_client::connected() const { return static_cast<bool>(impl_->session); }

std::string console_client::endpoint() const { return impl_->endpoint; }

void console_client::disconnect() { impl_->leave(); }

status console_client::impl::login(const std::string& host, uint16_t port, const std::string& with_db) {
  auto& d = *this;
  auto where = cat(host, ":", port);
  std::optional<error_info> failure;
  caf::strong_actor_ptr endpoint_ptr;
  caf::node_id server;
  // Never the blocking remote_actor(): it may wait forever on a hung host (CAF-NOTES §7.3).
  auto mm = d.sys->middleman().actor_handle();
  (*d.self)
      ->request(mm, d.opts.connect_timeout, caf::connect_atom::value, host, port)
      .receive(
          [&](const caf::node_id& nid, caf::strong_actor_ptr& ptr, const std::set<std::string>& ifs) {
            if (!ptr) {
              failure = error_info{"", "", cat("nothing is published at ", where)};
            } else if (!serves(ifs, d.sys->message_types<admin_actor>())) {
              // A node of the first console protocol (no challenge_atom) cannot
              // check a hashed password: say so rather than "not a console port".
              if (serves(ifs, d.sys->message_types<first_admin_actor>()))
                failure = error_info{"", "", cat(where, " runs an older troupe whose console login this console "
                                                        "does not speak: use that version's console")};
              else
                failure = error_info{"", "", cat(where, " is not a troupe node's console port (use the port of the "
                                                        "binary listener, 2424 by default)")};
            } else {
              endpoint_ptr = std::move(ptr);
              server = nid;
            }
          },
          [&](caf::error& e) {
            std::string why;
            if (e == caf::sec::request_timeout || e == caf::sec::connection_timeout)
              why = cat("no answer within ", d.opts.connect_timeout.count(), " ms");
            else if (e == caf::sec::cannot_connect_to_node)
              why = "connection refused or host unreachable (is the node running? is this its binary port?)";
            else if (e == caf::sec::malformed_basp_message || e == caf::sec::unexpected_message)
              why = "something else listens there (not a troupe node's console port)";
            else
              why = d.sys->render(e);
            failure = error_info{"", "", cat("cannot reach a troupe node at ", where, ": ", why)};
          });
  if (failure) return *failure;
  auto admin = caf::actor_cast<admin_actor>(endpoint_ptr);
  login_challenge challenge;
  (*d.self)
      ->request(admin, d.opts.timeout, challenge_atom::value, user, with_db)
      .receive([&](login_challenge& c) { challenge = std::move(c); },
               [&](caf::error& e) { failure = error_info{"", "", d.describe(e, d.opts.timeout)}; });
  if (failure) return *failure;
  // PBKDF2 here, with the node's salt and count: the node may store only the
  // hash, and checks the proof against it.
  auto key = console_login_key(challenge, password);
  if (!key) return error_info{"", "", cat(where, ": ", key.error().what)};
  const auto& nonce = challenge.nonce;
  // The proof covers the database too: a session is bound to what it named.
  auto proof =
      hmac_proof(*key, {"troupe-console", nonce, user, to_string(d.sys->node()), to_string(server), with_db});
  caf::strong_actor_ptr session;
  (*d.self)
      ->request(admin, d.opts.timeout, login_atom::value, with_db, user, nonce, proof)
      .receive([&](caf::strong_actor_ptr& s) { session = std::move(s); },
               [&](caf::error& e) { failure = error_info{"", "", d.describe(e, d.opts.timeout)}; });
  if (failure) return *failure;
  if (!session) return error_info{"", "", "the node returned no session"};
  d.session = caf::actor_cast<session_actor>(session);
  d.endpoint = where;
  d.watch();
  d.refresh_members(true);
  return ok_status();
}

status console_client::connect(const std::string& host, uint16_t port, const std::string& user,
                               const std::string& password, const std::string& db) {
  auto& d = *impl_;
  d.leave();
  d.peers.clear();
  d.user = user;
  d.password = password;
  d.login_db = db;
  d.db = db;
  return d.login(host, port, db);
}

std::string console_client::node_name() const { return impl_->node; }

void console_client::use_database(const std::string& db) { impl_->db = db; }

void console_client::on_moved(std::function<void(const std::string&)> notice) { impl_->notice = std::move(notice); }

std::vector<console_peer> console_client::members() const { return impl_->peers; }


result<std::vector<actor_summary>> console_client::actors() { return impl_->ask<actor_summaries>(false, list_atom::value); }

result<actor_summary> console_client::inspect(const std::string& name_or_id) {
  return impl_->ask<actor_summary>(false, inspect_atom::value, name_or_id);
}

result<cluster_report> console_client::cluster() { return impl_->ask<cluster_report>(false, status_atom::value); }

result<std::vector<deploy::progress>> console_client::deploys() {
  return impl_->ask<deploy_progresses>(false, deploys_atom::value);
}

result<std::vector<replication_row>> console_client::replication(const std::string& db) {
  return impl_->ask<replication_rows>(false, lsn_atom::value, db);
}

result<std::vector<std::string>> console_client::databases() {
  return impl_->ask<std::vector<std::string>>(false, dbs_atom::value);
}

status console_client::create_database(const std::string& name) {
  auto r = impl_->ask<bool>(true, create_atom::value, name);
  if (!r) return r.error();
  return ok_status();
}

result<db_info> console_client::info(const std::string& db) { return impl_->ask<db_info>(false, info_atom::value, db); }

result<storage::record> console_client::load(const std::string& db, storage::rid id) {
  return impl_->ask<storage::record>(false, load_atom::value, db, id);
}

result<storage::op_result> console_client::write(const std::string& db, storage::op o) {
  return impl_->ask<storage::op_result>(true, write_atom::value, db, std::move(o));
}

result<std::vector<storage::record>> console_client::browse(const std::string& db, const std::string& cluster,
                                                            uint32_t limit) {
  return impl_->ask<records>(false, browse_atom::value, db, cluster, limit);
}

result<std::string> console_client::sql(const std::string& db, const std::string& text, uint32_t rows_max) {
  return impl_->ask<std::string>(console::sql_statement_kind(text) != console::sql_kind::read, sql_atom::value, db, text, rows_max);
}

result<std::string> console_client::backup(const std::string& db, const std::string& file) {
  return impl_->ask_long<std::string>(true, backup_atom::value, db, file);
}

result<std::string> console_client::restore(const std::string& file, const std::string& name) {
  return impl_->ask_long<std::string>(true, restore_atom::value, file, name);
}

result<std::string> console_client::export_database(const std::string& db) {
  return impl_->ask_long<std::string>(false, export_atom::value, db);
}

result<std::string> console_client::import_database(const std::string& name, std::string bytes) {
  return impl_->ask_long<std::string>(true, import_atom::value, name, std::move(bytes));
}

status console_client::drop_database(const std::string& name) {
  auto r = impl_->ask_long<bool>(true, drop_atom::value, name);
  if (!r) return r.error();
  return ok_status();
}

}  // namespace troupe
