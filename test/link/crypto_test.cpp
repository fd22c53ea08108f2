#include <doctest/doctest.h>

#include <random>

#include "src/cluster/cluster_model.hpp"
#include "src/link/crypto.hpp"

using namespace troupe::link;
using troupe::constant_time_equal;

namespace {

key test_key(char c) {
  key k{};
  k.fill(static_cast<uint8_t>(c));
  return k;
}

hello sample_hello() { return hello{false, std::string(nonce_bytes, 'n'), "node-1"}; }

// A BASP header: operation, payload length (big-endian at bytes 4..7).
std::string basp_header(uint8_t op, uint32_t len) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(op);
  for (int i = 0; i < 4; ++i) h[static_cast<size_t>(4 + i)] = static_cast<char>((len >> (8 * (3 - i))) & 0xff);
  return h;
}

}  // namespace

TEST_CASE("link: hello and challenge round-trip, and arrive in pieces") {
  auto h = sample_hello();
  h.encrypt = true;
  auto bytes = encode(h);
  CHECK(bytes.size() <= hello_bytes_max);
  hello out;
  size_t used = 0;
  std::string why;
  for (size_t n = 0; n < bytes.size(); ++n)
    CHECK(parse_hello(std::string_view(bytes).substr(0, n), out, used, why) == parse::need_more);
  REQUIRE(parse_hello(bytes + "extra", out, used, why) == parse::ok);
  CHECK(used == bytes.size());
  CHECK(out.encrypt);
  CHECK(out.nonce == h.nonce);
  CHECK(out.name == "node-1");
  challenge c{true, std::string(nonce_bytes, 's')}, c2;
  REQUIRE(parse_challenge(encode(c), c2, why) == parse::ok);
  CHECK(c2.nonce == c.nonce);
}

TEST_CASE("link: bad hellos are refused with a reason") {
  auto good = encode(sample_hello());
  struct bad {
    const char* name;
    std::string bytes;
  };
  auto with = [&](size_t at, char v) {
    auto b = good;
    b[at] = v;
    return b;
  };
  std::vector<bad> table = {
      {"wrong magic", with(0, 'X')},
      {"BASP instead of a hello", basp_header(0, 100)},
      {"HTTP instead of a hello", "GET / HTTP/1.1\r\n\r\n"},
      {"unknown flag", with(4, 2)},
      {"empty name", with(21, 0)},
      {"name too long", with(21, 65)},
      {"a control character in the name", with(22, '\n')},
      {"a slash in the name", with(23, '/')},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    hello out;
    size_t used = 0;
    std::string why;
    CHECK(parse_hello(b.bytes, out, used, why) == parse::bad);
    CHECK_FALSE(why.empty());
  }
}

TEST_CASE("link: a seeded fuzz pass over the hello parser never crashes and never accepts a bad name") {
  uint32_t seed = 20261207;
  if (const char* s = std::getenv("TROUPE_SEED")) seed = static_cast<uint32_t>(std::strtoul(s, nullptr, 10));
  CAPTURE(seed);
  std::mt19937 rng(seed);
  auto good = encode(sample_hello());
  for (int i = 0; i < 20000; ++i) {
    auto b = good;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      switch (rng() % 3) {
        case 0: b[rng() % b.size()] = static_cast<char>(rng()); break;
        case 1: b.erase(rng() % b.size(), 1); break;
        default: b.insert(b.begin() + static_cast<long>(rng() % (b.size() + 1)), static_cast<char>(rng())); break;
      }
      if (b.empty()) b = "x";
    }
    hello out;
    size_t used = 0;
    std::string why;
    auto r = parse_hello(b, out, used, why);
    if (r == parse::ok) {
      CHECK(used <= b.size());
      CHECK((!out.name.empty() && out.name.size() <= name_bytes_max));
      CHECK(out.nonce.size() == nonce_bytes);
    }
  }
}

