// One dserver per host, as users run troupe: three network-namespace hosts
// (test/support/netns.hpp) with addresses 10.77.0.1-3 on a private bridge, the
// same home copied to each (as the seed does), hazelcast.xml listing
// 10.77.0.1:2434 .. 10.77.0.3:2434. The test process talks to the hosts from a
// client namespace on the same bridge, so cutting links between hosts never cuts
// the test's own view of them.
//
// Cases: the seed tutorial across hosts (joins, deploy, real addresses in
// GET /distributed/node and the console, writes readable everywhere), and real
// partitions under a write load with the replication checker: a 2+1 split with
// the owner on the majority side, then alone, one-way loss, a flapping link.
#include <doctest/doctest.h>

#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "src/util/strings.hpp"
#include "test/process/cluster_harness.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr int host_count = 3;

std::string console_path() {
  const char* p = std::getenv("TROUPE_CONSOLE");
  REQUIRE_MESSAGE(p != nullptr, "TROUPE_CONSOLE is not set (run through meson test)");
  return p;
}

// Each member's listeners as `n` lists them: name -> {"cluster": "a:p", "ONetworkProtocolHttpDb": "a:p"}.
std::map<std::string, std::map<std::string, std::string>> listeners_seen_by(const dnode& n) {
  std::map<std::string, std::map<std::string, std::string>> out;
  auto r = call(n, "GET", "/distributed/node");
  if (!r || r->status != 200) return out;
  auto v = json_of(r->body);
  if (!v) return out;
  for (auto& m : v->at("members").as_array())
    for (auto& l : m.at("listeners").as_array())
      out[std::string(m.at("name").as_string())][std::string(l.at("protocol").as_string())] =
          std::string(l.at("listen").as_string());
  return out;
}

std::string create_doc(const dnode& n, const std::string& fields) {
  auto r = call(n, "POST", cat("/document/", demo_db), cat(R"({"@class":"V",)", fields, "}"));
  REQUIRE_MESSAGE(r.has_value(), n.name << " did not answer a create");
  REQUIRE_MESSAGE(r->status == 201, n.name << ": " << r->status << " " << r->body);
  auto v = json_of(r->body);
  REQUIRE(v.has_value());
  return std::string(v->at("@rid").as_string());
}

int read_status(const dnode& n, const std::string& rid) {
  auto r = call(n, "GET", cat("/document/", demo_db, "/", rid.substr(1)));
  return r ? r->status : 0;
}

// Writes acknowledged through node index `via` among writes sent in [from, to).
// Called while the load runs: count_if() reads each writer's log under its lock.
int64_t acks_via(const write_load& load, int via, std::chrono::steady_clock::time_point from,
                 std::chrono::steady_clock::time_point to) {
  return load.count_if([&](const write_op& w) {
    return w.via == via && w.sent >= from && w.sent < to && w.result == outcome::acknowledged;
  });
}

