#include "src/replication/anti_entropy.hpp"

#include <cassert>

#include "src/util/strings.hpp"

namespace troupe::replication {

check_context context_of(const member& m, const storage::database& db) {
  check_context c;
  if (auto* o = m.owning()) {
    c.owns = true;
    c.pending = o->pending();
    c.owner_commit_seq = o->commit_seq();
    c.owner_epoch = o->epoch();
  }
  c.taking_over = m.taking_over();
  if (auto* r = m.following()) c.following_epoch = r->epoch();
  if (auto& r = m.current_role()) c.role_owner = r->owner();
  c.committed_seq = db.last_committed_seq();
  return c;
}

bool may_start_round(const check_context& c) { return c.owns && c.pending == 0; }

bool accepts(const check_context& c, const std::string& from, const check_msg& m) {
  bool from_my_owner = c.role_owner && *c.role_owner == from;
  switch (m.kind) {
    case check_kind::digests:
      return !c.owns && from_my_owner && c.committed_seq == m.at_seq && m.ids.size() == m.counts.size() &&
             m.ids.size() == m.hashes.size();
    case check_kind::differing:
      return c.owns && c.pending == 0 && c.owner_commit_seq == m.at_seq;
    case check_kind::records:
      return !c.owns && from_my_owner && c.committed_seq == m.at_seq && m.ids.size() == 1;
    case check_kind::behind_log:
      // Only the owner we follow, in the epoch we promised, may send us to a
      // full deploy: it holds every acknowledged write (it took over from a
      // quorum's tails), so its copy loses nothing ours has committed.
      return !c.owns && !c.taking_over && c.following_epoch && from_my_owner && m.epoch == *c.following_epoch &&
             m.at_seq > c.committed_seq + 1;
    case check_kind::none:
      break;
  }
  return false;
}

anti_entropy::anti_entropy(storage::database& db, std::string db_name) : db_(db), db_name_(std::move(db_name)) {}

std::string anti_entropy::cluster_name(int32_t id) const {
  for (auto& c : db_.clusters())
    if (c.id == id) return c.name;
  return cat(id);
}

std::optional<check_msg> anti_entropy::tick(const check_context& c, uint32_t resync_every_s, int64_t now_ms) {
  if (!c.owns || resync_every_s == 0 || now_ms < next_round_ms_) return std::nullopt;
  next_round_ms_ = now_ms + int64_t{1000} * resync_every_s;
  if (!may_start_round(c)) return std::nullopt;
  check_msg d;
  d.kind = check_kind::digests;
  d.at_seq = c.owner_commit_seq;
  for (auto& x : db_.digest()) {
    d.ids.push_back(x.id);
    d.counts.push_back(x.records);
    d.hashes.push_back(x.hash);
  }
  return d;
}

void anti_entropy::on_check(const check_context& c, const std::string& from, check_msg m, check_effects& fx) {
  if (!accepts(c, from, m)) return;
  switch (m.kind) {
    case check_kind::digests: {  // the owner's digests: name the clusters that differ here
      std::map<int32_t, storage::database::cluster_digest> mine;
      for (auto& d : db_.digest()) mine[d.id] = d;
      check_msg reply;
      reply.kind = check_kind::differing;
      reply.at_seq = m.at_seq;
      std::string what;
      for (size_t i = 0; i < m.ids.size(); ++i) {
        auto x = mine.find(m.ids[i]);
        int64_t n = x == mine.end() ? 0 : x->second.records;
        uint64_t h = x == mine.end() ? 0 : x->second.hash;
        if (n == m.counts[i] && h == m.hashes[i]) continue;
        reply.ids.push_back(m.ids[i]);
        what += cat(what.empty() ? "" : ", ", cluster_name(m.ids[i]), " (", n, " records here, ", m.counts[i],
                    " on the owner)");
      }
      if (reply.ids.empty()) return;
      fx.notes.push_back({note::level::warn, cat("anti-entropy: database ", db_name_, " differs from the owner ", from,
                                                 " at seq ", m.at_seq, " in cluster(s) ", what,
                                                 "; asking for a repair")});
      fx.sends.emplace_back(from, std::move(reply));
      return;
    }
    case check_kind::differing:  // a replica names the clusters that differ: send each one's records
      for (auto id : m.ids) {
        check_msg rep;
        rep.kind = check_kind::records;
        rep.at_seq = m.at_seq;
        rep.ids = {id};
        db_.cluster_raw(id, &rep.keys, &rep.values);
        assert(rep.keys.size() == rep.values.size());
        if (rep.keys.size() > repair_records_max) {
          fx.notes.push_back({note::level::error, cat("anti-entropy: cluster ", cluster_name(id), " of ", db_name_,
                                                      " differs on ", from, " but is too large to repair in place")});
          continue;
        }
        fx.sends.emplace_back(from, std::move(rep));
      }
      return;
    case check_kind::records: {  // the owner's records of one cluster: make ours equal
      size_t changed = 0;
      if (auto s = db_.repair_cluster(m.ids[0], m.keys, m.values, &changed); !s) {
        fx.notes.push_back({note::level::error, cat("anti-entropy: cannot repair cluster ", cluster_name(m.ids[0]),
                                                    " of ", db_name_, ": ", s.error().render())});
        return;
      }
      repaired_ += changed;
      fx.notes.push_back({note::level::warn, cat("anti-entropy: repaired cluster ", cluster_name(m.ids[0]),
                                                 " of database ", db_name_, " at seq ", m.at_seq, ": ", changed,
                                                 " record(s) differed from the owner ", from, "'s")});
      return;
    }
    case check_kind::behind_log:
      fx.redeploy_from = from;
      return;
    case check_kind::none:
      return;
  }
}

void anti_entropy::behind_log(const check_context& c, const std::string& to, uint64_t log_start, int64_t now_ms,
                              check_effects& fx) {
  auto logged = behind_logged_ms_.find(to);
  if (logged == behind_logged_ms_.end() || now_ms - logged->second > behind_log_warn_interval_ms) {
    behind_logged_ms_[to] = now_ms;
    fx.notes.push_back({note::level::warn, cat("database ", db_name_, ": ", to,
                                               " is behind the replication log (the log starts at ", log_start,
                                               "): it needs a full deploy; asking it to take one from this node")});
  }
  if (!c.owns) return;
  auto told = behind_told_ms_.find(to);
  if (told != behind_told_ms_.end() && now_ms - told->second <= behind_log_notice_interval_ms) return;
  behind_told_ms_[to] = now_ms;
  check_msg m;
  m.kind = check_kind::behind_log;
  m.at_seq = log_start;
  m.epoch = c.owner_epoch;
  fx.sends.emplace_back(to, std::move(m));
}

}  // namespace troupe::replication
