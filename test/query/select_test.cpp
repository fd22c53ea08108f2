// src/query/select: WHERE, projections, aggregates, ORDER BY, SKIP and LIMIT
// over a real RocksDB database, on statements built by hand (the parser has
// its own tests); answers checked against plain loops over the same data.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "src/query/parser.hpp"
#include "src/query/select.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::query;
using namespace troupe::storage::testing;
namespace json = boost::json;

namespace {

expr_ptr mk(decltype(expr::node) n) { return std::make_shared<const expr>(expr{std::move(n), 0}); }
expr_ptr field(std::string name) { return mk(field_ref{{std::move(name)}}); }
expr_ptr num(int64_t i) {
  literal l;
  l.k = literal::kind::integer;
  l.i = i;
  return mk(l);
}
expr_ptr str(std::string s) {
  literal l;
  l.k = literal::kind::string;
  l.s = std::move(s);
  return mk(l);
}
expr_ptr bin(binary_op op, expr_ptr a, expr_ptr b) { return mk(binary{op, std::move(a), std::move(b)}); }
expr_ptr fn(std::string name, std::vector<expr_ptr> args, bool star = false) {
  return mk(call{std::move(name), std::move(args), star});
}

select_stmt from(std::string cls) {
  select_stmt s;
  s.from.k = target::kind::klass;
  s.from.name = std::move(cls);
  return s;
}

std::vector<json::object> rows(const result<std::vector<std::string>>& r) {
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().render()));
  std::vector<json::object> out;
  for (auto& t : r.value()) out.push_back(json::parse(t).as_object());
  return out;
}

result<std::vector<std::string>> run_query_text(const storage::database& db, const std::string& sql) {
  auto parsed = parse(sql);
  if (auto* e = std::get_if<syntax_error>(&parsed)) FAIL(sql << ": " << e->message());
  return run_query(db, std::get<statement>(parsed));
}

}  // namespace

