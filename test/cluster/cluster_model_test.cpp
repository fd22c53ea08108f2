#include <doctest/doctest.h>

#include "src/cluster/cluster_model.hpp"
#include "src/replication/role.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;

namespace {

db_config shipped_default() {
  auto c = load_db_config(test::shipped_config_dir() / "default-distributed-db-config.json");
  REQUIRE(c.ok());
  return *c;
}

member_info member(std::string name, int64_t started, std::string status = "ONLINE") {
  member_info m;
  m.name = std::move(name);
  m.started_on_ms = started;
  m.status = std::move(status);
  m.cluster_host = "127.0.0.1";
  m.cluster_port = 2434;
  return m;
}

}  // namespace

TEST_CASE("cluster model: the leader is the oldest member not suspected, ties broken by name") {
  cluster_view v;
  CHECK(v.leader() == nullptr);
  v.members = {member("b", 20), member("a", 20), member("c", 30)};
  CHECK(v.leader()->name == "a");
  v.members.push_back(member("z", 5));
  CHECK(v.leader()->name == "z");
  CHECK(v.members[0].member_id() == "Member [127.0.0.1]:2434");
  // The leader is lost: the next oldest leads at once.
  CHECK(v.leader({"z"})->name == "a");
  CHECK(v.leader({"z", "a"})->name == "b");
  CHECK(v.leader({"z", "a", "b", "c"}) == nullptr);
  CHECK(v.leader({"unknown"})->name == "z");
}

TEST_CASE("cluster model: <NEW_NODE> is expanded once per node, and nodes are removed again") {
  auto c = shipped_default();
  std::vector<std::string> added;
  CHECK(add_node_to_partitions(c, "node1", &added));
  CHECK(added == std::vector<std::string>{"*.0"});
  CHECK_FALSE(add_node_to_partitions(c, "node1", nullptr));  // once only
  CHECK(add_node_to_partitions(c, "node2", nullptr));
  CHECK(c.effective("x").partitioning->partitions ==
        std::vector<std::vector<std::string>>{{"<NEW_NODE>", "node1", "node2"}});
  std::vector<std::string> removed;
  // node2 alone is not a majority of {node1, node2}: node1 stays (a crash); as a clean leaver node1 agrees.
  CHECK_FALSE(remove_node_from_partitions(c, "node1", {"node2"}, &removed));
  CHECK(removed.empty());
  CHECK(remove_node_from_partitions(c, "node1", {"node1", "node2"}, &removed) == true);
  CHECK(removed == std::vector<std::string>{"*.0"});
  CHECK_FALSE(remove_node_from_partitions(c, "node1", {"node2"}, nullptr));
  CHECK(c.effective("x").partitioning->partitions == std::vector<std::vector<std::string>>{{"<NEW_NODE>", "node2"}});
}

TEST_CASE("cluster model: partitions without <NEW_NODE> do not take new nodes") {
  auto c = parse_db_config(R"({"clusters": {"*": {"partitioning": {"partitions": [["a"], ["<NEW_NODE>", "b"]]}}}})", "x");
  REQUIRE(c.ok());
  std::vector<std::string> added;
  CHECK(add_node_to_partitions(*c, "n", &added));
  CHECK(added == std::vector<std::string>{"*.1"});
  CHECK(c->effective("x").partitioning->partitions ==
        std::vector<std::vector<std::string>>{{"a"}, {"<NEW_NODE>", "b", "n"}});
}

TEST_CASE("cluster model: the partition table names replicas and the first replica that serves the database") {
  auto c = shipped_default();
  add_node_to_partitions(c, "n1", nullptr);
  add_node_to_partitions(c, "n2", nullptr);
  add_node_to_partitions(c, "n3", nullptr);
  cluster_view v;
  v.members = {member("n1", 1, "OFFLINE"), member("n2", 2), member("n3", 3)};
  for (auto& m : v.members) m.db_status["db"] = "ONLINE";
  auto t = compute_partition_table({{"db", c}}, v);
  REQUIRE(t.size() == 1);  // internal and index are not replicated
  CHECK(t[0].database == "db");
  CHECK(t[0].cluster == "*");
  CHECK(t[0].replicas == std::vector<std::string>{"n1", "n2", "n3"});
  CHECK(t[0].owner == "n2");
  v.members = {member("n1", 1, "STARTING")};
  CHECK(compute_partition_table({{"db", c}}, v)[0].owner.empty());
}

TEST_CASE("cluster model: join proofs depend on the password and every part, and nonces differ") {
  auto p = hmac_proof("orientdb", {"joiner", "orientdb", "nonce", "node1"});
  CHECK(p.size() == 64);
  CHECK(p == hmac_proof("orientdb", {"joiner", "orientdb", "nonce", "node1"}));
  CHECK(p != hmac_proof("orientdb2", {"joiner", "orientdb", "nonce", "node1"}));
  CHECK(p != hmac_proof("orientdb", {"acceptor", "orientdb", "nonce", "node1"}));
  CHECK(p != hmac_proof("orientdb", {"joiner", "orientdb", "nonce2", "node1"}));
  // Parts are separated: moving a boundary changes the proof.
  CHECK(hmac_proof("k", {"ab", "c"}) != hmac_proof("k", {"a", "bc"}));
  CHECK(random_nonce() != random_nonce());
  CHECK(random_nonce().size() == 64);
  CHECK(constant_time_equal("abc", "abc"));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK_FALSE(constant_time_equal("abc", "abcd"));
}

