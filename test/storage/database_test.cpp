// storage::database basics: layout of a new database, each operation's
// success and failure cases, batches, counts, browse, the change log, reopen.
#include <doctest/doctest.h>

#include <rocksdb/db.h>

#include <atomic>
#include <boost/json.hpp>
#include <thread>

#include "src/storage/database.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using troupe::test::temp_dir;

namespace {

std::vector<std::string> cluster_names(const database& db) {
  std::vector<std::string> out;
  for (auto& c : db.clusters()) out.push_back(std::to_string(c.id) + ":" + c.name);
  return out;
}

}  // namespace

TEST_CASE("storage: database: a new database has the base clusters and classes") {
  temp_dir t;
  auto db = open_db(t / "db");
  CHECK(cluster_names(*db) == std::vector<std::string>{"0:internal", "1:index", "2:default", "3:v", "4:e"});
  auto classes = db->classes();
  REQUIRE(classes.size() == 2);
  CHECK(classes[0].name == "E");
  CHECK(classes[0].default_cluster == 4);
  CHECK(classes[1].name == "V");
  CHECK(classes[1].default_cluster == 3);
  CHECK(db->last_lsn() == 0);
  CHECK(db->log_since(0, 100).empty());
  CHECK(db->cluster_by_name("V")->id == 3);
  CHECK(db->class_by_name("v")->name == "V");
  CHECK_FALSE(db->class_by_name("Person"));
  CHECK(db->dir() == t / "db");
  CHECK(db->check().ok());
}

TEST_CASE("storage: database: opening a missing folder without create_if_missing fails") {
  temp_dir t;
  open_options o;
  o.create_if_missing = false;
  auto r = database::open(t / "absent", o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == (t / "absent").string());
}

