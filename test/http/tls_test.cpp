// HTTPS: the server with TLS settings over real loopback sockets, with curl as
// the client that verifies the certificate chain. Certificates are made fresh
// in a temporary directory (test/support/tls.hpp). Ports 22500-22519.
#include <doctest/doctest.h>

#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "src/http/server.hpp"
#include "test/http/test_client.hpp"
#include "test/support/sockets.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/tls.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace troupe::http;
using troupe::test::make_request;
using troupe::test::test_client;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

server_options tls_server_options(const test::tls_files& f) {
  server_options o;
  o.ip = "127.0.0.1";
  o.port_first = 22500;
  o.port_last = 22519;
  o.body_limit_bytes = 4096;
  tls_options t;
  t.certificate_chain_file = f.chain;
  t.private_key_file = f.key;
  o.tls = t;
  return o;
}

// Echoes "METHOD PATH body" with the client's address; POST /reject is
// answered 401 from the headers, before its body is read (an early answer).
struct tls_fixture {
  explicit tls_fixture(server_options o)
      : log("test", [](log_level, std::string_view) {}, log_level::debug) {
    log.set_tee([this](log_level, std::string_view rec) {
      std::lock_guard<std::mutex> g(m);
      lines.emplace_back(rec);
    });
    o.check_header = [](const request& head, bool) -> std::optional<response> {
      if (head.path == "/reject") return error_response(401, "rejected from the headers");
      return std::nullopt;
    };
    srv = std::make_unique<server>(
        std::move(o),
        [this](request&& r, responder reply) {
          {
            std::lock_guard<std::mutex> g(m);
            remotes.push_back(r.remote);
          }
          response res;
          res.content_type = "text/plain";
          res.body = r.method + " " + r.path + " " + r.body;
          reply(res);
        },
        &log);
  }
  uint16_t start() {
    auto p = srv->start();
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().render()));
    return *p;
  }
  bool logged(std::string_view needle) {
    std::lock_guard<std::mutex> g(m);
    for (auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  std::vector<std::string> seen_remotes() {
    std::lock_guard<std::mutex> g(m);
    return remotes;
  }

  logger log;
  std::mutex m;
  std::vector<std::string> lines;
  std::vector<std::string> remotes;
  std::unique_ptr<server> srv;
};

std::string url(uint16_t port, std::string_view path) {
  return "https://127.0.0.1:" + std::to_string(port) + std::string(path);
}

void require_curl() { REQUIRE_MESSAGE(!test::find_curl().empty(), "curl is not installed (bin/setup.sh installs it)"); }

// A blocking TLS client with OpenSSL's C API, for what curl cannot be made to
// do: offer only old protocol versions, or stop after the handshake.
struct raw_tls_client {
  raw_tls_client(uint16_t port, int max_version) {
    fd = test::connect_loopback(port);
    REQUIRE(fd >= 0);
    timeval tv{5, 0};  // bounds every blocking step
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ctx = SSL_CTX_new(TLS_client_method());
    REQUIRE(ctx != nullptr);
    // Level 0 lets OpenSSL offer TLS 1.0 and 1.1 at all, so that the refusal
    // we see is the server's.
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0");
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
  }
  ~raw_tls_client() {
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    if (fd >= 0) ::close(fd);
  }
  bool handshake() { return SSL_connect(ssl) == 1; }
  int fd = -1;
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
};

}  // namespace

TEST_CASE("http server: TLS: curl verifies the certificate against the CA and every request path works over HTTPS") {
  require_curl();
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path());
  tls_fixture f(tls_server_options(files));
  auto port = f.start();
  CHECK(f.logged("Listening http connections on 127.0.0.1:" + std::to_string(port) +
                 " (protocol v.10, socket=https)"));

  SUBCASE("two requests over one kept-alive connection") {
    auto r = test::run_curl({"--cacert", files.ca.string(), url(port, "/hello"), url(port, "/again")});
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("GET /hello \n200GET /again \n200") != std::string::npos);
    auto remotes = f.seen_remotes();
    REQUIRE(remotes.size() == 2);
    CHECK(remotes[0] == remotes[1]);  // the same client port: one connection
  }
  SUBCASE("the name in the certificate is checked too: localhost is in it") {
    auto r = test::run_curl({"--cacert", files.ca.string(), "https://localhost:" + std::to_string(port) + "/x"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.status == 200);
  }
  SUBCASE("a body, after 100 Continue") {
    auto r = test::run_curl({"--cacert", files.ca.string(), "-H", "Expect: 100-continue", "--data-binary",
                             "the body", url(port, "/post")});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.status == 200);
    CHECK(r.body == "POST /post the body");
  }
  SUBCASE("Connection: close ends with our close_notify, and curl is content") {
    auto r = test::run_curl({"--cacert", files.ca.string(), "-H", "Connection: close", url(port, "/bye")});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.status == 200);
    CHECK(r.body == "GET /bye ");
  }
  SUBCASE("an early answer from check_header, then a lingering close") {
    auto r = test::run_curl({"--cacert", files.ca.string(), "--data-binary", std::string(3000, 'x'),
                             url(port, "/reject")});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.status == 401);
    CHECK(r.body.find("rejected from the headers") != std::string::npos);
  }
  SUBCASE("a client that does not trust our CA refuses the server") {
    auto r = test::run_curl({"--cacert", files.other_ca.string(), url(port, "/x")});
    INFO(r.output);
    CHECK(r.exit_code == 60);  // CURLE_PEER_FAILED_VERIFICATION
    CHECK(f.seen_remotes().empty());
  }
  CHECK(test::eventually([&] { return f.srv->connection_count() == 0; }, 5s));
}