TEST_CASE("cluster model: the partition table's owner is replication's owner, in every case of a table") {
  auto c = shipped_default();
  for (auto n : {"n1", "n2", "n3"}) add_node_to_partitions(c, n, nullptr);
  c.replication = true;
  struct row {
    const char* name;
    std::vector<member_info> members;
    std::set<std::string> suspected;
    std::string owner;
  };
  auto on = [](std::string n, int64_t t, std::string db_status = "ONLINE", std::string status = "ONLINE") {
    auto m = member(std::move(n), t, std::move(status));
    if (!db_status.empty()) m.db_status["db"] = std::move(db_status);
    return m;
  };
  std::vector<row> table = {
      {"all online: the first configured", {on("n1", 1), on("n2", 2), on("n3", 3)}, {}, "n1"},
      {"the first suspected here", {on("n1", 1), on("n2", 2), on("n3", 3)}, {"n1"}, "n2"},
      {"the first still receiving the database", {on("n1", 1, "SYNCHRONIZING"), on("n2", 2), on("n3", 3)}, {}, "n2"},
      {"the first without the database", {on("n1", 1, ""), on("n2", 2), on("n3", 3)}, {}, "n2"},
      {"the first starting", {on("n1", 1, "ONLINE", "STARTING"), on("n2", 2), on("n3", 3)}, {}, "n2"},
      {"the first not in the view", {on("n2", 2), on("n3", 3)}, {}, "n2"},
      {"none serves", {on("n1", 1, "SYNCHRONIZING")}, {}, ""},
      {"join order does not matter, configured order does", {on("n3", 0), on("n2", 1), on("n1", 2)}, {}, "n1"},
  };
  for (auto& r : table) {
    CAPTURE(r.name);
    cluster_view v;
    v.version = 7;
    v.members = r.members;
    auto t = compute_partition_table({{"db", c}}, v, r.suspected);
    REQUIRE(t.size() == 1);
    CHECK(t[0].owner == r.owner);
    // From any member's point of view (self matters only without a cluster).
    for (auto self : {"n1", "n2", "n3"}) CHECK(replication::role_of("db", c, v, r.suspected, self).owner() == r.owner);
  }
}

TEST_CASE("cluster model: a partition shrinks only with a majority of its servers behind it") {
  auto parts = [](std::vector<std::string> p) {
    auto c = parse_db_config(R"({"clusters": {"*": {"partitioning": {"partitions": [[]]}}}})", "x");
    REQUIRE(c.ok());
    c->clusters.at(0).second.partitioning->partitions = {std::move(p)};
    return *c;
  };
  struct row {
    const char* name;
    std::vector<std::string> partition;
    std::string node;
    std::set<std::string> agree;
    bool removed;
  };
  std::vector<row> table = {
      {"3 servers, the 2 others reachable", {"<NEW_NODE>", "a", "b", "c"}, "c", {"a", "b"}, true},
      {"3 servers, alone on the minority side", {"<NEW_NODE>", "a", "b", "c"}, "c", {"a"}, false},
      {"3 servers, two lost one at a time: the second waits", {"a", "b"}, "b", {"a"}, false},
      {"2 servers, the other crashed", {"<NEW_NODE>", "a", "b"}, "b", {"a"}, false},
      {"2 servers, the other left cleanly", {"<NEW_NODE>", "a", "b"}, "b", {"a", "b"}, true},
      {"5 servers, 3 reachable", {"a", "b", "c", "d", "e"}, "e", {"a", "b", "c"}, true},
      {"5 servers, 2 reachable", {"a", "b", "c", "d", "e"}, "e", {"a", "b"}, false},
      {"4 servers, 2 reachable (a tie is no majority)", {"a", "b", "c", "d"}, "d", {"a", "b"}, false},
      {"reachable nodes that are not servers do not count", {"a", "b", "c"}, "c", {"a", "x", "y"}, false},
      {"<NEW_NODE> is not a server", {"<NEW_NODE>", "a", "b", "c"}, "c", {"a", "<NEW_NODE>"}, false},
  };
  for (auto& r : table) {
    CAPTURE(r.name);
    auto c = parts(r.partition);
    std::vector<std::string> removed, kept;
    CHECK(remove_node_from_partitions(c, r.node, r.agree, &removed, &kept) == r.removed);
    auto& p = c.clusters.at(0).second.partitioning->partitions[0];
    CHECK((std::find(p.begin(), p.end(), r.node) == p.end()) == r.removed);
    CHECK(removed.size() == (r.removed ? 1u : 0u));
    CHECK(kept.size() == (r.removed ? 0u : 1u));
  }
}

TEST_CASE("replication: the one 503 body names the quorum, who answered, who is missing and the outcome") {
  CHECK(replication::unavailable_body("Quorum 2 not reached", 2, {"a"}, {"a", "b", "c"}, "not applied") ==
        R"({"content":"Quorum 2 not reached","quorum":2,"answered":["a"],"missing":["b","c"],"outcome":"not applied"})");
  // A read has no outcome; text is escaped.
  CHECK(replication::unavailable_body("say \"x\"", 3, {}, {"a"}, "") ==
        R"({"content":"say \"x\"","quorum":3,"answered":[],"missing":["a"]})");
}
