// The write intake (src/replication/intake): where a client write goes
// (route_write), the bounds on what a client sends, and the bookkeeping of
// each write until it is answered (class intake), step by step against a real
// replication::member on RocksDB, with the other nodes' messages made by hand.
#include <doctest/doctest.h>

#include <set>

#include "src/replication/intake.hpp"
#include "src/replication/member.hpp"
#include "src/util/strings.hpp"
#include "test/replication/fixtures.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::replication;
using namespace troupe::replication::testing;

namespace {

constexpr int64_t write_timeout_ms = 1000;

role alone() {
  role r;
  r.db = "demo";
  r.servers = r.online = {"a"};
  return r;
}

// A write of `n` creates.
std::vector<storage::op> creates(size_t n) {
  std::vector<storage::op> ops;
  for (size_t i = 0; i < n; ++i) ops.push_back(storage::testing::create_op("V", cat(R"({"n":)", i, "}")));
  return ops;
}

// `n` writes committed on `db` by an owner that needs only itself.
void fill(storage::database& db, int n) {
  owner o(db, 0x001, {}, 1);
  for (int i = 0; i < n; ++i) REQUIRE(o.submit(creates(1), 0).ok());
}

std::set<ticket> answered(const intake_effects& fx) {
  std::set<ticket> out;
  for (auto& r : fx.replies) out.insert(r.t);
  return out;
}

const write_reply& reply_of(const intake_effects& fx, ticket t) {
  for (auto& r : fx.replies)
    if (r.t == t) return r;
  static const write_reply none;
  FAIL("ticket ", t, " was not answered");
  return none;
}

// A node "a" with a member in `r`, and its intake.
struct node {
  test::temp_dir dir;
  std::unique_ptr<storage::database> db = storage::testing::open_db(dir / "a");
  member m{*db, "a", timing};
  intake in{m, *db, "demo", "a", write_timeout_ms};
  explicit node(const role& r) {
    effects fx;
    m.on_role(r, 0, fx);
  }
};

}  // namespace

TEST_CASE("route_write: refused without a quorum or with too many waiting, ordered at the owner, else forwarded once") {
  test::temp_dir dir;
  auto db = storage::testing::open_db(dir / "a");
  member a(*db, "a", timing);
  using k = intake_decision::kind;
  // No role yet: it waits here for one (a standalone node is its own owner).
  CHECK(route_write(a, "demo", "a", false, 0, 8).what == k::order_here);
  effects fx;
  a.on_role(three({"b", "a"}, 2), 0, fx);  // b owns, 2 of 3 online
  struct row {
    bool forwarded;
    size_t waiting;
    k what;
    const char* why;
  } rows[] = {{false, 0, k::forward, ""},
              {true, 0, k::refuse, "a is not the owner of demo"},
              {false, 8, k::refuse, "too many writes waiting for database demo"}};
  for (auto& r : rows) {
    auto d = route_write(a, "demo", "a", r.forwarded, r.waiting, 8);
    CHECK(d.what == r.what);
    CHECK(d.why == r.why);
  }
  effects fx2;
  a.on_role(three({"a"}, 2), 1, fx2);  // alone: 1 of 3 online, quorum 2
  auto d = route_write(a, "demo", "a", false, 0, 8);
  CHECK(d.what == k::refuse);
  CHECK(d.why == "Quorum 2 not reached for database demo: 1 of its 3 servers are online");
  effects fx3;
  a.on_role(three({"a", "c"}, 2), 2, fx3);  // a is the owner now (taking over)
  CHECK(route_write(a, "demo", "a", true, 0, 8).what == k::order_here);
}

