// src/cluster/membership: the rules of the cluster's membership, one at a time
// (the seeded simulation beside this file runs them all together).
#include <doctest/doctest.h>

#include <algorithm>
#include <random>

#include "src/cluster/membership.hpp"
#include "src/util/strings.hpp"

using namespace troupe;

namespace {

constexpr int64_t timeout = 1000;

member_info node(const std::string& name, int64_t started, int incarnation = 1) {
  member_info m;
  m.name = name;
  m.node_id = cat(name, "#", incarnation);
  m.key = cat("key-", name);
  m.started_on_ms = started;
  m.status = node_online;
  return m;
}

// `names` in join order, the first the oldest; this node is `self`.
membership cluster_of(const std::vector<std::string>& names, const std::string& self) {
  membership m;
  m.timeout_ms = timeout;
  int64_t t = 100;
  for (auto& n : names) m.view.members.push_back(node(n, t++));
  m.view.version = 5;
  m.me = *m.view.find(self);
  for (auto& n : names) m.heard_ms[n] = 0;
  return m;
}

db_config cold_config(const std::vector<std::string>& servers) {
  std::string list;
  for (auto& s : servers) list += cat(list.empty() ? "" : ",", "\"", s, "\"");
  auto c = parse_db_config(cat(R"({"hotAlignment": false, "clusters": {"*": {"writeQuorum": "majority",
      "partitioning": {"partitions": [[)", list, "]]}}}}"), "t");
  REQUIRE(c.ok());
  return *c;
}

std::vector<std::string> servers(const membership& m, const std::string& db) {
  return m.configs.at(db).effective("*").partitioning->partitions.at(0);
}

}  // namespace

TEST_CASE("membership: admitting a joiner, and the names it may not take") {
  auto m = cluster_of({"a", "b"}, "a");
  membership_effects fx;
  SUBCASE("a new node") {
    CHECK_FALSE(m.admit(node("c", 300), {}, 10, fx));
    CHECK(m.view.find("c"));
    CHECK(m.view.version == 6);
    CHECK(fx.broadcast);
    CHECK(fx.broadcast_except == "c");
  }
  SUBCASE("the same incarnation again: nothing changes") {
    CHECK_FALSE(m.admit(node("b", 101), {}, 10, fx));
    CHECK(m.view.version == 5);
    CHECK_FALSE(fx.broadcast);
  }
  SUBCASE("a member's name under another key") {
    auto x = node("b", 400, 2);
    x.key = "another";
    auto why = m.admit(x, {}, 10, fx);
    REQUIRE(why);
    CHECK(why->find("another node key") != std::string::npos);
    CHECK(m.view.find("b")->node_id == "b#1");
  }
  SUBCASE("a live member's name") {
    m.heard_ms["b"] = 500;
    auto why = m.admit(node("b", 400, 2), {}, 1000, fx);
    REQUIRE(why);
    CHECK(why->find("live member") != std::string::npos);
  }
  SUBCASE("a new incarnation of a member that died unnoticed replaces it") {
    m.heard_ms["b"] = 0;
    CHECK_FALSE(m.admit(node("b", 400, 2), {}, 5000, fx));
    CHECK(m.view.find("b")->node_id == "b#2");
    CHECK(std::count(fx.dropped.begin(), fx.dropped.end(), "b") == 1);
  }
}

TEST_CASE("membership: a lost member is removed by the leader, reported by the others") {
  SUBCASE("the leader") {
    auto m = cluster_of({"a", "b", "c"}, "a");
    membership_effects fx;
    m.tick(timeout + 1, fx);  // b and c silent since 0
    CHECK(m.view.members.size() == 1);
    CHECK(fx.broadcast);
  }
  SUBCASE("not the leader: it reports to the leader") {
    auto m = cluster_of({"a", "b", "c"}, "b");
    m.heard_ms["a"] = timeout;  // a is fine
    membership_effects fx;
    m.tick(timeout + 1, fx);  // c silent
    CHECK(m.suspected.count("c"));
    CHECK(m.view.find("c"));  // only the leader removes
    REQUIRE(fx.reports.size() == 1);
    CHECK(fx.reports[0] == std::pair<std::string, std::string>{"a", "c"});
    // c is heard again: no longer suspected
    membership_effects fx2;
    m.heard("c", 5, timeout + 2, fx2);
    CHECK_FALSE(m.suspected.count("c"));
    CHECK(fx2.roles_changed);
  }
  SUBCASE("the leader lost: the next oldest leads at once and removes it") {
    auto m = cluster_of({"a", "b", "c"}, "b");
    m.heard_ms["c"] = timeout;
    membership_effects fx;
    m.tick(timeout + 1, fx);
    CHECK(m.leads());
    CHECK_FALSE(m.view.find("a"));
  }
  SUBCASE("a report the leader can contradict is ignored") {
    auto m = cluster_of({"a", "b", "c"}, "a");
    m.heard_ms["c"] = 900;
    membership_effects fx;
    m.reported("c", 1000, fx);  // heard 100 ms ago: under half the timeout
    CHECK(m.view.find("c"));
    m.reported("c", 1500, fx);  // 600 ms: the report stands
    CHECK_FALSE(m.view.find("c"));
  }
}

