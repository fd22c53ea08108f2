// src/cluster/handshake: the join handshake's proofs and the acceptor's
// bookkeeping, one attack or mistake per case.
#include <doctest/doctest.h>

#include "src/cluster/handshake.hpp"

using namespace troupe;

namespace {

const std::string pw = "s3cret", group = "orientdb";

member_info entry(const std::string& name, const std::string& key) {
  member_info m;
  m.name = name;
  m.key = key;
  return m;
}

// A joiner's full handshake against `acc`: hello, check the acceptor's proof,
// then auth with the proof computed from `password`.
std::optional<handshake_refusal> join(handshake_acceptor& acc, const std::string& password,
                                      const std::string& name = "n2", const std::string& joiner_id = "J",
                                      const std::string& acceptor_id = "A") {
  handshake_acceptor::challenge c;
  if (auto no = acc.hello(group, name, "jn", joiner_id, "n1", acceptor_id, 0, "an", &c)) return no;
  REQUIRE(c.proof == acceptor_proof(pw, group, "jn", "n1", joiner_id, acceptor_id));
  auto proof = joiner_proof(password, group, c.nonce, name, joiner_id, acceptor_id);
  return acc.auth(name, proof, entry(name, "K"), joiner_id, acceptor_id, std::string("K"), true);
}

}  // namespace

TEST_CASE("handshake: a joiner that knows the password is accepted once per hello") {
  handshake_acceptor acc(group, pw, 4);
  CHECK_FALSE(join(acc, pw).has_value());
  CHECK(acc.pending() == 0);
  // Replaying the same auth: the hello is used up.
  auto proof = joiner_proof(pw, group, "an", "n2", "J", "A");
  auto again = acc.auth("n2", proof, entry("n2", "K"), "J", "A", std::string("K"), true);
  REQUIRE(again);
  CHECK(again->code == handshake_error::no_pending_hello);
}

TEST_CASE("handshake: refusals, each with its code") {
  struct row {
    const char* what;
    std::string group, password, name, claimed_name, claimed_key, auth_from;
    std::optional<std::string> proven_key;
    handshake_error code;
  };
  std::vector<row> rows{
      {"another group", "other", pw, "n2", "n2", "K", "J", std::string("K"), handshake_error::wrong_group},
      {"wrong password", group, "guess", "n2", "n2", "K", "J", std::string("K"), handshake_error::wrong_password},
      {"auth from another node id than the hello", group, pw, "n2", "n2", "K", "X", std::string("K"),
       handshake_error::no_pending_hello},
      {"entry names another node", group, pw, "n2", "n3", "K", "J", std::string("K"), handshake_error::bad_name},
      {"invalid node name", group, pw, "bad name!", "bad name!", "K", "J", std::string("K"), handshake_error::bad_name},
      {"key not the one the link proved", group, pw, "n2", "n2", "K", "J", std::string("Z"),
       handshake_error::key_not_proven},
      {"no key proven at all", group, pw, "n2", "n2", "K", "J", std::nullopt, handshake_error::key_not_proven},
  };
  for (auto& r : rows) {
    CAPTURE(r.what);
    handshake_acceptor acc(group, pw, 4);
    handshake_acceptor::challenge c;
    auto no = acc.hello(r.group, r.name, "jn", "J", "n1", "A", 0, "an", &c);
    if (!no) {
      auto proof = joiner_proof(r.password, group, c.nonce, r.name, r.auth_from, "A");
      no = acc.auth(r.name, proof, entry(r.claimed_name, r.claimed_key), r.auth_from, "A", r.proven_key, true);
    }
    REQUIRE(no.has_value());
    CHECK(no->code == r.code);
    // The joiner is never told which half of the secret was wrong.
    if (r.code == handshake_error::wrong_group || r.code == handshake_error::wrong_password)
      CHECK(no->answer == "wrong group name or password");
  }
}

TEST_CASE("handshake: a proof relayed between other ends does not pass") {
  // The acceptor's proof names both ends: one made for joiner J is not one for K.
  CHECK(acceptor_proof(pw, group, "n", "n1", "J", "A") != acceptor_proof(pw, group, "n", "n1", "K", "A"));
  CHECK(acceptor_proof(pw, group, "n", "n1", "J", "A") != acceptor_proof(pw, group, "n", "n1", "J", "B"));
  // A joiner's proof is not an acceptor's proof over the same values.
  CHECK(acceptor_proof(pw, group, "n", "x", "J", "A") != joiner_proof(pw, group, "n", "x", "J", "A"));
  // A third node M that relays J's auth under its own node id fails.
  handshake_acceptor acc(group, pw, 4);
  handshake_acceptor::challenge c;
  REQUIRE_FALSE(acc.hello(group, "n2", "jn", "M", "n1", "A", 0, "an", &c));
  auto relayed = joiner_proof(pw, group, c.nonce, "n2", "J", "A");
  auto no = acc.auth("n2", relayed, entry("n2", "K"), "M", "A", std::string("K"), true);
  REQUIRE(no);
  CHECK(no->code == handshake_error::wrong_password);
}

TEST_CASE("handshake: pending hellos are bounded, the oldest goes first") {
  handshake_acceptor acc(group, pw, 2);
  handshake_acceptor::challenge c;
  REQUIRE_FALSE(acc.hello(group, "n2", "x", "J1", "n1", "A", 10, "a1", &c));
  REQUIRE_FALSE(acc.hello(group, "n3", "x", "J2", "n1", "A", 20, "a2", &c));
  REQUIRE_FALSE(acc.hello(group, "n2", "x", "J1", "n1", "A", 30, "a3", &c));  // J1 again: replaced, not added
  CHECK(acc.pending() == 2);
  REQUIRE_FALSE(acc.hello(group, "n4", "x", "J3", "n1", "A", 40, "a4", &c));  // evicts J2 (at 20)
  CHECK(acc.pending() == 2);
  auto no = acc.auth("n3", joiner_proof(pw, group, "a2", "n3", "J2", "A"), entry("n3", "K"), "J2", "A",
                     std::string("K"), true);
  REQUIRE(no);
  CHECK(no->code == handshake_error::no_pending_hello);
  // J1's newest nonce is the one that counts.
  CHECK_FALSE(acc.auth("n2", joiner_proof(pw, group, "a3", "n2", "J1", "A"), entry("n2", "K"), "J1", "A",
                       std::string("K"), true));
}
