#include "src/link/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cassert>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace troupe::link {

namespace {

void put_be32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t get_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

std::string hmac(const key& k, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

key to_key(const std::string& bytes) {
  key k{};
  assert(bytes.size() >= k.size());
  std::memcpy(k.data(), bytes.data(), k.size());
  return k;
}

// The GCM nonce of frame `seq`: 4 zero bytes, then the counter big-endian.
std::array<uint8_t, 12> gcm_nonce(uint64_t seq) {
  std::array<uint8_t, 12> iv{};
  for (int i = 0; i < 8; ++i) iv[static_cast<size_t>(11 - i)] = static_cast<uint8_t>((seq >> (8 * i)) & 0xff);
  return iv;
}

struct ctx_free {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_free>;

// AES-256-GCM over `plain`: encrypted when `encrypt`, else authenticated as
// additional data and copied. Returns payload + tag.
std::string gcm_seal(const key& k, uint64_t seq, bool encrypt, std::string_view plain) {
  cipher_ctx c(EVP_CIPHER_CTX_new());
  auto iv = gcm_nonce(seq);
  std::string out(plain.size() + tag_bytes, '\0');
  int len = 0;
  bool ok = c && EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, k.data(), iv.data()) == 1;
  auto* in = reinterpret_cast<const unsigned char*>(plain.data());
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (encrypt) {
    ok = ok && EVP_EncryptUpdate(c.get(), o, &len, in, static_cast<int>(plain.size())) == 1;
  } else {
    ok = ok && EVP_EncryptUpdate(c.get(), nullptr, &len, in, static_cast<int>(plain.size())) == 1;
    if (!plain.empty()) std::memcpy(o, in, plain.size());
  }
  ok = ok && EVP_EncryptFinal_ex(c.get(), o + plain.size(), &len) == 1;
  ok = ok && EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, tag_bytes, o + plain.size()) == 1;
  // The cipher cannot fail on valid arguments; a failure is a broken library.
  if (!ok) throw std::runtime_error("AES-256-GCM failed");
  return out;
}

// Checks and opens one sealed payload; false when the tag does not match.
bool gcm_open(const key& k, uint64_t seq, bool encrypt, std::string_view sealed, std::string& out) {
  if (sealed.size() < tag_bytes) return false;
  size_t n = sealed.size() - tag_bytes;
  cipher_ctx c(EVP_CIPHER_CTX_new());
  auto iv = gcm_nonce(seq);
  int len = 0;
  auto* in = reinterpret_cast<const unsigned char*>(sealed.data());
  size_t at = out.size();
  out.resize(at + n);
  auto* o = reinterpret_cast<unsigned char*>(out.data() + at);
  bool ok = c && EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, k.data(), iv.data()) == 1;
  if (encrypt) {
    ok = ok && EVP_DecryptUpdate(c.get(), o, &len, in, static_cast<int>(n)) == 1;
  } else {
    ok = ok && EVP_DecryptUpdate(c.get(), nullptr, &len, in, static_cast<int>(n)) == 1;
    if (n > 0) std::memcpy(o, in, n);
  }
  std::array<uint8_t, tag_bytes> tag{};
  std::memcpy(tag.data(), in + n, tag_bytes);
  ok = ok && EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, tag_bytes, tag.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(c.get(), o + n, &len) == 1;
  if (!ok) out.resize(at);
  return ok;
}

}  // namespace

key derive_group_key(std::string_view group, std::string_view password, int iterations) {
  std::string salt = "troupe-link:";
  salt += group;
  key k{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                        EVP_sha256(), static_cast<int>(k.size()), k.data()) != 1)
    throw std::runtime_error("PBKDF2 failed");
  return k;
}

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("no randomness from OpenSSL");
  return out;
}

std::string encode(const hello& h) {
  assert(h.nonce.size() == nonce_bytes && !h.name.empty() && h.name.size() <= name_bytes_max);
  std::string out(magic);
  out.push_back(h.encrypt ? 1 : 0);
  out += h.nonce;
  out.push_back(static_cast<char>(h.name.size()));
  out += h.name;
  return out;
}

std::string encode(const challenge& c) {
  assert(c.nonce.size() == nonce_bytes);
  std::string out(magic);
  out.push_back(c.encrypt ? 1 : 0);
  out += c.nonce;
  return out;
}

