#include "actors/cluster_actor.hpp"

#include <caf/io/all.hpp>

#include <set>
#include <utility>

#include "actors/joiner.hpp"
#include "actors/senders.hpp"
#include "src/util/clock.hpp"
#include "src/cluster/links.hpp"
#include "src/cluster/membership.hpp"
#include "src/util/fs.hpp"
#include "src/util/json_text.hpp"
#include "src/util/strings.hpp"


namespace troupe {

namespace {

constexpr const char* component = "OHazelcastPlugin";

struct cluster_state_t {
  cluster_options opts;
  logger* log = nullptr;
  bool initialised = false;
  bool leaving = false;
  // Members, leader, suspicion, configurations and their rules: the plain-code
  // core (src/cluster/membership.hpp); this actor carries out its effects.
  membership mem;
  links<cluster_actor> net;  // connections to the members (src/cluster/links.hpp decides)
  bool joining = false;  // a join of ours is under way: refuse to be joined meanwhile
  joiner_actor joiner;   // both sides of the handshake (actors/joiner.hpp)
  std::optional<std::pair<uint64_t, std::string>> joiner_told;  // the view version and leader it last heard
  std::set<std::string> to_store;  // configurations changed, for the placement actor's next snapshot
  refusal_log refusals;  // senders whose refused message was logged (bounded)
};

using self_ptr = cluster_actor::stateful_pointer<cluster_state_t>;

// Local commands come from an actor of this node; messages from the network
// are served only to members (by CAF node id), or to this node itself
// (actors/senders.hpp). Refusals are logged once per source.
bool from_self(self_ptr self) {
  if (sent_here(self)) return true;
  self->state.refusals.refused(self, self->state.log, component, "a local command");
  return false;
}

bool from_member(self_ptr self) {
  if (sent_here(self) || sending_member(self, self->state.mem.view) != nullptr) return true;
  self->state.refusals.refused(self, self->state.log, component, "a member's message");
  return false;
}

// From member `name` itself (a member speaks only about itself).
bool from_member_named(self_ptr self, const std::string& name) {
  if (!from_member(self)) return false;
  auto* m = sending_member(self, self->state.mem.view);
  return m != nullptr && m->name == name;
}

// The joiner probes while this node is alone or leads, and names the leader
// in its hellos: it hears of each change of the view or its leader.
void tell_joiner(self_ptr self) {
  auto& st = self->state;
  auto* l = st.mem.leader();
  auto told = std::make_pair(st.mem.view.version, l ? l->name : std::string());
  if (!st.joiner || st.joiner_told == told) return;
  st.joiner_told = told;
  self->send(st.joiner, view_atom::value, st.mem.view, st.mem.leads(), told.second);
}

// The placement actor (roles, partitions, the directory, configurations
// stored, deploys) and the relay actor (who is a member, and connected) follow
// every change of the view, a configuration, a
// suspicion or the connections; the joiner every change of view or leadership.
void repartition(self_ptr self) {
  auto& st = self->state;
  tell_joiner(self);
  if (!st.initialised) return;
  membership_snapshot s{st.mem.me, st.mem.view, st.mem.suspected, st.mem.configs, std::exchange(st.to_store, {}), {},
                        st.leaving};
  for (auto& [name, p] : st.net.peers()) s.connected.emplace(name, p.handle);
  self->send(st.opts.relay, view_atom::value, s);
  self->send(st.opts.placement, view_atom::value, std::move(s));
}

// Leader: sends the current state to every connected member but `except`.
void broadcast(self_ptr self, const std::string& except) {
  auto& st = self->state;
  auto s = st.mem.state();
  for (auto& [name, p] : st.net.peers())
    if (name != except) self->send(p.handle, view_atom::value, s);
}

void connect_to(self_ptr self, const member_info& m);

// Drops our connection to member `name` (its down message is ignored from now on).
void forget_peer(self_ptr self, const std::string& name) {
  auto& st = self->state;
  if (auto* p = st.net.find(name)) {
    self->demonitor(p->handle.address());
    st.net.forget(name);
    repartition(self);
  }
}

// The tombstones outlive a restart of the whole cluster (a node that was down
// during a drop may be the first to start again). A few bytes, written
// rarely (a drop): the fsync stays on this thread.
void store_dropped(self_ptr self) {
  auto& st = self->state;
  if (st.opts.dropped_file.empty()) return;
  auto text = tombstones_json(st.mem.dropped);
  if (auto w = write_file_atomic(st.opts.dropped_file, text); !w)
    st.log->error(component, cat("cannot store the dropped databases: ", w.error().render()));
}

// Carries out what the membership core decided.
void carry(self_ptr self, membership_effects& fx) {
  auto& st = self->state;
  // First, while their connections are still there.
  for (auto& n : fx.dissolve)
    if (auto* p = st.net.find(n)) self->send(p->handle, dissolve_atom::value);
  for (auto& n : fx.notes) {
    if (n.lvl == membership_note::level::info) st.log->info(component, n.text);
    else if (n.lvl == membership_note::level::warn) st.log->warn(component, n.text);
    else st.log->error(component, n.text);
  }
  for (auto& n : fx.dropped) {
    self->send(st.opts.placement, suspect_atom::value, n);  // abandons the deploys it was sending
    forget_peer(self, n);
  }
  // The guard's book (src/link/identity.hpp) learns every member's node id
  // and key: a link that announces one under another key is refused.
  if (fx.view_changed && st.opts.book) st.opts.book->admit(st.mem.member_keys());
  st.to_store.insert(fx.configs_changed.begin(), fx.configs_changed.end());
  for (auto& [leader, lost] : fx.reports)
    if (auto* p = st.net.find(leader)) self->send(p->handle, suspect_atom::value, lost);
  for (auto& a : fx.agrees)
    if (auto* p = st.net.find(a.leader))
      self->send(p->handle, agree_atom::value, a.db, a.version);
  if (fx.tell_leader_me)
    if (auto* l = st.mem.leader(); l != nullptr && l->name != st.mem.me.name)
      if (auto* p = st.net.find(l->name)) self->send(p->handle, update_atom::value, st.mem.me);
  for (auto& n : fx.catch_up)
    if (auto* p = st.net.find(n)) self->send(p->handle, view_atom::value, st.mem.state());
  for (auto& db : fx.drop_local) self->send(st.opts.placement, dbdrop_atom::value, db);
  if (fx.dropped_changed) store_dropped(self);
  if (fx.roles_changed || !fx.configs_changed.empty()) repartition(self);
  if (fx.broadcast) broadcast(self, fx.broadcast_except);
}

// Changes the membership through its core, then carries out what it decided.
template <class F>
void change(self_ptr self, F&& f) {
  membership_effects fx;
  f(self->state.mem, fx);
  carry(self, fx);
}

// Leader: decides a create or drop for `requester`; the refusal as an error.
caf::result<bool> decide(self_ptr self, bool create, const std::string& db, const std::string& requester) {
  auto& st = self->state;
  bool existed = st.mem.configs.count(db) > 0;
  std::optional<std::string> why;
  change(self, [&](auto& mem, auto& fx) {
    why = create ? mem.create_database(db, requester, st.opts.default_db, fx) : mem.drop_database(db, fx);
  });
  if (!why) return true;
  errc code = create ? (existed ? errc::database_exists : errc::invalid_argument)
                     : (existed ? errc::database_in_use : errc::database_not_found);
  return make_troupe_error(code, *why);
}

// A create or drop asked here: decided here if we lead, else by the leader.
caf::result<bool> ask_leader(self_ptr self, bool create, const std::string& db) {
  auto& st = self->state;
  if (st.mem.leads()) return decide(self, create, db, st.mem.me.name);
  auto* l = st.mem.leader();
  auto* p = l == nullptr ? nullptr : st.net.find(l->name);
  if (p == nullptr)
    return make_troupe_error(errc::no_leader, cat("the cluster's leader is unreachable: database '", db, "' is not ",
                                                  create ? "created" : "dropped"));
  auto rp = self->make_response_promise<bool>();
  auto done = [rp](bool b) mutable { rp.deliver(b); };
  auto failed = [rp, db, create](caf::error& e) mutable {
    if (e == caf::sec::request_timeout || e == caf::sec::request_receiver_down)
      e = make_troupe_error(errc::no_leader, cat("the cluster's leader did not answer: database '", db, "' may or may not be ",
                                                 create ? "created" : "dropped", "; list the databases to see"));
    rp.deliver(std::move(e));
  };
  if (create) self->request(p->handle, std::chrono::seconds(5), dbcreate_atom::value, db, st.mem.me.name).then(done, failed);
  else self->request(p->handle, std::chrono::seconds(5), dbdrop_atom::value, db, st.mem.me.name).then(done, failed);
  return rp;
}

// A member is lost (timeout, connection down, or another member says so).
void suspect(self_ptr self, const std::string& name) {
  change(self, [&](auto& mem, auto& fx) { mem.suspect(name, fx); });
}

// Non-leaders (and a joiner): adopt a state from the leader if it is newer.
void apply_state(self_ptr self, const cluster_state& s, bool authoritative = false) {
  auto& st = self->state;
  change(self, [&](auto& mem, auto& fx) {
    mem.adopt(s, authoritative, steady_now_ms(), fx);
    fx.roles_changed = true;
  });
  for (auto& m : st.net.missing(st.mem.view, st.mem.me.name)) connect_to(self, m);
}

// Leader: admits an authenticated joiner.
// `joiner`: the joiner's cluster actor when it asked us itself (its auth):
// we talk back over the connection it opened. A second connection between
// the same two nodes would race the first (CAF keeps one, and a message sent
// on the one it drops is lost), so only a join forwarded by another member
// connects to the joiner.
caf::result<cluster_state> admit(self_ptr self, member_info m, const db_config_msgs& cfgs,
                                 std::optional<cluster_actor> joiner = std::nullopt) {
  auto& st = self->state;
  auto copy = m;
  std::optional<std::string> refusal;
  change(self, [&](auto& mem, auto& fx) { refusal = mem.admit(std::move(m), cfgs, steady_now_ms(), fx); });
  if (refusal) return make_troupe_error(errc::join_refused, *refusal);
  if (!st.net.find(copy.name)) {
    if (joiner) {
      self->monitor(*joiner);
      st.net.accepted(copy.name, copy.node_id, *joiner);
      repartition(self);
    } else {
      connect_to(self, copy);
    }
  }
  return st.mem.state();
}

void suspect(self_ptr self, const std::string& name);

// An attempt failed (or reached another incarnation): a member we were
// connecting to again after a drop is suspected now.
void connect_failed(self_ptr self, const std::string& name) {
  if (self->state.net.failed(name)) suspect(self, name);
}

void connect_to(self_ptr self, const member_info& m) {
  auto& st = self->state;
  if (!st.net.start(m.name, st.mem.me.name)) return;
  // CAF connects to the guard's local port for host:port; the guard relays it
  // after the link handshake.
  auto local = st.opts.guard->forward(m.cluster_host, m.cluster_port);
  if (!local) {
    st.log->error(component, local.error().render());
    return connect_failed(self, m.name);
  }
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, std::chrono::seconds(2), caf::connect_atom::value, std::string("127.0.0.1"), *local)
      .then(
          [self, m](const caf::node_id& nid, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            auto& st = self->state;
            auto h = caf::actor_cast<cluster_actor>(ptr);
            if (!ptr || !st.net.reached(m.name, to_string(nid), h, st.mem.view))  // not who the view says
              return connect_failed(self, m.name);
            self->monitor(h);
            // A new connection may be the leader that has not heard our
            // databases yet, or the source a deploy waits for.
            if (st.mem.leader_behind_me(m.name)) self->send(h, update_atom::value, st.mem.me);
            repartition(self);
          },
          [self, m](caf::error&) { connect_failed(self, m.name); });
}

cluster_actor::behavior_type cluster_impl(self_ptr self, cluster_options opts, logger* log) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.log = log;