TEST_CASE("intake: the bounds on a client write and on a forward") {
  struct row {
    std::vector<size_t> writes;  // operations per write
    std::optional<std::string> write_error, forward_error;
  } rows[] = {
      {{1}, std::nullopt, std::nullopt},
      {{write_ops_max}, std::nullopt, std::nullopt},
      {{write_ops_max + 1}, "a write holds 4097 operations, more than 4096",
       "a forwarded write holds 4097 operations"},
      {{2, 0}, std::nullopt, "a forwarded write holds 0 operations"},
      {{}, std::nullopt, "a forward holds 0 writes"},
  };
  for (auto& r : rows) {
    CAPTURE(r.writes.size());
    std::vector<std::vector<storage::op>> writes;
    for (auto n : r.writes) writes.push_back(std::vector<storage::op>(n));
    CHECK(oversized_write(r.writes.empty() ? 0 : r.writes[0]) == r.write_error);
    CHECK(malformed_forward(writes) == r.forward_error);
  }
  std::vector<std::vector<storage::op>> too_many(queued_writes_max + 1, std::vector<storage::op>(1));
  CHECK(malformed_forward(too_many) == cat("a forward holds ", queued_writes_max + 1, " writes"));
}

TEST_CASE("intake: the owner orders what waits in one batch of at most write_ops_max operations") {
  node a(alone());
  REQUIRE(a.m.owning());
  struct step {
    size_t ops;              // a write of this many operations, or 0: the scheduled flush runs
    std::set<ticket> ended;  // the writes answered (committed) by this step
    bool schedules_flush;
    const char* why;
  } steps[] = {
      {1, {}, true, "the first write queues and schedules a flush"},
      {write_ops_max - 1, {}, false, "one batch can still hold it; the flush is scheduled already"},
      {1, {1, 2}, true, "it would make the batch too large: what waits is ordered first"},
      {0, {3}, false, "the flush orders the rest"},
      {0, {}, false, "a flush with nothing queued does nothing"},
  };
  uint64_t seq = 0;
  for (auto& s : steps) {
    CAPTURE(s.why);
    intake_effects fx;
    if (s.ops)
      a.in.write(creates(s.ops), false, 0, fx);
    else
      a.in.flush(0, fx);
    CHECK(answered(fx) == s.ended);
    CHECK(fx.schedule_flush == s.schedules_flush);
    for (auto& r : fx.replies) {
      CHECK(r.error.empty());
      CHECK(r.seq == ++seq);  // in order, one seq each
    }
    CHECK(fx.appends.empty());  // nobody else to tell
  }
  CHECK(a.in.acknowledged() == 3);
  CHECK(a.in.queued() == 0);
  CHECK(a.db->last_committed_seq() == 3);
}

TEST_CASE("intake: a replica forwards every waiting write in one message, and refuses one too many") {
  node a(three({"b", "a"}));  // b owns
  REQUIRE_FALSE(a.m.orders_here());
  intake_effects first;
  a.in.write(creates(1), false, 0, first);
  CHECK(first.schedule_flush);
  for (size_t i = 1; i < queued_writes_max; ++i) {
    intake_effects fx;
    a.in.write(creates(1), false, 0, fx);
    CHECK_FALSE(fx.schedule_flush);
    CHECK(fx.replies.empty());
  }
  intake_effects over;
  auto t = a.in.write(creates(1), false, 0, over);
  CHECK(reply_of(over, t).error ==
        R"({"content":"too many writes waiting for database demo","quorum":2,"answered":["b","a"],"missing":["c"],)"
        R"("outcome":"not applied"})");
  CHECK(a.in.refused() == 1);
  intake_effects fx;
  a.in.flush(0, fx);
  REQUIRE(fx.forward);
  CHECK(fx.forward->owner == "b");
  CHECK(fx.forward->tickets.size() == queued_writes_max);
  CHECK(fx.forward->writes.size() == queued_writes_max);
  // A write another node forwarded here is never forwarded again.
  intake_effects again;
  auto t2 = a.in.write(creates(1), true, 0, again);
  CHECK(reply_of(again, t2).error.find("a is not the owner of demo") != std::string::npos);
}

