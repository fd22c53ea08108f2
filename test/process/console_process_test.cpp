// OrientDB's tutorial "Working with Distributed Graphs", word for word, through
// the real console binary against two real dserver processes started from one
// copied server home (as the seed tells users to), with node 1 SIGKILLed:
// the console that was on node 1 moves to node 2 and answers the next query,
// saying so in exactly one line (src/console/failover.hpp).
//
// It uses the shipped ports (console 2424-2430, as `remote:localhost` means
// 2424), as dserver_process_test.cpp does: run it while no other troupe or
// OrientDB server listens there.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "src/util/strings.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using troupe::test::child_process;
using troupe::test::eventually;
using troupe::test::process_options;

namespace {

std::string env_path(const char* name) {
  const char* p = std::getenv(name);
  REQUIRE_MESSAGE(p != nullptr, std::string(name) << " is not set (run through meson test)");
  return p;
}

process_options dserver(const fs::path& home, const std::string& name) {
  process_options o;
  o.argv = {env_path("TROUPE_DSERVER"), "--home", home.string()};
  o.env = {{"ORIENTDB_NODE_NAME", name}};
  o.unset_env = {"ORIENTDB_HOME"};
  return o;
}

// The console reading its commands from a pipe, as `console.sh < script` would.
process_options console() {
  process_options o;
  o.argv = {env_path("TROUPE_CONSOLE")};
  return o;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

// Whether nothing listens on `port` (any address): a bind there succeeds.
bool port_free(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  // As dserver binds (SO_REUSEADDR): connections of earlier runs in
  // TIME_WAIT do not count, only a listener does (without it this waited a
  // minute after every test that had used the port).
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// The shipped ports are shared with every other server test on this machine
// (dserver_process_test.cpp uses them too): wait, bounded, until the console
// range's first ports are free rather than fail on another run's servers.
void wait_for_shipped_ports() {
  bool free = eventually([] { return port_free(2424) && port_free(2425) && port_free(2480) && port_free(2434); }, 180s);
  REQUIRE_MESSAGE(free, "ports 2424/2425/2480/2434 stayed taken for 3 minutes: another server runs on this machine");
}

// The console port a dserver said it listens on (0 when it said none).
int binary_port(const std::string& out) {
  const std::string prefix = "Listening binary connections on 0.0.0.0:";
  auto at = out.find(prefix);
  if (at == std::string::npos) return 0;
  return std::atoi(out.c_str() + at + prefix.size());
}

// Sends one line and waits (bounded) for `expect` in what the console prints
// after it; the output of that command only.
std::string run(child_process& c, const std::string& line, const std::string& expect, std::chrono::milliseconds timeout) {
  auto from = c.output().size();
  c.write_input(line + "\n");
  bool seen = c.wait_for_output(expect, timeout, from);
  auto out = c.output().substr(from);
  REQUIRE_MESSAGE(seen, "`" << line << "` printed no '" << expect << "':\n" << out);
  return out;
}

}  // namespace

TEST_CASE("console process: the tutorial 'Working with Distributed Graphs' word for word, node 1 killed (SIGKILL)") {
  test::temp_dir root;
  auto home1 = root / "orientdb-node1";
  auto home2 = root / "orientdb-node2";
  test::make_home(home1);
  fs::copy(home1, home2, fs::copy_options::recursive);
  wait_for_shipped_ports();
  child_process n1(dserver(home1, "node1"));
  REQUIRE_MESSAGE(n1.wait_for_output("is active.", 30s), n1.output());
  // `remote:localhost` means port 2424: the tutorial needs it free.
  REQUIRE_MESSAGE(binary_port(n1.output()) == 2424, "port 2424 is taken by another server:\n" << n1.output());
  child_process n2(dserver(home2, "node2"));
  REQUIRE_MESSAGE(n2.wait_for_output("WARN [node2] database GratefulDeadConcerts is online", 60s), n2.output());
  // Node 2 takes the next free port of the range (2425 unless another server holds it).
  auto port2 = binary_port(n2.output());
  REQUIRE_MESSAGE(port2 > 2424, n2.output());
  // node1 must have node2's database ONLINE in its view before the console
  // asks it for the members (the report reaches node1 through the leader).
  REQUIRE_MESSAGE(n1.wait_for_output("update configuration db=GratefulDeadConcerts from=node2", 30s), n1.output());

  // A console on node 1.
  child_process c1(console());
  auto out = run(c1, "connect remote:localhost/GratefulDeadConcerts admin admin",
                 "Connected to localhost:2424 as admin, database GratefulDeadConcerts\n", 30s);
  // The database and its cluster configuration, both members holding it.
  REQUIRE(eventually(
      [&] {
        out = run(c1, "info", "member(s) hold GratefulDeadConcerts", 15s);
        return out.find("2 of 2 member(s) hold GratefulDeadConcerts") != std::string::npos &&
               count(out, "ONLINE  ONLINE") == 2;
      },
      20s));
  CHECK(out.find("Database GratefulDeadConcerts (last LSN ") != std::string::npos);
  CHECK(out.find("CLASSES") != std::string::npos);
  CHECK(out.find("DISTRIBUTED CONFIGURATION (version ") != std::string::npos);
  CHECK(out.find("\"node1\"") != std::string::npos);
  CHECK(out.find("\"node2\"") != std::string::npos);
  CHECK(out.find(":2424  (this node)") != std::string::npos);
  CHECK(out.find(cat(":", port2, "\n")) != std::string::npos);

  out = run(c1, "create vertex V set node = 1", "Created vertex '", 15s);
  CHECK(out.find("Created vertex 'V#") != std::string::npos);

  // A console on node 2 sees the vertex (one row).
  child_process c2(console());
  run(c2, cat("connect remote:localhost:", port2, "/GratefulDeadConcerts admin admin"),
      cat("Connected to localhost:", port2, " as admin, database GratefulDeadConcerts\n"), 30s);
  out = run(c2, "select from v where node = 1", "item(s) found.", 15s);
  CHECK_MESSAGE(out.find("1 item(s) found.") != std::string::npos, out);

  // Node 1 dies.
  n1.signal(SIGKILL);
  REQUIRE(n1.wait_exit(10s).has_value());

  // The console that was on node 1 answers from node 2, and says so once.
  auto t0 = std::chrono::steady_clock::now();
  out = run(c1, "select from V limit 2", "item(s) found.", 30s);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK_MESSAGE(out.find("2 item(s) found.") != std::string::npos, out);
  CHECK_MESSAGE(count(c1.output(), "lost: now connected to") == 1, c1.output());
  CHECK_MESSAGE(out.find("Connection to node1 (localhost:2424) lost: now connected to node2 (") != std::string::npos, out);
  CHECK(out.find(cat(":", port2, ")\n")) != std::string::npos);
  CHECK(out.find("Error") == std::string::npos);
  MESSAGE("failover and query took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  // And stays there: the next command needs no second move.
  out = run(c1, "select from v where node = 1", "item(s) found.", 15s);
  CHECK(out.find("1 item(s) found.") != std::string::npos);
  CHECK(count(c1.output(), "lost: now connected to") == 1);

  c1.write_input("exit\n");
  c2.write_input("exit\n");
  CHECK(c1.wait_exit(10s) == 0);
  CHECK(c2.wait_exit(10s) == 0);
  n2.signal(SIGTERM);
  CHECK(n2.wait_exit(15s) == 0);
}

TEST_CASE("console process: a write in flight when its node freezes (SIGSTOP) is not sent again: its outcome is "
          "unknown; the console moves to node 2 and the next read runs there") {
  test::temp_dir root;
  auto home1 = root / "orientdb-node1";
  auto home2 = root / "orientdb-node2";
  test::make_home(home1);
  fs::copy(home1, home2, fs::copy_options::recursive);
  wait_for_shipped_ports();
  child_process n1(dserver(home1, "node1"));
  REQUIRE_MESSAGE(n1.wait_for_output("is active.", 30s), n1.output());
  auto port1 = binary_port(n1.output());
  REQUIRE(port1 > 0);
  child_process n2(dserver(home2, "node2"));
  REQUIRE_MESSAGE(n2.wait_for_output("WARN [node2] database GratefulDeadConcerts is online", 60s), n2.output());
  auto port2 = binary_port(n2.output());
  REQUIRE(port2 > 0);
  REQUIRE_MESSAGE(n1.wait_for_output("update configuration db=GratefulDeadConcerts from=node2", 30s), n1.output());

  child_process c(console());
  run(c, cat("connect remote:localhost:", port1, "/GratefulDeadConcerts admin admin"), "Connected to ", 30s);
  // The member list is asked on connect; make sure it has node 2's database ONLINE.
  REQUIRE(eventually([&] { return run(c, "info", "member(s) hold", 15s).find("2 of 2 member(s)") != std::string::npos; },
                     20s));
  run(c, "select from V limit 1", "item(s) found.", 15s);

  n1.signal(SIGSTOP);
  // The console notices the frozen node by CAF's heartbeat (1 s, 5 s timeout),
  // before its own 10 s request timeout.
  auto t0 = std::chrono::steady_clock::now();
  auto out = run(c, "create vertex V set frozen = true", "check before repeating it)\n", 20s);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK_MESSAGE(out.find(cat("Connection to node1 (localhost:", port1, ") lost: now connected to node2 (")) !=
                    std::string::npos,
                out);
  CHECK_MESSAGE(out.find("may or may not have been applied") != std::string::npos, out);
  CHECK(out.find("Created vertex") == std::string::npos);
  CHECK(took < 12s);
  MESSAGE("the frozen node was noticed and left after "
          << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  // Not sent again: node 2 never saw it (node 1, frozen, could not order it).
  out = run(c, "select from V where frozen = true", "item(s) found.", 15s);
  CHECK_MESSAGE(out.find("0 item(s) found.") != std::string::npos, out);
  CHECK(count(c.output(), "lost: now connected to") == 1);

  n1.signal(SIGKILL);
  REQUIRE(n1.wait_exit(10s).has_value());
  c.write_input("exit\n");
  CHECK(c.wait_exit(10s) == 1);  // the write's error
  n2.signal(SIGTERM);
  CHECK(n2.wait_exit(15s) == 0);
}
