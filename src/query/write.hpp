// Planning a SQL write statement (src/query/ast.hpp) over one database's
// committed state, as plain code: no actor, no clock, no writes.
//
// The database's owner calls plan_write at one point of the cluster's single
// write order, with nothing pending (REQUIRES: no write applied to `db` while
// it runs). What replicates is never the statement text but the plan's
// operations, as ONE all-or-nothing batch (storage::database::apply or
// commit_new): the plan is deterministic given the state, and it does not
// depend on where it runs once made.
//
// The plan:
// - Creates carry EXPLICIT RIDs: the class's default cluster's next_position,
//   +1 for each further create of the plan in that cluster. A record created
//   and then changed within the plan is created once with its final fields.
// - Updates and removes carry expected_version = the version read, so a plan
//   applied to another state than the one it was made from fails
//   (version_conflict) instead of overwriting. A record changed several times
//   by one plan (a vertex that gets two edges) is updated once, with its final
//   fields.
// - Edges (src/graph/import.hpp's layout): CREATE EDGE appends the edge's RID
//   to out_<Class> of its source and in_<Class> of its target; DELETE
//   VERTEX/EDGE removes the edges and their RIDs from the vertices that stay.
// - Schema statements are one schema op each (database.hpp's `struct op`).
//
// The answer is the JSON text of OrientDB 2.2's REST "result" array:
// - INSERT, CREATE VERTEX, CREATE EDGE: the created records, @version 1
//   (RETURN expr on INSERT: [{"@type":"d","@version":0,"value":<expr>}] per record).
// - UPDATE: [{"@type":"d","@version":0,"value":<count>}], or the records
//   before or after (RETURN BEFORE|AFTER, after: version + 1). UPSERT creates
//   one record from the WHERE's top-level `field = value` equalities and the
//   actions when nothing matched (count 1).
// - DELETE, DELETE VERTEX, DELETE EDGE: the count of records (vertices,
//   edges) removed.
// - CREATE CLASS: the new default cluster's id (approximated as the highest
//   cluster id + 1, which is what storage takes when no cluster was dropped);
//   DROP CLASS, DROP INDEX: true; CREATE PROPERTY: the class's own property
//   count after it; CREATE INDEX: the records of the class and its
//   subclasses (OrientDB: the records indexed; records with null keys are
//   counted here).
//
// Semantics beyond OrientDB's, or short of them:
// - Matching (WHERE, targets) is run_select's (src/query/select.hpp): the
//   plan reads through it, so both follow one scanning rule.
// - DELETE FROM refuses vertex and edge classes, as OrientDB 2.2 does (use
//   DELETE VERTEX / DELETE EDGE, which keep the graph consistent). UPDATE
//   refuses to change a vertex's out_*/in_* or an edge's out/in (OrientDB
//   lets it, and the graph breaks); UPDATE ... CONTENT keeps them.
// - UNIQUE indexes are checked here (OrientDB's message) through storage's
//   index reads, and again by storage when the plan is applied; keys as
//   storage holds them (2 and 2.0 are one key; a record with an array or
//   object in an indexed field has none). DROP INDEX of an index that does
//   not exist is refused (not_found). CREATE INDEX UNIQUE over duplicate
//   records and CREATE PROPERTY over records of another type are refused by
//   storage when applied (it scans; the planner does not).
// - Property types are checked by storage when the plan is applied.
//
// Bounds: at most write_limits::ops_max operations in one plan (storage's
// batch_ops_max), and the scans are bounded by write_limits::scan.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json.hpp>

#include "src/query/ast.hpp"
#include "src/query/select.hpp"
#include "src/storage/database.hpp"

namespace troupe::query {

// What kind of failure, so that the REST layer can answer with the right
// status: syntax and invalid 400, not_found 404 (OrientDB answers 500 with
// the message for most of these; the mapping is the REST layer's choice),
// duplicate 409, limit 413 or 400.
enum class write_error_kind {
  syntax,     // the text does not parse (plan_sql only)
  not_found,  // a class, cluster, record or index the statement names is absent
  invalid,    // the statement is wrong for this data: a bad type, a non-vertex class, a missing parameter, ...
  duplicate,  // a UNIQUE index would hold a key twice; a class or index that exists
  limit,      // a bound of write_limits was reached
};
const char* to_string(write_error_kind k);
// The storage code that carries a refusal through replication's intake
// (its expansion::code): not_found, duplicate_key (duplicate; also a class or
// index that exists), invalid_argument (syntax, invalid, limit).
storage::errc storage_code(write_error_kind k);

// A refused statement: its kind and a message naming what to change.
// (error_info has no code field, and src/util is shared: this stands beside it.)
struct write_error {
  write_error_kind kind = write_error_kind::invalid;
  std::string message;
  error_info info() const { return error_info{"", "", message}; }
};

struct write_limits {
  size_t ops_max = storage::batch_ops_max;  // operations in one plan
  select_limits scan;                       // what the statement's reads may scan
};

struct write_plan {
  std::vector<storage::op> ops;  // applied in order, all or nothing; empty when nothing
                                 // matched (then there is nothing to order: storage
                                 // refuses an empty entry)
  std::string answer;            // the JSON text of the "result" array
};

// The plan, or why the statement is refused.
using write_result = std::variant<write_plan, write_error>;

// The plan of write statement `s` over `db`'s committed state. A SELECT is
// refused (invalid). Parameters: ? by position, :name by name; one that the
// statement uses and `p` lacks is refused (invalid). Never throws, except
// std::bad_alloc.
write_result plan_write(const storage::database& db, const statement& s, const params& p = {},
                        const write_limits& limits = {});

// Parses `text` and plans it; a syntax error is kind syntax with
// syntax_error::message().
write_result plan_sql(const storage::database& db, std::string_view text, const params& p = {},
                      const write_limits& limits = {});

// Whether `s` changes anything (every statement but SELECT, TRAVERSE and EXPLAIN).
bool is_write(const statement& s);
// The statement's kind in lower case: "select", "explain", "insert", "update",
// "delete", "delete vertex", "delete edge", "create vertex", "create edge",
// "create class", "drop class", "create property", "create index", "drop
// index"; "query" for TRAVERSE.
const char* statement_kind(const statement& s);

// ---- exposed for tests ---------------------------------------------------

// OrientDB 2.2's property types (CREATE PROPERTY), upper case.
bool known_property_type(std::string_view type);

// The key of a record with `fields` in an index over `index_fields`: one value
// per field (null when absent), or nullopt when every one is absent or null,
// or one is an array or object (such records are not indexed, see
// storage::index_info).
std::optional<std::vector<boost::json::value>> index_key(const std::vector<std::string>& index_fields,
                                                         const boost::json::object& fields);
// A key as text that is equal for two keys exactly when storage's index
// holds them as one (numbers by exact value: 2 and 2.0 are one key).
std::string index_key_text(const std::vector<boost::json::value>& key);

// OrientDB's message for a UNIQUE violation:
// "Cannot index record #9:1: found duplicated key 'Jay' in index 'Person.name'
// previously assigned to the record #9:0".
std::string duplicate_key_message(storage::rid record, const std::vector<boost::json::value>& key,
                                  std::string_view index, storage::rid holder);

}  // namespace troupe::query
