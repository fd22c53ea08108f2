// Replication in running nodes: three nodes in one process over CAF's real
// middleman, writes over real HTTP, storage on real RocksDB. Writes through any
// node reach every node in one order; a write without its quorum is refused
// and visible nowhere; the owner's loss is survived; a 2+1 split leaves the
// minority refusing and converges after the heal.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <map>
#include <tuple>
#include <set>

#include "test/actors/test_cluster.hpp"
#include "test/http/test_client.hpp"
#include "test/support/base64.hpp"

using namespace troupe;
using namespace troupe::test;
namespace json = boost::json;

namespace {

struct reply {
  int status = 0;  // 0: no answer
  std::string body;
  json::value js() const {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    return ec ? json::value() : v;
  }
  std::string outcome() const {
    auto v = js();
    if (!v.is_object()) return "";
    auto* o = v.as_object().if_contains("outcome");
    return o != nullptr && o->is_string() ? std::string(o->as_string()) : "";
  }
};

reply call(test_node& t, const std::string& method, const std::string& path, const std::string& body = "") {
  test_client c(t.n->http_port());
  if (!c.connected()) return {};
  auto auth = "Authorization: Basic " + base64("root:" + t.root_pw) + "\r\n";
  if (!c.send(make_request(method, path, body, auth))) return {};
  auto r = c.read_response(15s);
  if (!r) return {};
  return reply{r->status, r->body};
}

reply create(test_node& t, const std::string& key) {
  return call(t, "POST", "/document/demo", cat(R"({"@class":"V","k":")", key, R"("})"));
}

std::string rid_of(const reply& r) {
  auto v = r.js();
  return v.is_object() && v.as_object().contains("@rid") ? std::string(v.as_object().at("@rid").as_string()) : "";
}

// The record `rid` as `t` serves it (status 0 on no answer).
reply read(test_node& t, const std::string& rid) { return call(t, "GET", "/document/demo/" + rid.substr(1)); }

std::string db_status(test_node& viewer, const std::string& member) {
  auto s = viewer.n->cluster(2s);
  if (!s) return "";
  auto* m = s->view.find(member);
  if (m == nullptr) return "";
  auto i = m->db_status.find("demo");
  return i == m->db_status.end() ? "" : i->second;
}

// Every record of the demo database, as text (the node must be stopped).
std::string content(test_node& t) {
  auto db = storage::database::open(t.home / "databases" / "demo", {false, true});
  REQUIRE(db.ok());
  std::string out;
  for (auto& c : (*db)->clusters())
    for (auto& r : (*db)->browse_cluster(c.id, 1'000'000)) out += r.to_json() + "\n";
  return out;
}

// What the nodes said about replication and membership: printed when a check
// fails, so a failure can be read without a rerun.
std::string story(test_cluster& c) {
  std::string out;
  for (auto& t : c.nodes) {
    auto db = t->n ? t->n->test_database("demo") : nullptr;
    if (db)
      out += cat(t->name, ": committed seq ", db->last_committed_seq(), ", last staged ", db->last_staged_seq(),
                 ", promised epoch ", db->promised_epoch(), "\n");
    if (auto s = t->n ? t->n->cluster(2s) : result<cluster_state>(error_info{"", "", "stopped"}); s.ok()) {
      out += cat(t->name, " sees view ", s->view.version, ":");
      for (auto& m : s->view.members) {
        auto ds = m.db_status.find("demo");
        out += cat(" ", m.name, "(", m.status, ",", ds == m.db_status.end() ? "-" : ds->second, ")");
      }
      out += "\n";
    }
  }
  for (auto& t : c.nodes) {
    std::lock_guard<std::mutex> g(t->mtx);
    for (auto& l : t->lines)
      if (l.find("ODistributedDatabase") != std::string::npos || l.find("node removed") != std::string::npos ||
          l.find("added new node") != std::string::npos || l.find("joined the cluster") != std::string::npos)
        out += l + "\n";
  }
  return out;
}

// Three nodes as in the seed: n1 holds demo, n2 and n3 receive it. Returns
// once every node sees every node's copy ONLINE.
void start_three(test_cluster& c, test_node& a, test_node& b, test_node& d) {
  c.start(a);
  c.start(b);
  c.start(d);
  REQUIRE(eventually(
      [&] {
        for (auto* viewer : {&a, &b, &d})
          for (auto* m : {"n1", "n2", "n3"})
            if (db_status(*viewer, m) != "ONLINE") return false;
        return true;
      },
      30s));
}

// n1 (holding demo), n2 and n3, started and settled (see start_three).
std::tuple<test_node&, test_node&, test_node&> three(test_cluster& c) {
  auto& a = c.add("n1");
  auto& b = c.add("n2", false);
  auto& d = c.add("n3", false);
  start_three(c, a, b, d);
  return {a, b, d};
}

// Stops the three nodes and checks that they hold the same records and every
// acknowledged key; returns those records.
std::string stop_and_compare(test_node& a, test_node& b, test_node& d, const std::vector<std::string>& acked) {
  a.n->stop();
  b.n->stop();
  d.n->stop();
  auto ca = content(a), cb = content(b), cd = content(d);
  CHECK(ca == cb);
  CHECK(cb == cd);
  for (auto& k : acked) CHECK_MESSAGE(ca.find(cat("\"", k, "\"")) != std::string::npos, k, " was acknowledged and is lost");
  return ca;
}

// A write accepted once the nodes have settled (roles and takeovers follow
// view changes within a few heartbeats).
reply create_eventually(test_node& t, const std::string& key) {
  reply r;
  eventually(
      [&] {
        r = create(t, key);
        return r.status == 201;
      },
      15s);
  return r;
}

}  // namespace

