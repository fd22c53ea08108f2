// The syntax tree of OrientDB 2.2 SQL statements, as troupe's parser
// (src/query/parser.hpp) builds them and its executor reads them. Plain data:
// no storage, no I/O. Every node keeps the byte offset in the statement text
// where it starts, so an error about it can point there.
//
// Scope so far: SELECT (projections with aliases, FROM a class, a cluster, one
// or more RIDs or a subquery; LET; WHERE; GROUP BY; ORDER BY; SKIP; LIMIT), method
// chains and paths (out('x').name.size()), TRAVERSE, and the write
// statements INSERT, UPDATE, DELETE, CREATE/DELETE VERTEX and EDGE, CREATE/DROP
// CLASS, CREATE PROPERTY, CREATE/DROP INDEX, CREATE/DROP/ALTER USER
// (src/query/parse_write.cpp).
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

// One LET variable: LET $name = <expression> or LET $name = (SELECT ...) /
// (TRAVERSE ...). `name` always starts with '$' ("let a = 1" is stored as
// "$a", as OrientDB strips the '$' when it stores a variable); names are
// case-sensitive. Exactly one of `value` and `sub` is set.
struct let_binding {
  std::string name;
  expr_ptr value;                       // an expression, evaluated on the record
  std::shared_ptr<const subquery> sub;  // a subquery, run once per record
  size_t pos = 0;                       // where the name is
};

// The most LET variables one SELECT may declare (the parser refuses more).
inline constexpr size_t let_variables_max = 16;

