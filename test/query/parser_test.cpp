// The SQL parser: a table of good statements checked through a canonical
// rendering of the tree, a table of bad ones with the position and the
// expectation of the error, the bounds (length, depth, NUL), and a seeded
// mutation fuzz pass that must never crash and always point inside the input.
// A fuzz failure prints the seed; TROUPE_SEED=<n> replays it.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <sstream>

#include "src/query/parser.hpp"
#include "src/util/strings.hpp"

using namespace troupe::query;

namespace {

std::string show(const expr_ptr& e);

std::string show_list(const std::vector<expr_ptr>& xs, const char* sep) {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? sep : "") + show(xs[i]);
  return out;
}

const char* op_name(binary_op op) {
  switch (op) {
    case binary_op::or_: return "or";
    case binary_op::and_: return "and";
    case binary_op::eq: return "=";
    case binary_op::ne: return "<>";
    case binary_op::lt: return "<";
    case binary_op::le: return "<=";
    case binary_op::gt: return ">";
    case binary_op::ge: return ">=";
    case binary_op::like: return "like";
    case binary_op::in: return "in";
    case binary_op::not_in: return "not-in";
    case binary_op::contains: return "contains";
    case binary_op::add: return "+";
    case binary_op::sub: return "-";
    case binary_op::mul: return "*";
    case binary_op::div: return "/";
    case binary_op::mod: return "%";
  }
  return "?";
}

const char* op_name(unary_op op) {
  switch (op) {
    case unary_op::not_: return "not";
    case unary_op::neg: return "neg";
    case unary_op::is_null: return "is-null";
    case unary_op::is_not_null: return "is-not-null";
    case unary_op::is_defined: return "is-defined";
    case unary_op::is_not_defined: return "is-not-defined";
  }
  return "?";
}

// A canonical, fully parenthesised rendering: (op a b), [items], ?0, :name.
std::string show(const expr_ptr& e) {
  REQUIRE(e);
  struct visitor {
    std::string operator()(const literal& l) const {
      switch (l.k) {
        case literal::kind::null: return "null";
        case literal::kind::boolean: return l.b ? "true" : "false";
        case literal::kind::integer: return std::to_string(l.i);
        case literal::kind::real: return troupe::cat(l.d);
        case literal::kind::string: return "'" + l.s + "'";
        case literal::kind::rid: return l.r.to_string();
      }
      return "?";
    }
    std::string operator()(const field_ref& f) const {
      std::string out;
      for (size_t i = 0; i < f.path.size(); ++i) out += (i ? "." : "") + f.path[i];
      return out;
    }
    std::string operator()(const param& p) const {
      return p.index >= 0 ? "?" + std::to_string(p.index) : ":" + p.name;
    }
    std::string operator()(const call& c) const {
      return c.name + "(" + (c.star ? "*" : show_list(c.args, ", ")) + ")";
    }
    std::string operator()(const unary& u) const { return troupe::cat("(", op_name(u.op), " ", show(u.a), ")"); }
    std::string operator()(const binary& b) const {
      return troupe::cat("(", op_name(b.op), " ", show(b.a), " ", show(b.b), ")");
    }
    std::string operator()(const between& b) const {
      return "(between " + show(b.x) + " " + show(b.lo) + " " + show(b.hi) + ")";
    }
    std::string operator()(const list& l) const { return "[" + show_list(l.items, " ") + "]"; }
    std::string operator()(const chain& c) const {
      std::string out = "{" + show(c.base);
      for (auto& st : c.steps) out += "." + st.name + (st.is_call ? "(" + show_list(st.args, ", ") + ")" : "");
      return out + "}";
    }
  };
  return std::visit(visitor{}, e->node);
}

std::string show(const select_stmt& s);
std::string show(const traverse_stmt& s);

std::string show(const target& t) {
  switch (t.k) {
    case target::kind::klass: return "class " + t.name;
    case target::kind::cluster: return "cluster " + t.name;
    case target::kind::none: return "none";
    case target::kind::subquery:
      return "(" + std::visit([](const auto& st) { return show(st); }, t.sub->stmt) + ")";
    case target::kind::rids: {
      std::string out = "rids";
      for (auto& r : t.rids) out += " " + r.to_string();
      return out;
    }
  }
  return "?";
}

// "traverse: out(), in_x | from: #9:1 | while: ... | maxdepth: 3 | limit: 5 |
//  strategy: breadth", leaving out the clauses not given; "*" for every field.
std::string show(const traverse_stmt& s) {
  std::string out = "traverse: " + std::string(s.all_fields ? "*" : "") + (s.all_fields && !s.items.empty() ? ", " : "") +
                    show_list(s.items, ", ") + " | from: " + show(s.from);
  if (s.while_cond) out += " | while: " + show(s.while_cond);
  if (s.max_depth) out += " | maxdepth: " + std::to_string(*s.max_depth);
  if (s.limit) out += " | limit: " + std::to_string(*s.limit);
  if (s.strat == traverse_stmt::strategy::breadth_first) out += " | strategy: breadth";
  return out;
}

// "proj: a AS x, count(*) | from: class V | where: ... | group: ... |
//  order: a desc | skip: 1 | limit: 2", leaving out the clauses not given.
std::string show(const select_stmt& s) {
  std::string out = "proj: ";
  if (s.projections.empty()) out += "*";
  for (size_t i = 0; i < s.projections.size(); ++i) {
    out += (i ? ", " : "") + show(s.projections[i].e);
    if (!s.projections[i].alias.empty()) out += " AS " + s.projections[i].alias;
  }
  out += " | from: " + show(s.from);
  for (size_t i = 0; i < s.let.size(); ++i)
    out += (i ? ", " : " | let: ") + s.let[i].name + " = " + (s.let[i].sub ? "(" + std::visit([](const auto& st) { return show(st); }, s.let[i].sub->stmt) + ")" : show(s.let[i].value));
  if (s.where) out += " | where: " + show(s.where);
  if (!s.group_by.empty()) out += " | group: " + show_list(s.group_by, ", ");
  for (size_t i = 0; i < s.order_by.size(); ++i)
    out += (i ? ", " : " | order: ") + show(s.order_by[i].e) + (s.order_by[i].desc ? " desc" : "");
  if (s.skip) out += " | skip: " + std::to_string(*s.skip);
  if (s.limit) out += " | limit: " + std::to_string(*s.limit);
  return out;
}

select_stmt parsed(std::string_view sql) {
  auto r = parse(sql);
  if (auto* e = std::get_if<syntax_error>(&r)) FAIL_CHECK(e->message());
  REQUIRE(std::holds_alternative<statement>(r));
  return std::get<select_stmt>(std::get<statement>(r));
}

syntax_error refused(std::string_view sql, size_t max_length = statement_length_max) {
  auto r = parse(sql, max_length);
  REQUIRE_MESSAGE(std::holds_alternative<syntax_error>(r), "accepted: " << sql);
  return std::get<syntax_error>(r);
}

// ---- write statements: a canonical rendering -------------------------------

std::string show(const std::vector<assignment>& as) {
  std::string out;
  for (size_t i = 0; i < as.size(); ++i) out += (i ? ", " : "") + as[i].field + (as[i].value ? "=" + show(as[i].value) : "");
  return out;
}

std::string show(const record_body& b) {
  std::string out;
  if (!b.set.empty()) out += " | set: " + show(b.set);
  if (b.content) out += " | content: " + *b.content;
  return out;
}

std::string show(const endpoint& e) {
  std::string out;
  for (auto& r : e.rids) out += (out.empty() ? "" : " ") + r.to_string();
  if (e.value) out += show(e.value);
  if (e.query) out += "(" + show(*e.query) + ")";
  return out;
}

std::string where_limit(const expr_ptr& where, const std::optional<int64_t>& limit) {
  std::string out;
  if (where) out += " | where: " + show(where);
  if (limit) out += " | limit: " + std::to_string(*limit);
  return out;
}