TEST_CASE("membership: hotAlignment=false shrinks a partition only once a majority of its servers agree") {
  auto m = cluster_of({"a", "b", "c"}, "a");
  m.configs["demo"] = cold_config({"a", "b", "c"});
  auto v = m.configs["demo"].version;
  SUBCASE("the majority side: proposed, then committed when b agrees") {
    m.heard_ms["b"] = timeout;
    membership_effects fx;
    m.tick(timeout + 1, fx);  // c lost
    CHECK_FALSE(m.view.find("c"));
    CHECK(servers(m, "demo").size() == 3);  // not yet: only a agrees
    REQUIRE(m.state().proposals.size() == 1);
    CHECK(m.state().proposals[0].changed_by == "c");
    CHECK(m.state().proposals[0].version == v);
    membership_effects fx2;
    m.agreed("x", "demo", v, fx2);      // not a server
    m.agreed("b", "demo", v - 1, fx2);  // another version
    CHECK(servers(m, "demo").size() == 3);
    m.agreed("b", "demo", v, fx2);
    CHECK(servers(m, "demo") == std::vector<std::string>{"a", "b"});
    CHECK(m.configs["demo"].version == v + 1);
    CHECK(fx2.configs_changed.count("demo"));
    CHECK(m.state().proposals.empty());
  }
  SUBCASE("a minority leader proposes, and nobody can agree") {
    membership_effects fx;
    m.tick(timeout + 1, fx);  // b and c lost together
    CHECK(m.view.members.size() == 1);
    CHECK(servers(m, "demo") == std::vector<std::string>{"a", "b", "c"});
    bool kept = false;
    for (auto& n : fx.notes) kept = kept || n.text.find("keeping node 'b' in partition: demo.*.0") != std::string::npos;
    CHECK(kept);
  }
  SUBCASE("a clean leaver agrees to go") {
    membership_effects fx;
    CHECK(m.leaves("c", fx));
    CHECK(servers(m, "demo") == std::vector<std::string>{"a", "b"});
  }
  SUBCASE("a member agrees to its leader's proposal when it holds the same version") {
    auto b = cluster_of({"a", "b", "c"}, "b");
    b.configs["demo"] = cold_config({"a", "b", "c"});
    membership_effects fx;
    m.tick(timeout + 1, fx);  // a (leader) lost b and c: proposes removing b
    b.view = m.view;          // pretend b adopts a's view (it is not in it, but holds the configuration)
    b.view.members.push_back(*cluster_of({"a", "b", "c"}, "b").view.find("b"));
    b.view.version = 1000;
    membership_effects fx2;
    b.adopt(m.state(), false, 5, fx2);
    REQUIRE(fx2.agrees.size() == 1);
    CHECK(fx2.agrees[0].leader == "a");
    CHECK(fx2.agrees[0].db == "demo");
    CHECK(fx2.agrees[0].version == v);
  }
}

