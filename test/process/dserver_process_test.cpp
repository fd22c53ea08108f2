// dserver as a real process: start, log lines, SIGTERM/SIGINT, bad config,
// the first-run prompt through a pseudo-terminal.
#include <doctest/doctest.h>

#include <signal.h>

#include <cstdlib>
#include <filesystem>

#include "src/config/server_config.hpp"
#include "src/storage/database.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string dserver_path() {
  const char* p = std::getenv("TROUPE_DSERVER");
  REQUIRE_MESSAGE(p != nullptr, "TROUPE_DSERVER is not set (run through meson test)");
  return p;
}

test::process_options dserver(const fs::path& home, std::vector<std::pair<std::string, std::string>> env = {},
                        bool pty = false) {
  test::process_options o;
  o.argv = {dserver_path(), "--home", home.string()};
  o.env = std::move(env);
  o.unset_env = {"ORIENTDB_NODE_NAME", "ORIENTDB_HOME"};
  o.pty = pty;
  return o;
}

}  // namespace

using troupe::test::child_process;
using troupe::test::process_options;

TEST_CASE("dserver: starts on a fresh home, creates the demo database, logs name and listeners, exits 0 on SIGTERM") {
  test::temp_dir home;
  child_process p(dserver(home.path(), {{"ORIENTDB_NODE_NAME", "node1"}}));
  REQUIRE_MESSAGE(p.wait_for_output("is active.", 20s), p.output());
  auto& out = p.output();
  CHECK(out.find("INFO [node1] assigned node name 'node1' (ORIENTDB_NODE_NAME)") != std::string::npos);
  CHECK(out.find("Listening http connections on 0.0.0.0:24") != std::string::npos);
  CHECK(out.find("generated a password for the server user 'root': ") != std::string::npos);
  CHECK(out.find("Listening binary connections on 0.0.0.0:24") != std::string::npos);  // the console's port
  CHECK(out.find("Starting distributed server 'node1'...") != std::string::npos);
  CHECK(out.find("creating the demo database GratefulDeadConcerts...") != std::string::npos);
  CHECK(out.find("created the demo database GratefulDeadConcerts: 808 vertices, 8049 edges") != std::string::npos);
  CHECK(out.find("opened database 'GratefulDeadConcerts'") != std::string::npos);
  CHECK(out.find("WARN [node1] updated node status to 'ONLINE' [OHazelcastPlugin]") != std::string::npos);
  auto t0 = std::chrono::steady_clock::now();
  p.signal(SIGTERM);
  auto code = p.wait_exit(10s);
  REQUIRE_MESSAGE(code.has_value(), p.output());
  CHECK(*code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < 10s);
  CHECK(p.output().find("received SIGTERM, shutting down...") != std::string::npos);
  CHECK(p.output().find("updated node status to 'SHUTTINGDOWN'") != std::string::npos);
  CHECK(p.output().find("shutdown complete") != std::string::npos);
  auto cfg = load_server_config(home / "config" / "orientdb-server-config.xml", home.path());
  REQUIRE(cfg.ok());
  CHECK(cfg->distributed.node_name == "node1");
}

TEST_CASE("dserver: SIGINT (Ctrl-C) stops it cleanly too, and a restart opens the databases it left") {
  test::temp_dir home;
  {
    child_process p(dserver(home.path(), {{"ORIENTDB_NODE_NAME", "n2"}}));
    REQUIRE_MESSAGE(p.wait_for_output("is active.", 20s), p.output());
    p.signal(SIGINT);
    auto code = p.wait_exit(10s);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(p.output().find("received SIGINT") != std::string::npos);
  }
  child_process p(dserver(home.path()));
  REQUIRE_MESSAGE(p.wait_for_output("is active.", 20s), p.output());
  CHECK(p.output().find("creating the demo database") == std::string::npos);
  CHECK(p.output().find("found 1 database(s) in ") != std::string::npos);
  CHECK(p.output().find(": GratefulDeadConcerts [OServer]") != std::string::npos);
  CHECK(p.output().find("opened database 'GratefulDeadConcerts'") != std::string::npos);
  CHECK(p.output().find("generated a password") == std::string::npos);
  p.signal(SIGTERM);
  CHECK(p.wait_exit(10s) == 0);
}