// "insert Doc | set: a=1 | return: @rid", "update class Doc | set a=1 | ...", ...
std::string show_write(const statement& st) {
  struct visitor {
    std::string operator()(const select_stmt& s) const { return "select " + show(s); }
    std::string operator()(const traverse_stmt& s) const { return show(s); }
    std::string operator()(const explain_stmt& s) const { return "explain select " + show(s.select); }
    std::string operator()(const insert_stmt& s) const {
      std::string out = "insert " + s.class_name;
      if (!s.cluster.empty()) out += " cluster " + s.cluster;
      for (auto& r : s.rows) out += show(r);
      if (s.from) out += " | from: (" + show(*s.from) + ")";
      if (s.returning) out += " | return: " + show(s.returning);
      return out;
    }
    std::string operator()(const update_stmt& s) const {
      std::string out = "update " + show(s.what);
      for (auto& a : s.actions) {
        const char* names[] = {"set", "increment", "add", "remove", "content", "merge"};
        out += troupe::cat(" | ", names[static_cast<int>(a.k)], " ");
        out += a.k == update_action::kind::content || a.k == update_action::kind::merge ? a.json : show({a.a});
      }
      if (s.upsert) out += " | upsert";
      if (s.ret != update_stmt::returning::count || s.return_expr)
        out += troupe::cat(" | return ", s.ret == update_stmt::returning::before ? "before" : "after",
                           s.return_expr ? " " + show(s.return_expr) : "");
      return out + where_limit(s.where, s.limit);
    }
    std::string operator()(const delete_stmt& s) const { return "delete " + show(s.what) + where_limit(s.where, s.limit); }
    std::string operator()(const delete_vertex_stmt& s) const {
      return "delete vertex " + show(s.what) + where_limit(s.where, s.limit);
    }
    std::string operator()(const delete_edge_stmt& s) const {
      std::string out = "delete edge";
      for (auto& r : s.rids) out += " " + r.to_string();
      if (!s.class_name.empty()) out += " " + s.class_name;
      if (s.from) out += " | from: " + show(*s.from);
      if (s.to) out += " | to: " + show(*s.to);
      return out + where_limit(s.where, s.limit);
    }
    std::string operator()(const create_vertex_stmt& s) const {
      return "create vertex " + (s.class_name.empty() ? "-" : s.class_name) + (s.cluster.empty() ? "" : " cluster " + s.cluster) +
             show(s.body);
    }
    std::string operator()(const create_edge_stmt& s) const {
      return "create edge " + (s.class_name.empty() ? "-" : s.class_name) + (s.cluster.empty() ? "" : " cluster " + s.cluster) +
             " | from: " + show(s.from) + " | to: " + show(s.to) + show(s.body);
    }
    std::string operator()(const create_class_stmt& s) const {
      return "create class " + s.name + (s.superclass.empty() ? "" : " extends " + s.superclass);
    }
    std::string operator()(const drop_class_stmt& s) const { return "drop class " + s.name; }
    std::string operator()(const create_property_stmt& s) const {
      return "create property " + s.class_name + "." + s.name + " " + s.type;
    }
    std::string operator()(const create_index_stmt& s) const {
      std::string out = "create index " + s.name + " on " + s.class_name + " (";
      for (size_t i = 0; i < s.fields.size(); ++i) out += (i ? ", " : "") + s.fields[i];
      return out + ") " + (s.unique ? "unique" : "notunique");
    }
    std::string operator()(const drop_index_stmt& s) const { return "drop index " + s.name; }
    std::string operator()(const create_user_stmt& s) const {
      std::string roles;
      for (auto& r : s.roles) roles += (roles.empty() ? "" : ",") + r;
      return "create user " + s.name + " by " + s.password + " roles " + roles;
    }
    std::string operator()(const drop_user_stmt& s) const { return "drop user " + s.name; }
    std::string operator()(const alter_user_stmt& s) const { return "alter user " + s.name + " by " + s.password; }
  };
  return std::visit(visitor{}, st);
}

statement parsed_any(std::string_view sql) {
  auto r = parse(sql);
  if (auto* e = std::get_if<syntax_error>(&r)) FAIL_CHECK(e->message());
  REQUIRE(std::holds_alternative<statement>(r));
  return std::get<statement>(r);
}

}  // namespace

TEST_CASE("query: parser: good statements give the expected tree") {
  struct row {
    const char* sql;
    const char* tree;
  };
  const row rows[] = {
      {"SELECT FROM V", "proj: * | from: class V"},
      {"select * from V;", "proj: * | from: class V"},
      {"select a, b.c AS x, @rid from Person", "proj: a, b.c AS x, @rid | from: class Person"},
      {"select @class, @VERSION, @This from V", "proj: @class, @version, @this | from: class V"},
      {"select from cluster:person", "proj: * | from: cluster person"},
      {"select from CLUSTER:12", "proj: * | from: cluster 12"},
      {"select from cluster : p", "proj: * | from: cluster p"},
      {"select from #9:1", "proj: * | from: rids #9:1"},
      {"select from [#9:1, #32767:9223372036854775807]",
       "proj: * | from: rids #9:1 #32767:9223372036854775807"},
      {"select from V where a = 1 or b = 2 and c = 3",
       "proj: * | from: class V | where: (or (= a 1) (and (= b 2) (= c 3)))"},
      {"select from V where (a = 1 or b = 2) and c = 3",
       "proj: * | from: class V | where: (and (or (= a 1) (= b 2)) (= c 3))"},
      {"select from V where not a = 1 and b", "proj: * | from: class V | where: (and (not (= a 1)) b)"},
      {"select from V where not not a", "proj: * | from: class V | where: (not (not a))"},
      {"select from V where a + b * c - d = 1",
       "proj: * | from: class V | where: (= (- (+ a (* b c)) d) 1)"},
      {"select from V where a % 2 = 0 and b / 2 >= 1",
       "proj: * | from: class V | where: (and (= (% a 2) 0) (>= (/ b 2) 1))"},
      {"select from V where -a * 2 < -3", "proj: * | from: class V | where: (< (* (neg a) 2) -3)"},
      {"select from V where a = -1.5 and b = - 2", "proj: * | from: class V | where: (and (= a -1.5) (= b -2))"},
      {"select from V where a - -(b) = 0", "proj: * | from: class V | where: (= (- a (neg b)) 0)"},
      {"select from V where a between 1 and 5 and b = 2",
       "proj: * | from: class V | where: (and (between a 1 5) (= b 2))"},
      {"select from V where x between 1 + 1 and 2 * 3 or y",
       "proj: * | from: class V | where: (or (between x (+ 1 1) (* 2 3)) y)"},
      {"select from V where a in [1, 2, 3]", "proj: * | from: class V | where: (in a [1 2 3])"},
      {"select from V where a in (1, 'x')", "proj: * | from: class V | where: (in a [1 'x'])"},
      {"select from V where a not in (1)", "proj: * | from: class V | where: (not-in a [1])"},
      {"select from V where a in :list or b in []", "proj: * | from: class V | where: (or (in a :list) (in b []))"},
      {"select from V where a is not null or b is null",
       "proj: * | from: class V | where: (or (is-not-null a) (is-null b))"},
      {"select from V where a is defined and b is not defined",
       "proj: * | from: class V | where: (and (is-defined a) (is-not-defined b))"},
      {"select from V where a = ? and b = :name and c = ? and d in [?]",
       "proj: * | from: class V | where: (and (and (and (= a ?0) (= b :name)) (= c ?1)) (in d [?2]))"},
      {"select from V where a like 'x%' and t contains 'y' and a <> 1 and b != 2 and c <= 4 and e > 5",
       "proj: * | from: class V | where: (and (and (and (and (and (like a 'x%') (contains t 'y')) (<> a 1)) (<> b 2)) "
       "(<= c 4)) (> e 5))"},
      {"select count(*), COUNT(a), Sum(a.b) AS total, now() from V group by a, b order by total desc, a asc, b "
       "skip 10 limit 20",
       "proj: count(*), count(a), sum(a.b) AS total, now() | from: class V | group: a, b | order: total desc, a, b "
       "| skip: 10 | limit: 20"},
      {"SeLeCt FrOm v WhErE @RID = #1:2 OrDeR bY a DeSc LIMIT -1;",
       "proj: * | from: class v | where: (= @rid #1:2) | order: a desc | limit: -1"},
      {"select from V limit 5 skip 2", "proj: * | from: class V | skip: 2 | limit: 5"},
      {"select `from`, `a b`.c AS `x y` from `my class` where `select` = 1",
       "proj: from, a b.c AS x y | from: class my class | where: (= select 1)"},
      {"select from V where a.limit = 1 and b.FROM.c", "proj: * | from: class V | where: (and (= a.limit 1) b.FROM.c)"},
      {"select from V where @rid in [#1:2, #3:4]", "proj: * | from: class V | where: (in @rid [#1:2 #3:4])"},
      {"select from V where a = 1.5 and b = 2e3 and c = -9223372036854775808 and d = 9223372036854775807",
       "proj: * | from: class V | where: (and (and (and (= a 1.5) (= b 2000)) (= c -9223372036854775808)) "
       "(= d 9223372036854775807))"},
      {"select from V where a = null or b = true or c = FALSE",
       "proj: * | from: class V | where: (or (or (= a null) (= b true)) (= c false))"},
      {"select f(g(1), [2, 3]) from V", "proj: f(g(1), [2 3]) | from: class V"},
      {"\n\tselect\r\na\nfrom V  ", "proj: a | from: class V"},
  };
  for (auto& r : rows) {
    CAPTURE(r.sql);
    CHECK(show(parsed(r.sql)) == r.tree);
  }
}

