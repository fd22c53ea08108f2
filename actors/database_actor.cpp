#include "actors/database_actor.hpp"

#include <pthread.h>

#include <cassert>
#include <map>
#include <optional>

#include "src/util/clock.hpp"
#include "src/replication/anti_entropy.hpp"
#include "src/query/command.hpp"
#include "src/replication/intake.hpp"
#include "src/replication/member.hpp"
#include "src/util/strings.hpp"

namespace troupe {

namespace {

using namespace std::chrono;
using replication::role;

constexpr const char* component = "ODistributedDatabase";


// Writes another node forwarded in one message: answered together when the
// last of them ends.
struct fwd_batch {
  caf::typed_response_promise<fwd_replies> promise;
  fwd_replies replies;
  size_t left = 0;
  void one() {
    if (--left == 0) promise.deliver(std::move(replies));
  }
};

// Where a write's answer goes: a local client's response promise (console,
// tests) or the REST layer's callback (see write_callback in protocol.hpp), or
// slot `slot` of a batch another node forwarded to this owner.
struct answer_to {
  std::optional<caf::typed_response_promise<op_results>> promise;
  write_callback callback;
  std::shared_ptr<fwd_batch> batch;
  size_t slot = 0;
  template <class T>
  void deliver(T&& x) {
    if (promise) promise->deliver(std::forward<T>(x));
    else if (callback) callback(std::forward<T>(x));
  }
};

struct database_state {
  database_options opts;
  relay_actor relay;  // the local relay actor (the sender of role messages)
  // This node's role (owner, replica, taking over) and every rule that
  // changes it: the plain-code core; this actor carries out its effects.
  std::optional<replication::member> m;
  const role* r() const { return m && m->current_role() ? &*m->current_role() : nullptr; }
  replication::owner* owner() { return m->owning(); }
  // The write intake's bookkeeping (queued, forwarded, waiting for the quorum
  // or for read-your-writes, the counters): the plain-code core; here only
  // where each write's answer goes, by the core's ticket.
  std::optional<replication::intake> in;
  std::map<replication::ticket, answer_to> answers;
  bool catching_up = false;  // replica: receiving writes it missed (told to the cluster actor, through the relay)
  std::optional<replication::anti_entropy> ae;  // anti-entropy and behind-the-log notices: the plain-code core
};

using self_ptr = database_actor::stateful_pointer<database_state>;

void set_catching_up(self_ptr self, bool on, const std::string& why);
void carry(self_ptr self, replication::effects& fx);
void carry_checks(self_ptr self, replication::check_effects& fx);

void log(const database_state& st, replication::note::level lvl, const std::string& text) {
  if (lvl == replication::note::level::info) st.opts.log->info(component, text);
  else if (lvl == replication::note::level::warn) st.opts.log->warn(component, text);
  else st.opts.log->error(component, text);
}

// An envelope from this node about this database; the callers fill in the rest.
repl_envelope envelope(const database_state& st, bool is_append) {
  repl_envelope e;
  e.db = st.opts.name;
  e.from = st.opts.node_name;
  e.is_append = is_append;
  return e;
}

// `m` by value: the effects' appends are moved in (a batch's entries are the
// write path's largest copy).
void send_append(self_ptr self, const std::string& to, replication::append_msg m) {
  auto& st = self->state;
  if (!st.relay) return;
  auto e = envelope(st, true);
  e.append = std::move(m);
  self->send(st.relay, relay_atom::value, to, std::move(e));
}

// --- the write intake: its effects carried out ------------------------------
void carry_intake(self_ptr self, replication::intake_effects& fx);

// Gives the intake one input, `f(intake, effects)`, and carries out what it decided.
template <class F>
void to_intake(self_ptr self, F&& f) {
  replication::intake_effects fx;
  f(*self->state.in, fx);
  carry_intake(self, fx);
}

// A write's answer, to where it goes. An error is the 503 body (errc::unavailable).
void answer(self_ptr self, replication::write_reply& r) {
  auto& st = self->state;
  auto it = st.answers.find(r.t);
  assert(it != st.answers.end());
  if (it == st.answers.end()) return;
  auto a = std::move(it->second);
  st.answers.erase(it);
  if (a.batch) {
    a.batch->replies[a.slot] = fwd_reply{r.seq, std::move(r.results), std::move(r.error)};
    a.batch->one();
  } else if (r.error.empty()) {
    a.deliver(std::move(r.results));
  } else {
    a.deliver(make_troupe_error(errc::unavailable, std::move(r.error)));
  }
}

// Writes for the owner in one request, through the relay actor; the answers
// go back into the intake.
void send_forwards(self_ptr self, replication::forward_batch b) {
  auto& st = self->state;
  self->request(st.relay, st.opts.write_timeout + seconds(1), fwd_atom::value, b.owner, st.opts.name,
                std::move(b.writes))
      .then(
          [self, tickets = b.tickets](fwd_replies& reps) {
            std::vector<replication::forward_reply> rs;
            for (auto& r : reps) rs.push_back({r.seq, std::move(r.results), std::move(r.error)});
            to_intake(self, [&](auto& in, auto& fx) { in.on_forwarded(tickets, std::move(rs), steady_now_ms(), fx); });
          },
          [self, tickets = b.tickets, owner = b.owner](caf::error& e) {
            bool nowhere = troupe_code(e) == errc::not_member || troupe_code(e) == errc::database_not_found;
            auto text = error_text(self->system(), e);
            to_intake(self, [&](auto& in, auto& fx) { in.on_forward_failed(tickets, owner, nowhere, text, fx); });
          });
}

void carry_intake(self_ptr self, replication::intake_effects& fx) {
  if (fx.forward) send_forwards(self, std::move(*fx.forward));
  for (auto& [to, m] : fx.appends) send_append(self, to, std::move(m));
  for (auto& r : fx.replies) answer(self, r);
  if (fx.schedule_notice) self->send(self, notify_atom::value);
  if (fx.schedule_flush) self->send(self, flush_atom::value);
}

// A client write enters the intake; its answer goes to `to`.
void write(self_ptr self, op_list ops, answer_to to) {
  to_intake(self, [&](auto& in, auto& fx) {
    bool forwarded = static_cast<bool>(to.batch);
    self->state.answers.emplace(in.write(std::move(ops), forwarded, steady_now_ms(), fx), std::move(to));
  });
}

// --- the role core: its effects carried out ----------------------------------
// The core's takeover requests, as requests to the relay actor (which relays
// them to the node); the answers go back into the core.
void ask_tail(self_ptr self, const replication::tail_request& t) {
  auto& st = self->state;
  self->request(st.relay, seconds(2), tail_atom::value, t.to, st.opts.name, t.epoch)
      .then(
          [self, t](replication::tail_msg& a) {
            replication::effects fx;
            self->state.m->on_tail_answer(t.round, t.to, a, steady_now_ms(), fx);
            carry(self, fx);
          },
          [](caf::error&) {});  // the others may be enough; the core abandons a takeover that hangs
}

void ask_page(self_ptr self, const replication::fetch_request& f) {
  auto& st = self->state;
  self->request(st.relay, seconds(5), fetch_atom::value, f.from, st.opts.name, f.after)
      .then(
          [self, f](replication::fetch_msg& page) {
            replication::effects fx;
            self->state.m->on_page(f.round, f.first, page, steady_now_ms(), fx);
            carry(self, fx);
          },
          [self, f](caf::error& e) {
            replication::effects fx;
            self->state.m->on_fetch_failed(f.round, error_text(self->system(), e), steady_now_ms(), fx);
            carry(self, fx);
          });
}

// Carries out what the core decided, in its order: notes, what happens to
// the writes waiting here, messages, then the writes that ended.
void carry(self_ptr self, replication::effects& fx) {
  auto& st = self->state;
  for (auto& n : fx.notes) log(st, n.lvl, cat("database ", st.opts.name, ": ", n.text));
  to_intake(self, [&](auto& in, auto& ifx) { in.on_owner_lost(fx, ifx); });
  if (fx.owns_now) set_catching_up(self, false, "this node is the owner now: it took over the most up-to-date tail");
  for (auto& [to, m] : fx.appends) send_append(self, to, std::move(m));
  for (auto& [to, a] : fx.acks) {
    if (!st.relay) continue;
    auto e = envelope(st, false);
    e.ack = a;
    self->send(st.relay, relay_atom::value, to, std::move(e));
  }
  for (auto& t : fx.tails) ask_tail(self, t);
  if (fx.fetch) ask_page(self, *fx.fetch);
  for (auto& [to, start] : fx.behind_log) {
    replication::check_effects cfx;
    st.ae->behind_log(replication::context_of(*st.m, *st.opts.db), to, start, steady_now_ms(), cfx);
    carry_checks(self, cfx);
  }
  to_intake(self, [&](auto& in, auto& ifx) { in.on_writes_ended(fx, ifx); });
}

void on_role(self_ptr self, role r) {
  replication::effects fx;
  self->state.m->on_role(r, steady_now_ms(), fx);
  carry(self, fx);
  to_intake(self, [](auto& in, auto& ifx) { in.on_role(ifx); });
}

// --- anti-entropy and behind-the-log notices ----------------------------------
// The rules are replication::anti_entropy's; here its check messages become
// envelopes (kind, at_seq, ids, ...; a behind-log notice's epoch in append.epoch) and back.
constexpr bool same_kind(check_kind a, replication::check_kind b) {
  return static_cast<uint8_t>(a) == static_cast<uint8_t>(b);
}
static_assert(same_kind(check_kind::none, replication::check_kind::none) &&
              same_kind(check_kind::digests, replication::check_kind::digests) &&
              same_kind(check_kind::differing, replication::check_kind::differing) &&
              same_kind(check_kind::records, replication::check_kind::records) &&
              same_kind(check_kind::behind_log, replication::check_kind::behind_log));

repl_envelope check_envelope(const database_state& st, replication::check_msg c) {
  auto e = envelope(st, false);
  e.check = static_cast<check_kind>(c.kind);
  e.at_seq = c.at_seq;
  e.append.epoch = c.epoch;
  e.ids = std::move(c.ids);
  e.counts = std::move(c.counts);
  e.hashes = std::move(c.hashes);
  e.keys = std::move(c.keys);
  e.values = std::move(c.values);
  return e;
}

void carry_checks(self_ptr self, replication::check_effects& fx) {
  auto& st = self->state;
  for (auto& n : fx.notes) log(st, n.lvl, n.text);
  for (auto& [to, c] : fx.sends) self->send(st.relay, relay_atom::value, to, check_envelope(st, std::move(c)));
  if (fx.redeploy_from) self->send(st.relay, redeploy_atom::value, st.opts.name, *fx.redeploy_from);
}

void on_check(self_ptr self, repl_envelope& env) {
  auto& st = self->state;
  replication::check_msg c{static_cast<replication::check_kind>(env.check), env.at_seq, env.append.epoch,
                           std::move(env.ids), std::move(env.counts), std::move(env.hashes), std::move(env.keys),
                           std::move(env.values)};
  replication::check_effects fx;
  st.ae->on_check(replication::context_of(*st.m, *st.opts.db), env.from, std::move(c), fx);
  carry_checks(self, fx);
}

// The owner's anti-entropy round: a heartbeat carrying the commit point first
// (the replica commits up to it), then the digests at that point.
void resync(self_ptr self, int64_t now) {
  auto& st = self->state;
  auto digests = st.ae->tick(replication::context_of(*st.m, *st.opts.db), st.r() ? st.r()->resync_every_s : 0, now);
  if (!digests || !st.relay) return;
  auto env = check_envelope(st, std::move(*digests));
  auto hb = st.owner()->heartbeat();
  for (auto& n : st.r()->online) {
    if (n == st.opts.node_name) continue;
    send_append(self, n, hb);
    self->send(st.relay, relay_atom::value, n, env);
  }
}

// A replica that refused an append of the epoch it follows lacks entries (it
// was away, or a new owner's entries differ from its own): it is catching up,
// shown as SYNCHRONIZING, until it has committed everything the owner had
// committed when it last heard from it. It keeps receiving appends meanwhile
// (that is how it catches up), and counts in quorums only for what it acknowledges.
void set_catching_up(self_ptr self, bool on, const std::string& why) {
  auto& st = self->state;
  if (st.catching_up == on || !st.relay) return;
  st.catching_up = on;
  st.opts.log->info(component, cat("database ", st.opts.name, on ? ": catching up (" : ": caught up (", why, ")"));
  self->send(st.relay, catchup_atom::value, st.opts.name, on);
}

void track_catch_up(self_ptr self, const std::string& owner, const replication::append_msg& m,
                    const replication::ack_msg& ack) {
  auto& st = self->state;
  auto committed = st.opts.db->last_committed_seq();
  // The reasons are built only on a change: this runs on every append.
  if (!st.catching_up && !ack.ok && ack.epoch == m.epoch && m.commit_seq > committed)
    set_catching_up(self, true, cat("this node has committed seq ", committed, ", the owner ", owner, " seq ", m.commit_seq));
  else if (st.catching_up && ack.ok && committed >= m.commit_seq)
    set_catching_up(self, false, cat("at seq ", committed));
}

void on_envelope(self_ptr self, repl_envelope& env) {
  auto& st = self->state;
  if (env.check != check_kind::none) return on_check(self, env);
  replication::effects fx;
  if (!env.is_append) {
    st.m->on_ack(env.from, env.ack, fx);
    return carry(self, fx);
  }
  auto ack = st.m->on_append(env.from, env.append, fx);
  carry(self, fx);
  if (ack) track_catch_up(self, env.from, env.append, *ack);
  to_intake(self, [](auto& in, auto& ifx) { in.read_your_writes(steady_now_ms(), ifx); });
}

database_actor::behavior_type database_impl(self_ptr self, database_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  replication::member_timing timing;
  timing.write_timeout_ms = st.opts.write_timeout.count();
  st.m.emplace(*st.opts.db, st.opts.node_name, timing);
  st.ae.emplace(*st.opts.db, st.opts.name);
  st.in.emplace(*st.m, *st.opts.db, st.opts.name, st.opts.node_name, st.opts.write_timeout.count());
  // SQL write statements: planned here when this node owns the database,
  // against its committed state with nothing pending (the intake's rule).
  st.in->set_expander([db = st.opts.db, timeout = st.opts.command_timeout](const storage::op& statement,
                                                                           size_t ops_max) {
    auto p = query::plan_statement(*db, statement, ops_max, timeout);
    return replication::expansion{std::move(p.ops), std::move(p.answer), p.code, std::move(p.message)};
  });
  // Its own thread (detached): named after the database, for top -H and perf
  // (at most 15 characters).
  pthread_setname_np(pthread_self(), cat("db:", st.opts.name).substr(0, 15).c_str());
  if (st.opts.standalone) {
    role r;
    r.db = st.opts.name;
    r.servers = r.online = {st.opts.node_name};
    r.write_quorum = 1;
    on_role(self, std::move(r));
  }
  self->send(self, tick_atom::value);
  // Every request held is answered before the actor goes.
  self->set_exit_handler([self](caf::exit_msg& m) {
    to_intake(self, [](auto& in, auto& fx) { in.stop(steady_now_ms(), fx); });
    self->quit(m.reason);
  });
  return {
      [self](inspect_atom) -> actor_summary {
        auto& st = self->state;
        auto lsn = st.opts.db->last_lsn();
        auto seq = st.opts.db->last_committed_seq();
        return actor_summary{
            cat("db:", st.opts.name), self->id(), self->mailbox().size(),
            cat("writer of ", st.opts.name, ", ", st.m->describe(), ", last LSN ", lsn, ", committed seq ", seq, ", ",
                st.in->waiting(), " write(s) waiting for the quorum"),
            cat("{\"database\":", json_quote(st.opts.name), ",\"role\":", json_quote(st.m->describe()),
                ",\"owner\":", json_quote(st.r() ? st.r()->owner() : ""), ",\"lastLsn\":", lsn, ",\"committedSeq\":", seq,
                ",\"stagedSeq\":", st.opts.db->last_staged_seq(), ",\"queuedWrites\":", st.in->queued(),
                ",\"waitingForQuorum\":", st.in->waiting(), ",\"acknowledged\":", st.in->acknowledged(),
                ",\"refused\":", st.in->refused(), ",\"unknown\":", st.in->unknown(),
                ",\"repairedRecords\":", st.ae->repaired(), ",\"path\":", json_quote(st.opts.db->dir().string()), "}")};
      },
      [self](write_atom, op_list& ops) -> caf::result<op_results> {
        if (ops.empty()) return op_results{};
        if (auto bad = replication::oversized_write(ops.size())) return make_troupe_error(errc::invalid_argument, *bad);
        if (auto bad = replication::mixed_statement(ops)) return make_troupe_error(errc::invalid_argument, *bad);
        answer_to to;
        to.promise = self->make_response_promise<op_results>();
        auto rp = *to.promise;
        write(self, std::move(ops), std::move(to));
        return rp;
      },
      [self](write_atom, op_list& ops, write_callback& cb) {
        if (ops.empty()) return cb(op_results{});
        if (auto bad = replication::oversized_write(ops.size()))
          return cb(make_troupe_error(errc::invalid_argument, *bad));
        if (auto bad = replication::mixed_statement(ops)) return cb(make_troupe_error(errc::invalid_argument, *bad));
        answer_to to;
        to.callback = std::move(cb);
        write(self, std::move(ops), std::move(to));
      },
      [self](fwd_atom, op_lists& writes) -> caf::result<fwd_replies> {
        if (auto bad = replication::malformed_forward(writes)) return make_troupe_error(errc::invalid_argument, *bad);
        auto batch = std::make_shared<fwd_batch>();
        batch->promise = self->make_response_promise<fwd_replies>();
        batch->replies.resize(writes.size());
        batch->left = writes.size();
        auto rp = batch->promise;
        for (size_t i = 0; i < writes.size(); ++i) {
          answer_to to;
          to.batch = batch;
          to.slot = i;
          write(self, std::move(writes[i]), std::move(to));
        }
        return rp;
      },
      [self](role_atom, replication::role& r) {
        auto& st = self->state;
        if (st.opts.standalone) return;
        st.relay = caf::actor_cast<relay_actor>(self->current_sender());
        on_role(self, std::move(r));
      },
      [self](repl_atom, repl_envelope& env) { on_envelope(self, env); },
      [self](tail_atom, uint64_t epoch) -> replication::tail_msg {
        replication::effects fx;
        auto t = self->state.m->on_tail_request(epoch, fx);
        carry(self, fx);
        return t;
      },
      [self](fetch_atom, uint64_t after) -> replication::fetch_msg {
        return replication::fetch_after(*self->state.opts.db, after);
      },
      [self](adopt_atom, replication::fetch_msg& page) -> caf::result<bool> {
        // Deploy catch-up: only what the sender had committed, after what we hold.
        auto& st = self->state;
        if (st.owner() || st.m->taking_over()) return make_troupe_error(errc::invalid_argument, "the owner adopts nothing");
        auto have = st.opts.db->last_committed_seq();
        replication::fetch_msg mine;
        mine.commit_seq = page.commit_seq;
        for (auto& e : page.entries)
          if (e.seq > have && e.seq <= page.commit_seq) mine.entries.push_back(std::move(e));
        if (mine.entries.empty()) return true;
        if (auto s = replication::adopt_page(*st.opts.db, mine, false); !s)
          return make_troupe_error(errc::io_error, s.error().render());
        return true;
      },
      [self](flush_atom) { to_intake(self, [](auto& in, auto& fx) { in.flush(steady_now_ms(), fx); }); },
      [self](notify_atom) {
        if (!self->state.in->take_commit_notice()) return;
        replication::effects fx;
        self->state.m->heartbeat(fx);
        carry(self, fx);
      },
      [self](tick_atom) {
        auto& st = self->state;
        auto now = steady_now_ms();
        replication::effects fx;
        st.m->tick(now, true, fx);
        carry(self, fx);
        resync(self, now);
        to_intake(self, [now](auto& in, auto& ifx) { in.tick(now, ifx); });
        self->delayed_send(self, replication_tick, tick_atom::value);
      },
  };
}

}  // namespace

database_actor spawn_database_actor(caf::actor_system& sys, database_options opts) {
  return sys.spawn<caf::detached>(database_impl, std::move(opts));
}

}  // namespace troupe
