#include <doctest/doctest.h>

#include <map>
#include <random>
#include <string>

#include "src/graph/graphml.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;

namespace {

const property* find_prop(const std::vector<property>& props, std::string_view name) {
  for (auto& p : props)
    if (p.name == name) return &p;
  return nullptr;
}

// A well-formed document around `graph_body`, with the keys TinkerPop writes
// plus one of each other type.
std::string doc(const std::string& keys, const std::string& graph_body, const std::string& graph_attrs = "") {
  return "<?xml version=\"1.0\"?>\n<graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n" + keys +
         "<graph id=\"G\" edgedefault=\"directed\"" + graph_attrs + ">\n" + graph_body + "</graph>\n</graphml>\n";
}

const std::string std_keys =
    "<key id=\"labelV\" for=\"node\" attr.name=\"labelV\" attr.type=\"string\"/>\n"
    "<key id=\"labelE\" for=\"edge\" attr.name=\"labelE\" attr.type=\"string\"/>\n"
    "<key id=\"n\" for=\"node\" attr.name=\"name\" attr.type=\"string\"/>\n"
    "<key id=\"w\" for=\"edge\" attr.name=\"weight\" attr.type=\"int\"/>\n";

}  // namespace

TEST_CASE("graphml: a small document with every value type, labels and edges") {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="lv" for="node" attr.name="labelV" attr.type="string"/>
  <key id="le" for="edge" attr.name="labelE" attr.type="string"/>
  <key id="k1" for="node" attr.name="name" attr.type="string"/>
  <key id="k2" for="node" attr.name="age" attr.type="int"/>
  <key id="k3" for="node" attr.name="born" attr.type="long"/>
  <key id="k4" for="node" attr.name="height" attr.type="float"/>
  <key id="k5" for="all" attr.name="score" attr.type="double"/>
  <key id="k6" for="node" attr.name="alive" attr.type="boolean"><default>true</default></key>
  <key id="k7" for="edge" attr.name="weight" attr.type="int"/>
  <key id="k8" for="graph" attr.name="title" attr.type="string"/>
  <key id="k9" for="node" yfiles.type="nodegraphics"/>
  <graph id="G" edgedefault="directed">
    <data key="k8">a title</data>
    <node id="a"><data key="lv">person</data><data key="k1">Ann  Lee</data><data key="k2"> -42 </data>
      <data key="k3">9000000000</data><data key="k4">1.75</data><data key="k5">-2.5e3</data>
      <data key="k9"><y:ShapeNode xmlns:y="http://www.yworks.com/xml/graphml"/></data></node>
    <node id="b"><data key="k1"><![CDATA[B & <co>]]></data><data key="k6">FALSE</data></node>
    <edge id="e1" source="a" target="b"><data key="le">knows</data><data key="k7">3</data><data key="k5">0.5</data></edge>
    <edge source="b" target="a" directed="false"/>
    <edge id="e3" source="a" target="c"/>
    <node id="c"/>
  </graph>
</graphml>)";
  auto g = parse_graphml(xml, "small.xml");
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().render()));
  CHECK(g->directed);
  REQUIRE(g->vertices.size() == 3);
  REQUIRE(g->edges.size() == 3);

  const auto& a = g->vertices[0];
  CHECK(a.id == "a");
  CHECK(a.label == "person");
  CHECK(find_prop(a.properties, "labelV") == nullptr);  // the label is not a property
  REQUIRE(a.properties.size() == 6);                   // name, age, born, height, score, alive (default)
  CHECK(a.properties[0] == property{"name", std::string("Ann  Lee")});
  CHECK(a.properties[1] == property{"age", int64_t{-42}});
  CHECK(a.properties[2] == property{"born", int64_t{9000000000}});
  CHECK(a.properties[3] == property{"height", 1.75});
  CHECK(a.properties[4] == property{"score", -2500.0});
  CHECK(a.properties[5] == property{"alive", true});

  const auto& b = g->vertices[1];
  CHECK(b.label == "V");
  REQUIRE(b.properties.size() == 2);
  CHECK(b.properties[0] == property{"name", std::string("B & <co>")});
  CHECK(b.properties[1] == property{"alive", false});

  CHECK(g->vertices[2].label == "V");
  CHECK(g->vertices[2].properties == std::vector<property>{property{"alive", true}});

  const auto& e1 = g->edges[0];
  CHECK(e1.id == "e1");
  CHECK(e1.label == "knows");
  CHECK(e1.source == 0);
  CHECK(e1.target == 1);
  CHECK(e1.directed);
  REQUIRE(e1.properties.size() == 2);  // score (for="all") and weight, in key order
  CHECK(e1.properties[0] == property{"score", 0.5});
  CHECK(e1.properties[1] == property{"weight", int64_t{3}});

  const auto& e2 = g->edges[1];
  CHECK(e2.id.empty());
  CHECK(e2.label == "E");
  CHECK(e2.source == 1);
  CHECK(e2.target == 0);
  CHECK_FALSE(e2.directed);
  CHECK(e2.properties.empty());

  CHECK(g->edges[2].target == 2);  // an edge may come before the node it names
}