TEST_CASE("query: parser: graph forms: chains, subqueries, SELECT without FROM, TRAVERSE") {
  struct row {
    const char* sql;
    const char* tree;
  };
  const row rows[] = {
      {"select out('followed_by').name from V", "proj: {out('followed_by').name} | from: class V"},
      {"select in('sung_by').size() as n, a.b.c, a.b.first() from V",
       "proj: {in('sung_by').size()} AS n, a.b.c, {a.b.first()} | from: class V"},
      {"select from V where out('sung_by').name = 'Garcia' and in().size() > 0",
       "proj: * | from: class V | where: (and (= {out('sung_by').name} 'Garcia') (> {in().size()} 0))"},
      {"select in('followed_by').out('sung_by').name.toLowerCase() from V",
       "proj: {in('followed_by').out('sung_by').name.tolowercase()} | from: class V"},
      {"select @this.outE().inV(), @this.name from V", "proj: {@this.oute().inv()}, {@this.name} | from: class V"},
      {"select expand(out()) from #9:1", "proj: expand(out()) | from: rids #9:1"},
      {"select expand(shortestPath(#9:1, #9:5, 'OUT'))", "proj: expand(shortestpath(#9:1, #9:5, 'OUT')) | from: none"},
      {"select shortestPath(#9:1, #9:5);", "proj: shortestpath(#9:1, #9:5) | from: none"},
      {"select from (select from V where a = 1) where b = 2",
       "proj: * | from: (proj: * | from: class V | where: (= a 1)) | where: (= b 2)"},
      {"select a from (select a from (select from V limit 3)) order by a",
       "proj: a | from: (proj: a | from: (proj: * | from: class V | limit: 3)) | order: a"},
      {"select from (traverse out('followed_by') from #9:1 maxdepth 3) where $depth >= 1",
       "proj: * | from: (traverse: out('followed_by') | from: rids #9:1 | maxdepth: 3) | where: (>= $depth 1)"},
      {"select a.`b`.c from V", "proj: a.b.c | from: class V"},
  };
  for (auto& r : rows) {
    CAPTURE(r.sql);
    CHECK(show(parsed(r.sql)) == r.tree);
  }
  const row traversals[] = {
      {"traverse out('followed_by') from #9:1 while $depth < 3 strategy breadth_first",
       "traverse: out('followed_by') | from: rids #9:1 | while: (< $depth 3) | strategy: breadth"},
      {"TRAVERSE * FROM V MAXDEPTH 2 LIMIT 10;", "traverse: * | from: class V | maxdepth: 2 | limit: 10"},
      {"traverse any() from [#9:1, #9:2] limit 5 maxdepth 1 strategy DEPTH_FIRST",
       "traverse: * | from: rids #9:1 #9:2 | maxdepth: 1 | limit: 5"},
      {"traverse in_followed_by, out(), in('a', 'b') from (select from V where a = 1)",
       "traverse: in_followed_by, out(), in('a', 'b') | from: (proj: * | from: class V | where: (= a 1))"},
      {"traverse out() from cluster:v while $depth <= 2 and name <> 'x'",
       "traverse: out() | from: cluster v | while: (and (<= $depth 2) (<> name 'x'))"},
  };
  for (auto& r : traversals) {
    CAPTURE(r.sql);
    auto got = parse(r.sql);
    if (auto* e = std::get_if<syntax_error>(&got)) FAIL_CHECK(e->message());
    REQUIRE(std::holds_alternative<statement>(got));
    auto* t = std::get_if<traverse_stmt>(&std::get<statement>(got));
    REQUIRE(t != nullptr);
    CHECK(show(*t) == r.tree);
  }
  // Fields named like the contextual words still read as fields.
  CHECK(show(parsed("select while, maxdepth, strategy from traverse")) ==
        "proj: while, maxdepth, strategy | from: class traverse");
}

