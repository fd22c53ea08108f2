// Cluster formation in one process: N nodes, each its own actor system, home and
// loopback ports, talking through CAF's real middleman over TCP.
#include <doctest/doctest.h>

#include "test/actors/test_cluster.hpp"

using namespace troupe;
using namespace troupe::test;


TEST_CASE("cluster: two nodes form a cluster and log the seed's lines") {
  test_cluster c(27434);
  auto& a = c.add("alpha");
  auto& b = c.add("beta");
  c.start(a);
  c.start(b);
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  CHECK(a.logged(cat("WARN [alpha] added new node id=Member [127.0.0.1]:", b.n->cluster_port(), " name=beta")));
  CHECK(a.logged(cat("added node configuration id=Member [127.0.0.1]:", b.n->cluster_port(),
                     " name=beta, now 2 nodes are configured")));
  CHECK(b.logged(cat("added new node id=Member [127.0.0.1]:", a.n->cluster_port(), " name=alpha")));
  CHECK(a.logged("update configuration db=demo from=beta"));
  CHECK(a.logged("adding node 'beta' in partition: demo.*.0"));
  CHECK(a.logged("updated distributed configuration for database: demo:\n----------\n{"));
  CHECK(a.logged("Re-partitioning cluster data..."));
  CHECK(b.n->cluster_port() > a.n->cluster_port());  // auto-increment

  // Same view and configuration everywhere.
  REQUIRE(eventually([&] { return a.config_json("demo") == b.config_json("demo") && !a.config_json("demo").empty(); }));
  auto va = a.n->cluster()->view, vb = b.n->cluster()->view;
  CHECK(va == vb);
  auto cfg = parse_db_config(a.config_json("demo"), "x");
  REQUIRE(cfg.ok());
  auto parts = cfg->effective("*").partitioning->partitions;
  CHECK(parts == std::vector<std::vector<std::string>>{{"<NEW_NODE>", "alpha", "beta"}});
  // The files on disk are identical too (their actors write them asynchronously).
  CHECK(eventually([&] {
    return test::read_text(a.home / "databases" / "demo" / "distributed-config.json") ==
           test::read_text(b.home / "databases" / "demo" / "distributed-config.json");
  }));
}

TEST_CASE("cluster: three nodes agree on members, versions and configuration") {
  test_cluster c(27534);
  auto& a = c.add("n1");
  auto& b = c.add("n2");
  auto& d = c.add("n3");
  c.start(a);
  c.start(b);
  c.start(d);
  REQUIRE(eventually([&] { return a.members() == 3 && b.members() == 3 && d.members() == 3; }));
  REQUIRE(eventually([&] {
    auto x = a.config_json("demo");
    return !x.empty() && x == b.config_json("demo") && x == d.config_json("demo");
  }));
  CHECK(a.n->cluster()->view == d.n->cluster()->view);
  auto cfg = parse_db_config(a.config_json("demo"), "x");
  REQUIRE(cfg.ok());
  // <NEW_NODE> expanded exactly once per node.
  CHECK(cfg->effective("*").partitioning->partitions ==
        std::vector<std::vector<std::string>>{{"<NEW_NODE>", "n1", "n2", "n3"}});
  CHECK(a.logged("now 3 nodes are configured"));
}

TEST_CASE("cluster: a wrong password or group name is refused on both sides, and the node runs alone") {
  test_cluster c(27634);
  auto& a = c.add("good");
  auto& bad = c.add("intruder");
  auto& other = c.add("othergroup");
  c.start(a);
  c.start(bad, "wrong-password");
  // Refused by the link guards (src/link/guard.hpp) before any cluster message:
  // the joiner proves first and is refused; the member says why on its side.
  auto at_a = cat("cluster link to 127.0.0.1:", a.n->cluster_port(), " refused: the member refused our proof");
  REQUIRE(eventually([&] { return bad.logged(at_a); }));
  CHECK(eventually([&] { return a.logged("refused: wrong group name or password"); }));
  CHECK(a.members() == 1);
  CHECK(bad.members() == 1);
  CHECK(bad.n->info().ok());  // still running
  c.start(other, "", "another-group");
  CHECK(eventually([&] { return other.logged(at_a); }));
  CHECK(a.members() == 1);
  CHECK(other.members() == 1);
  // No tight retry loop: the refusal is logged once per reason, not per probe.
  size_t refusals = 0;
  {
    std::lock_guard<std::mutex> g(bad.mtx);
    for (auto& l : bad.lines) refusals += l.find(at_a) != std::string::npos;
  }
  CHECK(refusals == 1);
}