TEST_CASE("replication: writes through any node are on every node; without a quorum they are refused and visible nowhere") {
  test_cluster c(28700);
  auto [a, b, d] = three(c);

  // Through the owner (n1) and through the two others (forwarded).
  std::vector<std::string> rids;
  for (auto* t : {&a, &b, &d}) {
    auto first = create_eventually(*t, cat(t->name, "-first"));
    REQUIRE_MESSAGE(first.status == 201, first.body);
    rids.push_back(rid_of(first));
    for (int i = 0; i < 30; ++i) {
      auto r = create(*t, cat(t->name, "-", i));
      REQUIRE_MESSAGE(r.status == 201, r.body);
      auto rid = rid_of(r);
      // readYourWrites: the node that answered serves it at once.
      CHECK_MESSAGE(read(*t, rid).status == 200, t->name, " does not serve its own write ", rid);
      rids.push_back(rid);
    }
  }
  CHECK(std::set<std::string>(rids.begin(), rids.end()).size() == rids.size());  // one order, no RID twice
  for (auto* t : {&a, &b, &d})
    CHECK(eventually([&] {
      for (auto& rid : rids)
        if (read(*t, rid).status != 200) return false;
      return true;
    }));

  // A stale version fails with 409 through a forwarding node as on the owner.
  auto path = "/document/demo/" + rids.front().substr(1);
  REQUIRE(call(d, "PUT", path, R"({"@version":1,"k":"second"})").status == 200);
  CHECK(call(b, "PUT", path, R"({"@version":1,"k":"stale"})").status == 409);
  CHECK(call(a, "PUT", path, R"({"@version":1,"k":"stale"})").status == 409);

  // n3 lost: the quorum (2 of 3) still holds.
  d.n->kill();
  auto r = create_eventually(a, "after-n3");
  CHECK_MESSAGE(r.status == 201, r.body);
  // n2 lost too: refused, with the quorum and who is missing, and not applied.
  b.n->kill();
  REQUIRE(eventually([&] {
    r = create(a, "alone");
    return r.status == 503;
  }));
  CHECK(r.outcome() == "not applied");
  auto js = r.js().as_object();
  CHECK(js.at("quorum").as_int64() == 2);
  CHECK(json::serialize(js.at("missing")).find("n2") != std::string::npos);
  CHECK(json::serialize(js.at("missing")).find("n3") != std::string::npos);
  CHECK(json::serialize(js.at("answered")) == R"(["n1"])");
  CHECK(js.at("errors").as_array().at(0).as_object().at("code").as_int64() == 503);
  a.n->stop();
  auto all = content(a);
  CHECK(all.find("after-n3") != std::string::npos);
  CHECK(all.find("\"alone\"") == std::string::npos);
  CHECK(content(b).find("\"alone\"") == std::string::npos);
}

