#include <doctest/doctest.h>

#include "src/config/db_config.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;

TEST_CASE("db config: the shipped default has the seed's content and meaning") {
  auto c = load_db_config(test::shipped_config_dir() / "default-distributed-db-config.json");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  CHECK(c->replication);
  CHECK(c->auto_deploy);
  CHECK(c->hot_alignment);
  CHECK(c->resync_every_s == 15);
  CHECK(c->version == 0);
  REQUIRE(c->clusters.size() == 3);
  CHECK(c->clusters[0].first == "internal");
  CHECK(c->clusters[0].second.replication == false);
  CHECK(c->clusters[1].first == "index");
  auto& star = c->effective("anything");
  CHECK(star.replication == true);
  CHECK(star.read_quorum->resolve(3) == 1);
  CHECK(star.write_quorum->resolve(3) == 2);
  CHECK(star.failure_available_nodes_less_quorum == false);
  CHECK(star.read_your_writes == true);
  REQUIRE(star.partitioning.has_value());
  CHECK(star.partitioning->strategy == "round-robin");
  CHECK(star.partitioning->partitions == std::vector<std::vector<std::string>>{{"<NEW_NODE>"}});
  CHECK(&c->effective("internal") == &c->clusters[0].second);
  CHECK(c->notices.empty());
}

TEST_CASE("db config: pretty JSON round-trips, with the version once persisted") {
  auto c = load_db_config(test::shipped_config_dir() / "default-distributed-db-config.json");
  REQUIRE(c.ok());
  auto copy = *c;
  copy.version = 3;
  copy.clusters[2].second.partitioning->partitions[0].push_back("node1");
  copy.clusters[2].second.write_quorum = quorum{quorum::kind::majority, 0};
  auto text = to_json(copy);
  CHECK(text.find("\"version\": 3") != std::string::npos);
  auto back = parse_db_config(text, "x.json");
  REQUIRE_MESSAGE(back.ok(), (back.ok() ? "" : back.error().render()));
  copy.notices.clear();
  CHECK(*back == copy);
  CHECK(to_json(*back) == text);
}

TEST_CASE("db config: quorums resolve as integers, majority and all") {
  CHECK(quorum{quorum::kind::count, 2}.resolve(5) == 2);
  CHECK(quorum{quorum::kind::majority, 0}.resolve(1) == 1);
  CHECK(quorum{quorum::kind::majority, 0}.resolve(2) == 2);
  CHECK(quorum{quorum::kind::majority, 0}.resolve(3) == 2);
  CHECK(quorum{quorum::kind::majority, 0}.resolve(4) == 3);
  CHECK(quorum{quorum::kind::all, 0}.resolve(3) == 3);
}

TEST_CASE("db config: comments and trailing commas are accepted, unknown keys reported") {
  auto c = parse_db_config(R"({
    // OrientDB 2.x key troupe does not use:
    "executionMode": "undefined",
    "clusters": { "*": { "writeQuorum": "all", "partitioning": {"partitions": [["a", "b"]],}, }, },
  })", "x.json");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  CHECK(c->effective("x").write_quorum->k == quorum::kind::all);
  REQUIRE(c->notices.size() == 1);
  CHECK(c->notices[0].find("$.executionMode") != std::string::npos);
}

TEST_CASE("db config: bad inputs get one clear error naming the line or JSON path") {
  const std::string part = R"("partitioning": {"partitions": [["<NEW_NODE>"]]})";
  auto star = [&](const std::string& fields) { return R"({"clusters": {"*": {)" + fields + "}}}"; };
  struct bad {
    const char* name;
    std::string json;
    const char* expect;
  };
  std::vector<bad> table = {
      {"empty", "", "line 1: malformed JSON"},
      {"truncated", "{\n\"replication\": true,\n", "malformed JSON"},
      {"syntax error on line 3", "{\n\"replication\": true,\n\"autoDeploy\": tru\n}", "line 3: malformed JSON"},
      {"not an object", "[1,2]", "$: expected an object, got an array"},
      {"no clusters", R"({"replication": true})", "missing \"clusters\""},
      {"no star", R"({"clusters": {"internal": {"replication": false}}})", "missing the \"*\" entry"},
      {"replication not a bool", R"({"replication": "yes", "clusters": {}})", "$.replication: expected true or false"},
      {"resyncEvery negative", R"({"resyncEvery": -1, "clusters": {}})", "$.resyncEvery: must be in 0..86400"},
      {"resyncEvery a string", R"({"resyncEvery": "15", "clusters": {}})", "$.resyncEvery: expected an integer"},
      {"quorum of 0", star(R"("writeQuorum": 0, )" + part), "$.clusters[\"*\"].writeQuorum: a quorum must be at least 1"},
      {"quorum negative", star(R"("readQuorum": -2, )" + part), "readQuorum: a quorum must be at least 1"},
      {"quorum unknown word", star(R"("writeQuorum": "most", )" + part), "expected an integer >= 1, \"majority\" or \"all\""},
      {"quorum a float", star(R"("writeQuorum": 1.5, )" + part), "writeQuorum: expected an integer >= 1"},
      {"unknown strategy", star(R"("partitioning": {"strategy": "hash", "partitions": [["a"]]})"),
       "unknown partitioning strategy \"hash\""},
      {"partitions missing", star(R"("partitioning": {"strategy": "round-robin"})"), "missing \"partitions\""},
      {"partitions empty", star(R"("partitioning": {"partitions": []})"), "at least one partition"},
      {"partition not a list", star(R"("partitioning": {"partitions": ["a"]})"),
       "$.clusters[\"*\"].partitioning.partitions[0]: expected an array of node names"},
      {"bad node name", star(R"("partitioning": {"partitions": [["a b"]]})"), "\"a b\" is not a node name"},
      {"duplicate node", star(R"("partitioning": {"partitions": [["a", "a"]]})"), "listed twice"},
      {"default out of range", star(R"("partitioning": {"default": 2, "partitions": [["a"]]})"),
       "partition 2 does not exist"},
      {"star without partitioning", star(R"("replication": true)"), "missing \"partitioning\""},
      {"cluster not an object", R"({"clusters": {"*": 1}})", "$.clusters[\"*\"]: expected an object"},
      {"version negative", R"({"version": -1, "clusters": {}})", "$.version: must be in"},
      {"too deep", std::string(100, '[') + std::string(100, ']'), "malformed JSON"},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    auto c = parse_db_config(b.json, "config/default-distributed-db-config.json");
    REQUIRE_FALSE(c.ok());
    auto msg = c.error().render();
    CAPTURE(msg);
    CHECK(msg.find(b.expect) != std::string::npos);
    CHECK(msg.rfind("config/default-distributed-db-config.json: ", 0) == 0);
  }
}
