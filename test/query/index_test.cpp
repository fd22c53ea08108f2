// src/query/plan and select's index path: every statement gives the same
// rows, in the same order, through an index as by scanning (the differential
// test, seeded), EXPLAIN's profile, and the bounds of the index path.
//
// A failure prints the seed; TROUPE_SEED=<n> replays just that seed.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "src/query/parser.hpp"
#include "src/query/plan.hpp"
#include "src/query/select.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::query;
using namespace troupe::storage::testing;
namespace json = boost::json;

namespace {

constexpr uint64_t ci_seeds[] = {1, 2, 3, 42, 20240601};
constexpr int records_per_seed = 240;
constexpr int statements_per_seed = 300;

struct generator {
  std::mt19937_64 rng;
  explicit generator(uint64_t seed) : rng(seed) {}
  uint64_t below(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(v.size())]; }
};

// Numbers where integers and reals meet: 2 and 2.0, both sides of 2^53 (where
// a double cannot tell n from n + 1), the ends of int64 and past them.
const std::vector<std::string>& number_texts() {
  static const std::vector<std::string> v{
      "0",   "1",   "2",    "2.0",  "2.5",  "3",  "-1", "-2.0", "7", "10", "1e1",
      "9007199254740992",   "9007199254740993", "9007199254740992.0", "9007199254740994",
      "9223372036854775807", "-9223372036854775808", "9223372036854775808.0", "18446744073709551615",
      "1e300", "-0.0", "0.5"};
  return v;
}
const std::vector<std::string>& string_texts() {
  static const std::vector<std::string> v{"\"\"", "\"a\"", "\"b\"", "\"ab\"", "\"a\\u0000\"", "\"B\"", "\"\\u00e9\"",
                                          "\"2\"", "\"true\""};
  return v;
}

// A JSON value of any kind, as text (what a field without a property holds).
std::string any_value(generator& g) {
  switch (g.below(7)) {
    case 0: case 1: return g.pick(number_texts());
    case 2: return g.pick(string_texts());
    case 3: return g.chance(50) ? "true" : "false";
    case 4: return "null";
    case 5: return cat("[", g.pick(number_texts()), ",", g.pick(string_texts()), "]");
    default: return cat("[", g.pick(number_texts()), "]");
  }
}

// One record's fields. n: DOUBLE on Base; s: STRING on Item (UNIQUE: made
// unique by its record number); b: BOOLEAN; s2/n2: STRING/LONG (a composite
// index); tags and m: no property (their indexes are never used); N: a field
// spelled like n in another case.
std::string fields_of(generator& g, int serial, bool item_like) {
  json::object o;
  auto maybe = [&](std::string_view name, const std::string& text) {
    int roll = static_cast<int>(g.below(10));
    if (roll == 0) return;                       // absent
    if (roll == 1) o[name] = nullptr;            // null
    o[name] = json::parse(text);
  };
  auto n = g.pick(number_texts());
  if (n == "18446744073709551615" || n == "9223372036854775808.0" || n == "1e300") n = g.chance(50) ? n : "4";
  maybe("n", n);
  if (item_like) {
    std::vector<std::string> prefixes{"a", "b", "ab", ""};
    maybe("s", cat("\"", g.pick(prefixes), serial, "\""));
    maybe("b", g.chance(50) ? "true" : "false");
    maybe("s2", g.pick(std::vector<std::string>{"\"x\"", "\"y\"", "\"z\""}));
    auto n2 = g.pick(number_texts());
    maybe("n2", n2.find_first_of(".e") == std::string::npos && n2 != "18446744073709551615" ? n2 : "5");
  }
  maybe("tags", any_value(g));
  maybe("m", any_value(g));
  maybe("N", any_value(g));
  return json::serialize(o);
}

const std::vector<std::string> classes_made{"Item", "Item", "Item", "SubItem", "SubItem", "Other", "Base", "Alien"};