TEST_CASE("http server: TLS: the key may be encrypted with a passphrase and share one file with the chain") {
  require_curl();
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path(), "correct horse");
  auto o = tls_server_options(files);
  o.tls->certificate_chain_file = files.combined;
  o.tls->private_key_file = files.combined;
  o.tls->key_passphrase = "correct horse";
  o.tls->socket_name = "secure";
  tls_fixture f(std::move(o));
  auto port = f.start();
  CHECK(f.logged("(protocol v.10, socket=secure)"));
  auto r = test::run_curl({"--cacert", files.ca.string(), url(port, "/one-file")});
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK(r.status == 200);
  CHECK(r.body == "GET /one-file ");
}

TEST_CASE("http server: TLS: a plain http request on the https port gets a plain 400 saying so, then a close") {
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path());
  tls_fixture f(tls_server_options(files));
  auto port = f.start();
  for (auto method : {"GET", "DELETE"}) {
    CAPTURE(method);
    test_client c(port);
    REQUIRE(c.connected());
    REQUIRE(c.send(make_request(method, "/listDatabases")));
    auto r = c.read_response(5s);
    REQUIRE(r.has_value());
    CHECK(r->status == 400);
    CHECK(r->header("connection") == "close");
    CHECK(r->body.find("this port serves HTTPS only: use an https:// URL") != std::string::npos);
    CHECK(c.wait_closed(3s));
  }
  CHECK(f.seen_remotes().empty());
  if (!test::find_curl().empty()) {
    auto r = test::run_curl({"http://127.0.0.1:" + std::to_string(port) + "/x"});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.status == 400);
  }
  CHECK(test::eventually([&] { return f.srv->connection_count() == 0; }, 5s));
}

TEST_CASE("http server: TLS: silence, a cut ClientHello, no request after the handshake: closed at the header deadline") {
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path());
  auto o = tls_server_options(files);
  o.header_timeout = 400ms;
  o.idle_timeout = 60s;  // not the bound at work here
  tls_fixture f(std::move(o));
  auto port = f.start();

  auto closed_between = [](auto wait_closed, std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    auto t0 = std::chrono::steady_clock::now();
    bool closed = wait_closed(hi + 2s);
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(closed);
    CHECK(took >= lo);
    CHECK(took < hi + 1s);
  };
  SUBCASE("a client that connects and sends nothing") {
    test_client c(port);
    REQUIRE(c.connected());
    closed_between([&](auto t) { return c.wait_closed(t); }, 300ms, 400ms);
  }
  SUBCASE("a ClientHello that stops half way") {
    test_client c(port);
    REQUIRE(c.connected());
    // A handshake record header announcing 512 bytes, and only 4 of them.
    REQUIRE(c.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9)));
    closed_between([&](auto t) { return c.wait_closed(t); }, 300ms, 400ms);
  }
  SUBCASE("a handshake, then no request: one deadline from the accept covers both") {
    raw_tls_client c(port, TLS1_3_VERSION);
    REQUIRE(c.handshake());
    closed_between([&](auto t) { return test::closed_within(c.fd, t); }, 250ms, 400ms);
  }
  CHECK(test::eventually([&] { return f.srv->connection_count() == 0; }, 5s));
  CHECK(f.seen_remotes().empty());
}

TEST_CASE("http server: TLS: TLS 1.1 and older are refused, TLS 1.2 and 1.3 are served") {
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path());
  tls_fixture f(tls_server_options(files));
  auto port = f.start();
  for (int v : {TLS1_VERSION, TLS1_1_VERSION}) {
    CAPTURE(v);
    raw_tls_client c(port, v);
    CHECK_FALSE(c.handshake());
  }
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    CAPTURE(v);
    raw_tls_client c(port, v);
    CHECK(c.handshake());
    CHECK(SSL_version(c.ssl) == v);
  }
  if (!test::find_curl().empty()) {
    auto r = test::run_curl({"--cacert", files.ca.string(), "--tlsv1.2", "--tls-max", "1.2", url(port, "/v12")});
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.body == "GET /v12 ");
  }
}

