// One node's part in one database's replication, as plain code: whether it
// owns the database, follows an owner, or is taking over, and every rule that
// moves it between those roles (the takeover: epoch choice, answers needed,
// tail choice, paging, adoption; stepping down for a newer epoch). No CAF, no
// clock, no network: inputs in (a role, a message, the time), effects out
// (messages to send, writes that ended, notes to log). The database actor
// (actors/database_actor) carries the effects out over the cluster; the
// seeded failover simulation (test/replication/simulation_test.cpp) carries
// them over a lossy simulated network. Both call this same code.
//
// The takeover (docs/ARCHITECTURE.md, "Owner change"):
//   - The owner of a database is the first of its servers that is online
//     (role::owner). A node that finds itself owner in its role and does not
//     own yet takes over, once at least takeover_need() servers are online.
//   - It picks an epoch above every one it knows of (next_epoch), promises it
//     itself (kept on disk across a restart), and asks every other online
//     server to promise it and report its tail (tail_request).
//   - A refusal names a newer epoch: the takeover is abandoned, and the next
//     one (after takeover_retry_ms) goes above it. A takeover whose servers do
//     not answer within takeover_timeout_ms is abandoned too.
//   - With takeover_need() answers (itself included) one of them holds every
//     acknowledged write; it takes the most up-to-date tail (choose_tail),
//     fetches it page by page if it is another node's (fetch_request,
//     adopt_page), and starts as owner with the undecided entries re-stamped
//     in its epoch (owner::adopting), pending until its quorum holds them.
//   - An owner or a node taking over that sees a newer epoch (an append, an
//     ack, a tail request) steps down and follows it.
//   - An owner whose servers or quorum change takes over again, from its own
//     tail alone (it ordered every acknowledged write: need 1).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/replication/core.hpp"
#include "src/replication/role.hpp"

namespace troupe::replication {

struct member_timing {
  int64_t write_timeout_ms = 10'000;     // an adopted write's first deadline (it never expires; see owner::adopting)
  int64_t takeover_timeout_ms = 3'000;   // a takeover whose servers do not answer is abandoned after this
  int64_t takeover_retry_ms = 500;       // ... and tried again after this
  int64_t disk_retry_ms = 1'000;         // after the disk failed to take the adopted entries
};

// Ask `to` to promise `epoch` and report its tail (the answer comes back
// through member::on_tail_answer with the same round).
struct tail_request {
  std::string to;
  uint64_t epoch = 0;
  uint64_t round = 0;
};

// Ask `from` for its entries after `after` (the answer comes back through
// member::on_page with the same round and `first`).
struct fetch_request {
  std::string from;
  uint64_t after = 0;
  uint64_t round = 0;
  bool first = false;
};

struct note {
  enum class level { info, warn, error } lvl = level::info;
  std::string text;
};

// What the caller carries out after an input, in this order: notes, sends,
// then the writes that ended.
struct effects {
  std::vector<std::pair<std::string, append_msg>> appends;  // to each node, in order
  std::vector<std::pair<std::string, ack_msg>> acks;
  std::vector<tail_request> tails;
  std::optional<fetch_request> fetch;
  // Replicas behind even the owner's replication log on disk (where the log
  // starts): resending cannot help, they need a full copy.
  std::vector<std::pair<std::string, uint64_t>> behind_log;
  std::vector<outcome> ended;  // this node's ordered writes that committed or were discarded
  // This node stopped owning (or taking over): the writes waiting for their
  // quorum here are no longer its to answer (the next owner decides them).
  std::optional<std::string> stepped_down;
  // A takeover was abandoned: no owner here for now.
  std::optional<std::string> abandoned;
  bool owns_now = false;  // a takeover ended: this node orders the writes from now on
  std::vector<note> notes;
};

// Answers a takeover needs so that one of them holds every acknowledged write:
// any writeQuorum servers hold each one, so servers - writeQuorum + 1 of them
// include at least one holder. `continuing`: this node owned the database
// until now and ordered every acknowledged write itself: 1.
size_t takeover_need(const role& r, bool continuing);

// The most up-to-date tail of `answers` (keyed by node): the latest epoch, then
// the highest seq; never one that ends before a commit point another answer
// reports (a safeguard: the protocol should never produce such a tail). Ties
// go to `self` when it is among them, else to the first by name.
std::string choose_tail(const std::map<std::string, tail_msg>& answers, const std::string& self);

class member {
 public:
  // Starts waiting for its role. The epoch it promised last is read from the
  // database (kept on disk across a restart).
  member(storage::database& db, std::string self, member_timing timing);