// Writes through node index `via` refused as "not applied" among those sent since `from`.
int64_t refusals_via(const write_load& load, int via, std::chrono::steady_clock::time_point from) {
  return load.count_if(
      [&](const write_op& w) { return w.via == via && w.sent >= from && w.result == outcome::failed; });
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("many hosts: the seed tutorial on three hosts: they join, receive the database, list real addresses, "
          "and a write on each is readable on the others") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(host_count);
  temp_dir root;
  auto nodes = make_cluster(root.path(), host_count, &lab);
  // Node 1 starts alone and creates the demo database; 2 and 3 join from copied homes.
  start_node(*nodes[0], nodes);
  CHECK(nodes[0]->p->output().find("created the demo database GratefulDeadConcerts") != std::string::npos);
  start_node(*nodes[1], nodes);
  start_node(*nodes[2], nodes);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 90s), membership_story(nodes));
  for (auto& n : nodes) {
    CAPTURE(n->name);
    // What is bound is what is said, and it is the host's own address.
    // (The output is read as the test waits: wait for lines, do not just look.)
    CHECK(n->p->wait_for_output(cat("cluster endpoint listening on ", n->address(), ":2434"), 10s));
    if (n.get() != nodes[0].get()) CHECK(n->p->wait_for_output(cat("installed database ", demo_db), 10s));
  }

  // Every member lists every member at its real addresses, never loopback.
  for (auto& n : nodes) {
    auto seen = listeners_seen_by(*n);
    CAPTURE(n->name);
    REQUIRE(seen.size() == host_count);
    for (auto& m : nodes) {
      CHECK(seen[m->name]["cluster"] == cat(m->address(), ":2434"));
      CHECK(seen[m->name]["ONetworkProtocolHttpDb"] == cat(m->address(), ":", m->http_port.load()));
    }
  }

  // GET /server names what each listener really bound, and what is told.
  {
    auto r = call(*nodes[1], "GET", "/server");
    REQUIRE(r.has_value());
    auto v = json_of(r->body);
    REQUIRE(v.has_value());
    std::map<std::string, std::pair<std::string, std::string>> ls;
    for (auto& l : v->at("listeners").as_array()) {
      auto* told = l.as_object().if_contains("advertised");
      ls[std::string(l.at("protocol").as_string())] = {std::string(l.at("listen").as_string()),
                                                       told ? std::string(told->as_string()) : ""};
    }
    CHECK(ls["cluster"].first == "10.77.0.2:2434");
    CHECK(ls["cluster"].second == "10.77.0.2:2434");
    CHECK(ls["http"].first == "0.0.0.0:2480");
    CHECK(ls["http"].second == "10.77.0.2:2480");
    CHECK(ls["binary"].first == "0.0.0.0:2424");
  }

  // The console, run on host 3 against host 1's binary port, lists the servers
  // at their real addresses too.
  {
    process_options o;
    o.argv = lab.in_host(3, {console_path(), cat("connect remote:", nodes[0]->address(), " root ", nodes[0]->root_pw,
                                                 "; list servers")});
    child_process console(o);
    auto rc = console.wait_exit(30s);
    REQUIRE_MESSAGE(rc.has_value(), console.output());
    CHECK_MESSAGE(*rc == 0, console.output());
    for (auto& m : nodes) CHECK_MESSAGE(console.output().find(cat(m->address(), ":2434")) != std::string::npos, console.output());
    CHECK(console.output().find("127.0.0.1") == std::string::npos);
  }

  // The links are authenticated but not encrypted here: a tap on the wire
  // between the hosts sees a document's text (which shows the tap works; the
  // encrypted case is the next test).
  netns_lab::capture tap(lab);
  // A write acknowledged on each host is readable on the others (readQuorum 1:
  // within a bounded wait, the time the replicas take to commit it).
  for (auto& w : nodes) {
    auto rid = create_doc(*w, cat(R"("tutorial":"written on )", w->name, R"(")"));
    for (auto& r : nodes)
      CHECK_MESSAGE(eventually([&] { return read_status(*r, rid) == 200; }, 5s),
                    rid << " written on " << w->name << " is not readable on " << r->name);
  }
  CHECK(tap.bytes().find("written on host1") != std::string::npos);
  for (auto& n : nodes) {
    n->p->signal(SIGTERM);
    CHECK_MESSAGE(n->p->wait_exit(30s) == 0, n->p->output());
    write_text(root / (n->name + ".log"), n->all_output());  // kept with TROUPE_KEEP_TEMP=1
  }
}

