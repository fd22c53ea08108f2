#include "src/cluster/handshake.hpp"

#include <algorithm>

#include "src/util/strings.hpp"

namespace troupe {

std::string acceptor_proof(const std::string& password, const std::string& group, const std::string& joiner_nonce,
                           const std::string& acceptor_name, const std::string& joiner_id,
                           const std::string& acceptor_id) {
  return hmac_proof(password, {"acceptor", group, joiner_nonce, acceptor_name, joiner_id, acceptor_id});
}

std::string joiner_proof(const std::string& password, const std::string& group, const std::string& acceptor_nonce,
                         const std::string& joiner_name, const std::string& joiner_id, const std::string& acceptor_id) {
  return hmac_proof(password, {"joiner", group, acceptor_nonce, joiner_name, joiner_id, acceptor_id});
}

handshake_acceptor::handshake_acceptor(std::string group, std::string password, size_t pending_max)
    : group_(std::move(group)), password_(std::move(password)), pending_max_(std::max<size_t>(pending_max, 1)) {}

std::optional<handshake_refusal> handshake_acceptor::hello(const std::string& group, const std::string& name,
                                                           const std::string& joiner_nonce, const std::string& joiner_id,
                                                           const std::string& my_name, const std::string& my_id,
                                                           int64_t now_ms, std::string fresh_nonce, challenge* out) {
  if (group != group_)
    return handshake_refusal{handshake_error::wrong_group, "wrong group name or password",
                             cat("refused node '", name, "': wrong group name '", group, "'")};
  if (pending_.size() >= pending_max_ && !pending_.count(joiner_id)) {
    auto oldest = std::min_element(pending_.begin(), pending_.end(),
                                   [](auto& a, auto& b) { return a.second.at_ms < b.second.at_ms; });
    pending_.erase(oldest);
  }
  out->proof = acceptor_proof(password_, group, joiner_nonce, my_name, joiner_id, my_id);
  out->nonce = fresh_nonce;
  pending_[joiner_id] = pending_hello{name, std::move(fresh_nonce), now_ms};
  return std::nullopt;
}

std::optional<handshake_refusal> handshake_acceptor::auth(const std::string& name, const std::string& proof,
                                                          const member_info& m, const std::string& joiner_id,
                                                          const std::string& my_id,
                                                          const std::optional<std::string>& proven_key,
                                                          bool check_key) {
  auto h = pending_.find(joiner_id);
  if (h == pending_.end() || h->second.name != name)
    return handshake_refusal{handshake_error::no_pending_hello, "no pending hello from this node", ""};
  auto expect = joiner_proof(password_, group_, h->second.nonce, name, joiner_id, my_id);
  pending_.erase(h);  // one proof per hello
  if (!constant_time_equal(expect, proof))
    return handshake_refusal{handshake_error::wrong_password, "wrong group name or password",
                             cat("refused node '", name, "' (", m.member_id(), "): wrong group password")};
  if (!valid_node_name(name) || m.name != name) return handshake_refusal{handshake_error::bad_name, "bad node name", ""};
  if (check_key && (!proven_key || *proven_key != m.key))
    return handshake_refusal{handshake_error::key_not_proven, "the node key is not the one the link proved",
                             cat("refused node '", name, "' (", m.member_id(),
                                 "): its node key is not the one its link proved")};
  return std::nullopt;
}

}  // namespace troupe
