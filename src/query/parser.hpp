// The OrientDB 2.2 SQL parser: statement text -> syntax tree (src/query/ast.hpp).
// Plain C++, no I/O. Scope: SELECT and TRAVERSE (below), and the write statements
// (INSERT, UPDATE, DELETE, CREATE/DROP ...) whose grammar src/query/parse_write.hpp gives.
//
//   SELECT [* | expr [AS name] [, expr [AS name]]*] [FROM target]
//                                 (no FROM only after projections: one row)
//     [LET $name = (expr | ( SELECT ... ) | ( TRAVERSE ... )) [, ...]*]
//                                 (at most let_variables_max; a name without
//                                  '$' gets one: LET a = 1 declares $a)
//     [WHERE expr] [GROUP BY expr [, expr]*] [ORDER BY expr [ASC|DESC] [, ...]]
//     [SKIP n] [LIMIT n]          (SKIP and LIMIT in either order, each once)
//     [;]
//   target: Class | `Class` | CLUSTER:name | CLUSTER:12 | #1:2 | [#1:2, #1:3]
//           | ( SELECT ... ) | ( TRAVERSE ... )
//   TRAVERSE * | any() | all() | expr [, expr]* FROM target
//     [WHILE expr] [MAXDEPTH n] [LIMIT n] [STRATEGY DEPTH_FIRST|BREADTH_FIRST]
//     (in any order, each once) [;]
//   TRAVERSE, WHILE, MAXDEPTH, STRATEGY, the strategies and LET are words read in
//   place, not reserved keywords: fields may still be named like them.
//
// Expressions, loosest first: OR; AND; NOT; one comparison (= <> != < > <= >=
// LIKE IN, NOT IN, CONTAINS, BETWEEN lo AND hi, IS [NOT] NULL, IS [NOT]
// DEFINED; comparisons do not chain); + -; * / %; unary -; primaries: NULL
// TRUE FALSE, integers, reals, strings, RIDs, field paths a.b.c (any word
// after a '.'), @rid @class @version @this, ? (numbered from 0 in order of
// appearance) and :name, calls f(args) and count(*) (names lower-cased; in(...)
// is a call although IN is a keyword), method chains after a path, a call or
// an attribute (out('x').name.size(), @this.outE(): a word followed by '('
// after a '.' starts one), $depth, LET variables ($a, $parent.$current.name)
// and other $names as field paths,
// (expr), [a, b] lists anywhere and (a, b) lists after IN. "-<number>" is one
// literal, so -9223372036854775808 is readable. Inside BETWEEN, AND belongs to
// BETWEEN: its bounds are additive expressions.
//
// Keywords are reserved: a field named like one must be backquoted. Not
// supported yet: subqueries outside FROM and LET, UNWIND, FETCHPLAN, TIMEOUT,
// LOCK, PARALLEL, projections with [], chains after (expr) or [list],
// TRAVERSE's Class.field items, INSTANCEOF, MATCHES,
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
