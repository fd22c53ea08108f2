// The join handshake's rules, as plain code: the cluster actor (acceptor side,
// hello_atom and auth_atom) and the joiner actor (joiner side) call these and
// only carry messages.
//
// A challenge/response in both directions: the joiner sends a fresh nonce and
// the group name; the acceptor answers with its own nonce and an HMAC over the
// joiner's nonce (it knows the group password); the joiner checks it before it
// sends anything of its own, then answers the acceptor's nonce with its HMAC,
// its member entry and its configurations. The password never travels. Both
// proofs name the two ends by the node ids CAF reports for the connection, so
// a third node cannot relay one side's proof to the other, and a proof answers
// one pending hello only once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "src/cluster/cluster_model.hpp"

namespace troupe {

// Why a handshake was refused. The acceptor answers errc::invalid_argument
// for bad_name and errc::join_refused for the others.
enum class handshake_error {
  wrong_group,       // the joiner names another group
  no_pending_hello,  // auth without a hello from that node id (or from another name)
  wrong_password,    // the joiner's proof does not match the group password
  bad_name,          // not a valid node name, or the member entry names another node
  key_not_proven,    // the node key in the entry is not the one the joiner's link proved
};

struct handshake_refusal {
  handshake_error code;
  std::string answer;  // what the joiner is told (never which half of the secret was wrong)
  std::string log;     // what the acceptor logs ("" for nothing)
};

// The acceptor's proof over the joiner's nonce; the joiner's over the acceptor's.
std::string acceptor_proof(const std::string& password, const std::string& group, const std::string& joiner_nonce,
                           const std::string& acceptor_name, const std::string& joiner_id, const std::string& acceptor_id);
std::string joiner_proof(const std::string& password, const std::string& group, const std::string& acceptor_nonce,
                         const std::string& joiner_name, const std::string& joiner_id, const std::string& acceptor_id);

// Acceptor side: the hellos waiting for their auth, by the joiner's node id,
// at most `pending_max` of them (the oldest is dropped for a new one).
class handshake_acceptor {
 public:
  handshake_acceptor(std::string group, std::string password, size_t pending_max);

  struct challenge {
    std::string nonce;  // the acceptor's
    std::string proof;  // acceptor_proof
  };
  // A hello from node id `joiner_id` naming itself `name`. `fresh_nonce` is a
  // new random nonce (the caller's: random_nonce()).
  std::optional<handshake_refusal> hello(const std::string& group, const std::string& name,
                                         const std::string& joiner_nonce, const std::string& joiner_id,
                                         const std::string& my_name, const std::string& my_id, int64_t now_ms,
                                         std::string fresh_nonce, challenge* out);
  // The auth that follows: `proof` over our nonce, the member entry `m` the
  // joiner claims (its node_id is ignored: the caller sets it from CAF), and
  // the key its link proved (nullopt: none). The pending hello is used up.
  std::optional<handshake_refusal> auth(const std::string& name, const std::string& proof, const member_info& m,
                                        const std::string& joiner_id, const std::string& my_id,
                                        const std::optional<std::string>& proven_key, bool check_key);
  size_t pending() const { return pending_.size(); }

 private:
  struct pending_hello {
    std::string name;
    std::string nonce;
    int64_t at_ms = 0;
  };
  std::string group_, password_;
  size_t pending_max_;
  std::map<std::string, pending_hello> pending_;
};

}  // namespace troupe