void build(storage::database& db, generator& g) {
  for (auto& o : {class_op("Base"), class_op("Item", "Base"), class_op("SubItem", "Item"), class_op("Other", "Base"),
                  class_op("Alien")})
    REQUIRE(apply_one(db, o).code == storage::errc::ok);
  for (auto& o : {property_op("Base", "n", "DOUBLE"), property_op("Item", "s", "STRING"),
                  property_op("Item", "b", "BOOLEAN"), property_op("Item", "s2", "STRING"),
                  property_op("Item", "n2", "LONG"), property_op("Alien", "n", "DOUBLE")})
    REQUIRE(apply_one(db, o).code == storage::errc::ok);
  std::vector<storage::rid> made;
  auto add = [&](int i) {
    auto& cls = classes_made[g.below(classes_made.size())];
    auto r = apply_one(db, create_op(cls, fields_of(g, i, cls == "Item" || cls == "SubItem")));
    REQUIRE_MESSAGE(r.code == storage::errc::ok, r.message);
    made.push_back(r.rec.id);
  };
  // Half the records before the indexes (built over them), half after
  // (maintained), then updates and removes.
  for (int i = 0; i < records_per_seed / 2; ++i) add(i);
  for (auto& o : {index_op("Base", "Base.n", {"n"}, false), index_op("Item", "Item.s", {"s"}, true),
                  index_op("Item", "Item.b", {"b"}, false), index_op("Item", "Item.s2n2", {"s2", "n2"}, false),
                  index_op("Item", "Item.tags", {"tags"}, false), index_op("Base", "Base.m", {"m"}, false),
                  index_op("SubItem", "SubItem.n", {"n"}, false), index_op("Alien", "Alien.n", {"n"}, true)}) {
    auto r = apply_one(db, o);
    // A UNIQUE index over random numbers may meet a duplicate: then it is not there, which the
    // statements must not notice either.
    REQUIRE_MESSAGE((r.code == storage::errc::ok || r.code == storage::errc::duplicate_key), r.message);
  }
  for (int i = records_per_seed / 2; i < records_per_seed; ++i) add(i);
  for (int i = 0; i < records_per_seed / 4; ++i) {
    auto id = made[g.below(made.size())];
    auto rec = db.find(id);
    if (!rec) continue;
    bool item_like = rec->class_name == "Item" || rec->class_name == "SubItem";
    auto o = g.chance(70) ? update_op(id, fields_of(g, 1000 + i, item_like)) : remove_op(id);
    auto r = apply_one(db, o);
    REQUIRE_MESSAGE((r.code == storage::errc::ok || r.code == storage::errc::duplicate_key), r.message);
  }
  REQUIRE(db.check().ok());
}

// A constant as SQL text, or as a parameter (then its value goes into `p`).
std::string constant(generator& g, params& p, int& next_named) {
  std::string text;
  switch (g.below(6)) {
    case 0: case 1: text = g.pick(number_texts()); break;
    case 2: text = g.pick(string_texts()); break;
    case 3: text = g.chance(50) ? "true" : "false"; break;
    case 4: text = g.chance(30) ? "null" : cat("\"", g.pick(std::vector<std::string>{"a", "b", "ab", ""}), g.below(300), "\""); break;
    default: text = cat(g.below(12)); break;
  }
  // The parser takes integers up to int64 only: a larger one goes as a parameter.
  if (g.chance(35) || text == "18446744073709551615") {
    auto v = json::parse(text);
    if (g.chance(50)) {
      p.positional.push_back(v);
      return "?";
    }
    auto name = cat("p", next_named++);
    p.named[name] = v;
    return ":" + name;
  }
  // As a SQL literal: strings in single quotes (the generated ones hold no quote), numbers as written.
  auto v = json::parse(text);
  if (v.is_string()) {
    std::string s(v.get_string());
    if (s.find('\0') != std::string::npos || s.find('\xc3') != std::string::npos) s = "a";
    return cat("'", s, "'");
  }
  return text;
}

std::string term(generator& g, params& p, int& named) {
  static const std::vector<std::string> fields{"n", "n", "s", "s", "b", "s2", "n2", "tags", "m", "N", "zz"};
  static const std::vector<std::string> ops{"=", "=", "<", "<=", ">", ">=", "<>"};
  auto f = g.pick(fields);
  switch (g.below(5)) {
    case 0: return cat(f, " BETWEEN ", constant(g, p, named), " AND ", constant(g, p, named));
    case 1: return cat(constant(g, p, named), " ", g.pick(ops), " ", f);
    default: return cat(f, " ", g.pick(ops), " ", constant(g, p, named));
  }
}

// A random SELECT and its parameters.
std::pair<std::string, params> statement_text(generator& g) {
  params p;
  int named = 0;
  std::string where = term(g, p, named);
  for (uint64_t i = g.below(3); i > 0; --i) where += cat(g.chance(85) ? " AND " : " OR ", term(g, p, named));
  static const std::vector<std::string> targets{"Item", "Item", "SubItem", "Base", "Other", "Alien"};
  static const std::vector<std::string> projections{"", "", "n, s ", "count(*) ", "@rid, n2 "};
  std::string sql = cat("SELECT ", g.pick(projections), "FROM ", g.pick(targets), " WHERE ", where);
  if (g.chance(30)) sql += cat(" ORDER BY ", g.pick(std::vector<std::string>{"n", "s", "n2 DESC", "@rid DESC"}));
  if (g.chance(20)) sql += cat(" SKIP ", g.below(4));
  if (g.chance(30)) sql += cat(" LIMIT ", 1 + g.below(5));
  return {sql, p};
}

