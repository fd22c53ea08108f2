#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <map>
#include <string>

#include "src/graph/graphml.hpp"
#include "src/graph/import.hpp"
#include "src/storage/database.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
namespace json = boost::json;

namespace {

std::unique_ptr<storage::database> open_db(const std::filesystem::path& dir) {
  auto db = storage::database::open(dir);
  REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().render()));
  return std::move(*db);
}

json::object fields_of(const storage::record& r) { return json::parse(r.fields).as_object(); }

storage::rid rid_of(const json::value& v) {
  auto r = storage::rid::parse(v.as_string());
  REQUIRE_MESSAGE(r.has_value(), "not a RID: " << json::serialize(v));
  return *r;
}

int64_t records_in(const storage::database& db, std::string_view cluster) {
  auto c = db.cluster_by_name(cluster);
  REQUIRE_MESSAGE(c.has_value(), "no cluster " << cluster);
  return c->records;
}

import_options batches_of(size_t n) {
  import_options o;
  o.batch_ops = n;
  return o;
}

graph parse_ok(const std::string& xml) {
  auto g = parse_graphml(xml, "test.graphml");
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().render()));
  return std::move(*g);
}

const std::string small_xml = R"(<graphml>
  <key id="lv" for="node" attr.name="labelV"/><key id="le" for="edge" attr.name="labelE"/>
  <key id="n" for="node" attr.name="name"/><key id="st" for="node" attr.name="songType"/>
  <key id="p" for="node" attr.name="performances" attr.type="int"/>
  <key id="h" for="node" attr.name="height" attr.type="double"/>
  <key id="a" for="node" attr.name="alive" attr.type="boolean"/>
  <key id="w" for="edge" attr.name="weight" attr.type="int"/>
  <key id="sw" for="edge" attr.name="sideWeight" attr.type="float"/>
  <graph edgedefault="directed">
    <node id="s1"><data key="lv">song</data><data key="n">ONE</data><data key="st">cover</data><data key="p">7</data></node>
    <node id="s2"><data key="lv">song</data><data key="n">TWO</data><data key="st"></data><data key="p">0</data></node>
    <node id="a1"><data key="lv">artist</data><data key="n">Garcia</data><data key="h">1.8</data><data key="a">false</data></node>
    <edge id="e0" source="s1" target="s2"><data key="le">followedBy</data><data key="w">3</data><data key="sw">0.5</data></edge>
    <edge id="e1" source="s2" target="s1"><data key="le">followedBy</data><data key="w">1</data></edge>
    <edge id="e2" source="s1" target="a1"><data key="le">sungBy</data></edge>
    <edge id="e3" source="s2" target="a1"/>
  </graph>
</graphml>)";

}  // namespace

TEST_CASE("import: camelCase names become snake_case") {
  CHECK(to_snake_case("songType") == "song_type");
  CHECK(to_snake_case("followedBy") == "followed_by");
  CHECK(to_snake_case("sungBy") == "sung_by");
  CHECK(to_snake_case("writtenBy") == "written_by");
  CHECK(to_snake_case("name") == "name");
  CHECK(to_snake_case("performances") == "performances");
  CHECK(to_snake_case("HTTPServer") == "http_server");
  CHECK(to_snake_case("already_snake") == "already_snake");
  CHECK(to_snake_case("E") == "e");
  CHECK(to_snake_case("v2Name") == "v2_name");
}