TEST_CASE("intake: a forwarded write is answered when this node holds it, or read_your_writes_wait_ms later") {
  node a(three({"b", "a"}));
  fill(*a.db, 5);  // this node has committed seq 5
  std::vector<ticket> t;
  intake_effects w;
  for (int i = 0; i < 3; ++i) t.push_back(a.in.write(creates(1), false, 0, w));
  intake_effects f;
  a.in.flush(0, f);
  REQUIRE(f.forward);
  CHECK(f.forward->tickets == t);
  std::vector<forward_reply> replies{{5, {}, ""}, {6, {}, ""}, {7, {}, ""}};
  struct step {
    const char* what;
    int commit_more;  // writes this node commits first
    int64_t now_ms;
    std::set<ticket> answered;
  } steps[] = {
      {"the owner's answer", 0, 100, {t[0]}},  // seq 5 is held here already
      {"an append", 0, 150, {}},               // nothing new held
      {"an append", 1, 200, {t[1]}},           // seq 6 is held now
      {"a tick", 0, 100 + read_your_writes_wait_ms - 1, {}},
      {"a tick", 0, 100 + read_your_writes_wait_ms, {t[2]}},  // waited long enough: durable on the quorum
  };
  for (auto& s : steps) {
    CAPTURE(s.what);
    CAPTURE(s.now_ms);
    fill(*a.db, s.commit_more);
    intake_effects fx;
    if (s.what == std::string("the owner's answer"))
      a.in.on_forwarded(f.forward->tickets, replies, s.now_ms, fx);
    else if (s.what == std::string("an append"))
      a.in.read_your_writes(s.now_ms, fx);
    else
      a.in.tick(s.now_ms, fx);
    CHECK(answered(fx) == s.answered);
    for (auto& r : fx.replies) CHECK(r.error.empty());
  }
  CHECK(a.in.acknowledged() == 3);
}

TEST_CASE("intake: the owner's failures: not applied when it cannot take the write, else unknown") {
  struct row {
    const char* what;
    bool nowhere;
    std::string error;  // the owner's reply's error, for "answered"
    std::string body;
    uint64_t refused, unknown;
  } rows[] = {
      {"failed", true, "",
       R"({"content":"the owner b cannot take the write: not a member","quorum":2,"answered":["b","a"],)"
       R"("missing":["c"],"outcome":"not applied"})",
       1, 0},
      {"failed", false, "",
       R"({"content":"the owner b did not confirm the write: timeout","quorum":2,"answered":[],)"
       R"("missing":["a","b","c"],"outcome":"unknown"})",
       0, 1},
      {"answered", false, "the owner's own 503 body", "the owner's own 503 body", 0, 0},
      {"answered without it", false, "",
       R"({"content":"the owner's answer lacks this write","quorum":2,"answered":[],"missing":["a","b","c"],)"
       R"("outcome":"unknown"})",
       0, 0},
  };
  for (auto& r : rows) {
    CAPTURE(r.body);
    node a(three({"b", "a"}));
    intake_effects w, f, fx;
    auto t = a.in.write(creates(1), false, 0, w);
    a.in.flush(0, f);
    REQUIRE(f.forward);
    if (r.what == std::string("failed"))
      a.in.on_forward_failed(f.forward->tickets, "b", r.nowhere, r.nowhere ? "not a member" : "timeout", fx);
    else if (r.what == std::string("answered"))
      a.in.on_forwarded(f.forward->tickets, {{0, {}, r.error}}, 0, fx);
    else
      a.in.on_forwarded(f.forward->tickets, {}, 0, fx);
    CHECK(reply_of(fx, t).error == r.body);
    CHECK(a.in.refused() == r.refused);
    CHECK(a.in.unknown() == r.unknown);
    CHECK(a.in.acknowledged() == 0);
  }
}