std::string rows_text(const result<std::vector<std::string>>& r) {
  if (!r) return "error: " + r.error().render();
  std::string out;
  for (auto& row : *r) out += row + "\n";
  return out;
}

statement parsed(std::string_view sql) {
  auto r = parse(sql);
  if (auto* e = std::get_if<syntax_error>(&r)) FAIL(cat(sql, ": ", e->message()));
  return std::get<statement>(std::move(r));
}

json::object explained(const storage::database& db, std::string_view sql, const params& p = {},
                       const select_limits& limits = {}) {
  auto r = run_query(db, parsed(cat("EXPLAIN ", sql)), p, limits);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().render()));
  REQUIRE(r->size() == 1);
  return json::parse(r->front()).as_object();
}

std::string involved(const json::object& o) {
  auto* v = o.if_contains("involvedIndexes");
  if (v == nullptr) return "";
  std::string out;
  for (auto& n : v->as_array()) out += (out.empty() ? "" : ",") + std::string(n.as_string());
  return out;
}

void run_seed(uint64_t seed) {
  INFO("seed=" << seed << " (replay with TROUPE_SEED=" << seed << ")");
  troupe::test::temp_dir dir;
  auto db = open_db(dir.path() / "db");
  generator g(seed);
  build(*db, g);
  select_limits scan;
  scan.use_indexes = false;
  int indexed = 0, nonempty = 0;
  for (int i = 0; i < statements_per_seed; ++i) {
    auto [sql, p] = statement_text(g);
    CAPTURE(sql);
    CAPTURE(json::serialize(json::value_from(p.positional)));
    auto stmt = parsed(sql);
    auto with = run_query(*db, stmt, p);
    auto without = run_query(*db, stmt, p, scan);
    REQUIRE(with.ok() == without.ok());
    // Same rows in the same order: the index path feeds its candidates in scan order.
    REQUIRE(rows_text(with) == rows_text(without));
    if (!involved(explained(*db, sql, p)).empty()) ++indexed;
    if (with.ok() && !with->empty()) ++nonempty;
  }
  // The statements must actually exercise both paths and find rows.
  CHECK(indexed > statements_per_seed / 5);
  CHECK(nonempty > statements_per_seed / 5);
  MESSAGE("seed " << seed << ": " << indexed << " of " << statements_per_seed << " statements read an index, "
                  << nonempty << " found rows");
}

struct fixture {
  troupe::test::temp_dir dir;
  std::unique_ptr<storage::database> db = open_db(dir.path() / "db");
  fixture() {
    for (auto& o : {class_op("Item"), class_op("Sub", "Item"), class_op("Thing"), property_op("Item", "key", "STRING"),
                    property_op("Item", "n", "LONG"), property_op("Sub", "x", "LONG")})
      REQUIRE(apply_one(*db, o).code == storage::errc::ok);
    for (int i = 0; i < 50; ++i)
      REQUIRE(apply_one(*db, create_op(i % 5 == 0 ? "Sub" : "Item",
                                       cat(R"({"key":"k)", i, R"(","n":)", i % 10, R"(,"x":)", i, "}")))
                  .code == storage::errc::ok);
    for (auto& o : {index_op("Item", "Item.key", {"key"}, true), index_op("Item", "Item.n", {"n"}, false),
                    index_op("Sub", "Sub.x", {"x"}, false)})
      REQUIRE(apply_one(*db, o).code == storage::errc::ok);
  }
};

int64_t num(const json::object& o, std::string_view k) { return o.at(k).to_number<int64_t>(); }

}  // namespace

TEST_CASE("index: random statements give the same rows through indexes as by scanning") {
  if (const char* s = std::getenv("TROUPE_SEED")) {
    auto seed = troupe::parse_int(s, 0, INT64_MAX);
    REQUIRE_MESSAGE(seed.has_value(), "TROUPE_SEED must be a non-negative integer");
    run_seed(static_cast<uint64_t>(*seed));
    return;
  }
  for (uint64_t seed : ci_seeds) run_seed(seed);
}

