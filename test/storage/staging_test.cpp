// Staged writes (the replication log's pending part): durable but invisible
// until committed, gone without a trace when discarded, kept across a reopen,
// committed atomically with their removal. Real RocksDB on disk.
#include <doctest/doctest.h>

#include "src/storage/codec.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::storage;
using namespace troupe::storage::testing;

namespace {

staged_entry entry(uint64_t seq, std::vector<op> ops, uint64_t epoch = 1) { return staged_entry{seq, epoch, std::move(ops)}; }

}  // namespace

TEST_CASE("staging: a staged write is durable but invisible until committed") {
  test::temp_dir dir;
  {
    auto db = database::open(dir / "db");
    REQUIRE(db.ok());
    auto& d = **db;
    REQUIRE(d.stage(entry(1, {create_op("V", R"({"a":1})"), create_op("V", R"({"a":2})")})).ok());
    REQUIRE(d.stage(entry(2, {create_op("V", R"({"a":3})")}, 2)).ok());
    // Invisible: no record, no log entry, no LSN, no cluster count.
    CHECK(d.last_lsn() == 0);
    CHECK(d.browse_cluster(3, 100).empty());
    CHECK(d.log_since(0, 100).empty());
    CHECK(d.cluster_by_name("v")->records == 0);
    CHECK(d.last_committed_seq() == 0);
    REQUIRE(d.check().ok());
  }
  // Durable: still pending after a reopen, with its ops and epoch.
  auto db = database::open(dir / "db");
  REQUIRE(db.ok());
  auto& d = **db;
  auto pending = d.staged();
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].seq == 1);
  CHECK(pending[0].epoch == 1);
  REQUIRE(pending[0].ops.size() == 2);
  CHECK(pending[0].ops[1].fields == R"({"a":2})");
  CHECK(pending[1].epoch == 2);
  // Commit the first: applied in order, removed, seq recorded, atomically.
  auto r = d.commit_staged(1);
  REQUIRE(r.ok());
  REQUIRE(r->size() == 1);
  REQUIRE((*r)[0].size() == 2);
  CHECK((*r)[0][0].code == errc::ok);
  CHECK((*r)[0][1].lsn == 2);
  CHECK(d.last_lsn() == 2);
  CHECK(d.last_committed_seq() == 1);
  CHECK(d.browse_cluster(3, 100).size() == 2);
  CHECK(d.staged().size() == 1);
  REQUIRE(d.check().ok());
  // Committing up to a seq past everything applies the rest.
  r = d.commit_staged(100);
  REQUIRE(r.ok());
  CHECK(r->size() == 1);
  CHECK(d.last_committed_seq() == 2);
  CHECK(d.staged().empty());
  CHECK(d.browse_cluster(3, 100).size() == 3);
  REQUIRE(d.check().ok());
}

TEST_CASE("staging: a discarded write leaves no trace, on disk or after a reopen") {
  test::temp_dir dir;
  {
    auto db = database::open(dir / "db");
    REQUIRE(db.ok());
    auto& d = **db;
    REQUIRE(d.stage(entry(1, {create_op("V", R"({"keep":1})")})).ok());
    REQUIRE(d.stage(entry(2, {create_op("V", R"({"lost":2})")})).ok());
    REQUIRE(d.stage(entry(3, {create_op("V", R"({"lost":3})")})).ok());
    REQUIRE(d.discard_staged(2).ok());  // the quorum did not answer for 2 and 3
    REQUIRE(d.commit_staged(3).ok());
    CHECK(d.last_committed_seq() == 1);
    // The owner orders again after the discarded ones (a gap is fine, going back is not).
    CHECK_FALSE(d.stage(entry(1, {create_op("V", "{}")})).ok());
    REQUIRE(d.stage(entry(4, {create_op("V", R"({"next":4})")})).ok());
    REQUIRE(d.commit_staged(4).ok());
    REQUIRE(d.check().ok());
  }
  auto db = database::open(dir / "db");
  REQUIRE(db.ok());
  auto recs = (*db)->browse_cluster(3, 100);
  REQUIRE(recs.size() == 2);
  CHECK(recs[0].fields == R"({"keep":1})");
  CHECK(recs[1].fields == R"({"next":4})");
  CHECK((*db)->last_committed_seq() == 4);
  CHECK((*db)->staged().empty());
  REQUIRE((*db)->check().ok());
}