struct select_stmt {
  std::vector<projection> projections;  // empty: the whole records (SELECT FROM ...)
  target from;
  // LET variables, in order of declaration (at most let_variables_max): each
  // record of `from` gets them, evaluated in this order, before the WHERE;
  // a later one may read an earlier one ($a). Empty: no LET.
  std::vector<let_binding> let;
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


// ---- write statements (parsed by parse_write.cpp, planned by write.hpp) ----

// `field = value` of SET, INCREMENT, ADD and REMOVE (REMOVE f has no value).
struct assignment {
  std::string field;  // a top-level field name, as written
  expr_ptr value;     // null for REMOVE f
  size_t pos = 0;
};

// What a new record holds: SET assignments or a CONTENT JSON object.
struct record_body {
  std::vector<assignment> set;
  std::optional<std::string> content;  // the JSON object text as written (valid JSON)
};

// INSERT INTO Class [CLUSTER c] SET ... | (f, ...) VALUES (...), ... |
// CONTENT {...} | FROM (SELECT ...) [RETURN expr]
struct insert_stmt {
  std::string class_name;
  size_t class_pos = 0;
  std::string cluster;              // "" when not given
  std::vector<record_body> rows;    // one per record (VALUES may give several)
  std::optional<select_stmt> from;  // FROM (SELECT ...): one record per row
  expr_ptr returning;               // RETURN expr; null = the records (@this)
};

// UPDATE target [SET|INCREMENT|ADD|REMOVE ... | CONTENT {} | MERGE {}]*
// [UPSERT] [RETURN COUNT|BEFORE|AFTER [expr]] [WHERE ...] [LIMIT n]
struct update_action {
  enum class kind { set, increment, add, remove, content, merge } k = kind::set;
  assignment a;      // set, increment, add, remove
  std::string json;  // content, merge: a JSON object text
  size_t pos = 0;
};

struct update_stmt {
  target what;
  std::vector<update_action> actions;  // applied in order to each record
  bool upsert = false;
  enum class returning { count, before, after } ret = returning::count;
  expr_ptr return_expr;  // RETURN BEFORE|AFTER expr; null = the whole records
  expr_ptr where;
  std::optional<int64_t> limit;  // -1 or absent: none
};

// DELETE FROM target [WHERE ...] [LIMIT n]
struct delete_stmt {
  target what;
  expr_ptr where;
  std::optional<int64_t> limit;
};

// The records at one end of CREATE EDGE / DELETE EDGE: RIDs, a parameter
// holding a RID string or an array of them, or a subquery.
struct endpoint {
  std::vector<storage::rid> rids;
  expr_ptr value;                    // ? or :name
  std::optional<select_stmt> query;  // (SELECT ...)
  size_t pos = 0;
};

// DELETE VERTEX Class|#rid|[#rid, ...] [WHERE ...] [LIMIT n]
struct delete_vertex_stmt {
  target what;
  expr_ptr where;
  std::optional<int64_t> limit;
};

// DELETE EDGE #rid|[#rid, ...] | [Class] [FROM x] [TO y] [WHERE ...] [LIMIT n]
struct delete_edge_stmt {
  std::vector<storage::rid> rids;  // when given, nothing else but WHERE/LIMIT
  std::string class_name;          // "" = E
  size_t class_pos = 0;
  std::optional<endpoint> from, to;
  expr_ptr where;
  std::optional<int64_t> limit;
};

// CREATE VERTEX [Class] [CLUSTER c] [SET ... | CONTENT {...}]
struct create_vertex_stmt {
  std::string class_name;  // "" = V
  size_t class_pos = 0;
  std::string cluster;
  record_body body;
};

// CREATE EDGE [Class] [CLUSTER c] FROM x TO y [SET ... | CONTENT {...}]
struct create_edge_stmt {
  std::string class_name;  // "" = E
  size_t class_pos = 0;
  std::string cluster;
  endpoint from, to;
  record_body body;
};

// CREATE CLASS name [EXTENDS super]; DROP CLASS name
struct create_class_stmt {
  std::string name, superclass;
  size_t pos = 0;
};
struct drop_class_stmt {
  std::string name;
  size_t pos = 0;
};

// CREATE PROPERTY Class.name TYPE [linked type or class, ignored]
struct create_property_stmt {
  std::string class_name, name;
  std::string type;  // upper-cased as written; the planner checks it is known
  size_t pos = 0, type_pos = 0;
};

// CREATE INDEX name [ON Class (f, ...)] UNIQUE|NOTUNIQUE; without ON the name
// is Class.field. DROP INDEX name
struct create_index_stmt {
  std::string name, class_name;
  std::vector<std::string> fields;
  bool unique = false;
  size_t pos = 0;
};
struct drop_index_stmt {
  std::string name;
  size_t pos = 0;
};

// Database users (OUser records, src/auth/db_users.hpp), OrientDB 3.0's
// statements (troupe reads them in its 2.2 dialect):
//   CREATE USER name IDENTIFIED BY password [ROLE role | ROLE [r1, r2, ...]]
//     (no ROLE: writer, as OrientDB 3.0)
//   DROP USER name
//   ALTER USER name IDENTIFIED BY password   (troupe's extension)
// Names, passwords and roles: a word or a quoted string.
inline constexpr size_t user_name_bytes_max = 128;
inline constexpr size_t user_password_bytes_max = 1024;
inline constexpr size_t user_roles_max = 16;
struct create_user_stmt {
  std::string name, password;
  std::vector<std::string> roles;  // empty: writer
  size_t pos = 0;
};
struct drop_user_stmt {
  std::string name;
  size_t pos = 0;
};
struct alter_user_stmt {
  std::string name, password;
  size_t pos = 0;
};

// EXPLAIN <select>: runs the SELECT and answers its profile (select.hpp, run_query).
struct explain_stmt {
  select_stmt select;
  size_t pos = 0;
};

using statement = std::variant<select_stmt, traverse_stmt, explain_stmt, insert_stmt, update_stmt, delete_stmt, delete_vertex_stmt,
                               delete_edge_stmt, create_vertex_stmt, create_edge_stmt, create_class_stmt,
                               drop_class_stmt, create_property_stmt, create_index_stmt, drop_index_stmt,
                               create_user_stmt, drop_user_stmt, alter_user_stmt>;

}  // namespace troupe::query