TEST_CASE("replication: the owner is killed; the next server takes over and no acknowledged write is lost") {
  test_cluster c(28760);
  auto [a, b, d] = three(c);
  std::vector<std::string> acked;
  for (int i = 0; i < 40; ++i) {
    auto r = i == 0 ? create_eventually(b, cat("before-", i)) : create(b, cat("before-", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("before-", i));
  }
  a.n->kill();  // the owner
  // n2 is the first online server now: it takes over after collecting tails.
  auto r = create_eventually(d, "after-0");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  acked.push_back("after-0");
  for (int i = 1; i < 40; ++i) {
    r = create(d, cat("after-", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("after-", i));
  }
  CHECK(b.logged("this node orders the writes now"));
  // The old owner comes back as a replica and catches up.
  c.start(a);
  REQUIRE(eventually([&] { return db_status(b, "n1") == "ONLINE"; }, 20s));
  r = create_eventually(a, "back");
  CHECK_MESSAGE(r.status == 201, r.body);
  acked.push_back("back");
  REQUIRE_MESSAGE(eventually([&] { return read(a, rid_of(r)).status == 200 && read(d, rid_of(r)).status == 200; }, 15s),
                  r.body, "\n", story(c));
  auto all = stop_and_compare(a, b, d, acked);
}

// n3 is stopped, `writes` documents are written through n1 while it is away,
// and n3 is started again (with the cluster's next-node settings, e.g. a disk
// limit). The cluster keeps only 32 committed entries in its replication log.
// Returns the RID of a record n3 held before it went away.
std::string leave_n3_behind(test_cluster& c, test_node& a, test_node& d, int writes, std::vector<std::string>& acked) {
  for (int i = 0; i < 10; ++i) {
    auto r = i == 0 ? create_eventually(a, cat("before-", i)) : create(a, cat("before-", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("before-", i));
  }
  auto seen = create(a, "seen-by-n3");
  REQUIRE_MESSAGE(seen.status == 201, seen.body);
  acked.push_back("seen-by-n3");
  REQUIRE(eventually([&] { return read(d, rid_of(seen)).status == 200; }, 15s));
  d.n->kill();
  for (int i = 0; i < writes; ++i) {
    auto r = i == 0 ? create_eventually(a, cat("away-", i)) : create(a, cat("away-", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("away-", i));
  }
  c.start(d);
  return rid_of(seen);
}

bool leftovers(test_node& t) {
  auto dir = t.home / "databases";
  return fs::exists(dir / "demo.old") || fs::exists(dir / "demo.installed") || fs::exists(dir / "demo.installing");
}

TEST_CASE("replication: a replica that was away catches up (SYNCHRONIZING meanwhile), then is ONLINE everywhere") {
  test_cluster c(29340);
  auto [a, b, d] = three(c);
  std::vector<std::string> acked;
  leave_n3_behind(c, a, d, 60, acked);
  REQUIRE_MESSAGE(eventually([&] { return d.logged("database demo: caught up (at seq"); }, 20s), story(c));
  CHECK(d.logged("database demo: catching up (this node has committed seq"));
  CHECK_FALSE(d.logged("behind the replication log"));
  // Everyone sees it ONLINE again, and no longer catching up.
  REQUIRE(eventually(
      [&] {
        for (auto* viewer : {&a, &b, &d}) {
          auto s = viewer->n->cluster(2s);
          auto* m = s.ok() ? s->view.find("n3") : nullptr;
          if (m == nullptr || m->shown_status("demo") != "ONLINE" || !m->catching_up.empty()) return false;
        }
        return true;
      },
      20s));
  auto r = create(d, "after");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  acked.push_back("after");
  REQUIRE(eventually([&] { return read(a, rid_of(r)).status == 200 && read(b, rid_of(r)).status == 200; }, 15s));
  stop_and_compare(a, b, d, acked);
}

TEST_CASE("replication: a node behind the kept replication log receives a full copy, swaps it in, and loses nothing") {
  test_cluster c(29300);
  c.log_keep = 32;
  auto [a, b, d] = three(c);
  std::vector<std::string> acked;
  leave_n3_behind(c, a, d, 150, acked);
  // n3 opens its old copy, is found behind n1's log (which starts ~118 writes
  // after its last one) and takes a full copy from the owner.
  REQUIRE_MESSAGE(eventually([&] { return d.logged("replaced database 'demo' with the copy received"); }, 30s),
                  story(c));
  CHECK(a.logged("n3 is behind the replication log"));
  CHECK(d.logged("database demo is behind the replication log of n1: receiving a full copy"));
  REQUIRE(eventually([&] { return db_status(a, "n3") == "ONLINE" && db_status(b, "n3") == "ONLINE"; }, 20s));
  CHECK_FALSE(leftovers(d));
  // A replica like the others now: a write through it lands everywhere, and
  // it serves what was written while it was away.
  auto r = create_eventually(d, "after");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  acked.push_back("after");
  REQUIRE(eventually([&] { return read(a, rid_of(r)).status == 200 && read(b, rid_of(r)).status == 200; }, 15s));
  for (int i = 0; i < 20; ++i) {
    r = create(a, cat("last-", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("last-", i));
  }
  REQUIRE(eventually([&] { return read(d, rid_of(r)).status == 200; }, 15s));
  auto all = stop_and_compare(a, b, d, acked);
  CHECK(all.find("\"away-149\"") != std::string::npos);
}

TEST_CASE("replication: a redeploy that fails leaves the node its old copy, open and unchanged") {
  test_cluster c(29320);
  c.log_keep = 32;
  auto [a, b, d] = three(c);
  std::vector<std::string> acked;
  c.disk_limit_next = 4'000;  // n3's disk "fills" 4 kB into the new copy
  auto held = leave_n3_behind(c, a, d, 100, acked);
  REQUIRE_MESSAGE(eventually([&] { return d.logged("the copy this node holds stays in use"); }, 30s), story(c));
  CHECK(d.logged("the disk is full"));
  CHECK_FALSE(d.logged("replaced database 'demo'"));
  // Its old copy is open and serves what it held; nothing half-received is left.
  CHECK(read(d, held).status == 200);
  CHECK(eventually([&] { return !leftovers(d); }, 10s));
  // The cluster goes on without it (n1 and n2 are a majority).
  for (int i = 0; i < 10; ++i) {
    auto r = create(b, cat("still-", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("still-", i));
  }
  a.n->stop();
  b.n->stop();
  d.n->stop();
  auto ca = content(a), cb = content(b), cd = content(d);
  CHECK(ca == cb);
  for (auto& k : acked) CHECK_MESSAGE(ca.find(cat("\"", k, "\"")) != std::string::npos, k, " was acknowledged and is lost");
  // n3 still holds exactly what it held before it went away: its old copy.
  CHECK(cd.find("\"seen-by-n3\"") != std::string::npos);
  CHECK(cd.find("\"before-9\"") != std::string::npos);
  CHECK(cd.find("\"away-0\"") == std::string::npos);
}

TEST_CASE("replication: all three stop; whichever restarts first, no acknowledged write is lost") {
  test_cluster c(29160);
  auto [a, b, d] = three(c);
  std::vector<std::string> acked;
  for (int i = 0; i < 30; ++i) {
    auto* t = i % 3 == 0 ? &a : i % 3 == 1 ? &b : &d;
    auto r = i == 0 ? create_eventually(*t, cat("w", i)) : create(*t, cat("w", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("w", i));
  }
  // n2 stops first (the writes after it are on n1 and n3 only), then n1 and n3.
  b.n->kill();
  for (int i = 30; i < 40; ++i) {
    auto r = i == 30 ? create_eventually(a, cat("w", i)) : create(a, cat("w", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("w", i));
  }
  a.n->kill();
  d.n->kill();
  // n2, the one that missed writes, restarts first: alone it is not enough
  // to know every acknowledged write, so it refuses writes.
  c.start(b);
  reply lone;
  REQUIRE(eventually([&] {
    lone = create(b, "lone");
    return lone.status == 503 && lone.outcome() == "not applied";
  }, 15s));
  // With n3 back, the two of them hold every acknowledged write between them.
  c.start(d);
  auto r = create_eventually(b, "two");
  REQUIRE_MESSAGE(r.status == 201, r.body, "\n", story(c));
  acked.push_back("two");
  c.start(a);
  r = create_eventually(a, "three");
  REQUIRE_MESSAGE(r.status == 201, r.body, "\n", story(c));
  acked.push_back("three");
  REQUIRE_MESSAGE(
      eventually([&] { return read(b, rid_of(r)).status == 200 && read(d, rid_of(r)).status == 200; }, 15s),
      story(c));
  auto all = stop_and_compare(a, b, d, acked);
  CHECK(all.find("\"lone\"") == std::string::npos);
}

TEST_CASE("replication: readQuorum all reads the newest of every server's copy, and refuses without them") {
  test_cluster c(28940);
  c.read_quorum = quorum{quorum::kind::all, 0};
  auto [a, b, d] = three(c);
  auto r = create_eventually(b, "read-me");
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto rid = rid_of(r);
  for (auto* t : {&a, &b, &d}) {
    auto got = read(*t, rid);
    if (got.status != 200) {
      std::string said;
      for (auto* x : {&a, &b, &d}) {
        std::lock_guard<std::mutex> g(x->mtx);
        for (size_t i = x->lines.size() > 25 ? x->lines.size() - 25 : 0; i < x->lines.size(); ++i) said += x->lines[i] + "\n";
      }
      MESSAGE(story(c) << said);
    }
    CHECK_MESSAGE(got.status == 200, t->name, ": ", got.body);
    CHECK(got.body.find("read-me") != std::string::npos);
  }
  auto upd = call(d, "PUT", "/document/demo/" + rid.substr(1), R"({"@version":1,"k":"read-me-2"})");
  REQUIRE_MESSAGE(upd.status == 200, upd.body);
  CHECK(read(a, rid).body.find("read-me-2") != std::string::npos);  // the newest copy, wherever it is
  CHECK(call(a, "HEAD", "/document/demo/" + rid.substr(1)).status == 204);
  CHECK(read(a, "#9:99999").status == 404);
  // With n3 gone, "all" cannot be reached: 503 naming the quorum and who is missing.
  d.n->kill();
  reply x;
  REQUIRE(eventually([&] {
    x = read(a, rid);
    return x.status == 503;
  }));
  auto js = x.js().as_object();
  CHECK(js.at("quorum").as_int64() == 3);
  CHECK(json::serialize(js.at("missing")).find("n3") != std::string::npos);
}

TEST_CASE("replication: anti-entropy (resyncEvery) finds a copy damaged behind replication's back and repairs it") {
  test_cluster c(29220);
  c.resync_every_s = 1;
  auto [a, b, d] = three(c);
  std::vector<std::string> acked, rids;
  for (int i = 0; i < 10; ++i) {
    auto r = i == 0 ? create_eventually(a, cat("ae", i)) : create(a, cat("ae", i));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    acked.push_back(cat("ae", i));
    rids.push_back(rid_of(r));
  }
  REQUIRE(eventually([&] { return read(d, rids.back()).status == 200; }));
  // Damage n3's copy directly: one record changed, one removed, one added.
  auto db = d.n->test_database("demo");
  REQUIRE(db != nullptr);
  auto id = [&](const std::string& t) { return *storage::rid::parse(t); };
  std::vector<storage::op> damage(3);
  damage[0].k = storage::op::kind::update;
  damage[0].id = id(rids[1]);
  damage[0].fields = R"({"k":"damaged"})";
  damage[1].k = storage::op::kind::remove;
  damage[1].id = id(rids[2]);
  damage[2].k = storage::op::kind::create;
  damage[2].class_name = "V";
  damage[2].fields = R"({"k":"stray"})";
  for (auto& res : db->apply(damage)) REQUIRE(res.code == storage::errc::ok);
  db.reset();
  REQUIRE(eventually([&] { return d.logged("anti-entropy: repaired cluster v of database demo"); }, 15s));
  CHECK(d.logged("anti-entropy: database demo differs from the owner n1 at seq "));
  CHECK(d.logged("record(s) differed from the owner n1's"));
  CHECK(read(d, rids[1]).body.find("ae1") != std::string::npos);
  CHECK(read(d, rids[2]).status == 200);
  auto all = stop_and_compare(a, b, d, acked);
  CHECK(all.find("damaged") == std::string::npos);
  CHECK(all.find("stray") == std::string::npos);
}

// The 2+1 splits (the owner on either side), one-way loss and a flapping link
// are cut in the network itself, between hosts: test/process/multihost_test.cpp.