TEST_CASE("staging: bad sequence numbers and sizes are refused and change nothing") {
  test::temp_dir dir;
  auto db = database::open(dir / "db");
  REQUIRE(db.ok());
  auto& d = **db;
  REQUIRE(d.stage(entry(5, {create_op("V", "{}")})).ok());
  std::vector<op> too_many(batch_ops_max + 1, create_op("V", "{}"));
  struct row {
    const char* what;
    staged_entry e;
  };
  for (auto& [what, e] : std::vector<row>{
           {"seq 0", entry(0, {create_op("V", "{}")})},
           {"seq equal to the last staged", entry(5, {create_op("V", "{}")})},
           {"seq below the last staged", entry(3, {create_op("V", "{}")})},
           {"no ops", entry(6, {})},
           {"more ops than a batch", entry(7, too_many)},
       }) {
    CAPTURE(what);
    CHECK_FALSE(d.stage(e).ok());
  }
  CHECK(d.staged().size() == 1);
  // Committing nothing, or discarding nothing, is fine and changes nothing.
  auto r = d.commit_staged(4);
  REQUIRE(r.ok());
  CHECK(r->empty());
  CHECK(d.discard_staged(6).ok());
  CHECK(d.staged().size() == 1);
  // A committed seq cannot be staged again.
  REQUIRE(d.commit_staged(5).ok());
  CHECK_FALSE(d.stage(entry(5, {create_op("V", "{}")})).ok());
  REQUIRE(d.check().ok());
}

TEST_CASE("staging: an entry whose op fails on commit fails whole, and its seq is still committed") {
  test::temp_dir dir;
  auto db = database::open(dir / "db");
  REQUIRE(db.ok());
  auto& d = **db;
  REQUIRE(d.stage(entry(1, {create_op("NoSuchClass", "{}"), create_op("V", R"({"ok":true})")})).ok());
  auto r = d.commit_staged(1);
  REQUIRE(r.ok());
  REQUIRE((*r)[0].size() == 2);
  CHECK((*r)[0][0].code == errc::not_found);
  // An entry is all or nothing: the good op is refused with the same code.
  CHECK((*r)[0][1].code == errc::not_found);
  CHECK((*r)[0][1].message == "not applied: operation 1 of this write failed: no class 'NoSuchClass'");
  CHECK(d.browse_cluster(3, 10).empty());
  CHECK(d.last_lsn() == 0);
  CHECK(d.last_committed_seq() == 1);
  CHECK(d.staged().empty());
  REQUIRE(d.check().ok());
}

TEST_CASE("staging: the staged value codec refuses damaged bytes") {
  auto good = codec::encode_staged(entry(9, {create_op("V", R"({"x":1})"), remove_op(rid{3, 4}, 2)}, 7));
  auto back = codec::decode_staged(9, good);
  REQUIRE(back.has_value());
  CHECK(back->epoch == 7);
  REQUIRE(back->ops.size() == 2);
  CHECK(back->ops[1].k == op::kind::remove);
  CHECK(back->ops[1].expected_version == 2);
  for (auto bad : {std::string(), good.substr(0, 12), good.substr(0, good.size() - 1), good + "x",
                   std::string(1, '\x7f') + good.substr(1)}) {
    CHECK_FALSE(codec::decode_staged(9, bad).has_value());
  }
  CHECK_FALSE(codec::parse_staged_key("P123").has_value());
  CHECK(codec::parse_staged_key(codec::staged_key(42)) == 42u);
}

