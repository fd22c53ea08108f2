// The network-namespace lab itself: hosts reach each other and the client
// reaches them; cuts, one-way cuts and isolation drop what they should and
// nothing else; heal() undoes them; every host has its own loopback; nothing is
// left behind. Skipped (and still passing, with the reason printed) where
// namespaces cannot be made, e.g. without root.
#include "test/support/netns.hpp"

#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr uint16_t kPort = 4000;

bool lab_usable() {
  auto why = test::netns_lab::unavailable_reason();
  if (why.empty()) return true;
  MESSAGE("skipped: " << why);
  return false;
}

// True if `fd` is a connected socket (then closed).
bool connected(int fd) {
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

class fd_closer {
 public:
  explicit fd_closer(int fd) : fd(fd) {}
  ~fd_closer() {
    if (fd >= 0) ::close(fd);
  }
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  const int fd;
};

// A UDP socket bound to addr:kPort in `host`.
int udp_in_host(const test::netns_lab& lab, int host) {
  int fd = lab.socket_in_host(host, AF_INET, SOCK_DGRAM);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(kPort);
  ::inet_pton(AF_INET, lab.address(host).c_str(), &sa.sin_addr);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  return fd;
}

// Sends `msg` from socket `fd` to `to`:kPort; the number of bytes sendto() took
// (a silent drop still takes them all).
long send_udp(const test::netns_lab& lab, int fd, int to, const std::string& msg) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(kPort);
  ::inet_pton(AF_INET, lab.address(to).c_str(), &sa.sin_addr);
  return ::sendto(fd, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
}

// The next datagram on `fd` within `timeout`, "" if none came.
std::string receive_udp(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
  char buf[256];
  auto n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

test::process_options opts(std::vector<std::string> argv) {
  test::process_options o;
  o.argv = std::move(argv);
  return o;
}

std::string ip_netns_list(const std::string& ip) {
  test::child_process p(opts({ip, "netns", "list"}));
  REQUIRE(p.wait_exit(10s) == 0);
  return p.output();
}

}  // namespace

TEST_CASE("netns_lab: cut, one-way cut, isolate and heal between three hosts") {
  if (!lab_usable()) return;
  test::netns_lab lab(3);
  REQUIRE(lab.hosts() == 3);
  CHECK(lab.address(2) == "10.77.0.2");
  CHECK(lab.client_address() == "10.77.0.100");
  fd_closer l1(lab.listen_in_host(1, lab.address(1), kPort));
  fd_closer l2(lab.listen_in_host(2, lab.address(2), kPort));
  REQUIRE(l1.fd >= 0);
  REQUIRE(l2.fd >= 0);
  const auto a1 = lab.address(1), a2 = lab.address(2);

  // Everyone reaches host 2 at first.
  CHECK(connected(lab.connect_from_host(1, a2, kPort, 2s)));
  CHECK(connected(lab.connect_from_host(3, a2, kPort, 2s)));
  CHECK(connected(lab.connect_from_client(a2, kPort, 2s)));
  CHECK(connected(lab.connect_from_host(2, a1, kPort, 2s)));

  SUBCASE("cut drops both directions between the two hosts only") {
    lab.cut(1, 2);
    CHECK_FALSE(connected(lab.connect_from_host(1, a2, kPort, 1s)));
    CHECK_FALSE(connected(lab.connect_from_host(2, a1, kPort, 1s)));
    CHECK(connected(lab.connect_from_client(a2, kPort, 2s)));
    CHECK(connected(lab.connect_from_client(a1, kPort, 2s)));
    CHECK(connected(lab.connect_from_host(3, a2, kPort, 2s)));
    lab.heal();
    CHECK(test::eventually([&] { return connected(lab.connect_from_host(1, a2, kPort, 500ms)); }, 5s));
    CHECK(connected(lab.connect_from_host(2, a1, kPort, 2s)));
  }

  SUBCASE("cut_one_way drops one direction, silently") {
    fd_closer u1(udp_in_host(lab, 1));
    fd_closer u2(udp_in_host(lab, 2));
    lab.cut_one_way(1, 2);
    CHECK_FALSE(connected(lab.connect_from_host(1, a2, kPort, 1s)));
    // Host 2 -> host 1 still arrives.
    CHECK(send_udp(lab, u2.fd, 1, "two-to-one") == 10);
    CHECK(receive_udp(u1.fd, 2s) == "two-to-one");
    // Host 1 -> host 2: the sender sees no error, and the datagram never arrives:
    // the marker sent after heal() is the first thing host 2 gets (one path, in order).
    CHECK(send_udp(lab, u1.fd, 2, "lost") == 4);
    lab.heal();
    CHECK(test::eventually([&] { return connected(lab.connect_from_host(1, a2, kPort, 500ms)); }, 5s));
    CHECK(send_udp(lab, u1.fd, 2, "marker") == 6);
    CHECK(receive_udp(u2.fd, 2s) == "marker");
  }

  SUBCASE("isolate takes a host off the network, the client included") {
    lab.isolate(2);
    CHECK_FALSE(connected(lab.connect_from_client(a2, kPort, 1s)));
    CHECK_FALSE(connected(lab.connect_from_host(1, a2, kPort, 1s)));
    CHECK(connected(lab.connect_from_client(a1, kPort, 2s)));
    lab.heal();
    CHECK(test::eventually([&] { return connected(lab.connect_from_client(a2, kPort, 500ms)); }, 5s));
    CHECK(test::eventually([&] { return connected(lab.connect_from_host(1, a2, kPort, 500ms)); }, 5s));
  }

  SUBCASE("bad hosts are refused") {
    CHECK_THROWS_AS(lab.cut(1, 4), std::out_of_range);
    CHECK_THROWS_AS(lab.cut(2, 2), std::invalid_argument);
    CHECK_THROWS_AS(lab.address(0), std::out_of_range);
  }
}

TEST_CASE("netns_lab: in_host runs the program itself inside the host") {
  if (!lab_usable()) return;
  test::netns_lab lab(2);

  test::child_process ip(opts(lab.in_host(2, {"ip", "-o", "-4", "addr", "show", "dev", "eth0"})));
  CHECK(ip.wait_exit(10s) == 0);
  CHECK(ip.output().find("10.77.0.2/24") != std::string::npos);

  // The child's pid is the program's, inside the host's namespace, and signals reach it.
  struct stat ns {};
  REQUIRE(::stat(("/run/netns/" + lab.ns_name(2)).c_str(), &ns) == 0);
  const std::string want_ns = "net:[" + std::to_string(ns.st_ino) + "]";
  test::child_process sleeper(opts(lab.in_host(2, {"sleep", "60"})));
  CHECK(test::eventually(
      [&] {
        std::error_code ec;
        auto link = fs::read_symlink("/proc/" + std::to_string(sleeper.pid()) + "/ns/net", ec);
        return !ec && link.string() == want_ns &&
               test::read_text("/proc/" + std::to_string(sleeper.pid()) + "/comm") == "sleep\n";
      },
      5s));
  sleeper.signal(SIGKILL);
  CHECK(sleeper.wait_exit(5s) == 128 + SIGKILL);
}

TEST_CASE("netns_lab: each host has its own loopback") {
  if (!lab_usable()) return;
  test::netns_lab lab(3);
  fd_closer l1(lab.listen_in_host(1, "127.0.0.1", kPort));
  fd_closer l2(lab.listen_in_host(2, "127.0.0.1", kPort));
  CHECK(l1.fd >= 0);
  CHECK(l2.fd >= 0);
  CHECK(connected(lab.connect_from_host(1, "127.0.0.1", kPort, 2s)));
  CHECK(connected(lab.connect_from_host(2, "127.0.0.1", kPort, 2s)));
  // Nothing listens on host 3's loopback: refused at once.
  CHECK_FALSE(connected(lab.connect_from_host(3, "127.0.0.1", kPort, 2s)));
}

TEST_CASE("netns_lab: names are removed, and two labs never meet") {
  if (!lab_usable()) return;
  std::vector<std::string> names;
  std::string ip;
  {
    test::netns_lab a(1), b(1);
    ip = a.in_host(1, {})[0];
    names = {a.ns_name(1), b.ns_name(1), a.client_ns_name(), b.client_ns_name()};
    CHECK(a.ns_name(1) != b.ns_name(1));
    // Same address, same port, two separate networks.
    fd_closer la(a.listen_in_host(1, a.address(1), kPort));
    fd_closer lb(b.listen_in_host(1, b.address(1), kPort));
    CHECK(la.fd >= 0);
    CHECK(lb.fd >= 0);
    auto listed = ip_netns_list(ip);
    for (auto& n : names) CHECK_MESSAGE(listed.find(n) != std::string::npos, n);
  }
  auto listed = ip_netns_list(ip);
  for (auto& n : names) {
    CHECK_MESSAGE(listed.find(n) == std::string::npos, n);
    CHECK_FALSE(fs::exists("/run/netns/" + n));
  }

  SUBCASE("remove_stale removes a dead run's names and keeps a live one's") {
    pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    REQUIRE(dead > 0);
    int st = 0;
    REQUIRE(::waitpid(dead, &st, 0) == dead);
    char stale[64], live[64];
    std::snprintf(stale, sizeof stale, "tr%x_0_h1", static_cast<unsigned>(dead));
    std::snprintf(live, sizeof live, "tr%x_999_h1", static_cast<unsigned>(::getpid()));
    for (const char* n : {stale, live}) {
      test::child_process add(opts({ip, "netns", "add", n}));
      REQUIRE(add.wait_exit(10s) == 0);
    }
    test::netns_lab::remove_stale();
    CHECK_FALSE(fs::exists(std::string("/run/netns/") + stale));
    CHECK(fs::exists(std::string("/run/netns/") + live));
    test::child_process del(opts({ip, "netns", "del", live}));
    CHECK(del.wait_exit(10s) == 0);
  }
}
