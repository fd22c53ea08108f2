#include "src/link/crypto.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cassert>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "src/cluster/cluster_model.hpp"
#include "src/util/strings.hpp"

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

namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
struct pctx_free {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct mdctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

const unsigned char* bytes_of(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// A fresh key of `type` (EVP_PKEY_ED25519 or EVP_PKEY_X25519), raw: secret, public.
std::pair<std::string, std::string> fresh_key(int type) {
  std::unique_ptr<EVP_PKEY_CTX, pctx_free> c(EVP_PKEY_CTX_new_id(type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!c || EVP_PKEY_keygen_init(c.get()) != 1 || EVP_PKEY_keygen(c.get(), &raw) != 1)
    throw std::runtime_error("OpenSSL could not make a key");
  pkey_ptr k(raw);
  std::string secret(32, '\0'), pub(public_key_bytes, '\0');
  size_t sn = secret.size(), pn = pub.size();
  if (EVP_PKEY_get_raw_private_key(k.get(), reinterpret_cast<unsigned char*>(secret.data()), &sn) != 1 ||
      EVP_PKEY_get_raw_public_key(k.get(), reinterpret_cast<unsigned char*>(pub.data()), &pn) != 1 || sn != 32 ||
      pn != public_key_bytes)
    throw std::runtime_error("OpenSSL could not export a key");
  return {secret, pub};
}

// What the side `role` proves and signs (see the header): lengths first, so
// that no two different inputs give one message.
std::string transcript(char role, std::string_view group, const hello& h, std::string_view nonce_s,
                       std::string_view eph, std::string_view pub, const auth* connector) {
  std::string m = "troupe-link2";
  m.push_back(role);
  put_be32(m, static_cast<uint32_t>(group.size()));
  m += group;
  m += h.nonce;
  m += nonce_s;
  put_be32(m, static_cast<uint32_t>(h.name.size()));
  m += h.name;
  if (connector != nullptr) m += encode(*connector);
  m += eph;
  m += pub;
  return m;
}

std::string sign(const node_key& me, std::string_view msg) {
  pkey_ptr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(me.secret), me.secret.size()));
  std::unique_ptr<EVP_MD_CTX, mdctx_free> c(EVP_MD_CTX_new());
  std::string sig(signature_bytes, '\0');
  size_t n = sig.size();
  if (!k || !c || EVP_DigestSignInit(c.get(), nullptr, nullptr, nullptr, k.get()) != 1 ||
      EVP_DigestSign(c.get(), reinterpret_cast<unsigned char*>(sig.data()), &n, bytes_of(msg), msg.size()) != 1 ||
      n != signature_bytes)
    throw std::runtime_error("Ed25519 signing failed");
  return sig;
}

bool verify(std::string_view pub, std::string_view msg, std::string_view sig) {
  if (pub.size() != public_key_bytes || sig.size() != signature_bytes) return false;
  pkey_ptr k(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(pub), pub.size()));
  std::unique_ptr<EVP_MD_CTX, mdctx_free> c(EVP_MD_CTX_new());
  return k && c && EVP_DigestVerifyInit(c.get(), nullptr, nullptr, nullptr, k.get()) == 1 &&
         EVP_DigestVerify(c.get(), bytes_of(sig), sig.size(), bytes_of(msg), msg.size()) == 1;
}

}  // namespace

node_key generate_node_key() {
  auto [secret, pub] = fresh_key(EVP_PKEY_ED25519);
  return node_key{secret, pub};
}

std::optional<node_key> node_key_from_secret(std::string_view secret) {
  if (secret.size() != 32) return std::nullopt;
  pkey_ptr k(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(secret), secret.size()));
  std::string pub(public_key_bytes, '\0');
  size_t n = pub.size();
  if (!k || EVP_PKEY_get_raw_public_key(k.get(), reinterpret_cast<unsigned char*>(pub.data()), &n) != 1 ||
      n != public_key_bytes)
    return std::nullopt;
  return node_key{std::string(secret), pub};
}

std::string key_text(std::string_view pub) { return hex(pub); }

std::string encode(const auth& a) {
  assert(a.proof.size() == proof_bytes && a.eph.size() == public_key_bytes && a.pub.size() == public_key_bytes &&
         a.sig.size() == signature_bytes);
  return a.proof + a.eph + a.pub + a.sig;
}

auth parse_auth(std::string_view b) {
  assert(b.size() == auth_bytes);
  auth a;
  a.proof = std::string(b.substr(0, proof_bytes));
  a.eph = std::string(b.substr(proof_bytes, public_key_bytes));
  a.pub = std::string(b.substr(proof_bytes + public_key_bytes, public_key_bytes));
  a.sig = std::string(b.substr(proof_bytes + 2 * public_key_bytes, signature_bytes));
  return a;
}

handshake_side make_auth(const key& k, const node_key& me, char role, std::string_view group, const hello& h,
                         std::string_view nonce_s, const auth* connector) {
  assert((role == 'c') == (connector == nullptr));
  auto [eph_secret, eph_pub] = fresh_key(EVP_PKEY_X25519);
  auto t = transcript(role, group, h, nonce_s, eph_pub, me.pub, connector);
  return handshake_side{eph_secret, auth{hmac(k, "proof" + t), eph_pub, me.pub, sign(me, "sig" + t)}};
}

