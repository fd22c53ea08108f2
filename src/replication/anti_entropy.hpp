// Anti-entropy (resyncEvery) as plain code: when the owner starts a round,
// what a replica compares and asks for, what the owner sends back, what a
// replica repairs, and which of these messages a node accepts at all. No CAF,
// no clock, no network: a check message and this node's state in, the
// messages to send and the lines to log out. The database actor
// (actors/database_actor) converts its envelopes (repl_envelope, check_kind)
// to and from check_msg and carries the effects out.
//
// A round (docs/ARCHITECTURE.md, "Anti-entropy"):
//   - The owner, every resyncEvery seconds and only when no write is pending,
//     sends each online replica a heartbeat carrying its commit seq S and then
//     its per-cluster digests at S (storage::database::digest), so S is where
//     every replica that holds everything stops too.
//   - A replica at S, following that owner, compares and names the clusters
//     that differ (a WARN line), asking the owner for them.
//   - The owner, still at S with nothing pending, sends each such cluster's
//     records as stored (one message per cluster); a cluster over
//     repair_records_max records is reported (an ERROR line), not repaired.
//   - The replica, still at S and following that owner, makes its copy of the
//     cluster equal (storage::database::repair_cluster) and logs how many
//     records differed. Anything that moved meanwhile waits for the next round.
// A replica takes digests and repairs only from the owner it follows: a repair
// overwrites records, and any member can address a replica.
//
// Behind the log: an owner whose replica is behind even its replication log
// on disk tells it to take a full copy (at most once a second per replica; the
// WARN line at most once a minute). The replica acts on it only when it comes
// from the owner it follows, in the epoch it promised, and names a log start
// past its own commit point: that owner took over from a quorum's tails, so its
// copy loses nothing this one committed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/replication/member.hpp"
#include "src/storage/database.hpp"

namespace troupe::replication {

inline constexpr size_t repair_records_max = 100'000;  // a larger cluster is reported, not repaired in place
inline constexpr int64_t behind_log_notice_interval_ms = 1'000;  // tell a replica behind the log at most this often
inline constexpr int64_t behind_log_warn_interval_ms = 60'000;   // ... and log it at most this often

// The kinds of check message, with their values on the wire (the database
// actor's envelope carries them as one byte; an unknown value is ignored).
enum class check_kind : uint8_t {
  none = 0,        // not a check: an append or an ack
  digests = 1,     // owner -> replica: per-cluster digests at at_seq
  differing = 2,   // replica -> owner: the clusters that differ at at_seq
  records = 3,     // owner -> replica: one cluster's records as stored, to repair it
  behind_log = 4,  // owner -> replica: take a full copy (at_seq: where the owner's log starts)
};

struct check_msg {
  check_kind kind = check_kind::none;
  uint64_t at_seq = 0;
  uint64_t epoch = 0;                     // behind_log: the owner's epoch (0 otherwise)
  std::vector<int32_t> ids;               // digests: every cluster; differing: those that differ; records: the one
  std::vector<int64_t> counts;            // digests: live records per cluster
  std::vector<uint64_t> hashes;           // digests: per cluster
  std::vector<std::string> keys, values;  // records: the cluster's records as stored
};

// What the rules look at: this node's part in the database now.
struct check_context {
  bool owns = false;                        // it owns the database (orders writes)
  size_t pending = 0;                       // owner: writes waiting for their quorum
  uint64_t owner_commit_seq = 0;            // owner: its commit point
  uint64_t owner_epoch = 0;                 // owner: its epoch
  bool taking_over = false;
  std::optional<uint64_t> following_epoch;  // replica: the epoch it follows (nullopt: not following)
  std::optional<std::string> role_owner;    // the owner its role names (nullopt: no role yet)
  uint64_t committed_seq = 0;               // this copy's commit point
};
check_context context_of(const member& m, const storage::database& db);

// The owner may start a round: it owns and no write is pending.
bool may_start_round(const check_context& c);
// Whether this node acts on `m` from `from` (see the rules above); false for
// check_kind::none and unknown kinds.
bool accepts(const check_context& c, const std::string& from, const check_msg& m);

// What the caller carries out, in this order: the notes (complete log lines),
// the messages, then the redeploy request.
struct check_effects {
  std::vector<note> notes;
  std::vector<std::pair<std::string, check_msg>> sends;  // to each node, in order
  // Replica: ask the cluster for a full copy of the database from this owner.
  std::optional<std::string> redeploy_from;
};

class anti_entropy {
 public:
  // `db_name` names the database in log lines.
  anti_entropy(storage::database& db, std::string db_name);

  // Time passes. Owner: when a round is due (every `resync_every_s` seconds;
  // 0: off), the digests to send each online replica right after a heartbeat
  // that carries the commit point; nullopt when none is due or a write is
  // pending (that round is skipped: the next comes a period later).
  std::optional<check_msg> tick(const check_context& c, uint32_t resync_every_s, int64_t now_ms);
  // A check message from `from`; one this node does not accept is ignored.
  void on_check(const check_context& c, const std::string& from, check_msg m, check_effects& fx);
  // Owner: replica `to` is behind its replication log, which starts at `log_start`.
  void behind_log(const check_context& c, const std::string& to, uint64_t log_start, int64_t now_ms,
                  check_effects& fx);

  uint64_t repaired() const { return repaired_; }  // records repaired here, in total

 private:
  std::string cluster_name(int32_t id) const;

  storage::database& db_;
  std::string db_name_;
  int64_t next_round_ms_ = 0;
  uint64_t repaired_ = 0;
  std::map<std::string, int64_t> behind_logged_ms_;  // per replica: when it was last logged behind the log
  std::map<std::string, int64_t> behind_told_ms_;    // ... and last told to take a full copy
};

}  // namespace troupe::replication