TEST_CASE("query: parser: LET gives the expected tree") {
  struct row {
    const char* sql;
    const char* tree;
  };
  const row rows[] = {
      {"select name, $n as n from V let $n = in('followed_by').size() where $n > 10 order by n desc",
       "proj: name, $n AS n | from: class V | let: $n = {in('followed_by').size()} | where: (> $n 10) | order: n desc"},
      {"select from V LET $a = 1, $b = $a + 1 where $b = 2",
       "proj: * | from: class V | let: $a = 1, $b = (+ $a 1) | where: (= $b 2)"},
      {"select from V let a = name", "proj: * | from: class V | let: $a = name"},
      {"select $songs.size() from V let $songs = (select from V where type = 'song' and name = $parent.$current.name)",
       "proj: {$songs.size()} | from: class V | let: $songs = (proj: * | from: class V | where: (and (= type 'song') "
       "(= name $parent.$current.name)))"},
      {"select from V let $t = (traverse out() from #9:1 maxdepth 1), $x = (1 + 2) limit 3",
       "proj: * | from: class V | let: $t = (traverse: out() | from: rids #9:1 | maxdepth: 1), $x = (+ 1 2) | limit: 3"},
      {"select $a let $a = 5", "proj: $a | from: none | let: $a = 5"},
      {"select from (select from V let $a = 1 where $a = 1) let $b = 2",
       "proj: * | from: (proj: * | from: class V | let: $a = 1 | where: (= $a 1)) | let: $b = 2"},
      // LET is a word read in place: a class or a field may be named so.
      {"select let from let", "proj: let | from: class let"},
      {"select from V let $A = 1, $a = 2 group by $a", "proj: * | from: class V | let: $A = 1, $a = 2 | group: $a"},
  };
  for (auto& r : rows) {
    CAPTURE(r.sql);
    CHECK(show(parsed(r.sql)) == r.tree);
  }
  auto s = parsed("select from V let $a = 1, $b = (select from V)");
  REQUIRE(s.let.size() == 2);
  CHECK(s.let[0].pos == 18);
  CHECK(s.let[0].value != nullptr);
  CHECK(s.let[0].sub == nullptr);
  CHECK(s.let[1].pos == 26);
  CHECK(s.let[1].value == nullptr);
  CHECK(s.let[1].sub != nullptr);

  // At most let_variables_max variables: the 17th is refused where it starts.
  std::string sql = "select from V let ";
  size_t seventeenth = 0;
  for (size_t i = 0; i <= let_variables_max; ++i) {
    if (i == let_variables_max) seventeenth = sql.size() + 2;
    sql += (i ? ", " : "") + troupe::cat("$v", i, " = ", i);
  }
  auto e = refused(sql);
  CHECK(e.position == seventeenth);
  CHECK(e.expected == troupe::cat("at most ", let_variables_max, " LET variables"));
  sql.resize(sql.rfind(','));
  CHECK(parsed(sql).let.size() == let_variables_max);

  struct bad {
    std::string sql;
    size_t position;
    const char* expected;
  };
  const bad bads[] = {
      {"select from V let", 17, "a variable name ($name) in LET"},
      {"select from V let 1 = 2", 18, "a variable name ($name) in LET"},
      {"select from V let `$a` = 2", 18, "a variable name ($name) in LET"},
      {"select from V let $a", 20, "'=' after the LET variable"},
      {"select from V let $a.b = 1", 20, "'=' after the LET variable"},
      {"select from V let $a = ", 23, "an expression"},
      {"select from V let $a = 1,", 25, "a variable name ($name) in LET"},
      {"select from V let $a = 1 let $b = 2", 25, "end of statement"},
      {"select from V where a = 1 let $b = 2", 26, "end of statement"},
      {"select from V let $parent = 1", 18, "a variable name other than $parent and $current"},
      {"select from V let $current = 1", 18, "a variable name other than $parent and $current"},
      {"select from V let $a = (select from V", 37, "')' closing the subquery"},
      {"select from V let $a = (select from V where)", 43, "an expression"},
      {"select from V let $a = (update V)", 31, "')'"},
  };
  for (auto& r : bads) {
    CAPTURE(r.sql);
    auto err = refused(r.sql);
    CHECK(err.position == r.position);
    CHECK_MESSAGE(err.expected.find(r.expected) != std::string::npos, err.message());
    CHECK(!err.found.empty());
  }
}

TEST_CASE("query: parser: strings, escapes and positions") {
  auto s = parsed(R"(select from V where a = 'it\'s' and b = "say \"hi\"\n\t\\/" and c = '\u00e9\ud83d\ude00' and d = 'é')");
  CHECK(show(s.where) ==
        "(and (and (and (= a 'it's') (= b 'say \"hi\"\n\t\\/')) (= c '\xc3\xa9\xf0\x9f\x98\x80')) (= d '\xc3\xa9'))");
  // Invalid UTF-8 inside a string is kept byte for byte (documented in lexer.hpp).
  auto raw = parsed("select from V where a = '\xff\xfe'");
  CHECK(show(raw.where) == "(= a '\xff\xfe')");

  auto p = parsed("select a, count(*) from V where x between 1 and 2");
  CHECK(p.projections[0].e->pos == 7);
  CHECK(p.projections[1].e->pos == 10);
  CHECK(p.from.pos == 24);
  CHECK(p.where->pos == 32);
  auto& b = std::get<between>(p.where->node);
  CHECK(b.lo->pos == 42);
  CHECK(b.hi->pos == 48);
  auto t = parsed("select from [#1:2]");
  CHECK(t.from.pos == 12);
}

TEST_CASE("query: parser: bad statements are refused with a position and an expectation") {
  struct row {
    std::string sql;
    size_t position;
    const char* expected;
  };
  const row rows[] = {
      {"", 0, "SELECT"},
      {"   ", 3, "SELECT"},
      {"SELECT", 6, "a projection, * or FROM"},
      {"SELECT FROM", 11, "a class name"},
      {"select from V where", 19, "an expression"},
      {"select from V where a =", 23, "an expression"},
      {"select from V where a = 'abc", 24, "a closing ' for this string"},
      {"select from V where a = \"abc\\", 24, "a closing \" for this string"},
      {"select from V where a = 'a\\qb'", 26, "an escape"},
      {"select from V where a = '\\u12'", 25, "\\u and 4 hex digits"},
      {"select from V where a = '\\ude00'", 25, "a high surrogate"},
      {"select from #1:", 12, "a RID like #12:34"},
      {"select from #:1", 12, "a RID like #12:34"},
      {"select from #99999:1", 12, "a cluster id from 0 to 32767"},
      {"select from #1:99999999999999999999", 12, "a record position"},
      {"select from V where a = 99999999999999999999", 24, "an integer from"},
      {"select from V where a = 9223372036854775808", 24, "an integer from"},
      {"select from V where a = 1e999", 24, "within the range of a double"},
      {"select from V limit x", 20, "a non-negative integer or -1"},
      {"select from V limit -2", 20, "a non-negative integer or -1"},
      {"select from V skip -1", 19, "a non-negative integer"},
      {"select from V limit 1 limit 2", 22, "end of statement"},
      {"select from V order", 19, "BY after ORDER"},
      {"select from V group a", 20, "BY after GROUP"},
      {"select from V V2", 14, "end of statement"},
      {"select from V; x", 15, "end of statement"},
      {"select from V where (a = 1", 26, "')'"},
      {"select from V where a = 1)", 25, "end of statement"},
      {"select from V where a = 1 = 2", 26, "end of statement"},
      {"select a,, b from V", 9, "an expression"},
      {"select a b from V", 9, "',' or FROM"},
      {"select *, a from V", 8, "FROM"},
      {"select a as from V", 12, "an alias name"},
      {"select f(a from V", 11, "',' or ')'"},
      {"select from V where a in (1, 2", 30, "',' or ')'"},
      {"select from V where a in [1 2]", 28, "',' or ']'"},
      {"select from V where a between 1 or 2", 32, "AND of BETWEEN"},
      {"select from V where a is 5", 25, "NOT, NULL or DEFINED"},
      {"select from V where a is not 5", 29, "NULL or DEFINED"},
      {"select from V where a not like 'x'", 22, "end of statement"},
      {"select from V where a.", 22, "a field name after '.'"},
      {"select from V where select = 1", 20, "an expression"},
      {"select from cluster", 19, "':' and a cluster name"},
      {"select from cluster:", 20, "a cluster name or id"},
      {"select from [#1:2,", 18, "a RID"},
      {"select from [#1:2 #1:3]", 18, "',' or ']'"},
      {"select from (update V)", 13, "SELECT or TRAVERSE in the subquery"},
      {"select @foo from V", 7, "an attribute"},
      {"select `` from V", 7, "a name between the backquotes"},
      {"select `a from V", 7, "a closing `"},
      {"select a ! b from V", 9, "'!='"},
      {"select \xc3\xa9 from V", 7, "a keyword, name, value or operator"},
      {std::string("select from V\0", 14), 13, "text without NUL bytes"},
      {std::string("select from V where a = '\0'", 27), 25, "text without NUL bytes"},
      {"select out('x'). , a from V", 17, "a field or method name after '.'"},
      {"select out('x').size( from V", 22, "an expression"},
      {"select out('x').size(1 from V", 23, "',' or ')'"},
      {"traverse from V", 9, "a field, a function like out() or *"},
      {"traverse", 8, "a field, a function like out() or *"},
      {"traverse out() V", 15, "',' or FROM"},
      {"traverse * V", 11, "FROM"},
      {"traverse out() from", 19, "a class name"},
      {"traverse out() from #9:1 strategy sideways", 34, "DEPTH_FIRST or BREADTH_FIRST"},
      {"traverse out() from #9:1 maxdepth -1", 34, "a non-negative integer"},
      {"traverse out() from #9:1 maxdepth 1 maxdepth 2", 36, "end of statement"},
      {"traverse out() from #9:1 while", 30, "an expression"},
      {"select from (select from V", 26, "')' closing the subquery"},
      {"select from ()", 13, "SELECT or TRAVERSE in the subquery"},
      {"select from (traverse * from V) x", 32, "end of statement"},
      {"select from (select from V;)", 26, "')' closing the subquery"},
      {"select a b", 9, "',' or FROM"},
      {"upsert V set a = 1", 0, "SELECT"},
  };
  for (auto& r : rows) {
    CAPTURE(r.sql);
    auto e = refused(r.sql);
    CHECK(e.position == r.position);
    CHECK(e.position <= r.sql.size());
    CHECK_MESSAGE(e.expected.find(r.expected) != std::string::npos, e.message());
    CHECK(!e.found.empty());
  }
}