TEST_CASE("anti-entropy storage: equal copies have equal digests; a repair makes a damaged copy equal") {
  test::temp_dir dir;
  auto a = database::open(dir / "a");
  auto b = database::open(dir / "b");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::vector<op> ops;
  for (int i = 0; i < 20; ++i) ops.push_back(create_op("V", cat(R"({"n":)", i, "}")));
  for (auto& r : (*a)->apply(ops)) REQUIRE(r.code == errc::ok);
  for (auto& r : (*b)->apply(ops)) REQUIRE(r.code == errc::ok);
  auto same = [&] {
    auto x = (*a)->digest(), y = (*b)->digest();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (x[i].id != y[i].id || x[i].records != y[i].records || x[i].hash != y[i].hash) return false;
    return true;
  };
  CHECK(same());
  // Damage b: a changed field, a removed record, a stray one.
  op upd;
  upd.k = op::kind::update;
  upd.id = rid{3, 4};
  upd.fields = R"({"n":"damaged"})";
  op del;
  del.k = op::kind::remove;
  del.id = rid{3, 7};
  for (auto& r : (*b)->apply({upd, del, create_op("V", R"({"stray":1})")})) REQUIRE(r.code == errc::ok);
  CHECK_FALSE(same());
  std::vector<std::string> keys, values;
  (*a)->cluster_raw(3, &keys, &values);
  CHECK(keys.size() == 20);
  size_t changed = 0;
  REQUIRE((*b)->repair_cluster(3, keys, values, &changed).ok());
  CHECK(changed == 3);
  CHECK(same());
  CHECK((*b)->cluster_by_name("v")->records == 20);
  REQUIRE((*b)->check().ok());
  // A repair again changes nothing.
  REQUIRE((*b)->repair_cluster(3, keys, values, &changed).ok());
  CHECK(changed == 0);

  // Bad repairs are refused and change nothing.
  auto before = (*b)->digest();
  struct bad {
    const char* why;
    int32_t cluster;
    std::vector<std::string> k, v;
  };
  std::vector<bad> bads{
      {"unknown cluster", 999, {}, {}},
      {"keys and values of different lengths", 3, {keys[0]}, {}},
      {"a key of another cluster", 3, {codec::record_key(rid{4, 0})}, {values[0]}},
      {"not a record key", 3, {"Mlast_seq"}, {values[0]}},
  };
  for (auto& x : bads) {
    CAPTURE(x.why);
    CHECK_FALSE((*b)->repair_cluster(x.cluster, x.k, x.v, &changed).ok());
  }
  auto after = (*b)->digest();
  REQUIRE(after.size() == before.size());
  for (size_t i = 0; i < after.size(); ++i) CHECK(after[i].hash == before[i].hash);
}

TEST_CASE("staging: the replication log keeps the last log_keep committed entries, across a reopen") {
  test::temp_dir dir;
  open_options o;
  o.log_keep = 8;
  {
    auto db = database::open(dir / "db", o);
    REQUIRE(db.ok());
    auto& d = **db;
    CHECK(d.log_keep() == 8);
    for (uint64_t s = 1; s <= 40; ++s) {
      REQUIRE(d.stage(entry(s, {create_op("V", cat(R"({"n":)", s, "}"))})).ok());
      REQUIRE(d.commit_staged(s).ok());
    }
    // Trimmed in steps of log_keep: never fewer than 8 kept, never more than 15.
    auto kept = d.committed_since(0, 1000);
    REQUIRE(!kept.empty());
    CHECK(kept.back().seq == 40);
    CHECK(kept.size() >= 8);
    CHECK(kept.size() < 16);
    CHECK(kept.front().seq == 40 - kept.size() + 1);  // no hole inside what is kept
    CHECK_FALSE(d.committed_at_or_before(kept.front().seq - 1).has_value());  // older: gone
    CHECK(d.cluster_by_name("v")->records == 40);  // the records themselves are all there
  }
  auto db = database::open(dir / "db", o);
  REQUIRE(db.ok());
  CHECK((*db)->committed_since(0, 1000).back().seq == 40);
  // A log_keep of 0 would keep nothing to resend from: it is taken as 1.
  open_options zero;
  zero.log_keep = 0;
  db->reset();
  auto db0 = database::open(dir / "db", zero);
  REQUIRE(db0.ok());
  CHECK((*db0)->log_keep() == 1);
}
