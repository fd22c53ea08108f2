// The cluster link's handshake and framing (plain code: no I/O, no CAF).
//
// Every connection between two nodes' cluster ports passes a guard
// (src/link/guard.hpp) that speaks this before any byte of CAF's own protocol
// (BASP) is let through:
//
//   connector -> listener   C1  "TRL2" flags(1) nonce_c(16) name_len(1) name           hello
//   listener  -> connector  S1  "TRL2" flags(1) nonce_s(16)                            challenge
//   connector -> listener   C2  proof_c(32) eph_c(32) pub_c(32) sig_c(64)              the connector proves first
//   listener  -> connector  S2  proof_s(32) eph_s(32) pub_s(32) sig_s(64)              then the listener
//   both ways               frames: len(4, big-endian) sealed(len) ...
//
// Two things are proved. **The group:** proof_x = HMAC-SHA256(K, "proof" | T_x),
// K = PBKDF2-HMAC-SHA256(group password, "troupe-link:" + group name, 100k
// iterations). **The member:** sig_x = Ed25519(the node's own key, "sig" | T_x),
// pub_x being that key's public half (a node key: made once per node and kept
// in its home, src/link/identity.hpp). T_c covers the group, both nonces, the
// name, eph_c and pub_c; T_s covers T_c's fields, all of C2 and eph_s, pub_s. eph_x
// are X25519 keys made for this link only.
// **Why the connector proves first:** a listener is reachable by anyone, and a
// proof is material for guessing the password offline; a connector only
// proves to an address it chose (a configured member), and a listener reveals
// nothing before the other side proved. Stretching K makes each offline guess
// cost 100k HMACs.
// **Why a key per node:** every member knows the group password, so the group
// proof cannot tell members apart. The signature binds this link to one node
// key; the guard then binds the CAF node id the peer announces on it (the
// first BASP handshake) to that key, and the cluster admits a member with the
// key its link proved (src/link/identity.hpp): a member cannot pose as
// another one. The ephemeral keys give each link secrets that neither the
// group password nor a node key reveals later.
//
// Frames are AES-256-GCM with per-direction keys from K, the X25519 secret of
// eph_c and eph_s and the transcript, the 96-bit GCM nonce being the
// direction's frame counter: a frame replayed, reordered, dropped from the
// middle, altered or sent under another key fails its tag and closes the
// link. With encryption off (flags bit 0 clear on both sides) the payload
// travels in the clear and is authenticated only (it is GCM's additional
// data). Both sides must agree on the flag.
//
// basp_checker reads the plaintext a peer sends (CAF 0.17's BASP: a 32-byte
// header, operation at byte 0, payload length at bytes 4..7, big-endian) and
// refuses a payload above basp_payload_bytes_max before CAF would allocate it,
// and routed messages (troupe's nodes are all directly connected; a routed
// message names its source node itself, so it could pose as any node). It
// reads the CAF node id the peer announces in its handshake (the first 32
// bytes of the payload: "default", pid, host id) and refuses a monitor or
// down message naming another source node, which CAF would otherwise believe.
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::link {

inline constexpr std::string_view magic = "TRL2";
inline constexpr size_t nonce_bytes = 16;
inline constexpr size_t proof_bytes = 32;
inline constexpr size_t name_bytes_max = 64;
inline constexpr size_t tag_bytes = 16;
inline constexpr size_t frame_plain_bytes_max = 64 * 1024;  // what one frame carries
inline constexpr size_t hello_bytes_max = 4 + 1 + nonce_bytes + 1 + name_bytes_max;
inline constexpr size_t challenge_bytes = 4 + 1 + nonce_bytes;
inline constexpr uint32_t basp_payload_bytes_max = 64u << 20;  // deploy chunks are 1 MiB
inline constexpr int group_key_iterations = 100'000;
inline constexpr size_t public_key_bytes = 32;  // Ed25519 and X25519
inline constexpr size_t signature_bytes = 64;   // Ed25519
inline constexpr size_t auth_bytes = proof_bytes + 2 * public_key_bytes + signature_bytes;

using key = std::array<uint8_t, 32>;

// K above. Costs ~100k HMACs: derive once per node.
key derive_group_key(std::string_view group, std::string_view password, int iterations = group_key_iterations);

std::string random_bytes(size_t n);

struct hello {
  bool encrypt = false;
  std::string nonce;  // nonce_bytes
  std::string name;   // 1..name_bytes_max, the connector's node name (as it claims)
};
struct challenge {
  bool encrypt = false;
  std::string nonce;
};

std::string encode(const hello& h);
std::string encode(const challenge& c);

enum class parse { need_more, ok, bad };
// From the front of `buf`: need_more until a whole message is there; `used`
// is its length when ok; `why` says what is wrong when bad.
parse parse_hello(std::string_view buf, hello& out, size_t& used, std::string& why);
parse parse_challenge(std::string_view buf, challenge& out, std::string& why);

// A node's own signing key (Ed25519), raw.
struct node_key {
  std::string secret;  // 32 bytes
  std::string pub;     // public_key_bytes
};
node_key generate_node_key();
// The key whose raw secret is `secret`; nullopt if it is not one.
std::optional<node_key> node_key_from_secret(std::string_view secret);
// Lower-case hex of a public key: how member_info and the log carry it.
std::string key_text(std::string_view pub);

// C2 and S2.
struct auth {
  std::string proof;  // proof_bytes
  std::string eph;    // public_key_bytes, this link's X25519 public key
  std::string pub;    // public_key_bytes, the sender's node key
  std::string sig;    // signature_bytes
};
std::string encode(const auth& a);
auth parse_auth(std::string_view bytes);  // REQUIRES: bytes.size() == auth_bytes

// One side's part of a handshake: its ephemeral key and what it proves.
struct handshake_side {
  std::string eph_secret;  // raw X25519 secret; never leaves the guard
  auth a;
};
// role 'c': the connector's C2 (connector == nullptr). role 's': the
// listener's S2 over the connector's C2.
handshake_side make_auth(const key& k, const node_key& me, char role, std::string_view group, const hello& h,
                         std::string_view nonce_s, const auth* connector = nullptr);
// Checks the other side's C2 (role 'c') or S2 (role 's', `connector` = our C2):
// the group proof first (constant time), then the node key's signature. False
// and `why` when either fails.
bool check_auth(const key& k, char role, std::string_view group, const hello& h, std::string_view nonce_s,
                const auth& theirs, const auth* connector, std::string& why);

struct session_keys {
  key connector_to_listener, listener_to_connector;
};
// From K, the X25519 secret of our ephemeral key and theirs, and both auths.
// nullopt when the peer's ephemeral key gives no secret (a low-order point).
std::optional<session_keys> derive_session_keys(const key& k, std::string_view my_eph_secret, const auth& c,
                                                const auth& s, const hello& h, std::string_view nonce_s);

// Seals one direction's frames. Not thread-safe (one per direction).
class sealer {
 public:
  sealer(const key& k, bool encrypt) : key_(k), encrypt_(encrypt) {}
  // REQUIRES: plain.size() <= frame_plain_bytes_max. Appends len + sealed frame to `out`.
  void seal(std::string_view plain, std::string& out);
  uint64_t frames() const { return seq_; }

 private:
  key key_;
  bool encrypt_;
  uint64_t seq_ = 0;
};

// Opens one direction's frames from a byte stream, in order. Not thread-safe.
class opener {
 public:
  opener(const key& k, bool encrypt) : key_(k), encrypt_(encrypt) {}
  // Feeds received bytes; appends the plaintext of every whole frame to `out`.
  // False (and `why`) on a frame too long or failing its tag: close the link.
  bool feed(std::string_view bytes, std::string& out, std::string& why);

 private:
  key key_;
  bool encrypt_;
  uint64_t seq_ = 0;
  std::string buf_;
};

// Checks the BASP stream a peer sends, header by header. Bytes pass unchanged.
// `first_bytes_max`, if set, bounds the payloads of the first `first_count`
// messages more tightly: what a peer may send before it could have logged in.
//
// It also reads the CAF node id the peer announces (its first message must be
// a handshake, `expect_op`: 0 = server, 1 = client) and calls `on_node` with it
// as CAF prints it ("HOSTHEX#pid") once; `on_node` returning false refuses.
// Later handshakes must announce the same id, monitor and down messages must
// name it as their source.
class basp_checker {
 public:
  explicit basp_checker(uint32_t payload_bytes_max = basp_payload_bytes_max, uint32_t first_bytes_max = 0,
                        uint64_t first_count = 0)
      : max_(payload_bytes_max), first_max_(first_bytes_max), first_count_(first_count) {}
  bool feed(std::string_view bytes, std::string& why);
  // Messages whose payload has been seen whole.
  uint64_t messages() const { return messages_; }
  // Checks node ids as described above. REQUIRES: before the first feed.
  void expect_node(int expect_op, std::function<bool(const std::string& node_id, std::string& why)> on_node) {
    expect_op_ = expect_op;
    on_node_ = std::move(on_node);
  }
  const std::string& node_id() const { return node_id_; }

 private:
  bool node_check(std::string& why);
  int expect_op_ = -1;  // -1: no node id checks
  std::function<bool(const std::string&, std::string&)> on_node_;
  std::string node_id_;
  uint8_t op_ = 0;
  std::string node_bytes_;  // the current message's first bytes, while a node id is read
  bool reading_node_ = false;
  uint32_t max_;
  uint32_t first_max_;
  uint64_t first_count_;
  uint64_t headers_ = 0, messages_ = 0;
  size_t header_have_ = 0;
  std::array<uint8_t, 32> header_{};
  uint64_t payload_left_ = 0;
};

}  // namespace troupe::link
