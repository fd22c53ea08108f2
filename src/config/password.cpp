#include "src/config/password.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <random>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "src/util/strings.hpp"

namespace troupe {

namespace {

constexpr std::string_view sha256_prefix = "{PBKDF2WithHmacSHA256}";
constexpr std::string_view sha1_prefix = "{PBKDF2WithHmacSHA1}";


std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(p, static_cast<int>(n)) != 1) {
    // RAND_bytes only fails without an entropy source; the OS device then.
    std::random_device rd;
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(rd());
  }
  return out;
}

bool same_bytes(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  int rc = EVP_Digest(data.data(), data.size(), out, &len, EVP_sha256(), nullptr);
  assert(rc == 1);
  (void)rc;
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto* r = HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  assert(r != nullptr);
  (void)r;
  return std::string(reinterpret_cast<char*>(out), len);
}

// Parts joined so that no two different lists give the same bytes.
void append_field(std::string& out, std::string_view part) {
  out += cat(part.size(), ':');
  out.append(part);
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<password_scheme> scheme_of(std::string_view name) {
  if (name == "PBKDF2WithHmacSHA256") return password_scheme::pbkdf2_sha256;
  if (name == "PBKDF2WithHmacSHA1") return password_scheme::pbkdf2_sha1;
  return std::nullopt;
}

error_info fail(std::string what) { return error_info{"", "", std::move(what)}; }

// Checks the bounds every hashed value and every console challenge must keep.
std::optional<std::string> out_of_bounds(size_t hash_bytes, size_t salt_bytes, int64_t iterations) {
  if (hash_bytes < password_hash_bytes_min || hash_bytes > password_hash_bytes_max)
    return cat("the hash is ", hash_bytes, " bytes; it must be ", password_hash_bytes_min, "-", password_hash_bytes_max,
               " bytes (", 2 * password_hash_bytes_min, "-", 2 * password_hash_bytes_max, " hex digits)");
  if (salt_bytes < password_salt_bytes_min || salt_bytes > password_salt_bytes_max)
    return cat("the salt is ", salt_bytes, " bytes; it must be ", password_salt_bytes_min, "-", password_salt_bytes_max,
               " bytes (", 2 * password_salt_bytes_min, "-", 2 * password_salt_bytes_max, " hex digits)");
  if (iterations < password_iterations_min || iterations > password_iterations_max)
    return cat("the iteration count must be ", password_iterations_min, "-", password_iterations_max);
  return std::nullopt;
}

}  // namespace

const char* scheme_name(password_scheme s) {
  switch (s) {
    case password_scheme::plain: return "plain";
    case password_scheme::pbkdf2_sha256: return "PBKDF2WithHmacSHA256";
    case password_scheme::pbkdf2_sha1: return "PBKDF2WithHmacSHA1";
  }
  return "plain";
}