TEST_CASE("many hosts: real partitions under a write load: a 2+1 split with the owner on either side, one-way loss "
          "and a flapping link; writes are accepted only where a quorum is, and nothing acknowledged is lost") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(host_count);
  temp_dir root;
  // readQuorum majority: a write acknowledged anywhere is read at once anywhere.
  auto nodes = make_cluster(root.path(), host_count, &lab, [](const fs::path& home) {
    replace_once(home / "config" / "default-distributed-db-config.json", R"("readQuorum": 1)", R"("readQuorum": "majority")");
  });
  for (auto& n : nodes) start_node(*n, nodes);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 90s), membership_story(nodes));

  // readQuorum majority: read at once, on every other host, what one acknowledged.
  for (auto& w : nodes) {
    auto rid = create_doc(*w, R"("quorum_read":true)");
    for (auto& r : nodes) CHECK_MESSAGE(read_status(*r, rid) == 200, rid << " from " << w->name << " read on " << r->name);
  }

  write_load load(nodes, 6);  // writers 0 and 3 start on host1, 1 and 4 on host2, 2 and 5 on host3
  REQUIRE_MESSAGE(load.grow_by(300, 30s), "the load makes no progress");

  // Waits until `a` no longer lists `b`, for every pair given.
  auto wait_gone = [&](std::vector<std::pair<int, int>> pairs, const char* what) {
    REQUIRE_MESSAGE(eventually(
                        [&] {
                          for (auto& [a, b] : pairs)
                            if (!sees_gone(*nodes[static_cast<size_t>(a)], nodes[static_cast<size_t>(b)]->name)) return false;
                          return true;
                        },
                        20s),
                    what << ": the split was not noticed\n" << membership_story(nodes));
  };
  auto heal_and_converge = [&](const char* what) {
    lab.heal();
    REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 60s),
                    what << ": the cluster did not come back together\n" << membership_story(nodes));
    REQUIRE_MESSAGE(load.grow_by(300, 30s), what << ": no progress after the heal\n" << membership_story(nodes));
  };
  // A split of `alone` from the two others: the majority goes on, and no write
  // through the lone host is acknowledged while it is cut off.
  auto split = [&](int alone, const char* what) {
    std::vector<int> others;
    for (int i = 0; i < host_count; ++i)
      if (i != alone) others.push_back(i);
    for (int o : others) lab.cut(alone + 1, o + 1);
    wait_gone({{others[0], alone}, {others[1], alone}, {alone, others[0]}, {alone, others[1]}}, what);
    auto from = std::chrono::steady_clock::now();
    REQUIRE_MESSAGE(load.grow_by(300, 30s), what << ": the majority takes no writes\n" << membership_story(nodes));
    // The lone host's own writers (it is their first choice) keep trying it,
    // and it refuses them for certain ("not applied": visible nowhere, ever).
    REQUIRE_MESSAGE(eventually([&] { return refusals_via(load, alone, from) >= 5; }, 20s),
                    what << ": the lone host does not refuse writes as not applied\n" << membership_story(nodes));
    auto to = std::chrono::steady_clock::now();
    CHECK_MESSAGE(acks_via(load, alone, from, to) == 0,
                  what << ": " << nodes[static_cast<size_t>(alone)]->name << " acknowledged writes without a quorum");
    heal_and_converge(what);
  };

  split(2, "2+1 split, the owner (host1) on the majority side");
  auto took_over = [&] {
    size_t n = 0;
    for (auto& x : {nodes[1].get(), nodes[2].get()}) n += count_of(x->all_output(), "this node orders the writes now");
    return n;
  };
  auto before = took_over();
  split(0, "2+1 split, the owner (host1) alone");
  CHECK_MESSAGE(took_over() > before, "neither host2 nor host3 took over from the lone owner");

  // One-way loss: host2 no longer hears host1 (the leader and owner), host1
  // still hears host2. The cluster may reshape; it must not lose anything.
  // It lasts until host2 has given host1 up (beyond the heartbeat timeout), and
  // the load goes on meanwhile wherever a quorum is.
  lab.cut_one_way(1, 2);
  CHECK_MESSAGE(eventually([&] { return sees_gone(*nodes[1], nodes[0]->name); }, 20s),
                "host2 still lists host1, which it cannot hear\n" << membership_story(nodes));
  load.grow_by(300, 15s);
  heal_and_converge("one-way loss host1 -> host2");

  // A flapping link between host1 and host3: down and up every 0.4-2.0 s for 12 s.
  {
    std::mt19937 rng(1302);
    auto until = std::chrono::steady_clock::now() + 12s;
    bool down = false;
    while (std::chrono::steady_clock::now() < until) {
      if (down)
        lab.heal();
      else
        lab.cut(1, 3);
      down = !down;
      auto hold = std::chrono::milliseconds(400 + rng() % 1600);
      // Not a wait for a condition: the link's rhythm is the fault itself.
      std::this_thread::sleep_for(hold);
    }
  }
  heal_and_converge("a flapping link host1 - host3");

  load.stop();
  CHECK_MESSAGE(eventually(
                    [&] {
                      if (!all_online(nodes)) return false;
                      auto c0 = class_v_records(*nodes[0]);
                      return c0 >= 0 && class_v_records(*nodes[1]) == c0 && class_v_records(*nodes[2]) == c0;
                    },
                    20s),
                "the class V counts did not converge");
  auto v = stop_and_check(nodes, load, root.path(), "partitions");
  CHECK(v.lost == 0);
  CHECK(v.failed_visible == 0);
  CHECK(v.divergent == 0);
  CHECK(v.duplicated == 0);
  CHECK(v.acknowledged >= 1500);
  CHECK(v.failed > 0);  // the minority refused what it was sent
}

