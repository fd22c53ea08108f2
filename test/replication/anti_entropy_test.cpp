// replication::anti_entropy: which check messages a node acts on (tables of
// cases over check_context), when the owner starts a round, the behind-the-log
// notices' pacing, and a whole round between two real RocksDB copies.
#include <doctest/doctest.h>

#include "src/replication/anti_entropy.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::replication;

namespace {

// A replica of owner "a" in epoch 0x100, committed up to seq 7.
check_context replica_of_a() {
  check_context c;
  c.following_epoch = 0x100;
  c.role_owner = "a";
  c.committed_seq = 7;
  return c;
}

// Owner "a" in epoch 0x100, committed up to seq 7, nothing pending.
check_context owner_a() {
  check_context c;
  c.owns = true;
  c.owner_commit_seq = 7;
  c.owner_epoch = 0x100;
  c.role_owner = "a";
  c.committed_seq = 7;
  return c;
}

check_msg msg(check_kind k, uint64_t at, size_t ids = 1) {
  check_msg m;
  m.kind = k;
  m.at_seq = at;
  for (size_t i = 0; i < ids; ++i) {
    m.ids.push_back(static_cast<int32_t>(i + 3));
    m.counts.push_back(1);
    m.hashes.push_back(1);
  }
  return m;
}

struct row {
  const char* why;
  check_context c;
  std::string from;
  check_msg m;
  bool accepted;
};

void check_rows(const std::vector<row>& rows) {
  for (auto& r : rows) {
    CAPTURE(r.why);
    CHECK(accepts(r.c, r.from, r.m) == r.accepted);
  }
}

// `x` changed by `f`: a row that differs from the usual case in one field.
template <class T, class F>
T with(T x, F f) {
  f(x);
  return x;
}

}  // namespace

TEST_CASE("anti-entropy: a replica takes digests only from the owner it follows, at its own commit seq") {
  auto dig = [](uint64_t at) { return msg(check_kind::digests, at, 2); };
  check_rows({
      {"from its owner, at its commit seq", replica_of_a(), "a", dig(7), true},
      {"from another member", replica_of_a(), "b", dig(7), false},
      {"no role yet", with(replica_of_a(), [](auto& c) { c.role_owner.reset(); }), "a", dig(7), false},
      {"behind the owner's seq", replica_of_a(), "a", dig(8), false},
      {"ahead of the owner's seq", replica_of_a(), "a", dig(6), false},
      {"this node owns", owner_a(), "a", dig(7), false},
      {"counts missing", replica_of_a(), "a", with(dig(7), [](auto& m) { m.counts.pop_back(); }), false},
      {"hashes missing", replica_of_a(), "a", with(dig(7), [](auto& m) { m.hashes.pop_back(); }), false},
      {"no clusters at all (nothing differs)", replica_of_a(), "a", msg(check_kind::digests, 7, 0), true},
  });
}

TEST_CASE("anti-entropy: the owner serves a repair request only at the seq it was asked at, with nothing pending") {
  auto diff = [](uint64_t at) { return msg(check_kind::differing, at); };
  check_rows({
      {"the owner at that seq", owner_a(), "b", diff(7), true},
      {"any member may ask (it only reads)", owner_a(), "z", diff(7), true},
      {"a write is pending", with(owner_a(), [](auto& c) { c.pending = 1; }), "b", diff(7), false},
      {"the owner moved on", owner_a(), "b", diff(6), false},
      {"not the owner", replica_of_a(), "b", diff(7), false},
  });
}

TEST_CASE("anti-entropy: a replica takes a repair only from the owner it follows, at its commit seq, one cluster") {
  auto recs = [](uint64_t at, size_t ids = 1) { return msg(check_kind::records, at, ids); };
  check_rows({
      {"from its owner, at its commit seq", replica_of_a(), "a", recs(7), true},
      {"from another member (a repair overwrites records)", replica_of_a(), "b", recs(7), false},
      {"the replica moved on", replica_of_a(), "a", recs(6), false},
      {"two clusters in one message", replica_of_a(), "a", recs(7, 2), false},
      {"no cluster", replica_of_a(), "a", recs(7, 0), false},
      {"this node owns", owner_a(), "a", recs(7), false},
  });
}

