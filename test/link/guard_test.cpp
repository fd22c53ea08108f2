// The guard over real sockets on loopback, with no CAF: a "CAF endpoint" here
// is a plain TCP server that echoes BASP-shaped messages.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "src/link/guard.hpp"
#include "test/support/sockets.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace troupe::link;
using troupe::test::closed_within;
using troupe::test::connect_loopback;
using troupe::test::eventually;
using troupe::test::listen_loopback;
using troupe::test::read_some;
using namespace std::chrono_literals;

namespace {

std::string basp(uint8_t op, const std::string& payload) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(op);
  auto len = static_cast<uint32_t>(payload.size());
  for (int i = 0; i < 4; ++i) h[static_cast<size_t>(4 + i)] = static_cast<char>((len >> (8 * (3 - i))) & 0xff);
  return h + payload;
}

std::string basp_header_only(uint8_t op, uint32_t len) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(op);
  for (int i = 0; i < 4; ++i) h[static_cast<size_t>(4 + i)] = static_cast<char>((len >> (8 * (3 - i))) & 0xff);
  return h;
}

// The stand-in for CAF's endpoint: echoes every byte it gets, and keeps a copy.
struct echo_server {
  uint16_t port = 0;
  int fd = -1;
  std::thread t;
  std::mutex m;
  std::string got;
  std::atomic<bool> stop{false};
  echo_server() {
    fd = listen_loopback(port);
    t = std::thread([this] {
      std::vector<int> conns;
      while (!stop) {
        std::vector<pollfd> ps{{fd, POLLIN, 0}};
        for (int c : conns) ps.push_back({c, POLLIN, 0});
        if (::poll(ps.data(), ps.size(), 50) <= 0) continue;
        if (ps[0].revents & POLLIN) conns.push_back(::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC));
        for (size_t i = 1; i < ps.size(); ++i) {
          if (!(ps[i].revents & (POLLIN | POLLHUP))) continue;
          char buf[65536];
          auto r = ::read(ps[i].fd, buf, sizeof buf);
          if (r <= 0) continue;
          {
            std::lock_guard<std::mutex> g(m);
            got.append(buf, static_cast<size_t>(r));
          }
          ssize_t w = ::write(ps[i].fd, buf, static_cast<size_t>(r));
          (void)w;
        }
      }
      for (int c : conns) ::close(c);
    });
  }
  ~echo_server() {
    stop = true;
    t.join();
    ::close(fd);
  }
  std::string received() {
    std::lock_guard<std::mutex> g(m);
    return got;
  }
};

// A TCP relay that records what passes (a wire tap).
struct tap {
  uint16_t port = 0;
  uint16_t to = 0;
  int fd = -1;
  std::thread t;
  std::mutex m;
  std::string seen;
  std::atomic<bool> stop{false};
  explicit tap(uint16_t target) : to(target) {
    fd = listen_loopback(port);
    t = std::thread([this] {
      int a = -1, b = -1;
      while (!stop) {
        std::vector<pollfd> ps{{fd, POLLIN, 0}};
        if (a >= 0) ps.push_back({a, POLLIN, 0}), ps.push_back({b, POLLIN, 0});
        if (::poll(ps.data(), ps.size(), 50) <= 0) continue;
        if ((ps[0].revents & POLLIN) && a < 0) {
          a = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
          b = connect_loopback(to);
          continue;
        }
        for (size_t i = 1; i < ps.size(); ++i) {
          if (!(ps[i].revents & (POLLIN | POLLHUP))) continue;
          char buf[65536];
          auto r = ::read(ps[i].fd, buf, sizeof buf);
          if (r <= 0) continue;
          {
            std::lock_guard<std::mutex> g(m);
            seen.append(buf, static_cast<size_t>(r));
          }
          ssize_t w = ::write(i == 1 ? b : a, buf, static_cast<size_t>(r));
          (void)w;
        }
      }
      if (a >= 0) ::close(a), ::close(b);
    });
  }
  ~tap() {
    stop = true;
    t.join();
    ::close(fd);
  }
  std::string bytes() {
    std::lock_guard<std::mutex> g(m);
    return seen;
  }
};

