#include "test/support/tls.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "test/support/process.hpp"

namespace fs = std::filesystem;

namespace troupe::test {

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using x509_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("make_tls_files: " + what); }

pkey_ptr new_key() {
  pkey_ptr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
  if (!k) fail("cannot generate a key");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) fail(std::string("bad extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer_key` (issuer_cert null:
// self-signed). `exts`: nid and value pairs.
x509_ptr make_cert(EVP_PKEY* key, const std::string& cn, long serial, X509* issuer_cert, EVP_PKEY* issuer_key,
                   const std::vector<std::pair<int, const char*>>& exts) {
  x509_ptr c(X509_new(), &X509_free);
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("troupe tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer = issuer_cert != nullptr ? issuer_cert : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(issuer));
  for (auto& [nid, value] : exts) add_ext(c.get(), issuer, nid, value);
  if (X509_sign(c.get(), issuer_key, EVP_sha256()) == 0) fail("cannot sign " + cn);
  return c;
}

using bio_ptr = std::unique_ptr<BIO, decltype(&BIO_free_all)>;

bio_ptr open_file(const fs::path& p, const char* mode) {
  bio_ptr b(BIO_new_file(p.c_str(), mode), &BIO_free_all);
  if (!b) fail("cannot write " + p.string());
  return b;
}

void write_cert(BIO* b, X509* c) {
  if (PEM_write_bio_X509(b, c) != 1) fail("cannot write a certificate");
}

void write_key(BIO* b, EVP_PKEY* k, const std::string& passphrase) {
  int ok = passphrase.empty()
               ? PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr)
               : PEM_write_bio_PrivateKey(b, k, EVP_aes_256_cbc(),
                                          reinterpret_cast<const unsigned char*>(passphrase.data()),
                                          static_cast<int>(passphrase.size()), nullptr, nullptr);
  if (ok != 1) fail("cannot write a key");
}

}  // namespace

tls_files make_tls_files(const fs::path& dir, const std::string& passphrase) {
  tls_files f;
  f.ca = dir / "ca.pem";
  f.chain = dir / "server-chain.pem";
  f.key = dir / "server-key.pem";
  f.combined = dir / "server.pem";
  f.client_cert = dir / "client.pem";
  f.client_key = dir / "client-key.pem";
  f.other_key = dir / "other-key.pem";
  f.other_ca = dir / "other-ca.pem";

  auto ca_key = new_key();
  auto ca = make_cert(ca_key.get(), "troupe test CA", 1, nullptr, ca_key.get(),
                      {{NID_basic_constraints, "critical,CA:TRUE"},
                       {NID_key_usage, "critical,keyCertSign,cRLSign"},
                       {NID_subject_key_identifier, "hash"}});
  auto server_key = new_key();
  auto server = make_cert(server_key.get(), "127.0.0.1", 2, ca.get(), ca_key.get(),
                          {{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_key_usage, "critical,digitalSignature"},
                           {NID_ext_key_usage, "serverAuth"},
                           {NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                           {NID_subject_key_identifier, "hash"},
                           {NID_authority_key_identifier, "keyid:always"}});
  auto client_key = new_key();
  auto client = make_cert(client_key.get(), "troupe test client", 3, ca.get(), ca_key.get(),
                          {{NID_basic_constraints, "critical,CA:FALSE"},
                           {NID_key_usage, "critical,digitalSignature"},
                           {NID_ext_key_usage, "clientAuth"},
                           {NID_subject_key_identifier, "hash"},
                           {NID_authority_key_identifier, "keyid:always"}});
  auto other_ca_key = new_key();
  auto other_ca = make_cert(other_ca_key.get(), "another CA", 4, nullptr, other_ca_key.get(),
                            {{NID_basic_constraints, "critical,CA:TRUE"},
                             {NID_key_usage, "critical,keyCertSign,cRLSign"},
                             {NID_subject_key_identifier, "hash"}});
  auto other = new_key();

  write_cert(open_file(f.ca, "w").get(), ca.get());
  write_cert(open_file(f.other_ca, "w").get(), other_ca.get());
  write_cert(open_file(f.chain, "w").get(), server.get());
  write_key(open_file(f.key, "w").get(), server_key.get(), passphrase);
  {
    auto b = open_file(f.combined, "w");
    write_cert(b.get(), server.get());
    write_key(b.get(), server_key.get(), passphrase);
  }
  write_cert(open_file(f.client_cert, "w").get(), client.get());
  write_key(open_file(f.client_key, "w").get(), client_key.get(), "");
  write_key(open_file(f.other_key, "w").get(), other.get(), "");
  return f;
}

std::string find_curl() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(dirs.substr(start, end - start)) / "curl";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return "";
}

std::string enable_https_example(std::string text) {
  // Removes the comment holding `marker` and returns what followed the marker in it.
  auto take = [&](std::string_view marker) {
    auto b = text.find(marker);
    auto open = b == std::string::npos ? b : text.rfind("<!--", b);
    auto close = b == std::string::npos ? b : text.find("-->", b);
    if (open == std::string::npos || close == std::string::npos)
      throw std::runtime_error("enable_https_example: no comment with '" + std::string(marker) + "'");
    auto body = text.substr(b + marker.size(), close - b - marker.size());
    text.erase(open, close + 3 - open);
    return body;
  };
  auto sockets = take("HTTPS EXAMPLE (sockets):");
  auto listener = take("HTTPS EXAMPLE (listener):");
  auto plain = text.find(R"(<listener protocol="http")");
  auto network = text.find("<network>");
  if (plain == std::string::npos || network == std::string::npos || network > plain)
    throw std::runtime_error("enable_https_example: no <network> with an http listener");
  text.replace(plain, text.find("/>", plain) + 2 - plain, listener);
  text.insert(network + std::string_view("<network>").size(), sockets);
  return text;
}

curl_result run_curl(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  curl_result r;
  auto curl = find_curl();
  if (curl.empty()) {
    r.output = "curl is not installed (bin/setup.sh installs it)";
    return r;
  }
  process_options o;
  auto seconds = std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(timeout).count());
  o.argv = {curl, "-sS", "--max-time", std::to_string(seconds), "-w", "\n%{http_code}"};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  // A proxy from the environment would stand between curl and our server.
  o.unset_env = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"};
  child_process p(o);
  auto code = p.wait_exit(timeout + std::chrono::seconds(5));
  r.output = p.output();
  if (!code) return r;
  r.exit_code = *code;
  auto nl = r.output.rfind('\n');
  if (nl != std::string::npos) {
    r.status = std::atoi(r.output.c_str() + nl + 1);
    r.body = r.output.substr(0, nl);
  }
  return r;
}

}  // namespace troupe::test