result<stored_password> parse_stored_password(std::string_view text) {
  stored_password out;
  std::string_view rest;
  if (text.substr(0, sha256_prefix.size()) == sha256_prefix) {
    out.scheme = password_scheme::pbkdf2_sha256;
    rest = text.substr(sha256_prefix.size());
  } else if (text.substr(0, sha1_prefix.size()) == sha1_prefix) {
    out.scheme = password_scheme::pbkdf2_sha1;
    rest = text.substr(sha1_prefix.size());
  } else {
    if (text.empty()) return fail("the password is empty");
    // A value that names a hash scheme troupe does not take (OrientDB's
    // unsalted {SHA-256}, a misspelt {PBKDF2...}) is refused: taken as a
    // plaintext password it would let nobody in, and say nothing.
    if (text.front() == '{') {
      auto close = text.find('}');
      if (close != std::string_view::npos) {
        auto name = lower(text.substr(1, close - 1));
        if (name.rfind("pbkdf2", 0) == 0 || name == "sha-256" || name == "sha256" || name == "sha-1" || name == "sha1")
          return fail(cat("the password scheme {", text.substr(1, close - 1),
                          "} is not supported: use {PBKDF2WithHmacSHA256}HASH:SALT:ITERATIONS, "
                          "{PBKDF2WithHmacSHA1}HASH:SALT:ITERATIONS or a plaintext password"));
      }
    }
    out.plain = std::string(text);
    return out;
  }
  // Hashed: HASH:SALT:ITERATIONS. The messages never repeat the value: it is
  // as good as a password for the console (see console_login_keys).
  auto parts = split(rest, ':');
  const char* name = scheme_name(out.scheme);
  if (parts.size() != 3)
    return fail(cat("a {", name, "} password is HASH:SALT:ITERATIONS (hex, hex, decimal); this one has ",
                    parts.size(), " part(s)"));
  auto hash = unhex(parts[0]);
  if (!hash) return fail(cat("the hash of the {", name, "} password is not an even number of hex digits"));
  auto salt = unhex(parts[1]);
  if (!salt) return fail(cat("the salt of the {", name, "} password is not an even number of hex digits"));
  auto iterations = parse_int(parts[2], 0, INT64_MAX);
  if (!iterations)
    return fail(cat("the iteration count of the {", name, "} password is not a decimal number ",
                    password_iterations_min, "-", password_iterations_max));
  if (auto why = out_of_bounds(hash->size(), salt->size(), *iterations))
    return fail(cat("{", name, "} password: ", *why));
  out.hash = std::move(*hash);
  out.salt = std::move(*salt);
  out.iterations = static_cast<uint32_t>(*iterations);
  return out;
}

std::string format_stored_password(const stored_password& x) {
  assert(x.hashed());
  return cat('{', scheme_name(x.scheme), '}', hex(x.hash, true), ':', hex(x.salt, true), ':', x.iterations);
}

std::string pbkdf2(password_scheme scheme, std::string_view password, std::string_view salt, uint32_t iterations,
                   size_t key_bytes) {
  assert(scheme != password_scheme::plain && iterations >= 1 && key_bytes >= 1 && key_bytes <= 1024);
  std::string out(key_bytes, '\0');
  const EVP_MD* md = scheme == password_scheme::pbkdf2_sha1 ? EVP_sha1() : EVP_sha256();
  int rc = PKCS5_PBKDF2_HMAC(password.empty() ? "" : password.data(), static_cast<int>(password.size()),
                             reinterpret_cast<const unsigned char*>(salt.empty() ? "" : salt.data()),
                             static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                             static_cast<int>(key_bytes), reinterpret_cast<unsigned char*>(out.data()));
  // Fails only without memory; an empty key matches no stored hash (the
  // bounds keep those 16 bytes or more), so a failure refuses the login.
  if (rc != 1) return {};
  return out;
}

std::string hash_password(std::string_view plain, uint32_t iterations) {
  assert(iterations >= password_iterations_min && iterations <= password_iterations_max);
  stored_password x;
  x.scheme = password_scheme::pbkdf2_sha256;
  x.salt = random_bytes(password_salt_bytes_generated);
  x.iterations = iterations;
  x.hash = pbkdf2(x.scheme, plain, x.salt, iterations, password_hash_bytes_generated);
  assert(x.hash.size() == password_hash_bytes_generated);
  auto text = format_stored_password(x);
  assert(parse_stored_password(text).ok());
  return text;
}

bool verify_password(const stored_password& stored, std::string_view candidate) {
  if (!stored.hashed()) {
    // Digests of both, as OrientDB compares them: equal lengths, so not even
    // the length of the stored password shows in the time.
    return same_bytes(sha256(stored.plain), sha256(candidate));
  }
  if (stored.hash.empty()) return false;
  return same_bytes(pbkdf2(stored.scheme, candidate, stored.salt, stored.iterations, stored.hash.size()), stored.hash);
}

bool verify_password(std::string_view stored, std::string_view candidate) {
  auto p = parse_stored_password(stored);
  return p.ok() && verify_password(*p, candidate);
}

// --- password_cache ----------------------------------------------------------

namespace {
stored_password make_decoy() {
  stored_password d;
  d.scheme = password_scheme::pbkdf2_sha256;
  d.hash = random_bytes(password_hash_bytes_generated);
  d.salt = random_bytes(password_salt_bytes_generated);
  d.iterations = password_iterations_default;
  return d;
}
}  // namespace

