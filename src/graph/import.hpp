// Writes a parsed graph into a database in OrientDB's graph layout, with the
// names OrientDB's GratefulDeadConcerts demo uses (TinkerPop-2 style):
//
//   vertex  a document of class V: "type" = the vertex label, then its
//           properties with camelCase names in snake_case (songType →
//           song_type), then per edge class C it touches "out_C"/"in_C":
//           arrays of edge RID strings ("#12:3") in the graph's edge order.
//   edge    a document of the edge class snake_case(label) (followedBy →
//           followed_by), created as a subclass of E when missing:
//           "out" and "in" = the RID strings of its source and target, then its
//           properties (names in snake_case). An edge without a label ("E")
//           goes to class E itself.
//
// Undirected GraphML edges are stored as source → target: OrientDB edges
// always have a direction.
//
// Every RID is computed before anything is written (vertices from the V
// class's default cluster at its next position, each edge class likewise), so
// each document is created once, at an explicit RID, with its final fields.
// Writes go in batches of import_options::batch_ops operations per apply().
//
// Atomicity: one batch is atomic, the import as a whole is not. On the first
// failed operation the import stops and returns the error; the batches already
// applied stay (their documents may name RIDs that were never written). A
// caller that needs all-or-nothing imports into a fresh folder and renames it
// into place when this returns ok (demo.cpp does).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "src/graph/graphml.hpp"
#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe {

// Why a maximum: one batch is one RocksDB WriteBatch held in memory and one
// vector of results; a huge batch would hold the whole import in memory twice.
inline constexpr size_t import_batch_ops_max = 100'000;

struct import_options {
  size_t batch_ops = 1000;  // operations per db.apply(), 1..import_batch_ops_max
  std::string source_name;  // names the source in errors ("" = "graph")
};

struct import_stats {
  int64_t vertices = 0;
  int64_t edges = 0;
  std::map<std::string, int64_t> edges_by_class;  // edge class name → edges written
  std::vector<std::string> created_classes;       // edge classes this import created
  int64_t batches = 0;                            // apply() calls, class creation included
  std::chrono::milliseconds elapsed{0};
};

// camelCase → snake_case: "songType" → "song_type", "followedBy" →
// "followed_by", "HTTPServer" → "http_server", "name" → "name".
std::string to_snake_case(std::string_view s);

// The checks import_graph makes before it writes anything (all but the one
// about existing classes, which needs the database): a tool can tell bad input
// from a storage failure.
status validate_for_import(const graph& g, const import_options& opts = {});

// Imports `g` into `db` (REQUIRES: no other writer on `db` meanwhile).
// Errors (before anything is written): a label or property name that does not
// make a valid class/field name, a vertex property named "type" (or out_*/in_*),
// an edge property named "out"/"in", two properties of one element with the
// same snake_case name, an existing edge class that does not extend E, a bad
// batch size. Errors while writing: the first failed operation, with its RID.
result<import_stats> import_graph(storage::database& db, const graph& g, const import_options& opts = {});

}  // namespace troupe