TEST_CASE("membership: adopting the leader's view") {
  auto m = cluster_of({"a", "b", "c"}, "c");
  auto leader = cluster_of({"a", "b", "c"}, "a");
  SUBCASE("an older view is ignored") {
    leader.view.version = 4;
    membership_effects fx;
    m.adopt(leader.state(), false, 10, fx);
    CHECK(m.view.version == 5);
  }
  SUBCASE("a member restarted under the same name: the old incarnation is dropped") {
    leader.view.version = 6;
    *leader.view.find("b") = node("b", 900, 2);
    m.suspected.insert("b");
    membership_effects fx;
    m.adopt(leader.state(), false, 10, fx);
    CHECK(m.view.find("b")->node_id == "b#2");
    CHECK_FALSE(m.suspected.count("b"));
    CHECK(std::count(fx.dropped.begin(), fx.dropped.end(), "b") == 1);
  }
  SUBCASE("configurations: newer versions only, unless joining") {
    m.configs["demo"] = cold_config({"a", "b", "c"});
    m.configs["demo"].version = 7;
    leader.configs["demo"] = cold_config({"a", "b"});
    leader.configs["demo"].version = 3;
    membership_effects fx;
    m.adopt(leader.state(), false, 10, fx);
    CHECK(servers(m, "demo").size() == 3);
    m.adopt(leader.state(), true, 10, fx);  // the answer to our join: the leader's word is final
    CHECK(servers(m, "demo").size() == 2);
    CHECK(m.configs["demo"].version == 3);
  }
  SUBCASE("a bad database name from the network is ignored") {
    leader.configs["../etc"] = cold_config({"a"});
    membership_effects fx;
    m.adopt(leader.state(), true, 10, fx);
    CHECK_FALSE(m.configs.count("../etc"));
  }
}

TEST_CASE("membership: which side joins") {
  membership alone;
  alone.me = node("x", 500);
  alone.view.members = {alone.me};
  struct row {
    size_t members;
    int64_t leader_started;
    const char* leader;
    bool joins;
  } rows[] = {{2, 900, "z", true}, {1, 400, "y", true}, {1, 600, "y", false}, {1, 500, "w", true}, {1, 500, "z", false}};
  for (auto& r : rows) {
    CAPTURE(r.leader);
    CHECK(alone.joins(r.members, r.leader_started, r.leader) == r.joins);
  }
  auto pair = cluster_of({"a", "b"}, "a");
  CHECK(pair.joins(5, 900, "z"));       // a leader merges its smaller cluster into a larger one
  CHECK(pair.joins(2, 50, "a0"));       // or into one as large with an older leader
  CHECK_FALSE(pair.joins(2, 900, "z"));  // not into a younger one
  CHECK_FALSE(pair.joins(5, 100, "a"));  // nor into itself
  auto member = cluster_of({"a", "b"}, "b");
  CHECK_FALSE(member.joins(5, 900, "z"));  // a member that does not lead never decides
  membership_effects fx;
  pair.dissolve(fx);
  CHECK(pair.view.members.size() == 1);
  CHECK(fx.dissolve == std::vector<std::string>{"b"});
  membership_effects fx2;
  member.dissolved_by("x", fx2);  // not its leader
  CHECK(member.view.members.size() == 2);
  member.dissolved_by("a", fx2);
  CHECK(member.view.members.size() == 1);
}

TEST_CASE("membership: this node's own databases go into the view, by the leader or through it") {
  struct row {
    const char* self;  // "a" leads {a, b}
    bool broadcast, tell_leader;
  };
  for (auto r : {row{"a", true, false}, row{"b", false, true}}) {
    CAPTURE(r.self);
    auto m = cluster_of({"a", "b"}, r.self);
    auto v = m.view.version;
    membership_effects fx;
    auto defaults = cold_config({"<NEW_NODE>"});
    m.add_database("demo", defaults, fx);
    CHECK(fx.broadcast == r.broadcast);
    CHECK(fx.tell_leader_me == r.tell_leader);
    CHECK(fx.roles_changed);
    CHECK(fx.configs_changed.count("demo"));
    // The defaults; only the leader changes them (it proposes this node as a server at once).
    CHECK(m.configs.at("demo").hot_alignment == false);
    if (!r.broadcast) CHECK(m.configs.at("demo").version == 0);
    CHECK(m.me.db_status.at("demo") == db_online);
    CHECK(m.view.find(r.self)->db_status.at("demo") == db_online);
    if (r.broadcast) CHECK(m.view.version > v);  // only the leader changes the view's version
    else CHECK(m.view.version == v);

    // Statuses: a change is told, the same one again is not.
    membership_effects s1, s2, s3;
    CHECK(m.set_db_status("demo", std::string(db_synchronizing), s1));
    CHECK(m.view.find(r.self)->db_status.at("demo") == db_synchronizing);
    CHECK_FALSE(m.set_db_status("demo", std::string(db_synchronizing), s2));
    CHECK_FALSE(s2.broadcast);
    CHECK_FALSE(s2.tell_leader_me);
    CHECK(m.set_db_status("demo", std::nullopt, s3));
    CHECK_FALSE(m.view.find(r.self)->db_status.count("demo"));
    membership_effects s4;
    CHECK_FALSE(m.set_db_status("demo", std::nullopt, s4));

    // Catching up: on once, off once.
    membership_effects c1, c2, c3;
    CHECK(m.set_catching_up("demo", true, c1));
    CHECK_FALSE(m.set_catching_up("demo", true, c2));
    CHECK(m.view.find(r.self)->catching_up == std::vector<std::string>{"demo"});
    CHECK(m.set_catching_up("demo", false, c3));
    CHECK(m.view.find(r.self)->catching_up.empty());
  }
}

