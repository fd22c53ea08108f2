// The write intake of one database on one node, as plain code: where a client
// write goes when it reaches the node (route_write), and the bookkeeping of
// every write until it is answered (class intake). No CAF, no clock, no
// network: inputs in (a write, a flush, the owner's answers, the member's
// effects, the time), effects out (writes to forward, appends to send, writes
// answered). The database actor (actors/database_actor) maps each write's
// ticket to its CAF promise or callback and carries the effects out; the
// failover simulation (test/replication/simulation_test.cpp) routes its
// clients' writes with route_write.
//
// The intake's rules (docs/ARCHITECTURE.md, "Replication"):
//   - Refused at once, visible nowhere ("not applied"): when fewer of the
//     database's servers are online than its write quorum (this is how the
//     minority side of a split refuses), or when queued_writes_max writes wait
//     here already. Ordered here when this node owns the database, takes it
//     over or should own it (member::orders_here), else forwarded to the owner;
//     a write another node forwarded is never forwarded again (the two nodes
//     disagree about the owner: refused).
//   - Ordered here: queued, and ordered as one batch (one staging, one append)
//     at the next flush, which the intake schedules when the first write
//     queues (so it runs after every write already in the mailbox); a write
//     that would take the batch past write_ops_max operations flushes the batch
//     before it first. Then it waits for its quorum, by seq, and is answered
//     when the owner's core says it ended: committed (its results), or
//     discarded ("unknown": a server that holds it may still apply it).
//   - Forwarded: sent with every other write waiting for the owner in one
//     message at the next flush. When the owner answers that it committed it,
//     it is answered once this node holds that seq too (read-your-writes), or
//     read_your_writes_wait_ms later anyway (it is durable on the quorum).
//     An owner that is not a member or lacks the database never ordered it
//     ("not applied"); any other failure leaves it "unknown".
//   - The owner is lost: writes waiting for their quorum here are "unknown"
//     (the next owner decides them). A takeover abandoned: queued writes are
//     refused too. Queued writes nobody ordered by their deadline (no owner)
//     are refused. On stop, every write held is answered.
//   - SQL write statements (a write of one storage::op::kind::statement op):
//     routed and forwarded like any write, but the owner expands one only
//     when nothing it ordered is pending (every earlier write committed or
//     discarded), against its database at that point of the order, into the
//     operations it then orders as one all-or-nothing entry (the expander,
//     given by the caller). Writes queued behind a statement wait for it, so
//     the order stays the order of arrival. Its answer: the ordered
//     operations' results, then one more result holding the statement's answer
//     in rec.fields; a statement that changes nothing is answered at once with
//     that one result; a refused one with one failed result (nothing ordered).
//   - Counters: acknowledged (committed, here or by the owner), refused (never
//     ordered), unknown (ordered, fate unknown to this node).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/replication/member.hpp"

namespace troupe::replication {

inline constexpr size_t write_ops_max = 4096;       // operations in one client write, and in one ordered batch
inline constexpr size_t queued_writes_max = 8192;   // client writes waiting here to be ordered or forwarded
inline constexpr int64_t read_your_writes_wait_ms = 1000;  // a forwarded, committed write waits at most this long here

struct intake_decision {
  enum class kind { refuse, order_here, forward } what = kind::refuse;
  std::string why;  // refuse: the sentence of the 503 body (the write was not applied)
};

// `forwarded`: another node passed this write on as the owner's. `waiting`:
// writes waiting here already (queued or being forwarded); `waiting_max` the bound.
intake_decision route_write(const member& m, const std::string& db, const std::string& self, bool forwarded,
                            size_t waiting, size_t waiting_max);

// The bounds on what a client sends, checked before a write enters the intake:
// nullopt when it may enter, else the sentence of the invalid-argument error.
// An empty write is the caller's to answer (with no results).
std::optional<std::string> oversized_write(size_t ops);
std::optional<std::string> malformed_forward(const std::vector<std::vector<storage::op>>& writes);

// The owner's expansion of one SQL write statement (an op of kind
// statement), against the database's committed state with nothing pending,
// into at most `ops_max` operations.
struct expansion {
  std::vector<storage::op> ops;  // ordered as one all-or-nothing entry; none: answered at once
  std::string answer;            // the statement's answer (the JSON text of OrientDB's "result" array)
  storage::errc code = storage::errc::ok;  // else refused with this code and message, nothing ordered
  std::string message;
};
using expander = std::function<expansion(const storage::op& statement, size_t ops_max)>;

// Whether `ops` is a statement write, and the sentence refusing a write that
// mixes a statement with other operations (nullopt: well-formed).
bool is_statement_write(const std::vector<storage::op>& ops);
std::optional<std::string> mixed_statement(const std::vector<storage::op>& ops);

using ticket = uint64_t;  // one client write in the intake; the caller maps it to where the answer goes

// A write answered: `error` empty: committed, with its results (`seq`: the
// seq it got, for a write another node forwarded here); else the 503 body
// (unavailable_body) and nothing else.
struct write_reply {
  ticket t = 0;
  uint64_t seq = 0;
  std::vector<storage::op_result> results;
  std::string error;
};

// The owner's answer to one forwarded write (the same fields as write_reply).
struct forward_reply {
  uint64_t seq = 0;
  std::vector<storage::op_result> results;
  std::string error;  // empty: committed
};

// Writes for the owner, in one message; the answers come back through
// intake::on_forwarded or on_forward_failed with the same tickets.
struct forward_batch {
  std::string owner;
  std::vector<ticket> tickets;
  std::vector<std::vector<storage::op>> writes;
};

// What the caller carries out, in this order: the forward, the appends, the
// answers, then the self-notices (commit notice before flush).
struct intake_effects {
  std::optional<forward_batch> forward;
  std::vector<std::pair<std::string, append_msg>> appends;  // a batch ordered here, to each online server
  std::vector<write_reply> replies;
  bool schedule_notice = false;  // call take_commit_notice() once the mailbox is drained
  bool schedule_flush = false;   // call flush() once the mailbox is drained
};

class intake {
 public:
  // `m` and `db` outlive the intake; `db_name` and `self` name the database and
  // this node in the 503 bodies; a write not ordered within `write_timeout_ms`
  // is refused, and one ordered gets this deadline for its quorum.
  intake(member& m, const storage::database& db, std::string db_name, std::string self, int64_t write_timeout_ms);
  // How statements are expanded here (without one, they are refused).
  void set_expander(expander x) { expand_ = std::move(x); }

