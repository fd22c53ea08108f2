// The syntax tree of OrientDB 2.2 SQL statements, as troupe's parser
// (src/query/parser.hpp) builds them and its executor reads them. Plain data:
// no storage, no I/O. Every node keeps the byte offset in the statement text
// where it starts, so an error about it can point there.
//
// Scope so far: SELECT (projections with aliases, FROM a class, a cluster, one
// or more RIDs or a subquery; WHERE; GROUP BY; ORDER BY; SKIP; LIMIT), method
// chains and paths (out('x').name.size()), and TRAVERSE. The other statements
// of the SQL issue are added here as they are built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "src/storage/rid.hpp"

namespace troupe::query {

struct expr;
using expr_ptr = std::shared_ptr<const expr>;

// A constant. `kind` says which member holds it.
struct literal {
  enum class kind { null, boolean, integer, real, string, rid } k = kind::null;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
  storage::rid r;
  friend bool operator==(const literal&, const literal&) = default;
};

// A field path: name, name.sub.sub, or an attribute (@rid, @class, @version,
// @this: `path` = {"@rid"} etc.). Names are as written (backquotes removed).
struct field_ref {
  std::vector<std::string> path;
};

// A statement parameter: positional `?` (index from 0, in order of
// appearance) or named `:name` (index -1).
struct param {
  std::string name;
  int index = -1;
};

// A function call: count(*) (star), count(x), sum, min, max, avg, size,
// first, distinct, ... `name` is lower-cased.
struct call {
  std::string name;
  std::vector<expr_ptr> args;
  bool star = false;
};

enum class unary_op { not_, neg, is_null, is_not_null, is_defined, is_not_defined };
enum class binary_op { or_, and_, eq, ne, lt, le, gt, ge, like, in, not_in, contains, add, sub, mul, div, mod };

struct unary {
  unary_op op;
  expr_ptr a;
};

struct binary {
  binary_op op;
  expr_ptr a, b;
};

// x BETWEEN lo AND hi
struct between {
  expr_ptr x, lo, hi;
};

// [a, b, c] or (a, b, c) after IN
struct list {
  std::vector<expr_ptr> items;
};

// A method chain after a value: base.step.step..., each step a field name
// (`name`, args empty, is_call false) or a method call (`size()`,
// `out('followed_by')`; name lower-cased). A plain path a.b.c stays a
// field_ref; a chain starts where the first call appears (out().name, a.size()).
struct chain_step {
  std::string name;
  std::vector<expr_ptr> args;
  bool is_call = false;
  size_t pos = 0;
};
struct chain {
  expr_ptr base;
  std::vector<chain_step> steps;
};

struct expr {
  std::variant<literal, field_ref, param, call, unary, binary, between, list, chain> node;
  size_t pos = 0;  // byte offset in the statement
};

// One projection: an expression and its alias ("" when none was given; the
// executor names it after the field or function).
struct projection {
  expr_ptr e;
  std::string alias;
};

struct order_item {
  expr_ptr e;
  bool desc = false;
};

struct subquery;

// What a SELECT (or TRAVERSE) reads.
struct target {
  // none: SELECT <expressions> without FROM, evaluated once on an empty record.
  enum class kind { klass, cluster, rids, subquery, none } k = kind::klass;
  std::string name;                // class or cluster name (as written)
  std::vector<storage::rid> rids;  // kind::rids: #1:2 or [#1:2, #1:3]
  std::shared_ptr<const subquery> sub;  // kind::subquery: (SELECT ...) or (TRAVERSE ...)
  size_t pos = 0;
};

struct select_stmt {
  std::vector<projection> projections;  // empty: the whole records (SELECT FROM ...)
  target from;
  expr_ptr where;                       // null: every record
  std::vector<expr_ptr> group_by;
  std::vector<order_item> order_by;
  std::optional<int64_t> skip;
  std::optional<int64_t> limit;  // -1 means none, as in OrientDB
};

// TRAVERSE <items> FROM target [WHILE cond] [MAXDEPTH n] [LIMIT n]
// [STRATEGY DEPTH_FIRST|BREADTH_FIRST]. Each item is an expression whose
// value's links (RID strings, alone or in arrays) lead to the next records:
// a field (out_followed_by), a graph function (out('followed_by'), both()).
// `*`, any() and all() mean every field (all_fields).
struct traverse_stmt {
  enum class strategy { depth_first, breadth_first };
  std::vector<expr_ptr> items;
  bool all_fields = false;
  target from;
  expr_ptr while_cond;              // null: no WHILE
  std::optional<int64_t> max_depth;  // MAXDEPTH n (n >= 0)
  std::optional<int64_t> limit;      // -1 means none
  strategy strat = strategy::depth_first;
};

// The statement inside FROM ( ... ).
struct subquery {
  std::variant<select_stmt, traverse_stmt> stmt;
};

using statement = std::variant<select_stmt, traverse_stmt>;

}  // namespace troupe::query
