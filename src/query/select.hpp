// Running a SELECT or TRAVERSE (src/query/ast.hpp) over one database's committed records,
// as plain code: no actor, no clock. The caller reads on its own thread (the
// REST layer's Asio threads read storage::database directly, off the writer's
// thread, so a query never stalls writes).
//
// Semantics (OrientDB 2.2's, where they are defined):
// - A class target reads the class and its subclasses; a cluster target that
//   cluster; RIDs those records (absent ones are skipped); a subquery its rows
//   (records stay records; TRAVERSE rows carry $depth); no FROM one empty row.
// - Links: a string holding a valid RID ("#9:1") names a record, as the graph
//   layout stores them; a path or chain step through a link reads the record
//   (storage::database::find), through an array applies to each element and
//   flattens one level (absent values skipped). @this is the record itself.
// - Graph functions and TRAVERSE: src/query/graph.hpp. Methods: size()
//   (elements of a collection, 1 for a record, 0 for null, a string's length),
//   first(), last(), asList(), asSet(), length(), asString(), toLowerCase(),
//   toUpperCase(); functions size(x), first(x), last(x), shortestPath(...).
//   Unknown functions or methods are refused before anything is read.
// - Comparisons: numbers by exact value (integers and reals mixed: 2 = 2.0,
//   2^53 + 1 > 2^53 although a double cannot tell them apart), strings by
//   bytes, booleans false < true; a comparison with null, an absent field or
//   values of different kinds is false (never an error). A comparison (= <>
//   < <= > >= LIKE) between a collection and a single value holds when it
//   holds for one element (<>: when no element equals), so that
//   out('sung_by').name = 'Garcia' means "one of them is"; two collections
//   compare as wholes. (OrientDB 2.2's own = on a collection and a value is
//   not documented this way; this is troupe's reading of the common idiom.)
//   LIKE: '%' any run,
//   '_' one byte, case-sensitive. IN: equal to a member of the list (or of an
//   array value). CONTAINS: an array value holds the right side. BETWEEN is
//   inclusive. IS NULL: absent or null; IS DEFINED: present (even if null).
// - LET (OrientDB 2.2's): for each record of the target, before the WHERE,
//   each variable is evaluated in order of declaration and kept with the
//   record as "$name", so WHERE, projections, GROUP BY and ORDER BY read it
//   ($a, $a.size(), $songs.name) and a later variable reads an earlier one.
//   LET is evaluated on every record the target feeds, whether or not the
//   WHERE then keeps it (as OrientDB does). An expression variable holds its
//   value; a subquery variable (SELECT or TRAVERSE) runs once per record and
//   holds an array of its rows (whole records or projected rows, as JSON
//   objects). Inside it $parent.$current is the outer record ($parent.$a its
//   variable $a, $parent.$parent a level further out), and $current is
//   always the record being evaluated. A subquery's reads count against the
//   statement's scan_records_max and deadline, like any other read, and its
//   rows against rows_max. Names are case-sensitive; an undeclared $x (or
//   $parent at the top) evaluates to null, as OrientDB's context returns null
//   for a variable it does not hold. A variable shadows a record field of the
//   same name ("$x"). Aggregates are refused in LET; at most
//   let_variables_max variables (ast.hpp). A subquery whose WHERE compares
//   with $parent scans its target for every outer record: no index serves
//   $parent values.
// - Projections: field paths and attributes (@rid, @class, @version), and the
//   aggregates count(*), count(x), sum, min, max, avg (nulls skipped).
//   expand(x), the only projection: one row per record x links to, each the
//   whole record (WHERE filters the source; ORDER BY, SKIP and LIMIT apply to
//   the expanded rows). distinct(x): a row whose value was seen is dropped
//   (not with GROUP BY). With
//   GROUP BY, one row per distinct list of GROUP BY values (its other
//   projections taken from the group's first record), in the order of those
//   values' JSON text; without it, aggregates make one row of the whole result
//   (count 0 when nothing matched).
// - ORDER BY: nulls and absent values first ascending; rows are ordered by
//   their projected columns over the record's fields (ORDER BY n with
//   count(*) AS n or with in().size() AS n). At most
//   sort_rows_max rows (or groups) are held, beyond which the query is refused.
// - Indexes (src/query/plan.hpp): a class target whose WHERE an index can
//   narrow reads only the index's candidates in the target's clusters, in
//   the order a scan would read them, and evaluates the whole WHERE on each,
//   so the rows (and their order) are the scan's. More than scan_records_max
//   candidates refuse the statement, as a scan past that many records does.
// - Every statement stops at scan_records_max records read, links followed
//   included (a refused query says so), TRAVERSE and shortestPath() at
//   traverse_records_max records visited, and the result at rows_max rows.
//   Nothing is cached across statements.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "src/query/ast.hpp"
#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::query {