TEST_CASE("link: proofs bind role, group, both nonces and the name; keys differ by direction") {
  auto k = test_key('k');
  auto h = sample_hello();
  auto base = proof(k, 'c', "g", h, "server-nonce-16b");
  CHECK(base.size() == proof_bytes);
  CHECK(constant_time_equal(base, proof(k, 'c', "g", h, "server-nonce-16b")));
  CHECK_FALSE(constant_time_equal(base, proof(k, 's', "g", h, "server-nonce-16b")));
  CHECK_FALSE(constant_time_equal(base, proof(k, 'c', "g2", h, "server-nonce-16b")));
  CHECK_FALSE(constant_time_equal(base, proof(k, 'c', "g", h, "server-nonce-16c")));
  CHECK_FALSE(constant_time_equal(base, proof(test_key('j'), 'c', "g", h, "server-nonce-16b")));
  auto other = h;
  other.name = "node-2";
  CHECK_FALSE(constant_time_equal(base, proof(k, 'c', "g", other, "server-nonce-16b")));
  CHECK_FALSE(constant_time_equal(base, base.substr(0, 31)));
  auto s = derive_session_keys(k, "a", "b");
  CHECK(s.connector_to_listener != s.listener_to_connector);
  CHECK(derive_group_key("g", "pw", 1000) != derive_group_key("g", "pw2", 1000));
  CHECK(derive_group_key("g", "pw", 1000) != derive_group_key("h", "pw", 1000));
}

TEST_CASE("link: sealed frames open in order, in any pieces; a changed, replayed, reordered or foreign frame fails") {
  for (bool encrypt : {false, true}) {
    CAPTURE(encrypt);
    auto k = test_key('s');
    sealer tx(k, encrypt);
    std::string wire;
    std::vector<std::string> sent = {"marker-ABCDEF first", "", std::string(frame_plain_bytes_max, 'z'), "last"};
    std::vector<size_t> at;
    for (auto& m : sent) {
      at.push_back(wire.size());
      tx.seal(m, wire);
    }
    CHECK((wire.find("marker-ABCDEF") != std::string::npos) == !encrypt);
    {
      opener rx(k, encrypt);
      std::string out, why;
      for (char ch : wire) REQUIRE(rx.feed(std::string_view(&ch, 1), out, why));
      CHECK(out == sent[0] + sent[1] + sent[2] + sent[3]);
    }
    std::string out, why;
    auto tampered = wire;
    tampered[at[0] + 6] ^= 1;
    CHECK_FALSE(opener(k, encrypt).feed(tampered, out, why));
    CHECK_FALSE(why.empty());
    auto replayed = wire.substr(0, at[1]) + wire.substr(0, at[1]);
    CHECK_FALSE(opener(k, encrypt).feed(replayed, out, why));
    auto reordered = wire.substr(at[1], at[2] - at[1]) + wire.substr(0, at[1]);
    CHECK_FALSE(opener(k, encrypt).feed(reordered, out, why));
    CHECK_FALSE(opener(test_key('t'), encrypt).feed(wire, out, why));
    CHECK_FALSE(opener(k, !encrypt).feed(wire.substr(0, at[1]), out, why));
    std::string huge("\x7f\xff\xff\xff", 4);
    CHECK_FALSE(opener(k, encrypt).feed(huge, out, why));
  }
}

TEST_CASE("link: the BASP checker passes messages in any pieces and refuses oversized and routed ones") {
  std::string stream = basp_header(0, 5) + "hello" + basp_header(2, 0) + basp_header(2, 3) + "abc" + basp_header(6, 0);
  basp_checker ok;
  std::string why;
  for (char ch : stream) REQUIRE(ok.feed(std::string_view(&ch, 1), why));
  struct bad {
    const char* name;
    std::string bytes;
  };
  std::vector<bad> table = {
      {"a 256 MiB payload announced", basp_header(2, 256u << 20)},
      {"a routed message", basp_header(3, 10)},
      {"an unknown operation", basp_header(9, 0)},
      {"over the bound after a good message", basp_header(2, 1) + "x" + basp_header(2, basp_payload_bytes_max + 1)},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    basp_checker c;
    CHECK_FALSE(c.feed(b.bytes, why));
  }
  basp_checker edge;
  CHECK(edge.feed(basp_header(2, basp_payload_bytes_max), why));
}