namespace {

// The common front of hello and challenge: magic, flags, nonce.
parse parse_front(std::string_view buf, bool& encrypt, std::string& nonce, std::string& why) {
  size_t have = std::min(buf.size(), magic.size());
  if (buf.substr(0, have) != magic.substr(0, have)) {
    why = "not a troupe cluster link (wrong magic)";
    return parse::bad;
  }
  if (buf.size() < challenge_bytes) return parse::need_more;
  auto flags = static_cast<uint8_t>(buf[4]);
  if (flags > 1) {
    why = "unknown link flags";
    return parse::bad;
  }
  encrypt = flags == 1;
  nonce = std::string(buf.substr(5, nonce_bytes));
  return parse::ok;
}

}  // namespace

parse parse_hello(std::string_view buf, hello& out, size_t& used, std::string& why) {
  auto front = parse_front(buf, out.encrypt, out.nonce, why);
  if (front != parse::ok) return front;
  if (buf.size() < challenge_bytes + 1) return parse::need_more;
  auto n = static_cast<uint8_t>(buf[challenge_bytes]);
  if (n == 0 || n > name_bytes_max) {
    why = "bad node name length";
    return parse::bad;
  }
  if (buf.size() < challenge_bytes + 1 + n) return parse::need_more;
  out.name = std::string(buf.substr(challenge_bytes + 1, n));
  for (char ch : out.name) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-';
    if (!ok) {
      why = "bad node name";
      return parse::bad;
    }
  }
  used = challenge_bytes + 1 + n;
  return parse::ok;
}

parse parse_challenge(std::string_view buf, challenge& out, std::string& why) {
  return parse_front(buf, out.encrypt, out.nonce, why);
}

std::string proof(const key& k, char role, std::string_view group, const hello& h, std::string_view nonce_s) {
  std::string m = "troupe-link";
  m.push_back(role);
  // Lengths first, so that no two different inputs give one message.
  put_be32(m, static_cast<uint32_t>(group.size()));
  m += group;
  m += h.nonce;
  m += nonce_s;
  put_be32(m, static_cast<uint32_t>(h.name.size()));
  m += h.name;
  return hmac(k, m);
}

session_keys derive_session_keys(const key& k, std::string_view nonce_c, std::string_view nonce_s) {
  std::string base(nonce_c);
  base += nonce_s;
  return session_keys{to_key(hmac(k, "c>l" + base)), to_key(hmac(k, "l>c" + base))};
}

void sealer::seal(std::string_view plain, std::string& out) {
  assert(plain.size() <= frame_plain_bytes_max);
  auto sealed = gcm_seal(key_, seq_++, encrypt_, plain);
  put_be32(out, static_cast<uint32_t>(sealed.size()));
  out += sealed;
}

bool opener::feed(std::string_view bytes, std::string& out, std::string& why) {
  buf_.append(bytes);
  size_t at = 0;
  while (buf_.size() - at >= 4) {
    auto len = get_be32(reinterpret_cast<const uint8_t*>(buf_.data() + at));
    if (len < tag_bytes || len > frame_plain_bytes_max + tag_bytes) {
      why = "a link frame of impossible length";
      return false;
    }
    if (buf_.size() - at - 4 < len) break;
    if (!gcm_open(key_, seq_++, encrypt_, std::string_view(buf_).substr(at + 4, len), out)) {
      why = "a link frame failed its authentication (forged, replayed, reordered or under another key)";
      return false;
    }
    at += 4 + len;
  }
  buf_.erase(0, at);
  return true;
}

bool basp_checker::feed(std::string_view bytes, std::string& why) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (payload_left_ > 0) {
      auto take = std::min<uint64_t>(payload_left_, bytes.size() - i);
      payload_left_ -= take;
      i += static_cast<size_t>(take);
      if (payload_left_ == 0) messages_ += 1;
      continue;
    }
    auto take = std::min(header_.size() - header_have_, bytes.size() - i);
    std::memcpy(header_.data() + header_have_, bytes.data() + i, take);
    header_have_ += take;
    i += take;
    if (header_have_ < header_.size()) break;
    header_have_ = 0;
    auto op = header_[0];
    auto len = get_be32(header_.data() + 4);
    if (op > 6) {
      why = "an unknown BASP operation";
      return false;
    }
    if (op == 3) {
      why = "a routed BASP message (troupe never routes: it could pose as any node)";
      return false;
    }
    auto bound = headers_ < first_count_ ? first_max_ : max_;
    headers_ += 1;
    if (len > bound) {
      why = "a BASP message of " + std::to_string(len) + " bytes, over the bound of " + std::to_string(bound);
      return false;
    }
    payload_left_ = len;
    if (len == 0) messages_ += 1;
  }
  return true;
}

}  // namespace troupe::link