struct select_limits {
  size_t rows_max = 10'000;            // rows in one answer
  size_t sort_rows_max = 100'000;      // rows held for ORDER BY
  size_t scan_records_max = 10'000'000;  // records read by one statement (scans and links followed)
  size_t traverse_records_max = 1'000'000;  // records one TRAVERSE or shortestPath() visits
  // Whether a class target's WHERE may read an index's candidates instead
  // of scanning (src/query/plan.hpp). Off only to compare the two in tests:
  // the rows are the same either way.
  bool use_indexes = true;
  // The statement's timeout (command.timeout): past this moment it stops at
  // its next record read and is refused, saying so. nullopt: none.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// The refusal of a statement past its deadline.
std::string timeout_message();

// Statement parameters: positional (by index) and named.
struct params {
  std::vector<boost::json::value> positional;
  std::map<std::string, boost::json::value> named;
};

// The result rows, each a JSON object in OrientDB's shape: whole records as
// storage::record::to_json() prints them, projections as
// {"@type":"d","@version":0,<alias>:<value>,...}. Errors (unknown class or
// cluster, a missing parameter, a bound exceeded, what is not built yet) name
// what to change.
result<std::vector<std::string>> run_select(const storage::database& db, const select_stmt& s, const params& p = {},
                                            const select_limits& limits = {});

// Runs a TRAVERSE: the records it visits, in order, as whole records.
// Errors as run_select's, and traverse_records_max exceeded.
result<std::vector<std::string>> run_traverse(const storage::database& db, const traverse_stmt& s,
                                              const params& p = {}, const select_limits& limits = {});

// Runs a read statement (SELECT, TRAVERSE or EXPLAIN SELECT); any other
// statement is refused with an error, so a caller can hand it whatever
// parse() returned. EXPLAIN runs its SELECT (under `limits`) and answers one
// row in OrientDB 2.2's shape instead of the rows:
//   {"@type":"d","@version":0,"elapsed":<ms, a real>,"resultType":"collection",
//    "resultSize":<rows>,"involvedIndexes":[<index names>],"indexReads":<RIDs read from them>,
//    "indexIsUsedInOrderBy":false,"fullySortedByIndex":false,
//    "compositeIndexUsed":<index fields constrained>,"limit":<the LIMIT>,"current":"<rid>",
//    "evaluated":<records the WHERE was evaluated on>,"documentReads":<records read>,
//    "documentAnalyzedCompatibleClass":<records read from the target>,"recordReads":<records read>}
// The index fields (involvedIndexes, indexReads, compositeIndexUsed) are
// there only when an index was read, limit only with a LIMIT, current only
// when a record was read from the target. Counts cover the whole statement,
// subqueries included; records read include links followed. elapsed is the
// one field that is not deterministic (a steady clock).
result<std::vector<std::string>> run_query(const storage::database& db, const statement& s, const params& p = {},
                                           const select_limits& limits = {});

// The value of `e` for one record (`doc`: its fields, with @rid, @class and
// @version added), exposed for tests. Aggregates evaluate to null here.
boost::json::value evaluate(const expr& e, const boost::json::object& doc, const params& p);
// Whether `e` holds for `doc` (a non-boolean value holds when it is true).
bool holds(const expr& e, const boost::json::object& doc, const params& p);
// OrientDB's LIKE: '%' any run of bytes, '_' one byte.
bool like(std::string_view text, std::string_view pattern);

}  // namespace troupe::query
