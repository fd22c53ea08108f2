#include "actors/database_actor.hpp"

#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>

#include "src/replication/anti_entropy.hpp"
#include "src/replication/intake.hpp"
#include "src/replication/member.hpp"
#include "src/util/strings.hpp"

namespace troupe {

namespace {

using namespace std::chrono;
using replication::role;

constexpr const char* component = "ODistributedDatabase";

int64_t now_ms() { return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count(); }

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

// Where a local write's answer goes: a response promise (console, tests) or
// the REST layer's callback (see write_callback in protocol.hpp).
struct write_answer {
  std::optional<caf::typed_response_promise<op_results>> promise;
  write_callback callback;
  explicit operator bool() const { return promise.has_value() || static_cast<bool>(callback); }
  void deliver(op_results r) {
    if (promise) {
      promise->deliver(std::move(r));
    } else if (callback) {
      callback(std::move(r));
    }
  }
  void deliver(const caf::error& e) {
    if (promise) {
      promise->deliver(e);
    } else if (callback) {
      callback(e);
    }
  }
};

// A client's write until it is answered: a local one (REST, console) or one
// another node forwarded to this owner (slot `slot` of `batch`).
struct client_write {
  op_list ops;
  int64_t deadline_ms = 0;
  write_answer local;
  std::shared_ptr<fwd_batch> batch;
  size_t slot = 0;
};

// A forwarded write the owner acknowledged, answered once this node holds it.
struct ryw_wait {
  write_answer promise;
  op_results results;
  int64_t since_ms = 0;
};

struct database_state {
  database_options opts;
  cluster_actor cluster;  // the local cluster actor (the sender of role messages)
  // This node's role (owner, replica, taking over) and every rule that
  // changes it: the plain-code core; this actor carries out its effects.
  std::optional<replication::member> m;
  const role* r() const { return m && m->current_role() ? &*m->current_role() : nullptr; }
  replication::owner* owner() { return m->owning(); }
  const replication::owner* owner() const { return m->owning(); }
  std::vector<client_write> queued;  // not ordered yet
  size_t queued_ops = 0;
  std::vector<client_write> forwarding;  // to send to the owner at the next flush
  bool flush_scheduled = false;
  std::map<uint64_t, client_write> waiting;  // ordered, waiting for the quorum, by seq
  std::map<uint64_t, ryw_wait> ryw;          // by seq
  bool commit_dirty = false;
  bool notify_scheduled = false;
  uint64_t acknowledged = 0, refused = 0, unknown = 0;
  bool catching_up = false;  // replica: receiving writes it missed (told to the cluster actor)
  std::optional<replication::anti_entropy> ae;  // anti-entropy and behind-the-log notices: the plain-code core
};

using self_ptr = database_actor::stateful_pointer<database_state>;

void set_catching_up(self_ptr self, bool on, const std::string& why);

// The 503 error: a sentence and the facts behind it, as JSON (see errc::unavailable).
caf::error unavailable(const database_state& st, const std::vector<std::string>& answered, bool applied_nowhere,
                       const std::string& content) {
  return make_troupe_error(errc::unavailable,
                           replication::unavailable_body(content, st.r() ? st.r()->write_quorum : 1, answered,
                                                         st.r() ? st.r()->servers : std::vector<std::string>{},
                                                         applied_nowhere ? "not applied" : "unknown"));
}

void log(const database_state& st, replication::note::level lvl, const std::string& text) {
  if (lvl == replication::note::level::info) st.opts.log->info(component, text);
  else if (lvl == replication::note::level::warn) st.opts.log->warn(component, text);
  else st.opts.log->error(component, text);
}

void fail(self_ptr self, client_write& w, const caf::error& e) {
  if (w.local) w.local.deliver(e);
  if (w.batch) {
    w.batch->replies[w.slot].error = error_text(self->system(), e);
    w.batch->one();
  }
}

// Refuses a write that was never ordered: it is visible nowhere, ever.
void refuse(self_ptr self, client_write& w, const std::string& why) {
  auto& st = self->state;
  ++st.refused;
  std::vector<std::string> answered = st.r() ? st.r()->online : std::vector<std::string>{};
  fail(self, w, unavailable(st, answered, true, why));
}

// Who holds `seq` as far as the owner knows (itself included).
std::vector<std::string> holders(const database_state& st, uint64_t seq) {
  std::vector<std::string> out{st.opts.node_name};
  if (st.owner())
    for (auto& [n, h] : st.owner()->held())
      if (h >= seq) out.push_back(n);
  return out;
}

void deliver(self_ptr self, std::vector<replication::outcome>& outs) {
  auto& st = self->state;
  for (auto& o : outs) {
    auto it = st.waiting.find(o.seq);
    if (o.committed) st.commit_dirty = true;
    if (it == st.waiting.end()) continue;  // adopted from an earlier owner: no client here
    auto& w = it->second;
    if (o.committed) {
      ++st.acknowledged;
      // A write is either this node's client's or a forwarded one: the results move to one of them.
      if (w.batch) {
        w.batch->replies[w.slot] = fwd_reply{o.seq, std::move(o.results), {}};
        w.batch->one();
      } else if (w.local) {
        w.local.deliver(std::move(o.results));
      }
    } else {
      ++st.unknown;
      fail(self, w, unavailable(st, holders(st, o.seq), false,
                          cat("Quorum ", st.owner() ? st.owner()->write_quorum() : 0, " not reached for the write: ",
                              o.why, "; it was discarded here, but a server that holds it may still apply it")));
    }
    st.waiting.erase(it);
  }
  if (st.commit_dirty && !st.notify_scheduled) {
    st.notify_scheduled = true;
    self->send(self, notify_atom::value);
  }
}

// An envelope from this node about this database; the callers fill in the rest.
repl_envelope envelope(const database_state& st, bool is_append) {
  repl_envelope e;
  e.db = st.opts.name;
  e.from = st.opts.node_name;
  e.is_append = is_append;
  return e;
}

repl_envelope append_envelope(const database_state& st, const replication::append_msg& m) {
  auto e = envelope(st, true);
  e.append = m;
  return e;
}

repl_envelope ack_envelope(const database_state& st, const replication::ack_msg& a) {
  auto e = envelope(st, false);
  e.ack = a;
  return e;
}

void send_append(self_ptr self, const std::string& to, const replication::append_msg& m) {
  auto& st = self->state;
  if (!st.cluster) return;
  self->send(st.cluster, relay_atom::value, to, append_envelope(st, m));
}

void broadcast(self_ptr self, const replication::append_msg& m) {
  auto& st = self->state;
  if (!st.r()) return;
  for (auto& n : st.r()->online)
    if (n != st.opts.node_name) send_append(self, n, m);
}

// Ordered writes whose owner is gone: their fate is decided by the next owner.
void abandon_waiting(self_ptr self, const std::string& why) {
  auto& st = self->state;
  for (auto& [seq, w] : st.waiting) {
    ++st.unknown;
    fail(self, w, unavailable(st, {st.opts.node_name}, false, why));
  }
  st.waiting.clear();
}

void forward(self_ptr self, client_write w);
void flush(self_ptr self);

// Queued writes go to the owner (or wait for a takeover to end).
void route_queued(self_ptr self) {
  auto& st = self->state;
  if (st.owner()) {
    if (!st.queued.empty() && !st.flush_scheduled) {
      st.flush_scheduled = true;
      self->send(self, flush_atom::value);
    }
    return;
  }
  if (st.m->orders_here()) return;  // an owner is coming
  auto q = std::move(st.queued);
  st.queued.clear();
  st.queued_ops = 0;
  for (auto& w : q) {
    if (w.batch)
      refuse(self, w, cat(st.opts.node_name, " is not the owner of ", st.opts.name, " any more"));
    else
      forward(self, std::move(w));
  }
}

void carry(self_ptr self, replication::effects& fx);
void carry_checks(self_ptr self, replication::check_effects& fx);

// The core's takeover requests, as requests to the cluster actor (which relays
// them to the node); the answers go back into the core.
void ask_tail(self_ptr self, const replication::tail_request& t) {
  auto& st = self->state;
  self->request(st.cluster, seconds(2), tail_atom::value, t.to, st.opts.name, t.epoch)
      .then(
          [self, t](replication::tail_msg& a) {
            replication::effects fx;
            self->state.m->on_tail_answer(t.round, t.to, a, now_ms(), fx);
            carry(self, fx);
          },
          [](caf::error&) {});  // the others may be enough; the core abandons a takeover that hangs
}

void ask_page(self_ptr self, const replication::fetch_request& f) {
  auto& st = self->state;
  self->request(st.cluster, seconds(5), fetch_atom::value, f.from, st.opts.name, f.after)
      .then(
          [self, f](replication::fetch_msg& page) {
            replication::effects fx;
            self->state.m->on_page(f.round, f.first, page, now_ms(), fx);
            carry(self, fx);
          },
          [self, f](caf::error& e) {
            replication::effects fx;
            self->state.m->on_fetch_failed(f.round, error_text(self->system(), e), now_ms(), fx);
            carry(self, fx);
          });
}

// Carries out what the core decided, in its order: notes, what happens to
// the writes waiting here, messages, then the writes that ended.
void carry(self_ptr self, replication::effects& fx) {
  auto& st = self->state;
  for (auto& n : fx.notes) log(st, n.lvl, cat("database ", st.opts.name, ": ", n.text));
  if (fx.stepped_down)
    abandon_waiting(self, cat("the owner ", st.opts.node_name, " stepped down (", *fx.stepped_down,
                              ") before the quorum answered"));
  if (fx.abandoned) {
    auto why = cat("no owner for ", st.opts.name, " now: ", *fx.abandoned);
    abandon_waiting(self, why);
    // Writes that waited for it were never ordered.
    auto q = std::move(st.queued);
    st.queued.clear();
    st.queued_ops = 0;
    for (auto& w : q) refuse(self, w, why);
  }
  if (fx.owns_now) set_catching_up(self, false, "this node is the owner now: it took over the most up-to-date tail");
  for (auto& [to, m] : fx.appends) send_append(self, to, m);
  for (auto& [to, a] : fx.acks)
    if (st.cluster) self->send(st.cluster, relay_atom::value, to, ack_envelope(st, a));
  for (auto& t : fx.tails) ask_tail(self, t);
  if (fx.fetch) ask_page(self, *fx.fetch);
  for (auto& [to, start] : fx.behind_log) {
    replication::check_effects cfx;
    st.ae->behind_log(replication::context_of(*st.m, *st.opts.db), to, start, now_ms(), cfx);
    carry_checks(self, cfx);
  }
  deliver(self, fx.ended);
  if (fx.owns_now || fx.stepped_down) route_queued(self);
}

void on_role(self_ptr self, role r) {
  replication::effects fx;
  self->state.m->on_role(r, now_ms(), fx);
  carry(self, fx);
  route_queued(self);
}

// A write for the owner: sent with every other one waiting, at the next flush.
void forward(self_ptr self, client_write w) {
  auto& st = self->state;
  st.forwarding.push_back(std::move(w));
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

// Sends every write waiting for the owner in one message.
void send_forwards(self_ptr self) {
  auto& st = self->state;
  if (st.forwarding.empty() || !st.r()) return;
  auto owner = st.r()->owner();
  auto timeout = st.opts.write_timeout + seconds(1);
  op_lists writes;
  std::vector<write_answer> promises;
  for (auto& w : st.forwarding) {
    writes.push_back(std::move(w.ops));
    promises.push_back(std::move(w.local));
  }
  st.forwarding.clear();
  self->request(st.cluster, timeout, fwd_atom::value, owner, st.opts.name, std::move(writes))
      .then(
          [self, promises](fwd_replies& reps) mutable {
            auto& st = self->state;
            for (size_t i = 0; i < promises.size(); ++i) {
              if (i >= reps.size()) {
                promises[i].deliver(unavailable(st, {}, false, "the owner's answer lacks this write"));
                continue;
              }
              auto& rep = reps[i];
              if (!rep.error.empty()) {
                promises[i].deliver(make_troupe_error(errc::unavailable, rep.error));
                continue;
              }
              ++st.acknowledged;
              if (st.opts.db->last_committed_seq() >= rep.seq)
                promises[i].deliver(std::move(rep.results));
              else
                st.ryw[rep.seq] = ryw_wait{promises[i], std::move(rep.results), now_ms()};
            }
          },
          [self, promises, owner](caf::error& e) mutable {
            auto& st = self->state;
            // Not reachable or not there: it never reached an owner that could order it.
            bool nowhere = troupe_code(e) == errc::not_member || troupe_code(e) == errc::database_not_found;
            auto err = nowhere ? unavailable(st, st.r() ? st.r()->online : std::vector<std::string>{}, true,
                                             cat("the owner ", owner, " cannot take the write: ",
                                                 error_text(self->system(), e)))
                               : unavailable(st, {}, false,
                                             cat("the owner ", owner, " did not confirm the write: ",
                                                 error_text(self->system(), e)));
            for (auto& p : promises) {
              ++(nowhere ? st.refused : st.unknown);
              p.deliver(err);
            }
          });
}

void enqueue(self_ptr self, client_write w) {
  auto& st = self->state;
  w.deadline_ms = now_ms() + st.opts.write_timeout.count();
  auto d = replication::route_write(*st.m, st.opts.name, st.opts.node_name, static_cast<bool>(w.batch),
                                    std::max(st.queued.size(), st.forwarding.size()), queued_writes_max);
  using k = replication::intake_decision::kind;
  if (d.what == k::refuse) return refuse(self, w, d.why);
  if (d.what == k::forward) return forward(self, std::move(w));
  if (st.owner() && st.queued_ops + w.ops.size() > write_ops_max) flush(self);
  st.queued_ops += w.ops.size();
  st.queued.push_back(std::move(w));
  route_queued(self);
}

// Orders every queued write as one batch: one staging, one append.
void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  send_forwards(self);
  if (!st.owner() || st.queued.empty()) return;
  auto q = std::move(st.queued);
  st.queued.clear();
  st.queued_ops = 0;
  std::vector<op_list> writes;
  writes.reserve(q.size());
  for (auto& w : q) writes.push_back(std::move(w.ops));
  auto b = st.owner()->submit_batch(std::move(writes), now_ms() + st.opts.write_timeout.count());
  if (!b) {
    for (auto& w : q) refuse(self, w, cat("cannot order the write: ", b.error().render()));
    return;
  }
  for (size_t i = 0; i < q.size(); ++i) st.waiting.emplace(b->first_seq + i, std::move(q[i]));
  broadcast(self, b->append);
  deliver(self, b->ended);
}

void answer_ryw(self_ptr self, bool all) {
  auto& st = self->state;
  auto committed = st.opts.db->last_committed_seq();
  auto old = now_ms() - read_your_writes_wait.count();
  for (auto it = st.ryw.begin(); it != st.ryw.end();) {
    if (all || it->first <= committed || it->second.since_ms <= old) {
      it->second.promise.deliver(std::move(it->second.results));
      it = st.ryw.erase(it);
    } else {
      ++it;
    }
  }
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
  for (auto& [to, c] : fx.sends) self->send(st.cluster, relay_atom::value, to, check_envelope(st, std::move(c)));
  if (fx.redeploy_from) self->send(st.cluster, redeploy_atom::value, st.opts.name, *fx.redeploy_from);
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
  if (!digests || !st.cluster) return;
  auto env = check_envelope(st, std::move(*digests));
  auto hb = st.owner()->heartbeat();
  for (auto& n : st.r()->online) {
    if (n == st.opts.node_name) continue;
    send_append(self, n, hb);
    self->send(st.cluster, relay_atom::value, n, env);
  }
}

// A replica that refused an append of the epoch it follows lacks entries (it
// was away, or a new owner's entries differ from its own): it is catching up,
// shown as SYNCHRONIZING, until it has committed everything the owner had
// committed when it last heard from it. It keeps receiving appends meanwhile
// (that is how it catches up), and counts in quorums only for what it acknowledges.
void set_catching_up(self_ptr self, bool on, const std::string& why) {
  auto& st = self->state;
  if (st.catching_up == on || !st.cluster) return;
  st.catching_up = on;
  st.opts.log->info(component, cat("database ", st.opts.name, on ? ": catching up (" : ": caught up (", why, ")"));
  self->send(st.cluster, catchup_atom::value, st.opts.name, on);
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
  if (!st.ryw.empty()) answer_ryw(self, false);
}

database_actor::behavior_type database_impl(self_ptr self, database_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
  replication::member_timing timing;
  timing.write_timeout_ms = st.opts.write_timeout.count();
  st.m.emplace(*st.opts.db, st.opts.node_name, timing);
  st.ae.emplace(*st.opts.db, st.opts.name);
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
    auto& st = self->state;
    for (auto& w : st.forwarding) refuse(self, w, "the node is stopping");
    st.forwarding.clear();
    flush(self);
    for (auto& w : st.queued) refuse(self, w, "the node is stopping");
    st.queued.clear();
    abandon_waiting(self, "the node stopped before the quorum answered");
    answer_ryw(self, true);
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
                st.waiting.size(), " write(s) waiting for the quorum"),
            cat("{\"database\":", json_quote(st.opts.name), ",\"role\":", json_quote(st.m->describe()),
                ",\"owner\":", json_quote(st.r() ? st.r()->owner() : ""), ",\"lastLsn\":", lsn, ",\"committedSeq\":", seq,
                ",\"stagedSeq\":", st.opts.db->last_staged_seq(), ",\"queuedWrites\":", st.queued.size(),
                ",\"waitingForQuorum\":", st.waiting.size(), ",\"acknowledged\":", st.acknowledged,
                ",\"refused\":", st.refused, ",\"unknown\":", st.unknown, ",\"repairedRecords\":", st.ae->repaired(),
                ",\"path\":", json_quote(st.opts.db->dir().string()), "}")};
      },
      [self](write_atom, op_list& ops) -> caf::result<op_results> {
        if (ops.empty()) return op_results{};
        if (ops.size() > write_ops_max)
          return make_troupe_error(errc::invalid_argument,
                                   cat("a write holds ", ops.size(), " operations, more than ", write_ops_max));
        auto rp = self->make_response_promise<op_results>();
        client_write w;
        w.ops = std::move(ops);
        w.local.promise = rp;
        enqueue(self, std::move(w));
        return rp;
      },
      [self](write_atom, op_list& ops, write_callback& cb) {
        if (ops.empty()) return cb(op_results{});
        if (ops.size() > write_ops_max)
          return cb(make_troupe_error(errc::invalid_argument,
                                      cat("a write holds ", ops.size(), " operations, more than ", write_ops_max)));
        client_write w;
        w.ops = std::move(ops);
        w.local.callback = std::move(cb);
        enqueue(self, std::move(w));
      },
      [self](fwd_atom, op_lists& writes) -> caf::result<fwd_replies> {
        if (writes.empty() || writes.size() > queued_writes_max)
          return make_troupe_error(errc::invalid_argument, cat("a forward holds ", writes.size(), " writes"));
        for (auto& ops : writes)
          if (ops.empty() || ops.size() > write_ops_max)
            return make_troupe_error(errc::invalid_argument, cat("a forwarded write holds ", ops.size(), " operations"));
        auto batch = std::make_shared<fwd_batch>();
        batch->promise = self->make_response_promise<fwd_replies>();
        batch->replies.resize(writes.size());
        batch->left = writes.size();
        auto rp = batch->promise;
        for (size_t i = 0; i < writes.size(); ++i) {
          client_write w;
          w.ops = std::move(writes[i]);
          w.batch = batch;
          w.slot = i;
          enqueue(self, std::move(w));
        }
        return rp;
      },
      [self](role_atom, replication::role& r) {
        auto& st = self->state;
        if (st.opts.standalone) return;
        st.cluster = caf::actor_cast<cluster_actor>(self->current_sender());
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
      [self](flush_atom) { flush(self); },
      [self](notify_atom) {
        auto& st = self->state;
        st.notify_scheduled = false;
        if (st.owner() && st.commit_dirty) {
          replication::effects fx;
          st.m->heartbeat(fx);
          carry(self, fx);
        }
        st.commit_dirty = false;
      },
      [self](tick_atom) {
        auto& st = self->state;
        auto now = now_ms();
        replication::effects fx;
        st.m->tick(now, true, fx);
        carry(self, fx);
        resync(self, now);
        // Writes that waited in vain for an owner were never ordered.
        if (!st.owner()) {
          for (auto it = st.queued.begin(); it != st.queued.end();) {
            if (it->deadline_ms > now) {
              ++it;
              continue;
            }
            refuse(self, *it, cat("no owner ordered the write in time (database ", st.opts.name, ")"));
            st.queued_ops -= it->ops.size();
            it = st.queued.erase(it);
          }
        }
        if (!st.ryw.empty()) answer_ryw(self, false);
        self->delayed_send(self, replication_tick, tick_atom::value);
      },
  };
}

}  // namespace

database_actor spawn_database_actor(caf::actor_system& sys, database_options opts) {
  return sys.spawn<caf::detached>(database_impl, std::move(opts));
}

}  // namespace troupe
