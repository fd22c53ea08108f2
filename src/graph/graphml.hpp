// GraphML (http://graphml.graphdrawing.org/) read into a plain property graph.
//
// Supported: <key id for="node|edge|all" attr.name attr.type [<default>]>, one
// <graph edgedefault="directed|undirected">, <node id> and <edge id? source
// target directed?> with <data key> children. attr.type is one of string, int,
// long, float, double, boolean (string when absent, as the GraphML schema says).
// Keys for graph, graphml, hyperedge, port or endpoint are accepted and never
// read; <data> on the <graph> itself is ignored, as is the data of yEd's
// presentation keys (those with a yfiles.type attribute).
// Refused with an error naming the line: nested graphs, hyperedges, ports,
// several <graph> elements, and everything listed at parse_graphml().
//
// Labels follow TinkerPop's GraphML writer: a vertex's label is the node data
// whose key is named "labelV" (else "label"), an edge's the edge data named
// "labelE" (else "label"). The label is taken out of the properties; a missing
// or empty label is "V" for a vertex and "E" for an edge.
//
// Parsing never touches storage; import.hpp writes a graph into a database.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/util/result.hpp"

namespace troupe {

// Bounds on what one document may hold. Why: the whole graph lives in memory
// (pugixml's DOM plus this struct, roughly 10x the file size), so an input must
// not be able to ask for unbounded memory.
inline constexpr size_t graphml_elements_max = 10'000'000;      // nodes + edges
inline constexpr size_t graphml_keys_max = 10'000;              // <key> declarations
inline constexpr uint64_t graphml_file_bytes_max = 1ull << 30;  // load_graphml only

// int/long → integer, float/double → number, boolean → bool, string → string.
using property_value = std::variant<std::string, int64_t, double, bool>;

struct property {
  std::string name;  // the key's attr.name (its id when attr.name is absent)
  property_value value;
  friend bool operator==(const property&, const property&) = default;
};

struct graph_vertex {
  std::string id;     // the GraphML node id (unique in the graph)
  std::string label;  // never empty ("V" when the file has none)
  std::vector<property> properties;  // in key declaration order, label excluded
};

struct graph_edge {
  std::string id;       // "" when the file gives none
  size_t source = 0;    // index into graph::vertices
  size_t target = 0;    // index into graph::vertices
  std::string label;    // never empty ("E" when the file has none)
  bool directed = true; // the edge's `directed` attribute, else the graph's edgedefault
  std::vector<property> properties;  // in key declaration order, label excluded
};

struct graph {
  bool directed = true;  // edgedefault
  std::vector<graph_vertex> vertices;  // in document order
  std::vector<graph_edge> edges;       // in document order
};

// Parses a GraphML document. `file` only names the source in errors.
// Errors (error_info{file, "line N", what}): malformed XML; the root is not
// <graphml>; no <graph> (or more than one); a <key> without id, with an unknown
// `for` or attr.type, declared twice, or with a bad <default>; <data> without
// a key, with an undeclared key, with a key declared for the other kind, given
// twice for one element, or with a value that is not of the key's type; a node
// without id or with a duplicate id; an edge without source/target, to a node
// that does not exist, or with a duplicate id; more than the bounds above.
result<graph> parse_graphml(std::string_view xml, const std::string& file);

// Reads and parses a file (at most graphml_file_bytes_max bytes).
result<graph> load_graphml(const std::filesystem::path& path);

// "cover", 42, 1.5, true: a value as text, for messages and tools.
std::string to_string(const property_value& v);

}  // namespace troupe