TEST_CASE("dserver: a bad configuration exits non-zero with the file and problem, writing nothing") {
  test::temp_dir home;
  test::make_home(home.path());
  auto json = home / "config" / "default-distributed-db-config.json";
  test::write_text(json, R"({"clusters": {"*": {"readQuorum": 0, "partitioning": {"partitions": [["<NEW_NODE>"]]}}}})");
  auto xml_before = test::read_text(home / "config" / "orientdb-server-config.xml");
  child_process p(dserver(home.path()));
  auto code = p.wait_exit(20s);
  REQUIRE(code.has_value());
  CHECK(*code == 2);
  CHECK(p.output().find("configuration error: ") != std::string::npos);
  CHECK(p.output().find("default-distributed-db-config.json: $.clusters[\"*\"].readQuorum: a quorum must be at least 1") !=
        std::string::npos);
  CHECK(test::read_text(home / "config" / "orientdb-server-config.xml") == xml_before);
  CHECK_FALSE(fs::exists(home / "databases"));
}

TEST_CASE("dserver: the first-run prompt through a pseudo-terminal stores the typed name") {
  test::temp_dir home;
  child_process p(dserver(home.path(), {}, true));
  REQUIRE_MESSAGE(p.wait_for_output("Node name [BLANK=auto generate it]:", 20s), p.output());
  CHECK(p.output().find("WARNING: FIRST DISTRIBUTED RUN CONFIGURATION") != std::string::npos);
  p.write_input("europe1\n");
  REQUIRE_MESSAGE(p.wait_for_output("is active.", 20s), p.output());
  CHECK(p.output().find("INFO [europe1] assigned node name 'europe1' (the first-run prompt)") != std::string::npos);
  p.signal(SIGTERM);
  REQUIRE(p.wait_exit(10s) == 0);
  auto cfg = load_server_config(home / "config" / "orientdb-server-config.xml", home.path());
  REQUIRE(cfg.ok());
  CHECK(cfg->distributed.node_name == "europe1");
}

TEST_CASE("dserver: a blank answer at the prompt generates node<millis>") {
  test::temp_dir home;
  child_process p(dserver(home.path(), {}, true));
  REQUIRE_MESSAGE(p.wait_for_output("Node name [BLANK=auto generate it]:", 20s), p.output());
  p.write_input("\n");
  REQUIRE_MESSAGE(p.wait_for_output("is active.", 20s), p.output());
  auto cfg = load_server_config(home / "config" / "orientdb-server-config.xml", home.path());
  REQUIRE(cfg.ok());
  REQUIRE(cfg->distributed.node_name.has_value());
  CHECK(cfg->distributed.node_name->rfind("node", 0) == 0);
  CHECK(cfg->distributed.node_name->size() == 17);  // "node" + 13 digits of epoch millis
  p.signal(SIGTERM);
  CHECK(p.wait_exit(10s) == 0);
}

TEST_CASE("dserver: with standard input not a terminal, no prompt and a generated name") {
  test::temp_dir home;
  child_process p(dserver(home.path()));
  REQUIRE_MESSAGE(p.wait_for_output("is active.", 20s), p.output());
  CHECK(p.output().find("Node name [BLANK") == std::string::npos);
  CHECK(p.output().find("(generated), stored in") != std::string::npos);
  p.signal(SIGTERM);
  CHECK(p.wait_exit(10s) == 0);
}

TEST_CASE("dserver: --help, --version and a bad argument") {
  {
    child_process p(process_options{{dserver_path(), "--help"}, {}, {}, false});
    CHECK(p.wait_exit(10s) == 0);
    CHECK(p.output().find("usage: dserver") != std::string::npos);
  }
  {
    child_process p(process_options{{dserver_path(), "--version"}, {}, {}, false});
    CHECK(p.wait_exit(10s) == 0);
    CHECK(p.output().find("troupe dserver ") != std::string::npos);
  }
  {
    child_process p(process_options{{dserver_path(), "--frobnicate"}, {}, {}, false});
    CHECK(p.wait_exit(10s) == 2);
    CHECK(p.output().find("unknown argument '--frobnicate'") != std::string::npos);
  }
}