TEST_CASE("import: a small graph in OrientDB's layout, appended after existing records") {
  test::temp_dir tmp;
  auto db = open_db(tmp / "db");
  auto g = parse_ok(small_xml);

  // A vertex that exists before the import: the import must start after it.
  storage::op pre;
  pre.class_name = "V";
  pre.fields = R"({"type":"other"})";
  auto pre_r = db->apply({pre});
  REQUIRE(pre_r.size() == 1);
  REQUIRE(pre_r[0].code == storage::errc::ok);
  const auto vcluster = pre_r[0].rec.id.cluster;

  auto stats = import_graph(*db, g, {});
  REQUIRE_MESSAGE(stats.ok(), (stats.ok() ? "" : stats.error().render()));
  CHECK(stats->vertices == 3);
  CHECK(stats->edges == 4);
  CHECK(stats->edges_by_class == std::map<std::string, int64_t>{{"followed_by", 2}, {"sung_by", 1}, {"E", 1}});
  CHECK(stats->created_classes == std::vector<std::string>{"followed_by", "sung_by"});
  CHECK(records_in(*db, "v") == 4);
  CHECK(records_in(*db, "followed_by") == 2);
  CHECK(records_in(*db, "sung_by") == 1);
  CHECK(records_in(*db, "e") == 1);
  for (auto name : {"followed_by", "sung_by"}) {
    auto c = db->class_by_name(name);
    REQUIRE(c.has_value());
    CHECK(c->superclass == "E");
  }

  auto vs = db->browse_cluster(vcluster, 100);
  REQUIRE(vs.size() == 4);
  CHECK(vs[1].id == storage::rid{vcluster, pre_r[0].rec.id.position + 1});
  auto s1 = fields_of(vs[1]);
  auto s2 = fields_of(vs[2]);
  auto a1 = fields_of(vs[3]);
  CHECK(vs[1].class_name == "V");
  CHECK(vs[1].version == 1);
  CHECK(s1.at("type") == "song");
  CHECK(s1.at("name") == "ONE");
  CHECK(s1.at("song_type") == "cover");
  CHECK(s1.at("performances").as_int64() == 7);
  CHECK_FALSE(s1.contains("songType"));
  CHECK(s2.at("song_type") == "");
  CHECK(a1.at("type") == "artist");
  CHECK(a1.at("height").as_double() == doctest::Approx(1.8));
  CHECK(a1.at("alive").as_bool() == false);

  // s1 → s2 (followed_by, weight 3), s2 → s1 (followed_by), s1 → a1 (sung_by), s2 → a1 (E)
  REQUIRE(s1.at("out_followed_by").as_array().size() == 1);
  auto e0_rid = rid_of(s1.at("out_followed_by").as_array()[0]);
  auto e0 = db->find(e0_rid);
  REQUIRE(e0.has_value());
  CHECK(e0->class_name == "followed_by");
  auto e0f = fields_of(*e0);
  CHECK(rid_of(e0f.at("out")) == vs[1].id);
  CHECK(rid_of(e0f.at("in")) == vs[2].id);
  CHECK(e0f.at("weight").as_int64() == 3);
  CHECK(e0f.at("side_weight").as_double() == doctest::Approx(0.5));
  CHECK(s2.at("in_followed_by").as_array() == s1.at("out_followed_by").as_array());
  CHECK(s1.at("in_followed_by").as_array() == s2.at("out_followed_by").as_array());
  CHECK(s1.at("out_sung_by").as_array() == a1.at("in_sung_by").as_array());
  CHECK(s2.at("out_E").as_array() == a1.at("in_E").as_array());
  CHECK_FALSE(a1.contains("out_followed_by"));
  auto e3 = db->find(rid_of(s2.at("out_E").as_array()[0]));
  REQUIRE(e3.has_value());
  CHECK(e3->class_name == "E");
  CHECK(fields_of(*e3).size() == 2);  // out, in

  SUBCASE("a second import appends and reuses the edge classes") {
    auto again = import_graph(*db, g, batches_of(2));
    REQUIRE_MESSAGE(again.ok(), (again.ok() ? "" : again.error().render()));
    CHECK(again->created_classes.empty());
    CHECK(again->batches == 4);  // 7 documents in batches of 2
    CHECK(records_in(*db, "v") == 7);
    CHECK(records_in(*db, "followed_by") == 4);
    auto later = db->browse_cluster(vcluster, 100);
    REQUIRE(later.size() == 7);
    auto copy = fields_of(later[4]);
    CHECK(copy.at("name") == "ONE");
    auto e = db->find(rid_of(copy.at("out_followed_by").as_array()[0]));
    REQUIRE(e.has_value());
    CHECK(rid_of(fields_of(*e).at("out")) == later[4].id);
  }
}