TEST_CASE("select: where, projections, order, skip and limit over real storage") {
  troupe::test::temp_dir dir;
  auto db = open_db(dir.path() / "db");
  apply_one(*db, class_op("V"));
  apply_one(*db, class_op("person", "V"));
  apply_one(*db, class_op("song", "V"));
  struct person_row {
    std::string name;
    int64_t age;
  };
  std::vector<person_row> people;
  for (int i = 0; i < 200; ++i) {
    person_row p{cat("p", i % 37), (i * 7919) % 90};
    people.push_back(p);
    apply_one(*db, create_op("person", cat(R"({"name":")", p.name, R"(","age":)", p.age, R"(,"tags":["a","t)", i % 3,
                                           R"("]})")));
  }
  apply_one(*db, create_op("song", R"({"name":"Dark Star","type":"song"})"));

  SUBCASE("a class reads its subclasses, WHERE filters") {
    auto all = rows(run_select(*db, from("V")));
    CHECK(all.size() == 201);
    auto s = from("person");
    s.where = bin(binary_op::and_, bin(binary_op::ge, field("age"), num(30)), bin(binary_op::lt, field("age"), num(40)));
    auto got = rows(run_select(*db, s));
    CHECK(got.size() == static_cast<size_t>(std::count_if(people.begin(), people.end(),
                                                          [](auto& p) { return p.age >= 30 && p.age < 40; })));
    for (auto& r : got) CHECK(r.at("@class").as_string() == "person");
  }
  SUBCASE("a cluster by name or by id, and RIDs") {
    auto cls = db->class_by_name("song");
    REQUIRE(cls);
    auto cl = db->clusters().at(0);
    for (auto& c : db->clusters())
      if (c.id == cls->default_cluster) cl = c;
    select_stmt s;
    s.from.k = target::kind::cluster;
    for (auto name : {cl.name, std::to_string(cl.id)}) {
      s.from.name = name;
      auto got = rows(run_select(*db, s));
      REQUIRE(got.size() == 1);
      CHECK(got[0].at("name").as_string() == "Dark Star");
    }
    select_stmt r;
    r.from.k = target::kind::rids;
    r.from.rids = {storage::rid{cl.id, 0}, storage::rid{cl.id, 99}};  // the second is absent: skipped
    CHECK(rows(run_select(*db, r)).size() == 1);
  }
  SUBCASE("ORDER BY age DESC, SKIP, LIMIT, projections with an alias") {
    auto s = from("person");
    s.projections = {{field("name"), ""}, {field("age"), "years"}};
    s.order_by = {{field("age"), true}, {field("name"), false}};
    s.skip = 5;
    s.limit = 10;
    auto got = rows(run_select(*db, s));
    auto sorted = people;
    std::stable_sort(sorted.begin(), sorted.end(), [](auto& a, auto& b) {
      return a.age != b.age ? a.age > b.age : a.name < b.name;
    });
    REQUIRE(got.size() == 10);
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].at("years").as_int64() == sorted[i + 5].age);
      CHECK(got[i].at("name").as_string() == sorted[i + 5].name);
    }
  }
  SUBCASE("aggregates make one row") {
    auto s = from("person");
    s.projections = {{fn("count", {}, true), ""}, {fn("sum", {field("age")}), ""}, {fn("max", {field("age")}), "oldest"},
                     {fn("avg", {field("age")}), ""}};
    s.where = bin(binary_op::like, field("name"), str("p1%"));
    auto got = rows(run_select(*db, s));
    REQUIRE(got.size() == 1);
    int64_t n = 0, sum = 0, mx = -1;
    for (auto& p : people)
      if (p.name.rfind("p1", 0) == 0) ++n, sum += p.age, mx = std::max(mx, p.age);
    CHECK(got[0].at("count").as_int64() == n);
    CHECK(got[0].at("sum").as_int64() == sum);
    CHECK(got[0].at("oldest").as_int64() == mx);
    CHECK(got[0].at("avg").as_double() == doctest::Approx(static_cast<double>(sum) / n));
  }
  SUBCASE("IN, CONTAINS, parameters") {
    auto s = from("person");
    s.where = bin(binary_op::and_, bin(binary_op::contains, field("tags"), str("t1")),
                  bin(binary_op::in, field("name"), mk(param{"", 0})));
    params p;
    p.positional.push_back(json::array{"p1", "p2"});
    auto got = rows(run_select(*db, s, p));
    size_t want = 0;
    for (int i = 0; i < 200; ++i)
      if (i % 3 == 1 && (people[i].name == "p1" || people[i].name == "p2")) ++want;
    CHECK(got.size() == want);
  }
  SUBCASE("refusals name what to change") {
    auto r = run_select(*db, from("nosuch"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().what == "Class 'nosuch' was not found");
    auto s = from("person");
    s.order_by = {{field("age"), false}};
    select_limits small;
    small.sort_rows_max = 10;
    auto big = run_select(*db, s, {}, small);
    REQUIRE_FALSE(big.ok());
    CHECK(big.error().what.find("ORDER BY would hold more than 10 rows") != std::string::npos);
    small = {};
    small.scan_records_max = 50;
    auto scan = run_select(*db, from("person"), {}, small);
    REQUIRE_FALSE(scan.ok());
    auto grouped = from("person");
    grouped.group_by = {field("name")};
    auto bare = run_select(*db, grouped);  // GROUP BY without projections
    REQUIRE_FALSE(bare.ok());
    CHECK(bare.error().what.find("GROUP BY needs projections") != std::string::npos);
    grouped.projections = {{field("name"), ""}, {fn("count", {}, true), ""}};
    select_limits few;
    few.sort_rows_max = 5;  // 37 names
    auto many = run_select(*db, grouped, {}, few);
    REQUIRE_FALSE(many.ok());
    CHECK(many.error().what.find("GROUP BY would hold more than 5 groups") != std::string::npos);
  }
  SUBCASE("LET: a subquery per record with $parent.$current, counted against plain loops") {
    // Per person named p0..p4: how many people share the name and how many of
    // them are older. Records are scanned in insertion order.
    std::vector<std::pair<int64_t, int64_t>> want;
    for (auto& p : people) {
      if (p.name != "p0" && p.name != "p1" && p.name != "p2" && p.name != "p3" && p.name != "p4") continue;
      int64_t same = 0, older = 0;
      for (auto& q : people) {
        same += q.name == p.name;
        older += q.name == p.name && q.age > p.age;
      }
      want.emplace_back(same, older);
    }
    REQUIRE(want.size() > 10);
    auto got = run_query_text(*db, "select $same.size() as same, $older.size() as older from person "
                                   "let $same = (select from person where name = $parent.$current.name), "
                                   "$older = (select age from person where name = $parent.$current.name and age > $parent.$current.age) "
                                   "where name in ['p0', 'p1', 'p2', 'p3', 'p4']");
    auto r = rows(got);
    REQUIRE(r.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      CHECK(r[i].at("same").as_int64() == want[i].first);
      CHECK(r[i].at("older").as_int64() == want[i].second);
    }
    // Hand-built statements are bounded too: more than let_variables_max refused.
    auto s = from("person");
    for (size_t i = 0; i <= let_variables_max; ++i) s.let.push_back(let_binding{cat("$v", i), num(1), nullptr, 0});
    auto refused = run_select(*db, s);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().what == cat("at most ", let_variables_max, " LET variables"));
    s.let.pop_back();
    s.where = bin(binary_op::eq, field(cat("$v", let_variables_max - 1)), num(1));
    CHECK(rows(run_select(*db, s)).size() == people.size());
  }

  SUBCASE("GROUP BY with aggregates, ordered by a column") {
    auto s = from("person");
    s.projections = {{field("name"), ""}, {fn("count", {}, true), "n"}, {fn("max", {field("age")}), ""}};
    s.group_by = {field("name")};
    s.order_by = {{field("n"), true}, {field("name"), false}};
    auto got = rows(run_select(*db, s));
    std::map<std::string, std::pair<int64_t, int64_t>> want;  // name -> (count, max age)
    for (auto& p : people) {
      auto& w = want[p.name];
      ++w.first;
      w.second = std::max(w.second, p.age);
    }
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      auto name = std::string(got[i].at("name").as_string());
      CHECK(got[i].at("n").as_int64() == want.at(name).first);
      CHECK(got[i].at("max").as_int64() == want.at(name).second);
      if (i > 0) {
        auto prev = got[i - 1].at("n").as_int64(), cur = got[i].at("n").as_int64();
        CHECK((prev > cur || (prev == cur && got[i - 1].at("name").as_string() < got[i].at("name").as_string())));
      }
    }
    auto none = from("person");
    none.projections = {{fn("count", {}, true), ""}, {fn("avg", {field("age")}), ""}};
    none.where = bin(binary_op::eq, field("name"), str("nobody"));
    auto zero = rows(run_select(*db, none));
    REQUIRE(zero.size() == 1);
    CHECK(zero[0].at("count").as_int64() == 0);
    CHECK(zero[0].at("avg").is_null());
  }
}

