// Replication as processes, one dserver per host as users run them: three
// network-namespace hosts (test/support/netns.hpp) started from one copied home
// (as in the seed) under a concurrent REST write load, each host SIGKILLed and
// restarted on its home in turn (host1, the partition's owner, once), then the
// checker (test/process/cluster_harness.hpp) compares what every client was
// told with what every node holds.
#include <doctest/doctest.h>

#include <cstdio>

#include "src/util/strings.hpp"
#include "test/process/cluster_harness.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int node_count = 3;
constexpr int writer_count = 6;
// Acknowledged writes the load must make between two steps of the scenario.
constexpr int64_t acks_per_step = 1500;

}  // namespace

TEST_CASE("replication: 3 hosts under concurrent REST writes, each SIGKILLed and restarted in turn, lose nothing") {
  if (auto why = netns_lab::unavailable_reason(); !why.empty()) {
    MESSAGE("skipped: one dserver per host needs network namespaces: " << why);
    return;
  }
  netns_lab lab(node_count);
  temp_dir root;
  auto nodes = make_cluster(root.path(), node_count, &lab);
  auto all_online = [&] {
    for (auto& n : nodes) n->drain();
    for (auto& n : nodes)
      if (!sees_all_online(*n, node_count)) return false;
    return true;
  };

  // host1 alone creates the demo database; host2 and host3 receive it by deploy.
  for (auto& n : nodes) start_node(*n, nodes);
  REQUIRE_MESSAGE(eventually(all_online, 90s), membership_story(nodes));
  auto t_online = std::chrono::steady_clock::now();

  write_load load(nodes, writer_count);
  // Each phase with its seconds and acknowledged writes, for the closing line.
  std::string timeline;
  auto t_mark = std::chrono::steady_clock::now();
  int64_t acks_mark = 0;
  auto mark = [&](const std::string& phase) {
    auto now = std::chrono::steady_clock::now();
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", std::chrono::duration<double>(now - t_mark).count());
    timeline += cat(timeline.empty() ? "" : ", ", phase, " ", secs, "/", load.acks() - acks_mark);
    t_mark = now;
    acks_mark = load.acks();
  };
  REQUIRE_MESSAGE(load.grow_by(acks_per_step, 30s), "the load makes no progress; acknowledged " << load.acks());
  mark("all up");

  // host2 (a replica), then host1 (the owner: its writes move to another host),
  // then host3. Each is down while the load goes on, so it comes back behind.
  for (int victim : {1, 0, 2}) {
    auto& n = *nodes[static_cast<size_t>(victim)];
    n.kill();
    // It comes back only after the others removed it, so that it rejoins (and
    // catches up) rather than reconnects; the load meanwhile goes on.
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          for (auto& other : nodes) other->drain();
                          for (auto& other : nodes)
                            if (other.get() != &n && !sees_gone(*other, n.name)) return false;
                          return true;
                        },
                        10s),
                    "the others still list " << n.name);
    int64_t before = load.acks();
    load.grow_by(acks_per_step, 15s);
    // Two of three hosts hold a quorum: the cluster must go on taking writes,
    // after a failover when the owner (host1) is the one down.
    if (load.acks() <= before)
      FAIL_CHECK("no write was acknowledged in the 15 s " << n.name << " was down\n" << membership_story(nodes));
    mark(n.name + " down");
    start_node(n, nodes);
    REQUIRE_MESSAGE(eventually(all_online, 60s),
                    n.name << " did not come back ONLINE; " << timeline << "\n" << membership_story(nodes));
    mark(n.name + " back to ONLINE");
    REQUIRE_MESSAGE(load.grow_by(acks_per_step, 30s),
                    "no progress after " << n.name << " came back: " << load.acks() - acks_mark << " in 30 s; " << timeline);
    mark("all up");
  }
  load.stop();
  auto load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_online).count();

  // Replicas may still be catching up: wait for the same count everywhere.
  bool converged = eventually(
      [&] {
        if (!all_online()) return false;
        auto c0 = class_v_records(*nodes[0]);
        return c0 >= 0 && class_v_records(*nodes[1]) == c0 && class_v_records(*nodes[2]) == c0;
      },
      20s);
  std::printf("replication check: load %.0f s (phase seconds/acknowledged: %s)%s\n", load_s, timeline.c_str(),
              converged ? "" : "; the class V counts did not converge within 20 s");
  auto v = stop_and_check(nodes, load, root.path(), "replication");
  CHECK(v.lost == 0);
  CHECK(v.failed_visible == 0);
  CHECK(v.divergent == 0);
  CHECK(v.duplicated == 0);
  // Not vacuous: the load ran through every restart.
  CHECK(v.acknowledged >= 4 * acks_per_step);
}

