#include "actors/console_client.hpp"

#include <algorithm>
#include <optional>

#include <caf/io/all.hpp>

#include "actors/admin_actor.hpp"
#include "actors/protocol.hpp"
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

  void leave() {
    if (!session) return;
    // Best effort: the session also ends when this connection closes.
    (*self)->request(session, std::chrono::seconds(2), leave_atom::value).receive([](bool) {}, [](caf::error&) {});
    session = nullptr;
    endpoint.clear();
  }

  std::string describe(const caf::error& e, std::chrono::milliseconds timeout) const {
    if (e == caf::sec::request_timeout) return cat("the node did not answer within ", timeout.count(), " ms");
    if (e == caf::sec::request_receiver_down) return "the session ended (the node stopped or closed the connection)";
    return error_text(*sys, e);
  }

  template <class T, class... Ts>
  result<T> ask(Ts... xs) {
    if (!session) return error_info{"", "", "not connected: connect remote:<host>[:<port>] <user> <password> first"};
    std::optional<result<T>> out;
    (*self)->request(session, opts.timeout, xs...)
        .receive([&](T& v) { out.emplace(std::move(v)); },
                 [&](caf::error& e) { out.emplace(error_info{"", "", describe(e, opts.timeout)}); });
    return std::move(*out);
  }
};

console_client::console_client(console_client_options opts) : impl_(std::make_unique<impl>(opts)) {}

console_client::~console_client() = default;

bool console_client::connected() const { return static_cast<bool>(impl_->session); }

std::string console_client::endpoint() const { return impl_->endpoint; }

void console_client::disconnect() { impl_->leave(); }

status console_client::connect(const std::string& host, uint16_t port, const std::string& user,
                               const std::string& password) {
  auto& d = *impl_;
  d.leave();
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
      ->request(admin, d.opts.timeout, challenge_atom::value, user)
      .receive([&](login_challenge& c) { challenge = std::move(c); },
               [&](caf::error& e) { failure = error_info{"", "", d.describe(e, d.opts.timeout)}; });
  if (failure) return *failure;
  // PBKDF2 here, with the node's salt and count: the node may store only the
  // hash, and checks the proof against it.
  auto key = console_login_key(challenge, password);
  if (!key) return error_info{"", "", cat(where, ": ", key.error().what)};
  const auto& nonce = challenge.nonce;
  auto proof = hmac_proof(*key, {"troupe-console", nonce, user, to_string(d.sys->node()), to_string(server)});
  caf::strong_actor_ptr session;
  (*d.self)
      ->request(admin, d.opts.timeout, login_atom::value, user, nonce, proof)
      .receive([&](caf::strong_actor_ptr& s) { session = std::move(s); },
               [&](caf::error& e) { failure = error_info{"", "", d.describe(e, d.opts.timeout)}; });
  if (failure) return *failure;
  if (!session) return error_info{"", "", "the node returned no session"};
  d.session = caf::actor_cast<session_actor>(session);
  d.endpoint = where;
  return ok_status();
}

result<std::vector<actor_summary>> console_client::actors() { return impl_->ask<actor_summaries>(list_atom::value); }

result<actor_summary> console_client::inspect(const std::string& name_or_id) {
  return impl_->ask<actor_summary>(inspect_atom::value, name_or_id);
}

result<cluster_report> console_client::cluster() { return impl_->ask<cluster_report>(status_atom::value); }

result<std::vector<deploy::progress>> console_client::deploys() {
  return impl_->ask<deploy_progresses>(deploys_atom::value);
}

result<std::vector<replication_row>> console_client::replication(const std::string& db) {
  return impl_->ask<replication_rows>(lsn_atom::value, db);
}

result<std::vector<std::string>> console_client::databases() {
  return impl_->ask<std::vector<std::string>>(dbs_atom::value);
}

status console_client::create_database(const std::string& name) {
  auto r = impl_->ask<bool>(create_atom::value, name);
  if (!r) return r.error();
  return ok_status();
}

result<db_info> console_client::info(const std::string& db) { return impl_->ask<db_info>(info_atom::value, db); }

result<storage::record> console_client::load(const std::string& db, storage::rid id) {
  return impl_->ask<storage::record>(load_atom::value, db, id);
}

result<storage::op_result> console_client::write(const std::string& db, storage::op o) {
  return impl_->ask<storage::op_result>(write_atom::value, db, std::move(o));
}

result<std::vector<storage::record>> console_client::browse(const std::string& db, const std::string& cluster,
                                                            uint32_t limit) {
  return impl_->ask<records>(browse_atom::value, db, cluster, limit);
}

result<std::string> console_client::sql(const std::string& db, const std::string& text, uint32_t rows_max) {
  return impl_->ask<std::string>(sql_atom::value, db, text, rows_max);
}

}  // namespace troupe