TEST_CASE("query: parser: write statements give the expected tree") {
  struct row {
    const char* sql;
    const char* tree;
  };
  const row rows[] = {
      {"INSERT INTO Doc SET a = 1, b = 'x' + ?", "insert Doc | set: a=1, b=(+ 'x' ?0)"},
      {"insert into `my class` cluster doc set a = [1, 2] return @rid;", "insert my class cluster doc | set: a=[1 2] | return: @rid"},
      {"INSERT INTO Doc (a, b) VALUES (1, 2), (:x, null)", "insert Doc | set: a=1, b=2 | set: a=:x, b=null"},
      {R"(INSERT INTO Doc CONTENT {"a": {"b": [1, "}"]}, "c": null})",
       R"(insert Doc | content: {"a": {"b": [1, "}"]}, "c": null})"},
      {"INSERT INTO Doc FROM (SELECT a FROM V WHERE b = ?) RETURN @this",
       "insert Doc | from: (proj: a | from: class V | where: (= b ?0)) | return: @this"},
      {"UPDATE Doc SET a = a + 1 WHERE b = 2 LIMIT 5", "update class Doc | set a=(+ a 1) | where: (= b 2) | limit: 5"},
      {"update #9:1 increment n = 2, m = -1 add tags = 'x' remove old, tags = 'y'",
       "update rids #9:1 | increment n=2 | increment m=-1 | add tags='x' | remove old | remove tags='y'"},
      {R"(UPDATE cluster:doc MERGE {"a": 1} RETURN AFTER @rid WHERE a is null)",
       R"(update cluster doc | merge {"a": 1} | return after @rid | where: (is-null a))"},
      {R"(UPDATE Doc CONTENT {"a": 1} UPSERT RETURN BEFORE WHERE k = :k)",
       R"(update class Doc | content {"a": 1} | upsert | return before | where: (= k :k))"},
      {"UPDATE Doc SET a = 1 RETURN COUNT LIMIT -1", "update class Doc | set a=1 | limit: -1"},
      {"DELETE FROM Doc WHERE a = 1 LIMIT 2;", "delete class Doc | where: (= a 1) | limit: 2"},
      {"delete from [#1:2, #1:3]", "delete rids #1:2 #1:3"},
      {"DELETE VERTEX Person WHERE name = 'x'", "delete vertex class Person | where: (= name 'x')"},
      {"DELETE VERTEX #9:1", "delete vertex rids #9:1"},
      {"DELETE EDGE #12:3", "delete edge #12:3"},
      {"DELETE EDGE [#12:3, #12:4] WHERE w > 1", "delete edge #12:3 #12:4 | where: (> w 1)"},
      {"DELETE EDGE Knows FROM #9:1 TO ? WHERE since < 2000 LIMIT 1",
       "delete edge Knows | from: #9:1 | to: ?0 | where: (< since 2000) | limit: 1"},
      {"DELETE EDGE FROM (SELECT FROM Person) TO [#9:2]", "delete edge | from: (proj: * | from: class Person) | to: #9:2"},
      {"delete edge to #9:2", "delete edge | to: #9:2"},
      {"CREATE VERTEX", "create vertex -"},
      {"CREATE VERTEX Person cluster person SET name = 'x'", "create vertex Person cluster person | set: name='x'"},
      {R"(create vertex content {"name": "y"})", R"(create vertex - | content: {"name": "y"})"},
      {"CREATE EDGE FROM #9:1 TO #9:2", "create edge - | from: #9:1 | to: #9:2"},
      {"CREATE EDGE Knows FROM [#9:1, #9:2] TO :to SET since = 2020",
       "create edge Knows | from: #9:1 #9:2 | to: :to | set: since=2020"},
      {"CREATE EDGE Knows FROM (SELECT FROM Person WHERE a = ?) TO (SELECT FROM Person WHERE b = ?)",
       "create edge Knows | from: (proj: * | from: class Person | where: (= a ?0)) | to: (proj: * | from: class Person "
       "| where: (= b ?1))"},
      {"CREATE CLASS Person EXTENDS V", "create class Person extends V"},
      {"create class Doc;", "create class Doc"},
      {"DROP CLASS Person", "drop class Person"},
      {"CREATE PROPERTY Person.age integer", "create property Person.age INTEGER"},
      {"CREATE PROPERTY Person.friends LINKLIST Person", "create property Person.friends LINKLIST"},
      {"CREATE PROPERTY Person.limit STRING", "create property Person.limit STRING"},
      {"CREATE INDEX Person.name UNIQUE", "create index Person.name on Person (name) unique"},
      {"CREATE INDEX Person.name ON Person (name) NOTUNIQUE", "create index Person.name on Person (name) notunique"},
      {"create index byBoth on Person (a, b) unique_hash_index", "create index byBoth on Person (a, b) unique"},
      {"DROP INDEX Person.name", "drop index Person.name"},
      // The statements' words are not reserved: SELECT still reads such fields.
      {"select content, set, to, vertex from V where merge = 1",
       "select proj: content, set, to, vertex | from: class V | where: (= merge 1)"},
  };
  for (auto& r : rows) {
    CAPTURE(std::string(r.sql));
    CHECK(show_write(parsed_any(r.sql)) == r.tree);
  }
  // Positions of the names, for errors about them.
  auto ins = std::get<insert_stmt>(parsed_any("INSERT INTO Doc SET a = 1"));
  CHECK(ins.class_pos == 12);
  CHECK(ins.rows[0].set[0].pos == 20);
  CHECK(ins.rows[0].set[0].value->pos == 24);
  auto ce = std::get<create_edge_stmt>(parsed_any("CREATE EDGE Knows FROM #1:1 TO #1:2"));
  CHECK(ce.class_pos == 12);
  CHECK(ce.from.pos == 23);
  CHECK(ce.to.pos == 31);
  // A subquery goes on numbering positional parameters.
  auto up = std::get<insert_stmt>(parsed_any("INSERT INTO Doc FROM (SELECT FROM V WHERE a = ? AND b = ?) RETURN ?"));
  CHECK(std::get<param>(up.returning->node).index == 2);
}