guard_options options(const std::string& name, const std::string& password, uint16_t internal, bool encrypt = false) {
  guard_options o;
  o.group_name = "test-group";
  o.group_key = derive_group_key(o.group_name, password, 1000);
  o.encrypt = encrypt;
  o.local_name = name;
  o.bind_host = "127.0.0.1";
  o.port_first = 0;  // any free port
  o.port_last = 0;
  o.internal_port = internal;
  o.handshake_timeout = 500ms;
  o.pending_max = 4;
  return o;
}

}  // namespace

TEST_CASE("link guard: a member's CAF reaches another's through both guards, and the bytes come back") {
  for (bool encrypt : {false, true}) {
    CAPTURE(encrypt);
    echo_server caf_b;
    guard b(options("b", "secret", caf_b.port, encrypt), nullptr);
    auto bport = b.start();
    REQUIRE(bport.ok());
    guard a(options("a", "secret", 1, encrypt), nullptr);
    REQUIRE(a.start().ok());
    // A wire tap between the two guards, to see what an observer sees.
    tap wire(*bport);
    auto local = a.forward("127.0.0.1", wire.port);
    REQUIRE(local.ok());
    int caf_a = connect_loopback(*local);
    REQUIRE(caf_a >= 0);
    auto msg = basp(2, "marker-4f2a9 a direct message") + basp(2, std::string(200000, 'p'));
    REQUIRE(::write(caf_a, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size()));
    CHECK(read_some(caf_a, msg.size(), 5s) == msg);
    CHECK(caf_b.received() == msg);
    CHECK((wire.bytes().find("marker-4f2a9") != std::string::npos) == !encrypt);
    CHECK(a.stats().links_out == 1);
    CHECK(b.stats().links_in == 1);
    ::close(caf_a);
  }
}

TEST_CASE("link guard: a wrong group password gets nothing through, on either side") {
  echo_server caf_b;
  guard b(options("b", "secret", caf_b.port), nullptr);
  auto bport = b.start();
  REQUIRE(bport.ok());
  guard a(options("a", "guess", 1), nullptr);
  REQUIRE(a.start().ok());
  auto local = a.forward("127.0.0.1", *bport);
  REQUIRE(local.ok());
  int caf_a = connect_loopback(*local);
  REQUIRE(caf_a >= 0);
  auto msg = basp(2, "should never arrive");
  ::write(caf_a, msg.data(), msg.size());
  CHECK(closed_within(caf_a, 3s));
  CHECK(caf_b.received().empty());
  CHECK(eventually([&] { return b.stats().refused == 1; }, 2s));
  CHECK(b.stats().links_in == 0);
  ::close(caf_a);
  // Encryption on one side only: refused too.
  guard c(options("c", "secret", 1, true), nullptr);
  REQUIRE(c.start().ok());
  auto l2 = c.forward("127.0.0.1", *bport);
  int caf_c = connect_loopback(*l2);
  ::write(caf_c, msg.data(), msg.size());
  CHECK(closed_within(caf_c, 3s));
  CHECK(caf_b.received().empty());
  ::close(caf_c);
}

