#include "actors/relay_actor.hpp"

#include <set>
#include <utility>

#include "actors/senders.hpp"
#include "src/replication/read_quorum.hpp"
#include "src/replication/role.hpp"
#include "src/util/strings.hpp"

namespace troupe {

namespace {

constexpr const char* component = "OHazelcastPlugin";
constexpr std::chrono::milliseconds relay_timeout{30'000};

struct remote {
  cluster_actor via;  // the connection's cluster actor, to notice a new one
  relay_actor handle;  // null while asked
};

struct relay_state {
  relay_options opts;
  logger* log = nullptr;
  cluster_actor cluster;
  std::optional<membership_snapshot> now;
  std::map<std::string, remote> remotes;  // connected members' relays, by name
  refusal_log refusals;
};

using self_ptr = relay_actor::stateful_pointer<relay_state>;

bool from_self(self_ptr self) {
  if (sent_here(self)) return true;
  self->state.refusals.refused(self, self->state.log, component, "a local command");
  return false;
}

const member_info* from_member(self_ptr self) {
  auto* m = self->state.now ? sending_member(self, self->state.now->view) : nullptr;
  if (m == nullptr) self->state.refusals.refused(self, self->state.log, component, "a member's message");
  return m;
}

// Asks every connected member's cluster actor for its relay, once per
// connection; forgets those of members no longer connected.
void learn_remotes(self_ptr self) {
  auto& st = self->state;
  if (!st.now) return;
  std::erase_if(st.remotes, [&](auto& r) {
    auto c = st.now->connected.find(r.first);
    return c == st.now->connected.end() || c->second != r.second.via;
  });
  for (auto& [name, via] : st.now->connected) {
    if (st.remotes.count(name)) continue;
    st.remotes[name] = remote{via, {}};
    self->request(via, std::chrono::seconds(5), relay_atom::value)
        .then(
            [self, name = name, via = via](caf::strong_actor_ptr& p) {
              auto r = self->state.remotes.find(name);
              if (r != self->state.remotes.end() && r->second.via == via)
                r->second.handle = caf::actor_cast<relay_actor>(p);
            },
            [self, name = name, via = via](caf::error&) {  // asked again at the next snapshot or tick
              auto r = self->state.remotes.find(name);
              if (r != self->state.remotes.end() && r->second.via == via) self->state.remotes.erase(r);
            });
  }
}

std::optional<relay_actor> reachable(self_ptr self, const std::string& name) {
  auto r = self->state.remotes.find(name);
  if (r == self->state.remotes.end() || !r->second.handle) return std::nullopt;
  return r->second.handle;
}

// Asks `dest` on behalf of the current request and answers it with the reply.
template <class T, class Dest, class... Ts>
caf::result<T> ask_for(self_ptr self, const Dest& dest, Ts&&... xs) {
  auto rp = self->make_response_promise<T>();
  self->request(dest, relay_timeout, std::forward<Ts>(xs)...)
      .then([rp](T& x) mutable { rp.deliver(std::move(x)); }, [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

// A member's request to one of our databases: others get silence.
template <class T, class... Ts>
caf::result<T> to_database(self_ptr self, const std::string& db, Ts&&... xs) {
  if (from_member(self) == nullptr) return self->make_response_promise<T>();
  auto entry = self->state.opts.dbs->find(db);
  if (!entry) return make_troupe_error(errc::database_not_found, cat("database ", db, " is not here"));
  return ask_for<T>(self, entry->writer, std::forward<Ts>(xs)...);
}

// A request from one of our databases to member `to`.
template <class T, class... Ts>
caf::result<T> to_member(self_ptr self, const std::string& to, Ts&&... xs) {
  if (!from_self(self)) return make_troupe_error(errc::not_member, "local command");
  auto h = reachable(self, to);
  if (!h) return make_troupe_error(errc::not_member, cat("no connection to ", to));
  return ask_for<T>(self, *h, std::forward<Ts>(xs)...);
}

// One point read of this node's copy (the REST layer reads on its own threads the same way).
read_reply read_here(const std::string& me, const db_entry& entry, const storage::rid& id) {
  read_reply r{me, false, {}, entry.db->last_committed_seq()};
  if (auto rec = entry.db->find(id)) {
    r.found = true;
    r.rec = std::move(*rec);
  }
  return r;
}

// The newest of `quorum` servers' copies of a record.
caf::result<read_reply> quorum_read(self_ptr self, const std::string& db, const storage::rid& id, uint32_t quorum) {
  auto& st = self->state;
  auto entry = st.opts.dbs->find(db);
  if (!entry) return make_troupe_error(errc::database_not_found, cat("database ", db, " is not here"));
  auto& now = *st.now;
  auto cfg = now.configs.find(db);
  auto role = replication::role_of(db, cfg != now.configs.end() ? cfg->second : st.opts.default_db, now.view,
                                   now.suspected, now.me.name);
  std::set<std::string> connected;
  for (auto& [name, r] : st.remotes)
    if (r.handle) connected.insert(name);
  auto plan = replication::plan_read(db, quorum, role, now.me.name, connected);
  auto mine = read_here(now.me.name, *entry, id);
  using kind = replication::read_plan::kind;
  if (plan.what == kind::answer_here) return mine;
  if (plan.what == kind::refuse) return make_troupe_error(errc::unavailable, plan.refusal);
  struct gather {
    caf::typed_response_promise<read_reply> rp;
    read_reply best;
    replication::read_gather g;
    void settle(replication::read_gather::step s) {
      if (s == replication::read_gather::step::answer) rp.deliver(best);
      if (s == replication::read_gather::step::refuse) rp.deliver(make_troupe_error(errc::unavailable, g.refusal()));
    }
  };
  auto g = std::make_shared<gather>(gather{self->make_response_promise<read_reply>(), mine,
                                           {db, quorum, role.servers, now.me.name, mine.committed_seq, plan}});
  for (auto& n : plan.ask)
    self->request(st.remotes.at(n).handle, std::chrono::seconds(2), read_atom::value, db, id)
        .then(
            [g](read_reply& r) {
              bool newest = false;
              auto s = g->g.answered(r.node, r.committed_seq, &newest);
              if (newest) g->best = std::move(r);
              g->settle(s);
            },
            [g](caf::error&) { g->settle(g->g.failed()); });
  return g->rp;
}

relay_actor::behavior_type relay_impl(self_ptr self, relay_options opts, logger* log) {
  self->state.opts = std::move(opts);
  self->state.log = log;
  self->state.opts.directory->set_actor(self->address());
  return {
      [self](init_atom, cluster_actor& cluster) {
        if (from_self(self)) self->state.cluster = std::move(cluster);
      },
      [self](view_atom, membership_snapshot& s) {
        if (!from_self(self)) return;
        self->state.now = std::move(s);
        learn_remotes(self);
      },
      [self](tick_atom) {
        if (from_self(self)) learn_remotes(self);
      },
      // --- from a member's relay ------------------------------------------------
      [self](fetch_atom, const std::string& db, uint64_t after) {
        return to_database<replication::fetch_msg>(self, db, fetch_atom::value, after);
      },
      [self](tail_atom, const std::string& db, uint64_t epoch) {
        return to_database<replication::tail_msg>(self, db, tail_atom::value, epoch);
      },
      [self](fwd_atom, const std::string& db, op_lists& ops) {
        return to_database<fwd_replies>(self, db, fwd_atom::value, std::move(ops));
      },
      [self](repl_atom, repl_envelope& env) {
        auto* m = from_member(self);
        if (m == nullptr || m->name != env.from) return;  // only members, each about itself
        if (auto entry = self->state.opts.dbs->find(env.db)) self->send(entry->writer, repl_atom::value, std::move(env));
      },
      [self](read_atom, const std::string& db, const storage::rid& id) -> caf::result<read_reply> {
        if (from_member(self) == nullptr) return self->make_response_promise<read_reply>();
        auto entry = self->state.opts.dbs->find(db);
        if (!entry) return make_troupe_error(errc::database_not_found, cat("database ", db, " is not here"));
        return read_here(self->state.now->me.name, *entry, id);
      },
      // --- from this node -------------------------------------------------------
      [self](fetch_atom, const std::string& to, const std::string& db, uint64_t after) {
        return to_member<replication::fetch_msg>(self, to, fetch_atom::value, db, after);
      },
      [self](tail_atom, const std::string& to, const std::string& db, uint64_t epoch) {
        return to_member<replication::tail_msg>(self, to, tail_atom::value, db, epoch);
      },
      [self](fwd_atom, const std::string& to, const std::string& db, op_lists& ops) {
        return to_member<fwd_replies>(self, to, fwd_atom::value, db, std::move(ops));
      },
      [self](relay_atom, const std::string& to, repl_envelope& env) {
        if (!from_self(self)) return;
        if (auto h = reachable(self, to)) self->send(*h, repl_atom::value, std::move(env));
      },
      [self](read_atom, const std::string& db, const storage::rid& id, uint32_t quorum) -> caf::result<read_reply> {
        if (!from_self(self) || !self->state.now) return make_troupe_error(errc::not_member, "local command");
        return quorum_read(self, db, id, quorum);
      },
      [self](catchup_atom, const std::string& db, bool on) {
        if (from_self(self) && self->state.cluster) self->send(self->state.cluster, catchup_atom::value, db, on);
      },
      [self](redeploy_atom, const std::string& db, const std::string& source) {
        if (from_self(self) && self->state.cluster) self->send(self->state.cluster, redeploy_atom::value, db, source);
      },
      [self](inspect_atom) -> actor_summary {
        auto& st = self->state;
        std::vector<std::string> known, asking;
        for (auto& [name, r] : st.remotes) (r.handle ? known : asking).push_back(name);
        return actor_summary{"relay", self->id(), self->mailbox().size(),
                             cat(known.size(), " member relay(s) known, ", asking.size(), " asked"),
                             cat("{\"relays\":", json_list(known), ",\"asking\":", json_list(asking), "}")};
      },
  };
}

}  // namespace

relay_actor spawn_relay_actor(caf::actor_system& sys, relay_options opts, logger* log) {
  return sys.spawn(relay_impl, std::move(opts), log);
}

}  // namespace troupe
