// Deploy faults in one process, over CAF's real middleman on loopback: a sender
// lost mid-transfer, a joiner killed mid-transfer and restarted, a full disk,
// and writes that go on while the database travels. A test seam slows the
// sender (a pause before each chunk) so that the test can act while chunks are
// in flight; every wait is for a condition, bounded.
#include <doctest/doctest.h>

#include "test/actors/test_cluster.hpp"
#include "test/http/test_client.hpp"
#include "test/support/base64.hpp"
#include "test/support/documents.hpp"

using namespace troupe;
using namespace troupe::test;

namespace {

// About `n` KiB of documents in the home's database `demo`, written before the
// node starts (so the database is several 1 MiB chunks).
void fill(test_node& t, int n) { fill_documents(t.home / "databases" / "demo", n, 42); }

bool receiving_midway(test_node& t) { return test::receiving_midway(*t.n); }

// The status `viewer` sees for `db` on member `member` ("" if none).
std::string db_status_in_view(test_node& viewer, const std::string& member, const std::string& db) {
  auto s = viewer.n->cluster(2s);
  if (!s) return "";
  auto* m = s->view.find(member);
  if (m == nullptr) return "";
  auto i = m->db_status.find(db);
  return i == m->db_status.end() ? "" : i->second;
}

size_t records(const std::string& content) {
  size_t n = 0;
  for (auto p = content.find("\"n\":"); p != std::string::npos; p = content.find("\"n\":", p + 1)) ++n;
  return n;
}

// Every record of every cluster, as text (the nodes must be stopped).
std::string content(const fs::path& dir) {
  auto db = storage::database::open(dir, {false, true});
  REQUIRE(db.ok());
  std::string out;
  for (auto& c : (*db)->clusters()) {
    out += c.name + ":" + std::to_string(c.records) + "\n";
    for (auto& r : (*db)->browse_cluster(c.id, 1'000'000)) out += r.to_json() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("deploy: the sender is lost mid-transfer; the joiner discards what it has and gets it from another member") {
  test_cluster c(28234);
  auto& a = c.add("s1");
  fill(a, 3000);
  auto& b = c.add("s2", false);
  auto& j = c.add("j", false);
  c.chunk_delay_next = 150ms;  // s1 sends slowly
  c.start(a);
  c.start(b);
  REQUIRE(eventually([&] { return b.logged("database demo is online"); }, 30s));
  REQUIRE(eventually([&] { return db_status_in_view(a, "s2", "demo") == "ONLINE"; }));
  c.start(j);
  // j asks the first member holding the database, s1: the slow one.
  REQUIRE(eventually([&] { return receiving_midway(j); }, 20s));
  CHECK(j.logged("WARN [j]<-[s1] installing database demo in databases/demo..."));
  // Meanwhile the cluster sees j's copy as SYNCHRONIZING, not ONLINE.
  REQUIRE(eventually([&] { return db_status_in_view(b, "j", "demo") == "SYNCHRONIZING"; }));
  a.n->kill();
  REQUIRE(eventually([&] { return j.logged("database demo is online"); }, 30s));
  CHECK(j.logged("deploy of database demo failed: node 's1' was lost during the transfer; trying again in "));
  CHECK(j.logged("WARN [j]<-[s2] installing database demo in databases/demo..."));
  REQUIRE(eventually([&] { return db_status_in_view(b, "j", "demo") == "ONLINE"; }));
  CHECK_FALSE(fs::exists(j.home / "databases" / "demo.installing"));
  b.n->stop();
  j.n->stop();
  auto want = content(b.home / "databases" / "demo");
  CHECK(records(want) == 3000);
  CHECK(content(j.home / "databases" / "demo") == want);
}

TEST_CASE("deploy: a joiner killed mid-transfer starts a clean deploy on its next start") {
  test_cluster c(28334);
  auto& a = c.add("s1");
  fill(a, 3000);
  auto& j = c.add("j", false);
  c.chunk_delay_next = 150ms;
  c.start(a);
  c.start(j);
  REQUIRE(eventually([&] { return receiving_midway(j); }, 20s));
  j.n->kill();
  j.n.reset();
  // Never half-installed under the database's own name.
  CHECK_FALSE(fs::exists(j.home / "databases" / "demo"));
  // s1 notices at once (it watches the receiver), not after a chunk timeout.
  REQUIRE(eventually([&] { return a.logged("deploy of database demo failed: the receiver on node 'j' is gone"); }, 10s));
  // The same home again, as after a crash (a stale .installing folder, if any, is replaced).
  c.start(j);
  REQUIRE(eventually([&] { return j.logged("database demo is online"); }, 30s));
  CHECK_FALSE(fs::exists(j.home / "databases" / "demo.installing"));
  a.n->stop();
  j.n->stop();
  CHECK(content(j.home / "databases" / "demo") == content(a.home / "databases" / "demo"));
}

TEST_CASE("deploy: a full disk is reported as such, the joiner stays out, and retries back off") {
  test_cluster c(28434);
  auto& a = c.add("s1");
  fill(a, 1000);
  auto& j = c.add("j", false);
  c.start(a);
  c.disk_limit_next = 20'000;  // j's disk "fills" after 20 kB
  c.start(j);
  REQUIRE(eventually([&] { return j.logged("trying again in 2s"); }, 20s));  // the second failure waits longer
  CHECK(j.logged("ERROR [j]<-[s1] cannot install database demo: "));
  CHECK(j.logged("the disk is full"));
  CHECK(j.logged("deploy of database demo failed: "));
  CHECK(a.logged("deploy of database demo failed: "));
  CHECK_FALSE(j.logged("database demo is online"));
  CHECK_FALSE(fs::exists(j.home / "databases" / "demo"));
  // Out of the quorum: the cluster does not see j holding the database.
  auto s = a.n->cluster(2s);
  REQUIRE(s.ok());
  auto* m = s->view.find("j");
  REQUIRE(m != nullptr);
  CHECK(std::count(m->databases.begin(), m->databases.end(), "demo") == 0);
  CHECK(db_status_in_view(a, "j", "demo") != "ONLINE");
}

TEST_CASE("deploy: writes acknowledged while the database travels reach the new node") {
  test_cluster c(28534);
  // With writeQuorum 1 the owner s1 takes writes alone while j is
  // SYNCHRONIZING (with the shipped 2 they are refused: see below).
  c.write_quorum = quorum{quorum::kind::count, 1};
  auto& a = c.add("s1");
  fill(a, 3000);
  auto& j = c.add("j", false);
  c.chunk_delay_next = 150ms;
  c.start(a);
  c.start(j);
  REQUIRE(eventually([&] { return receiving_midway(j); }, 20s));
  // Write through s1's REST API while chunks are in flight; stop before the
  // transfer ends (later writes reach j by replication).
  test_client http(a.n->http_port());
  REQUIRE(http.connected());
  auto auth = "Authorization: Basic " + base64("root:" + a.root_pw) + "\r\n";
  std::vector<std::string> acked;
  for (int i = 0; i < 2000 && receiving_midway(j); ++i) {
    REQUIRE(http.send(make_request("POST", "/document/demo", cat(R"({"@class":"V","during":)", i, "}"), auth)));
    auto r = http.read_response(10s);
    REQUIRE(r.has_value());
    REQUIRE_MESSAGE(r->status == 201, r->body);
    acked.push_back(r->body);
  }
  REQUIRE(acked.size() >= 20);
  REQUIRE(eventually([&] { return j.logged("database demo is online"); }, 30s));
  a.n->stop();
  j.n->stop();
  auto got = content(j.home / "databases" / "demo");
  for (int i = 0; i < static_cast<int>(acked.size()); ++i)
    CHECK_MESSAGE(got.find(cat("\"during\":", i, "}")) != std::string::npos, "acknowledged write ", i, " is missing");
  CHECK(got == content(a.home / "databases" / "demo"));
}