TEST_CASE("query: parser: bad write statements are refused with a position and an expectation") {
  struct row {
    std::string sql;
    size_t position;
    const char* expected;
  };
  const row rows[] = {
      {"INSERT Doc SET a = 1", 7, "INTO after INSERT"},
      {"INSERT INTO", 11, "a class name"},
      {"INSERT INTO Doc", 15, "SET, (fields) VALUES, CONTENT or FROM"},
      {"INSERT INTO Doc SET a", 21, "'=' after the field name"},
      {"INSERT INTO Doc SET a = 1 b = 2", 26, "RETURN or end of statement"},
      {"INSERT INTO Doc (a, b) VALUES (1)", 32, "2 values, one per field"},
      {"INSERT INTO Doc (a) VALUES (1, 2)", 31, "')' after 1 values"},
      {"INSERT INTO Doc (a) (1)", 20, "VALUES"},
      {"INSERT INTO Doc CONTENT [1]", 24, "a JSON object {...} after CONTENT"},
      {R"(INSERT INTO Doc CONTENT {"a": })", 30, "a JSON object"},
      {R"(INSERT INTO Doc CONTENT {"a": 1)", 31, "a JSON object"},
      {R"(INSERT INTO Doc SET a = {"x": 1})", 24, "an expression"},
      {"INSERT INTO Doc SET a = 1 RETURN", 32, "an expression"},
      {"INSERT INTO Doc FROM SELECT FROM V", 21, "'(' and a SELECT"},
      {"INSERT INTO Doc FROM (SELECT FROM V", 35, "')' closing the subquery"},
      {"INSERT INTO Doc FROM (SELECT FROM V WHERE) RETURN @rid", 41, "an expression"},
      {"INSERT INTO Doc FROM (UPDATE V SET a = 1)", 22, "SELECT"},
      {"UPDATE Doc", 10, "SET, INCREMENT, ADD, REMOVE, CONTENT or MERGE"},
      {"UPDATE SET a = 1", 11, "SET, INCREMENT"},
      {"UPDATE Doc SET a = 1 LIMIT x", 27, "a non-negative integer or -1"},
      {"UPDATE Doc SET a = 1 RETURN x", 28, "COUNT, BEFORE or AFTER"},
      {"UPDATE Doc SET a = 1 WHERE", 26, "an expression"},
      {"UPDATE Doc SET a = 1 foo", 21, "UPSERT, RETURN, WHERE, LIMIT or end of statement"},
      {"UPDATE Doc SET a = 1 WHERE b = 1 UPSERT", 33, "UPSERT, RETURN, WHERE, LIMIT or end of statement"},
      {"UPDATE Doc INCREMENT a", 22, "'=' after the field name"},
      {"UPDATE Doc MERGE a = 1", 17, "a JSON object {...} after MERGE"},
      {"DELETE Doc", 7, "FROM, VERTEX or EDGE after DELETE"},
      {"DELETE FROM", 11, "a class name"},
      {"DELETE FROM Doc WHERE a = 1 x", 28, "WHERE, LIMIT or end of statement"},
      {"DELETE VERTEX", 13, "a class name"},
      {"DELETE EDGE FROM", 16, "a RID, a list of RIDs, a parameter or (SELECT ...)"},
      {"DELETE EDGE #1:2 TO #1:3", 17, "WHERE, LIMIT or end of statement"},
      {"DELETE EDGE [#1:2", 17, "',' or ']'"},
      {"CREATE VERTEX Person SET", 24, "a field name"},
      {"CREATE VERTEX Person x", 21, "SET, CONTENT or end of statement"},
      {"CREATE EDGE Knows #5:0 TO #5:1", 18, "FROM (or CLUSTER)"},
      {"CREATE EDGE Knows FROM #5:0", 27, "TO"},
      {"CREATE EDGE Knows FROM #5:0 TO", 30, "a RID, a list of RIDs"},
      {"CREATE EDGE Knows FROM 'x' TO #1:1", 23, "a RID, a list of RIDs"},
      {"CREATE EDGE FROM #1:1 TO #1:2 SET", 33, "a field name"},
      {"CREATE TABLE x", 7, "VERTEX, EDGE, CLASS, PROPERTY, INDEX or USER after CREATE"},
      {"CREATE", 6, "VERTEX, EDGE, CLASS"},
      {"CREATE CLASS", 12, "a class name"},
      {"CREATE CLASS A EXTENDS", 22, "a superclass name"},
      {"CREATE CLASS A B", 15, "EXTENDS or end of statement"},
      {"CREATE CLASS A EXTENDS B C", 25, "end of statement"},
      {"DROP CLASS", 10, "a class name"},
      {"DROP TABLE x", 5, "CLASS, INDEX or USER after DROP"},
      {"CREATE PROPERTY Person", 22, "'.' and the property name"},
      {"CREATE PROPERTY Person.", 23, "a property name"},
      {"CREATE PROPERTY Person.age", 26, "a type"},
      {"CREATE PROPERTY Person.age INTEGER x y", 37, "end of statement"},
      {"CREATE INDEX idx UNIQUE", 17, "ON Class (fields), or a name Class.field"},
      {"CREATE INDEX Person.name FULLTEXT", 25, "UNIQUE or NOTUNIQUE"},
      {"CREATE INDEX Person.name", 24, "UNIQUE or NOTUNIQUE"},
      {"CREATE INDEX i ON Person name UNIQUE", 25, "'(' and the indexed fields"},
      {"CREATE INDEX i ON Person (name UNIQUE", 31, "',' or ')'"},
      {"CREATE INDEX i ON Person (name) UNIQUE STRING", 39, "end of statement"},
      {"DROP INDEX", 10, "an index name"},
      {"DROP INDEX a.", 13, "a name after '.'"},
      {"INSERT INTO Doc SET a = 1; x", 27, "end of statement"},
  };
  for (auto& r : rows) {
    CAPTURE(r.sql);
    auto e = refused(r.sql);
    CHECK(e.position == r.position);
    CHECK(e.position <= r.sql.size());
    CHECK_MESSAGE(e.expected.find(r.expected) != std::string::npos, e.message());
    CHECK(!e.found.empty());
  }
}

TEST_CASE("query: parser: user statements give the expected tree") {
  {
    auto s = std::get<create_user_stmt>(parsed_any("CREATE USER alice IDENTIFIED BY secret"));
    CHECK(s.name == "alice");
    CHECK(s.password == "secret");
    CHECK(s.roles.empty());  // the planner gives writer, as OrientDB 3.0
    CHECK(s.pos == 12);
  }
  {
    auto s = std::get<create_user_stmt>(parsed_any("create user 'bob smith' identified by 'p w;d' role admin;"));
    CHECK(s.name == "bob smith");
    CHECK(s.password == "p w;d");
    CHECK(s.roles == std::vector<std::string>{"admin"});
  }
  {
    // Keywords are words too: a password may be `select` or `by`.
    auto s = std::get<create_user_stmt>(parsed_any("CREATE USER u IDENTIFIED BY select ROLE [reader, `writer`, 'x y']"));
    CHECK(s.password == "select");
    CHECK(s.roles == std::vector<std::string>{"reader", "writer", "x y"});
  }
  CHECK(std::get<drop_user_stmt>(parsed_any("DROP USER alice")).name == "alice");
  {
    auto s = std::get<alter_user_stmt>(parsed_any("Alter User alice Identified By \"n3w\""));
    CHECK(s.name == "alice");
    CHECK(s.password == "n3w");
  }
  // USER, ROLE and IDENTIFIED stay usable as field names.
  CHECK(std::holds_alternative<select_stmt>(parsed_any("select user, role, identified from V where alter = 1")));
}

