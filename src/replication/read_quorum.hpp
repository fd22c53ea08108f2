// Quorum reads (a REST read of a database whose readQuorum is above 1): whom
// to ask and when enough copies are in, as plain code. The relay actor
// (actors/relay_actor) asks and carries out the answer; this core decides.
//
// The rule: the node asks every other server of the database that is online
// and connected, and answers with the newest copy (highest committed seq)
// once `quorum` copies, its own included, are in. When the owner is among the
// servers asked, its copy is awaited too: a write is acknowledged once the
// owner committed it and a quorum staged it, and a replica shows only what it
// committed, so a quorum of replicas may not have it yet while the owner does
// (read-your-writes across nodes). Too few servers to ask, or every answer in
// without enough of them: refused with the one 503 body (unavailable_body).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "src/replication/role.hpp"

namespace troupe::replication {

struct read_plan {
  enum class kind { answer_here, refuse, ask } what = kind::answer_here;
  std::vector<std::string> ask;  // ask: the servers to ask, in role order
  std::string await_owner;       // ask: the owner among them ("" when it is this node or not asked)
  std::string refusal;           // refuse: the 503 body
};

// `connected`: the members this node has a connection to now.
read_plan plan_read(const std::string& db, uint32_t quorum, const role& r, const std::string& self,
                    const std::set<std::string>& connected);

// The answers to one planned read, as they come in.
class read_gather {
 public:
  enum class step {
    wait,     // not decided yet
    answer,   // answer now with the newest copy
    refuse,   // answer now with refusal()
    decided,  // decided before: ignore this answer
  };
  read_gather(std::string db, uint32_t quorum, std::vector<std::string> servers, std::string self, uint64_t own_seq,
              const read_plan& plan);
  // `node` answered with a copy at `committed_seq`; `*newest` is set when that
  // copy is the newest so far (the caller keeps it).
  step answered(const std::string& node, uint64_t committed_seq, bool* newest);
  // A server did not answer (timeout, error).
  step failed();
  std::string refusal() const;
  const std::vector<std::string>& answered_by() const { return answered_; }

 private:
  step settle();
  std::string db_;
  uint32_t quorum_;
  std::vector<std::string> servers_;
  std::vector<std::string> answered_;
  uint64_t best_seq_;
  std::string await_owner_;
  size_t left_;
  bool decided_ = false;
};

}  // namespace troupe::replication