TEST_CASE("membership: a database added keeps the cluster's configuration when there is one") {
  auto m = cluster_of({"a", "b"}, "b");
  m.configs["demo"] = cold_config({"a", "b"});
  m.configs["demo"].version = 7;
  membership_effects fx;
  m.add_database("demo", cold_config({"<NEW_NODE>"}), fx);
  CHECK(m.configs.at("demo").version == 7);
  CHECK(servers(m, "demo") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("membership: loading the configurations held at start") {
  auto m = cluster_of({"a"}, "a");
  membership_effects fx;
  std::vector<db_config_msg> held{
      {"demo", R"({"hotAlignment": true, "clusters": {"*": {"partitioning": {"partitions": [["<NEW_NODE>"]]}}}})", 3, ""},
      {"bad", "{not json", 1, ""},
  };
  m.load(held, fx);
  REQUIRE(m.configs.count("demo"));
  CHECK_FALSE(m.configs.count("bad"));  // left out, and said so
  bool said = false;
  for (auto& n : fx.notes) said = said || (n.lvl == membership_note::level::error && n.text.find("bad") != std::string::npos);
  CHECK(said);
  // <NEW_NODE> takes this node (hotAlignment true: at once), and every configuration is stored.
  CHECK(servers(m, "demo") == std::vector<std::string>{"<NEW_NODE>", "a"});
  CHECK(m.configs.at("demo").version == 4);
  CHECK(fx.configs_changed.count("demo"));
}

TEST_CASE("membership: a node that was paused suspects no one on its first late tick") {
  auto m = cluster_of({"a", "b", "c"}, "a");  // heard at 0, timeout 1000
  m.tick_every_ms = 100;
  CHECK(m.paused_tick_ms() == 500);  // max(2 ticks, half the timeout)
  membership_effects f0;
  m.tick(100, f0);
  m.heard("b", m.view.version, 100, f0);
  // The timer comes 3 s late: the node itself was stopped. Its mailbox may
  // hold b's heartbeats behind the tick: no one is suspected yet.
  membership_effects f1;
  m.tick(3100, f1);
  CHECK(m.suspected.empty());
  bool said = false;
  for (auto& n : f1.notes) said = said || n.text.find("this node was paused for 3000 ms") != std::string::npos;
  CHECK(said);
  // b's heartbeat was waiting; c's was not: the next tick suspects c only.
  m.heard("b", m.view.version, 3101, f1);
  membership_effects f2;
  m.tick(3200, f2);
  CHECK(m.suspected.count("c") + (m.view.find("c") == nullptr ? 1 : 0) == 1);  // suspected (or removed: a leads)
  CHECK_FALSE(m.suspected.count("b"));
  CHECK(m.view.find("b"));
}

TEST_CASE("membership: late ticks in a row still suspect the dead (an overloaded node is not a paused one)") {
  auto m = cluster_of({"a", "b"}, "b");
  m.tick_every_ms = 100;
  membership_effects f;
  m.tick(100, f);
  m.tick(2000, f);  // late: skipped
  CHECK(m.suspected.empty());
  m.tick(3000, f);  // late again: not skipped
  CHECK((m.suspected.count("a") || !m.view.find("a")));  // suspected (b leads then, and removes it)
}

TEST_CASE("membership: on time, a silent member is suspected with how long it was silent") {
  auto m = cluster_of({"a", "b"}, "b");
  m.tick_every_ms = 500;
  membership_effects f;
  for (int64_t t = 500; t <= 1500; t += 500) m.tick(t, f);
  CHECK((m.suspected.count("a") || !m.view.find("a")));
  bool said = false;
  for (auto& n : f.notes)
    said = said || n.text == "no heartbeat from node 'a' for more than 1000 ms (last heard 1500 ms ago)";
  CHECK(said);
}

TEST_CASE("membership: start alone, and the inspection report") {
  membership m;
  m.timeout_ms = timeout;
  auto me = node("a", 100);
  me.status = node_starting;
  me.databases = {"demo"};
  membership_effects fx;
  m.start(me, {{"demo", R"({"clusters": {"*": {"partitioning": {"partitions": [["<NEW_NODE>"]]}}}})", 3, ""}}, fx);
  CHECK(m.me.status == node_online);
  CHECK(m.me.db_status.at("demo") == db_online);
  REQUIRE(m.view.members.size() == 1);
  CHECK(m.view.members[0].db_status.at("demo") == db_online);
  CHECK(m.view.version == 2);  // 1 for the view of itself, 1 for taking <NEW_NODE>
  CHECK(m.leads());
  CHECK(fx.view_changed);
  CHECK(fx.configs_changed.count("demo"));
  auto held = servers(m, "demo");
  CHECK(std::find(held.begin(), held.end(), "a") != held.end());  // <NEW_NODE> took this node

  auto c = cluster_of({"a", "b", "c"}, "b");
  c.heard_ms["a"] = 900;
  c.suspected.insert("c");
  auto [summary, detail] = c.report(1000, {"a"}, R"("demo":{"lastLsn":7})");
  CHECK(summary == "view v5, 3 member(s), leader a, 1 connected, 1 suspected");
  CHECK(detail.find(R"("leader":"a")") != std::string::npos);
  CHECK(detail.find(R"("connected":["a"])") != std::string::npos);
  CHECK(detail.find(R"("suspected":["c"])") != std::string::npos);
  CHECK(detail.find(R"("heardMsAgo":{"a":100,"b":1000,"c":1000})") != std::string::npos);
  CHECK(detail.find(R"("databases":{"demo":{"lastLsn":7}})") != std::string::npos);
}

TEST_CASE("membership: whether a new connection is to a leader that has not heard our databases") {
  auto m = cluster_of({"a", "b", "c"}, "b");
  CHECK_FALSE(m.leader_behind_me("a"));  // its view has our entry as we know it
  m.me.databases = {"demo"};
  m.me.db_status["demo"] = db_synchronizing;
  CHECK(m.leader_behind_me("a"));
  CHECK_FALSE(m.leader_behind_me("c"));  // not the leader
  m.suspected.insert("a");               // then b leads itself: nobody to tell
  CHECK_FALSE(m.leader_behind_me("a"));
  CHECK_FALSE(m.leader_behind_me("b"));
  auto keys = m.member_keys();
  CHECK(keys.size() == 3);
  CHECK(keys.at("a#1") == "key-a");
}

namespace {

db_config hot_config() {
  auto c = parse_db_config(R"({"clusters": {"*": {"writeQuorum": "majority",
      "partitioning": {"partitions": [["<NEW_NODE>"]]}}}})", "t");
  REQUIRE(c.ok());
  return *c;
}