TEST_CASE("anti-entropy: a replica goes to a full deploy only for the owner it follows, in its epoch, past its log") {
  auto behind = [](uint64_t log_start, uint64_t epoch = 0x100) {
    auto m = msg(check_kind::behind_log, log_start, 0);
    m.epoch = epoch;
    return m;
  };
  check_rows({
      {"its owner's log starts past its commit point and the next seq", replica_of_a(), "a", behind(9), true},
      {"the log starts at its next seq: appends can still reach it", replica_of_a(), "a", behind(8), false},
      {"the log starts before its commit point", replica_of_a(), "a", behind(3), false},
      {"another epoch", replica_of_a(), "a", behind(9, 0x200), false},
      {"from another member", replica_of_a(), "b", behind(9), false},
      {"not following anyone", with(replica_of_a(), [](auto& c) { c.following_epoch.reset(); }), "a", behind(9),
       false},
      {"taking over", with(replica_of_a(), [](auto& c) { c.taking_over = true; }), "a", behind(9), false},
      {"this node owns", owner_a(), "a", behind(9), false},
  });
  check_rows({{"not a check", replica_of_a(), "a", msg(check_kind::none, 7), false},
              {"an unknown kind from the wire", replica_of_a(), "a", msg(static_cast<check_kind>(9), 7), false}});
}

TEST_CASE("anti-entropy: the owner starts a round every period, skipping one while a write is pending") {
  test::temp_dir dir;
  auto db = storage::testing::open_db(dir / "a");
  anti_entropy ae(*db, "demo");
  auto busy = with(owner_a(), [](auto& c) { c.pending = 2; });
  struct step {
    check_context c;
    uint32_t every_s;
    int64_t now_ms;
    bool round;
    const char* why;
  } steps[] = {
      {replica_of_a(), 5, 0, false, "a replica never starts one"},
      {owner_a(), 0, 0, false, "resyncEvery 0: off"},
      {owner_a(), 5, 1000, true, "the first tick of an owner"},
      {owner_a(), 5, 5999, false, "within the period"},
      {busy, 5, 6000, false, "due, but a write is pending: this round is skipped"},
      {owner_a(), 5, 7000, false, "... and the next comes a period later"},
      {owner_a(), 5, 11000, true, "a period after the skipped one"},
  };
  for (auto& s : steps) {
    CAPTURE(s.why);
    auto d = ae.tick(s.c, s.every_s, s.now_ms);
    CHECK(d.has_value() == s.round);
    if (d) {
      CHECK(d->kind == check_kind::digests);
      CHECK(d->at_seq == 7);
      CHECK(d->ids.size() == db->digest().size());
    }
  }
  CHECK(may_start_round(owner_a()));
  CHECK_FALSE(may_start_round(busy));
  CHECK_FALSE(may_start_round(replica_of_a()));
}

TEST_CASE("anti-entropy: a replica behind the log is told at most once a second and logged at most once a minute") {
  test::temp_dir dir;
  auto db = storage::testing::open_db(dir / "a");
  anti_entropy ae(*db, "demo");
  struct step {
    const char* to;
    int64_t now_ms;
    bool owns;
    size_t notes, sends;
    const char* why;
  } steps[] = {
      {"b", 1000, true, 1, 1, "first time: logged and told"},
      {"b", 1500, true, 0, 0, "half a second later: neither"},
      {"c", 1500, true, 1, 1, "another replica has its own pace"},
      {"b", 2001, true, 0, 1, "a second later: told again, not logged"},
      {"b", 61001, false, 1, 0, "a minute later, no longer the owner: logged, not told"},
      {"b", 61002, true, 0, 1, "the owner again: told"},
  };
  for (auto& s : steps) {
    CAPTURE(s.why);
    check_effects fx;
    ae.behind_log(s.owns ? owner_a() : replica_of_a(), s.to, 42, s.now_ms, fx);
    CHECK(fx.notes.size() == s.notes);
    REQUIRE(fx.sends.size() == s.sends);
    if (s.sends) {
      CHECK(fx.sends[0].first == s.to);
      CHECK(fx.sends[0].second.kind == check_kind::behind_log);
      CHECK(fx.sends[0].second.at_seq == 42);
      CHECK(fx.sends[0].second.epoch == 0x100);
    }
    if (s.notes)
      CHECK(fx.notes[0].text == cat("database demo: ", s.to,
                                    " is behind the replication log (the log starts at 42): it needs a full deploy;"
                                    " asking it to take one from this node"));
  }
  // A notice the replica accepts asks its cluster for a full copy from that owner.
  anti_entropy replica(*db, "demo");
  check_effects fx;
  auto notice = msg(check_kind::behind_log, 42, 0);
  notice.epoch = 0x100;
  replica.on_check(replica_of_a(), "a", notice, fx);
  REQUIRE(fx.redeploy_from);
  CHECK(*fx.redeploy_from == "a");
}