namespace {

// A node's content built by hand: the document `key` at `rid`.
void put(node_content& n, const std::string& rid, const std::string& key, int64_t version, const std::string& value) {
  n.records[rid] = cat(R"({"@rid":")", rid, R"(","@version":)", version, R"(,"k":")", key, R"(","v":)", value, "}");
  n.docs[key].push_back({rid, version, value});
}

void drop(node_content& n, const std::string& rid, const std::string& key) {
  n.records.erase(rid);
  n.docs.erase(key);
}

write_op op(bool update, outcome o, const std::string& key, const std::string& rid, int64_t version,
            const std::string& value) {
  return write_op{update, o, 0, key, rid, version, value, -1, {}, {}};
}

}  // namespace

// The checker itself, on made-up outcomes and node contents: it passes what
// the contract allows and counts each kind of violation, so the process test
// above can fail only for what it is meant to catch.
TEST_CASE("replication check: counts lost, failed-but-visible and divergent writes, and accepts what the contract allows") {
  // w0-1: created, updated twice (acknowledged), a third update failed.
  // w0-2: created, updated with an unknown outcome that was applied.
  // w0-3: created with an unknown outcome, applied.   w0-4: create failed.
  std::vector<write_op> ops = {
      op(false, outcome::acknowledged, "w0-1", "#9:1", 1, "1"),
      op(true, outcome::acknowledged, "w0-1", "#9:1", 2, R"("u1")"),
      op(true, outcome::acknowledged, "w0-1", "#9:1", 3, R"("u2")"),
      op(true, outcome::failed, "w0-1", "#9:1", 4, R"("u3")"),
      op(false, outcome::acknowledged, "w0-2", "#9:2", 1, "2"),
      op(true, outcome::unknown, "w0-2", "#9:2", 2, R"("u4")"),
      op(false, outcome::unknown, "w0-3", "", 1, "3"),
      op(false, outcome::failed, "w0-4", "", 1, "4"),
  };
  std::vector<const write_op*> writes;
  for (auto& w : ops) writes.push_back(&w);
  node_content good;
  put(good, "#9:0", "demo", 1, "0");  // not the load's: compared, never counted as a write
  put(good, "#9:1", "w0-1", 3, R"("u2")");
  put(good, "#9:2", "w0-2", 2, R"("u4")");
  put(good, "#9:3", "w0-3", 1, "3");

  auto v = check(writes, {good, good, good});
  CHECK(v.acknowledged == 4);
  CHECK(v.failed == 2);
  CHECK(v.unknown == 2);
  CHECK(v.lost == 0);
  CHECK(v.failed_visible == 0);
  CHECK(v.divergent == 0);
  CHECK(v.duplicated == 0);

  SUBCASE("an unknown write that is nowhere is fine too") {
    node_content n = good;
    drop(n, "#9:3", "w0-3");
    drop(n, "#9:2", "w0-2");
    put(n, "#9:2", "w0-2", 1, "2");
    auto x = check(writes, {n, n, n});
    CHECK(x.lost == 0);
    CHECK(x.divergent == 0);
  }
  SUBCASE("a node without the last acknowledged update lost it, and diverges") {
    node_content stale = good;
    stale.docs.erase("w0-1");
    put(stale, "#9:1", "w0-1", 2, R"("u1")");
    auto x = check(writes, {good, stale, good});
    CHECK(x.lost == 1);
    CHECK(x.divergent == 1);
  }
  SUBCASE("a node without an acknowledged create lost the create and its updates") {
    node_content missing = good;
    drop(missing, "#9:1", "w0-1");
    CHECK(check(writes, {good, good, missing}).lost == 3);
  }
  SUBCASE("an acknowledged document under another RID is lost there") {
    node_content moved = good;
    drop(moved, "#9:1", "w0-1");
    put(moved, "#9:7", "w0-1", 3, R"("u2")");
    CHECK(check(writes, {good, moved, good}).lost == 3);
  }
  SUBCASE("a failed create or update that shows is failed-but-visible") {
    node_content n = good;
    n.docs.erase("w0-1");
    put(n, "#9:1", "w0-1", 4, R"("u3")");
    put(n, "#9:4", "w0-4", 1, "4");
    auto x = check(writes, {n, n, n});
    CHECK(x.failed_visible == 2);
    CHECK(x.lost == 1);  // the acknowledged "u2" was overwritten by the failed update
  }
  SUBCASE("an unknown write applied on one node only diverges") {
    node_content n = good;
    drop(n, "#9:3", "w0-3");
    auto x = check(writes, {good, n, good});
    CHECK(x.divergent == 1);
    CHECK(x.lost == 0);
  }
  SUBCASE("a create applied twice is a duplicate") {
    node_content n = good;
    put(n, "#9:5", "w0-3", 1, "3");
    CHECK(check(writes, {n, n, n}).duplicated == 1);
  }
}