TEST_CASE("query: parser: bad user statements are refused with a position and an expectation") {
  struct row {
    std::string sql;
    size_t position;
    const char* expected;
  };
  const row rows[] = {
      {"CREATE USER", 11, "a user name"},
      {"CREATE USER alice", 17, "IDENTIFIED BY and the password"},
      {"CREATE USER alice IDENTIFIED", 28, "BY after IDENTIFIED"},
      {"CREATE USER alice IDENTIFIED secret", 29, "BY after IDENTIFIED"},
      {"CREATE USER alice IDENTIFIED BY", 31, "a password"},
      {"CREATE USER alice IDENTIFIED BY ''", 32, "a password of 1 to 1024 bytes"},
      {"CREATE USER '' IDENTIFIED BY x", 12, "a user name of 1 to 128 bytes"},
      {"CREATE USER alice IDENTIFIED BY 123", 32, "a password"},
      {"CREATE USER alice IDENTIFIED BY ?", 32, "a password"},
      {"CREATE USER alice IDENTIFIED BY x ROLE", 38, "a role name or [roles]"},
      {"CREATE USER alice IDENTIFIED BY x ROLE [", 40, "a role name"},
      {"CREATE USER alice IDENTIFIED BY x ROLE [a", 41, "',' or ']'"},
      {"CREATE USER alice IDENTIFIED BY x ROLE [a,]", 42, "a role name"},
      {"CREATE USER alice IDENTIFIED BY x ROLE a b", 41, "end of statement"},
      {"CREATE USER alice IDENTIFIED BY x y", 34, "end of statement"},
      {"CREATE USER #1:2 IDENTIFIED BY x", 12, "a user name"},
      {"CREATE USER 'a\tb' IDENTIFIED BY x", 12, "a user name without control characters"},
      {"CREATE USER a IDENTIFIED BY 'p\nq'", 28, "a password without control characters"},
      {"DROP USER", 9, "a user name"},
      {"DROP USER a b", 12, "end of statement"},
      {"ALTER", 5, "USER after ALTER"},
      {"ALTER CLASS V", 6, "USER after ALTER"},
      {"ALTER USER a", 12, "IDENTIFIED BY and the password"},
      {"ALTER USER a IDENTIFIED BY x ROLE admin", 29, "end of statement"},
      {"CREATE USER " + std::string(129, 'n') + " IDENTIFIED BY x", 12, "a user name of 1 to 128 bytes"},
      {"CREATE USER a IDENTIFIED BY '" + std::string(1025, 'p') + "'", 28, "a password of 1 to 1024 bytes"},
  };
  for (auto& r : rows) {
    CAPTURE(r.sql);
    auto e = refused(r.sql);
    CHECK(e.position == r.position);
    CHECK(e.position <= r.sql.size());
    CHECK_MESSAGE(e.expected.find(r.expected) != std::string::npos, e.message());
    CHECK(!e.found.empty());
  }
  // At most user_roles_max roles.
  std::string many = "CREATE USER a IDENTIFIED BY x ROLE [r0";
  for (size_t i = 1; i <= user_roles_max; ++i) many += ", r" + std::to_string(i);
  auto e = refused(many + "]");
  CHECK(e.expected.find("at most 16 roles") != std::string::npos);
}

TEST_CASE("query: parser: seeded mutations of user statements: refused with a position, or within the bounds") {
  const std::vector<std::string> seeds = {
      "CREATE USER alice IDENTIFIED BY secret",
      "CREATE USER 'bob' IDENTIFIED BY 'p' ROLE admin",
      "CREATE USER u IDENTIFIED BY p ROLE [reader, 'writer', `x`];",
      "DROP USER alice",
      "ALTER USER alice IDENTIFIED BY 'n3w'",
  };
  const std::vector<std::string> tokens = {"user", "identified", "by", "role", "[", "]", ",", "'", "\"", "`",
                                           "alter", "drop", "create", ";", "?", ":x", "#1:2", "''", "\t",
                                           std::string(1, '\0'), "\xff", std::string(200, 'z')};
  uint64_t seed = 20261208;
  if (const char* s = std::getenv("TROUPE_SEED")) {
    auto v = troupe::parse_int(s, 0, INT64_MAX);
    REQUIRE_MESSAGE(v.has_value(), "TROUPE_SEED must be a non-negative integer");
    seed = static_cast<uint64_t>(*v);
  }
  INFO("seed=" << seed << " (replay with TROUPE_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  auto below = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  auto word_ok = [](const std::string& w, size_t max) {
    if (w.empty() || w.size() > max) return false;
    for (unsigned char c : w)
      if (c < 0x20 || c == 0x7f) return false;
    return true;
  };
  constexpr int mutations = 5000;
  int accepted = 0, users = 0;
  for (int m = 0; m < mutations; ++m) {
    std::string s = seeds[below(seeds.size())];
    int edits = 1 + static_cast<int>(below(3));
    for (int k = 0; k < edits; ++k) {
      size_t at = below(s.size() + 1);
      switch (below(4)) {
        case 0:
          if (at < s.size()) s.erase(at, 1 + below(3));
          break;
        case 1:
          s.insert(at, 1, static_cast<char>(rng() & 0xff));
          break;
        case 2:
          s.insert(at, " " + tokens[below(tokens.size())] + " ");
          break;
        case 3:
          s.replace(at, below(6), tokens[below(tokens.size())]);
          break;
      }
    }
    CAPTURE(s);
    auto r = parse(s);
    if (auto* e = std::get_if<syntax_error>(&r)) {
      if (e->position > s.size() || e->message().empty() || e->expected.empty() || e->found.empty())
        FAIL_CHECK("bad error: " << e->message());
      continue;
    }
    ++accepted;
    auto& st = std::get<statement>(r);
    if (auto* c = std::get_if<create_user_stmt>(&st)) {
      ++users;
      bool ok = word_ok(c->name, user_name_bytes_max) && word_ok(c->password, user_password_bytes_max) &&
                c->roles.size() <= user_roles_max;
      for (auto& role : c->roles) ok = ok && word_ok(role, user_name_bytes_max);
      if (!ok) FAIL_CHECK("accepted out of bounds");
    } else if (auto* d = std::get_if<drop_user_stmt>(&st)) {
      ++users;
      if (!word_ok(d->name, user_name_bytes_max)) FAIL_CHECK("accepted out of bounds");
    } else if (auto* a = std::get_if<alter_user_stmt>(&st)) {
      ++users;
      if (!word_ok(a->name, user_name_bytes_max) || !word_ok(a->password, user_password_bytes_max))
        FAIL_CHECK("accepted out of bounds");
    }
  }
  MESSAGE("seed=" << seed << " mutations=" << mutations << " accepted=" << accepted << " user statements=" << users);
  CHECK(users > 0);
  CHECK(accepted < mutations);
}

TEST_CASE("query: parser: the error message names the position, the expectation and what was found") {
  auto e = refused("select a, FROM V");
  CHECK(e.message() == "Syntax error at position 10: expected an expression, found 'FROM'");
  CHECK(refused("select from V where").message() ==
        "Syntax error at position 19: expected an expression, found end of input");
  // What was found is quoted at most 24 bytes long, unprintable bytes escaped.
  auto long_name = refused("select from V where a = 1 " + std::string(100, 'x'));
  CHECK(long_name.found == "'" + std::string(24, 'x') + "...'");
  CHECK(refused("select \x01 from V").found == "'\\x01'");
}

TEST_CASE("query: parser: length and depth bounds refuse hostile input without recursion") {
  std::string too_long = "select from V where a = '" + std::string(statement_length_max, 'x') + "'";
  auto e = refused(too_long);
  CHECK(e.position == statement_length_max);
  CHECK(e.expected.find("at most 65536 bytes") != std::string::npos);
  CHECK(std::holds_alternative<statement>(parse("select from V", 13)));
  CHECK(refused("select from V", 12).position == 12);

  // 100000 '(' is longer than a statement may be; with the length bound
  // lifted the depth bound still refuses it.
  std::string parens = "select from V where " + std::string(100000, '(');
  CHECK(refused(parens).position == statement_length_max);
  auto deep = refused(parens, parens.size());
  CHECK(deep.expected.find("nested at most 128 levels deep") != std::string::npos);
  CHECK(deep.position < 20 + 200);

  auto nested = [](int n, std::string open, std::string close) {
    std::string s = "select from V where ";
    for (int i = 0; i < n; ++i) s += open;
    s += "a";
    for (int i = 0; i < n; ++i) s += close;
    return s;
  };
  CHECK(std::holds_alternative<statement>(parse(nested(100, "(", ")"))));
  CHECK(refused(nested(200, "(", ")")).expected.find("nested") != std::string::npos);
  CHECK(refused(nested(5000, "not ", "")).expected.find("nested") != std::string::npos);
  CHECK(refused(nested(5000, "-", "")).expected.find("nested") != std::string::npos);
  CHECK(refused(nested(5000, "f(", ")")).expected.find("nested") != std::string::npos);
  CHECK(refused(nested(5000, "[", "]")).expected.find("nested") != std::string::npos);
  // A left-deep chain never recurses in the parser, but its tree would be as
  // deep as it is long: the height bound refuses it too.
  std::string chain = "select from V where a";
  for (int i = 0; i < 10000; ++i) chain += "+a";
  CHECK(refused(chain).expected.find("nested") != std::string::npos);
  std::string wide = "select from V where a in [";
  for (int i = 0; i < 10000; ++i) wide += "1,";
  wide += "2]";
  CHECK(std::holds_alternative<statement>(parse(wide)));
}