TEST_CASE("anti-entropy: two copies that differ in one cluster are found and repaired by one round") {
  using namespace storage::testing;
  test::temp_dir dir;
  auto a_db = open_db(dir / "a");  // the owner's copy
  auto b_db = open_db(dir / "b");  // a replica's copy
  std::vector<storage::op> ops;
  for (int i = 0; i < 20; ++i) ops.push_back(create_op("V", cat(R"({"n":)", i, "}")));
  ops.push_back(create_op("E", R"({"e":1})"));
  for (auto* db : {a_db.get(), b_db.get()})
    for (auto& r : db->apply(ops)) REQUIRE(r.code == storage::errc::ok);
  auto v = a_db->cluster_by_name("v");
  REQUIRE(v);
  // Damage b's copy of V behind replication's back: a changed field, a removed record, a stray one.
  auto first = a_db->browse_cluster(v->id, 2);
  REQUIRE(first.size() == 2);
  for (auto& r : b_db->apply({update_op(first[0].id, R"({"n":"damaged"})"), remove_op(first[1].id),
                              create_op("V", R"({"stray":1})")}))
    REQUIRE(r.code == storage::errc::ok);

  auto ctx_a = owner_a();
  ctx_a.owner_commit_seq = ctx_a.committed_seq = a_db->last_committed_seq();
  auto ctx_b = replica_of_a();
  ctx_b.committed_seq = b_db->last_committed_seq();
  anti_entropy owner_ae(*a_db, "demo"), replica_ae(*b_db, "demo");

  auto digests = owner_ae.tick(ctx_a, 1, 0);
  REQUIRE(digests);
  check_effects at_b;
  replica_ae.on_check(ctx_b, "a", *digests, at_b);
  REQUIRE(at_b.sends.size() == 1);
  CHECK(at_b.sends[0].first == "a");
  CHECK(at_b.sends[0].second.kind == check_kind::differing);
  CHECK(at_b.sends[0].second.ids == std::vector<int32_t>{v->id});  // only V differs (E is equal)
  REQUIRE(at_b.notes.size() == 1);
  CHECK(at_b.notes[0].lvl == note::level::warn);
  CHECK(at_b.notes[0].text == cat("anti-entropy: database demo differs from the owner a at seq ", ctx_b.committed_seq,
                                  " in cluster(s) v (20 records here, 20 on the owner); asking for a repair"));

  check_effects at_a;
  owner_ae.on_check(ctx_a, "b", at_b.sends[0].second, at_a);
  REQUIRE(at_a.sends.size() == 1);
  CHECK(at_a.sends[0].first == "b");
  CHECK(at_a.sends[0].second.kind == check_kind::records);
  CHECK(at_a.sends[0].second.keys.size() == 20);

  check_effects repaired;
  replica_ae.on_check(ctx_b, "a", at_a.sends[0].second, repaired);
  CHECK(replica_ae.repaired() == 3);
  REQUIRE(repaired.notes.size() == 1);
  CHECK(repaired.notes[0].text ==
        cat("anti-entropy: repaired cluster v of database demo at seq ", ctx_b.committed_seq,
            ": 3 record(s) differed from the owner a's"));
  REQUIRE(b_db->check().ok());

  // Equal now: the next round finds nothing to ask for.
  auto again = owner_ae.tick(ctx_a, 1, 1000);
  REQUIRE(again);
  check_effects none;
  replica_ae.on_check(ctx_b, "a", *again, none);
  CHECK(none.sends.empty());
  CHECK(none.notes.empty());
  auto x = a_db->digest(), y = b_db->digest();
  REQUIRE(x.size() == y.size());
  for (size_t i = 0; i < x.size(); ++i) {
    CHECK(x[i].records == y[i].records);
    CHECK(x[i].hash == y[i].hash);
  }
  // A repair from a member that is not its owner changes nothing.
  check_effects stray;
  replica_ae.on_check(ctx_b, "z", at_a.sends[0].second, stray);
  CHECK(stray.notes.empty());
  CHECK(replica_ae.repaired() == 3);
}
