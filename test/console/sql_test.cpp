// SQL at the console prompt without a node: which lines are statements and
// which of them write (the one rule, as a table), the LIMIT check, the syntax
// error's caret, and the result-set table and write messages of OrientDB 2.2's
// console.
#include <doctest/doctest.h>

#include <algorithm>

#include "src/console/command.hpp"
#include "src/console/render.hpp"
#include "src/console/sql.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::console;

namespace {

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("console sql: a table of lines: SQL or not, read or write, and the verb that picks the message") {
  struct row {
    const char* line;
    sql_kind kind;
    const char* verb;
  };
  const row table[] = {
      {"select from V", sql_kind::read, "select"},
      {"SELECT count(*) FROM V", sql_kind::read, "select"},
      {"  select\tfrom V", sql_kind::read, "select"},
      {"select*from V", sql_kind::read, "select"},
      {"traverse out() from #9:0", sql_kind::read, "traverse"},
      {"explain select from V", sql_kind::read, "explain"},
      {"insert into V set a = 1", sql_kind::write, "insert"},
      {"update V set a = 2 where a = 1", sql_kind::write, "update"},
      {"delete from V where a = 1", sql_kind::write, "delete"},
      {"delete vertex V where a = 1", sql_kind::write, "delete"},
      {"delete edge #10:0", sql_kind::write, "delete"},
      {"create vertex V set node = 1", sql_kind::write, "create vertex"},
      {"CREATE VERTEX", sql_kind::write, "create vertex"},
      {"create edge E from #9:0 to #9:1", sql_kind::write, "create edge"},
      {"create class Person extends V", sql_kind::write, "create class"},
      {"create property Person.age integer", sql_kind::write, "create property"},
      {"create index Person.name unique", sql_kind::write, "create index"},
      {"drop class Person", sql_kind::write, "drop class"},
      {"drop index Person.name", sql_kind::write, "drop index"},
      // not SQL: console phrases and other words
      {"create database fresh", sql_kind::none, ""},
      {"create", sql_kind::none, ""},
      {"drop database x", sql_kind::none, ""},
      {"list databases", sql_kind::none, ""},
      {"selection from V", sql_kind::none, ""},
      {"select2 from V", sql_kind::none, ""},
      {"select_x", sql_kind::none, ""},
      {"(select from V)", sql_kind::none, ""},
      {"", sql_kind::none, ""},
  };
  for (auto& r : table) {
    CAPTURE(r.line);
    CHECK(sql_statement_kind(r.line) == r.kind);
    CHECK(sql_statement_verb(r.line) == r.verb);
  }
}

TEST_CASE("console sql: the statements are in help's list and complete at the prompt") {
  bool vertex = false;
  for (auto& f : sql_forms()) vertex = vertex || f.phrase == "create vertex";
  CHECK(vertex);
  CHECK(complete("sel") == std::vector<std::string>{"select"});
  CHECK(complete("create v") == std::vector<std::string>{"vertex"});
  auto c = complete("create ");
  for (auto* w : {"class", "database", "record", "vertex", "edge", "index", "property"})
    CHECK_MESSAGE(std::find(c.begin(), c.end(), w) != c.end(), w);
  CHECK(complete("d") == std::vector<std::string>{"delete", "deploys", "disconnect", "drop"});
}

TEST_CASE("console sql: a statement's own LIMIT, read from its tokens") {
  CHECK(has_own_limit("select from V limit 5"));
  CHECK(has_own_limit("SELECT FROM V LIMIT -1"));
  CHECK_FALSE(has_own_limit("select from V"));
  CHECK_FALSE(has_own_limit("select from V where name = ' limit '"));
  CHECK_FALSE(has_own_limit("select from V where `limit` = 1"));
}

TEST_CASE("console sql: a syntax error shows the statement and a caret under the position") {
  auto t = syntax_error_text("select from V where", 19, "Syntax error at position 19: expected an expression");
  CHECK(t == "Syntax error at position 19: expected an expression\n  select from V where\n                     ^");
  CHECK(syntax_error_text("selct", 0, "m") == "m\n  selct\n  ^");
  CHECK(syntax_error_text("a", 99, "m") == "m\n  a\n   ^");  // clamped to the end
  // Several lines: the line holding the position; multi-byte characters count once.
  CHECK(syntax_error_text("select\nfrom \xC3\xA9 x", 14, "m") == "m\n  from \xC3\xA9 x\n        ^");
}

TEST_CASE("console sql render: OrientDB's result-set table: #, @RID, @CLASS, fields in order of first appearance") {
  auto t = render_result_set("select", {R"({"@type":"d","@rid":"#9:0","@version":1,"@class":"V","node":1})"},
                             sql_display_rows_default, 0.012);
  CHECK(t ==
        "+----+----+------+----+\n"
        "|#   |@RID|@CLASS|node|\n"
        "+----+----+------+----+\n"
        "|0   |#9:0|V     |1   |\n"
        "+----+----+------+----+\n"
        "\n"
        "1 item(s) found. Query executed in 0.012 sec(s).\n");
  // Fields as they first appear; absent and null values blank; arrays listed.
  t = render_result_set("select",
                        {R"({"@type":"d","@rid":"#9:0","@version":1,"@class":"V","b":"x"})",
                         R"({"@type":"d","@rid":"#9:10","@version":3,"@class":"Person","a":null,"b":"yy","c":[1,"two"]})"},
                        20, 1.5);
  CHECK(has(t, "|#   |@RID |@CLASS|b   |a   |c      |\n"));
  CHECK(has(t, "|0   |#9:0 |V     |x   |    |       |\n"));
  CHECK(has(t, "|1   |#9:10|Person|yy  |    |[1,two]|\n"));
  CHECK(has(t, "2 item(s) found. Query executed in 1.5 sec(s).\n"));
}

TEST_CASE("console sql render: projections have no @RID or @CLASS; an empty result is one line") {
  auto t = render_result_set("select", {R"({"@type":"d","@version":0,"count":42})"}, 20, 0);
  CHECK(t ==
        "+----+-----+\n"
        "|#   |count|\n"
        "+----+-----+\n"
        "|0   |42   |\n"
        "+----+-----+\n"
        "\n"
        "1 item(s) found. Query executed in 0.0 sec(s).\n");
  CHECK(render_result_set("select", {}, 20, 0.004) == "0 item(s) found. Query executed in 0.004 sec(s).\n");
  CHECK(has(render_result_set("traverse", {}, 20, 0.1), "Traverse executed in 0.1 sec(s)."));
}

TEST_CASE("console sql render: wide values are cut with ... and the table stays within its width") {
  std::string wide(400, 'w');
  auto t = render_sql_table({cat(R"({"@rid":"#9:0","@version":1,"@class":"V","text":")", wide, R"(","n":1})")}, 20);
  CHECK(has(t, "..."));
  CHECK_FALSE(has(t, wide));
  // Every line as long as the rule, and the columns together within the bound.
  auto first_nl = t.find('\n');
  auto rule = t.substr(0, first_nl);
  CHECK(rule.size() <= sql_table_width_max + 6);  // + the borders of 5 columns
  size_t at = 0;
  while (at < t.size()) {
    auto nl = t.find('\n', at);
    CHECK(nl - at == rule.size());
    at = nl + 1;
  }
  // Line breaks in a value do not break the table; long headers are cut too.
  t = render_sql_table({R"({"@version":0,"s":"a\nb"})"}, 20);
  CHECK(has(t, "|a b |"));
  t = render_sql_table({R"({"@version":0,"v":1})"}, 20, 3);
  CHECK(has(t, "|#   |v   |"));  // never below the minimum width
}

TEST_CASE("console sql render: a bound on the rows shown, with OrientDB's LIMIT EXCEEDED line") {
  std::vector<std::string> rows;
  for (int i = 0; i < 21; ++i) rows.push_back(cat(R"({"@rid":"#9:)", i, R"(","@version":1,"@class":"V","i":)", i, "}"));
  auto t = render_result_set("select", rows, 20, 0.002);
  CHECK(has(t, "|19  |#9:19|V     |19  |\n"));
  CHECK_FALSE(has(t, "|20  |"));
  CHECK(has(t, "+\nLIMIT EXCEEDED: resultset contains more items not displayed (limit=20)\n\n20 item(s) found."));
  rows.pop_back();
  t = render_result_set("select", rows, 20, 0.002);
  CHECK_FALSE(has(t, "LIMIT EXCEEDED"));  // exactly the limit: nothing more to say
  CHECK(has(t, "20 item(s) found."));
}

TEST_CASE("console sql render: write statements answer with OrientDB's messages") {
  const std::string vertex = R"({"@type":"d","@rid":"#9:0","@version":1,"@class":"V","node":1})";
  CHECK(render_write_answer("create vertex", {vertex}, 0.003) == "Created vertex 'V#9:0{node:1} v1' in 0.003000 sec(s).\n");
  CHECK(render_write_answer("insert", {R"({"@rid":"#9:1","@version":1,"@class":"V","a":"x y","l":[1,2],"n":null})"}, 0.01) ==
        "Inserted record 'V#9:1{a:x y,l:[2],n:null} v1' in 0.010000 sec(s).\n");
  CHECK(render_write_answer("insert", {vertex, R"({"@rid":"#9:1","@version":1,"@class":"V"})"}, 0) ==
        "Inserted record '[V#9:0{node:1} v1, V#9:1 v1]' in 0.000000 sec(s).\n");
  const std::string three = R"({"@type":"d","@version":0,"value":3})";
  CHECK(render_write_answer("update", {three}, 1.25) == "Updated record(s) '3' in 1.250000 sec(s).\n");
  CHECK(render_write_answer("delete", {R"({"@type":"d","@version":0,"value":2})"}, 0.001) ==
        "Delete record(s) '2' in 0.001000 sec(s).\n");
  CHECK(render_write_answer("create class", {R"({"@version":0,"value":12})"}, 0, size_t{14}) ==
        "Class created successfully. Total classes in database now: 14.\n");
  CHECK(render_write_answer("create class", {}, 0) == "Class created successfully.\n");
  CHECK(render_write_answer("create property", {R"({"@version":0,"value":1})"}, 0) ==
        "Property created successfully with id=1.\n");
  CHECK(render_write_answer("drop class", {R"({"@version":0,"value":true})"}, 0.002) == "Removed class in 0.002000 sec(s).\n");
  auto edge = render_write_answer("create edge", {R"({"@rid":"#10:0","@version":1,"@class":"E","out":"#9:0","in":"#9:1"})"}, 0);
  CHECK(has(edge, "|0   |#10:0|E     |#9:0|#9:1|\n"));
  CHECK(has(edge, "Created '1' edges in 0.000000 sec(s).\n"));
}

TEST_CASE("console sql render: the node's answer is read strictly") {
  auto r = parse_sql_answer(R"({"result":[{"a":1},{"b":2}]})");
  REQUIRE(r.ok());
  CHECK(r->size() == 2);
  CHECK((*r)[1] == R"({"b":2})");
  CHECK_FALSE(parse_sql_answer("not json").ok());
  CHECK_FALSE(parse_sql_answer(R"({"rows":[]})").ok());
  CHECK_FALSE(parse_sql_answer(R"({"result":[1]})").ok());
  CHECK(seconds_short(0.0125) == "0.013");
  CHECK(seconds_short(12) == "12.0");
  CHECK(seconds_fixed(0.0034) == "0.003000");
}

TEST_CASE("console sql: the node runs a read over storage: rows, its own LIMIT capped, syntax errors with the caret") {
  using namespace troupe::storage::testing;
  test::temp_dir dir{"troupe-console-sql"};
  auto db = open_db(dir.path());
  for (int i = 0; i < 5; ++i) REQUIRE(apply_one(*db, create_op("V", cat(R"({"node":)", i % 2, "}"))).code == storage::errc::ok);
  auto r = run_read_statement(*db, "select from V where node = 1", 21, 1 << 20, std::chrono::milliseconds(0));
  REQUIRE_MESSAGE(r.ok(), r.error().render());
  auto rows = parse_sql_answer(*r);
  REQUIRE(rows.ok());
  CHECK(rows->size() == 2);
  CHECK(has((*rows)[0], R"("@rid":"#3:1")"));
  CHECK(has((*rows)[0], R"("node":1)"));
  // At most rows_max rows, with or without a LIMIT of the statement's own.
  r = run_read_statement(*db, "select from V", 3, 1 << 20, std::chrono::milliseconds(0));
  REQUIRE(r.ok());
  CHECK(parse_sql_answer(*r)->size() == 3);
  r = run_read_statement(*db, "select from V limit 100", 3, 1 << 20, std::chrono::milliseconds(0));
  CHECK(parse_sql_answer(*r)->size() == 3);
  r = run_read_statement(*db, "select from V limit 2", 3, 1 << 20, std::chrono::milliseconds(0));
  CHECK(parse_sql_answer(*r)->size() == 2);
  r = run_read_statement(*db, "select count(*) as n from V", 3, 1 << 20, std::chrono::milliseconds(0));
  CHECK(has(*r, R"("n":5)"));
  // Refusals, each a sentence.
  r = run_read_statement(*db, "select from V where", 21, 1 << 20, std::chrono::milliseconds(0));
  REQUIRE_FALSE(r.ok());
  CHECK(has(r.error().what, "Syntax error at position 19"));
  CHECK(has(r.error().what, "\n  select from V where\n                     ^"));
  r = run_read_statement(*db, "select from Nope", 21, 1 << 20, std::chrono::milliseconds(0));
  REQUIRE_FALSE(r.ok());
  CHECK(has(r.error().what, "Nope"));
  r = run_read_statement(*db, "select from V", 21, 100, std::chrono::milliseconds(0));
  REQUIRE_FALSE(r.ok());
  CHECK(has(r.error().what, "larger than 100 bytes"));
}

TEST_CASE("console sql: a write statement's answer is its last result; a refusal is its message") {
  storage::op_result created, answer;
  created.rec.fields = R"({"node":1})";
  answer.rec.fields = R"([{"@type":"d","@rid":"#9:0","@version":1,"@class":"V","node":1}])";
  auto a = write_statement_answer({created, answer});
  REQUIRE(a.ok());
  CHECK(*a == R"({"result":[{"@type":"d","@rid":"#9:0","@version":1,"@class":"V","node":1}]})");
  storage::op_result nothing;  // a statement that changed nothing: one result, its answer
  nothing.rec.fields = R"([{"@type":"d","@version":0,"value":0}])";
  CHECK(*write_statement_answer({nothing}) == R"({"result":[{"@type":"d","@version":0,"value":0}]})");
  storage::op_result refused;
  refused.code = storage::errc::invalid_argument;
  refused.message = "SQL write statements are not served here";
  auto r = write_statement_answer({refused});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().what == "SQL write statements are not served here");
  CHECK_FALSE(write_statement_answer({}).ok());
}