TEST_CASE("import: names that do not fit the layout are refused before anything is written") {
  struct bad {
    std::string xml;
    std::string error;
  };
  const std::vector<bad> cases = {
      {R"(<graphml><key id="t" for="node" attr.name="type"/><graph><node id="1"><data key="t">x</data></node></graph></graphml>)",
       "vertex property 'type' would become the field 'type'"},
      {R"(<graphml><key id="t" for="node" attr.name="outSide"/><graph><node id="1"><data key="t">x</data></node></graph></graphml>)",
       "the vertex layout reserves"},
      {R"(<graphml><key id="t" for="edge" attr.name="in"/><graph><node id="1"/><edge source="1" target="1"><data key="t">x</data></edge></graph></graphml>)",
       "edge property 'in'"},
      {R"(<graphml><key id="a" for="node" attr.name="songType"/><key id="b" for="node" attr.name="song_type"/><graph><node id="1"><data key="a">x</data><data key="b">y</data></node></graph></graphml>)",
       "'songType' and 'song_type' would both become the field 'song_type'"},
      {R"(<graphml><key id="l" for="edge" attr.name="labelE"/><graph><node id="1"/><edge source="1" target="1"><data key="l">has space</data></edge></graph></graphml>)",
       "edge label 'has space' does not make a valid class name"},
      {R"(<graphml><key id="a" for="node" attr.name="@rid"/><graph><node id="1"><data key="a">x</data></node></graph></graphml>)",
       "vertex property '@rid' does not make a valid field name"},
  };
  test::temp_dir tmp;
  auto db = open_db(tmp / "db");
  for (const auto& c : cases) {
    CAPTURE(c.xml);
    auto g = parse_ok(c.xml);
    auto v = validate_for_import(g);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().what.find(c.error) != std::string::npos);
    import_options named;
    named.source_name = "x.graphml";
    auto r = import_graph(*db, g, named);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().file == "x.graphml");
    CHECK(r.error().what.find(c.error) != std::string::npos);
  }
  CHECK(records_in(*db, "v") == 0);
  CHECK(db->classes().size() == 2);  // V and E only

  auto g = parse_ok(small_xml);
  CHECK_FALSE(import_graph(*db, g, batches_of(0)).ok());
  CHECK_FALSE(import_graph(*db, g, batches_of(import_batch_ops_max + 1)).ok());
}

TEST_CASE("import: an existing class of the edge's name that is not an edge class is refused") {
  test::temp_dir tmp;
  auto db = open_db(tmp / "db");
  storage::op mk;
  mk.k = storage::op::kind::create_class;
  mk.class_name = "sung_by";
  auto r = db->apply({mk});
  REQUIRE(r[0].code == storage::errc::ok);
  auto stats = import_graph(*db, parse_ok(small_xml), {});
  REQUIRE_FALSE(stats.ok());
  CHECK(stats.error().what.find("class 'sung_by' exists but is not an edge class") != std::string::npos);
  CHECK(records_in(*db, "v") == 0);
  CHECK_FALSE(db->class_by_name("followed_by").has_value());
}

