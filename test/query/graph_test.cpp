// Graph reads (src/query/graph.*) on GratefulDeadConcerts, built from the
// bundled GraphML by the same code dserver uses for its demo
// (create_demo_database). Every expected answer is computed here by plain
// loops over the parsed GraphML (src/graph/graphml.hpp), never by the engine
// and never from storage: the import puts vertex i of the GraphML at
// #<V's cluster>:i (import.hpp), which is the only fact taken from the layout.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "src/graph/demo.hpp"
#include "src/graph/graphml.hpp"
#include "src/query/parser.hpp"
#include "src/query/select.hpp"
#include "src/util/strings.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::query;
namespace json = boost::json;

namespace {

// The parsed GraphML, indexed for the expectations.
struct model {
  graph g;
  std::map<std::string, std::vector<std::vector<size_t>>> out, in;  // label -> vertex -> neighbours, edge order
  int32_t v_cluster = -1;

  std::string prop(size_t v, std::string_view name) const {
    for (auto& p : g.vertices[v].properties)
      if (p.name == name) return to_string(p.value);
    return "";
  }
  std::string name(size_t v) const { return prop(v, "name"); }
  std::string rid(size_t v) const { return cat("#", v_cluster, ":", v); }
  size_t vertex_named(std::string_view n) const {
    for (size_t v = 0; v < g.vertices.size(); ++v)
      if (name(v) == n) return v;
    FAIL("no vertex named " << n);
    return 0;
  }
  // Plain BFS distances over `label` edges (out, or both directions).
  std::map<size_t, int> distances(size_t from, const std::string& label, bool both_ways) const {
    std::map<size_t, int> d{{from, 0}};
    std::deque<size_t> q{from};
    while (!q.empty()) {
      size_t v = q.front();
      q.pop_front();
      std::vector<size_t> next = out.at(label)[v];
      if (both_ways) next.insert(next.end(), in.at(label)[v].begin(), in.at(label)[v].end());
      for (size_t n : next)
        if (d.emplace(n, d[v] + 1).second) q.push_back(n);
    }
    return d;
  }
  bool has_edge(size_t a, size_t b, const std::string& label) const {
    auto& o = out.at(label)[a];
    return std::find(o.begin(), o.end(), b) != o.end();
  }
};

struct fixture {
  test::temp_dir tmp;
  std::unique_ptr<storage::database> db;
  model m;

  fixture() {
    auto built = create_demo_database(tmp / "databases");
    REQUIRE_MESSAGE(built.ok(), (built.ok() ? "" : built.error().render()));
    auto opened = storage::database::open(tmp / "databases" / demo_database_name);
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().render()));
    db = std::move(*opened);
    auto parsed = load_graphml(demo_graphml_path());
    REQUIRE(parsed.ok());
    m.g = std::move(*parsed);
    for (auto label : {"followedBy", "sungBy", "writtenBy"}) {
      m.out[label].resize(m.g.vertices.size());
      m.in[label].resize(m.g.vertices.size());
    }
    for (auto& e : m.g.edges) {
      m.out[e.label][e.source].push_back(e.target);
      m.in[e.label][e.target].push_back(e.source);
    }
    auto v = db->class_by_name("V");
    REQUIRE(v);
    m.v_cluster = v->default_cluster;
    // The one layout fact the expectations use: vertex i is at position i.
    for (size_t i : {size_t{0}, m.g.vertices.size() / 2, m.g.vertices.size() - 1}) {
      auto rec = db->find(*storage::rid::parse(m.rid(i)));
      REQUIRE(rec);
      CHECK(json::parse(rec->fields).at("name").as_string() == m.name(i));
    }
  }

  result<std::vector<std::string>> run(const std::string& sql, const select_limits& limits = {}) {
    auto parsed = parse(sql);
    if (auto* e = std::get_if<syntax_error>(&parsed)) FAIL(sql << ": " << e->message());
    return run_query(*db, std::get<statement>(parsed), {}, limits);
  }
  std::vector<json::object> rows(const std::string& sql) {
    auto r = run(sql);
    REQUIRE_MESSAGE(r.ok(), sql << ": " << (r.ok() ? "" : r.error().render()));
    std::vector<json::object> out;
    for (auto& t : *r) out.push_back(json::parse(t).as_object());
    return out;
  }
  // One column of every row, as text (strings unquoted).
  std::vector<std::string> column(const std::string& sql, const std::string& col) {
    std::vector<std::string> out;
    for (auto& r : rows(sql)) {
      auto& v = r.at(col);
      out.push_back(v.is_string() ? std::string(v.get_string()) : json::serialize(v));
    }
    return out;
  }
};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> strings(const json::value& v) {
  std::vector<std::string> out;
  for (auto& x : v.as_array()) out.push_back(std::string(x.as_string()));
  return out;
}

}  // namespace

