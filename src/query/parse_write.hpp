// The grammar of the write statements (internal to the parser): INSERT,
// UPDATE, DELETE, CREATE/DELETE VERTEX and EDGE, CREATE/DROP CLASS, CREATE
// PROPERTY, CREATE/DROP INDEX, in OrientDB 2.2's syntax:
//
//   INSERT INTO Class [CLUSTER c] ( SET f = e [, ...] | (f [, ...]) VALUES (e [, ...]) [, (...)]*
//                                  | CONTENT {json} | FROM (SELECT ...) ) [RETURN expr]
//   UPDATE target ( SET f = e [, ...] | INCREMENT f = e [, ...] | ADD f = e [, ...]
//                 | REMOVE f [= e] [, ...] | CONTENT {json} | MERGE {json} )+
//                 [UPSERT] [RETURN COUNT | BEFORE [expr] | AFTER [expr]] [WHERE e] [LIMIT n]
//   DELETE FROM target [WHERE e] [LIMIT n]
//   DELETE VERTEX Class | #rid | [#rid, ...] [WHERE e] [LIMIT n]
//   DELETE EDGE #rid | [#rid, ...] | [Class] [FROM ends] [TO ends]  [WHERE e] [LIMIT n]
//   CREATE VERTEX [Class] [CLUSTER c] [SET ... | CONTENT {json}]
//   CREATE EDGE [Class] [CLUSTER c] FROM ends TO ends [SET ... | CONTENT {json}]
//     ends: #rid | [#rid, ...] | ? | :name | (SELECT ...)
//   CREATE CLASS name [EXTENDS super]      DROP CLASS name
//   CREATE PROPERTY Class.name TYPE [linked type or class]
//   CREATE INDEX name [ON Class (f [, ...])] UNIQUE | NOTUNIQUE
//     (also UNIQUE_HASH_INDEX, NOTUNIQUE_HASH_INDEX, read as UNIQUE, NOTUNIQUE)
//   DROP INDEX name
//   [;] ends every statement.
//
// The words of these statements (INSERT, INTO, SET, VALUES, CONTENT, ...) are
// not reserved: they are recognised by position, case-insensitively, so
// fields named `content`, `set` or `to` stay usable in SELECT.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "src/query/ast.hpp"
#include "src/query/lexer.hpp"

namespace troupe::query {

// What the write grammar needs from the statement parser (parser.cpp
// implements it over its tokens). Every function that can fail records the
// first syntax error and returns false or null; callers return at once.
class statement_parser {
 public:
  virtual ~statement_parser() = default;
  virtual const token& at(size_t ahead = 0) const = 0;  // the current token (or one after it)
  virtual void next() = 0;                              // moves past the current token
  virtual bool error(std::string expected) = 0;         // the error at the current token; false
  virtual expr_ptr parse_expression() = 0;              // an expression (depth-bounded)
  virtual bool parse_target(target& t) = 0;             // Class | CLUSTER:c | #rid | [#rid, ...]
  virtual bool parse_subquery(select_stmt& s) = 0;      // '(' SELECT ... ')'
  virtual bool parse_count(std::optional<int64_t>& out) = 0;  // n >= 0 or -1 (LIMIT)
};

// Whether `t` starts a write statement (INSERT, UPDATE, DELETE, CREATE, DROP).
bool starts_write(const token& t);

// The write statement starting at p.at(), through the end of the input.
// false after p.error().
bool parse_write(statement_parser& p, statement& out);

}  // namespace troupe::query
