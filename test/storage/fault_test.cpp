// Fault injection: when RocksDB cannot write a batch, every op reports
// io_error and neither the in-memory metadata nor the disk changes.
#include <doctest/doctest.h>

#include "src/storage/database.hpp"
#include "test/storage/fault_env.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using troupe::test::temp_dir;

namespace {

std::string describe(const database& db) {
  std::string out = std::to_string(db.last_lsn());
  for (auto& c : db.clusters())
    out += " " + std::to_string(c.id) + ":" + c.name + ":" + std::to_string(c.records) + ":" +
           std::to_string(c.next_position);
  for (auto& c : db.classes()) out += " " + c.name + "<" + c.superclass + ">" + std::to_string(c.default_cluster);
  return out;
}

}  // namespace

TEST_CASE("storage: fault: a failed write reports io_error for every op and rolls back") {
  temp_dir t;
  auto fs = std::make_shared<fault_fs>(rocksdb::FileSystem::Default());
  auto env = rocksdb::NewCompositeEnv(fs);
  std::string before;
  {
    open_options o;
    o.env = env.get();
    auto opened = database::open(t / "db", o);
    REQUIRE(opened.ok());
    auto& db = *opened.value();
    for (auto& r : db.apply({class_op("Person"), create_op("Person", R"({"n":1})"), create_op("V", R"({"n":2})")}))
      REQUIRE(r.code == errc::ok);
    before = describe(db);

    fs->fail_wal = true;
    auto r = db.apply({class_op("Car"), create_op("Person", R"({"n":3})"), update_op({5, 0}, R"({"n":4})"),
                       remove_op({3, 0}), create_op("Nope", "{}")});
    REQUIRE(r.size() == 5);
    for (auto& x : r) {
      CHECK(x.code == errc::io_error);
      CHECK(x.lsn == 0);
      CHECK(x.message.find("injected") != std::string::npos);
    }
    CHECK(fs->failures.load() > 0);
    // Memory is as before the batch: counters, next positions, classes, LSN.
    CHECK(describe(db) == before);
    CHECK_FALSE(db.class_by_name("Car"));
    CHECK(db.find({5, 0})->fields == R"({"n":1})");
    CHECK(db.find({3, 0}));
    CHECK_FALSE(db.find({5, 1}));
    CHECK(db.check().ok());

    // RocksDB may refuse writes until reopened; whatever it does, a result is
    // ok or io_error and memory stays consistent with disk.
    fs->fail_wal = false;
    for (auto& x : db.apply({create_op("V", "{}")})) CHECK((x.code == errc::ok || x.code == errc::io_error));
    CHECK(db.check().ok());
  }
  // After a reopen the failed batch is nowhere.
  auto db = open_db(t / "db");
  CHECK(db->check().ok());
  CHECK_FALSE(db->class_by_name("Car"));
  CHECK(db->find({5, 0})->version == 1);
  CHECK_FALSE(db->find({5, 1}));
  CHECK(db->log_since(0, 100).size() >= 3);
  CHECK(db->log_since(0, 100).size() <= 4);
}