TEST_CASE("graph: GratefulDeadConcerts answers match plain loops over the GraphML") {
  fixture f;
  auto& m = f.m;
  const size_t n_vertices = m.g.vertices.size();

  SUBCASE("count per type") {
    std::map<std::string, int64_t> want;
    for (auto& v : m.g.vertices) ++want[v.label];
    std::map<std::string, int64_t> got;
    for (auto& r : f.rows("select type, count(*) as n from V group by type"))
      got[std::string(r.at("type").as_string())] = r.at("n").as_int64();
    CHECK(got == want);
    CHECK(want.size() == 2);
  }

  SUBCASE("the songs a singer sang: out('sung_by').name = ..., and in('sung_by') from the artist") {
    size_t garcia = m.vertex_named("Garcia");
    std::vector<std::string> want;
    for (size_t v = 0; v < n_vertices; ++v)
      if (m.g.vertices[v].label == "song" && m.has_edge(v, garcia, "sungBy")) want.push_back(m.name(v));
    REQUIRE(want.size() > 10);
    CHECK(sorted(f.column("select name from V where type = 'song' and out('sung_by').name = 'Garcia'", "name")) ==
          sorted(want));
    CHECK(sorted(f.column("select expand(in('SUNG_BY')) from V where name = 'Garcia'", "name")) == sorted(want));
    auto names = f.rows("select in('sung_by').name as songs from V where name = 'Garcia'");
    REQUIRE(names.size() == 1);
    CHECK(sorted(strings(names[0].at("songs"))) == sorted(want));
    // A collection compared with one value: any element; with none: false.
    CHECK(f.rows("select from V where out('sung_by').name = 'Nobody at all'").empty());
  }

  SUBCASE("the most followed songs by in-degree, ties by name") {
    std::vector<std::pair<int64_t, std::string>> songs;
    for (size_t v = 0; v < n_vertices; ++v)
      if (m.g.vertices[v].label == "song")
        songs.emplace_back(static_cast<int64_t>(m.in.at("followedBy")[v].size()), m.name(v));
    std::sort(songs.begin(), songs.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    auto got = f.rows("select name, in('followed_by').size() as n from V where type = 'song' order by n desc, name limit 10");
    REQUIRE(got.size() == 10);
    for (size_t i = 0; i < 10; ++i) {
      CAPTURE(i);
      CHECK(got[i].at("name").as_string() == songs[i].second);
      CHECK(got[i].at("n").as_int64() == songs[i].first);
    }
  }

  // The start of the walks: the most followed song.
  size_t start = 0;
  for (size_t v = 0; v < n_vertices; ++v)
    if (m.in.at("followedBy")[v].size() > m.in.at("followedBy")[start].size()) start = v;
  const std::string from = m.rid(start);

  SUBCASE("out(), outE()/inV(), both() and a chain on one vertex") {
    auto& outs = m.out.at("followedBy")[start];
    auto& ins = m.in.at("followedBy")[start];
    std::vector<std::string> want_names;
    for (size_t n : outs) want_names.push_back(m.name(n));
    auto one = f.rows("select out('followed_by').name as names, outE('followed_by').size() as e, "
                      "both('followed_by').size() as b, out().size() as all_out from " + from);
    REQUIRE(one.size() == 1);
    CHECK(strings(one[0].at("names")) == want_names);  // in edge order
    CHECK(one[0].at("e").as_int64() == static_cast<int64_t>(outs.size()));
    CHECK(one[0].at("b").as_int64() == static_cast<int64_t>(outs.size() + ins.size()));
    size_t all_out = outs.size() + m.out.at("sungBy")[start].size() + m.out.at("writtenBy")[start].size();
    CHECK(one[0].at("all_out").as_int64() == static_cast<int64_t>(all_out));

    auto edges = f.rows("select expand(outE('followed_by')) from " + from);
    REQUIRE(edges.size() == outs.size());
    for (auto& e : edges) {
      CHECK(e.at("@class").as_string() == "followed_by");
      CHECK(e.at("out").as_string() == from);
    }
    std::vector<std::string> want_rids;
    for (size_t n : outs) want_rids.push_back(m.rid(n));
    CHECK(f.column("select inV() as v from (select expand(outE('followed_by')) from " + from + ")", "v") == want_rids);
    CHECK(f.column("select expand(outE('followed_by').inV()) from " + from, "@rid") == want_rids);
    CHECK(f.column("select expand(out('followed_by')) from " + from, "@rid") == want_rids);
  }

  SUBCASE("TRAVERSE: breadth first up to depth 3 is the BFS ball, $depth the distance") {
    auto d = m.distances(start, "followedBy", false);
    std::vector<std::string> ball, ring3, ball2;
    for (auto& [v, dist] : d) {
      if (dist <= 3) ball.push_back(m.rid(v));
      if (dist == 3) ring3.push_back(m.rid(v));
      if (dist <= 2) ball2.push_back(m.rid(v));
    }
    REQUIRE(ring3.size() > 0);
    auto t = "traverse out('followed_by') from " + from;
    CHECK(sorted(f.column(t + " maxdepth 3 strategy breadth_first", "@rid")) == sorted(ball));
    CHECK(sorted(f.column(t + " while $depth <= 3 strategy breadth_first", "@rid")) == sorted(ball));
    CHECK(sorted(f.column(t + " while $depth < 3 strategy breadth_first", "@rid")) == sorted(ball2));
    CHECK(sorted(f.column("select @rid as r from (" + t + " maxdepth 3 strategy breadth_first) where $depth = 3", "r")) ==
          sorted(ring3));
    auto first = f.column(t + " maxdepth 3 strategy breadth_first limit 5", "@rid");
    REQUIRE(first.size() == 5);
    CHECK(first[0] == from);
  }

  SUBCASE("TRAVERSE: depth first is the recursive pre-order, each record once") {
    std::vector<std::string> want;
    std::set<size_t> seen;
    std::function<void(size_t, int)> visit = [&](size_t v, int depth) {
      if (!seen.insert(v).second) return;
      want.push_back(m.rid(v));
      if (depth < 3)
        for (size_t n : m.out.at("followedBy")[v]) visit(n, depth + 1);
    };
    visit(start, 0);
    auto got = f.column("traverse out('followed_by') from " + from + " maxdepth 3", "@rid");
    CHECK(got == want);
    CHECK(std::set<std::string>(got.begin(), got.end()).size() == got.size());
    // Every field (*) from a vertex reaches its edges, and through them more vertices.
    auto any = f.column("traverse * from " + from + " limit 50", "@rid");
    CHECK(any.size() == 50);
  }

  SUBCASE("shortestPath: as long as plain BFS, every hop a real edge") {
    auto d = m.distances(start, "followedBy", false);
    size_t far = start;
    for (auto& [v, dist] : d)
      if (dist > d[far] || (dist == d[far] && v < far)) far = v;
    REQUIRE(d[far] >= 2);
    auto r = f.rows("select shortestPath(" + from + ", " + m.rid(far) + ", 'OUT', 'followed_by') as p");
    REQUIRE(r.size() == 1);
    auto path = strings(r[0].at("p"));
    REQUIRE(path.size() == static_cast<size_t>(d[far]) + 1);
    CHECK(path.front() == from);
    CHECK(path.back() == m.rid(far));
    for (size_t k = 0; k + 1 < path.size(); ++k) {
      auto a = storage::rid::parse(path[k])->position, b = storage::rid::parse(path[k + 1])->position;
      CHECK(m.has_edge(static_cast<size_t>(a), static_cast<size_t>(b), "followedBy"));
    }
    CHECK(f.rows("select expand(shortestPath(" + from + ", " + m.rid(far) + ", 'OUT', 'followed_by'))").size() ==
          path.size());
    // Both directions over every edge class: never longer.
    auto both = f.rows("select shortestPath(" + m.rid(far) + ", " + from + ") as p");
    CHECK(both[0].at("p").as_array().size() <= path.size());
    CHECK(both[0].at("p").as_array().size() >= 2);
  }

  SUBCASE("bounds and unknown names are clear errors") {
    select_limits small;
    small.traverse_records_max = 10;
    auto t = f.run("traverse out('followed_by') from " + from, small);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().what.find("TRAVERSE visited more than 10 records") != std::string::npos);
    auto far = m.rid(n_vertices - 1);
    auto sp = f.run("select shortestPath(" + from + ", " + far + ")", small);
    REQUIRE_FALSE(sp.ok());
    CHECK(sp.error().what.find("shortestPath() visited more than 10 vertices") != std::string::npos);
    select_limits reads;
    reads.scan_records_max = 50;
    auto walk = f.run("select out().out().size() from " + from, reads);
    REQUIRE_FALSE(walk.ok());
    CHECK(walk.error().what.find("read more than 50 records") != std::string::npos);
    auto unknown = f.run("select frobnicate(name) from V");
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().what == "Unknown function 'frobnicate()'");
    auto method = f.run("select name.frob() from V");
    REQUIRE_FALSE(method.ok());
    CHECK(method.error().what == "Unknown method 'frob()'");
    CHECK_FALSE(f.run("select name, expand(out()) from V").ok());
    CHECK_FALSE(f.run("select from V where expand(out()) = 1").ok());
  }

  SUBCASE("distinct(), first(), @this, subquery over a subquery") {
    std::set<std::string> types;
    for (auto& v : m.g.vertices) types.insert(v.label);
    auto d = f.column("select distinct(type) as t from V", "t");
    CHECK(std::set<std::string>(d.begin(), d.end()) == types);
    CHECK(d.size() == types.size());
    auto firsts = f.rows("select first(out('followed_by')) as x, @this.name as me from " + from);
    CHECK(firsts[0].at("x").as_string() == m.rid(m.out.at("followedBy")[start].front()));
    CHECK(firsts[0].at("me").as_string() == m.name(start));
    auto nested = f.rows("select count(*) as n from (select from (select from V where type = 'artist'))");
    CHECK(nested[0].at("n").as_int64() == static_cast<int64_t>(std::count_if(
                                              m.g.vertices.begin(), m.g.vertices.end(), [](auto& v) { return v.label == "artist"; })));
  }
}

