#include "src/replication/core.hpp"

#include <algorithm>
#include <cassert>

#include "src/util/strings.hpp"

namespace troupe::replication {

inline constexpr size_t resend_entries_max = 1000;

owner::owner(storage::database& db, uint64_t epoch, std::vector<std::string> replicas, size_t write_quorum)
    : db_(db), epoch_(epoch), replicas_(std::move(replicas)), quorum_(std::max<size_t>(write_quorum, 1)) {
  // Writes staged by an earlier owner run were answered to no one: drop them.
  // A new run must come with a new epoch, so replicas tell them apart.
  commit_seq_ = db_.last_committed_seq();
  (void)db_.discard_staged(commit_seq_ + 1);
  last_seq_ = commit_seq_;
  next_seq_ = commit_seq_ + 1;
  for (auto& r : replicas_) held_[r] = 0;
}

// The epoch of the owner's entry `seq`: from memory, else from the committed
// log on disk. A replica compares it with its own entry at that seq, so that a
// stale entry of an earlier epoch with the same number is never taken for it.
uint64_t owner::epoch_of(uint64_t seq) const {
  if (seq == 0) return 0;
  if (auto it = log_.find(seq); it != log_.end()) return it->second.epoch;
  auto at = db_.committed_since(seq - 1, 1);
  return !at.empty() && at[0].seq == seq ? at[0].epoch : 0;
}

owner::owner(storage::database& db, uint64_t epoch, std::vector<std::string> replicas, size_t write_quorum,
             adopting, int64_t deadline_ms)
    : db_(db), epoch_(epoch), replicas_(std::move(replicas)), quorum_(std::max<size_t>(write_quorum, 1)) {
  commit_seq_ = db_.last_committed_seq();
  auto undecided = db_.staged();
  for (auto& e : undecided) e.epoch = epoch_;
  // Same seqs, our epoch: a replica holding one under the old epoch drops it
  // and takes ours (same ops), so only this epoch's entries are ever counted.
  if (auto st = db_.replace_staged(commit_seq_ + 1, undecided); !st) {
    ok_ = false;
    undecided.clear();
  }
  last_seq_ = undecided.empty() ? commit_seq_ : undecided.back().seq;
  next_seq_ = last_seq_ + 1;
  for (auto& e : undecided) {
    pending_[e.seq] = pending_write{deadline_ms, true};
    log_[e.seq] = std::move(e);
  }
  for (auto& r : replicas_) held_[r] = 0;
}

result<owner::submitted> owner::submit(std::vector<storage::op> ops, int64_t deadline_ms) {
  std::vector<std::vector<storage::op>> one;
  one.push_back(std::move(ops));
  auto b = submit_batch(std::move(one), deadline_ms);
  if (!b) return b.error();
  return submitted{b->first_seq, std::move(b->append), std::move(b->ended)};
}

result<owner::submitted_batch> owner::submit_batch(std::vector<std::vector<storage::op>> writes,
                                                   int64_t deadline_ms) {
  assert(!writes.empty());
  std::vector<storage::staged_entry> entries;
  entries.reserve(writes.size());
  uint64_t seq = next_seq_;
  for (auto& w : writes) entries.push_back(storage::staged_entry{seq++, epoch_, std::move(w)});
  submitted_batch out;
  if (quorum_ == 1 && pending_.empty()) {
    // Decided as soon as ordered: staging and commit in one batch (one fsync).
    auto results = db_.commit_new(entries);
    if (!results) return results.error();
    next_seq_ = seq;
    out.first_seq = entries.front().seq;
    out.append = append_msg{epoch_, ++msg_, last_seq_, epoch_of(last_seq_), entries, entries.back().seq, true};
    last_seq_ = commit_seq_ = entries.back().seq;
    for (size_t i = 0; i < entries.size(); ++i) {
      outcome o;
      o.seq = entries[i].seq;
      o.committed = true;
      if (i < results->size()) o.results = std::move((*results)[i]);
      out.ended.push_back(std::move(o));
    }
    for (auto& e : entries) log_[e.seq] = std::move(e);
    while (log_.size() > window() && log_.begin()->first <= commit_seq_) log_.erase(log_.begin());
    return out;
  }
  if (auto st = db_.replace_staged(next_seq_, entries); !st) return st.error();
  next_seq_ = seq;  // never reused within this epoch, even if the writes are discarded
  out.first_seq = entries.front().seq;
  out.append = append_msg{epoch_, ++msg_, last_seq_, epoch_of(last_seq_), entries, commit_seq_, true};
  last_seq_ = entries.back().seq;
  for (auto& e : entries) {
    pending_[e.seq] = pending_write{deadline_ms};
    log_[e.seq] = std::move(e);
  }
  while (log_.size() > window() && log_.begin()->first <= commit_seq_) log_.erase(log_.begin());
  out.ended = try_commit();
  return out;
}

std::vector<outcome> owner::try_commit() {
  std::vector<outcome> out;
  uint64_t upto = commit_seq_;
  for (auto& [seq, p] : pending_) {
    size_t holders = 1;  // the owner staged it
    for (auto& [r, h] : held_)
      if (h >= seq) ++holders;
    if (holders < quorum_) break;  // in order: nothing after it commits first
    upto = seq;
  }
  if (upto == commit_seq_) return out;
  // Not fsynced on its own: the entries are durably staged on the quorum,
  // and a crash before the commit reaches the disk leaves them staged here
  // (a takeover adopts them). One fsync per batch on the write path, not two.
  auto results = db_.commit_staged(upto, false);
  if (!results) {
    // The disk failed under the owner: those writes are staged but not
    // applied; they end as failed only by expiring (then discarded).
    return out;
  }
  size_t i = 0;
  for (auto it = pending_.begin(); it != pending_.end() && it->first <= upto;) {
    outcome o;
    o.seq = it->first;
    o.committed = true;
    if (i < results->size()) o.results = std::move((*results)[i++]);
    out.push_back(std::move(o));
    it = pending_.erase(it);
  }
  commit_seq_ = upto;
  return out;
}

std::vector<outcome> owner::on_ack(const std::string& from, const ack_msg& a, std::optional<append_msg>* resend) {
  if (resend != nullptr) resend->reset();
  auto h = held_.find(from);
  if (h == held_.end() || a.epoch > epoch_) return {};  // not ours, or a newer owner exists
  // Only an acceptance vouches for what the replica holds; a refusal's
  // held_seq (which may count stale entries) only says where to resend from.
  if (a.epoch == epoch_ && a.ok) h->second = std::max(h->second, std::min(a.held_seq, last_seq_));
  // Only a refusal asks for a resend: a replica merely behind has the rest
  // in flight (a lost append shows as a gap at the next heartbeat).
  if (!a.ok && a.epoch <= epoch_ && resend != nullptr) *resend = entries_after(std::min(a.held_seq, last_seq_));
  return try_commit();
}

append_msg owner::entries_after(uint64_t held) {
  append_msg m{epoch_, ++msg_, 0, 0, {}, commit_seq_};
  if (held < commit_seq_ && (log_.empty() || log_.begin()->first > held + 1)) {
    // Behind what the owner holds in memory (it restarted, or the replica was
    // away long): committed entries from the replication log on disk.
    // Anchored on a real entry of ours: the last committed one at or before
    // `held` (a seq we never used, or discarded, is no anchor).
    auto anchor = db_.committed_at_or_before(held);
    m.prev_seq = anchor ? anchor->seq : 0;
    m.prev_epoch = anchor ? anchor->epoch : 0;
    m.entries = db_.committed_since(m.prev_seq, resend_entries_max);
    m.complete = false;  // the pending ones follow in the next resend
    return m;
  }
  // The live entry at or before `held` is the anchor; everything live after it follows.
  auto it = log_.upper_bound(held);
  if (it != log_.begin()) {
    auto prev = std::prev(it);
    m.prev_seq = prev->first;
    m.prev_epoch = prev->second.epoch;
  } else {
    auto anchor = db_.committed_at_or_before(std::min(held, commit_seq_));
    m.prev_seq = anchor ? anchor->seq : 0;
    m.prev_epoch = anchor ? anchor->epoch : 0;
  }
  for (; it != log_.end() && m.entries.size() < resend_entries_max; ++it) m.entries.push_back(it->second);
  m.complete = it == log_.end();
  return m;
}

std::vector<outcome> owner::expire(int64_t now_ms) {
  std::vector<outcome> out;
  // Adopted entries never expire: the previous owner may have acknowledged
  // them (a quorum held them), and discarding one would let a later write
  // take its seq and the replicas drop it. They wait for this owner's quorum;
  // the writes ordered after them expire meanwhile.
  auto first = std::find_if(pending_.begin(), pending_.end(),
                            [&](auto& p) { return !p.second.adopted && p.second.deadline_ms <= now_ms; });
  if (first == pending_.end()) return out;
  uint64_t from = first->first;
  // Every later pending write goes too: it was ordered after this one.
  if (auto st = db_.discard_staged(from); !st) return out;
  for (auto it = pending_.lower_bound(from); it != pending_.end();) {
    outcome o;
    o.seq = it->first;
    o.why = cat("write quorum ", quorum_, " not reached in time");
    out.push_back(std::move(o));
    log_.erase(it->first);
    it = pending_.erase(it);
  }
  last_seq_ = log_.empty() ? commit_seq_ : std::max(commit_seq_, log_.rbegin()->first);
  for (auto& [r, h] : held_) h = std::min(h, last_seq_);
  return out;
}

append_msg owner::heartbeat() {
  return append_msg{epoch_, ++msg_, last_seq_, epoch_of(last_seq_), {}, commit_seq_, true};
}

replica::replica(storage::database& db, uint64_t promised)
    : db_(db), epoch_(std::max(promised, db.promised_epoch())) {
  auto staged = db_.staged();
  for (auto& e : staged) epoch_ = std::max(epoch_, e.epoch);
}

tail_msg replica::promise(uint64_t epoch) {
  if (epoch < epoch_) return tail_of(db_, epoch_);  // ok false: a newer owner exists
  // Durable before it is said: a restart must not forget whom it follows.
  if (!db_.promise_epoch(epoch)) return tail_of(db_, epoch_);
  if (epoch > epoch_) last_msg_ = 0;
  epoch_ = epoch;
  auto t = tail_of(db_, epoch_);
  t.ok = true;
  return t;
}

tail_msg tail_of(const storage::database& db, uint64_t following_epoch) {
  tail_msg t;
  t.epoch = following_epoch;
  t.commit_seq = db.last_committed_seq();
  t.last_seq = std::max(t.commit_seq, db.last_staged_seq());
  if (t.last_seq > t.commit_seq) {
    t.last_epoch = db.staged_epoch(t.last_seq).value_or(0);
  } else if (auto c = db.committed_at_or_before(t.commit_seq); c && c->seq == t.commit_seq) {
    t.last_epoch = c->epoch;
  }
  return t;
}

fetch_msg fetch_after(const storage::database& db, uint64_t after) {
  fetch_msg f;
  f.commit_seq = db.last_committed_seq();
  if (after < f.commit_seq) {
    f.entries = db.committed_since(after, fetch_entries_max);
    if (!f.entries.empty() && f.entries.back().seq < f.commit_seq) {
      f.more = true;
      return f;
    }
  }
  uint64_t from = f.entries.empty() ? after : f.entries.back().seq;
  for (auto& e : db.staged())
    if (e.seq > from) f.entries.push_back(std::move(e));
  return f;
}

status adopt_page(storage::database& db, const fetch_msg& page, bool first) {
  if (first) {
    if (auto st = db.discard_staged(db.last_committed_seq() + 1); !st) return st;
  }
  if (page.entries.empty()) return ok_status();
  if (auto st = db.replace_staged(page.entries.front().seq, page.entries); !st) return st;
  uint64_t upto = std::min(page.commit_seq, page.entries.back().seq);
  if (upto > db.last_committed_seq()) {
    auto r = db.commit_staged(upto);
    if (!r) return r.error();
  }
  return ok_status();
}

uint64_t replica::held() const { return std::max(db_.last_committed_seq(), db_.last_staged_seq()); }

ack_msg replica::on_append(const append_msg& m) {
  if (m.epoch < epoch_) return ack_msg{epoch_, false, held(), db_.last_committed_seq()};
  if (m.epoch > epoch_) last_msg_ = 0;
  epoch_ = m.epoch;
  // An older message, overtaken: it vouches for nothing new (what we staged
  // since may have been checked against a later one, or not at all): say
  // only what is committed, which is always the owner's.
  if (m.msg <= last_msg_) return ack_msg{epoch_, true, db_.last_committed_seq(), db_.last_committed_seq()};
  last_msg_ = m.msg;
  auto fail = [&] { return ack_msg{epoch_, false, held(), db_.last_committed_seq()}; };
  // Our committed entries are the owner's too, so an append that starts
  // before our commit point and skips past it comes from a log that no longer
  // reaches back to us (trimmed): taking it would commit its entries over a
  // hole. Refuse; only a full copy can help (the owner reports it).
  if (skips_commit_point(m, db_.last_committed_seq())) return fail();
  // Drop what the append contradicts (see the header): each such entry and
  // every staged entry after it (staged in order after it, so just as stale).
  std::optional<uint64_t> drop_from;
  uint64_t last = m.entries.empty() ? m.prev_seq : m.entries.back().seq;
  std::map<uint64_t, uint64_t> incoming;  // seq -> epoch
  for (auto& e : m.entries) incoming[e.seq] = e.epoch;
  for (auto& e : db_.staged()) {
    bool stale = false;
    if (e.seq == m.prev_seq) {
      // Ours must be the owner's entry; an owner that does not know its own
      // entry's epoch (seq 0, or trimmed long ago) cannot vouch for a staged one.
      // Another epoch at the anchor: keep what we stage (it may be the same
      // write under another owner's stamp, and one we were counted for) and
      // ask for everything after our commit point; that append replaces the
      // staged entries in one step. Dropping here and walking back one entry
      // per round trip left a window where no node of a quorum held an
      // acknowledged write.
      if (e.epoch != m.prev_epoch) return ack_msg{epoch_, false, db_.last_committed_seq(), db_.last_committed_seq()};
    } else if (e.seq > m.prev_seq && e.seq <= last) {
      auto in = incoming.find(e.seq);
      stale = in == incoming.end() || in->second != e.epoch;
    } else if (e.seq > last) {
      stale = m.complete;
    }
    if (stale) {
      drop_from = e.seq;
      break;
    }
  }
  if (drop_from && !db_.discard_staged(*drop_from)) return fail();
  // The anchor: without the owner's entry at prev_seq nothing after it can be
  // taken (and anything staged after it cannot be the owner's either).
  if (!holds(m.prev_seq)) {
    if (!db_.discard_staged(m.prev_seq + 1)) return fail();
    return ack_msg{epoch_, false, held(), db_.last_committed_seq()};  // a gap: the owner sends what we lack
  }
  // From the first entry we lack on, stage the rest in one batch (one fsync):
  // lacking that one, whatever is staged after it is stale. Entries before it
  // are resends of what we hold (the same entries: checked above).
  auto first_new = std::find_if(m.entries.begin(), m.entries.end(), [&](auto& e) { return !holds(e.seq); });
  if (first_new != m.entries.end()) {
    std::vector<storage::staged_entry> rest(first_new, m.entries.end());
    if (!db_.replace_staged(rest.front().seq, rest)) return fail();
  }
  auto v = verified(m);
  if (m.commit_seq > db_.last_committed_seq()) {
    if (!db_.commit_staged(std::min(m.commit_seq, v), false)) return fail();  // staged stays durable (see owner)
  }
  return ack_msg{epoch_, true, v, db_.last_committed_seq()};
}

bool replica::holds(uint64_t seq) const {
  return seq <= db_.last_committed_seq() || db_.staged_epoch(seq).has_value();
}

// What this replica can vouch for after `m`: everything it holds when the
// append was complete; up to the append's last entry when it was a partial
// resend (anything staged beyond may be stale: a later append decides).
uint64_t replica::verified(const append_msg& m) const {
  if (m.complete) return held();
  uint64_t last = m.entries.empty() ? m.prev_seq : m.entries.back().seq;
  return std::max(db_.last_committed_seq(), std::min(held(), last));
}

}  // namespace troupe::replication
