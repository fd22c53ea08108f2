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

uint64_t owner::epoch_of(uint64_t seq) const {
  auto it = log_.find(seq);
  return it == log_.end() ? 0 : it->second.epoch;
}

result<owner::submitted> owner::submit(std::vector<storage::op> ops, int64_t deadline_ms) {
  storage::staged_entry e{next_seq_, epoch_, std::move(ops)};
  if (auto st = db_.stage(e); !st) return st.error();
  ++next_seq_;  // never reused within this epoch, even if the write is discarded
  submitted out;
  out.seq = e.seq;
  out.append = append_msg{epoch_, ++msg_, last_seq_, epoch_of(last_seq_), {e}, commit_seq_};
  last_seq_ = e.seq;
  log_[e.seq] = std::move(e);
  pending_[out.seq] = pending_write{deadline_ms};
  while (log_.size() > window_entries_max && log_.begin()->first <= commit_seq_) log_.erase(log_.begin());
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
  auto results = db_.commit_staged(upto);
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
  if (a.epoch == epoch_) h->second = std::max(h->second, std::min(a.held_seq, last_seq_));
  // Only a refusal asks for a resend: a replica merely behind has the rest
  // in flight (a lost append shows as a gap at the next heartbeat).
  if (!a.ok && a.epoch <= epoch_ && resend != nullptr) *resend = entries_after(std::min(a.held_seq, last_seq_));
  return try_commit();
}

append_msg owner::entries_after(uint64_t held) {
  // The live entry at or before `held` is the anchor; everything live after it follows.
  append_msg m{epoch_, ++msg_, 0, 0, {}, commit_seq_};
  auto it = log_.upper_bound(held);
  if (it != log_.begin()) {
    auto prev = std::prev(it);
    m.prev_seq = prev->first;
    m.prev_epoch = prev->second.epoch;
  } else {
    m.prev_seq = std::min(held, commit_seq_);  // older than the window: committed long ago
  }
  for (; it != log_.end() && m.entries.size() < resend_entries_max; ++it) m.entries.push_back(it->second);
  return m;
}

std::vector<outcome> owner::expire(int64_t now_ms) {
  std::vector<outcome> out;
  auto first = std::find_if(pending_.begin(), pending_.end(), [&](auto& p) { return p.second.deadline_ms <= now_ms; });
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

append_msg owner::heartbeat() { return append_msg{epoch_, ++msg_, last_seq_, epoch_of(last_seq_), {}, commit_seq_}; }

replica::replica(storage::database& db) : db_(db) {
  auto staged = db_.staged();
  for (auto& e : staged) epoch_ = std::max(epoch_, e.epoch);
}

uint64_t replica::held() const {
  auto staged = db_.staged();
  return staged.empty() ? db_.last_committed_seq() : std::max(db_.last_committed_seq(), staged.back().seq);
}

ack_msg replica::on_append(const append_msg& m) {
  if (m.epoch < epoch_) return ack_msg{epoch_, false, held()};
  if (m.epoch > epoch_) last_msg_ = 0;
  epoch_ = m.epoch;
  if (m.msg <= last_msg_) return ack_msg{epoch_, true, held()};  // an older message, overtaken
  last_msg_ = m.msg;
  // Drop what the owner no longer has: staged entries after its anchor, and
  // the anchor itself (and all after) if ours is another epoch's entry.
  if (!db_.discard_staged(m.prev_seq + 1)) return ack_msg{epoch_, false, held()};
  if (m.prev_epoch != 0) {
    for (auto& e : db_.staged())
      if (e.seq == m.prev_seq && e.epoch != m.prev_epoch) {
        if (!db_.discard_staged(e.seq)) return ack_msg{epoch_, false, held()};
        break;
      }
  }
  uint64_t have = held();
  if (have < m.prev_seq) return ack_msg{epoch_, false, have};  // a gap: the owner sends what we lack
  for (auto& e : m.entries) {
    if (e.seq <= have) continue;  // a resend of what we hold
    if (!db_.stage(e)) return ack_msg{epoch_, false, held()};
    have = e.seq;
  }
  if (m.commit_seq > db_.last_committed_seq()) {
    if (!db_.commit_staged(std::min(m.commit_seq, have))) return ack_msg{epoch_, false, held()};
  }
  return ack_msg{epoch_, true, have};
}

}  // namespace troupe::replication