TEST_CASE("intake: ended writes are matched to their clients by seq; a discarded one is unknown") {
  node a(three({"a", "b", "c"}, 3));  // writeQuorum all: a owns at once (its own tail is enough)
  REQUIRE(a.m.owning());
  auto epoch = a.m.owning()->epoch();
  intake_effects w;
  auto t1 = a.in.write(creates(1), false, 0, w);
  auto t2 = a.in.write(creates(1), false, 0, w);
  intake_effects f;
  a.in.flush(0, f);
  CHECK(f.replies.empty());
  CHECK(f.appends.size() == 2);  // the batch, to b and c
  CHECK(a.in.waiting() == 2);
  uint64_t s1 = 1, s2 = 2;

  struct step {
    const char* what;
    std::string from;
    uint64_t held;
    int64_t now_ms;
    std::set<ticket> answered;
    bool notice;
  } steps[] = {
      {"ack", "b", s2, 0, {}, false},                            // b holds both; c holds none
      {"ack", "c", s1, 0, {t1}, true},                           // the quorum (all) holds s1
      {"tick", "", 0, write_timeout_ms - 1, {}, false},          // s2 still has time
      {"tick", "", 0, write_timeout_ms + 1, {t2}, false},        // discarded; the commit notice is scheduled already
  };
  for (auto& s : steps) {
    CAPTURE(s.what);
    CAPTURE(s.from);
    effects fx;
    if (s.what == std::string("ack"))
      a.m.on_ack(s.from, ack_msg{epoch, true, s.held, 0}, fx);
    else
      a.m.tick(s.now_ms, false, fx);
    intake_effects lost, ended;
    a.in.on_owner_lost(fx, lost);
    CHECK(lost.replies.empty());
    a.in.on_writes_ended(fx, ended);
    CHECK(answered(ended) == s.answered);
    CHECK(ended.schedule_notice == s.notice);
  }
  CHECK(a.in.acknowledged() == 1);
  CHECK(a.in.unknown() == 1);
  CHECK(a.in.waiting() == 0);
  CHECK(a.in.take_commit_notice());  // the owner announces its commit point once
  CHECK_FALSE(a.in.take_commit_notice());
}

TEST_CASE("intake: a discarded write's 503 body names the quorum, the owner as the one that answered, and the rest") {
  node a(three({"a", "b", "c"}, 3));
  REQUIRE(a.m.owning());
  auto epoch = a.m.owning()->epoch();
  intake_effects w, f;
  auto t = a.in.write(creates(1), false, 0, w);
  a.in.flush(0, f);
  effects held;
  a.m.on_ack("b", ack_msg{epoch, true, 1, 0}, held);
  effects fx;
  a.m.tick(write_timeout_ms + 1, false, fx);
  intake_effects ended;
  a.in.on_writes_ended(fx, ended);
  // The holders are read after the owner discarded the write (and lowered
  // what it counts each replica as holding), so b, which holds it, is not
  // named: as the database actor always did.
  CHECK(reply_of(ended, t).error ==
        R"({"content":"Quorum 3 not reached for the write: write quorum 3 not reached in time; it was discarded here,)"
        R"( but a server that holds it may still apply it","quorum":3,"answered":["a"],"missing":["b","c"],)"
        R"("outcome":"unknown"})");
}

TEST_CASE("intake: stepping down leaves the waiting writes unknown; an abandoned takeover refuses the queued ones") {
  SUBCASE("stepping down") {
    node a(three({"a", "b", "c"}, 3));
    REQUIRE(a.m.owning());
    auto epoch = a.m.owning()->epoch();
    intake_effects w, f;
    auto t1 = a.in.write(creates(1), false, 0, w);
    a.in.flush(0, f);
    auto t2 = a.in.write(creates(1), false, 0, w);  // queued, not ordered
    effects fx;
    a.m.on_ack("b", ack_msg{epoch + 0x100, false, 0, 0}, fx);  // a newer owner
    REQUIRE(fx.stepped_down);
    intake_effects lost;
    a.in.on_owner_lost(fx, lost);
    REQUIRE(answered(lost) == std::set<ticket>{t1});
    CHECK(reply_of(lost, t1).error.find(cat("the owner a stepped down (", *fx.stepped_down,
                                            ") before the quorum answered")) != std::string::npos);
    CHECK(reply_of(lost, t1).error.find(R"("answered":["a"],"missing":["b","c"],"outcome":"unknown")") !=
          std::string::npos);
    CHECK(a.in.unknown() == 1);
    intake_effects ended;
    a.in.on_writes_ended(fx, ended);
    CHECK(ended.replies.empty());  // the role still names a: the queued write waits for an owner here
    CHECK(a.in.queued() == 1);
    effects r;
    a.m.on_role(three({"b", "a", "c"}, 3), 1, r);  // b is the owner now
    intake_effects moved;
    a.in.on_role(moved);
    CHECK(moved.replies.empty());
    CHECK(a.in.queued() == 0);
    CHECK_FALSE(moved.schedule_flush);  // the flush scheduled when it queued is still to come
    intake_effects f2;
    a.in.flush(1, f2);
    REQUIRE(f2.forward);
    CHECK(f2.forward->owner == "b");
    CHECK(f2.forward->tickets == std::vector<ticket>{t2});
  }
  SUBCASE("an abandoned takeover") {
    node a(three({"a", "b", "c"}, 2));
    REQUIRE(a.m.taking_over());
    intake_effects w;
    auto t = a.in.write(creates(1), false, 0, w);
    CHECK(w.replies.empty());  // it waits here for the takeover
    CHECK(a.in.queued() == 1);
    effects fx;
    a.m.tick(timing.takeover_timeout_ms + 1, true, fx);
    REQUIRE(fx.abandoned);
    intake_effects lost;
    a.in.on_owner_lost(fx, lost);
    CHECK(reply_of(lost, t).error.find(cat("no owner for demo now: ", *fx.abandoned)) != std::string::npos);
    CHECK(reply_of(lost, t).error.find(R"("outcome":"not applied")") != std::string::npos);
    CHECK(a.in.refused() == 1);
    CHECK(a.in.queued() == 0);
  }
}

