// The OrientDB 2.2 SQL parser: statement text -> syntax tree (src/query/ast.hpp).
// Plain C++, no I/O. Scope: SELECT (below), and the write statements (INSERT,
// UPDATE, DELETE, CREATE/DROP ...) whose grammar src/query/parse_write.hpp gives.
//
//   SELECT [* | expr [AS name] [, expr [AS name]]*] FROM target
//     [WHERE expr] [GROUP BY expr [, expr]*] [ORDER BY expr [ASC|DESC] [, ...]]
//     [SKIP n] [LIMIT n]          (SKIP and LIMIT in either order, each once)
//     [;]
//   target: Class | `Class` | CLUSTER:name | CLUSTER:12 | #1:2 | [#1:2, #1:3]
//
// Expressions, loosest first: OR; AND; NOT; one comparison (= <> != < > <= >=
// LIKE IN, NOT IN, CONTAINS, BETWEEN lo AND hi, IS [NOT] NULL, IS [NOT]
// DEFINED; comparisons do not chain); + -; * / %; unary -; primaries: NULL
// TRUE FALSE, integers, reals, strings, RIDs, field paths a.b.c (any word
// after a '.'), @rid @class @version @this, ? (numbered from 0 in order of
// appearance) and :name, calls f(args) and count(*) (names lower-cased),
// (expr), [a, b] lists anywhere and (a, b) lists after IN. "-<number>" is one
// literal, so -9223372036854775808 is readable. Inside BETWEEN, AND belongs to
// BETWEEN: its bounds are additive expressions.
//
// Keywords are reserved: a field named like one must be backquoted. Not
// supported yet: subqueries, LET, UNWIND, FETCHPLAN, TIMEOUT, LOCK, PARALLEL,
// projections with [] or method chains (.size()), INSTANCEOF, MATCHES,
// CONTAINSKEY/CONTAINSVALUE/CONTAINSALL/CONTAINSTEXT, NOT LIKE, SKIP/LIMIT
// parameters, index:/dictionary: targets.
#pragma once

#include <cstddef>
#include <string_view>
#include <variant>

#include "src/query/ast.hpp"
#include "src/query/lexer.hpp"

namespace troupe::query {

// Longer statements are refused before lexing; bounds the tokens and tree.
inline constexpr size_t statement_length_max = 64 * 1024;
// The deepest expression tree (and parenthesis nesting) accepted, so that
// neither the parser nor whoever walks the tree recursively runs out of stack.
inline constexpr int expression_depth_max = 128;

// The statement `text` holds, or the first syntax error (its position is a
// byte offset <= text.size(); a too-long text is refused at max_length).
// Never throws, except std::bad_alloc.
std::variant<statement, syntax_error> parse(std::string_view text,
                                            size_t max_length = statement_length_max);

}  // namespace troupe::query