TEST_CASE("index: EXPLAIN names the index of a point or range query and counts only its candidates") {
  fixture f;
  params p;
  p.positional.emplace_back("k7");
  auto point = explained(*f.db, "SELECT FROM Item WHERE key = ?", p);
  CHECK(involved(point) == "Item.key");
  CHECK(num(point, "resultSize") == 1);
  CHECK(num(point, "evaluated") == 1);
  CHECK(num(point, "documentReads") == 1);
  CHECK(num(point, "recordReads") == 1);
  CHECK(num(point, "documentAnalyzedCompatibleClass") == 1);
  CHECK(num(point, "compositeIndexUsed") == 1);
  CHECK(point.at("resultType") == "collection");
  CHECK(point.at("indexIsUsedInOrderBy") == false);
  CHECK(point.at("fullySortedByIndex") == false);
  CHECK(point.at("elapsed").is_double());
  CHECK(point.at("elapsed").as_double() >= 0);
  CHECK(point.at("current").as_string().starts_with("#"));
  CHECK(point.at("@type") == "d");

  auto range = explained(*f.db, "SELECT FROM Item WHERE n BETWEEN 2 AND 3 AND key <> 'k2'");
  CHECK(involved(range) == "Item.n");
  CHECK(num(range, "resultSize") == 9);
  CHECK(num(range, "evaluated") == 10);
  CHECK(num(range, "documentReads") == 10);

  auto scan = explained(*f.db, "SELECT FROM Item WHERE key LIKE 'k1%'");
  CHECK(involved(scan) == "");
  CHECK(scan.if_contains("involvedIndexes") == nullptr);
  CHECK(num(scan, "evaluated") == 50);
  CHECK(num(scan, "documentReads") == 50);
  CHECK(num(scan, "resultSize") == 11);

  // An index on a subclass misses the superclass's records: never used for it.
  CHECK(involved(explained(*f.db, "SELECT FROM Item WHERE x = 5")) == "");
  CHECK(involved(explained(*f.db, "SELECT FROM Sub WHERE x = 5")) == "Sub.x");
  // An index on the superclass serves a subclass; the others' records are dropped unread.
  auto sub = explained(*f.db, "SELECT FROM Sub WHERE key = 'k10'");
  CHECK(involved(sub) == "Item.key");
  CHECK(num(sub, "resultSize") == 1);
  auto sub_miss = explained(*f.db, "SELECT FROM Sub WHERE key = 'k11'");
  CHECK(num(sub_miss, "resultSize") == 0);
  CHECK(num(sub_miss, "documentReads") == 0);
  CHECK(sub_miss.if_contains("current") == nullptr);
  // The constant on the left, a named parameter, a LIMIT.
  params named;
  named.named["k"] = 3;
  auto left = explained(*f.db, "SELECT FROM Item WHERE :k = n LIMIT 2", named);
  CHECK(involved(left) == "Item.n");
  CHECK(num(left, "resultSize") == 2);
  CHECK(num(left, "limit") == 2);
  CHECK(num(left, "documentReads") == 2);  // LIMIT without ORDER BY stops early
  // A UNIQUE full match wins over a NOTUNIQUE one.
  CHECK(involved(explained(*f.db, "SELECT FROM Item WHERE n = 7 AND key = 'k7'")) == "Item.key");
  // No index for a class without one, for OR, for a path.
  CHECK(involved(explained(*f.db, "SELECT FROM Thing WHERE key = 'k7'")) == "");
  CHECK(involved(explained(*f.db, "SELECT FROM Item WHERE key = 'k7' OR n = 2")) == "");
  CHECK(involved(explained(*f.db, "SELECT FROM Item WHERE KEY = 'k7'")) == "");
}

TEST_CASE("index: an index whose field has no scalar property is not used (arrays are not indexed)") {
  fixture f;
  REQUIRE(apply_one(*f.db, create_op("Item", R"({"key":"z","tags":["red","blue"]})")).code == storage::errc::ok);
  REQUIRE(apply_one(*f.db, index_op("Item", "Item.tags", {"tags"}, false)).code == storage::errc::ok);
  auto x = explained(*f.db, "SELECT FROM Item WHERE tags = 'red'");
  CHECK(involved(x) == "");
  CHECK(num(x, "resultSize") == 1);  // the array holds 'red'; the index has no entry for it
}

TEST_CASE("index: more candidates than scan_records_max refuse the statement, as a scan does") {
  fixture f;
  select_limits small;
  small.scan_records_max = 3;
  auto r = run_query(*f.db, parsed("SELECT FROM Item WHERE n = 4"), {}, small);  // 5 candidates
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().render().find("more than 3 records") != std::string::npos);
  // Within the bound it answers.
  auto ok = run_query(*f.db, parsed("SELECT FROM Item WHERE key = 'k4'"), {}, small);
  REQUIRE(ok.ok());
  CHECK(ok->size() == 1);
}