TEST_CASE("intake: queued writes no owner ordered by their deadline are refused") {
  node a(three({"a", "b", "c"}, 2));  // taking over, waiting for answers
  REQUIRE(a.m.taking_over());
  intake_effects w;
  auto t1 = a.in.write(creates(1), false, 0, w);
  auto t2 = a.in.write(creates(1), false, 500, w);
  struct step {
    int64_t now_ms;
    std::set<ticket> refused;
  } steps[] = {{write_timeout_ms - 1, {}}, {write_timeout_ms, {t1}}, {write_timeout_ms + 499, {}},
               {write_timeout_ms + 500, {t2}}};
  for (auto& s : steps) {
    CAPTURE(s.now_ms);
    intake_effects fx;
    a.in.tick(s.now_ms, fx);
    CHECK(answered(fx) == s.refused);
    for (auto& r : fx.replies)
      CHECK(r.error.find(R"x({"content":"no owner ordered the write in time (database demo)")x") == 0);
  }
  CHECK(a.in.refused() == 2);
}

TEST_CASE("intake: on stop every write held is answered") {
  node a(three({"b", "a"}));  // b owns
  fill(*a.db, 1);
  intake_effects w, f, acked;
  auto sent = a.in.write(creates(1), false, 0, w);
  a.in.flush(0, f);
  REQUIRE(f.forward);
  a.in.on_forwarded(f.forward->tickets, {{9, {}, ""}}, 0, acked);  // committed by b, not held here yet
  CHECK(acked.replies.empty());
  auto unsent = a.in.write(creates(1), false, 0, w);  // waiting for the next flush
  intake_effects fx;
  a.in.stop(1, fx);
  CHECK(answered(fx) == std::set<ticket>{sent, unsent});
  CHECK(reply_of(fx, sent).error.empty());  // durable on b's quorum
  CHECK(reply_of(fx, unsent).error.find(R"({"content":"the node is stopping")") == 0);
  CHECK_FALSE(fx.forward);
}

namespace {

storage::op statement(const std::string& text) {
  storage::op o;
  o.k = storage::op::kind::statement;
  o.fields = cat(R"({"command":")", text, R"("})");
  return o;
}

// An expander that records what it saw and creates one V per call (or, for
// "nothing" and "refuse", changes nothing or refuses).
struct recording_expander {
  std::vector<uint64_t> committed_seen;  // the database's committed seq at each expansion
  expander make(const storage::database& db) {
    return [this, &db](const storage::op& s, size_t ops_max) {
      CHECK(ops_max == write_ops_max);
      committed_seen.push_back(db.last_committed_seq());
      expansion x;
      if (s.fields.find("refuse") != std::string::npos) {
        x.code = storage::errc::duplicate_key;
        x.message = "found duplicated key";
      } else if (s.fields.find("nothing") == std::string::npos) {
        x.ops = creates(2);
        x.answer = "[2]";
      } else {
        x.answer = "[0]";
      }
      return x;
    };
  }
};

}  // namespace

