// SQL in the cluster's one write order, one dserver per host (three network-
// namespace hosts, as test/process/multihost_test.cpp): write statements sent
// to any node are run by the database's owner and replicated as their
// resulting operations.
//
// Checked from outside, through each node's REST /command:
// - statements through each of the three nodes are visible on all;
// - a UNIQUE index under concurrent creates of the same keys through all three
//   nodes at once: per key at most one create is acknowledged, refused ones
//   answer 409 (OrientDB's ORecordDuplicatedException) and are absent, and
//   every node ends with exactly the same single record per key;
// - UPDATE ... INCREMENT ... WHERE through the three nodes at once loses no
//   increment: the final value on every node is the number acknowledged (plus
//   at most the ones whose outcome is unknown).
#include <doctest/doctest.h>

#include <signal.h>

#include <array>
#include <atomic>
#include <latch>
#include <thread>

#include "src/util/strings.hpp"
#include "test/process/cluster_harness.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;
namespace json = boost::json;

namespace {

std::string command_body(const std::string& text, json::array params = {}) {
  return json::serialize(json::object{{"command", text}, {"parameters", std::move(params)}});
}

std::optional<raw_response> sql(const dnode& n, const std::string& text, json::array params = {}) {
  return call(n, "POST", cat("/command/", demo_db, "/sql"), command_body(text, std::move(params)));
}

// The result rows of a statement that must succeed.
json::array rows(const dnode& n, const std::string& text, json::array params = {}) {
  auto r = sql(n, text, std::move(params));
  REQUIRE_MESSAGE(r.has_value(), n.name << " did not answer " << text);
  REQUIRE_MESSAGE(r->status == 200, n.name << ": " << text << ": " << r->status << " " << r->body);
  auto v = json_of(r->body);
  REQUIRE(v.has_value());
  return v->at("result").as_array();
}

// key -> RIDs of class `cls` on `n` (empty map when the node does not answer).
std::map<std::string, std::vector<std::string>> by_key(const dnode& n, const std::string& cls) {
  std::map<std::string, std::vector<std::string>> out;
  auto r = sql(n, cat("select @rid as rid, key from ", cls, " order by key"));
  if (!r || r->status != 200) return out;
  auto v = json_of(r->body);
  if (!v) return out;
  for (auto& row : v->at("result").as_array())
    out[std::string(row.at("key").as_string())].push_back(std::string(row.at("rid").as_string()));
  return out;
}

}  // namespace