TEST_CASE("graphml: 'label' is the label when labelV/labelE are absent, and undirected graphs are read") {
  auto g = parse_graphml(doc("<key id=\"l\" for=\"all\" attr.name=\"label\"/><key id=\"n\" for=\"node\" attr.name=\"name\"/>",
                             "<data key=\"l\">a graph's label, ignored</data>"
                             "<node id=\"1\"><data key=\"l\">song</data></node><node id=\"2\"><data key=\"n\"> </data></node>"
                             "<edge source=\"1\" target=\"2\"><data key=\"l\">sungBy</data></edge>"),
                         "x");
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().render()));
  CHECK(g->vertices[0].label == "song");
  CHECK(g->vertices[0].properties.empty());
  CHECK(g->edges[0].label == "sungBy");
  CHECK(g->vertices[1].properties == std::vector<property>{property{"name", std::string(" ")}});

  auto u = parse_graphml("<graphml><graph edgedefault=\"undirected\"><node id=\"a\"/><node id=\"b\"/>"
                         "<edge source=\"a\" target=\"b\"/></graph></graphml>",
                         "u");
  REQUIRE(u.ok());
  CHECK_FALSE(u->directed);
  CHECK_FALSE(u->edges[0].directed);
}

TEST_CASE("graphml: bad documents are refused with the file, the line and the reason") {
  struct bad {
    std::string name;
    std::string xml;
    std::string error;  // a substring of what()
    int line;           // 0 = the error names no line
  };
  const std::string k = std_keys;  // 4 lines; the <graph> is on line 7
  const std::vector<bad> cases = {
      {"malformed XML", "<graphml>\n<graph>\n<node id=\"1\">\n</graph></graphml>", "malformed XML", 4},
      {"not GraphML", "<?xml version=\"1.0\"?>\n<gexf><graph/></gexf>", "root element must be <graphml>, not <gexf>",
       2},
      {"no graph", "<graphml>\n<key id=\"a\" for=\"node\"/>\n</graphml>", "no <graph> element", 1},
      {"two graphs", "<graphml>\n<graph/>\n<graph/>\n</graphml>", "more than one <graph> (the first is at line 2)",
       3},
      {"data with an unknown key", doc(k, "<node id=\"1\">\n<data key=\"nope\">x</data></node>\n"),
       "undeclared key 'nope'", 9},
      {"node key used on an edge",
       doc(k, "<node id=\"1\"/><node id=\"2\"/>\n<edge source=\"1\" target=\"2\"><data key=\"n\">x</data></edge>\n"),
       "key 'n' is declared for nodes but used in a <edge>", 9},
      {"edge key used on a node", doc(k, "<node id=\"1\"><data key=\"w\">3</data></node>\n"),
       "key 'w' is declared for edges but used in a <node>", 8},
      {"duplicate node id", doc(k, "<node id=\"1\"/>\n<node id=\"1\"/>\n"),
       "duplicate node id '1' (first at line 8)", 9},
      {"edge to a missing node", doc(k, "<node id=\"1\"/>\n<edge id=\"e\" source=\"1\" target=\"9\"/>\n"),
       "edge 'e': target '9' is not a node of the graph", 9},
      {"edge without a source", doc(k, "<node id=\"1\"/>\n<edge target=\"1\"/>\n"), "<edge> without a source", 9},
      {"duplicate edge id",
       doc(k, "<node id=\"1\"/><edge id=\"e\" source=\"1\" target=\"1\"/>\n<edge id=\"e\" source=\"1\" target=\"1\"/>\n"),
       "duplicate edge id 'e'", 9},
      {"node without id", doc(k, "<node/>\n"), "<node> without an id", 8},
      {"bad int", doc(k, "<node id=\"1\"/>\n<edge source=\"1\" target=\"1\"><data key=\"w\">3.5</data></edge>\n"),
       "'3.5' is not a valid int", 9},
      {"int out of range",
       doc(k, "<node id=\"1\"/>\n<edge source=\"1\" target=\"1\"><data key=\"w\">2147483648</data></edge>\n"),
       "'2147483648' is not a valid int", 9},
      {"bad boolean", doc("<key id=\"b\" for=\"node\" attr.name=\"ok\" attr.type=\"boolean\"/>\n", "<node id=\"1\"><data key=\"b\">yes</data></node>"),
       "'yes' is not a valid boolean", 5},
      {"non-finite double", doc("<key id=\"d\" for=\"node\" attr.type=\"double\"/>\n", "<node id=\"1\"><data key=\"d\">NaN</data></node>"),
       "'NaN' is not a valid double", 5},
      {"unknown attr.type", doc("<key id=\"d\" for=\"node\" attr.type=\"date\"/>\n", ""),
       "unknown attr.type \"date\"", 3},
      {"unknown for", doc("<key id=\"d\" for=\"vertex\"/>\n", ""), "unknown for=\"vertex\"", 3},
      {"key declared twice", doc("<key id=\"d\" for=\"node\"/>\n<key id=\"d\" for=\"edge\"/>\n", ""),
       "key 'd' is declared twice (first at line 3)", 4},
      {"bad default", doc("<key id=\"d\" for=\"node\" attr.type=\"long\">\n<default>many</default></key>\n", ""),
       "default 'many' is not a valid long", 4},
      {"data given twice", doc(k, "<node id=\"1\"><data key=\"n\">a</data>\n<data key=\"n\">b</data></node>\n"),
       "key 'n' is given twice in one <node>", 9},
      {"hyperedge", doc(k, "<node id=\"1\"/>\n<hyperedge><endpoint node=\"1\"/></hyperedge>\n"),
       "<hyperedge> is not supported", 9},
      {"nested graph", doc(k, "<node id=\"1\">\n<graph/></node>\n"), "nested <graph>", 9},
      {"bad edgedefault", "<graphml>\n<graph edgedefault=\"sideways\"/></graphml>", "edgedefault must be", 2},
      {"two keys with one attr.name",
       doc("<key id=\"a\" for=\"node\" attr.name=\"x\"/>\n<key id=\"b\" for=\"all\" attr.name=\"x\"/>\n", ""),
       "both declare attr.name 'x'", 4},
      {"empty document", "", "malformed XML", 1},
      {"node key used on the graph", doc(k, "<data key=\"n\">x</data>\n"), "key 'n' is declared for nodes but used in <graph>", 8},
  };
  CHECK(cases.size() >= 12);
  for (const auto& c : cases) {
    CAPTURE(c.name);
    auto g = parse_graphml(c.xml, "bad.graphml");
    REQUIRE_FALSE(g.ok());
    const auto& e = g.error();
    CAPTURE(e.render());
    CHECK(e.file == "bad.graphml");
    CHECK(e.what.find(c.error) != std::string::npos);
    if (c.line > 0) CHECK(e.where == "line " + std::to_string(c.line));
  }
}