TEST_CASE("cluster: a member's name is refused to another node key, and to a second live process with its key") {
  test_cluster c(27734);
  auto& a = c.add("same");
  auto& b = c.add("dup");
  auto& d = c.add("copy");
  c.start(a);
  // Another node (it knows the group password, but has its own node key) asks for a member's name.
  c.start(b, "", "", "same");
  REQUIRE(eventually([&] { return b.logged("belongs to a member with another node key"); }));
  CHECK(a.logged("refused node 'same'"));
  CHECK(a.members() == 1);
  CHECK(b.members() == 1);
  // The same name and key (a copied home) while the member lives: still refused.
  auto key_file = a.home / "config" / "node-same.key";
  REQUIRE(fs::exists(key_file));
  CHECK((fs::status(key_file).permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
  fs::copy_file(key_file, d.home / "config" / "node-same.key");
  c.start(d, "", "", "same");
  REQUIRE(eventually([&] { return d.logged("is taken by a live member"); }));
  CHECK(a.members() == 1);
}

TEST_CASE("cluster: a clean leave and a crash are both detected within the configured timeout") {
  test_cluster c(27834);
  auto& a = c.add("stay");
  auto& b = c.add("leaver");
  auto& d = c.add("crasher");
  c.start(a);
  c.start(b);
  c.start(d);
  REQUIRE(eventually([&] { return a.members() == 3 && b.members() == 3 && d.members() == 3; }));
  auto b_port = b.n->cluster_port();
  b.n->stop();
  REQUIRE(eventually([&] { return a.members() == 2 && d.members() == 2; }, 2s));
  CHECK(a.logged("node 'leaver' is leaving the cluster"));
  CHECK(a.logged(cat("node removed id=Member [127.0.0.1]:", b_port, " name=leaver")));
  auto t0 = std::chrono::steady_clock::now();
  d.n->kill();
  REQUIRE(eventually([&] { return a.members() == 1; }, 5s));
  auto took = std::chrono::steady_clock::now() - t0;
  // Detected by the down message at once; the bound is the heartbeat timeout plus one
  // interval plus slack for a loaded 2-core machine.
  CHECK(took < 2000ms + 500ms + 500ms);
  CHECK(a.logged("name=crasher"));
}

TEST_CASE("cluster: configurations converge after joins, leaves and restarts; a restart reloads its file") {
  test_cluster c(27934);
  auto& a = c.add("p1");
  auto& b = c.add("p2");
  c.start(a);
  c.start(b);
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  b.n->stop();
  REQUIRE(eventually([&] { return a.members() == 1; }, 2s));
  // hotAlignment is true by default: the node that left stays in the partitions.
  auto cfg = parse_db_config(a.config_json("demo"), "x");
  REQUIRE(cfg.ok());
  CHECK(cfg->effective("*").partitioning->partitions ==
        std::vector<std::vector<std::string>>{{"<NEW_NODE>", "p1", "p2"}});
  auto version_before = cfg->version;
  c.start(b);
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  CHECK(b.logged("loaded database configuration from disk"));
  REQUIRE(eventually([&] { return a.config_json("demo") == b.config_json("demo"); }));
  cfg = parse_db_config(b.config_json("demo"), "x");
  REQUIRE(cfg.ok());
  // Not added twice, and no needless version bump.
  CHECK(cfg->effective("*").partitioning->partitions ==
        std::vector<std::vector<std::string>>{{"<NEW_NODE>", "p1", "p2"}});
  CHECK(cfg->version == version_before);
  CHECK(eventually([&] {
    return test::read_text(a.home / "databases" / "demo" / "distributed-config.json") ==
           test::read_text(b.home / "databases" / "demo" / "distributed-config.json");
  }));
}

TEST_CASE("cluster: with hotAlignment false a leaving node is removed from its partitions and added again; a crashed one "
          "is kept when the rest are no majority") {
  test_cluster c(28034);
  auto& a = c.add("h1");
  auto& b = c.add("h2");
  for (auto* t : {&a, &b}) {
    auto path = t->home / "config" / "default-distributed-db-config.json";
    auto text = test::read_text(path);
    auto pos = text.find("\"hotAlignment\": true");
    REQUIRE(pos != std::string::npos);
    text.replace(pos, 20, "\"hotAlignment\": false");
    test::write_text(path, text);
  }
  c.start(a);
  c.start(b);
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  b.n->stop();
  REQUIRE(eventually([&] { return a.members() == 1; }, 2s));
  CHECK(a.logged("removing node 'h2' in partition: demo.*.0"));
  auto cfg = parse_db_config(a.config_json("demo"), "x");
  REQUIRE(cfg.ok());
  CHECK(cfg->effective("*").partitioning->partitions == std::vector<std::vector<std::string>>{{"<NEW_NODE>", "h1"}});
  c.start(b);
  REQUIRE(eventually([&] { return a.members() == 2 && a.config_json("demo") == b.config_json("demo"); }));
  cfg = parse_db_config(a.config_json("demo"), "x");
  CHECK(cfg->effective("*").partitioning->partitions ==
        std::vector<std::vector<std::string>>{{"<NEW_NODE>", "h1", "h2"}});
  // A crash is not a leave: h1 alone is not a majority of {h1, h2}, so it
  // keeps h2 (it could be the minority side of a split).
  b.n->kill();
  REQUIRE(eventually([&] { return a.members() == 1; }, 5s));
  CHECK(eventually([&] { return a.logged("keeping node 'h2' in partition: demo.*.0 (hotAlignment=false)"); }));
  cfg = parse_db_config(a.config_json("demo"), "x");
  CHECK(cfg->effective("*").partitioning->partitions ==
        std::vector<std::vector<std::string>>{{"<NEW_NODE>", "h1", "h2"}});
}

TEST_CASE("cluster: deploy: a node without the database receives it; a corrupted chunk is caught and the deploy retried") {
  test_cluster c(28134);
  auto& a = c.add("src");
  auto& b = c.add("joiner", false);
  // A stale half transfer, as a joiner killed mid-transfer leaves it: the next
  // start must begin a clean deploy, never open it.
  fs::create_directories(b.home / "databases" / "demo.installing");
  test::write_text(b.home / "databases" / "demo.installing" / "CURRENT", "garbage");
  {
    auto db = storage::database::open(a.home / "databases" / "demo");
    REQUIRE(db.ok());
    std::vector<storage::op> ops;
    for (int i = 0; i < 300; ++i) {
      storage::op o;
      o.k = storage::op::kind::create;
      o.class_name = "V";
      o.fields = cat(R"({"n":)", i, R"(,"text":"some realistic text to make the chunks worth compressing"})");
      ops.push_back(o);
    }
    for (auto& r : (*db)->apply(ops)) REQUIRE(r.code == storage::errc::ok);
  }
  c.corrupt_next_deploy = 0;  // the first chunk of the first transfer
  c.start(a);
  c.start(b);
  REQUIRE(eventually([&] { return b.logged("database demo is online"); }, 20s));
  // The first attempt failed on chunk 0 (a checksum mismatch, or for a
  // compressed chunk a failed decompression) and was retried.
  CHECK(b.logged("deploy of database demo failed: chunk 0 "));
  CHECK(b.logged("; trying again"));
  CHECK(a.logged("deploy of database demo failed: chunk 0 "));
  CHECK(a.logged("WARN [src]->[joiner] deploying database demo... [ODeployDatabaseTask]"));
  CHECK(b.logged("WARN [joiner]<-[src] installing database demo in databases/demo... [OHazelcastPlugin]"));
  CHECK(b.logged("WARN [joiner] installed database demo in databases/demo, setting it online... [OHazelcastPlugin]"));
  CHECK_FALSE(fs::exists(b.home / "databases" / "demo.installing"));
  REQUIRE(eventually([&] { return a.config_json("demo") == b.config_json("demo"); }));
  a.n->stop();
  b.n->stop();
  auto da = storage::database::open(a.home / "databases" / "demo", {false, true});
  auto db = storage::database::open(b.home / "databases" / "demo", {false, true});
  REQUIRE(da.ok());
  REQUIRE(db.ok());
  auto ra = (*da)->browse_cluster(3, 10'000), rb = (*db)->browse_cluster(3, 10'000);
  REQUIRE(ra.size() == 300);
  REQUIRE(rb.size() == ra.size());
  for (size_t i = 0; i < ra.size(); ++i) CHECK(ra[i].to_json() == rb[i].to_json());
  CHECK((*db)->last_lsn() == (*da)->last_lsn());
}
