// Backup, restore, export and import across clusters, one dserver per host
// (three network-namespace hosts, as multihost_test.cpp):
// - a backup taken through REST while writers load the demo database holds
//   every write acknowledged before the backup was asked for;
// - restored on a fresh 3-node cluster it becomes the cluster's database:
//   every node holds it, and all three hold the same records;
// - exported from one node and imported into a new database through another,
//   the records are the same, and the import is on every node too.
#include <doctest/doctest.h>

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

// key -> the value "v" of the load's documents in `c`, one per key.
std::map<std::string, std::string> values_of(const node_content& c) {
  std::map<std::string, std::string> out;
  for (auto& [k, docs] : c.docs) {
    REQUIRE_MESSAGE(docs.size() == 1, "key " << k << " is held " << docs.size() << " times");
    out[k] = docs[0].value;
  }
  return out;
}

}  // namespace

TEST_CASE("backup under write load, restored on a fresh 3-host cluster; export and import through two nodes") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(3);
  temp_dir root;
  fs::path archive = root.path() / "gd.backup";

  // Cluster A: the demo database under a write load; a backup through node 2.
  std::map<std::string, int64_t> before;  // key -> the version acknowledged before the backup was asked for
  {
    auto nodes = make_cluster(root.path() / "a", 3, &lab);
    for (auto& n : nodes) start_node(*n, nodes);
    REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 120s), membership_story(nodes));
    write_load load(nodes, 6);
    REQUIRE(load.grow_by(300, 60s));
    auto asked = std::chrono::steady_clock::now();
    auto b = call(*nodes[1], "POST", cat("/backup/", demo_db, "/gd.backup"));
    REQUIRE(b.has_value());
    REQUIRE_MESSAGE(b->status == 200, b->body);
    REQUIRE(load.grow_by(100, 60s));  // the load went on during and after it
    load.stop();
    for (auto* w : load.all())
      if (w->result == outcome::acknowledged && w->answered < asked)
        before[w->key] = std::max(before[w->key], w->version_after);
    CHECK(before.size() >= 100);
    fs::copy_file(nodes[1]->home / "backup" / "gd.backup", archive);
    for (auto& n : nodes) n->kill();
  }

  // Cluster B, fresh: restore through node 1, the database on all three.
  auto nodes = make_cluster(root.path() / "b", 3, &lab);
  for (auto& n : nodes) start_node(*n, nodes);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 120s), membership_story(nodes));
  fs::create_directories(nodes[0]->home / "backup");
  fs::copy_file(archive, nodes[0]->home / "backup" / "gd.backup");
  auto r = call(*nodes[0], "POST", "/restore/restored/gd.backup");
  REQUIRE(r.has_value());
  REQUIRE_MESSAGE(r->status == 200, r->body);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes, "restored"); }, 60s), membership_story(nodes));
  // A second restore under the same name is refused, the first untouched.
  auto again = call(*nodes[2], "POST", "/restore/restored/gd.backup");
  REQUIRE(again.has_value());
  CHECK(again->status == 409);

  // Export through node 2, import through node 3 as a new database.
  auto ex = call(*nodes[1], "GET", "/export/restored");
  REQUIRE(ex.has_value());
  REQUIRE_MESSAGE(ex->status == 200, ex->body.substr(0, 300));
  auto im = call(*nodes[2], "POST", "/import/copy", ex->body);
  REQUIRE(im.has_value());
  REQUIRE_MESSAGE(im->status == 200, im->body);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes, "copy"); }, 60s), membership_story(nodes));

  for (auto& n : nodes) n->kill();
  std::vector<node_content> restored, copies;
  for (auto& n : nodes) {
    restored.push_back(read_content(n->home / "databases" / "restored"));
    copies.push_back(read_content(n->home / "databases" / "copy"));
  }
  // Every write acknowledged before the backup was asked for is in it.
  auto values = values_of(restored[0]);
  int64_t missing = 0, older = 0;
  for (auto& [key, version] : before) {
    auto d = restored[0].docs.find(key);
    if (d == restored[0].docs.end()) {
      ++missing;
      continue;
    }
    if (d->second.at(0).version < version) ++older;
  }
  CHECK_MESSAGE(missing == 0, missing << " of " << before.size() << " acknowledged documents are not in the backup");
  CHECK_MESSAGE(older == 0, older << " documents are older in the backup than acknowledged before it");
  // The same records on all three nodes.
  for (size_t i = 1; i < nodes.size(); ++i) {
    CHECK_MESSAGE(restored[i].records == restored[0].records, nodes[i]->name << " holds another 'restored'");
    CHECK_MESSAGE(copies[i].records == copies[0].records, nodes[i]->name << " holds another 'copy'");
  }
  // The import holds the same documents as the database exported.
  CHECK(values_of(copies[0]) == values);
  CHECK(values.size() >= before.size());
}
