#include "src/replication/intake.hpp"

#include <algorithm>
#include <cassert>

#include "src/util/strings.hpp"

namespace troupe::replication {

intake_decision route_write(const member& m, const std::string& db, const std::string& self, bool forwarded,
                            size_t waiting, size_t waiting_max) {
  using k = intake_decision::kind;
  if (auto& r = m.current_role(); r && r->online.size() < r->write_quorum)
    return {k::refuse, cat("Quorum ", r->write_quorum, " not reached for database ", db, ": ", r->online.size(),
                           " of its ", r->servers.size(), " servers are online")};
  if (waiting >= waiting_max) return {k::refuse, cat("too many writes waiting for database ", db)};
  if (m.orders_here()) return {k::order_here, ""};
  if (forwarded) return {k::refuse, cat(self, " is not the owner of ", db)};
  return {k::forward, ""};
}

std::optional<std::string> oversized_write(size_t ops) {
  if (ops > write_ops_max) return cat("a write holds ", ops, " operations, more than ", write_ops_max);
  return std::nullopt;
}

std::optional<std::string> malformed_forward(const std::vector<std::vector<storage::op>>& writes) {
  if (writes.empty() || writes.size() > queued_writes_max) return cat("a forward holds ", writes.size(), " writes");
  for (auto& ops : writes)
    if (ops.empty() || ops.size() > write_ops_max) return cat("a forwarded write holds ", ops.size(), " operations");
  for (auto& ops : writes)
    if (auto bad = mixed_statement(ops)) return bad;
  return std::nullopt;
}

bool is_statement_write(const std::vector<storage::op>& ops) {
  return ops.size() == 1 && ops[0].k == storage::op::kind::statement;
}

std::optional<std::string> mixed_statement(const std::vector<storage::op>& ops) {
  if (ops.size() < 2) return std::nullopt;
  for (auto& o : ops)
    if (o.k == storage::op::kind::statement) return "a SQL statement must be a write of its own";
  return std::nullopt;
}

intake::intake(member& m, const storage::database& db, std::string db_name, std::string self,
               int64_t write_timeout_ms)
    : m_(m), db_(db), db_name_(std::move(db_name)), self_(std::move(self)), write_timeout_ms_(write_timeout_ms) {}

void intake::reply_error(ticket t, const std::vector<std::string>& answered, bool applied_nowhere,
                         const std::string& content, intake_effects& fx) const {
  auto& r = m_.current_role();
  fx.replies.push_back({t, 0, {},
                        unavailable_body(content, r ? r->write_quorum : 1, answered,
                                         r ? r->servers : std::vector<std::string>{},
                                         applied_nowhere ? "not applied" : "unknown")});
}

// A write that was never ordered: it is visible nowhere, ever.
void intake::refuse(ticket t, const std::string& why, intake_effects& fx) {
  ++refused_;
  auto& r = m_.current_role();
  reply_error(t, r ? r->online : std::vector<std::string>{}, true, why, fx);
}

// Who holds `seq` as far as the owner knows (itself included).
std::vector<std::string> intake::holders(uint64_t seq) const {
  std::vector<std::string> out{self_};
  if (auto* o = m_.owning())
    for (auto& [n, h] : o->held())
      if (h >= seq) out.push_back(n);
  return out;
}

ticket intake::write(std::vector<storage::op> ops, bool forwarded, int64_t now_ms, intake_effects& fx) {
  assert(!ops.empty() && ops.size() <= write_ops_max);
  queued_write w{++tickets_, std::move(ops), now_ms + write_timeout_ms_, forwarded};
  auto d = route_write(m_, db_name_, self_, forwarded, std::max(queued_.size(), forwarding_.size()),
                       queued_writes_max);
  using k = intake_decision::kind;
  if (d.what == k::refuse) {
    refuse(w.t, d.why, fx);
  } else if (d.what == k::forward) {
    forward(std::move(w), fx);
  } else {
    // One batch holds at most write_ops_max operations: order what waits first.
    if (m_.owning() && queued_ops_ + w.ops.size() > write_ops_max) flush(now_ms, fx);
    queued_ops_ += w.ops.size();
    queued_.push_back(std::move(w));
    route_queued(fx);
  }
  return tickets_;
}

// A write for the owner: sent with every other one waiting, at the next flush.
void intake::forward(queued_write w, intake_effects& fx) {
  forwarding_.push_back(std::move(w));
  if (!flush_scheduled_) {
    flush_scheduled_ = true;
    fx.schedule_flush = true;
  }
}

// Queued writes go to the owner here (at the next flush), or to another
// owner, or wait for a takeover to end.
void intake::route_queued(intake_effects& fx) {
  if (m_.owning()) {
    if (!queued_.empty() && !flush_scheduled_) {
      flush_scheduled_ = true;
      fx.schedule_flush = true;
    }
    return;
  }
  if (m_.orders_here()) return;  // an owner is coming
  auto q = std::move(queued_);
  queued_.clear();
  queued_ops_ = 0;
  for (auto& w : q) {
    if (w.forwarded)
      refuse(w.t, cat(self_, " is not the owner of ", db_name_, " any more"), fx);
    else
      forward(std::move(w), fx);
  }
}

void intake::flush(int64_t now_ms, intake_effects& fx) {
  flush_scheduled_ = false;
  if (!forwarding_.empty() && m_.current_role()) {
    assert(!fx.forward);
    forward_batch b{m_.current_role()->owner(), {}, {}};
    for (auto& w : forwarding_) {
      b.tickets.push_back(w.t);
      b.writes.push_back(std::move(w.ops));
    }
    forwarding_.clear();
    fx.forward = std::move(b);
  }
  // Plain writes are ordered in batches as they come; a statement waits at
  // the head of the queue until nothing ordered here is pending, then runs.
  while (m_.owning() && !queued_.empty()) {
    size_t n = 0, ops = 0;  // at most write_ops_max operations in one batch
    while (n < queued_.size() && !is_statement_write(queued_[n].ops) && ops + queued_[n].ops.size() <= write_ops_max)
      ops += queued_[n++].ops.size();
    if (n > 0) {
      std::vector<queued_write> q(std::make_move_iterator(queued_.begin()),
                                  std::make_move_iterator(queued_.begin() + static_cast<std::ptrdiff_t>(n)));
      queued_.erase(queued_.begin(), queued_.begin() + static_cast<std::ptrdiff_t>(n));
      for (auto& w : q) queued_ops_ -= w.ops.size();
      order(std::move(q), now_ms, fx);
      continue;
    }
    if (!drained()) return;  // end() flushes again once it is
    queued_write w = std::move(queued_.front());
    queued_.erase(queued_.begin());
    queued_ops_ -= w.ops.size();
    expansion x;
    if (expand_) {
      x = expand_(w.ops.front(), write_ops_max);
    } else {
      x.code = storage::errc::invalid_argument;
      x.message = "SQL write statements are not served here";
    }
    if (x.code != storage::errc::ok || x.ops.empty()) {
      storage::op_result r;
      r.code = x.code;
      r.message = std::move(x.message);
      if (x.code == storage::errc::ok) r.rec.fields = std::move(x.answer);
      fx.replies.push_back({w.t, 0, {std::move(r)}, {}});
      continue;
    }
    answers_[w.t] = std::move(x.answer);
    w.ops = std::move(x.ops);
    std::vector<queued_write> one;
    one.push_back(std::move(w));
    order(std::move(one), now_ms, fx);
  }
}

// Nothing ordered here waits for its quorum: the database's committed state
// is its state at this point of the order.
bool intake::drained() const {
  return waiting_.empty() && db_.last_staged_seq() <= db_.last_committed_seq();
}

// `q` ordered as one batch (one staging, one append).
void intake::order(std::vector<queued_write> q, int64_t now_ms, intake_effects& fx) {
  auto* o = m_.owning();
  assert(o != nullptr && !q.empty());
  std::vector<std::vector<storage::op>> writes;
  writes.reserve(q.size());
  for (auto& w : q) writes.push_back(std::move(w.ops));
  auto b = o->submit_batch(std::move(writes), now_ms + write_timeout_ms_);
  if (!b) {
    for (auto& w : q) {
      answers_.erase(w.t);
      refuse(w.t, cat("cannot order the write: ", b.error().render()), fx);
    }
    return;
  }
  for (size_t i = 0; i < q.size(); ++i) waiting_.emplace(b->first_seq + i, q[i].t);
  for (auto& n : m_.current_role()->online)
    if (n != self_) fx.appends.emplace_back(n, b->append);
  end(b->ended, fx);
}

void intake::on_forwarded(const std::vector<ticket>& tickets, std::vector<forward_reply> replies, int64_t now_ms,
                          intake_effects& fx) {
  for (size_t i = 0; i < tickets.size(); ++i) {
    if (i >= replies.size()) {
      reply_error(tickets[i], {}, false, "the owner's answer lacks this write", fx);
      continue;
    }
    auto& rep = replies[i];
    if (!rep.error.empty()) {
      fx.replies.push_back({tickets[i], 0, {}, std::move(rep.error)});
      continue;
    }
    ++acknowledged_;
    if (db_.last_committed_seq() >= rep.seq)
      fx.replies.push_back({tickets[i], rep.seq, std::move(rep.results), {}});
    else
      ryw_[rep.seq] = ryw_wait{tickets[i], std::move(rep.results), now_ms};
  }
}

void intake::on_forward_failed(const std::vector<ticket>& tickets, const std::string& owner, bool nowhere,
                               const std::string& error, intake_effects& fx) {
  // Not reachable or not there: it never reached an owner that could order it.
  auto& r = m_.current_role();
  for (auto t : tickets) {
    ++(nowhere ? refused_ : unknown_);
    if (nowhere)
      reply_error(t, r ? r->online : std::vector<std::string>{}, true,
                  cat("the owner ", owner, " cannot take the write: ", error), fx);
    else
      reply_error(t, {}, false, cat("the owner ", owner, " did not confirm the write: ", error), fx);
  }
}

// This node's ordered writes that ended: answered, and a commit announced.
void intake::end(std::vector<outcome>& ended, intake_effects& fx) {
  for (auto& o : ended) {
    if (o.committed) commit_dirty_ = true;
    auto it = waiting_.find(o.seq);
    if (it == waiting_.end()) continue;  // adopted from an earlier owner: no client here
    auto answer = answers_.find(it->second);
    if (o.committed) {
      ++acknowledged_;
      if (answer != answers_.end()) {
        storage::op_result r;
        r.rec.fields = std::move(answer->second);
        o.results.push_back(std::move(r));
      }
      fx.replies.push_back({it->second, o.seq, std::move(o.results), {}});
    } else {
      ++unknown_;
      reply_error(it->second, holders(o.seq), false,
                  cat("Quorum ", m_.owning() ? m_.owning()->write_quorum() : 0, " not reached for the write: ", o.why,
                      "; it was discarded here, but a server that holds it may still apply it"),
                  fx);
    }
    if (answer != answers_.end()) answers_.erase(answer);
    waiting_.erase(it);
  }
  // A statement waits at the head of the queue for this moment.
  if (!queued_.empty() && m_.owning() && drained() && !flush_scheduled_) {
    flush_scheduled_ = true;
    fx.schedule_flush = true;
  }
  if (commit_dirty_ && !notice_scheduled_) {
    notice_scheduled_ = true;
    fx.schedule_notice = true;
  }
}

// Ordered writes whose owner is gone: their fate is decided by the next owner.
void intake::abandon_waiting(const std::string& why, intake_effects& fx) {
  for (auto& [seq, t] : waiting_) {
    ++unknown_;
    answers_.erase(t);
    reply_error(t, {self_}, false, why, fx);
  }
  waiting_.clear();
}

void intake::on_owner_lost(const effects& m, intake_effects& fx) {
  if (m.stepped_down)
    abandon_waiting(cat("the owner ", self_, " stepped down (", *m.stepped_down, ") before the quorum answered"), fx);
  if (m.abandoned) {
    auto why = cat("no owner for ", db_name_, " now: ", *m.abandoned);
    abandon_waiting(why, fx);
    // Writes that waited for it were never ordered.
    auto q = std::move(queued_);
    queued_.clear();
    queued_ops_ = 0;
    for (auto& w : q) refuse(w.t, why, fx);
  }
}

void intake::on_writes_ended(effects& m, intake_effects& fx) {
  end(m.ended, fx);
  if (m.owns_now || m.stepped_down) route_queued(fx);
}

void intake::tick(int64_t now_ms, intake_effects& fx) {
  // Writes that waited in vain for an owner were never ordered.
  if (!m_.owning()) {
    for (auto it = queued_.begin(); it != queued_.end();) {
      if (it->deadline_ms > now_ms) {
        ++it;
        continue;
      }
      refuse(it->t, cat("no owner ordered the write in time (database ", db_name_, ")"), fx);
      queued_ops_ -= it->ops.size();
      it = queued_.erase(it);
    }
  }
  answer_ryw(false, now_ms, fx);
}

void intake::read_your_writes(int64_t now_ms, intake_effects& fx) { answer_ryw(false, now_ms, fx); }

// A forwarded write the owner committed is answered once this node holds it
// (its client then reads it here), or after read_your_writes_wait_ms anyway
// (it is durable on the quorum), or (`all`) now.
void intake::answer_ryw(bool all, int64_t now_ms, intake_effects& fx) {
  if (ryw_.empty()) return;
  auto committed = db_.last_committed_seq();
  auto old = now_ms - read_your_writes_wait_ms;
  for (auto it = ryw_.begin(); it != ryw_.end();) {
    if (all || it->first <= committed || it->second.since_ms <= old) {
      fx.replies.push_back({it->second.t, it->first, std::move(it->second.results), {}});
      it = ryw_.erase(it);
    } else {
      ++it;
    }
  }
}

bool intake::take_commit_notice() {
  notice_scheduled_ = false;
  bool announce = m_.owning() && commit_dirty_;
  commit_dirty_ = false;
  return announce;
}

void intake::stop(int64_t now_ms, intake_effects& fx) {
  for (auto& w : forwarding_) refuse(w.t, "the node is stopping", fx);
  forwarding_.clear();
  flush(now_ms, fx);
  for (auto& w : queued_) refuse(w.t, "the node is stopping", fx);
  queued_.clear();
  queued_ops_ = 0;
  abandon_waiting("the node stopped before the quorum answered", fx);
  answer_ryw(true, now_ms, fx);
}

}  // namespace troupe::replication