TEST_CASE("link guard: raw attacks on the port: silence, garbage, an oversized BASP header, too many at once") {
  echo_server caf_b;
  guard b(options("b", "secret", caf_b.port), nullptr);
  auto bport = b.start();
  REQUIRE(bport.ok());
  SUBCASE("silence is closed within the handshake deadline") {
    int fd = connect_loopback(*bport);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(closed_within(fd, 3s));
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    ::close(fd);
  }
  SUBCASE("a BASP header announcing 256 MiB, sent straight to the port, is closed and never reaches CAF") {
    int fd = connect_loopback(*bport);
    auto h = basp_header_only(0, 256u << 20);
    ::write(fd, h.data(), h.size());
    CHECK(closed_within(fd, 3s));
    CHECK(caf_b.received().empty());
    ::close(fd);
  }
  SUBCASE("garbage and HTTP are closed") {
    for (std::string g : {std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), std::string(1000, '\x01')}) {
      int fd = connect_loopback(*bport);
      ::write(fd, g.data(), g.size());
      CHECK(closed_within(fd, 3s));
      ::close(fd);
    }
    CHECK(caf_b.received().empty());
  }
  SUBCASE("beyond pending_max connections still proving, the next is closed at once") {
    std::vector<int> quiet;
    for (int i = 0; i < 4; ++i) quiet.push_back(connect_loopback(*bport));
    REQUIRE(eventually([&] { return b.stats().pending == 4; }, 2s));
    int extra = connect_loopback(*bport);
    CHECK(closed_within(extra, 300ms));
    for (int q : quiet) ::close(q);
    ::close(extra);
  }
  SUBCASE("after the handshake, an oversized or routed BASP message closes the link before CAF sees it") {
    guard a(options("a", "secret", 1), nullptr);
    REQUIRE(a.start().ok());
    for (auto bad : {basp_header_only(2, 256u << 20), basp(3, "routed")}) {
      auto local = a.forward("127.0.0.1", *bport);
      int caf_a = connect_loopback(*local);
      ::write(caf_a, bad.data(), bad.size());
      CHECK(closed_within(caf_a, 3s));
      ::close(caf_a);
    }
    CHECK(caf_b.received().empty());
  }
}

TEST_CASE("link guard: a forward nobody uses closes; stop ends every link") {
  echo_server caf_b;
  auto o = options("b", "secret", caf_b.port);
  guard b(o, nullptr);
  auto bport = b.start();
  REQUIRE(bport.ok());
  auto ao = options("a", "secret", 1);
  ao.forward_accept_timeout = 200ms;
  guard a(ao, nullptr);
  REQUIRE(a.start().ok());
  auto unused = a.forward("127.0.0.1", *bport);
  REQUIRE(unused.ok());
  CHECK(eventually([&] {
    int fd = connect_loopback(*unused);
    if (fd >= 0) ::close(fd);
    return fd < 0;
  }, 2s));
  auto local = a.forward("127.0.0.1", *bport);
  int caf_a = connect_loopback(*local);
  auto msg = basp(2, "x");
  ::write(caf_a, msg.data(), msg.size());
  REQUIRE(read_some(caf_a, msg.size(), 3s) == msg);
  b.stop();
  CHECK(closed_within(caf_a, 3s));
  ::close(caf_a);
}

TEST_CASE("link guard, bounds only (the console port): CAF's bytes pass unsealed, but a client's first messages are "
          "small, every message is bounded, and a silent client is closed") {
  echo_server caf;
  auto o = options("console", "unused", caf.port);
  o.sealed = false;
  o.payload_bytes_max = 1u << 20;
  guard g(o, nullptr);
  auto port = g.start();
  REQUIRE(port.ok());
  SUBCASE("a console's messages pass as they are, and later ones may be larger") {
    int fd = connect_loopback(*port);
    std::string msgs = basp(1, "handshake") + basp(2, "a") + basp(2, "b") + basp(2, "c") + basp(2, std::string(500000, 'x'));
    REQUIRE(::write(fd, msgs.data(), msgs.size()) == static_cast<ssize_t>(msgs.size()));
    CHECK(read_some(fd, msgs.size(), 5s) == msgs);
    CHECK(g.stats().links_in == 1);
    ::close(fd);
  }
  SUBCASE("a first message over 64 KiB never reaches CAF") {
    int fd = connect_loopback(*port);
    auto big = basp_header_only(1, 65 * 1024);
    ::write(fd, big.data(), big.size());
    CHECK(closed_within(fd, 3s));
    ::close(fd);
    CHECK(caf.received().empty());
  }
  SUBCASE("silence, and an unfinished first message, are closed at the deadline") {
    int quiet = connect_loopback(*port);
    int partial = connect_loopback(*port);
    auto h = basp_header_only(1, 100);
    ::write(partial, h.data(), h.size());
    CHECK(closed_within(quiet, 3s));
    CHECK(closed_within(partial, 3s));
    ::close(quiet);
    ::close(partial);
  }
}
