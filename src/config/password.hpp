// Server users' passwords as orientdb-server-config.xml stores them.
//
// OrientDB 2.2 stores a hashed password as
//   {PBKDF2WithHmacSHA256}HASH:SALT:ITERATIONS
// (PBKDF2 with HMAC-SHA256; HASH and SALT in hex, OrientDB writes upper case;
// ITERATIONS in decimal, 65536 in OrientDB's example). Older Java wrote
// {PBKDF2WithHmacSHA1} with the same layout. Any other value is a plaintext
// password, as in OrientDB 1.6, except OrientDB's unsalted {SHA-256} prefix and
// misspelt {PBKDF2...} prefixes, which are refused rather than silently taken
// as a password nobody would type.
//
// Plain C++ on OpenSSL's libcrypto; no CAF. The free functions and password_cache
// are thread-safe; console_login_keys is not (one actor owns it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "src/util/result.hpp"

namespace troupe {

enum class password_scheme { plain, pbkdf2_sha256, pbkdf2_sha1 };

// Bounds of a stored hashed value. Beyond them a value is a configuration
// error: a shorter hash or salt is weak, a count above the maximum would hold
// every login (and a thread) for seconds.
inline constexpr size_t password_hash_bytes_min = 16;
inline constexpr size_t password_hash_bytes_max = 64;
inline constexpr size_t password_salt_bytes_min = 8;
inline constexpr size_t password_salt_bytes_max = 64;
inline constexpr uint32_t password_iterations_min = 1'000;
inline constexpr uint32_t password_iterations_max = 10'000'000;

// What hash_password writes: OrientDB's iteration count, a 24-byte salt (as
// OrientDB) and a 32-byte hash (SHA-256's own length; OrientDB uses 24).
inline constexpr uint32_t password_iterations_default = 65'536;
inline constexpr size_t password_salt_bytes_generated = 24;
inline constexpr size_t password_hash_bytes_generated = 32;

struct stored_password {
  password_scheme scheme = password_scheme::plain;
  std::string plain;        // scheme == plain: the password itself
  std::string hash;         // hashed: raw bytes, password_hash_bytes_min..max
  std::string salt;         // hashed: raw bytes, password_salt_bytes_min..max
  uint32_t iterations = 0;  // hashed: password_iterations_min..max
  bool hashed() const { return scheme != password_scheme::plain; }
};

// "PBKDF2WithHmacSHA256", "PBKDF2WithHmacSHA1" or "plain".
const char* scheme_name(password_scheme s);

// Parses a stored value (the password attribute, variables already expanded).
// Errors carry only `what` ("the hash is not hex", ...): the caller adds the
// file, the line and the user. Never throws, whatever the input.
result<stored_password> parse_stored_password(std::string_view text);

// The stored form of a hashed value: "{scheme}HASH:SALT:ITERATIONS", hex in
// upper case as OrientDB writes it. REQUIRES: x.hashed().
std::string format_stored_password(const stored_password& x);

// A new stored value for `plain`: {PBKDF2WithHmacSHA256}, a random salt of
// password_salt_bytes_generated from the operating system, a hash of
// password_hash_bytes_generated. REQUIRES: iterations within the bounds.
std::string hash_password(std::string_view plain, uint32_t iterations = password_iterations_default);

// PBKDF2 of `password` with `scheme`'s HMAC, `key_bytes` long (raw bytes).
// REQUIRES: scheme is hashed, iterations >= 1, 1 <= key_bytes <= 1024.
std::string pbkdf2(password_scheme scheme, std::string_view password, std::string_view salt, uint32_t iterations,
                   size_t key_bytes);

// Does `candidate` match? Compared in time independent of where the bytes
// differ (for a hashed value: the full PBKDF2, then a constant-time compare).
bool verify_password(const stored_password& stored, std::string_view candidate);
// The same from the stored text; a value that does not parse matches nothing.
bool verify_password(std::string_view stored, std::string_view candidate);

// Remembers successful verifications of hashed passwords, so that HTTP Basic
// authentication (credentials on every request, ~10k requests/s) runs PBKDF2
// once per (user, password) and not per request.
//
// Contract
//   - verify(user, &stored, candidate) == verify_password(stored, candidate),
//     always. A plaintext stored value is compared directly (no PBKDF2, no
//     entry).
//   - verify(user, nullptr, candidate), for a user name that is not
//     configured, is false after the PBKDF2 a hashed user's wrong password
//     costs (password_iterations_default), so the time of a refusal does not
//     tell which names exist among hashed users.
//   - Only successes are remembered: a wrong password runs PBKDF2 every time
//     and is never taken for a right one.
//   - An entry is HMAC-SHA256(key, user, stored, candidate) with a random key
//     drawn by each cache: neither passwords nor unsalted digests of them stay
//     in memory, and a changed stored value (a new configuration) matches no
//     old entry.
//   - At most `capacity` entries; when full, the oldest entry goes first.
//   - Thread-safe: one mutex guards the entries; PBKDF2 runs outside it.
inline constexpr size_t password_cache_entries_max = 256;

class password_cache {
 public:
  explicit password_cache(size_t capacity = password_cache_entries_max);
  bool verify(std::string_view user, const std::string* stored, std::string_view candidate);
  size_t size() const;