TEST_CASE("storage: database: create, update and remove a record") {
  temp_dir t;
  auto db = open_db(t / "db");
  auto c = apply_one(*db, create_op("V", R"({"name": "ann", "age": 31})"));
  REQUIRE(c.code == errc::ok);
  CHECK(c.rec.id == rid{3, 0});
  CHECK(c.rec.version == 1);
  CHECK(c.rec.class_name == "V");
  CHECK(c.rec.fields == R"({"name":"ann","age":31})");
  CHECK(c.lsn == 1);
  CHECK(c.rec.to_json() == R"({"@type":"d","@rid":"#3:0","@version":1,"@class":"V","name":"ann","age":31})");

  auto found = db->find({3, 0});
  REQUIRE(found);
  CHECK(found->fields == c.rec.fields);

  auto u = apply_one(*db, update_op({3, 0}, R"({"name":"ann","age":32})", 1));
  REQUIRE(u.code == errc::ok);
  CHECK(u.rec.version == 2);
  CHECK(u.lsn == 2);
  CHECK(db->find({3, 0})->version == 2);
  CHECK(db->find({3, 0})->fields == R"({"name":"ann","age":32})");

  auto r = apply_one(*db, remove_op({3, 0}, 2));
  REQUIRE(r.code == errc::ok);
  CHECK(r.rec.id == rid{3, 0});
  CHECK(r.lsn == 3);
  CHECK_FALSE(db->find({3, 0}));
  CHECK(db->cluster_by_name("v")->records == 0);
  // Positions are never reused.
  CHECK(apply_one(*db, create_op("V", "{}")).rec.id == rid{3, 1});
  CHECK(db->check().ok());
}

TEST_CASE("storage: database: a record with no fields prints only its metadata") {
  temp_dir t;
  auto db = open_db(t / "db");
  auto c = apply_one(*db, create_op("E", "{}"));
  CHECK(c.rec.to_json() == R"({"@type":"d","@rid":"#4:0","@version":1,"@class":"E"})");
  auto parsed = boost::json::parse(c.rec.to_json());
  CHECK(parsed.as_object().size() == 4);
}

TEST_CASE("storage: database: failed operations change nothing and get no LSN") {
  temp_dir t;
  auto db = open_db(t / "db");
  REQUIRE(apply_one(*db, create_op("V", R"({"a":1})")).code == errc::ok);
  auto before_lsn = db->last_lsn();

  CHECK(apply_one(*db, update_op({3, 0}, R"({"a":2})", 5)).code == errc::version_conflict);
  CHECK(apply_one(*db, remove_op({3, 0}, 2)).code == errc::version_conflict);
  CHECK(apply_one(*db, update_op({3, 9}, R"({"a":2})")).code == errc::not_found);
  CHECK(apply_one(*db, remove_op({3, 9})).code == errc::not_found);
  CHECK(apply_one(*db, remove_op({77, 0})).code == errc::not_found);
  CHECK(apply_one(*db, create_op("Nope", "{}")).code == errc::not_found);
  CHECK(apply_one(*db, update_op({-1, 0}, "{}")).code == errc::invalid_argument);
  CHECK(apply_one(*db, remove_op({3, -5})).code == errc::invalid_argument);

  auto f = db->find({3, 0});
  REQUIRE(f);
  CHECK(f->version == 1);
  CHECK(f->fields == R"({"a":1})");
  CHECK(db->last_lsn() == before_lsn);
  CHECK(db->log_since(0, 100).size() == 1);
  CHECK(db->check().ok());
}

TEST_CASE("storage: database: an error message says what went wrong") {
  temp_dir t;
  auto db = open_db(t / "db");
  auto r = apply_one(*db, create_op("Person", "{}"));
  CHECK(r.code == errc::not_found);
  CHECK(r.message.find("Person") != std::string::npos);
  CHECK(std::string(to_string(errc::version_conflict)) == "version_conflict");
}

TEST_CASE("storage: database: fields must be a JSON object") {
  temp_dir t;
  auto db = open_db(t / "db");
  const char* bad[] = {
      "",                  // empty
      "   ",               // only spaces
      "not json",          // junk
      "[1,2]",             // array
      "\"text\"",          // string
      "42",                // number
      "null",              // null
      "true",              // boolean
      "{",                 // truncated
      "{\"a\":",           // truncated value
      "{\"a\":1",          // missing '}'
      "{\"a\":1}}",        // trailing '}'
      "{\"a\":1} x",       // trailing junk
      "{a:1}",             // unquoted key
      "{'a':1}",           // single quotes
      "{\"a\":1,}",        // trailing comma
      "{\"a\":\"\xff\"}",  // invalid UTF-8
      "{\"a\":01}",        // leading zero
  };
  for (const char* s : bad) {
    CAPTURE(std::string(s));
    auto r = apply_one(*db, create_op("V", s));
    CHECK(r.code == errc::invalid_argument);
    CHECK_FALSE(r.message.empty());
  }
  // Too big is refused before parsing.
  std::string huge = R"({"a":")" + std::string(fields_bytes_max, 'x') + R"("})";
  CHECK(apply_one(*db, create_op("V", huge)).code == errc::invalid_argument);

  // Updates validate the same way.
  REQUIRE(apply_one(*db, create_op("V", "{}")).code == errc::ok);
  CHECK(apply_one(*db, update_op({3, 0}, "[]")).code == errc::invalid_argument);
  CHECK(db->last_lsn() == 1);
  CHECK(db->cluster_by_name("v")->records == 1);
  CHECK(db->cluster_by_name("v")->next_position == 1);
}

TEST_CASE("storage: database: top-level '@' keys are metadata and are not stored") {
  temp_dir t;
  auto db = open_db(t / "db");
  auto r = apply_one(*db,
      create_op("V", R"({"@class":"E","@rid":"#9:9","@version":7,"name":"x","sub":{"@keep":1}})"));
  REQUIRE(r.code == errc::ok);
  CHECK(r.rec.fields == R"({"name":"x","sub":{"@keep":1}})");
  CHECK(r.rec.class_name == "V");
  CHECK(r.rec.version == 1);
  CHECK(r.rec.id == rid{3, 0});
  auto u = apply_one(*db, update_op({3, 0}, R"({"@version":1,"name":"y"})"));
  CHECK(u.rec.fields == R"({"name":"y"})");
  CHECK(db->find({3, 0})->fields == R"({"name":"y"})");
}

TEST_CASE("storage: database: create_class makes a class and its cluster") {
  temp_dir t;
  auto db = open_db(t / "db");
  auto r = apply_one(*db, class_op("Person", "V"));
  REQUIRE(r.code == errc::ok);
  CHECK(r.lsn == 1);
  auto cls = db->class_by_name("PERSON");
  REQUIRE(cls);
  CHECK(cls->name == "Person");
  CHECK(cls->superclass == "V");
  CHECK(cls->default_cluster == 5);
  CHECK(db->cluster_by_name("person")->id == 5);

  auto c = apply_one(*db, create_op("person", R"({"n":1})"));
  REQUIRE(c.code == errc::ok);
  CHECK(c.rec.id == rid{5, 0});
  CHECK(c.rec.class_name == "Person");  // the class's own spelling

  CHECK(apply_one(*db, class_op("person")).code == errc::already_exists);
  CHECK(apply_one(*db, class_op("v")).code == errc::already_exists);
  CHECK(apply_one(*db, class_op("Car", "Vehicle")).code == errc::invalid_argument);
  CHECK(apply_one(*db, class_op("")).code == errc::invalid_argument);
  CHECK(apply_one(*db, class_op("has space")).code == errc::invalid_argument);
  CHECK(apply_one(*db, class_op("dash-ed")).code == errc::invalid_argument);
  CHECK(apply_one(*db, class_op("ünï")).code == errc::invalid_argument);
  CHECK(apply_one(*db, class_op(std::string(129, 'a'))).code == errc::invalid_argument);
  CHECK(apply_one(*db, class_op(std::string(128, 'a'))).code == errc::ok);
  // A class whose cluster name is taken gets a suffixed cluster.
  auto d = apply_one(*db, class_op("Default"));
  REQUIRE(d.code == errc::ok);
  CHECK(db->cluster_by_name("default_2")->id == db->class_by_name("Default")->default_cluster);
  CHECK(db->classes().size() == 5);
  CHECK(db->check().ok());
}

TEST_CASE("storage: database: each op of a batch sees the earlier ones") {
  temp_dir t;
  auto db = open_db(t / "db");
  auto r = db->apply({
      class_op("City"),
      create_op("City", R"({"n":"rome"})"),
      create_op("City", R"({"n":"oslo"})"),
      update_op({5, 0}, R"({"n":"roma"})", 1),
      update_op({5, 0}, R"({"n":"Roma"})", 1),  // stale: version is 2 by now
      remove_op({5, 1}, 1),
      create_op("Nope", "{}"),
      create_op("City", R"({"n":"bern"})"),
  });
  REQUIRE(r.size() == 8);
  CHECK(r[0].code == errc::ok);
  CHECK(r[1].rec.id == rid{5, 0});
  CHECK(r[2].rec.id == rid{5, 1});
  CHECK(r[3].code == errc::ok);
  CHECK(r[3].rec.version == 2);
  CHECK(r[4].code == errc::version_conflict);
  CHECK(r[5].code == errc::ok);
  CHECK(r[6].code == errc::not_found);
  CHECK(r[7].rec.id == rid{5, 2});
  // LSNs are consecutive over the successful ops only.
  std::vector<uint64_t> lsns;
  for (auto& x : r) lsns.push_back(x.lsn);
  CHECK(lsns == std::vector<uint64_t>{1, 2, 3, 4, 0, 5, 0, 6});
  CHECK(db->last_lsn() == 6);
  auto city = db->cluster_by_name("city");
  CHECK(city->records == 2);
  CHECK(city->next_position == 3);
  CHECK(db->check().ok());
}

TEST_CASE("storage: database: create at an explicit RID") {
  temp_dir t;
  auto db = open_db(t / "db");
  auto r = apply_one(*db, create_op("V", R"({"x":1})", {3, 10}));
  REQUIRE(r.code == errc::ok);
  CHECK(r.rec.id == rid{3, 10});
  CHECK(db->cluster_by_name("v")->next_position == 11);
  CHECK(apply_one(*db, create_op("V", "{}")).rec.id == rid{3, 11});
  // A lower free position does not move next_position back.
  CHECK(apply_one(*db, create_op("V", "{}", {3, 2})).code == errc::ok);
  CHECK(db->cluster_by_name("v")->next_position == 12);
  CHECK(apply_one(*db, create_op("V", "{}", {3, 10})).code == errc::already_exists);
  CHECK(apply_one(*db, create_op("V", "{}", {60, 0})).code == errc::not_found);
  CHECK(apply_one(*db, create_op("V", "{}", {3, INT64_MAX})).code == errc::invalid_argument);
  CHECK(apply_one(*db, create_op("V", "{}", {40000, 0})).code == errc::invalid_argument);
  CHECK(db->cluster_by_name("v")->records == 3);
  CHECK(db->check().ok());
}

TEST_CASE("storage: database: browse returns a cluster in position order, bounded") {
  temp_dir t;
  auto db = open_db(t / "db");
  std::vector<op> ops;
  // Explicit positions out of order, across two clusters, some > 255 to cross
  // a byte boundary in the big-endian key.
  for (int64_t p : {300, 5, 256, 0, 255, 1000, 7}) ops.push_back(create_op("V", "{}", {3, p}));
  for (int i = 0; i < 3; ++i) ops.push_back(create_op("E", "{}"));
  for (auto& r : db->apply(ops)) REQUIRE(r.code == errc::ok);

  auto all = db->browse_cluster(3, 100);
  std::vector<int64_t> positions;
  for (auto& r : all) positions.push_back(r.id.position);
  CHECK(positions == std::vector<int64_t>{0, 5, 7, 255, 256, 300, 1000});
  CHECK(db->browse_cluster(3, 3).size() == 3);
  CHECK(db->browse_cluster(3, 0).empty());
  auto page = db->browse_cluster(3, 256, 2);
  REQUIRE(page.size() == 2);
  CHECK(page[0].id.position == 256);
  CHECK(page[1].id.position == 300);
  CHECK(db->browse_cluster(4, 100).size() == 3);
  CHECK(db->browse_cluster(2, 100).empty());
  CHECK(db->browse_cluster(999, 100).empty());
  CHECK(db->browse_cluster(-1, 100).empty());
  CHECK(db->cluster_by_name("v")->records == 7);
  CHECK(db->cluster_by_name("e")->records == 3);
}

TEST_CASE("storage: database: the change log holds every successful op in LSN order") {
  temp_dir t;
  auto db = open_db(t / "db");
  (void)db->apply({class_op("Person", "V"), create_op("Person", R"({"@x":1, "n":1})")});
  (void)db->apply({update_op({5, 0}, R"({"n":2})"), remove_op({9, 9}), remove_op({5, 0})});
  auto log = db->log_since(0, 100);
  REQUIRE(log.size() == 4);
  for (size_t i = 0; i < log.size(); ++i) CHECK(log[i].lsn == i + 1);
  CHECK(log[0].applied.k == op::kind::create_class);
  CHECK(log[0].applied.class_name == "Person");
  CHECK(log[0].applied.superclass == "V");
  CHECK(log[0].applied.id.cluster == 5);
  CHECK(log[1].applied.k == op::kind::create);
  CHECK(log[1].applied.id == rid{5, 0});
  CHECK(log[1].applied.expected_version == 1);
  CHECK(log[1].applied.fields == R"({"n":1})");  // as stored, '@' keys gone
  CHECK(log[2].applied.k == op::kind::update);
  CHECK(log[2].applied.expected_version == 2);
  CHECK(log[2].applied.class_name == "Person");
  CHECK(log[3].applied.k == op::kind::remove);
  CHECK(log[3].applied.id == rid{5, 0});
  CHECK(log[3].applied.expected_version == 2);

  auto tail = db->log_since(2, 100);
  REQUIRE(tail.size() == 2);
  CHECK(tail[0].lsn == 3);
  CHECK(db->log_since(1, 2).size() == 2);
  CHECK(db->log_since(4, 100).empty());
  CHECK(db->log_since(UINT64_MAX, 100).empty());
}

TEST_CASE("storage: database: reopening keeps records, classes, next positions and the LSN") {
  temp_dir t;
  {
    auto db = open_db(t / "db", true);
    (void)db->apply({class_op("Person", "V"), create_op("Person", R"({"n":1})"), create_op("Person", R"({"n":2})"),
                     create_op("V", "{}", {3, 40})});
    (void)db->apply({remove_op({5, 1}), update_op({5, 0}, R"({"n":3})")});
    CHECK(db->last_lsn() == 6);
  }
  auto db = open_db(t / "db", true);
  CHECK(db->check().ok());
  CHECK(db->last_lsn() == 6);
  CHECK(db->class_by_name("person")->superclass == "V");
  auto person = db->cluster_by_name("person");
  CHECK(person->records == 1);
  CHECK(person->next_position == 2);
  CHECK(db->cluster_by_name("v")->next_position == 41);
  CHECK(db->find({5, 0})->version == 2);
  CHECK(db->find({5, 0})->fields == R"({"n":3})");
  CHECK_FALSE(db->find({5, 1}));
  // Counting continues where it stopped.
  auto r = db->apply({create_op("Person", "{}"), create_op("V", "{}"), class_op("Car")});
  CHECK(r[0].rec.id == rid{5, 2});
  CHECK(r[1].rec.id == rid{3, 41});
  CHECK(r[2].rec.id.cluster == 6);
  CHECK(r[0].lsn == 7);
  CHECK(db->log_since(0, 100).size() == 9);
}

TEST_CASE("storage: database: a folder that is not a troupe database is refused") {
  temp_dir t;
  auto raw_put = [](const std::filesystem::path& dir, const std::string& k, const std::string& v) {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    REQUIRE(db->Put(rocksdb::WriteOptions(), k, v).ok());
  };
  raw_put(t / "foreign", "some", "thing");
  auto r = database::open(t / "foreign");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().what.find("not a troupe database") != std::string::npos);

  {
    auto db = open_db(t / "future");
  }
  raw_put(t / "future", "Mformat", "9");
  r = database::open(t / "future");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().what.find("unsupported database format") != std::string::npos);

  std::filesystem::create_directories(t / "junk");
  troupe::test::write_text(t / "junk" / "CURRENT", "garbage\n");
  CHECK_FALSE(database::open(t / "junk").ok());
}

TEST_CASE("storage: database: a batch larger than the bound is refused whole") {
  temp_dir t;
  auto db = open_db(t / "db");
  std::vector<op> ops(batch_ops_max + 1, create_op("V", "{}"));
  auto r = db->apply(ops);
  REQUIRE(r.size() == ops.size());
  CHECK(r.front().code == errc::invalid_argument);
  CHECK(r.back().code == errc::invalid_argument);
  CHECK(db->last_lsn() == 0);
  CHECK(db->cluster_by_name("v")->records == 0);
}

TEST_CASE("storage: database: readers on other threads see whole batches") {
  temp_dir t;
  auto db = open_db(t / "db");
  constexpr int batches = 200;
  constexpr int ops_per_batch = 5;
  std::atomic<bool> done{false};
  std::atomic<int> violations{0};
  // Every batch creates ops_per_batch records: a consistent browse always sees
  // a multiple of ops_per_batch records, and LSN never goes backwards.
  std::thread reader([&] {
    uint64_t seen_lsn = 0;
    for (int i = 0; i < batches * 10 && !done.load(); ++i) {
      auto lsn = db->last_lsn();
      if (lsn < seen_lsn) violations++;
      seen_lsn = lsn;
      auto page = db->browse_cluster(3, browse_records_max);
      if (page.size() % ops_per_batch != 0) violations++;
    }
  });
  for (int b = 0; b < batches; ++b) {
    std::vector<op> ops(ops_per_batch, create_op("V", R"({"b":1})"));
    for (auto& r : db->apply(ops)) REQUIRE(r.code == errc::ok);
  }
  done = true;
  reader.join();
  CHECK(violations.load() == 0);
  CHECK(db->cluster_by_name("v")->records == batches * ops_per_batch);
  CHECK(db->check().ok());
}