bool has(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

TEST_CASE("membership: a database created at runtime is decided once by the leader, for every member") {
  auto a = cluster_of({"a", "b", "c"}, "a");
  membership_effects fx;
  REQUIRE_FALSE(a.create_database("db1", "b", hot_config(), fx));
  auto& s = a.configs.at("db1").effective("*").partitioning->partitions.at(0);
  auto first = std::find_if(s.begin(), s.end(), [](auto& n) { return n != new_node_tag; });
  CHECK(*first == "b");  // the requester holds the data: the first server (its owner)
  CHECK(has(s, "a"));
  CHECK(has(s, "c"));
  CHECK(has(s, new_node_tag));  // later members join it too
  CHECK(a.configs.at("db1").version == 1);
  CHECK(fx.broadcast);
  CHECK(fx.configs_changed.count("db1"));
  CHECK(a.view.version == 6);

  SUBCASE("the second ask for the name is refused: concurrent creates end with one database") {
    membership_effects fx2;
    auto why = a.create_database("db1", "c", hot_config(), fx2);
    REQUIRE(why);
    CHECK(*why == "Database 'db1' already exists");
    CHECK(a.configs.at("db1").effective("*").partitioning->partitions.at(0).at(1) == "b");
    CHECK_FALSE(fx2.broadcast);
  }
  SUBCASE("members adopt it; a non-leader cannot decide") {
    auto b = cluster_of({"a", "b", "c"}, "b");
    membership_effects fb;
    CHECK(b.create_database("db2", "b", hot_config(), fb) == std::optional<std::string>("this node does not lead the cluster"));
    b.adopt(a.state(), false, 10, fb);
    CHECK(b.configs.count("db1"));
    CHECK(fb.configs_changed.count("db1"));
  }
  SUBCASE("bad names and strangers are refused") {
    membership_effects f;
    CHECK(a.create_database("../x", "a", hot_config(), f));
    CHECK(a.create_database("ok", "stranger", hot_config(), f));
  }
}

TEST_CASE("membership: a dropped database goes everywhere, stays dropped, and its name is free again") {
  auto a = cluster_of({"a", "b", "c"}, "a");
  auto b = cluster_of({"a", "b", "c"}, "b");
  membership_effects fx;
  REQUIRE_FALSE(a.create_database("db1", "a", hot_config(), fx));
  a.add_database("db1", hot_config(), fx);  // a holds it
  b.adopt(a.state(), false, 10, fx);
  b.add_database("db1", hot_config(), fx);  // b received it
  int64_t version = a.configs.at("db1").version;
  auto held = to_json(a.configs.at("db1"));  // as every server stored it (it lists a, b and c)

  membership_effects fd;
  REQUIRE_FALSE(a.drop_database("db1", fd));
  CHECK_FALSE(a.configs.count("db1"));
  CHECK(a.dropped.at("db1") == version);
  CHECK(has(fd.drop_local, "db1"));
  CHECK(fd.dropped_changed);
  CHECK_FALSE(has(a.me.databases, "db1"));
  CHECK_FALSE(has(a.view.find("b")->databases, "db1"));

  membership_effects fb;
  b.adopt(a.state(), false, 20, fb);
  CHECK_FALSE(b.configs.count("db1"));
  CHECK(has(fb.drop_local, "db1"));
  CHECK_FALSE(has(b.me.databases, "db1"));
  CHECK(fb.tell_leader_me);

  SUBCASE("a drop of an unknown name is refused") {
    membership_effects f;
    CHECK(*a.drop_database("db1", f) == "Database 'db1' not found");
  }
  SUBCASE("a member that was down during the drop comes back: its copy is not readmitted, and it deletes it") {
    auto c = cluster_of({"c"}, "c");
    membership_effects fc;
    c.start(node("c", 102, 2), {db_config_msg{"db1", held, version, ""}}, fc);
    c.me.databases = {"db1"};
    auto joiner = c.me;
    membership_effects fa;
    REQUIRE_FALSE(a.admit(joiner, c.config_msgs(), 5000, fa));
    CHECK_FALSE(a.configs.count("db1"));  // not taken back from the joiner
    CHECK_FALSE(has(a.view.find("c")->databases, "db1"));
    membership_effects fj;
    c.adopt(a.state(), true, 40, fj);
    CHECK(has(fj.drop_local, "db1"));
    CHECK_FALSE(c.configs.count("db1"));
    // a deploy that ends after the drop does not bring it back
    membership_effects fl;
    c.add_database("db1", hot_config(), fl);
    CHECK(has(fl.drop_local, "db1"));
    CHECK_FALSE(c.configs.count("db1"));
    CHECK_FALSE(has(c.me.databases, "db1"));
  }
  SUBCASE("the name is free again, above its tombstone; an old copy is still deleted") {
    membership_effects f;
    REQUIRE_FALSE(a.create_database("db1", "b", hot_config(), f));
    CHECK(a.configs.at("db1").version == version + 1);
    auto c = cluster_of({"c"}, "c");
    membership_effects fc;
    c.start(node("c", 102, 2), {db_config_msg{"db1", held, version, ""}}, fc);
    membership_effects fj;
    c.adopt(a.state(), true, 40, fj);
    CHECK(has(fj.drop_local, "db1"));  // its copy is the old life of the name
    CHECK(c.configs.at("db1").version == version + 1);  // and it takes the new configuration
  }
  SUBCASE("tombstones outlive a restart: read at start, a held copy is deleted") {
    auto c = cluster_of({"c"}, "c");
    membership_effects fc;
    c.start(node("c", 102, 2), {db_config_msg{"db1", held, version, ""}}, fc, a.dropped_msgs());
    CHECK(has(fc.drop_local, "db1"));
    CHECK_FALSE(c.configs.count("db1"));
  }
}

TEST_CASE("membership: a drop is refused while a member receives the database") {
  auto a = cluster_of({"a", "b"}, "a");
  membership_effects fx;
  REQUIRE_FALSE(a.create_database("db1", "a", hot_config(), fx));
  a.view.find("b")->db_status["db1"] = db_synchronizing;
  auto why = a.drop_database("db1", fx);
  REQUIRE(why);
  CHECK(why->find("is in use") != std::string::npos);
  CHECK(a.configs.count("db1"));
}

TEST_CASE("membership: tombstones from the network are checked where they enter") {
  auto b = cluster_of({"a", "b"}, "b");
  membership_effects fx;
  cluster_state s = b.state();
  s.view.version = 99;
  s.dropped = {db_config_msg{"../etc", "", 5, ""}, db_config_msg{"ok", "", -1, ""}};
  b.adopt(s, false, 10, fx);
  CHECK(b.dropped.empty());
}

TEST_CASE("membership: with the tombstones full, a drop still takes effect and the lowest version goes") {
  auto a = cluster_of({"a"}, "a");
  for (size_t i = 0; i < membership::dropped_max; ++i) a.dropped[cat("old", i)] = static_cast<int64_t>(100 + i);
  a.dropped["old7"] = 1;  // the lowest
  membership_effects fx;
  REQUIRE_FALSE(a.create_database("db1", "a", hot_config(), fx));
  REQUIRE_FALSE(a.drop_database("db1", fx));
  CHECK_FALSE(a.configs.count("db1"));
  CHECK(a.dropped.count("db1"));
  CHECK_FALSE(a.dropped.count("old7"));
  CHECK(a.dropped.size() == membership::dropped_max);
}

TEST_CASE("membership: the tombstones' file round-trips; bad files are refused with what is wrong (table, fuzz)") {
  std::map<std::string, int64_t> t{{"a", 3}, {"shop", 0}, {"x-y_z", 123456789012}};
  auto back = parse_tombstones(tombstones_json(t));
  REQUIRE(back.ok());
  std::map<std::string, int64_t> again;
  for (auto& m : *back) again[m.db] = m.version;
  CHECK(again == t);
  CHECK(parse_tombstones("{}").ok());
  struct bad_row {
    const char* text;
    const char* says;
  } rows[] = {
      {"", "not JSON"},
      {"{", "not JSON"},
      {"[]", "JSON object"},
      {"\"a\"", "JSON object"},
      {R"({"../etc": 1})", "not a database name"},
      {R"({"": 1})", "not a database name"},
      {R"({"a": -1})", "whole number >= 0"},
      {R"({"a": 1.5})", "whole number >= 0"},
      {R"({"a": "1"})", "whole number >= 0"},
      {R"({"a": null})", "whole number >= 0"},
  };
  for (auto& r : rows) {
    CAPTURE(r.text);
    auto p = parse_tombstones(r.text);
    REQUIRE_FALSE(p.ok());
    CHECK(p.error().what.find(r.says) != std::string::npos);
  }
  std::string big = "{";
  for (size_t i = 0; i <= membership::dropped_max; ++i) big += cat(i ? "," : "", "\"d", i, "\":1");
  CHECK_FALSE(parse_tombstones(big + "}").ok());
  // Seeded fuzz: mutated files parse or are refused, never crash, and what
  // parses holds only valid names and versions.
  std::mt19937 rng(20261208);
  auto base = tombstones_json(t);
  for (int i = 0; i < 3000; ++i) {
    auto s = base;
    for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n; ++k) {
      auto at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = static_cast<char>(rng() % 256); break;
        case 1: s.erase(at, 1); break;
        default: s.insert(at, 1, "{}[]\":,-0123456789az./"[rng() % 22]); break;
      }
    }
    auto p = parse_tombstones(s);
    if (!p.ok()) continue;
    for (auto& m : *p) {
      CHECK(valid_database_name(m.db));
      CHECK(m.version >= 0);
    }
  }
}