TEST_CASE("graph: LET variables: expressions, earlier variables, subqueries with $parent.$current, bounds") {
  fixture f;
  auto& m = f.m;
  const size_t n_vertices = m.g.vertices.size();
  auto in_degree = [&](size_t v) { return static_cast<int64_t>(m.in.at("followedBy")[v].size()); };
  auto out_degree = [&](size_t v) { return static_cast<int64_t>(m.out.at("followedBy")[v].size()); };

  SUBCASE("an expression variable in WHERE, a projection and ORDER BY") {
    std::vector<std::pair<int64_t, std::string>> want;
    for (size_t v = 0; v < n_vertices; ++v)
      if (m.g.vertices[v].label == "song" && in_degree(v) > 10) want.emplace_back(in_degree(v), m.name(v));
    std::sort(want.begin(), want.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    REQUIRE(want.size() > 5);
    auto got = f.rows("select name, $n as n from V let $n = in('followed_by').size() "
                      "where type = 'song' and $n > 10 order by n desc, name");
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      CHECK(got[i].at("name").as_string() == want[i].second);
      CHECK(got[i].at("n").as_int64() == want[i].first);
    }
    // ORDER BY the variable itself, on whole records (which do not show it).
    auto whole = f.rows("select from V let $n = in('followed_by').size() where type = 'song' and $n > 10 "
                        "order by $n desc, name");
    REQUIRE(whole.size() == want.size());
    CHECK(whole[0].at("name").as_string() == want[0].second);
    CHECK_FALSE(whole[0].contains("$n"));
  }

  SUBCASE("a variable reads an earlier one; names are case-sensitive; unknown ones are null") {
    std::vector<std::string> want;
    for (size_t v = 0; v < n_vertices; ++v)
      if (m.g.vertices[v].label == "song" && in_degree(v) * 2 + out_degree(v) > 60) want.push_back(m.name(v));
    REQUIRE_FALSE(want.empty());
    auto got = f.column("select name from V let $a = in('followed_by').size(), $b = $a * 2 + out('followed_by').size() "
                        "where type = 'song' and $b > 60",
                        "name");
    CHECK(sorted(got) == sorted(want));
    auto one = f.rows("select $A as big, $a as small, $x as unknown, $parent as p, $current.name as me from " +
                      m.rid(1) + " let $A = 1, $a = $A + 1");
    REQUIRE(one.size() == 1);
    CHECK(one[0].at("big").as_int64() == 1);
    CHECK(one[0].at("small").as_int64() == 2);
    CHECK(one[0].at("unknown").is_null());
    CHECK(one[0].at("p").is_null());
    CHECK(one[0].at("me").as_string() == m.name(1));
    // LET without FROM: one row.
    auto bare = f.rows("select $a as a let $a = 6 * 7");
    REQUIRE(bare.size() == 1);
    CHECK(bare[0].at("a").as_int64() == 42);
  }

  SUBCASE("a subquery variable runs per record, with $parent.$current the outer record") {
    // Songs per artist name, in plain code: the songs sung by a vertex of that name.
    std::vector<size_t> artists;
    for (size_t v = 0; v < n_vertices && artists.size() < 12; ++v)
      if (m.g.vertices[v].label == "artist") artists.push_back(v);
    REQUIRE(artists.size() == 12);
    auto songs_of = [&](const std::string& artist) {
      std::vector<std::string> out;
      for (size_t s = 0; s < n_vertices; ++s) {
        if (m.g.vertices[s].label != "song") continue;
        auto& sung = m.out.at("sungBy")[s];
        if (std::any_of(sung.begin(), sung.end(), [&](size_t a) { return m.name(a) == artist; })) out.push_back(m.name(s));
      }
      return out;
    };
    std::string rids;
    for (size_t a : artists) rids += (rids.empty() ? "" : ", ") + m.rid(a);
    auto got = f.rows("select name, $songs.size() as n, $songs.name as titles, $titles.name as projected from [" + rids +
                      "] let $songs = (select from V where type = 'song' and out('sung_by').name = $parent.$current.name), "
                      "$titles = (select name from V where type = 'song' and out('sung_by').name = $parent.$current.name)");
    REQUIRE(got.size() == artists.size());
    size_t with_songs = 0;
    for (size_t i = 0; i < artists.size(); ++i) {
      auto want = songs_of(m.name(artists[i]));
      CAPTURE(m.name(artists[i]));
      CHECK(got[i].at("name").as_string() == m.name(artists[i]));
      CHECK(got[i].at("n").as_int64() == static_cast<int64_t>(want.size()));
      CHECK(sorted(strings(got[i].at("titles"))) == sorted(want));
      CHECK(sorted(strings(got[i].at("projected"))) == sorted(want));
      with_songs += want.empty() ? 0 : 1;
    }
    CHECK(with_songs > 0);
    // A subquery variable in the WHERE: only the artists who sang something.
    auto sang = f.column("select name from [" + rids + "] let $songs = (select from V where type = 'song' and "
                         "out('sung_by').name = $parent.$current.name) where $songs.size() > 0",
                         "name");
    CHECK(sang.size() == with_songs);
    // $parent.$a reads the outer record's variable.
    auto via_var = f.rows("select $c.size() as n from " + m.rid(artists[0]) + " let $me = name, $c = (select from V "
                          "where type = 'song' and out('sung_by').name = $parent.$me)");
    REQUIRE(via_var.size() == 1);
    CHECK(via_var[0].at("n").as_int64() == static_cast<int64_t>(songs_of(m.name(artists[0])).size()));
    // A TRAVERSE variable: the records within one step, the start included.
    size_t start = 0;
    for (size_t v = 0; v < n_vertices; ++v)
      if (out_degree(v) > out_degree(start)) start = v;
    std::set<size_t> near{start};
    for (size_t n : m.out.at("followedBy")[start]) near.insert(n);
    auto t = f.rows("select $t.size() as n from " + m.rid(start) + " let $t = (traverse out('followed_by') from " +
                    m.rid(start) + " maxdepth 1)");
    REQUIRE(t.size() == 1);
    CHECK(t[0].at("n").as_int64() == static_cast<int64_t>(near.size()));
  }

  SUBCASE("a subquery variable's reads count against scan_records_max and the deadline") {
    std::string two = "[" + m.rid(0) + ", " + m.rid(1) + "]";
    select_limits reads;
    reads.scan_records_max = n_vertices + 10;
    // One pass over V fits; the second record's subquery goes past the bound.
    CHECK(f.run("select from V", reads).ok());
    auto r = f.run("select $all.size() as n from " + two + " let $all = (select from V)", reads);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().what.find(cat("read more than ", n_vertices + 10, " records")) != std::string::npos);
    reads.scan_records_max = 2 * n_vertices + 2;
    auto fits = f.run("select $all.size() as n from " + two + " let $all = (select from V)", reads);
    REQUIRE(fits.ok());
    CHECK(json::parse((*fits)[1]).at("n").as_int64() == static_cast<int64_t>(n_vertices));
    select_limits late;
    late.deadline = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    auto timed = f.run("select $all.size() from " + m.rid(0) + " let $all = (select from V)", late);
    REQUIRE_FALSE(timed.ok());
    CHECK(timed.error().what == timeout_message());
    // Aggregates are refused in LET, before anything is read.
    auto agg = f.run("select from V let $c = count(*)");
    REQUIRE_FALSE(agg.ok());
    CHECK(agg.error().what.find("not allowed in LET") != std::string::npos);
  }
}
