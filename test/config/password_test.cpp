#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "src/config/password.hpp"
#include "src/util/strings.hpp"

using namespace troupe;

namespace {

// Computed independently (Python's hashlib.pbkdf2_hmac), as OrientDB writes them.
constexpr const char* orientdb_sha256 =
    "{PBKDF2WithHmacSHA256}09CE36D0AC1C259E778B97A75B17CD25FCD70044F433901A:"
    "0102030405060708090A0B0C0D0E0F101112131415161718:65536";  // "OrientDBisCool"
constexpr const char* orientdb_sha1 =
    "{PBKDF2WithHmacSHA1}E6DCE5D99ADAAD0D887954B86FC4AE7D150E47C65316A22C:"
    "6465666768696A6B6C6D6E6F70717273:1000";  // "guest"

std::string hexed(std::string_view bytes) {
  static constexpr const char* d = "0123456789abcdef";
  std::string s;
  for (unsigned char b : bytes) {
    s += d[b >> 4];
    s += d[b & 15];
  }
  return s;
}

// A hashed value with `hash_digits` and `salt_digits` hex digits and `iterations`.
std::string shaped(size_t hash_digits, size_t salt_digits, std::string_view iterations,
                   std::string_view prefix = "{PBKDF2WithHmacSHA256}") {
  return cat(prefix, std::string(hash_digits, 'A'), ':', std::string(salt_digits, 'b'), ':', iterations);
}

}  // namespace