password_cache::password_cache(size_t capacity)
    : capacity_(capacity), key_(random_bytes(32)), decoy_(make_decoy()) {
  assert(capacity_ >= 1);
}

std::string password_cache::entry(std::string_view user, std::string_view stored, std::string_view candidate) const {
  std::string msg;
  append_field(msg, user);
  append_field(msg, stored);
  append_field(msg, candidate);
  return hmac_sha256(key_, msg);
}

bool password_cache::verify(std::string_view user, const std::string* stored, std::string_view candidate) {
  if (stored == nullptr) {
    (void)verify_password(decoy_, candidate);  // the time a hashed user's refusal takes
    return false;
  }
  auto p = parse_stored_password(*stored);
  if (!p) return false;
  if (!p->hashed()) return verify_password(*p, candidate);
  auto e = entry(user, *stored, candidate);
  {
    std::lock_guard<std::mutex> g(m_);
    if (ok_.count(e) != 0) return true;
  }
  if (!verify_password(*p, candidate)) return false;
  std::lock_guard<std::mutex> g(m_);
  if (ok_.insert(e).second) {
    order_.push_back(e);
    while (order_.size() > capacity_) {
      ok_.erase(order_.front());
      order_.pop_front();
    }
  }
  assert(ok_.size() == order_.size() && ok_.size() <= capacity_);
  return true;
}

size_t password_cache::size() const {
  std::lock_guard<std::mutex> g(m_);
  return ok_.size();
}

// --- the console login -------------------------------------------------------

console_login_keys::console_login_keys(const std::vector<std::pair<std::string, std::string>>& users) {
  std::string material = "troupe-console-login\n";
  for (auto& [name, value] : users) {
    append_field(material, name);
    append_field(material, value);
    auto p = parse_stored_password(value);
    if (!p) continue;
    entry e{name, std::move(*p), std::nullopt};
    if (e.stored.hashed()) e.key_hex = hex(e.stored.hash, false);
    users_.push_back(std::move(e));
  }
  // Secret as long as one stored value is: it covers every password and hash.
  secret_ = sha256(material);
}

std::string console_login_keys::derived_salt(std::string_view user) const {
  std::string msg = "salt\n";
  msg.append(user);
  return hmac_sha256(secret_, msg).substr(0, password_salt_bytes_generated);
}

login_challenge console_login_keys::challenge(std::string_view user) const {
  login_challenge c;
  for (auto& e : users_) {
    if (e.name != user || !e.stored.hashed()) continue;
    c.scheme = scheme_name(e.stored.scheme);
    c.salt = hex(e.stored.salt, false);
    c.iterations = e.stored.iterations;
    c.key_bytes = static_cast<uint32_t>(e.stored.hash.size());
    return c;
  }
  // A plaintext value or an unknown user: the same shape either way.
  c.scheme = scheme_name(password_scheme::pbkdf2_sha256);
  c.salt = hex(derived_salt(user), false);
  c.iterations = password_iterations_default;
  c.key_bytes = static_cast<uint32_t>(password_hash_bytes_generated);
  return c;
}

std::optional<std::string> console_login_keys::key(std::string_view user) {
  for (auto& e : users_) {
    if (e.name != user) continue;
    if (!e.key_hex) {
      e.key_hex = hex(pbkdf2(password_scheme::pbkdf2_sha256, e.stored.plain, derived_salt(user),
                             password_iterations_default, password_hash_bytes_generated),
                      false);
    }
    return e.key_hex;
  }
  return std::nullopt;
}

result<std::string> console_login_key(const login_challenge& c, std::string_view password) {
  auto scheme = scheme_of(c.scheme);
  if (!scheme) return fail(cat("the node asked for an unknown password scheme '", c.scheme.substr(0, 64), "'"));
  auto salt = unhex(c.salt);
  if (!salt) return fail("the node sent a salt that is not hex");
  if (auto why = out_of_bounds(c.key_bytes, salt->size(), c.iterations))
    return fail(cat("the node sent a login challenge out of bounds: ", *why));
  return hex(pbkdf2(*scheme, password, *salt, c.iterations, c.key_bytes), false);
}

}  // namespace troupe
