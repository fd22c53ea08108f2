// OrientDB 2.2's graph reads over the layout of src/graph/import.hpp: a
// vertex's out_<EdgeClass>/in_<EdgeClass> arrays of edge RIDs, an edge's
// "out"/"in" vertex RIDs. Records are read through storage::database::find
// only when a function needs them (no edge is loaded for a vertex that no
// expression walks from), and every read counts against scan_records_max.
//
//   out(l...), in(l...), both(l...)   adjacent vertices through edges whose
//                                     class is one of the labels (compared
//                                     ignoring case with the field suffix; no
//                                     label: every edge class), as RIDs
//   outE(l...), inE(l...), bothE(l...) those edges' RIDs (no edge is loaded)
//   outV(), inV()                     on an edge: its source / target RID
//   bothV()                           on an edge: [source, target]
//
// Applied to a collection (a chain step on out(), say) they apply to each
// element and flatten the results into one array, as OrientDB does.
#pragma once

#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "src/query/ast.hpp"
#include "src/query/eval.hpp"

namespace troupe::query::detail {

// Whether `name` (lower case) is one of the functions above.
bool is_graph_function(std::string_view name);

// The function `name` on `target`: a record document, a link, or an array of
// them (flattened); anything else gives null.
boost::json::value graph_function(std::string_view name, const std::vector<boost::json::value>& labels,
                                  const boost::json::value& target, eval_context& ctx);
// The same on one loaded record.
boost::json::value graph_function_on(std::string_view name, const std::vector<boost::json::value>& labels,
                                     const boost::json::object& rec, eval_context& ctx);

// shortestPath(from, to [, direction [, edge class]]): the RIDs of a shortest
// path from `from` to `to`, both included ([from] when they are equal, [] when
// none), by breadth-first search over edges of the given direction ("OUT",
// "IN" or "BOTH", the default, ignoring case) and class (all when null).
// Visits at most limits.traverse_records_max vertices, then fails the context.
boost::json::value shortest_path(const boost::json::value& from, const boost::json::value& to,
                                 const boost::json::value& direction, const boost::json::value& edge_class,
                                 eval_context& ctx);

// The records TRAVERSE visits, in order, each once, with "$depth" in its doc.
// Start records (the target's) have $depth 0. A record for which WHILE does
// not hold is neither returned nor expanded (it may be reached again by
// another path); a record at MAXDEPTH is returned but not expanded. At most
// limits.traverse_records_max records are visited (and as many pending), then
// the context fails.
bool traverse(const traverse_stmt& s, eval_context& ctx, const std::function<bool(source_row&&)>& visit);

}  // namespace troupe::query::detail