TEST_CASE("password: PBKDF2 gives the published test vectors (RFC 6070 for SHA-1)") {
  CHECK(hexed(pbkdf2(password_scheme::pbkdf2_sha1, "password", "salt", 1, 20)) ==
        "0c60c80f961f0e71f3a9b524af6012062fe037a6");
  CHECK(hexed(pbkdf2(password_scheme::pbkdf2_sha1, "password", "salt", 4096, 20)) ==
        "4b007901b765489abead49d926f721d065a429c1");
  CHECK(hexed(pbkdf2(password_scheme::pbkdf2_sha256, "password", "salt", 1, 32)) ==
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  CHECK(hexed(pbkdf2(password_scheme::pbkdf2_sha256, "password", "salt", 4096, 32)) ==
        "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}

TEST_CASE("password: good stored values parse, plaintext and hashed") {
  struct row {
    std::string text;
    password_scheme scheme;
    size_t hash_bytes, salt_bytes;
    uint32_t iterations;
  };
  const std::vector<row> good = {
      {"guest", password_scheme::plain, 0, 0, 0},
      {"S3cret with spaces", password_scheme::plain, 0, 0, 0},
      {"{not a scheme}x", password_scheme::plain, 0, 0, 0},
      {"{", password_scheme::plain, 0, 0, 0},
      {"{SHA-512}abc", password_scheme::plain, 0, 0, 0},  // names no hash troupe or OrientDB knows
      {"PBKDF2WithHmacSHA256}AB:CD:1000", password_scheme::plain, 0, 0, 0},
      {orientdb_sha256, password_scheme::pbkdf2_sha256, 24, 24, 65536},
      {orientdb_sha1, password_scheme::pbkdf2_sha1, 24, 16, 1000},
      {shaped(32, 16, "1000"), password_scheme::pbkdf2_sha256, 16, 8, 1000},
      {shaped(128, 128, "10000000"), password_scheme::pbkdf2_sha256, 64, 64, 10'000'000},
      {shaped(64, 48, "65536", "{PBKDF2WithHmacSHA1}"), password_scheme::pbkdf2_sha1, 32, 24, 65536},
      {"{PBKDF2WithHmacSHA256}0123456789abcdefABCDEF0123456789:00112233aabbccdd:4242", password_scheme::pbkdf2_sha256,
       16, 8, 4242},
  };
  for (auto& r : good) {
    INFO(r.text);
    auto p = parse_stored_password(r.text);
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().what));
    CHECK(p->scheme == r.scheme);
    CHECK(p->hash.size() == r.hash_bytes);
    CHECK(p->salt.size() == r.salt_bytes);
    CHECK(p->iterations == r.iterations);
    if (p->hashed()) {
      // Written back as OrientDB writes it: the same value, hex in upper case.
      auto again = parse_stored_password(format_stored_password(*p));
      REQUIRE(again.ok());
      CHECK(again->hash == p->hash);
      CHECK(again->salt == p->salt);
    } else {
      CHECK(p->plain == r.text);
    }
  }
  CHECK(format_stored_password(*parse_stored_password(orientdb_sha256)) == orientdb_sha256);
}

TEST_CASE("password: bad stored values are errors that say what is wrong") {
  struct row {
    std::string text;
    std::string says;
  };
  const std::vector<row> bad = {
      {"", "empty"},
      {"{PBKDF2WithHmacSHA256}", "HASH:SALT:ITERATIONS"},
      {"{PBKDF2WithHmacSHA256}AABB", "1 part(s)"},
      {"{PBKDF2WithHmacSHA256}AA:BB", "2 part(s)"},
      {shaped(32, 16, "1000") + ":7", "4 part(s)"},
      {shaped(31, 16, "1000"), "hash"},
      {shaped(32, 15, "1000"), "salt"},
      {"{PBKDF2WithHmacSHA256}" + std::string(31, 'A') + "G:" + std::string(16, 'b') + ":1000", "hash"},
      {"{PBKDF2WithHmacSHA256}" + std::string(32, 'A') + ":" + std::string(15, 'b') + "z:1000", "salt"},
      {shaped(30, 16, "1000"), "15 bytes"},
      {shaped(130, 16, "1000"), "65 bytes"},
      {shaped(32, 14, "1000"), "7 bytes"},
      {shaped(32, 130, "1000"), "65 bytes"},
      {shaped(0, 16, "1000"), "0 bytes"},
      {shaped(32, 16, "999"), "1000-10000000"},
      {shaped(32, 16, "10000001"), "1000-10000000"},
      {shaped(32, 16, "0"), "1000-10000000"},
      {shaped(32, 16, ""), "decimal"},
      {shaped(32, 16, "-1000"), "decimal"},
      {shaped(32, 16, "+1000"), "decimal"},
      {shaped(32, 16, " 1000"), "decimal"},
      {shaped(32, 16, "1e4"), "decimal"},
      {shaped(32, 16, "99999999999999999999999"), "decimal"},
      {shaped(32, 16, "65536", "{PBKDF2WithHmacSHA512}"), "not supported"},
      {shaped(32, 16, "65536", "{pbkdf2withhmacsha256}"), "not supported"},
      {"{SHA-256}5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8", "not supported"},
  };
  for (auto& r : bad) {
    INFO(r.text);
    auto p = parse_stored_password(r.text);
    REQUIRE_FALSE(p.ok());
    CHECK_MESSAGE(p.error().what.find(r.says) != std::string::npos, p.error().what);
    // The message never repeats the value: a hash is as good as a password at the console.
    if (r.text.size() > 40) CHECK(p.error().what.find(r.text) == std::string::npos);
  }
}

TEST_CASE("password: verify accepts the right password only, for each kind of stored value") {
  CHECK(verify_password(orientdb_sha256, "OrientDBisCool"));
  CHECK_FALSE(verify_password(orientdb_sha256, "orientdbiscool"));
  CHECK_FALSE(verify_password(orientdb_sha256, ""));
  CHECK(verify_password(orientdb_sha1, "guest"));
  CHECK_FALSE(verify_password(orientdb_sha1, "guest "));
  CHECK(verify_password("guest", "guest"));
  CHECK_FALSE(verify_password("guest", "gues"));
  CHECK_FALSE(verify_password("guest", "guestt"));
  CHECK_FALSE(verify_password("guest", ""));
  // A value that does not parse matches nothing, not even itself.
  CHECK_FALSE(verify_password("{PBKDF2WithHmacSHA256}AA:BB", "{PBKDF2WithHmacSHA256}AA:BB"));
  // The stored text of a hashed value is not its password.
  CHECK_FALSE(verify_password(orientdb_sha256, orientdb_sha256));
}

TEST_CASE("password: hash_password writes a salted PBKDF2-HMAC-SHA256 value that verifies") {
  auto a = hash_password("correct horse");
  auto b = hash_password("correct horse");
  CHECK(a.rfind("{PBKDF2WithHmacSHA256}", 0) == 0);
  CHECK(a.size() > 100);
  CHECK(a.substr(a.size() - 6) == ":65536");
  CHECK(a != b);  // a new salt each time
  auto p = parse_stored_password(a);
  REQUIRE(p.ok());
  CHECK(p->hash.size() == password_hash_bytes_generated);
  CHECK(p->salt.size() == password_salt_bytes_generated);
  CHECK(p->iterations == password_iterations_default);
  CHECK(verify_password(a, "correct horse"));
  CHECK(verify_password(b, "correct horse"));
  CHECK_FALSE(verify_password(a, "correct horse "));
  auto fast = hash_password("x", password_iterations_min);
  CHECK(fast.substr(fast.size() - 5) == ":1000");
  CHECK(verify_password(fast, "x"));
}

TEST_CASE("password: the cache remembers right passwords only, keyed by user and stored value, and is bounded") {
  password_cache cache(4);
  auto stored = hash_password("right", password_iterations_min);
  CHECK_FALSE(cache.verify("root", &stored, "wrong"));
  CHECK(cache.size() == 0);
  CHECK(cache.verify("root", &stored, "right"));
  CHECK(cache.size() == 1);
  CHECK(cache.verify("root", &stored, "right"));  // from the cache
  CHECK(cache.size() == 1);
  // A wrong password after a right one is still wrong, every time.
  for (int i = 0; i < 3; ++i) CHECK_FALSE(cache.verify("root", &stored, "wrong"));
  CHECK_FALSE(cache.verify("root", &stored, "righ"));
  CHECK_FALSE(cache.verify("root", &stored, "right "));
  CHECK(cache.size() == 1);
  // A new stored value (the password was changed) does not match the old entry.
  auto changed = hash_password("other", password_iterations_min);
  CHECK_FALSE(cache.verify("root", &changed, "right"));
  CHECK(cache.verify("root", &changed, "other"));
  // The same stored value under another user name is another entry.
  CHECK(cache.verify("admin", &stored, "right"));
  CHECK(cache.size() == 3);
  // Plaintext values are compared directly and take no entry.
  std::string plain = "guest";
  CHECK(cache.verify("guest", &plain, "guest"));
  CHECK_FALSE(cache.verify("guest", &plain, "Guest"));
  CHECK(cache.size() == 3);
  // An unknown user is refused (after a decoy PBKDF2), whatever the password.
  CHECK_FALSE(cache.verify("nobody", nullptr, "right"));
  CHECK_FALSE(cache.verify("nobody", nullptr, ""));
  // Bounded: the oldest entries go, and a right password verifies again anyway.
  std::vector<std::string> values;
  for (int i = 0; i < 6; ++i) values.push_back(hash_password(cat("pw", i), password_iterations_min));
  for (int i = 0; i < 6; ++i) CHECK(cache.verify(cat("u", i), &values[i], cat("pw", i)));
  CHECK(cache.size() == 4);
  CHECK(cache.verify("root", &stored, "right"));
  CHECK(cache.size() == 4);
  // An unparsable stored value matches nothing.
  std::string broken = "{PBKDF2WithHmacSHA256}AA";
  CHECK_FALSE(cache.verify("x", &broken, "{PBKDF2WithHmacSHA256}AA"));
}

TEST_CASE("password: console login keys: the console and the node derive the same key, and a challenge tells nothing") {
  auto hashed = hash_password("hashed-pw", password_iterations_min);
  std::vector<std::pair<std::string, std::string>> users = {
      {"root", hashed}, {"guest", "guest"}, {"old", orientdb_sha1}, {"broken", "{PBKDF2WithHmacSHA256}AA"}};
  console_login_keys keys(users);

  // A hashed user: its own salt, count and length; the key is the stored hash.
  auto stored = *parse_stored_password(hashed);
  auto c = keys.challenge("root");
  CHECK(c.scheme == "PBKDF2WithHmacSHA256");
  CHECK(c.salt == hexed(stored.salt));
  CHECK(c.iterations == password_iterations_min);
  CHECK(c.key_bytes == 32);
  CHECK(c.nonce.empty());
  REQUIRE(keys.key("root").has_value());
  CHECK(*keys.key("root") == hexed(stored.hash));
  auto k = console_login_key(c, "hashed-pw");
  REQUIRE(k.ok());
  CHECK(*k == *keys.key("root"));
  CHECK(*console_login_key(c, "hashed-pw!") != *keys.key("root"));

  // Older Java's SHA-1 values work the same way.
  auto c1 = keys.challenge("old");
  CHECK(c1.scheme == "PBKDF2WithHmacSHA1");
  CHECK(*console_login_key(c1, "guest") == *keys.key("old"));

  // A plaintext user and an unknown user get the same shape of challenge,
  // the same one again, and another user another salt.
  auto plain = keys.challenge("guest");
  auto unknown = keys.challenge("nobody");
  for (auto* x : {&plain, &unknown}) {
    CHECK(x->scheme == "PBKDF2WithHmacSHA256");
    CHECK(x->salt.size() == 2 * password_salt_bytes_generated);
    CHECK(x->iterations == password_iterations_default);
    CHECK(x->key_bytes == password_hash_bytes_generated);
  }
  CHECK(plain.salt != unknown.salt);
  CHECK(keys.challenge("nobody") == unknown);
  CHECK(console_login_keys(users).challenge("nobody") == unknown);   // stable for a configuration
  CHECK(console_login_keys(users).challenge("guest") == plain);
  auto other_users = users;
  other_users[1].second = "changed";
  CHECK(console_login_keys(other_users).challenge("nobody").salt != unknown.salt);
  // The node derives a plaintext user's key itself; the console gets the same.
  REQUIRE(keys.key("guest").has_value());
  CHECK(*console_login_key(plain, "guest") == *keys.key("guest"));
  CHECK(*console_login_key(plain, "guest2") != *keys.key("guest"));
  // Unknown users, and users whose value does not parse, have no key.
  CHECK_FALSE(keys.key("nobody").has_value());
  CHECK_FALSE(keys.key("broken").has_value());
  CHECK(keys.challenge("broken").iterations == password_iterations_default);

  // A challenge the console must not follow.
  auto bad = c;
  bad.scheme = "PBKDF2WithHmacSHA512";
  CHECK_FALSE(console_login_key(bad, "x").ok());
  bad = c;
  bad.salt = "zz";
  CHECK_FALSE(console_login_key(bad, "x").ok());
  bad = c;
  bad.salt = "abcd";
  CHECK_FALSE(console_login_key(bad, "x").ok());
  bad = c;
  bad.iterations = 4'000'000'000u;
  CHECK(console_login_key(bad, "x").error().what.find("out of bounds") != std::string::npos);
  bad = c;
  bad.key_bytes = 0;
  CHECK_FALSE(console_login_key(bad, "x").ok());
  bad.key_bytes = 100'000;
  CHECK_FALSE(console_login_key(bad, "x").ok());
}

// Seeded mutations of valid stored values: each gives an error or a value that
// keeps every bound and writes back to itself; never a crash. A failure prints
// the seed; TROUPE_SEED=<n> replays just that seed.
TEST_CASE("password: fuzz: mutated stored values are errors or well-formed, never a crash") {
  const std::vector<std::string> seeds_text = {orientdb_sha256, orientdb_sha1, shaped(32, 16, "1000"),
                                               shaped(128, 128, "10000000"), "guest"};
  std::vector<uint64_t> seeds = {1, 2, 3, 42, 20240601};
  if (const char* s = std::getenv("TROUPE_SEED")) {
    auto v = parse_int(s, 0, INT64_MAX);
    REQUIRE_MESSAGE(v.has_value(), "TROUPE_SEED must be a non-negative integer");
    seeds = {static_cast<uint64_t>(*v)};
  }
  constexpr int cases_per_seed = 4000;
  static constexpr char alphabet_chars[] = "0123456789abcdefABCDEF:{}PBKDF2WithHmacSHA256-+ \n\x00\xff";
  constexpr std::string_view alphabet(alphabet_chars, sizeof alphabet_chars - 1);
  for (auto seed : seeds) {
    INFO("seed=" << seed << " (replay with TROUPE_SEED=" << seed << ")");
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    int errors = 0, hashed = 0;
    for (int i = 0; i < cases_per_seed; ++i) {
      std::string t = seeds_text[pick(seeds_text.size())];
      int edits = 1 + static_cast<int>(pick(4));
      for (int e = 0; e < edits; ++e) {
        size_t at = t.empty() ? 0 : pick(t.size() + 1);
        char ch = pick(8) == 0 ? static_cast<char>(rng()) : alphabet[pick(alphabet.size())];
        switch (pick(6)) {
          case 0: if (at < t.size()) t[at] = ch; break;                       // replace
          case 1: t.insert(t.begin() + static_cast<std::ptrdiff_t>(at), ch); break;  // insert
          case 2: if (at < t.size()) t.erase(at, 1 + pick(4)); break;          // delete a run
          case 3: t = t.substr(0, at); break;                                  // truncate
          case 4: if (at < t.size()) t.insert(at, t.substr(at, pick(40))); break;  // duplicate a run
          default: {                                                           // swap two bytes
            if (t.size() >= 2) std::swap(t[pick(t.size())], t[pick(t.size())]);
          }
        }
      }
      INFO("value=" << t);
      auto p = parse_stored_password(t);
      if (!p) {
        ++errors;
        CHECK_FALSE(p.error().what.empty());
        continue;
      }
      if (!p->hashed()) {
        CHECK(p->plain == t);
        CHECK_FALSE(t.empty());
        continue;
      }
      ++hashed;
      CHECK(p->hash.size() >= password_hash_bytes_min);
      CHECK(p->hash.size() <= password_hash_bytes_max);
      CHECK(p->salt.size() >= password_salt_bytes_min);
      CHECK(p->salt.size() <= password_salt_bytes_max);
      CHECK(p->iterations >= password_iterations_min);
      CHECK(p->iterations <= password_iterations_max);
      auto again = parse_stored_password(format_stored_password(*p));
      REQUIRE(again.ok());
      CHECK((again->hash == p->hash && again->salt == p->salt && again->iterations == p->iterations &&
             again->scheme == p->scheme));
    }
    MESSAGE("seed=" << seed << " values=" << cases_per_seed << " errors=" << errors << " hashed=" << hashed);
    // Most mutations break a value; some (a hex digit for another) keep it well-formed.
    CHECK(errors > cases_per_seed / 4);
    CHECK(hashed > 0);
  }
}