TEST_CASE("query: parser: seeded mutations never crash and always point inside the input") {
  const std::vector<std::string> seeds = {
      "SELECT FROM V",
      "select a, b.c AS x, @rid from Person where a = 1 or b = 2 and c = 3",
      "select count(*) from V group by a order by a desc skip 1 limit 2",
      "select from cluster:person where name like 'J%'",
      "select from [#9:1, #9:2]",
      "select from #12:34",
      "select from V where a between 1 and 5 and b in [1, 2, 3]",
      "select from V where a not in (1, 'x', \"y\") and c is not null",
      "select from V where a = ? and b = :name and c = ?",
      "select from V where -a * 2 + b / 3 - c % 4 >= -9223372036854775808",
      "select `from`, `a b`.c from `my class` where `select` = 1;",
      "select from V where a = 'it\\'s \\u00e9\\n' and b = 1.5e3",
      "select sum(a.b) as total, max(c) from V where d is defined limit -1",
      "select from V where not (a = 1 or b <> 2) and c != 3",
      "select from V where tags contains 'x' and @class = 'V' and @version > 1",
      "select f(g(h(1)), [2, [3]]) from V where ((((a))))",
      "select from V where a <= 1 and b < 2 and c > 3 and d is not defined",
      "select @this from V order by a asc, b desc, c limit 10 skip 5",
      "select from V where a = true or b = false or c = null",
      "select from V where x.limit.from = #0:0",
      "select out('followed_by').name, in('sung_by').size() as n from V where out('sung_by').name = 'Garcia'",
      "select expand(out('followed_by')) from #9:1",
      "select shortestPath(#9:1, #9:5, 'OUT', 'followed_by')",
      "select from (select from V where a = 1) where b = 2",
      "traverse out('followed_by'), in_x from #9:1 while $depth < 3 maxdepth 2 limit 5 strategy breadth_first",
      "select $depth, @this.outE().inV() from (traverse * from [#9:1, #9:2]) where $depth >= 1",
      "select name, $n as n from V let $n = in('followed_by').size() where $n > 10 order by n desc",
      "select from V let $a = 1, $b = $a * 2, $s = (select from V where name = $parent.$current.name) where $b > 1",
      "select $t.size() from V let $t = (traverse out() from #9:1 maxdepth 2) limit 5",
      "INSERT INTO Doc SET a = 1, b = 'x' RETURN @rid",
      "INSERT INTO Doc (a, b) VALUES (1, ?), (:x, null)",
      "INSERT INTO Doc CONTENT {\"a\": {\"b\": [1, \"}\"]}, \"c\": null}",
      "INSERT INTO Doc FROM (SELECT a FROM V WHERE b = ?)",
      "UPDATE Doc SET a = a + 1 INCREMENT n = 2 ADD t = 'x' REMOVE o UPSERT RETURN AFTER @this WHERE b = 2 LIMIT 5",
      "UPDATE #9:1 MERGE {\"a\": [1, {\"b\": 2}]} RETURN BEFORE",
      "DELETE FROM Doc WHERE a = 1 LIMIT 2",
      "DELETE VERTEX Person WHERE name = 'x'",
      "DELETE EDGE Knows FROM #9:1 TO [#9:2, #9:3] WHERE since < 2000",
      "CREATE VERTEX Person SET name = 'x'",
      "CREATE EDGE Knows FROM (SELECT FROM Person WHERE a = ?) TO :to CONTENT {\"since\": 1}",
      "CREATE CLASS Person EXTENDS V",
      "CREATE PROPERTY Person.age INTEGER",
      "CREATE INDEX Person.name ON Person (name, age) UNIQUE",
      "DROP INDEX Person.name",
      "DROP CLASS Person",
      "EXPLAIN SELECT name FROM Person WHERE key = ? AND age BETWEEN 1 AND 9 ORDER BY name LIMIT 3",
      "CREATE USER alice IDENTIFIED BY 'secret' ROLE [reader, 'writer']",
      "ALTER USER alice IDENTIFIED BY other",
      "DROP USER alice",
  };
  const std::vector<std::string> tokens = {
      "select", "from", "where", "and", "or", "not", "in", "between", "is", "null", "(", ")", "[", "]",
      ",", ".", "'", "\"", "`", "#", "#1:", ":", "?", "@", "@rid", "-", "*", "=", "\\", "\\u", ";",
      "99999999999999999999", "9223372036854775808", "1e999", "cluster", "limit", "skip", "order by",
      std::string(1, '\0'), "\xff", "((((((", "))))",
      "traverse", "while", "maxdepth", "strategy", "breadth_first", ".out()", ".size()", "in(", "expand(", "(select",
      "insert into", "update", "set", "values", "content", "{", "}", "{\"a\": 1}", "upsert", "return", "vertex",
      "edge", "to", "create", "drop", "(select from V)", "let", "let $a =", "$a", "$parent.$current", ", $b = 1",
      "user", "identified by", "role", "alter user", "role [",
  };
  uint64_t seed = 20240601;
  if (const char* s = std::getenv("TROUPE_SEED")) {
    auto v = troupe::parse_int(s, 0, INT64_MAX);
    REQUIRE_MESSAGE(v.has_value(), "TROUPE_SEED must be a non-negative integer");
    seed = static_cast<uint64_t>(*v);
  }
  INFO("seed=" << seed << " (replay with TROUPE_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  auto below = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  constexpr int mutations = 20000;
  int accepted = 0;
  auto start = std::chrono::steady_clock::now();
  for (int m = 0; m < mutations; ++m) {
    std::string s = seeds[below(seeds.size())];
    int edits = 1 + static_cast<int>(below(4));
    for (int k = 0; k < edits; ++k) {
      size_t at = below(s.size() + 1);
      switch (below(6)) {
        case 0:  // delete a few bytes
          if (at < s.size()) s.erase(at, 1 + below(3));
          break;
        case 1:  // insert a random byte
          s.insert(at, 1, static_cast<char>(rng() & 0xff));
          break;
        case 2:  // replace a byte
          if (at < s.size()) s[at] = static_cast<char>(rng() & 0xff);
          break;
        case 3:  // duplicate a range
          if (at < s.size()) s.insert(at, s.substr(at, 1 + below(12)));
          break;
        case 4:  // insert a token
          s.insert(at, " " + tokens[below(tokens.size())] + " ");
          break;
        case 5:  // replace a range with a token
          s.replace(at, below(8), tokens[below(tokens.size())]);
          break;
      }
    }
    CAPTURE(s);
    auto r = parse(s);
    if (auto* e = std::get_if<syntax_error>(&r)) {
      // CHECK only on failure: 20000 passing assertions would dominate the time.
      if (e->position > s.size() || e->message().empty() || e->expected.empty() || e->found.empty())
        FAIL_CHECK("bad error: " << e->message() << " for input of " << s.size() << " bytes");
    } else {
      ++accepted;
    }
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  MESSAGE("seed=" << seed << " mutations=" << mutations << " accepted=" << accepted << " ms=" << ms);
  CHECK(accepted > 0);
  CHECK(accepted < mutations);
  CHECK(ms < 5000);
}
