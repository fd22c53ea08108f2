#include "actors/database_actor.hpp"

#include <pthread.h>

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>

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

struct takeover_t {
  uint64_t epoch = 0;
  uint64_t round = 0;
  std::map<std::string, replication::tail_msg> answers;  // itself included
  std::string source;                                     // the most up-to-date node, while fetching
  int64_t started_ms = 0;
};

struct database_state {
  database_options opts;
  cluster_actor cluster;  // the local cluster actor (the sender of role messages)
  std::optional<role> r;
  uint64_t promised = 0;  // the highest epoch this node promised or used
  std::optional<replication::owner> owner;
  std::vector<std::string> owner_servers;  // what the owner was built for
  uint32_t owner_quorum = 0;
  std::optional<replication::replica> replica;
  std::optional<takeover_t> takeover;
  uint64_t rounds = 0;
  int64_t next_takeover_ms = 0;
  // This node owned the database until a change of servers or quorum: every
  // acknowledged write went through it, so it takes over from its own tail.
  bool continuing = false;
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
  std::map<std::string, int64_t> behind_logged;  // replicas behind the log: when we last logged it
  std::map<std::string, int64_t> behind_told;    // ... and when we last told them to take a full copy
  int64_t next_resync_ms = 0;                    // anti-entropy: the owner's next digest round
  uint64_t repaired = 0;                         // anti-entropy: records repaired here
};

using self_ptr = database_actor::stateful_pointer<database_state>;

void set_catching_up(self_ptr self, bool on, const std::string& why);

// The 503 error: a sentence and the facts behind it, as JSON (see errc::unavailable).
caf::error unavailable(const database_state& st, const std::vector<std::string>& answered, bool applied_nowhere,
                       const std::string& content) {
  return make_troupe_error(errc::unavailable,
                           replication::unavailable_body(content, st.r ? st.r->write_quorum : 1, answered,
                                                         st.r ? st.r->servers : std::vector<std::string>{},
                                                         applied_nowhere ? "not applied" : "unknown"));
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
  std::vector<std::string> answered = st.r ? st.r->online : std::vector<std::string>{};
  fail(self, w, unavailable(st, answered, true, why));
}