TEST_CASE("graphml: more key declarations than the bound are refused") {
  // The element bound (10 million nodes + edges) is too costly to reach in a
  // unit test; the key bound takes the same path and is cheap to pass.
  std::string keys;
  for (size_t i = 0; i <= graphml_keys_max; ++i) keys += "<key id=\"k" + std::to_string(i) + "\" for=\"node\"/>";
  auto g = parse_graphml(doc(keys, ""), "many-keys.graphml");
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().what.find("more than 10000 <key> declarations") != std::string::npos);
}

TEST_CASE("graphml: load_graphml names a missing file") {
  test::temp_dir tmp;
  auto g = load_graphml(tmp / "missing.graphml");
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().file == (tmp / "missing.graphml").string());
}

TEST_CASE("graphml: the bundled Grateful Dead graph has the documented counts") {
  auto g = load_graphml(test::source_root() / "src/graph/demo/grateful-dead.xml");
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().render()));
  CHECK(g->directed);
  CHECK(g->vertices.size() == 808);
  CHECK(g->edges.size() == 8049);
  std::map<std::string, int> vlabels, elabels;
  for (auto& v : g->vertices) ++vlabels[v.label];
  for (auto& e : g->edges) ++elabels[e.label];
  CHECK(vlabels == std::map<std::string, int>{{"song", 584}, {"artist", 224}});
  CHECK(elabels == std::map<std::string, int>{{"followedBy", 7047}, {"sungBy", 501}, {"writtenBy", 501}});

  // Vertex 1, the first in the file.
  const auto& v1 = g->vertices[0];
  CHECK(v1.id == "1");
  CHECK(v1.label == "song");
  CHECK(v1.properties == std::vector<property>{{"name", std::string("HEY BO DIDDLEY")},
                                               {"songType", std::string("cover")},
                                               {"performances", int64_t{5}}});
  int weighted = 0;
  for (auto& e : g->edges)
    if (e.label == "followedBy" && e.properties.size() == 1 && e.properties[0].name == "weight" &&
        std::holds_alternative<int64_t>(e.properties[0].value))
      ++weighted;
  CHECK(weighted == 7047);
}

