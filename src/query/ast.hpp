// The syntax tree of OrientDB 2.2 SQL statements, as troupe's parser
// (src/query/parser.hpp) builds them and its executor reads them. Plain data:
// no storage, no I/O. Every node keeps the byte offset in the statement text
// where it starts, so an error about it can point there.
//
// Scope so far: SELECT (projections with aliases, FROM a class, a cluster, one
// or more RIDs; WHERE; GROUP BY; ORDER BY; SKIP; LIMIT). The other statements
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

struct expr {
  std::variant<literal, field_ref, param, call, unary, binary, between, list> node;
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

// What a SELECT reads.
struct target {
  enum class kind { klass, cluster, rids } k = kind::klass;
  std::string name;                // class or cluster name (as written)
  std::vector<storage::rid> rids;  // kind::rids: #1:2 or [#1:2, #1:3]
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

using statement = std::variant<select_stmt>;

}  // namespace troupe::query