  // The database's role changed (servers, who is online, the quorum).
  void on_role(const role& r, int64_t now_ms, effects& fx);
  // Messages from the database's other servers.
  // The answer goes in fx.acks; returned too when this node follows (the
  // replica's answer, for catch-up tracking), nullopt when it refused as owner
  // or ignored the append while taking over.
  std::optional<ack_msg> on_append(const std::string& from, const append_msg& m, effects& fx);
  void on_ack(const std::string& from, const ack_msg& a, effects& fx);
  tail_msg on_tail_request(uint64_t epoch, effects& fx);
  // Answers to this node's own takeover requests (a stale round is ignored).
  void on_tail_answer(uint64_t round, const std::string& from, const tail_msg& a, int64_t now_ms, effects& fx);
  void on_page(uint64_t round, bool first, const fetch_msg& page, int64_t now_ms, effects& fx);
  void on_fetch_failed(uint64_t round, const std::string& why, int64_t now_ms, effects& fx);
  // Time passes: an owner discards writes past their deadline (and, when
  // `heartbeat`, sends every online server its commit point); a takeover that
  // hangs is abandoned; a node that should own and waited long enough takes over.
  void tick(int64_t now_ms, bool heartbeat, effects& fx);
  // An owner sends every online server its commit point now.
  void heartbeat(effects& fx);

  owner* owning() { return owner_ ? &*owner_ : nullptr; }
  const owner* owning() const { return owner_ ? &*owner_ : nullptr; }
  const replica* following() const { return replica_ ? &*replica_ : nullptr; }
  bool taking_over() const { return takeover_.has_value(); }
  uint64_t takeover_epoch() const { return takeover_ ? takeover_->epoch : 0; }
  const std::optional<role>& current_role() const { return role_; }
  // Writes go to this node: it owns, takes over, or should own.
  bool orders_here() const;
  // "owner, epoch 256", "taking over, epoch 512", "replica of n1, epoch 256".
  std::string describe() const;

 private:
  struct takeover_t {
    uint64_t epoch = 0;
    uint64_t round = 0;
    std::map<std::string, tail_msg> answers;  // itself included
    std::string source;                        // the most up-to-date node, while fetching
    int64_t started_ms = 0;
  };
  void become_replica(const std::string& why, effects& fx);
  void ensure_replica();
  void start_takeover(int64_t now_ms, effects& fx);
  void check_takeover(int64_t now_ms, effects& fx);
  void finish_takeover(int64_t now_ms, effects& fx);
  void abandon_takeover(const std::string& why, int64_t now_ms, effects& fx);
  void broadcast(const append_msg& m, effects& fx) const;
  void log(note::level l, std::string text, effects& fx) const;

  storage::database& db_;
  std::string self_;
  member_timing timing_;
  std::optional<role> role_;
  uint64_t promised_ = 0;  // the highest epoch this node promised or used
  std::optional<owner> owner_;
  std::vector<std::string> owner_servers_;  // what the owner was built for
  uint32_t owner_quorum_ = 0;
  std::optional<replica> replica_;
  std::optional<takeover_t> takeover_;
  uint64_t rounds_ = 0;
  int64_t next_takeover_ms_ = 0;
  // This node owned the database until a change of servers or quorum: every
  // acknowledged write went through it, so it takes over from its own tail.
  bool continuing_ = false;
};

}  // namespace troupe::replication