// Who holds `seq` as far as the owner knows (itself included).
std::vector<std::string> holders(const database_state& st, uint64_t seq) {
  std::vector<std::string> out{st.opts.node_name};
  if (st.owner)
    for (auto& [n, h] : st.owner->held())
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
                          cat("Quorum ", st.owner ? st.owner->write_quorum() : 0, " not reached for the write: ",
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
  if (!st.r) return;
  for (auto& n : st.r->online)
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

void become_replica(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (st.owner || st.takeover) {
    st.opts.log->warn(component, cat("database ", st.opts.name, ": no longer the owner (", why, ")"));
    st.owner.reset();
  }
  abandon_waiting(self, cat("the owner ", st.opts.node_name, " stepped down (", why, ") before the quorum answered"));
  st.takeover.reset();
  st.continuing = false;
  if (!st.replica) st.replica.emplace(*st.opts.db, st.promised);
}

void forward(self_ptr self, client_write w);
void flush(self_ptr self);

// Queued writes go to the owner (or wait for a takeover to end).
void route_queued(self_ptr self) {
  auto& st = self->state;
  if (st.owner) {
    if (!st.queued.empty() && !st.flush_scheduled) {
      st.flush_scheduled = true;
      self->send(self, flush_atom::value);
    }
    return;
  }
  if (st.takeover || !st.r || st.r->owner() == st.opts.node_name) return;  // an owner is coming
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

void finish_takeover(self_ptr self) {
  auto& st = self->state;
  auto& t = *st.takeover;
  std::vector<std::string> replicas;
  for (auto& s : st.r->servers)
    if (s != st.opts.node_name) replicas.push_back(s);
  st.owner.emplace(*st.opts.db, t.epoch, replicas, st.r->write_quorum, replication::owner::adopting{},
                   now_ms() + st.opts.write_timeout.count());
  if (!st.owner->ok()) {
    st.opts.log->error(component, cat("database ", st.opts.name, ": cannot take over: the disk failed"));
    st.owner.reset();
    st.takeover.reset();
    st.next_takeover_ms = now_ms() + 1000;
    return;
  }
  st.owner_servers = st.r->servers;
  st.owner_quorum = st.r->write_quorum;
  st.continuing = false;
  st.replica.reset();
  set_catching_up(self, false, "this node is the owner now: it took over the most up-to-date tail");
  std::string from;
  for (auto& [n, a] : t.answers) from += cat(from.empty() ? "" : ", ", n, " (seq ", a.last_seq, ")");
  st.opts.log->info(component, cat("database ", st.opts.name, ": this node orders the writes now (epoch ", t.epoch,
                                   ", write quorum ", st.r->write_quorum, ", ", st.owner->last_seq() - st.owner->commit_seq(),
                                   " undecided write(s) adopted; tails from ", from, ")"));
  st.takeover.reset();
  auto settled = st.owner->settle();
  deliver(self, settled);
  broadcast(self, st.owner->heartbeat());
  route_queued(self);
}

void abandon_takeover(self_ptr self, const std::string& why) {
  auto& st = self->state;
  if (!st.takeover) return;
  st.opts.log->warn(component, cat("database ", st.opts.name, ": takeover abandoned: ", why));
  st.takeover.reset();
  st.next_takeover_ms = now_ms() + 500;
  abandon_waiting(self, cat("no owner for ", st.opts.name, " now: ", why));
  // Writes that waited for it were never ordered.
  auto q = std::move(st.queued);
  st.queued.clear();
  st.queued_ops = 0;
  for (auto& w : q) refuse(self, w, cat("no owner for ", st.opts.name, " now: ", why));
}

void fetch_page(self_ptr self, uint64_t after, bool first) {
  auto& st = self->state;
  auto round = st.takeover->round;
  self->request(st.cluster, seconds(5), fetch_atom::value, st.takeover->source, st.opts.name, after)
      .then(
          [self, round, first](replication::fetch_msg& page) {
            auto& st = self->state;
            if (!st.takeover || st.takeover->round != round) return;
            if (auto s = replication::adopt_page(*st.opts.db, page, first); !s)
              return abandon_takeover(self, cat("cannot adopt entries: ", s.error().render()));
            if (page.more && !page.entries.empty()) return fetch_page(self, page.entries.back().seq, false);
            finish_takeover(self);
          },
          [self, round](caf::error& e) {
            auto& st = self->state;
            if (!st.takeover || st.takeover->round != round) return;
            abandon_takeover(self, cat("fetching from ", st.takeover->source, " failed: ",
                                       error_text(self->system(), e)));
          });
}

// Answers a takeover needs so that one of them holds every acknowledged write:
// any writeQuorum servers hold each one, so servers - writeQuorum + 1 of them
// include at least one holder.
size_t takeover_need(const database_state& st) {
  auto& r = *st.r;
  if (st.continuing) return 1;
  return r.servers.size() - std::min<size_t>(r.write_quorum, r.servers.size()) + 1;
}

void check_takeover(self_ptr self) {
  auto& st = self->state;
  auto& t = *st.takeover;
  if (!t.source.empty() || t.answers.size() < takeover_need(st)) return;
  // The most up-to-date tail: the latest epoch, then the highest seq; never
  // one that ends before a commit point another answer reports (a safeguard:
  // the protocol should never produce such a tail).
  uint64_t committed = 0;
  for (auto& [n, a] : t.answers) committed = std::max(committed, a.commit_seq);
  std::string best;
  for (auto& [n, a] : t.answers) {
    if (a.last_seq < committed) continue;
    auto& b = t.answers[best.empty() ? n : best];
    if (best.empty() || std::tie(a.last_epoch, a.last_seq) > std::tie(b.last_epoch, b.last_seq)) best = n;
  }
  auto& mine = t.answers[st.opts.node_name];
  auto& theirs = t.answers[best];
  if (best == st.opts.node_name ||
      std::tie(theirs.last_epoch, theirs.last_seq) == std::tie(mine.last_epoch, mine.last_seq))
    return finish_takeover(self);
  t.source = best;
  fetch_page(self, st.opts.db->last_committed_seq(), true);
}

void start_takeover(self_ptr self) {
  auto& st = self->state;
  auto& r = *st.r;
  if (r.online.size() < takeover_need(st)) {
    st.next_takeover_ms = now_ms() + 500;
    return;  // not enough servers to be sure of every acknowledged write; writes are refused meanwhile
  }
  if (st.replica) st.promised = std::max(st.promised, st.replica->epoch());
  // Above every epoch we know of; a server that knows a newer one refuses,
  // and the next attempt starts above that.
  st.promised = std::max({st.promised, replication::tail_of(*st.opts.db, 0).last_epoch, st.opts.db->promised_epoch()});
  takeover_t t;
  t.epoch = replication::next_epoch(st.promised, r.index_of(st.opts.node_name));
  t.round = ++st.rounds;
  t.started_ms = now_ms();
  st.promised = t.epoch;
  (void)st.opts.db->promise_epoch(t.epoch);  // kept across a restart (a failure only weakens the fence)
  auto own = replication::tail_of(*st.opts.db, t.epoch);
  own.ok = true;
  t.answers[st.opts.node_name] = own;
  st.takeover = std::move(t);
  st.replica.reset();
  auto round = st.takeover->round;
  auto epoch = st.takeover->epoch;
  for (auto& n : r.online) {
    if (n == st.opts.node_name) continue;
    self->request(st.cluster, seconds(2), tail_atom::value, n, st.opts.name, epoch)
        .then(
            [self, round, n](replication::tail_msg& a) {
              auto& st = self->state;
              if (!st.takeover || st.takeover->round != round || !st.takeover->source.empty()) return;
              if (!a.ok) {
                st.promised = std::max(st.promised, a.epoch);
                return abandon_takeover(self, cat(n, " follows a newer epoch (", a.epoch, ")"));
              }
              st.takeover->answers[n] = a;
              check_takeover(self);
            },
            [](caf::error&) {});  // the others may be enough; the tick abandons a takeover that hangs
  }
  check_takeover(self);
}

void on_role(self_ptr self, role r) {
  auto& st = self->state;
  st.r = std::move(r);
  bool mine = st.r->owner() == st.opts.node_name;
  if (!mine) {
    if (st.owner || st.takeover) become_replica(self, cat(st.r->owner().empty() ? "no server online" : st.r->owner() + " is the owner now"));
    if (!st.replica) st.replica.emplace(*st.opts.db, st.promised);
    route_queued(self);
    return;
  }
  if (st.owner && (st.owner_servers != st.r->servers || st.owner_quorum != st.r->write_quorum)) {
    // Servers or quorum changed: the owner's bookkeeping is per replica set,
    // so take over again (a new epoch; the undecided writes are adopted).
    // The writes waiting for their quorum keep their seqs: the takeover adopts
    // them, and they are answered when the new quorum holds them.
    st.owner.reset();
    st.continuing = true;
  }
  if (st.owner) {
    broadcast(self, st.owner->heartbeat());  // servers that came online catch up now
    route_queued(self);
    return;
  }
  if (!st.takeover) start_takeover(self);
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
  if (st.forwarding.empty() || !st.r) return;
  auto owner = st.r->owner();
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
            auto err = nowhere ? unavailable(st, st.r ? st.r->online : std::vector<std::string>{}, true,
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
  if (st.r && st.r->online.size() < st.r->write_quorum)
    return refuse(self, w,
                  cat("Quorum ", st.r->write_quorum, " not reached for database ", st.opts.name, ": ",
                      st.r->online.size(), " of its ", st.r->servers.size(), " servers are online"));
  if (st.queued.size() >= max_queued_writes || st.forwarding.size() >= max_queued_writes)
    return refuse(self, w, cat("too many writes waiting for database ", st.opts.name));
  bool here = st.owner || st.takeover || !st.r || st.r->owner() == st.opts.node_name;
  if (!here) {
    if (w.batch) return refuse(self, w, cat(st.opts.node_name, " is not the owner of ", st.opts.name));
    return forward(self, std::move(w));
  }
  if (st.owner && st.queued_ops + w.ops.size() > max_batch_ops) flush(self);
  st.queued_ops += w.ops.size();
  st.queued.push_back(std::move(w));
  route_queued(self);
}

// Orders every queued write as one batch: one staging, one append.
void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  send_forwards(self);
  if (!st.owner || st.queued.empty()) return;
  auto q = std::move(st.queued);
  st.queued.clear();
  st.queued_ops = 0;
  std::vector<op_list> writes;
  writes.reserve(q.size());
  for (auto& w : q) writes.push_back(std::move(w.ops));
  auto b = st.owner->submit_batch(std::move(writes), now_ms() + st.opts.write_timeout.count());
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

// --- anti-entropy (resyncEvery) ---------------------------------------------
// The owner sends its per-cluster digests at its commit seq S right after a
// heartbeat carrying S, only when no write is pending (so S is where every
// replica that holds everything stops too). A replica at S compares and names
// the clusters that differ; the owner, still at S, sends each such cluster's
// records; the replica, still at S, makes its copy equal and logs what
// changed. Anything that moved meanwhile waits for the next round.
inline constexpr size_t repair_records_max = 100'000;  // a larger cluster is reported, not repaired in place

repl_envelope check_envelope(const database_state& st, uint8_t kind, uint64_t at) {
  auto e = envelope(st, false);
  e.check = kind;
  e.at_seq = at;
  return e;
}

std::string cluster_name(const database_state& st, int32_t id) {
  for (auto& c : st.opts.db->clusters())
    if (c.id == id) return c.name;
  return cat(id);
}

void resync(self_ptr self) {
  auto& st = self->state;
  if (!st.owner || st.owner->pending() > 0 || !st.cluster) return;
  auto at = st.owner->commit_seq();
  auto env = check_envelope(st, 1, at);
  for (auto& d : st.opts.db->digest()) {
    env.ids.push_back(d.id);
    env.counts.push_back(d.records);
    env.hashes.push_back(d.hash);
  }
  auto hb = st.owner->heartbeat();
  for (auto& n : st.r->online) {
    if (n == st.opts.node_name) continue;
    send_append(self, n, hb);  // carries the commit point first: the replica commits up to `at`
    self->send(st.cluster, relay_atom::value, n, env);
  }
}

void on_check(self_ptr self, repl_envelope& env) {
  auto& st = self->state;
  auto& db = *st.opts.db;
  // Digests and repairs are taken only from the owner this replica follows: a
  // repair overwrites records, and any member can address a replica.
  bool from_my_owner = st.r && st.r->owner() == env.from;
  if (env.check == 1) {  // the owner's digests
    if (st.owner || !from_my_owner || db.last_committed_seq() != env.at_seq || env.ids.size() != env.counts.size() ||
        env.ids.size() != env.hashes.size())
      return;
    std::map<int32_t, storage::database::cluster_digest> mine;
    for (auto& d : db.digest()) mine[d.id] = d;
    auto reply = check_envelope(st, 2, env.at_seq);
    std::string what;
    for (size_t i = 0; i < env.ids.size(); ++i) {
      auto m = mine.find(env.ids[i]);
      int64_t n = m == mine.end() ? 0 : m->second.records;
      uint64_t h = m == mine.end() ? 0 : m->second.hash;
      if (n == env.counts[i] && h == env.hashes[i]) continue;
      reply.ids.push_back(env.ids[i]);
      what += cat(what.empty() ? "" : ", ", cluster_name(st, env.ids[i]), " (", n, " records here, ", env.counts[i],
                  " on the owner)");
    }
    if (reply.ids.empty()) return;
    st.opts.log->warn(component, cat("anti-entropy: database ", st.opts.name, " differs from the owner ", env.from,
                                     " at seq ", env.at_seq, " in cluster(s) ", what, "; asking for a repair"));
    self->send(st.cluster, relay_atom::value, env.from, reply);
    return;
  }
  if (env.check == 2) {  // a replica names the clusters that differ
    if (!st.owner || st.owner->pending() > 0 || st.owner->commit_seq() != env.at_seq) return;
    for (auto id : env.ids) {
      auto rep = check_envelope(st, 3, env.at_seq);
      rep.ids = {id};
      db.cluster_raw(id, &rep.keys, &rep.values);
      if (rep.keys.size() > repair_records_max) {
        st.opts.log->error(component, cat("anti-entropy: cluster ", cluster_name(st, id), " of ", st.opts.name,
                                          " differs on ", env.from, " but is too large to repair in place"));
        continue;
      }
      self->send(st.cluster, relay_atom::value, env.from, std::move(rep));
    }
    return;
  }
  if (env.check == 4) {  // the owner: we are behind its replication log
    // Only the owner we follow, in the epoch we promised, may send us to a
    // full deploy: it holds every acknowledged write (it took over from a
    // quorum's tails), so its copy loses nothing ours has committed.
    if (st.owner || st.takeover || !st.replica || !st.r || st.r->owner() != env.from ||
        env.append.epoch != st.replica->epoch() || env.at_seq <= db.last_committed_seq() + 1)
      return;
    self->send(st.cluster, redeploy_atom::value, st.opts.name, env.from);
    return;
  }
  if (env.check == 3) {  // the owner's records of one cluster
    if (st.owner || !from_my_owner || db.last_committed_seq() != env.at_seq || env.ids.size() != 1) return;
    size_t changed = 0;
    if (auto s = db.repair_cluster(env.ids[0], env.keys, env.values, &changed); !s) {
      st.opts.log->error(component, cat("anti-entropy: cannot repair cluster ", cluster_name(st, env.ids[0]), " of ",
                                        st.opts.name, ": ", s.error().render()));
      return;
    }
    st.repaired += changed;
    st.opts.log->warn(component, cat("anti-entropy: repaired cluster ", cluster_name(st, env.ids[0]), " of database ",
                                     st.opts.name, " at seq ", env.at_seq, ": ", changed,
                                     " record(s) differed from the owner ", env.from, "'s"));
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
  if (env.check != 0) return on_check(self, env);
  if (env.is_append) {
    auto& m = env.append;
    if (st.owner) {
      if (m.epoch <= st.owner->epoch()) {
        // An old owner: tell it our epoch, so it steps down.
        replication::ack_msg no{st.owner->epoch(), false, st.opts.db->last_committed_seq()};
        self->send(st.cluster, relay_atom::value, env.from, ack_envelope(st, no));
        return;
      }
      become_replica(self, cat(env.from, " orders with a newer epoch"));
    }
    if (st.takeover) {
      if (m.epoch <= st.takeover->epoch) return;
      become_replica(self, cat(env.from, " took over first"));
    }
    if (!st.replica) st.replica.emplace(*st.opts.db, st.promised);
    auto ack = st.replica->on_append(m);
    st.promised = std::max(st.promised, st.replica->epoch());
    self->send(st.cluster, relay_atom::value, env.from, ack_envelope(st, ack));
    track_catch_up(self, env.from, m, ack);
    if (!st.ryw.empty()) answer_ryw(self, false);
    return;
  }
  if (!st.owner) return;
  if (env.ack.epoch > st.owner->epoch()) {
    st.promised = std::max(st.promised, env.ack.epoch);
    return become_replica(self, cat(env.from, " follows a newer epoch"));
  }
  std::optional<replication::append_msg> resend;
  auto outs = st.owner->on_ack(env.from, env.ack, &resend);
  if (resend) {
    // Behind even the replication log on disk: resending cannot help (the
    // replica refuses to commit over the hole). Tell it to take a full copy
    // from us (at most once a second; its cluster actor runs one transfer at a
    // time and backs off after a failure), and log it once a minute.
    if (!resend->entries.empty() && resend->entries.front().seq > env.ack.held_seq + 1 &&
        resend->prev_seq < env.ack.held_seq + 1 && resend->prev_seq == 0) {
      auto now = now_ms();
      auto& logged = st.behind_logged[env.from];
      if (now - logged > 60'000) {
        logged = now;
        st.opts.log->warn(component, cat("database ", st.opts.name, ": ", env.from, " is behind the replication log (it holds seq ",
                                          env.ack.held_seq, ", the log starts at ", resend->entries.front().seq,
                                          "): it needs a full deploy; asking it to take one from this node"));
      }
      auto& told = st.behind_told[env.from];
      if (now - told > 1'000) {
        told = now;
        auto e = check_envelope(st, 4, resend->entries.front().seq);
        e.append.epoch = st.owner->epoch();
        self->send(st.cluster, relay_atom::value, env.from, std::move(e));
      }
      return deliver(self, outs);  // resending what it refuses would only repeat the refusal
    }
    send_append(self, env.from, *resend);
  }
  deliver(self, outs);
}

std::string role_text(const database_state& st) {
  if (st.owner) return cat("owner, epoch ", st.owner->epoch());
  if (st.takeover) return cat("taking over, epoch ", st.takeover->epoch);
  if (st.replica) return cat("replica of ", st.r ? st.r->owner() : std::string("?"), ", epoch ", st.replica->epoch());
  return "waiting for its role";
}

database_actor::behavior_type database_impl(self_ptr self, database_options opts) {
  auto& st = self->state;
  st.opts = std::move(opts);
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
            cat("writer of ", st.opts.name, ", ", role_text(st), ", last LSN ", lsn, ", committed seq ", seq, ", ",
                st.waiting.size(), " write(s) waiting for the quorum"),
            cat("{\"database\":", json_quote(st.opts.name), ",\"role\":", json_quote(role_text(st)),
                ",\"owner\":", json_quote(st.r ? st.r->owner() : ""), ",\"lastLsn\":", lsn, ",\"committedSeq\":", seq,
                ",\"stagedSeq\":", st.opts.db->last_staged_seq(), ",\"queuedWrites\":", st.queued.size(),
                ",\"waitingForQuorum\":", st.waiting.size(), ",\"acknowledged\":", st.acknowledged,
                ",\"refused\":", st.refused, ",\"unknown\":", st.unknown, ",\"repairedRecords\":", st.repaired,
                ",\"path\":", json_quote(st.opts.db->dir().string()), "}")};
      },
      [self](write_atom, op_list& ops) -> caf::result<op_results> {
        if (ops.empty()) return op_results{};
        if (ops.size() > max_batch_ops)
          return make_troupe_error(errc::invalid_argument,
                                   cat("a write holds ", ops.size(), " operations, more than ", max_batch_ops));
        auto rp = self->make_response_promise<op_results>();
        client_write w;
        w.ops = std::move(ops);
        w.local.promise = rp;
        enqueue(self, std::move(w));
        return rp;
      },
      [self](write_atom, op_list& ops, write_callback& cb) {
        if (ops.empty()) return cb(op_results{});
        if (ops.size() > max_batch_ops)
          return cb(make_troupe_error(errc::invalid_argument,
                                      cat("a write holds ", ops.size(), " operations, more than ", max_batch_ops)));
        client_write w;
        w.ops = std::move(ops);
        w.local.callback = std::move(cb);
        enqueue(self, std::move(w));
      },
      [self](fwd_atom, op_lists& writes) -> caf::result<fwd_replies> {
        if (writes.empty() || writes.size() > max_queued_writes)
          return make_troupe_error(errc::invalid_argument, cat("a forward holds ", writes.size(), " writes"));
        for (auto& ops : writes)
          if (ops.empty() || ops.size() > max_batch_ops)
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
        auto& st = self->state;
        if (st.owner && epoch <= st.owner->epoch()) {
          auto t = replication::tail_of(*st.opts.db, st.owner->epoch());
          t.ok = false;
          return t;
        }
        if (st.takeover && epoch <= st.takeover->epoch) {
          auto t = replication::tail_of(*st.opts.db, st.takeover->epoch);
          t.ok = false;
          return t;
        }
        if (st.owner || st.takeover) become_replica(self, "another server takes over with a newer epoch");
        if (!st.replica) st.replica.emplace(*st.opts.db, st.promised);
        auto t = st.replica->promise(epoch);
        st.promised = std::max(st.promised, st.replica->epoch());
        return t;
      },
      [self](fetch_atom, uint64_t after) -> replication::fetch_msg {
        return replication::fetch_after(*self->state.opts.db, after);
      },
      [self](adopt_atom, replication::fetch_msg& page) -> caf::result<bool> {
        // Deploy catch-up: only what the sender had committed, after what we hold.
        auto& st = self->state;
        if (st.owner || st.takeover) return make_troupe_error(errc::invalid_argument, "the owner adopts nothing");
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
        if (st.owner && st.commit_dirty) broadcast(self, st.owner->heartbeat());
        st.commit_dirty = false;
      },
      [self](tick_atom) {
        auto& st = self->state;
        auto now = now_ms();
        if (st.owner) {
          auto outs = st.owner->expire(now);
          deliver(self, outs);
          broadcast(self, st.owner->heartbeat());
          if (st.r && st.r->resync_every_s > 0 && now >= st.next_resync_ms) {
            st.next_resync_ms = now + int64_t{1000} * st.r->resync_every_s;
            resync(self);
          }
        } else if (st.takeover) {
          if (now - st.takeover->started_ms > 3000) abandon_takeover(self, "the servers did not answer in time");
        } else if (st.r && st.r->owner() == st.opts.node_name && now >= st.next_takeover_ms) {
          start_takeover(self);
        }
        // Writes that waited in vain for an owner were never ordered.
        if (!st.owner) {
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