bool check_auth(const key& k, char role, std::string_view group, const hello& h, std::string_view nonce_s,
                const auth& theirs, const auth* connector, std::string& why) {
  auto t = transcript(role, group, h, nonce_s, theirs.eph, theirs.pub, connector);
  if (!constant_time_equal(hmac(k, "proof" + t), theirs.proof)) {
    why = "wrong group name or password";
    return false;
  }
  if (!verify(theirs.pub, "sig" + t, theirs.sig)) {
    why = "a node key signature that does not verify";
    return false;
  }
  return true;
}

std::optional<session_keys> derive_session_keys(const key& k, std::string_view my_eph_secret, const auth& c,
                                                const auth& s, const hello& h, std::string_view nonce_s) {
  pkey_ptr mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, bytes_of(my_eph_secret), my_eph_secret.size()));
  // Whichever side we are, the peer's ephemeral key is the one that is not ours.
  std::string my_pub(public_key_bytes, '\0');
  size_t pn = my_pub.size();
  if (!mine || EVP_PKEY_get_raw_public_key(mine.get(), reinterpret_cast<unsigned char*>(my_pub.data()), &pn) != 1)
    return std::nullopt;
  const std::string& their_eph = my_pub == c.eph ? s.eph : c.eph;
  pkey_ptr theirs(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes_of(their_eph), their_eph.size()));
  std::unique_ptr<EVP_PKEY_CTX, pctx_free> ctx(mine ? EVP_PKEY_CTX_new(mine.get(), nullptr) : nullptr);
  std::string shared(32, '\0');
  size_t n = shared.size();
  // OpenSSL refuses a peer key that gives the all-zero secret (a low-order point).
  if (!theirs || !ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(shared.data()), &n) != 1 || n != 32)
    return std::nullopt;
  std::string base = "troupe-link2-keys" + shared + h.nonce + std::string(nonce_s) + encode(c) + encode(s);
  auto prk = to_key(hmac(k, base));
  return session_keys{to_key(hmac(prk, "c>l")), to_key(hmac(prk, "l>c"))};
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

namespace {
// CAF 0.17's atom("default"), the class of node id every actor system makes,
// as binary_serializer writes it (big-endian), then pid (4) and host id (20).
constexpr uint64_t default_node_class = 0x00003e9aab9bac79ull;
constexpr size_t node_id_bytes = 8 + 4 + 20;
}  // namespace

bool basp_checker::node_check(std::string& why) {
  auto* p = reinterpret_cast<const uint8_t*>(node_bytes_.data());
  uint64_t cls = (uint64_t{get_be32(p)} << 32) | get_be32(p + 4);
  if (cls != default_node_class) {
    why = "a BASP node id of a kind CAF 0.17 nodes do not make";
    return false;
  }
  // As CAF prints it: the host id in upper-case hex, '#', the pid.
  auto text = hex(std::string_view(node_bytes_).substr(12, 20), true) + "#" + std::to_string(get_be32(p + 8));
  if (op_ == 0 || op_ == 1) {
    if (node_id_.empty()) {
      node_id_ = text;
      return on_node_ ? on_node_(node_id_, why) : true;
    }
    if (text != node_id_) {
      why = "a second BASP handshake names another node id";
      return false;
    }
    return true;
  }
  if (text != node_id_) {
    why = cat(op_ == 4 ? "a monitor" : "a down", " message naming another node (", text, ") than the link's (", node_id_, ")");
    return false;
  }
  return true;
}

bool basp_checker::feed(std::string_view bytes, std::string& why) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (payload_left_ > 0) {
      auto take = std::min<uint64_t>(payload_left_, bytes.size() - i);
      if (reading_node_) {
        auto n = std::min<size_t>(node_id_bytes - node_bytes_.size(), static_cast<size_t>(take));
        node_bytes_.append(bytes.data() + i, n);
        if (node_bytes_.size() == node_id_bytes) {
          reading_node_ = false;
          if (!node_check(why)) return false;
        }
      }
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
    bool first = headers_ == 0;
    auto bound = headers_ < first_count_ ? first_max_ : max_;
    headers_ += 1;
    if (len > bound) {
      why = "a BASP message of " + std::to_string(len) + " bytes, over the bound of " + std::to_string(bound);
      return false;
    }
    if (expect_op_ >= 0) {
      if (first && op != expect_op_) {
        why = expect_op_ == 0 ? "the first BASP message is not a server handshake"
                              : "the first BASP message is not a client handshake";
        return false;
      }
      if (op == 0 || op == 1 || op == 4 || op == 5) {
        if (len < node_id_bytes) {
          why = "a BASP message too short for the node id it must carry";
          return false;
        }
        op_ = op;
        node_bytes_.clear();
        reading_node_ = true;
      }
    }
    payload_left_ = len;
    if (len == 0) messages_ += 1;
  }
  return true;
}

}  // namespace troupe::link