TEST_CASE("index: numbers compare exactly, integers and reals mixed, as the index orders them") {
  troupe::test::temp_dir dir;
  auto db = open_db(dir.path() / "db");
  for (auto& o : {class_op("Num"), property_op("Num", "v", "DOUBLE")}) REQUIRE(apply_one(*db, o).code == storage::errc::ok);
  for (auto v : {"9007199254740992", "9007199254740993", "9007199254740992.0", "2", "2.0", "9223372036854775807",
                 "18446744073709551615"})
    REQUIRE(apply_one(*db, create_op("Num", cat(R"({"v":)", v, "}"))).code == storage::errc::ok);
  REQUIRE(apply_one(*db, index_op("Num", "Num.v", {"v"}, false)).code == storage::errc::ok);
  select_limits scan;
  scan.use_indexes = false;
  for (auto where : {"v = 9007199254740992.0", "v = 9007199254740993", "v > 9007199254740992.0",
                     "v >= 9007199254740993", "v = 2", "v < 3", "v > 9223372036854775806", "v <= 9223372036854775807"}) {
    CAPTURE(where);
    auto stmt = parsed(cat("SELECT v FROM Num WHERE ", where));
    CHECK(rows_text(run_query(*db, stmt)) == rows_text(run_query(*db, stmt, {}, scan)));
  }
  auto count = [&](std::string_view where) {
    auto r = run_query(*db, parsed(cat("SELECT FROM Num WHERE ", where)));
    REQUIRE(r.ok());
    return r->size();
  };
  CHECK(count("v = 9007199254740992.0") == 2);  // 2^53 and 2^53.0, not 2^53 + 1
  CHECK(count("v > 9007199254740992.0") == 3);  // 2^53 + 1, 2^63 - 1, 2^64 - 1
  CHECK(count("v = 2") == 2);
  CHECK(count("v > 9223372036854775807") == 1);  // the uint64
}

TEST_CASE("index: EXPLAIN parses only before a SELECT, and plan_write refuses it") {
  auto bad = parse("EXPLAIN INSERT INTO Item SET key = 'a'");
  CHECK(std::holds_alternative<syntax_error>(bad));
  auto none = parse("EXPLAIN");
  CHECK(std::holds_alternative<syntax_error>(none));
  auto ok = parse("explain select count(*) from Item where key = 'a' order by key limit 3");
  REQUIRE(std::holds_alternative<statement>(ok));
  auto* x = std::get_if<explain_stmt>(&std::get<statement>(ok));
  REQUIRE(x != nullptr);
  CHECK(x->select.limit == 3);
  CHECK(x->select.where != nullptr);
  // Errors of the SELECT are EXPLAIN's.
  fixture f;
  auto r = run_query(*f.db, parsed("EXPLAIN SELECT FROM Nothing"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().render().find("Class 'Nothing' was not found") != std::string::npos);
}

TEST_CASE("index: more candidates than storage hands out at once: the statement scans instead, and misses none") {
  troupe::test::temp_dir dir;
  auto db = open_db(dir.path() / "db");
  for (auto& o : {class_op("Item"), property_op("Item", "n", "LONG")}) REQUIRE(apply_one(*db, o).code == storage::errc::ok);
  const int records = static_cast<int>(storage::browse_records_max) + 5;
  std::vector<storage::op> ops;
  for (int i = 0; i < records; ++i) {
    ops.push_back(create_op("Item", i == 0 ? R"({"n":2})" : R"({"n":1})"));
    if (ops.size() == 1000 || i + 1 == records) {  // within storage's batch_ops_max
      for (auto& r : db->apply(ops)) REQUIRE(r.code == storage::errc::ok);
      ops.clear();
    }
  }
  REQUIRE(apply_one(*db, index_op("Item", "Item.n", {"n"}, false)).code == storage::errc::ok);
  auto many = explained(*db, "SELECT count(*) FROM Item WHERE n = 1");
  CHECK(involved(many) == "");  // the index could not give them all
  CHECK(num(many, "evaluated") == records);
  auto counted = run_query(*db, parsed("SELECT count(*) AS c FROM Item WHERE n = 1"));
  REQUIRE(counted.ok());
  CHECK(num(json::parse(counted->front()).as_object(), "c") == records - 1);
  auto one = explained(*db, "SELECT FROM Item WHERE n = 2");
  CHECK(num(one, "resultSize") == 1);
  CHECK(involved(one) == "Item.n");
  CHECK(num(one, "documentReads") == 1);
}