TEST_CASE("http server: TLS: with client certificates required, only a client with one signed by the CA gets in") {
  require_curl();
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path());
  auto o = tls_server_options(files);
  o.tls->require_client_certificate = true;
  o.tls->client_ca_file = files.ca;
  tls_fixture f(std::move(o));
  auto port = f.start();

  auto with_cert = test::run_curl({"--cacert", files.ca.string(), "--cert", files.client_cert.string(), "--key",
                                   files.client_key.string(), url(port, "/me")});
  INFO(with_cert.output);
  CHECK(with_cert.exit_code == 0);
  CHECK(with_cert.body == "GET /me ");

  auto without = test::run_curl({"--cacert", files.ca.string(), url(port, "/anonymous")});
  INFO(without.output);
  CHECK(without.exit_code != 0);
  CHECK(without.status == 0);
  auto remotes = f.seen_remotes();
  REQUIRE(remotes.size() == 1);  // only the request with a certificate
}

TEST_CASE("http server: TLS: unusable PEM files fail start() with an error naming the file and the problem") {
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path(), "pw");
  test::write_text(dir / "orientdb.ks", std::string("\xfe\xed\xfe\xed\x00\x00\x00\x02 a Java keystore", 24));
  fs::create_directory(dir / "a-directory");
  struct bad {
    std::string name;
    fs::path chain, key;
    std::string passphrase;
    fs::path client_ca;  // set: client certificates required
    std::string expect;
  };
  auto s = [](const fs::path& p) { return p.string(); };
  std::vector<bad> table = {
      {"no chain file", dir / "nope.pem", files.key, "pw", {},
       "cannot read the certificate chain " + s(dir / "nope.pem") + ": No such file or directory"},
      {"chain is a directory", dir / "a-directory", files.key, "pw", {},
       "cannot read the certificate chain " + s(dir / "a-directory") + ": not a regular file"},
      {"a Java keystore", dir / "orientdb.ks", dir / "orientdb.ks", "pw", {},
       "no PEM certificate in " + s(dir / "orientdb.ks") + " (troupe reads PEM files, not Java keystores)"},
      {"no key in the chain file", files.chain, files.chain, "pw", {}, "no PEM private key in " + s(files.chain)},
      {"no key file", files.chain, dir / "nokey.pem", "pw", {},
       "cannot read the private key " + s(dir / "nokey.pem") + ": No such file or directory"},
      {"wrong passphrase", files.chain, files.key, "wrong", {},
       "cannot decrypt the private key in " + s(files.key) + ": wrong passphrase"},
      {"no passphrase for an encrypted key", files.chain, files.key, "", {},
       "the private key in " + s(files.key) + " is encrypted and no passphrase is configured"},
      {"a key of another certificate", files.chain, files.other_key, "", {},
       "the private key in " + s(files.other_key) + " does not match the certificate in " + s(files.chain)},
      {"no client CA file", files.chain, files.key, "pw", dir / "clients.pem",
       "cannot read the client CA certificates " + s(dir / "clients.pem") + ": No such file or directory"},
      {"client CA file without certificates", files.chain, files.key, "pw", files.other_key,
       "no PEM certificate in " + s(files.other_key)},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    auto o = tls_server_options(files);
    o.tls->certificate_chain_file = b.chain;
    o.tls->private_key_file = b.key;
    o.tls->key_passphrase = b.passphrase;
    o.tls->require_client_certificate = !b.client_ca.empty();
    o.tls->client_ca_file = b.client_ca;
    o.tls->config_file = "config/orientdb-server-config.xml";
    o.tls->config_where = "line 7";
    server srv(o, [](request&&, responder) {}, nullptr);
    auto p = srv.start();
    REQUIRE_FALSE(p.ok());
    auto msg = p.error().render();
    CAPTURE(msg);
    CHECK(msg == "config/orientdb-server-config.xml: line 7: " + b.expect);
    CHECK(srv.port() == 0);  // nothing was bound
  }
  // The same files with the right passphrase are fine.
  auto o = tls_server_options(files);
  o.tls->key_passphrase = "pw";
  server srv(o, [](request&&, responder) {}, nullptr);
  CHECK(srv.start().ok());
}

TEST_CASE("http server: TLS: the per-address cap holds; a connection over it is closed without a plain answer") {
  test::temp_dir dir;
  auto files = test::make_tls_files(dir.path());
  auto o = tls_server_options(files);
  o.max_connections_per_address = 1;
  tls_fixture f(std::move(o));
  auto port = f.start();
  test_client first(port);
  REQUIRE(first.connected());
  REQUIRE(test::eventually([&] { return f.srv->connection_count() == 1; }, 5s));
  test_client second(port);
  REQUIRE(second.connected());
  CHECK(second.wait_closed(3s));
  CHECK(second.pending().empty());
  CHECK(f.srv->refused_count() == 1);
}

TEST_CASE("http server: a listener without TLS still says socket=default") {
  server_options o;
  o.ip = "127.0.0.1";
  o.port_first = 22500;
  o.port_last = 22519;
  std::vector<std::string> lines;
  std::mutex m;
  logger log("test", [&](log_level, std::string_view rec) {
    std::lock_guard<std::mutex> g(m);
    lines.emplace_back(rec);
  });
  server srv(o, [](request&&, responder) {}, &log);
  auto p = srv.start();
  REQUIRE(p.ok());
  std::lock_guard<std::mutex> g(m);
  bool found = false;
  for (auto& l : lines) found |= l.find("(protocol v.10, socket=default)") != std::string::npos;
  CHECK(found);
}