TEST_CASE("import: the Grateful Dead graph in OrientDB's GratefulDeadConcerts layout") {
  auto g = load_graphml(test::source_root() / "src/graph/demo/grateful-dead.xml");
  REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.error().render()));
  test::temp_dir tmp;
  auto db = open_db(tmp / "db");
  auto stats = import_graph(*db, *g, {});
  REQUIRE_MESSAGE(stats.ok(), (stats.ok() ? "" : stats.error().render()));
  MESSAGE("Grateful Dead import: " << stats->elapsed.count() << " ms in " << stats->batches << " batches");
  CHECK(stats->vertices == 808);
  CHECK(stats->edges == 8049);
  CHECK(stats->edges_by_class ==
        std::map<std::string, int64_t>{{"followed_by", 7047}, {"sung_by", 501}, {"written_by", 501}});

  CHECK(records_in(*db, "v") == 808);
  CHECK(records_in(*db, "followed_by") == 7047);
  CHECK(records_in(*db, "sung_by") == 501);
  CHECK(records_in(*db, "written_by") == 501);
  for (auto name : {"followed_by", "sung_by", "written_by"}) {
    CAPTURE(name);
    auto c = db->class_by_name(name);
    REQUIRE(c.has_value());
    CHECK(c->superclass == "E");
  }

  auto vclass = db->class_by_name("V");
  REQUIRE(vclass.has_value());
  auto vertices = db->browse_cluster(vclass->default_cluster, 1000);
  REQUIRE(vertices.size() == 808);

  // BERTHA is node 4: an original, performed 394 times. Its followedBy edges
  // in the file are the reference for its out_followed_by.
  std::map<int64_t, int64_t> bertha_followers_in_file;  // GraphML target id → weight
  for (const auto& e : g->edges)
    if (e.label == "followedBy" && g->vertices[e.source].id == "4")
      bertha_followers_in_file[std::stoll(g->vertices[e.target].id)] = std::get<int64_t>(e.properties.at(0).value);
  REQUIRE(bertha_followers_in_file.size() > 10);

  int found = 0;
  int64_t songs = 0, artists = 0, out_total = 0, in_total = 0;
  for (const auto& v : vertices) {
    auto f = fields_of(v);
    CHECK(v.class_name == "V");
    if (f.at("type") == "song") {
      ++songs;
      CHECK(f.contains("song_type"));
      CHECK(f.contains("performances"));
    } else {
      CHECK(f.at("type") == "artist");
      ++artists;
    }
    if (f.at("name") == "BERTHA") {
      ++found;
      CHECK(f.at("type") == "song");
      CHECK(f.at("song_type") == "original");
      CHECK(f.at("performances").as_int64() == 394);
      const auto& outs = f.at("out_followed_by").as_array();
      CHECK(outs.size() == bertha_followers_in_file.size());
      for (const auto& link : outs) {
        auto e = db->find(rid_of(link));
        REQUIRE(e.has_value());
        CHECK(e->class_name == "followed_by");
        auto ef = fields_of(*e);
        CHECK(rid_of(ef.at("out")) == v.id);
        REQUIRE(ef.contains("weight"));
        CHECK(ef.at("weight").is_int64());
        // Vertices are written in file order from position 0, so node N is at position N-1.
        auto target = rid_of(ef.at("in"));
        auto it = bertha_followers_in_file.find(target.position + 1);
        REQUIRE(it != bertha_followers_in_file.end());
        CHECK(ef.at("weight").as_int64() == it->second);
      }
    }
    // Every link names an edge of the right class whose out/in is this vertex.
    for (const auto& [key, val] : f) {
      bool is_out = key.starts_with("out_");
      bool is_in = key.starts_with("in_");
      if (!is_out && !is_in) continue;
      std::string cls(key.substr(is_out ? 4 : 3));
      for (const auto& link : val.as_array()) {
        auto e = db->find(rid_of(link));
        REQUIRE(e.has_value());
        CHECK(e->class_name == cls);
        CHECK(rid_of(fields_of(*e).at(is_out ? "out" : "in")) == v.id);
        ++(is_out ? out_total : in_total);
      }
    }
  }
  CHECK(found == 1);
  CHECK(songs == 584);
  CHECK(artists == 224);
  CHECK(out_total == 8049);
  CHECK(in_total == 8049);
}
