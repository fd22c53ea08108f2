// The console's failover rules as tables (src/console/failover.hpp): which
// member comes next, and whether a command may be sent again.
#include <doctest/doctest.h>

#include <random>

#include "src/console/failover.hpp"
#include "src/console/render.hpp"

using namespace troupe;
using namespace troupe::console;

namespace {

console_peer peer(std::string name, uint16_t port, std::string status = "ONLINE", std::string db_status = "ONLINE") {
  return console_peer{name, "127.0.0.1", port, std::move(status), std::move(db_status), false};
}

std::vector<std::string> names(const std::vector<console_peer>& xs) {
  std::vector<std::string> out;
  for (auto& x : xs) out.push_back(x.name);
  return out;
}

}  // namespace

TEST_CASE("console failover: the next candidates start after the lost member and wrap around") {
  std::vector<console_peer> ms{peer("n1", 2424), peer("n2", 2425), peer("n3", 2426), peer("n4", 2427)};
  CHECK(names(failover_candidates(ms, "n2", "")) == std::vector<std::string>{"n3", "n4", "n1"});
  CHECK(names(failover_candidates(ms, "n4", "db")) == std::vector<std::string>{"n1", "n2", "n3"});
  CHECK(names(failover_candidates(ms, "n1", "db")) == std::vector<std::string>{"n2", "n3", "n4"});
  // The lost member not in the list (it left the view already): everyone, in order.
  CHECK(names(failover_candidates(ms, "gone", "")) == std::vector<std::string>{"n1", "n2", "n3", "n4"});
  CHECK(failover_candidates({}, "n1", "db").empty());
}

TEST_CASE("console failover: members that cannot take the session are skipped") {
  struct row {
    console_peer p;
    std::string db;
    bool taken;
    const char* why;
  };
  std::vector<row> table{
      {peer("b", 2425), "db", true, "online, holds db online"},
      {peer("b", 2425), "", true, "no database named: any online member"},
      {peer("b", 0), "db", false, "no console endpoint (port 0)"},
      {console_peer{"b", "", 2425, "ONLINE", "ONLINE", false}, "db", false, "no console host"},
      {peer("b", 2425, "SHUTTINGDOWN"), "db", false, "member stopping"},
      {peer("b", 2425, "STARTING"), "db", false, "member not online yet"},
      {peer("b", 2425, "ONLINE", "SYNCHRONIZING"), "db", false, "db still being deployed there"},
      {peer("b", 2425, "ONLINE", ""), "db", false, "does not hold db"},
      {peer("b", 2425, "ONLINE", ""), "", true, "does not hold a db, none asked"},
      {peer("a", 2424), "db", false, "the lost member itself"},
  };
  for (auto& r : table) {
    CAPTURE(r.why);
    auto c = failover_candidates({peer("a", 2424), r.p}, "a", r.db);
    CHECK(c.size() == (r.taken ? 1u : 0u));
  }
}

TEST_CASE("console failover: at most failover_candidates_max candidates, never the lost one, for any list (seeded)") {
  uint32_t seed = std::random_device{}();
  CAPTURE(seed);
  std::mt19937 rng(seed);
  const char* statuses[] = {"ONLINE", "ONLINE", "STARTING", "SHUTTINGDOWN"};
  const char* db_statuses[] = {"ONLINE", "ONLINE", "SYNCHRONIZING", ""};
  for (int round = 0; round < 500; ++round) {
    std::vector<console_peer> ms;
    size_t n = rng() % 20;
    for (size_t i = 0; i < n; ++i)
      ms.push_back(peer("n" + std::to_string(i), static_cast<uint16_t>(rng() % 3 == 0 ? 0 : 2424 + i),
                        statuses[rng() % 4], db_statuses[rng() % 4]));
    std::string gone = n ? ms[rng() % n].name : "x";
    auto c = failover_candidates(ms, gone, rng() % 2 ? "db" : "");
    CHECK(c.size() <= failover_candidates_max);
    for (auto& p : c) {
      CHECK(p.name != gone);
      CHECK(p.port != 0);
      CHECK(p.status == "ONLINE");
    }
  }
}

TEST_CASE("console failover: the retry decision table") {
  struct row {
    attempt a;
    bool write;
    next_step step;
  };
  std::vector<row> table{
      {attempt::answered, false, next_step::done},
      {attempt::answered, true, next_step::done},
      {attempt::not_delivered, false, next_step::failover_retry},
      {attempt::not_delivered, true, next_step::failover_retry},     // never reached the node
      {attempt::refused, false, next_step::failover_retry},
      {attempt::refused, true, next_step::failover_retry},           // refused before applying
      {attempt::lost_in_flight, false, next_step::failover_retry},   // reads are always repeated
      {attempt::lost_in_flight, true, next_step::failover_unknown},  // may have been applied
      {attempt::timed_out, false, next_step::report},                // the node may be only slow
      {attempt::timed_out, true, next_step::report},
  };
  for (auto& r : table) {
    CAPTURE(static_cast<int>(r.a));
    CAPTURE(r.write);
    CHECK(decide(r.a, r.write) == r.step);
  }
}

TEST_CASE("console failover: the moved line and the unknown outcome sentence") {
  CHECK(moved_line("node1", "127.0.0.1:2424", "node2", "127.0.0.1:2425") ==
        "Connection to node1 (127.0.0.1:2424) lost: now connected to node2 (127.0.0.1:2425)");
  auto u = unknown_outcome_text("node1", "node2");
  CHECK(u.find("may or may not have been applied") != std::string::npos);
  CHECK(u.find("node1") != std::string::npos);
}

TEST_CASE("console render: info shows the database, its distributed configuration and who holds it") {
  db_info x;
  x.name = "demo";
  x.last_lsn = 7;
  x.classes = {class_row{"V", "", 9, 3}};
  x.clusters = {storage::cluster_info{9, "v", 3, 3}};
  auto plain = render_info(x);
  CHECK(plain.find("Not distributed") != std::string::npos);
  x.config_json = R"({"autoDeploy":true,"writeQuorum":"majority"})";
  x.config_version = 4;
  x.members = {console_peer{"n1", "127.0.0.1", 2424, "ONLINE", "ONLINE", true},
               console_peer{"n2", "127.0.0.1", 2425, "ONLINE", "SYNCHRONIZING", false},
               console_peer{"n3", "", 0, "ONLINE", "", false}};
  auto t = render_info(x);
  CHECK(t.find("Database demo (last LSN 7)") != std::string::npos);
  CHECK(t.find("DISTRIBUTED CONFIGURATION (version 4)") != std::string::npos);
  CHECK(t.find("\"writeQuorum\": \"majority\"") != std::string::npos);
  CHECK(t.find("n1    ONLINE  ONLINE         127.0.0.1:2424  (this node)") != std::string::npos);
  CHECK(t.find("n2    ONLINE  SYNCHRONIZING  127.0.0.1:2425") != std::string::npos);
  CHECK(t.find("n3    ONLINE  -              -") != std::string::npos);
  CHECK(t.find("2 of 3 member(s) hold demo") != std::string::npos);
}
