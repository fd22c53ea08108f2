// The replication protocol of one database as plain code: messages in,
// messages out, storage through storage::database. No CAF, no clock, no
// network: the replicator (actors/database_actor) carries these messages
// between nodes, and the seeded simulation (test/replication/) drops, delays,
// reorders and crashes them.
//
// Protocol (docs/ARCHITECTURE.md, "Replication"):
//   - The owner orders writes: each gets the next seq and is staged on the
//     owner (durable, invisible), then sent to every replica in an append.
//   - A replica refuses a stale epoch and ignores an append older than one it
//     already processed (so it acts on the owner's messages in send order; a
//     restarted node starts on a new connection, where nothing old arrives);
//     refuses an append whose anchor (prev_seq) it stages under another
//     epoch, keeping its entries and asking for all after its commit point;
//     drops every staged entry the append contradicts: one between prev_seq and the last entry that is not among
//     the entries, and (when the append is complete, as every append but a
//     partial resend is) any after it (the owner discarded them); refuses a gap (it answers with what
//     it has, the owner sends the missing entries again); stages; commits up
//     to the append's commit_seq; acknowledges the highest seq it holds.
//   - The owner commits every seq that writeQuorum nodes hold (itself
//     included), in order, and only then answers those writes. A write that
//     has no quorum by its deadline is discarded on the owner, with every
//     later pending write (they were ordered after it and may depend on it);
//     replicas drop it on the next append. So a failed write is visible
//     nowhere, and an acknowledged one is durable on a quorum.
//   - Ops are validated when applied (at commit), deterministically: the same
//     ops in the same order on the same state give the same results on every
//     node, so version conflicts fail the same way everywhere.
// A replica behind the owner's memory gets committed entries from the
// replication log on disk (storage keeps the last committed_entries_kept).
// Owner change (takeover, below): the new owner asks the partition's nodes to
// promise its new epoch (replica::promise, which fences the old owner) and to
// report their tails; from enough of them that every acknowledged write is
// among the answers (servers - writeQuorum + 1, itself included) it takes the
// most up-to-date one (last epoch, then last seq), adopts its entries
// (adopt_page) and starts as owner with them re-stamped in its epoch
// (owner::adopting), pending until its quorum holds them.
// A replica behind even the replication log refuses the owner's appends (it
// would commit over a hole); the replicator (actors/database_actor) then has
// it receive a full deploy.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "src/storage/database.hpp"

namespace troupe::replication {

inline constexpr size_t window_entries_max = 10'000;  // entries the owner keeps in memory to resend (then: from disk)
inline constexpr size_t fetch_entries_max = 1000;       // committed entries per takeover page

// An epoch names its owner: a round in the high bits, the owner's place in
// the partition's server list in the low 8, so two nodes that take over at
// once (each side of a split) never share an epoch.
inline uint64_t next_epoch(uint64_t highest_seen, size_t owner_index) {
  return (((highest_seen >> 8) + 1) << 8) | (owner_index & 0xff);
}

struct append_msg {
  uint64_t epoch = 0;
  uint64_t msg = 0;         // the owner's message counter: a replica acts on each in send order only
  uint64_t prev_seq = 0;    // the owner's live entry just before these (0: none)
  uint64_t prev_epoch = 0;  // its epoch (0: committed long ago, not checked)
  std::vector<storage::staged_entry> entries;  // the owner's live entries after prev_seq, in order; empty: a heartbeat
  uint64_t commit_seq = 0;  // every seq up to this one is committed on the owner
  bool complete = true;     // entries are ALL the owner's live entries after prev_seq (a resend may carry fewer)
};

struct ack_msg {
  uint64_t epoch = 0;
  bool ok = false;        // false: stale epoch, a gap, or a disk error
  // ok: every entry up to here is the owner's and held (staged or committed);
  // not ok: the highest seq held, which may be stale (where to resend from).
  uint64_t held_seq = 0;
  uint64_t commit_seq = 0;  // the replica's commit point (a refusal: is it behind the owner's log?)
};

// An append that starts before `committed` and skips past it: it comes from a
// log that no longer reaches back to that commit point (trimmed), so taking
// it would commit over a hole. A replica refuses it; an owner that would send
// one knows the replica needs a full copy. (Gaps elsewhere are normal: a
// discarded seq is never reused.)
inline bool skips_commit_point(const append_msg& m, uint64_t committed) {
  return m.prev_seq < committed && !m.entries.empty() && m.entries.front().seq > committed;
}

// A node's answer to a takeover: its promise and where its log ends.
struct tail_msg {
  bool ok = false;          // false: it promised a newer epoch already (`epoch` says which)
  uint64_t epoch = 0;       // the epoch it now follows
  uint64_t commit_seq = 0;  // last committed seq
  uint64_t last_seq = 0;    // last held seq (staged or committed)
  uint64_t last_epoch = 0;  // that entry's epoch (0: none, or trimmed)
};

// A page of a node's entries after some seq: committed ones (up to
// fetch_entries_max) and then, on the last page, every staged one.
struct fetch_msg {
  uint64_t commit_seq = 0;
  std::vector<storage::staged_entry> entries;
  bool more = false;  // another page follows: ask again after entries.back().seq
};

tail_msg tail_of(const storage::database& db, uint64_t following_epoch);
fetch_msg fetch_after(const storage::database& db, uint64_t after);
// The new owner takes a page of the most up-to-date node's entries: the first
// page (first == true) drops its own staged entries (not authoritative), then
// stages the page and commits what the other node had committed.
status adopt_page(storage::database& db, const fetch_msg& page, bool first);

// A client write that ended: committed (results per op) or failed (no quorum).
struct outcome {
  uint64_t seq = 0;
  bool committed = false;
  std::vector<storage::op_result> results;  // when committed
  std::string why;                          // when not
};

class owner {
 public:
  // `replicas`: the other nodes of the partition; `write_quorum` counts the owner.
  owner(storage::database& db, uint64_t epoch, std::vector<std::string> replicas, size_t write_quorum);
  // After a takeover (adopt_page): the staged entries are the previous
  // owners' undecided writes; they are re-stamped with `epoch` under the same
  // seqs and stay pending (answered to no one) until the quorum holds them.
  // They never expire, whatever `deadline_ms` says: a previous owner may have
  // acknowledged them, so discarding one could lose an acknowledged write
  // (writes submitted after them still expire, and are discarded).
  // Check ok() afterwards: the disk may have failed.
  struct adopting {};
  owner(storage::database& db, uint64_t epoch, std::vector<std::string> replicas, size_t write_quorum, adopting,
        int64_t deadline_ms);
  bool ok() const { return ok_; }
  uint64_t epoch() const { return epoch_; }