TEST_CASE("SQL on three hosts: writes through any node, a UNIQUE index under concurrent creates, and concurrent "
          "increments") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(3);
  temp_dir root;
  auto nodes = make_cluster(root.path(), 3, &lab);
  for (auto& n : nodes) start_node(*n, nodes);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 90s), membership_story(nodes));

  // Schema through node 1, visible on the others.
  rows(*nodes[0], "create class Person extends V");
  rows(*nodes[0], "create index Person.key on Person (key) unique");
  rows(*nodes[1], "create class Counter");
  rows(*nodes[2], "insert into Counter set name = 'c', n = 0");

  // Writes through each node, visible on all.
  for (size_t i = 0; i < nodes.size(); ++i) {
    auto created = rows(*nodes[i], "create vertex Person set key = ?, via = ?", {cat("via-", i), nodes[i]->name});
    REQUIRE(created.size() == 1);
    auto rid = std::string(created[0].at("@rid").as_string());
    for (auto& r : nodes)
      CHECK_MESSAGE(eventually([&] { return by_key(*r, "Person")[cat("via-", i)] == std::vector<std::string>{rid}; }, 10s),
                    rid << " created through " << nodes[i]->name << " is not on " << r->name);
  }
  // A duplicate through another node is refused in OrientDB's words.
  {
    auto r = sql(*nodes[2], "insert into Person set key = 'via-0'");
    REQUIRE(r.has_value());
    CHECK(r->status == 409);
    CHECK(r->body.find("ORecordDuplicatedException: Cannot index record") != std::string::npos);
    CHECK(r->body.find("found duplicated key 'via-0' in index 'Person.key'") != std::string::npos);
  }

  // Concurrent creates of the same keys through all three nodes.
  constexpr int keys = 20;
  struct attempt {
    int status = 0;
    std::string rid;
  };
  std::vector<std::array<attempt, 3>> attempts(keys);
  for (int k = 0; k < keys; ++k) {
    std::latch go(3);
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i)
      ts.emplace_back([&, k, i] {
        go.arrive_and_wait();
        auto r = sql(*nodes[i], "insert into Person set key = ?, via = ?", {cat("k", k), i});
        if (!r) return;
        attempts[k][i].status = r->status;
        if (r->status == 200)
          if (auto v = json_of(r->body)) attempts[k][i].rid = std::string(v->at("result").at(0).at("@rid").as_string());
      });
    for (auto& t : ts) t.join();
  }
  int acked = 0, refused = 0, unknown = 0;
  for (int k = 0; k < keys; ++k) {
    CAPTURE(k);
    int a = 0;
    for (auto& at : attempts[k]) {
      if (at.status == 200) ++a;
      else if (at.status == 409) ++refused;
      else ++unknown;
    }
    CHECK(a <= 1);  // never two acknowledged creates of one key
    acked += a;
  }
  MESSAGE("unique creates: " << acked << " acknowledged, " << refused << " refused (409), " << unknown << " unknown");
  CHECK(acked + unknown >= keys);  // each key was created by someone (unless its outcome is unknown)

  // Every node ends with exactly one record per key, the acknowledged one.
  auto reference = by_key(*nodes[0], "Person");
  for (auto& n : nodes) {
    CAPTURE(n->name);
    CHECK(eventually([&] { return by_key(*n, "Person") == by_key(*nodes[0], "Person"); }, 10s));
    auto seen = by_key(*n, "Person");
    for (int k = 0; k < keys; ++k) {
      CAPTURE(k);
      auto& got = seen[cat("k", k)];
      CHECK(got.size() <= 1);
      for (auto& at : attempts[k])
        if (at.status == 200) CHECK(got == std::vector<std::string>{at.rid});
    }
  }

  // Concurrent increments through the three nodes lose nothing.
  constexpr int per_node = 20;
  std::atomic<int> inc_acked{0}, inc_unknown{0};
  {
    std::latch go(3);
    std::vector<std::thread> ts;
    for (int i = 0; i < 3; ++i)
      ts.emplace_back([&, i] {
        go.arrive_and_wait();
        for (int j = 0; j < per_node; ++j) {
          auto r = sql(*nodes[i], "update Counter increment n = 1 where name = 'c'");
          if (r && r->status == 200 && r->body.find("\"value\":1") != std::string::npos) ++inc_acked;
          else ++inc_unknown;
        }
      });
    for (auto& t : ts) t.join();
  }
  MESSAGE("increments: " << inc_acked.load() << " acknowledged, " << inc_unknown.load() << " not");
  CHECK(inc_acked > 0);
  for (auto& n : nodes) {
    CAPTURE(n->name);
    int64_t value = -1;
    CHECK(eventually(
        [&] {
          auto r = sql(*n, "select n from Counter where name = 'c'");
          auto v = r && r->status == 200 ? json_of(r->body) : std::nullopt;
          if (!v || v->at("result").as_array().size() != 1) return false;
          value = v->at("result").at(0).at("n").to_number<int64_t>();
          return value >= inc_acked;
        },
        10s));
    CHECK(value >= inc_acked);
    CHECK(value <= inc_acked + inc_unknown);
  }
  for (auto& n : nodes) {
    n->p->signal(SIGTERM);
    CHECK_MESSAGE(n->p->wait_exit(30s) == 0, n->p->output());
  }
}
