// How a SELECT reads its target: through an index or by scanning the class's
// clusters. Plain code over storage::database's schema (no I/O beyond it).
//
// The rule (what EXPLAIN reports as involvedIndexes):
// - Only a class target, and only indexes on that class or one of its
//   superclasses (an index covers its class's subclasses, so it holds every
//   record of the target; the caller keeps the candidates of the target's
//   clusters). An index on a subclass would miss records: never used.
// - The WHERE's top-level AND terms are looked at: `field = c` (either side),
//   and `field < <= > >= c` or `field BETWEEN a AND b`, where field is a
//   plain top-level field and c a literal or a parameter. Other terms stay
//   filters: the whole WHERE is always evaluated on every candidate, so an
//   index only narrows what is read, never what matches.
// - Preferred: equality on every field of an index (a UNIQUE one first), then
//   the longest equality prefix of a composite index, then a range on an
//   index's first field; a null constant never uses an index (= null matches
//   nothing, and null keys are not indexed).
// - Values compare in the index as the executor compares them (numbers by
//   value, strings by bytes; a range holds only values of its bound's kind),
//   so the candidates are a superset of the matches.
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
};

access_path choose_access(const storage::database& db, const target& t, const expr_ptr& where, const params& p);

// The candidates an index path names, at most `limit` (storage's order).
std::vector<storage::rid> candidates(const storage::database& db, const access_path& a, size_t limit);

}  // namespace troupe::query