TEST_CASE("select: LIKE, comparisons across kinds, null and absent fields") {
  CHECK(like("Garcia", "Gar%"));
  CHECK(like("Garcia", "%cia"));
  CHECK(like("Garcia", "G_rc_a"));
  CHECK(like("", "%"));
  CHECK_FALSE(like("Garcia", "garcia"));
  CHECK_FALSE(like("Garcia", "G_rc"));
  CHECK(like(std::string(5000, 'a'), std::string(50, '%') + "b%") == false);  // no blow-up
  json::object doc{{"a", 1}, {"b", 2.5}, {"s", "x"}, {"n", nullptr}};
  params p;
  CHECK(holds(*bin(binary_op::lt, field("a"), field("b")), doc, p));       // int vs real
  CHECK_FALSE(holds(*bin(binary_op::lt, field("a"), field("s")), doc, p));  // kinds differ: false
  CHECK_FALSE(holds(*bin(binary_op::eq, field("n"), mk(literal{})), doc, p));  // null = null is not true
  CHECK(holds(*mk(unary{unary_op::is_null, field("missing")}), doc, p));
  CHECK(holds(*mk(unary{unary_op::is_defined, field("n")}), doc, p));
  CHECK(holds(*mk(unary{unary_op::is_not_defined, field("missing")}), doc, p));
  CHECK(holds(*mk(between{field("a"), num(1), num(1)}), doc, p));
  CHECK(evaluate(*bin(binary_op::add, num(INT64_MAX), num(1)), doc, p).is_null());  // overflow: null, no UB
  CHECK(evaluate(*bin(binary_op::div, num(1), num(0)), doc, p).is_null());
}

TEST_CASE("select: a statement past its deadline (command.timeout) is refused, saying so") {
  test::temp_dir dir;
  auto db = storage::testing::open_db(dir / "db");
  for (int i = 0; i < 10; ++i) storage::testing::apply_one(*db, storage::testing::create_op("V", "{\"n\":1}"));
  auto stmt = std::get<select_stmt>(std::get<statement>(parse("select from V where n = 1")));
  select_limits limits;
  REQUIRE(run_select(*db, stmt, {}, limits));  // no deadline
  limits.deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  auto in_time = run_select(*db, stmt, {}, limits);
  REQUIRE(in_time);
  CHECK(in_time->size() == 10);
  limits.deadline = std::chrono::steady_clock::now() - std::chrono::milliseconds(1);  // already past
  auto late = run_select(*db, stmt, {}, limits);
  REQUIRE_FALSE(late);
  CHECK(late.error().what.find(timeout_message()) != std::string::npos);
  // TRAVERSE and the links a statement follows count the same way.
  auto trav = std::get<statement>(parse("traverse * from V"));
  CHECK_FALSE(run_query(*db, trav, {}, limits));
}
