// The console's rendering without a node: tables, pretty JSON, progress bars,
// members with heartbeat ages, deploys, replication.
#include <doctest/doctest.h>

#include "src/console/render.hpp"

using namespace troupe;
using namespace troupe::console;

namespace {

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

cluster_report two_members() {
  cluster_report r;
  r.local_name = "alpha";
  r.state.view.version = 4;
  r.state.view.members = {
      member_info{"alpha", "A#1", "127.0.0.1", 2434, "127.0.0.1", 2480, 0, "ONLINE", {"demo"}, {{"demo", "ONLINE"}}, {}, "", "127.0.0.1", 2424},
      member_info{"beta", "B#2", "127.0.0.1", 2435, "127.0.0.1", 2481, 1000, "ONLINE", {}, {{"demo", "SYNCHRONIZING"}}, {}, "", "127.0.0.1", 2425},
  };
  r.state.configs = {db_config_msg{"demo", R"({"autoDeploy":true,"clusters":{"*":{"partitioning":{"partitions":[["<NEW_NODE>","alpha","beta"]]}}}})", 3, ""}};
  r.partitions = {partition_entry{"demo", "*", 0, {"alpha", "beta"}, "alpha"}};
  r.cluster_actor.detail_json = R"({"heardMsAgo":{"beta":120}})";
  r.receiving = {"other"};
  return r;
}

}  // namespace

TEST_CASE("console render: a table pads columns, draws a rule, cuts long cells, and colours only when asked") {
  auto t = render_table({"A", "BB"}, {{"xxx", "y"}, {"z", std::string(200, 'q')}});
  CHECK(has(t, "A    BB\n"));
  CHECK(has(t, "xxx  y\n"));
  CHECK(has(t, "..."));
  CHECK_FALSE(has(t, "\x1b["));
  CHECK(has(render_table({"A"}, {}, style{true}), "\x1b[1mA\x1b[0m"));
}

TEST_CASE("console render: pretty JSON, progress bars and times") {
  CHECK(pretty_json(R"({"a":1,"b":{"c":[1,2]},"d":[]})") == "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": [1, 2]\n  },\n  \"d\": []\n}");
  CHECK(pretty_json("not json") == "not json");
  CHECK(progress_bar(0.5, 10) == "[#####.....]");
  CHECK(progress_bar(2.0, 4) == "[####]");
  CHECK(progress_bar(-1, 4) == "[....]");
  CHECK(format_time_ms(0) == "1970-01-01 00:00:00");
}

TEST_CASE("console render: members with addresses, databases and heartbeat ages; partitions; config") {
  auto r = two_members();
  auto m = render_members(r);
  CHECK(has(m, "alpha (*)"));
  CHECK(has(m, "cluster 127.0.0.1:2435, http 127.0.0.1:2481"));
  CHECK(has(m, "demo=ONLINE, other=SYNCHRONIZING"));  // this node: its own transfer under way
  CHECK(has(m, "1970-01-01 00:00:01  demo=SYNCHRONIZING"));  // beta: as the view reports it
  CHECK(has(m, "120 ms ago"));
  CHECK(has(m, "- (this node)"));
  CHECK(has(m, "2 member(s), view version 4"));
  auto p = render_partitions(r, "demo");
  REQUIRE(p.ok());
  CHECK(has(*p, "*        0          alpha, beta  alpha"));
  CHECK_FALSE(render_partitions(r, "nope").ok());
  auto c = render_config(r, "demo");
  REQUIRE(c.ok());
  CHECK(has(*c, "(version 3)"));
  CHECK(has(*c, "[\"<NEW_NODE>\", \"alpha\", \"beta\"]"));
  CHECK_FALSE(render_config(r, "nope").ok());
  CHECK(has(render_ha_status(r), "demo      3               alpha, beta  alpha"));
  CHECK(has(render_cluster_status(r), "\"localName\": \"alpha\""));
}

TEST_CASE("console render: a replica catching up is shown SYNCHRONIZING; only an ONLINE database can be") {
  auto r = two_members();
  r.state.view.members[1].db_status = {{"demo", "ONLINE"}, {"other", "SYNCHRONIZING"}};
  r.state.view.members[1].catching_up = {"demo"};
  CHECK(has(render_members(r), "demo=SYNCHRONIZING, other=SYNCHRONIZING"));
  auto& beta = r.state.view.members[1];
  CHECK(beta.shown_status("demo") == "SYNCHRONIZING");
  CHECK(beta.shown_status("other") == "SYNCHRONIZING");
  CHECK(beta.shown_status("absent") == "");
  beta.catching_up = {"other", "absent"};  // not ONLINE, or not held: nothing to catch up
  CHECK(beta.shown_status("demo") == "ONLINE");
  CHECK(beta.shown_status("absent") == "");
}

TEST_CASE("console render: deploys with a progress bar, rate and time left; replication with each node's lag") {
  CHECK(render_deploys({}) == "No deploys in flight.\n");
  deploy::progress p;
  p.db = "GratefulDeadConcerts";
  p.peer = "node2";
  p.outgoing = true;
  p.phase = "transfer";
  p.bytes_done = 50'000'000;
  p.bytes_total = 100'000'000;
  p.elapsed_ms = 1000;
  auto d = render_deploys({p});
  CHECK(has(d, "to node2"));
  CHECK(has(d, "[##########..........] 50%"));
  CHECK(has(d, "50.0 MB/s"));
  CHECK(has(d, "1s"));
  auto rep = render_replication("demo", {replication_row{"a", "ONLINE", true, 12, 40}, replication_row{"c", "ONLINE", true, 9, 37},
                                         replication_row{"b", "UNREACHABLE: x", false, 0, 0}});
  CHECK(has(rep, "NODE  STATUS          LAST LSN            SEQ  LAG\n"));
  CHECK(has(rep, "a     ONLINE          12                  40   0\n"));
  CHECK(has(rep, "c     ONLINE          9                   37   3\n"));  // 3 writes behind a
  CHECK(has(rep, "b     UNREACHABLE: x  (no such database)  -    -\n"));
}
