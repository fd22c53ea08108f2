// The cluster link's handshake and framing (plain code: no I/O, no CAF).
//
// Every connection between two nodes' cluster ports passes a guard
// (src/link/guard.hpp) that speaks this before any byte of CAF's own protocol
// (BASP) is let through:
//
//   connector -> listener   C1  "TRL1" flags(1) nonce_c(16) name_len(1) name      hello
//   listener  -> connector  S1  "TRL1" flags(1) nonce_s(16)                       challenge
//   connector -> listener   C2  proof_c(32)                                       the connector proves first
//   listener  -> connector  S2  proof_s(32)                                       then the listener
//   both ways               frames: len(4, big-endian) sealed(len) ...
//
// proof_x = HMAC-SHA256(K, "troupe-link" | x | group | nonce_c | nonce_s | name), x = 'c' or 's';
// K = PBKDF2-HMAC-SHA256(group password, "troupe-link:" + group name, 100k iterations).
// **Why the connector proves first:** a listener is reachable by anyone, and a
// proof is material for guessing the password offline; a connector only
// proves to an address it chose (a configured member), and a listener reveals
// nothing before the other side proved. Stretching K makes each offline guess
// cost 100k HMACs.
//
// Frames are AES-256-GCM with per-direction keys from K and both nonces, the
// 96-bit GCM nonce being the direction's frame counter: a frame replayed,
// reordered, dropped from the middle, altered or sent under another key fails
// its tag and closes the link. With encryption off (flags bit 0 clear on both
// sides) the payload travels in the clear and is authenticated only (it is
// GCM's additional data). Both sides must agree on the flag.
//
// basp_checker reads the plaintext a peer sends (CAF 0.17's BASP: a 32-byte
// header, operation at byte 0, payload length at bytes 4..7, big-endian) and
// refuses a payload above basp_payload_bytes_max before CAF would allocate it,
// and routed messages (troupe's nodes are all directly connected; a routed
// message names its source node itself, so it could pose as any node).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace troupe::link {

inline constexpr std::string_view magic = "TRL1";
inline constexpr size_t nonce_bytes = 16;
inline constexpr size_t proof_bytes = 32;
inline constexpr size_t name_bytes_max = 64;
inline constexpr size_t tag_bytes = 16;
inline constexpr size_t frame_plain_bytes_max = 64 * 1024;  // what one frame carries
inline constexpr size_t hello_bytes_max = 4 + 1 + nonce_bytes + 1 + name_bytes_max;
inline constexpr size_t challenge_bytes = 4 + 1 + nonce_bytes;
inline constexpr uint32_t basp_payload_bytes_max = 64u << 20;  // deploy chunks are 1 MiB
inline constexpr int group_key_iterations = 100'000;

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

std::string proof(const key& k, char role, std::string_view group, const hello& h, std::string_view nonce_s);
// Compare proofs with constant_time_equal (src/cluster/cluster_model.hpp).

struct session_keys {
  key connector_to_listener, listener_to_connector;
};
session_keys derive_session_keys(const key& k, std::string_view nonce_c, std::string_view nonce_s);

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
class basp_checker {
 public:
  explicit basp_checker(uint32_t payload_bytes_max = basp_payload_bytes_max, uint32_t first_bytes_max = 0,
                        uint64_t first_count = 0)
      : max_(payload_bytes_max), first_max_(first_bytes_max), first_count_(first_count) {}
  bool feed(std::string_view bytes, std::string& why);
  // Messages whose payload has been seen whole.
  uint64_t messages() const { return messages_; }

 private:
  uint32_t max_;
  uint32_t first_max_;
  uint64_t first_count_;
  uint64_t headers_ = 0, messages_ = 0;
  size_t header_have_ = 0;
  std::array<uint8_t, 32> header_{};
  uint64_t payload_left_ = 0;
};

}  // namespace troupe::link