TEST_CASE("intake: a statement alone or mixed, and without an expander") {
  CHECK(is_statement_write({statement("x")}));
  CHECK_FALSE(is_statement_write(creates(1)));
  CHECK_FALSE(mixed_statement({statement("x")}));
  CHECK_FALSE(mixed_statement(creates(3)));
  auto mixed = creates(1);
  mixed.push_back(statement("x"));
  CHECK(mixed_statement(mixed) == std::string("a SQL statement must be a write of its own"));

  node a(alone());
  intake_effects w, f;
  auto t = a.in.write({statement("insert")}, false, 0, w);
  a.in.flush(0, f);
  auto& r = reply_of(f, t);
  REQUIRE(r.results.size() == 1);
  CHECK(r.results[0].code == storage::errc::invalid_argument);
  CHECK(a.db->last_committed_seq() == 0);
}

TEST_CASE("intake: a statement is expanded against the state with nothing pending, and answered with its answer") {
  node a(three({"a", "b", "c"}, 3));  // a owns; every write waits for b and c
  REQUIRE(a.m.owning());
  auto epoch = a.m.owning()->epoch();
  recording_expander rec;
  a.in.set_expander(rec.make(*a.db));

  intake_effects w, f1;
  auto plain = a.in.write(creates(1), false, 0, w);
  auto stmt = a.in.write({statement("insert")}, false, 0, w);
  auto behind = a.in.write(creates(1), false, 0, w);
  a.in.flush(0, f1);
  CHECK(f1.appends.size() == 2);          // the plain write, to b and c
  CHECK(rec.committed_seen.empty());      // the statement waits for it
  CHECK(a.in.queued() == 2);              // and the write behind it waits too
  CHECK(a.in.waiting() == 1);

  auto ack = [&](uint64_t held) {
    intake_effects ended;
    for (auto from : {"b", "c"}) {
      effects fx;
      a.m.on_ack(from, ack_msg{epoch, true, held, 0}, fx);
      intake_effects lost;
      a.in.on_owner_lost(fx, lost);
      a.in.on_writes_ended(fx, ended);
    }
    return ended;
  };
  auto e1 = ack(1);
  CHECK(answered(e1) == std::set<ticket>{plain});
  CHECK(e1.schedule_flush);  // the statement can run now

  intake_effects f2;
  a.in.flush(0, f2);
  CHECK(rec.committed_seen == std::vector<uint64_t>{1});  // it saw the plain write committed
  CHECK(f2.appends.size() == 4);  // the statement's operations, then the write behind it
  CHECK(a.in.waiting() == 2);
  auto e2 = ack(3);
  CHECK(answered(e2) == std::set<ticket>{stmt, behind});
  auto& r = reply_of(e2, stmt);
  REQUIRE(r.results.size() == 3);  // two creates, then the answer
  CHECK(r.results[0].code == storage::errc::ok);
  CHECK(r.results[1].rec.id.cluster >= 0);
  CHECK(r.results[2].rec.fields == "[2]");
  CHECK(reply_of(e2, behind).results.size() == 1);
  CHECK(a.db->last_committed_seq() == 3);
  CHECK(a.in.acknowledged() == 3);
}

TEST_CASE("intake: a statement that changes nothing or is refused is answered at once, with nothing ordered") {
  node a(alone());
  recording_expander rec;
  a.in.set_expander(rec.make(*a.db));
  intake_effects w, f;
  auto none = a.in.write({statement("nothing")}, false, 0, w);
  auto refused = a.in.write({statement("refuse")}, false, 0, w);
  auto two = a.in.write({statement("insert")}, false, 0, w);
  auto three_ = a.in.write({statement("insert")}, false, 0, w);
  a.in.flush(0, f);
  // Alone, each committed at once: every statement ran in the same flush.
  CHECK(rec.committed_seen == std::vector<uint64_t>{0, 0, 0, 1});
  auto& n = reply_of(f, none);
  REQUIRE(n.results.size() == 1);
  CHECK(n.results[0].code == storage::errc::ok);
  CHECK(n.results[0].rec.fields == "[0]");
  auto& r = reply_of(f, refused);
  REQUIRE(r.results.size() == 1);
  CHECK(r.results[0].code == storage::errc::duplicate_key);
  CHECK(r.results[0].message == "found duplicated key");
  CHECK(reply_of(f, two).results.size() == 3);
  CHECK(reply_of(f, three_).results.size() == 3);
  CHECK(a.db->last_committed_seq() == 2);
}