TEST_CASE("dserver: the seed, literally: two servers from one copied directory form a cluster and deploy") {
  test::temp_dir root;
  auto home1 = root / "orientdb-node1";
  auto home2 = root / "orientdb-node2";
  test::make_home(home1);
  // "The fastest way to do this is to copy & paste the OrientDB directory from
  // the first node to the other ones."
  fs::copy(home1, home2, fs::copy_options::recursive);
  child_process n1(dserver(home1, {{"ORIENTDB_NODE_NAME", "node1"}}));
  REQUIRE_MESSAGE(n1.wait_for_output("is active.", 30s), n1.output());
  // Alone after the join wait, node1 creates the demo database.
  CHECK(n1.output().find("no cluster answered within 3000 ms") != std::string::npos);
  CHECK(n1.output().find("created the demo database GratefulDeadConcerts") != std::string::npos);
  child_process n2(dserver(home2, {{"ORIENTDB_NODE_NAME", "node2"}}));
  REQUIRE_MESSAGE(n2.wait_for_output("is active.", 30s), n2.output());
  CHECK(n2.output().find("Listening http connections on 0.0.0.0:2481") != std::string::npos);
  CHECK(n2.output().find("cluster endpoint listening on 127.0.0.1:2435") != std::string::npos);

  // node1, as in the seed.
  REQUIRE_MESSAGE(n1.wait_for_output("WARN [node1] added new node id=Member [127.0.0.1]:2435 name=node2 [OHazelcastPlugin]", 10s),
                  n1.output());
  REQUIRE(n1.wait_for_output(
      "INFO [node1] added node configuration id=Member [127.0.0.1]:2435 name=node2, now 2 nodes are configured "
      "[OHazelcastPlugin]",
      10s));
  REQUIRE(n1.wait_for_output("INFO [node1] update configuration db=GratefulDeadConcerts from=node2 [OHazelcastPlugin]", 10s));
  REQUIRE(n1.wait_for_output("INFO [node1] updated distributed configuration for database: GratefulDeadConcerts:\n----------\n{",
                             10s));
  CHECK(n1.output().find("Re-partitioning cluster data...") != std::string::npos);
  REQUIRE(n1.wait_for_output("WARN [node1]->[node2] deploying database GratefulDeadConcerts... [ODeployDatabaseTask]", 10s));
  REQUIRE(n1.wait_for_output(
      "WARN [node1]->[node2] sending the compressed database GratefulDeadConcerts over the network, total ", 10s));
  // node2 receives the database instead of creating its own, as in the seed.
  REQUIRE_MESSAGE(n2.wait_for_output("WARN [node2] database GratefulDeadConcerts is online [OHazelcastPlugin]", 30s),
                  n2.output());
  auto& out2 = n2.output();
  CHECK(out2.find("creating the demo database") == std::string::npos);
  auto installing = out2.find(
      "WARN [node2]<-[node1] installing database GratefulDeadConcerts in databases/GratefulDeadConcerts... "
      "[OHazelcastPlugin]");
  auto installed = out2.find(
      "WARN [node2] installed database GratefulDeadConcerts in databases/GratefulDeadConcerts, setting it online... "
      "[OHazelcastPlugin]");
  auto online = out2.find("WARN [node2] database GratefulDeadConcerts is online [OHazelcastPlugin]");
  CHECK(installing != std::string::npos);
  CHECK(installed != std::string::npos);
  CHECK(installing < installed);
  CHECK(installed < online);
  CHECK(n2.wait_for_output("WARN [node2] updated node status to 'ONLINE' [OHazelcastPlugin]", 5s, online));
  CHECK(out2.find("added new node id=Member [127.0.0.1]:2434 name=node1") != std::string::npos);
  CHECK_FALSE(fs::exists(home2 / "databases" / "GratefulDeadConcerts.installing"));

  auto cfg1 = home1 / "databases" / "GratefulDeadConcerts" / "distributed-config.json";
  auto cfg2 = home2 / "databases" / "GratefulDeadConcerts" / "distributed-config.json";
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (test::read_text(cfg1) != test::read_text(cfg2) && std::chrono::steady_clock::now() < deadline)
    n1.wait_for_output("\x01never", 50ms);  // drains output while waiting for the files to agree
  CHECK(test::read_text(cfg1) == test::read_text(cfg2));
  CHECK(test::read_text(cfg1).find(R"(["<NEW_NODE>", "node1", "node2"])") != std::string::npos);

  // Killing node2 is noticed within the heartbeat timeout (3 s by default).
  auto from = n1.output().size();
  auto t0 = std::chrono::steady_clock::now();
  n2.signal(SIGKILL);
  REQUIRE(n2.wait_exit(10s).has_value());
  REQUIRE(n1.wait_for_output("node removed id=Member [127.0.0.1]:2435 name=node2", 5s, from));
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);
  n1.signal(SIGTERM);
  CHECK(n1.wait_exit(10s) == 0);

  // The copy is the same database: both open on their own with the same records.
  auto a = storage::database::open(home1 / "databases" / "GratefulDeadConcerts", {false, true});
  auto b = storage::database::open(home2 / "databases" / "GratefulDeadConcerts", {false, true});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  auto ca = (*a)->clusters(), cb = (*b)->clusters();
  REQUIRE(ca.size() == cb.size());
  for (size_t i = 0; i < ca.size(); ++i) {
    CHECK(ca[i].records == cb[i].records);
    auto ra = (*a)->browse_cluster(ca[i].id, 10000), rb = (*b)->browse_cluster(cb[i].id, 10000);
    REQUIRE(ra.size() == rb.size());
    for (size_t j = 0; j < ra.size(); ++j) CHECK(ra[j].to_json() == rb[j].to_json());
  }
}