  // A client write (REQUIRES: 0 < ops.size() <= write_ops_max). `forwarded`:
  // another node passed it on as this owner's. The answer comes in fx.replies
  // now or in the effects of a later call, under the returned ticket.
  ticket write(std::vector<storage::op> ops, bool forwarded, int64_t now_ms, intake_effects& fx);
  // The flush it scheduled: the forward, and the queued writes ordered as one batch.
  void flush(int64_t now_ms, intake_effects& fx);
  // The owner's answers to a forward_batch, or the failure of the whole message
  // (`nowhere`: the owner is not a member or lacks the database).
  void on_forwarded(const std::vector<ticket>& tickets, std::vector<forward_reply> replies, int64_t now_ms,
                    intake_effects& fx);
  void on_forward_failed(const std::vector<ticket>& tickets, const std::string& owner, bool nowhere,
                         const std::string& error, intake_effects& fx);

  // The member's effects, for the writes here, in two steps: before its
  // messages are sent (it stepped down or abandoned a takeover: writes lose
  // their owner) and after (writes that ended; writes that waited for an owner
  // move on).
  void on_owner_lost(const effects& m, intake_effects& fx);
  void on_writes_ended(effects& m, intake_effects& fx);
  // The role changed (after on_writes_ended): queued writes move on.
  void on_role(intake_effects& fx) { route_queued(fx); }
  // Time passes: queued writes without an owner past their deadline are
  // refused; forwarded writes wait for read-your-writes no longer than allowed.
  void tick(int64_t now_ms, intake_effects& fx);
  // This node committed more (an append): the forwarded writes it holds now are answered.
  void read_your_writes(int64_t now_ms, intake_effects& fx);
  // The commit notice it scheduled: true when the owner should announce its
  // commit point (a heartbeat) because a write committed since the last one.
  bool take_commit_notice();
  // The node stops: every write held is answered.
  void stop(int64_t now_ms, intake_effects& fx);

  size_t queued() const { return queued_.size(); }
  size_t waiting() const { return waiting_.size(); }  // ordered here, waiting for the quorum
  uint64_t acknowledged() const { return acknowledged_; }
  uint64_t refused() const { return refused_; }
  uint64_t unknown() const { return unknown_; }

 private:
  struct queued_write {
    ticket t = 0;
    std::vector<storage::op> ops;
    int64_t deadline_ms = 0;
    bool forwarded = false;
  };
  struct ryw_wait {
    ticket t = 0;
    std::vector<storage::op_result> results;
    int64_t since_ms = 0;
  };
  void refuse(ticket t, const std::string& why, intake_effects& fx);
  void reply_error(ticket t, const std::vector<std::string>& answered, bool applied_nowhere,
                   const std::string& content, intake_effects& fx) const;
  std::vector<std::string> holders(uint64_t seq) const;
  void forward(queued_write w, intake_effects& fx);
  void route_queued(intake_effects& fx);
  void end(std::vector<outcome>& ended, intake_effects& fx);
  void abandon_waiting(const std::string& why, intake_effects& fx);
  void answer_ryw(bool all, int64_t now_ms, intake_effects& fx);
  void order(std::vector<queued_write> q, int64_t now_ms, intake_effects& fx);
  bool drained() const;

  member& m_;
  const storage::database& db_;
  std::string db_name_;
  std::string self_;
  int64_t write_timeout_ms_;
  ticket tickets_ = 0;
  std::vector<queued_write> queued_;  // to order here, at the next flush
  size_t queued_ops_ = 0;
  std::vector<queued_write> forwarding_;  // to send to the owner at the next flush
  bool flush_scheduled_ = false;
  std::map<uint64_t, ticket> waiting_;  // ordered here, waiting for the quorum, by seq
  std::map<uint64_t, ryw_wait> ryw_;    // committed by the owner, not yet held here, by seq
  expander expand_;
  std::map<ticket, std::string> answers_;  // statements ordered here: their answers, by ticket
  bool commit_dirty_ = false;
  bool notice_scheduled_ = false;
  uint64_t acknowledged_ = 0, refused_ = 0, unknown_ = 0;
};

}  // namespace troupe::replication