TEST_CASE("graphml: mutated documents never crash the parser; every refusal names the file") {
  // A seeded, deterministic stand-in for a fuzz target: a failure names the
  // seed and the iteration, which replay it.
  constexpr uint32_t seed = 20240611;
  constexpr int iterations = 3000;
  const std::string base = doc(std_keys,
                               "<node id=\"1\"><data key=\"labelV\">song</data><data key=\"n\">A</data></node>\n"
                               "<node id=\"2\"/><edge id=\"e\" source=\"1\" target=\"2\"><data key=\"labelE\">x</data>"
                               "<data key=\"w\">12</data></edge>\n");
  const std::string alphabet = "<>/=\"' !-?[]&;:abcdefgiklnoprstwxyz0123456789.\n";
  std::mt19937 rng(seed);
  int refused = 0;
  for (int i = 0; i < iterations; ++i) {
    std::string s = base;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(at, 1 + rng() % 8); break;
        default: s.insert(at, s.substr(rng() % s.size(), 1 + rng() % 16)); break;
      }
    }
    auto g = parse_graphml(s, "fuzz.graphml");
    if (!g.ok()) {
      ++refused;
      INFO("seed ", seed, " iteration ", i);
      CHECK(g.error().file == "fuzz.graphml");
      CHECK_FALSE(g.error().what.empty());
    } else {
      for (auto& e : g->edges) CHECK((e.source < g->vertices.size() && e.target < g->vertices.size()));
    }
  }
  CHECK(refused > iterations / 4);  // the mutations do reach the error paths
}