  // Orders and stages a write: the append to send to every replica, and the
  // writes that ended at once (with writeQuorum 1). Error: the disk failed
  // (the write is not ordered).
  struct submitted {
    uint64_t seq = 0;
    append_msg append;
    std::vector<outcome> ended;
  };
  result<submitted> submit(std::vector<storage::op> ops, int64_t deadline_ms);
  // Many writes at once: one staging (one fsync) and one append for all of
  // them; seqs first_seq .. first_seq + writes.size() - 1.
  struct submitted_batch {
    uint64_t first_seq = 0;
    append_msg append;
    std::vector<outcome> ended;
  };
  result<submitted_batch> submit_batch(std::vector<std::vector<storage::op>> writes, int64_t deadline_ms);
  // The seqs each replica is known to hold (for error messages and inspection).
  const std::map<std::string, uint64_t>& held() const { return held_; }
  size_t write_quorum() const { return quorum_; }
  // A replica's answer. Returns the writes that ended (committed) and, for a
  // replica that lacks entries, the append to send it again.
  std::vector<outcome> on_ack(const std::string& from, const ack_msg& a, std::optional<append_msg>* resend);
  // Fails the pending writes whose deadline passed (and every later one);
  // never an adopted one (see the adopting constructor).
  std::vector<outcome> expire(int64_t now_ms);
  // What every replica gets now and then: the commit point, and the chance to
  // drop what the owner discarded.
  append_msg heartbeat();

  // Commits what the quorum already holds (after adopting: with quorum 1,
  // the adopted entries are decided at once).
  std::vector<outcome> settle() { return try_commit(); }
  uint64_t commit_seq() const { return commit_seq_; }
  uint64_t last_seq() const { return last_seq_; }
  size_t pending() const { return pending_.size(); }

 private:
  struct pending_write {
    int64_t deadline_ms = 0;
    bool adopted = false;  // an earlier owner's undecided write: never expires (see expire())
  };
  std::vector<outcome> try_commit();
  append_msg entries_after(uint64_t held);
  uint64_t epoch_of(uint64_t seq) const;
  // Committed entries kept in memory to resend: never more than the log on
  // disk keeps, so a replica behind both is found behind the log (and
  // redeployed) the same way whatever the test setting.
  size_t window() const { return static_cast<size_t>(std::min<uint64_t>(window_entries_max, db_.log_keep())); }
  storage::database& db_;
  uint64_t epoch_;
  std::vector<std::string> replicas_;
  size_t quorum_;
  uint64_t last_seq_ = 0;    // the last live (not discarded) seq
  uint64_t commit_seq_ = 0;
  uint64_t next_seq_ = 1;    // never reused, even after a discard
  uint64_t msg_ = 0;
  bool ok_ = true;
  std::map<std::string, uint64_t> held_;           // per replica: highest seq it holds
  std::map<uint64_t, storage::staged_entry> log_;  // recent live entries, for resending
  std::map<uint64_t, pending_write> pending_;      // staged, not yet committed
};

class replica {
 public:
  // Resumes from what the database holds (staged entries survive a crash).
  // `promised`: the highest epoch this node promised before (kept by the
  // caller across roles), so a fenced old owner stays fenced.
  explicit replica(storage::database& db, uint64_t promised = 0);
  ack_msg on_append(const append_msg& m);
  // A takeover's request: follow `epoch` from now on (refusing the old
  // owner's appends) unless a newer one was promised; report the tail.
  tail_msg promise(uint64_t epoch);
  uint64_t epoch() const { return epoch_; }

 private:
  uint64_t held() const;
  bool holds(uint64_t seq) const;
  uint64_t verified(const append_msg& m) const;
  storage::database& db_;
  uint64_t epoch_ = 0;
  uint64_t last_msg_ = 0;  // in epoch_
};

}  // namespace troupe::replication