TEST_CASE("dserver: a frozen node (SIGSTOP) is removed within the heartbeat timeout and rejoins when it thaws") {
  test::temp_dir root;
  auto home1 = root / "n1";
  auto home2 = root / "n2";
  test::make_home(home1);
  fs::copy(home1, home2, fs::copy_options::recursive);
  child_process n1(dserver(home1, {{"ORIENTDB_NODE_NAME", "warm"}}));
  REQUIRE_MESSAGE(n1.wait_for_output("is active.", 30s), n1.output());
  child_process n2(dserver(home2, {{"ORIENTDB_NODE_NAME", "frozen"}}));
  REQUIRE_MESSAGE(n2.wait_for_output("is active.", 30s), n2.output());
  REQUIRE(n1.wait_for_output("now 2 nodes are configured", 10s));
  auto from = n1.output().size();
  auto t0 = std::chrono::steady_clock::now();
  n2.signal(SIGSTOP);
  // The shipped heartbeat: every 500 ms, declared dead after 3000 ms.
  bool removed = n1.wait_for_output("name=frozen", 6s, from);
  if (!removed) MESSAGE(n1.output().substr(from));
  REQUIRE(removed);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 2500ms);
  CHECK(took < 5000ms);  // timeout 3000 + interval 500 + slack for a loaded machine
  CHECK(n1.output().find("node removed id=Member [127.0.0.1]:", from) != std::string::npos);
  from = n1.output().size();
  n2.signal(SIGCONT);
  // Thawed, it finds itself alone and joins again.
  REQUIRE_MESSAGE(n1.wait_for_output("added node configuration id=Member [127.0.0.1]:2435 name=frozen, now 2 nodes", 20s, from),
                  n1.output().substr(from));
  n2.signal(SIGTERM);
  CHECK(n2.wait_exit(10s) == 0);
  n1.signal(SIGTERM);
  CHECK(n1.wait_exit(10s) == 0);
}

