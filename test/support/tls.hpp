// TLS test material: throwaway certificates made with OpenSSL's C API (no
// openssl binary needed), and curl as the real client that verifies them.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace troupe::test {

// PEM files written into one directory by make_tls_files().
struct tls_files {
  std::filesystem::path ca;           // the CA's certificate: what a client trusts
  std::filesystem::path chain;        // the server's certificate (127.0.0.1, localhost), signed by the CA
  std::filesystem::path key;          // its private key, encrypted when a passphrase was given
  std::filesystem::path combined;     // chain and key in one file (key as in `key`)
  std::filesystem::path client_cert;  // a client certificate signed by the CA
  std::filesystem::path client_key;   // its private key (not encrypted)
  std::filesystem::path other_key;    // a private key no certificate belongs to
  std::filesystem::path other_ca;     // another CA's certificate (trusts nothing above)
};

// A fresh CA, a server certificate for 127.0.0.1 and localhost and a client
// certificate (P-256 keys, valid from an hour ago for a day). The server key
// is encrypted with `passphrase` unless it is empty. Throws on failure.
tls_files make_tls_files(const std::filesystem::path& dir, const std::string& passphrase = "");

// curl's outcome: its exit code (0: success; 35, 56, 60: TLS failures), the
// HTTP status and the body.
struct curl_result {
  int exit_code = -1;  // -1: curl did not finish in time
  int status = 0;
  std::string body;
  std::string output;  // everything curl printed, for failure messages
};

// The curl binary on PATH, or empty (bin/setup.sh installs it).
std::string find_curl();

// Runs curl -sS with `args` (bounded by --max-time and `timeout`), separating
// the body from the status it prints last.
curl_result run_curl(const std::vector<std::string>& args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(20));

// `config_text` (the shipped orientdb-server-config.xml) with its commented-out
// HTTPS example enabled: the comments marked "HTTPS EXAMPLE (sockets):" and
// "HTTPS EXAMPLE (listener):" uncommented, the latter in place of the plain
// http listener. The example's files are config/cert/server-chain.pem and
// config/cert/server-key.pem (make_tls_files' names). Throws if a marker is gone.
std::string enable_https_example(std::string config_text);

}  // namespace troupe::test