  // The joiner is linked to us so that it stops when we do; its own end must
  // not take us down. The placement and relay actors stop with us.
  self->set_exit_handler([self](caf::exit_msg& m) {
    auto& st = self->state;
    if (m.source == st.joiner.address()) return;
    self->send_exit(st.opts.placement, m.reason);
    self->send_exit(st.opts.relay, m.reason);
    self->quit(m.reason);
  });
  // The published endpoint: a message it does not know is refused like any
  // other stranger's, without printing what it carried (CAF's default would).
  self->set_default_handler([self](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
    self->state.refusals.refused(self, self->state.log, component, "a message of no known kind");
    return caf::sec::unexpected_message;
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (auto& [name, p] : st.net.peers()) {
      if (p.handle.address() != dm.source) continue;
      auto n = name;
      // Connect again at once rather than suspect (links::dropped says why).
      st.log->info(component, cat("lost the connection to node '", n, "', connecting again"));
      forget_peer(self, n);
      auto* m = st.mem.view.find(n);
      if (st.net.dropped(n, m != nullptr, st.leaving)) connect_to(self, member_info(*m));
      else suspect(self, n);
      return;
    }
  });

  return {
      [self](init_atom, uint16_t cluster_port, uint16_t http_port) -> caf::result<bool> {
        return self->delegate(caf::actor_cast<cluster_actor>(self), init_atom::value, cluster_port, http_port,
                              std::string(), uint16_t{0});
      },
      // The same, with where this node's console endpoint listens (0: none),
      // which its member_info carries so that consoles can fail over to it.
      [self](init_atom, uint16_t cluster_port, uint16_t http_port, std::string& console_host,
             uint16_t console_port) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_self(self)) return make_troupe_error(errc::not_member, "local command");
        if (st.initialised) return true;
        member_info me;
        me.name = st.opts.name;
        me.node_id = to_string(self->node());
        me.cluster_host = st.opts.addresses.cluster_host;
        me.cluster_port = st.opts.addresses.cluster_port != 0 ? st.opts.addresses.cluster_port : cluster_port;
        me.http_host = st.opts.addresses.http_host;
        me.http_port = http_port;
        me.console_host = console_port != 0 ? console_host : std::string();
        me.console_port = console_port;
        me.started_on_ms = st.opts.started_on_ms;
        me.databases = st.opts.databases;
        me.key = st.opts.key;
        st.mem.timeout_ms = st.opts.hazelcast.heartbeat_timeout.count();
        st.mem.tick_every_ms = st.opts.hazelcast.heartbeat_interval.count();
        st.initialised = true;
        self->send(st.opts.placement, init_atom::value, caf::actor_cast<cluster_actor>(self));
        self->send(st.opts.relay, init_atom::value, caf::actor_cast<cluster_actor>(self));
        change(self, [&](auto& mem, auto& fx) {
          mem.start(std::move(me), st.opts.initial_configs, fx, st.opts.initial_dropped);
          fx.roles_changed = false;  // repartitioned once, below
        });
        repartition(self);
        self->send(self, tick_atom::value);
        joiner_options jo{st.mem.me.name, st.opts.hazelcast, st.opts.addresses, st.opts.guard, st.opts.book,
                          caf::actor_cast<cluster_actor>(self)};
        st.joiner = spawn_joiner(self->system(), std::move(jo), st.log);
        self->link_to(st.joiner);
        tell_joiner(self);
        self->send(st.joiner, init_atom::value, cluster_port);
        return true;
      },
      // The handshake's acceptor side is the joiner's (actors/joiner.hpp).
      [self](hello_atom, std::string& group, std::string& name, std::string& nonce) -> caf::result<hello_reply> {
        auto& st = self->state;
        if (!st.initialised || st.leaving || st.joining)
          return make_troupe_error(errc::shutting_down, "not accepting members now");
        return self->delegate(st.joiner, hello_atom::value, std::move(group), std::move(name), std::move(nonce));
      },
      [self](auth_atom, std::string& name, std::string& proof, member_info& m,
             db_config_msgs& cfgs) -> caf::result<cluster_state> {
        auto& st = self->state;
        if (!st.initialised || st.leaving) return make_troupe_error(errc::shutting_down, "not accepting members now");
        return self->delegate(st.joiner, auth_atom::value, std::move(name), std::move(proof), std::move(m), std::move(cfgs));
      },
      // The joiner: admit a joiner it authenticated, whose cluster actor (the
      // auth's sender) becomes our peer; a member that does not lead asks the leader.
      [self](join_atom, member_info& m, db_config_msgs& cfgs, caf::strong_actor_ptr& via) -> caf::result<cluster_state> {
        auto& st = self->state;
        if (!from_self(self) || !via) return make_troupe_error(errc::not_member, "local command");
        if (st.mem.leads()) return admit(self, std::move(m), cfgs, caf::actor_cast<cluster_actor>(via));
        auto* p = st.net.find(st.mem.leader()->name);
        if (p == nullptr) return make_troupe_error(errc::join_refused, "the cluster's leader is unreachable");
        auto rp = self->make_response_promise<cluster_state>();
        self->request(p->handle, std::chrono::seconds(5), join_atom::value, std::move(m), std::move(cfgs))
            .then([rp](cluster_state& s) mutable { rp.deliver(std::move(s)); },
                  [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [self](join_atom, member_info& m, db_config_msgs& cfgs) -> caf::result<cluster_state> {
        if (!from_member(self)) return make_troupe_error(errc::not_member, "join forwarded by a non-member");
        if (!self->state.mem.leads()) return make_troupe_error(errc::join_refused, "not the leader");
        return admit(self, std::move(m), cfgs);
      },
      [self](view_atom, cluster_state& s) {
        if (!from_member(self)) return;
        if (self->state.mem.leads() && s.view.version <= self->state.mem.view.version) return;
        apply_state(self, s);
      },
      [self](beat_atom, const std::string& name, uint64_t version) {
        if (!from_member_named(self, name)) return;
        change(self, [&](auto& mem, auto& fx) { mem.heard(name, version, steady_now_ms(), fx); });
      },
      [self](leave_atom, const std::string& name) -> bool {
        if (!from_member_named(self, name)) return false;
        change(self, [&](auto& mem, auto& fx) { mem.leaves(name, fx); });
        return true;
      },
      [self](suspect_atom, const std::string& name) {
        if (!from_member(self)) return;
        change(self, [&](auto& mem, auto& fx) { mem.reported(name, steady_now_ms(), fx); });
      },
      [self](agree_atom, const std::string& db, int64_t version) {
        auto* m = sending_member(self, self->state.mem.view);  // a member, by the node id its link proved
        if (m == nullptr) return;
        auto name = m->name;
        change(self, [&](auto& mem, auto& fx) { mem.agreed(name, db, version, fx); });
      },
      [self](dissolve_atom) {
        auto* m = sending_member(self, self->state.mem.view);
        if (m == nullptr) return;
        auto name = m->name;
        change(self, [&](auto& mem, auto& fx) { mem.dissolved_by(name, fx); });
        if (self->state.mem.view.members.size() == 1) self->send(self->state.joiner, dissolve_atom::value);
      },
      [self](leave_atom) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_self(self)) return make_troupe_error(errc::not_member, "local command");
        st.leaving = true;
        self->send_exit(st.joiner, caf::exit_reason::user_shutdown);  // joins no more
        repartition(self);                                            // deploys no more
        if (st.net.peers().empty()) return true;
        auto rp = self->make_response_promise<bool>();
        auto remaining = std::make_shared<size_t>(st.net.peers().size());
        for (auto& [name, p] : st.net.peers()) {
          self->request(p.handle, std::chrono::seconds(1), leave_atom::value, st.mem.me.name)
              .then(
                  [rp, remaining](bool) mutable {
                    if (--*remaining == 0) rp.deliver(true);
                  },
                  [rp, remaining](caf::error&) mutable {
                    if (--*remaining == 0) rp.deliver(true);
                  });
        }
        return rp;
      },
      [self](deploy_atom, const std::string& db, const std::string& requester,
             caf::strong_actor_ptr& receiver_ptr) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_member(self)) return make_troupe_error(errc::not_member, "deploy request from a non-member");
        return self->delegate(st.opts.placement, deploy_atom::value, db, requester, std::move(receiver_ptr));
      },
      [self](relay_atom) -> caf::result<caf::strong_actor_ptr> {
        if (!from_member(self)) return make_troupe_error(errc::not_member, "not a member");
        return caf::actor_cast<caf::strong_actor_ptr>(self->state.opts.relay);
      },
      [self](catchup_atom, const std::string& db, bool on) {
        if (!from_self(self)) return;
        change(self, [&](auto& mem, auto& fx) { mem.set_catching_up(db, on, fx); });
      },
      [self](redeploy_atom, const std::string& db, const std::string& source) {
        if (!from_self(self)) return;
        self->send(self->state.opts.placement, redeploy_atom::value, db, source);
      },
      [self](update_atom, const member_info& m) {
        if (!from_member_named(self, m.name)) return;
        change(self, [&](auto& mem, auto& fx) { mem.update(m, fx); });
      },
      [self](add_db_atom, const std::string& db) {
        if (!from_self(self)) return;
        auto& defaults = self->state.opts.default_db;
        change(self, [&](auto& mem, auto& fx) { mem.add_database(db, defaults, fx); });
      },
      [self](dbcreate_atom, const std::string& db) -> caf::result<bool> {
        if (!from_self(self)) return make_troupe_error(errc::not_member, "local command");
        return ask_leader(self, true, db);
      },
      [self](dbcreate_atom, const std::string& db, const std::string& requester) -> caf::result<bool> {
        if (!from_member_named(self, requester)) return make_troupe_error(errc::not_member, "not a member");
        if (!self->state.mem.leads()) return make_troupe_error(errc::no_leader, "not the leader");
        return decide(self, true, db, requester);
      },
      [self](dbdrop_atom, const std::string& db) -> caf::result<bool> {
        if (!from_self(self)) return make_troupe_error(errc::not_member, "local command");
        return ask_leader(self, false, db);
      },
      [self](dbdrop_atom, const std::string& db, const std::string& requester) -> caf::result<bool> {
        if (!from_member_named(self, requester)) return make_troupe_error(errc::not_member, "not a member");
        if (!self->state.mem.leads()) return make_troupe_error(errc::no_leader, "not the leader");
        return decide(self, false, db, requester);
      },
      [self](db_status_atom, const std::string& db, const std::string& status) {
        if (!from_self(self)) return;
        auto to = status.empty() ? std::nullopt : std::optional<std::string>(status);  // "": none
        change(self, [&](auto& mem, auto& fx) { mem.set_db_status(db, to, fx); });
      },
      [self](status_atom) -> caf::result<cluster_state> {
        if (!from_self(self)) return make_troupe_error(errc::not_member, "local command");
        return self->state.mem.state();
      },
      [self](tick_atom) {
        auto& st = self->state;
        if (!from_self(self) || st.leaving) return;
        for (auto& [name, p] : st.net.peers()) self->send(p.handle, beat_atom::value, st.mem.me.name, st.mem.view.version);
        change(self, [&](auto& mem, auto& fx) { mem.tick(steady_now_ms(), fx); });
        tell_joiner(self);
        self->send(st.opts.placement, tick_atom::value);
        self->send(st.opts.relay, tick_atom::value);
        // (Re)connect to members we have no connection to yet; they are suspected
        // above like any other once the timeout has passed without a word.
        // A connection to an earlier incarnation of a member is dropped first.
        for (auto& n : st.net.stale(st.mem.view, st.mem.me.name)) forget_peer(self, n);
        for (auto& m : st.net.missing(st.mem.view, st.mem.me.name)) connect_to(self, m);
        self->delayed_send(self, st.opts.hazelcast.heartbeat_interval, tick_atom::value);
      },
      [self](inspect_atom) -> caf::result<actor_summary> {
        // The console's view of this actor (actors/admin_actor.hpp); members may
        // ask too, so that a console connected to one node sees every node's LSNs.
        if (!from_member(self)) return make_troupe_error(errc::not_member, "not a member");
        auto& st = self->state;
        std::string dbs;
        for (auto& name : st.opts.dbs ? st.opts.dbs->names() : std::vector<std::string>{})
          if (auto e = st.opts.dbs->find(name))
            dbs += cat(dbs.empty() ? "" : ",", json_quote(name), ":{\"lastLsn\":", e->db->last_lsn(),
                       ",\"committedSeq\":", e->db->last_committed_seq(), "}");
        std::vector<std::string> connected;
        for (auto& [name, p] : st.net.peers()) connected.push_back(name);
        auto [summary, detail] = st.mem.report(steady_now_ms(), connected, dbs);
        return actor_summary{"cluster", self->id(), self->mailbox().size(), std::move(summary), std::move(detail)};
      },
      // --- the joiner (actors/joiner.hpp) --------------------------------------
      [self](join_atom, const hello_reply& h, const std::string& proof,
             caf::strong_actor_ptr& ptr) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_self(self) || !ptr) return make_troupe_error(errc::not_member, "local command");
        if (st.leaving || st.joining || !st.mem.joins(h.members, h.leader_started_on_ms, h.leader_name)) return false;
        if (st.mem.view.members.size() > 1)  // two clusters that formed apart: ours merges into theirs
          change(self, [&](auto& mem, auto& fx) { mem.dissolve(fx); });
        // The auth goes from this actor, so that the acceptor talks back to it
        // over the connection the joiner opened (admit, on the other side).
        st.joining = true;
        auto other = caf::actor_cast<cluster_actor>(ptr);
        auto rp = self->make_response_promise<bool>();
        self->request(other, std::chrono::seconds(10), auth_atom::value, st.mem.me.name, proof, st.mem.me, st.mem.config_msgs())
            .then(
                [self, rp, other, name = h.name](cluster_state& s) mutable {
                  auto& st = self->state;
                  st.joining = false;
                  forget_peer(self, name);
                  self->monitor(other);
                  st.net.accepted(name, to_string(other.node()), other);
                  st.log->info(component, cat("joined the cluster through ", name, ", now ", s.view.members.size(), " nodes"));
                  apply_state(self, s, true);
                  rp.deliver(true);
                },
                [self, rp](caf::error& e) mutable {
                  self->state.joining = false;
                  rp.deliver(std::move(e));
                });
        return rp;
      },
  };
}

}  // namespace

cluster_actor spawn_cluster_actor(caf::actor_system& sys, cluster_options opts, logger* log) {
  return sys.spawn(cluster_impl, std::move(opts), log);
}

}  // namespace troupe