 private:
  std::string entry(std::string_view user, std::string_view stored, std::string_view candidate) const;

  const size_t capacity_;
  const std::string key_;
  const stored_password decoy_;  // what an unknown user's password is checked against
  mutable std::mutex m_;
  std::unordered_set<std::string> ok_;
  std::deque<std::string> order_;  // oldest first, the same entries as ok_
};

// --- the console login (actors/admin_actor.hpp) ------------------------------
// The console proves that it knows a user's password without sending it, and
// the node checks the proof without knowing the password when the stored value
// is hashed:
//   1. the node announces a login_challenge: a nonce, and the scheme, salt,
//      iterations and key length to derive a key with;
//   2. the console derives key = PBKDF2(password, salt, iterations, key_bytes)
//      (console_login_key) and proves it with
//      hmac_proof(hex(key), {"troupe-console", nonce, user, client, server});
//   3. the node computes the same proof from its own copy of the key
//      (console_login_keys::key).
// For a hashed stored value the node announces that value's salt, count and
// hash length, and its key is the stored hash. For a plaintext value and for an
// unknown user it announces a salt derived from the user name and a secret of
// this configuration (stable across restarts while the users do not change),
// password_iterations_default and password_hash_bytes_generated: a challenge
// tells neither which users exist nor how their passwords are stored. For a
// plaintext value the node derives the key itself, once per user.
// **Why not the password as the HMAC key, as before:** a node that stores only
// a hash does not have it. The price: whoever reads a hashed value from the
// configuration file can log in at the console (not over REST, which needs the
// password); the file stays readable by its owner only.

// The wire form of step 1 (registered in actors/protocol.cpp).
struct login_challenge {
  std::string nonce;        // single use (admin_actor)
  std::string scheme;       // "PBKDF2WithHmacSHA256" or "PBKDF2WithHmacSHA1"
  std::string salt;         // hex
  uint32_t iterations = 0;
  uint32_t key_bytes = 0;
  friend bool operator==(const login_challenge&, const login_challenge&) = default;
};

// The node's side. Not thread-safe (one admin actor owns it).
class console_login_keys {
 public:
  // (name, stored value) for every user. A value that does not parse makes
  // its user unknown here (the server config parser refuses such a file).
  explicit console_login_keys(const std::vector<std::pair<std::string, std::string>>& users);
  // Step 1 for `user`, nonce left empty.
  login_challenge challenge(std::string_view user) const;
  // The key step 3 proves, lower-case hex; nullopt for an unknown user. For a
  // plaintext value the first call per user runs PBKDF2 (~15 ms).
  std::optional<std::string> key(std::string_view user);

 private:
  struct entry {
    std::string name;
    stored_password stored;
    std::optional<std::string> key_hex;  // known for hashed values, derived once for plaintext ones
  };
  std::string derived_salt(std::string_view user) const;
  std::vector<entry> users_;
  std::string secret_;
};

// The console's side of step 2: the key, lower-case hex. Errors: a challenge
// with an unknown scheme, or a salt, count or key length outside the bounds of
// a stored value (a node cannot make the console spin for minutes).
result<std::string> console_login_key(const login_challenge& c, std::string_view password);

}  // namespace troupe