TEST_CASE("many hosts: with hotAlignment false, a host cut off alone does not shrink the partition to itself: it "
          "refuses its writers while the majority side goes on, and nothing acknowledged is lost") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(host_count);
  temp_dir root;
  auto nodes = make_cluster(root.path(), host_count, &lab, [](const fs::path& home) {
    replace_once(home / "config" / "default-distributed-db-config.json", R"("hotAlignment": true)", R"("hotAlignment": false)");
  });
  for (auto& n : nodes) start_node(*n, nodes);
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 90s), membership_story(nodes));
  write_load load(nodes, 6);
  REQUIRE_MESSAGE(load.grow_by(300, 30s), "the load makes no progress");

  // host3 alone: its own side's leader, which used to drop host1 and host2
  // from the partition, leaving a quorum of 1 there.
  const int alone = 2;
  lab.cut(3, 1);
  lab.cut(3, 2);
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        return sees_gone(*nodes[0], nodes[2]->name) && sees_gone(*nodes[1], nodes[2]->name) &&
                               sees_gone(*nodes[2], nodes[0]->name) && sees_gone(*nodes[2], nodes[1]->name);
                      },
                      20s),
                  "the split was not noticed\n" << membership_story(nodes));
  auto from = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(load.grow_by(300, 30s), "the majority takes no writes\n" << membership_story(nodes));
  REQUIRE_MESSAGE(eventually([&] { return refusals_via(load, alone, from) >= 5; }, 20s),
                  "the lone host does not refuse writes as not applied\n" << membership_story(nodes));
  CHECK_MESSAGE(nodes[2]->p->wait_for_output("keeping node 'host", 5s),
                "the lone host did not keep the lost servers in its partition");
  // The majority side drops host3 (2 of 3 behind it), as hotAlignment false asks.
  CHECK(nodes[0]->p->wait_for_output("removing node 'host3' in partition", 5s));
  auto to = std::chrono::steady_clock::now();
  CHECK_MESSAGE(acks_via(load, alone, from, to) == 0, "host3 acknowledged writes alone");

  lab.heal();
  REQUIRE_MESSAGE(eventually([&] { return all_online(nodes); }, 90s),
                  "the cluster did not come back together\n" << membership_story(nodes));
  REQUIRE_MESSAGE(load.grow_by(300, 30s), "no progress after the heal\n" << membership_story(nodes));
  load.stop();
  auto v = stop_and_check(nodes, load, root.path(), "hotAlignment false split");
  CHECK(v.lost == 0);
  CHECK(v.failed_visible == 0);
  CHECK(v.divergent == 0);
  CHECK(v.duplicated == 0);
  CHECK(v.failed > 0);
}

TEST_CASE("many hosts: with <symmetric-encryption enabled=\"true\"> a document never crosses the wire in the clear, "
          "and a host with another group password never joins") {
  SKIP_WITHOUT_NAMESPACES();
  netns_lab lab(host_count);
  temp_dir root;
  auto nodes = make_cluster(root.path(), host_count, &lab, [](const fs::path& home) {
    replace_once(home / "config" / "hazelcast.xml", "<join>", "<symmetric-encryption enabled=\"true\"/>\n        <join>");
  });
  // host3's copy has another group password: the guards refuse it.
  replace_once(nodes[2]->home / "config" / "hazelcast.xml", "<password>orientdb</password>",
               "<password>not-the-same</password>");
  start_node(*nodes[0], nodes);
  CHECK(nodes[0]->p->output().find("links encrypted") != std::string::npos);
  start_node(*nodes[1], nodes);
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        for (auto& n : nodes) n->drain();
                        return sees_all_online(*nodes[0], 2) && sees_all_online(*nodes[1], 2);
                      },
                      60s),
                  membership_story(nodes));
  netns_lab::capture tap(lab);
  std::string marker = "marker-7c1d2e-secret-payload";
  auto rid = create_doc(*nodes[0], cat(R"("text":")", marker, R"(")"));
  REQUIRE_MESSAGE(eventually([&] { return read_status(*nodes[1], rid) == 200; }, 10s), "not replicated to host2");
  CHECK(tap.packets() > 0);
  CHECK(tap.bytes().find(marker) == std::string::npos);
  CHECK(tap.bytes().find("GratefulDead") == std::string::npos);

  start_node(*nodes[2], nodes);
  CHECK_MESSAGE(nodes[2]->p->wait_for_output("refused: the member refused our proof", 20s), nodes[2]->p->output());
  CHECK(nodes[0]->p->wait_for_output("refused: wrong group name or password", 5s));
  CHECK(sees_all_online(*nodes[0], 2));
  CHECK(sees_all_online(*nodes[2], 1));
  for (auto& n : nodes) {
    n->p->signal(SIGTERM);
    CHECK_MESSAGE(n->p->wait_exit(30s) == 0, n->p->output());
  }
}
