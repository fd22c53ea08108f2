// Databases coming into and out of existence in a running cluster, one
// dserver per host (three network-namespace hosts, as multihost_test.cpp):
// - nodes started at the same moment with empty databases/ end with exactly
//   one demo database, created by one node and deployed to the others;
// - a database created through one node is on every node, takes writes
//   through another, and is dropped through a third on every node;
// - a member that was down during the drop comes back without it;
// - the dropped name can be created again, empty;
// - two creates of one name through two nodes at once end with one database.
#include <doctest/doctest.h>

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
namespace fs = std::filesystem;

namespace {

// The databases `n` lists (GET /listDatabases); nullopt when it does not answer.
std::optional<std::vector<std::string>> databases_of(const dnode& n) {
  auto r = call(n, "GET", "/listDatabases");
  if (!r || r->status != 200) return std::nullopt;
  auto v = json_of(r->body);
  if (!v) return std::nullopt;
  std::vector<std::string> out;
  for (auto& d : v->at("databases").as_array()) out.emplace_back(d.as_string());
  return out;
}

bool lists(const dnode& n, const std::string& db) {
  auto l = databases_of(n);
  return l && std::count(l->begin(), l->end(), db) == 1;
}

bool lists_not(const dnode& n, const std::string& db) {
  auto l = databases_of(n);
  return l && std::count(l->begin(), l->end(), db) == 0;
}

std::optional<raw_response> sql(const dnode& n, const std::string& db, const std::string& text) {
  return call(n, "POST", cat("/command/", db, "/sql"), json::serialize(json::object{{"command", text}}));
}

size_t count_in(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void start_together(dnodes& nodes) {
  for (auto& n : nodes) n->spawn();  // no waiting between them: as a service manager at boot
  for (auto& n : nodes) {
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          for (auto& x : nodes) x->drain();
                          return n->active();
                        },
                        90s),
                    n->p->output());
    n->learn_ports();
  }
}

}  // namespace

TEST_CASE("three hosts started at the same moment end with exactly one demo database, on all three") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(3);
  for (int round = 0; round < 3; ++round) {
    CAPTURE(round);
    temp_dir root;
    auto nodes = make_cluster(root.path(), 3, &lab);
    start_together(nodes);
    REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 120s), membership_story(nodes));
    std::string all;
    for (auto& n : nodes) all += n->all_output();
    CHECK_MESSAGE(count_in(all, "no databases found: creating the demo database") == 1, all);
    int64_t v0 = class_v_records(*nodes[0]);
    CHECK(v0 > 800);  // the demo graph: 808 vertices
    for (auto& n : nodes) {
      CHECK(class_v_records(*n) == v0);
      CHECK(lists(*n, demo_db));
      CHECK(fs::is_directory(n->home / "databases" / demo_db));
    }
    for (auto& n : nodes) n->kill();
  }
}

TEST_CASE("databases created, written and dropped through different hosts; a member down during a drop; one name "
          "created twice at once") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(3);
  temp_dir root;
  auto nodes = make_cluster(root.path(), 3, &lab);
  for (auto& n : nodes) start_node(*n, nodes);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 120s), membership_story(nodes));
  auto& n1 = *nodes[0];
  auto& n2 = *nodes[1];
  auto& n3 = *nodes[2];

  // Created through node 1: on every node, ONLINE.
  auto made = call(n1, "POST", "/database/shop/plocal");
  REQUIRE(made.has_value());
  REQUIRE_MESSAGE(made->status == 200, made->body);
  {  // the answer says who receives it
    auto v = json_of(made->body);
    REQUIRE(v.has_value());
    auto* to = v->as_object().if_contains("deployingTo");
    REQUIRE(to != nullptr);
    CHECK(to->as_array() == json::array{json::string(n2.name), json::string(n3.name)});
  }
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes, "shop"); }, 60s), membership_story(nodes));
  for (auto& n : nodes) CHECK(lists(*n, "shop"));
  // A second create of the name, through another node: refused.
  auto again = call(n3, "POST", "/database/shop/plocal");
  REQUIRE(again.has_value());
  CHECK(again->status == 409);
  CHECK(again->body.find("Database 'shop' already exists") != std::string::npos);

  // Written through node 2, read on node 3.
  auto w = sql(n2, "shop", "create class Item");
  REQUIRE(w.has_value());
  REQUIRE_MESSAGE(w->status == 200, w->body);
  w = sql(n2, "shop", "insert into Item set name = 'lamp'");
  REQUIRE(w.has_value());
  REQUIRE_MESSAGE(w->status == 200, w->body);
  CHECK(eventually(
      [&] {
        auto r = sql(n3, "shop", "select name from Item");
        return r && r->status == 200 && r->body.find("lamp") != std::string::npos;
      },
      10s));

  // Node 3 goes down; the database is dropped through node 2.
  n3.kill();
  REQUIRE_MESSAGE(eventually([&] { n1.drain(); n2.drain(); return sees_gone(n1, n3.name); }, 60s), membership_story(nodes));
  auto dropped = call(n2, "DELETE", "/database/shop");
  REQUIRE(dropped.has_value());
  REQUIRE_MESSAGE(dropped->status == 204, dropped->body);
  CHECK(eventually([&] { return lists_not(n1, "shop") && lists_not(n2, "shop"); }, 10s));
  CHECK(eventually([&] { return !fs::exists(n1.home / "databases" / "shop") && !fs::exists(n2.home / "databases" / "shop"); }, 10s));
  auto gone = call(n1, "DELETE", "/database/shop");
  REQUIRE(gone.has_value());
  CHECK(gone->status == 404);

  // Node 3 comes back with its old copy: the copy goes, nobody takes it back.
  REQUIRE(fs::exists(n3.home / "databases" / "shop"));
  start_node(n3, nodes);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 90s), membership_story(nodes));
  CHECK_MESSAGE(eventually([&] { n3.drain(); return !fs::exists(n3.home / "databases" / "shop") && lists_not(n3, "shop"); }, 30s),
                n3.p->output());
  for (auto& n : nodes) CHECK(lists_not(*n, "shop"));
  CHECK(n3.p->output().find("was dropped from the cluster") != std::string::npos);

  // The name is free again: a new, empty database (no Item class from before).
  made = call(n3, "POST", "/database/shop/plocal");
  REQUIRE(made.has_value());
  REQUIRE_MESSAGE(made->status == 200, made->body);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes, "shop"); }, 60s), membership_story(nodes));
  for (auto& n : nodes) {
    auto r = sql(*n, "shop", "select from Item");
    REQUIRE(r.has_value());
    CHECK_MESSAGE(r->status != 200, n->name << " still has the dropped database's class: " << r->body);
  }

  // Two creates of one name through two nodes at the same moment: one database.
  std::optional<raw_response> first, second;
  {
    std::latch go(2);
    std::thread a([&] { go.arrive_and_wait(); first = call(n1, "POST", "/database/dup/plocal"); });
    std::thread b([&] { go.arrive_and_wait(); second = call(n2, "POST", "/database/dup/plocal"); });
    a.join();
    b.join();
  }
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(((first->status == 200) != (second->status == 200)));
  CHECK(((first->status == 409) != (second->status == 409)));
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes, "dup"); }, 60s), membership_story(nodes));
  for (auto& n : nodes) CHECK(lists(*n, "dup"));
}