namespace {

// Every record of every cluster of a stopped node's database, as text.
std::string db_content(const fs::path& dir) {
  auto db = storage::database::open(dir, {false, true});
  REQUIRE_MESSAGE(db.ok(), dir.string());
  std::string out;
  for (auto& c : (*db)->clusters()) {
    out += c.name + ":" + std::to_string(c.records) + "\n";
    for (auto& r : (*db)->browse_cluster(c.id, 100'000)) out += r.to_json() + "\n";
  }
  return out;
}

// The deploy test seam: node1 sends one chunk per this many ms, so that a
// signal lands while chunks are in flight.
constexpr const char* slow_deploys = "TROUPE_TEST_DEPLOY_CHUNK_DELAY_MS";

}  // namespace

TEST_CASE("dserver: a joiner killed (SIGKILL) mid-deploy starts a clean deploy when it comes back") {
  test::temp_dir root;
  auto home1 = root / "node1";
  auto home2 = root / "node2";
  test::make_home(home1);
  fs::copy(home1, home2, fs::copy_options::recursive);
  child_process n1(dserver(home1, {{"ORIENTDB_NODE_NAME", "node1"}, {slow_deploys, "400"}}));
  REQUIRE_MESSAGE(n1.wait_for_output("created the demo database GratefulDeadConcerts", 30s), n1.output());
  {
    child_process n2(dserver(home2, {{"ORIENTDB_NODE_NAME", "node2"}}));
    REQUIRE_MESSAGE(n2.wait_for_output("installing database GratefulDeadConcerts in databases/GratefulDeadConcerts...", 30s),
                    n2.output());
    auto from = n1.output().size();
    n2.signal(SIGKILL);
    REQUIRE(n2.wait_exit(10s).has_value());
    CHECK(n2.output().find("database GratefulDeadConcerts is online") == std::string::npos);
    // Never under its real name, half-received.
    CHECK_FALSE(fs::exists(home2 / "databases" / "GratefulDeadConcerts"));
    // node1 gives up on the transfer at once, not after a timeout.
    REQUIRE_MESSAGE(n1.wait_for_output("deploy of database GratefulDeadConcerts failed: ", 10s, from), n1.output().substr(from));
  }
  child_process n2(dserver(home2, {{"ORIENTDB_NODE_NAME", "node2"}}));
  REQUIRE_MESSAGE(n2.wait_for_output("WARN [node2] database GratefulDeadConcerts is online", 60s), n2.output());
  CHECK(n2.output().find("creating the demo database") == std::string::npos);
  CHECK_FALSE(fs::exists(home2 / "databases" / "GratefulDeadConcerts.installing"));
  n2.signal(SIGTERM);
  CHECK(n2.wait_exit(10s) == 0);
  n1.signal(SIGTERM);
  CHECK(n1.wait_exit(10s) == 0);
  CHECK(db_content(home2 / "databases" / "GratefulDeadConcerts") ==
        db_content(home1 / "databases" / "GratefulDeadConcerts"));
}

TEST_CASE("dserver: the sender killed (SIGKILL) mid-deploy; the joiner gets the database from another member") {
  test::temp_dir root;
  auto home1 = root / "node1";
  auto home2 = root / "node2";
  auto home3 = root / "node3";
  test::make_home(home1);
  fs::copy(home1, home2, fs::copy_options::recursive);
  fs::copy(home1, home3, fs::copy_options::recursive);
  child_process n1(dserver(home1, {{"ORIENTDB_NODE_NAME", "node1"}, {slow_deploys, "300"}}));
  REQUIRE_MESSAGE(n1.wait_for_output("created the demo database GratefulDeadConcerts", 30s), n1.output());
  child_process n2(dserver(home2, {{"ORIENTDB_NODE_NAME", "node2"}}));
  REQUIRE_MESSAGE(n2.wait_for_output("WARN [node2] database GratefulDeadConcerts is online", 60s), n2.output());
  // node3 asks the first member holding it, node1 (the slow one), which dies mid-transfer.
  child_process n3(dserver(home3, {{"ORIENTDB_NODE_NAME", "node3"}}));
  REQUIRE_MESSAGE(n3.wait_for_output("WARN [node3]<-[node1] installing database GratefulDeadConcerts", 30s), n3.output());
  n1.signal(SIGKILL);
  REQUIRE(n1.wait_exit(10s).has_value());
  REQUIRE_MESSAGE(n3.wait_for_output("WARN [node3] database GratefulDeadConcerts is online", 60s), n3.output());
  CHECK(n3.output().find("deploy of database GratefulDeadConcerts failed: node 'node1' was lost during the transfer") !=
        std::string::npos);
  CHECK(n3.output().find("WARN [node3]<-[node2] installing database GratefulDeadConcerts") != std::string::npos);
  CHECK_FALSE(fs::exists(home3 / "databases" / "GratefulDeadConcerts.installing"));
  n3.signal(SIGTERM);
  CHECK(n3.wait_exit(10s) == 0);
  n2.signal(SIGTERM);
  CHECK(n2.wait_exit(10s) == 0);
  CHECK(db_content(home3 / "databases" / "GratefulDeadConcerts") ==
        db_content(home2 / "databases" / "GratefulDeadConcerts"));
}
