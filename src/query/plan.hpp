// How a SELECT reads its target: through an index or by scanning the class's
// clusters. Plain code over storage::database's schema (no I/O beyond it).
//
// The rule (what EXPLAIN reports as involvedIndexes):
// - Only a class target, and only indexes on that class or one of its
//   superclasses (an index covers its class's subclasses, so it holds every
//   record of the target; the caller keeps the candidates of the target's
//   clusters). An index on a subclass would miss records: never used.
// - Only an index each of whose fields has a property of a scalar type
//   (BOOLEAN, SHORT, INTEGER, LONG, FLOAT, DOUBLE, STRING, DATE, DATETIME,
//   LINK) on the target class or a superclass, spelled exactly as the index
//   spells the field. Storage leaves out of an index every record with an
//   array or object in an indexed field, while `tags = 'x'` holds for a
//   record whose tags holds 'x'; a scalar property (which storage checks on
//   every write) is what guarantees there is no such record. OrientDB 2.2
//   itself wants a property before it indexes a field.
// - The WHERE's top-level AND terms are looked at: `field = c` (either side),
//   and `field < <= > >= c` or `field BETWEEN a AND b`, where field is a
//   plain top-level field named exactly as the index names it (case counts:
//   records are JSON objects) and c a literal or a parameter. Other terms stay
//   filters: the whole WHERE is always evaluated on every candidate, so an
//   index only narrows what is read, never what matches.
// - Preferred: equality on every field of an index (a UNIQUE one first), then
//   the longest equality prefix of a composite index, then a range on an
//   index's first field; a null constant never uses an index (= null matches
//   nothing, and null keys are not indexed).
// - Values compare in the index as the executor compares them (numbers by
//   exact value, integers and reals mixed, 2 = 2.0 and 2^53 + 1 > 2^53;
//   strings by bytes; a range holds only values of its bound's kind), so the
//   candidates are a superset of the matches. test/query/index_test.cpp
//   checks that every statement gives the same rows with and without indexes.
// Not covered: a record of an unrelated class that an import placed, at an
// explicit RID, in the target's cluster is seen by a scan and not by an
// index (and not type-checked by the target's properties).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "src/query/ast.hpp"
#include "src/query/select.hpp"
#include "src/storage/database.hpp"

namespace troupe::query {

struct access_path {
  enum class kind { scan, index_eq, index_range } k = kind::scan;
  std::string index;                             // index_eq, index_range
  std::vector<boost::json::value> key;           // index_eq: one value per leading field
  std::optional<storage::database::index_bound> lo, hi;  // index_range
  bool unique_point = false;                     // equality on every field of a UNIQUE index
  size_t fields_used = 0;                        // index fields the lookup constrains (EXPLAIN's compositeIndexUsed)
};

// The access path for `t` filtered by `where` with parameters `p`: scan when
// no index applies by the rules above. Reads only the schema (indexes,
// classes, properties), never a record.
access_path choose_access(const storage::database& db, const target& t, const expr_ptr& where, const params& p);

// The candidates an index path names, at most min(limit, storage::browse_records_max)
// (storage's order: key, then RID); empty for a scan. A caller that gets
// browse_records_max of them cannot tell whether there were more.
std::vector<storage::rid> candidates(const storage::database& db, const access_path& a, size_t limit);

}  // namespace troupe::query
