// src/query/write: write statements planned over real storage, the plans
// applied, then the database and the answers checked. A table of good
// statements run in order over one database (each with its answer and the
// state a SELECT then reads), a table of refused ones (kind and message), the
// graph's consistency after every edge and vertex change, plans made from a
// stale state, and the bounds.
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>
#include <set>

#include "src/query/parser.hpp"
#include "src/query/write.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::query;
using namespace troupe::storage::testing;
namespace json = boost::json;
using storage::rid;

namespace {

write_plan planned(const storage::database& db, std::string_view sql, const params& p = {},
                   const write_limits& limits = {}) {
  auto r = plan_sql(db, sql, p, limits);
  if (auto* e = std::get_if<write_error>(&r)) FAIL(cat(to_string(e->kind), ": ", e->message, " (", sql, ")"));
  return std::get<write_plan>(std::move(r));
}

write_error refused(const storage::database& db, std::string_view sql, const params& p = {},
                    const write_limits& limits = {}) {
  auto r = plan_sql(db, sql, p, limits);
  REQUIRE_MESSAGE(std::holds_alternative<write_error>(r), "planned: " << sql);
  return std::get<write_error>(std::move(r));
}

// Applies a plan as the owner does: one replicated entry, committed at once.
std::vector<storage::op_result> commit(storage::database& db, const write_plan& plan) {
  if (plan.ops.empty()) return {};  // nothing matched: nothing to order (storage refuses empty entries)
  auto r = db.commit_new({storage::staged_entry{db.last_committed_seq() + 1, 1, plan.ops}});
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().render()));
  REQUIRE(r->size() == 1);
  return (*r)[0];
}

void commit_ok(storage::database& db, const write_plan& plan) {
  for (auto& res : commit(db, plan)) CHECK_MESSAGE(res.code == storage::errc::ok, res.message);
}

// The rows a SELECT gives, as one JSON array.
json::value selected(const storage::database& db, std::string_view sql) {
  auto parsed = parse(sql);
  REQUIRE(std::holds_alternative<statement>(parsed));
  auto rows = run_select(db, std::get<select_stmt>(std::get<statement>(parsed)));
  REQUIRE_MESSAGE(rows.ok(), (rows.ok() ? "" : rows.error().render()));
  json::array out;
  for (auto& t : *rows) out.push_back(json::parse(t));
  return out;
}

bool extends(const storage::database& db, std::string cls, std::string_view base) {
  for (int i = 0; i < 100 && !cls.empty(); ++i) {
    if (cls == base) return true;
    auto c = db.class_by_name(cls);
    if (!c) return false;
    cls = c->superclass;
  }
  return false;
}

// The graph's invariants: every edge's ends are live vertices that list it
// (out_* of its source, in_* of its target), and every out_*/in_* entry of a
// vertex names a live edge whose end it is. "" when they hold, else the first
// violation.
std::string graph_problem(const storage::database& db) {
  std::map<rid, storage::record> all;
  for (auto& c : db.clusters())
    for (auto& r : db.browse_cluster(c.id, 0, storage::browse_records_max)) all.emplace(r.id, r);
  auto fields = [&](rid id) { return json::parse(all.at(id).fields).as_object(); };
  auto lists = [&](rid vertex, std::string_view prefix, rid edge) {
    for (auto& [k, v] : fields(vertex))
      if (k.starts_with(prefix) && v.is_array())
        for (auto& x : v.as_array())
          if (x == json::value(edge.to_string())) return true;
    return false;
  };
  for (auto& [id, r] : all) {
    auto f = fields(id);
    if (extends(db, r.class_name, "E")) {
      for (auto [end, prefix] : {std::pair{"out", "out_"}, std::pair{"in", "in_"}}) {
        auto* v = f.if_contains(end);
        auto vid = v && v->is_string() ? rid::parse(v->get_string()) : std::nullopt;
        if (!vid || !all.contains(*vid)) return cat("edge ", id.to_string(), ": its ", end, " is not a live record");
        if (!extends(db, all.at(*vid).class_name, "V")) return cat("edge ", id.to_string(), ": its ", end, " is not a vertex");
        if (!lists(*vid, prefix, id)) return cat("edge ", id.to_string(), ": ", vid->to_string(), " does not list it");
      }
    } else if (extends(db, r.class_name, "V")) {
      for (auto& [k, v] : f) {
        bool out = k.starts_with("out_");
        if ((!out && !k.starts_with("in_")) || !v.is_array()) continue;
        for (auto& x : v.as_array()) {
          auto eid = x.is_string() ? rid::parse(x.get_string()) : std::nullopt;
          if (!eid || !all.contains(*eid)) return cat("vertex ", id.to_string(), ": ", k, " names a dead edge");
          auto ef = fields(*eid);
          if (ef[out ? "out" : "in"] != json::value(id.to_string()))
            return cat("vertex ", id.to_string(), ": ", k, " names ", eid->to_string(), ", which does not end here");
        }
      }
    }
  }
  return "";
}

struct fixture {
  troupe::test::temp_dir dir;
  std::unique_ptr<storage::database> db = open_db(dir.path() / "db");
  fixture() {
    // Cluster ids: internal 0, index 1, default 2, v 3, e 4, then 5, 6, 7.
    for (auto [sql, cluster] : {std::pair{"CREATE CLASS Person EXTENDS V", 5}, std::pair{"create class Knows extends E", 6},
                                std::pair{"CREATE CLASS Doc", 7}}) {
      auto p = planned(*db, sql);
      CHECK(json::parse(p.answer) == json::parse(cat(R"([{"@type":"d","@version":0,"value":)", cluster, "}]")));
      commit_ok(*db, p);
    }
    REQUIRE(db->class_by_name("Person")->default_cluster == 5);
    REQUIRE(db->class_by_name("Doc")->default_cluster == 7);
  }
};

}  // namespace

TEST_CASE("write: good statements, in order over one database: the answer and the state after") {
  fixture f;
  struct row {
    const char* sql;
    const char* answer;  // the expected answer (JSON; key order ignored)
    const char* check;   // a SELECT over the state after, "" for none
    const char* rows;    // what it gives
  };
  const row rows[] = {
      {"INSERT INTO Doc SET name = 'a', n = 1", R"([{"@type":"d","@rid":"#7:0","@version":1,"@class":"Doc","name":"a","n":1}])",
       "select from Doc", R"([{"@type":"d","@rid":"#7:0","@version":1,"@class":"Doc","name":"a","n":1}])"},
      {"insert into Doc (name, n) values ('b', 2), ('c', 1 + 2)",
       R"([{"@type":"d","@rid":"#7:1","@version":1,"@class":"Doc","name":"b","n":2},
           {"@type":"d","@rid":"#7:2","@version":1,"@class":"Doc","name":"c","n":3}])",
       "select name, n from Doc where n > 1",
       R"([{"@type":"d","@version":0,"name":"b","n":2},{"@type":"d","@version":0,"name":"c","n":3}])"},
      {R"(INSERT INTO Doc CONTENT {"name": "d", "n": 4, "tags": ["x"], "@class": "ignored"})",
       R"([{"@type":"d","@rid":"#7:3","@version":1,"@class":"Doc","name":"d","n":4,"tags":["x"]}])", "", ""},
      {"INSERT INTO Doc SET name = 'e' RETURN @rid", R"([{"@type":"d","@version":0,"value":"#7:4"}])",
       "select count(*) as c from Doc", R"([{"@type":"d","@version":0,"c":5}])"},
      {"UPDATE Doc SET n = n + 10 WHERE name = 'a'", R"([{"@type":"d","@version":0,"value":1}])",
       "select n, @version from Doc where name = 'a'", R"([{"@type":"d","@version":0,"n":11,"@version":2}])"},
      {"UPDATE Doc INCREMENT n = 5 WHERE name in ['b', 'c']", R"([{"@type":"d","@version":0,"value":2}])",
       "select n from Doc where name in ['b', 'c']", R"([{"@type":"d","@version":0,"n":7},{"@type":"d","@version":0,"n":8}])"},
      {"UPDATE Doc ADD tags = 'y' WHERE name = 'd'", R"([{"@type":"d","@version":0,"value":1}])",
       "select tags from Doc where name = 'd'", R"([{"@type":"d","@version":0,"tags":["x","y"]}])"},
      {"UPDATE Doc REMOVE tags = 'x' WHERE name = 'd'", R"([{"@type":"d","@version":0,"value":1}])",
       "select tags from Doc where name = 'd'", R"([{"@type":"d","@version":0,"tags":["y"]}])"},
      {"UPDATE #7:0 REMOVE n", R"([{"@type":"d","@version":0,"value":1}])", "select from #7:0",
       R"([{"@type":"d","@rid":"#7:0","@version":3,"@class":"Doc","name":"a"}])"},
      {R"(UPDATE Doc MERGE {"m": true} RETURN AFTER WHERE name = 'b')",
       R"([{"@type":"d","@rid":"#7:1","@version":3,"@class":"Doc","name":"b","n":7,"m":true}])", "", ""},
      {R"(UPDATE Doc CONTENT {"name": "c2"} RETURN BEFORE WHERE name = 'c')",
       R"([{"@type":"d","@rid":"#7:2","@version":2,"@class":"Doc","name":"c","n":8}])", "select from #7:2",
       R"([{"@type":"d","@rid":"#7:2","@version":3,"@class":"Doc","name":"c2"}])"},
      {"UPDATE Doc SET n = 100 UPSERT WHERE name = 'z' and k = 1", R"([{"@type":"d","@version":0,"value":1}])",
       "select from Doc where name = 'z'", R"([{"@type":"d","@rid":"#7:5","@version":1,"@class":"Doc","name":"z","k":1,"n":100}])"},
      {"UPDATE Doc SET n = 101 UPSERT RETURN AFTER n WHERE name = 'z'", R"([{"@type":"d","@version":0,"value":101}])",
       "select n, @version from Doc where name = 'z'", R"([{"@type":"d","@version":0,"n":101,"@version":2}])"},
      {"UPDATE Doc SET k = 2 LIMIT 2", R"([{"@type":"d","@version":0,"value":2}])", "select count(*) as c from Doc where k = 2",
       R"([{"@type":"d","@version":0,"c":2}])"},
      {"UPDATE cluster:doc SET q = 1 WHERE name = 'e'", R"([{"@type":"d","@version":0,"value":1}])", "", ""},
      {"DELETE FROM Doc WHERE name = 'z'", R"([{"@type":"d","@version":0,"value":1}])",
       "select count(*) as c from Doc", R"([{"@type":"d","@version":0,"c":5}])"},
      {"DELETE FROM Doc WHERE n > 1000", R"([{"@type":"d","@version":0,"value":0}])", "", ""},
      {"CREATE VERTEX Person SET name = 'ann'", R"([{"@type":"d","@rid":"#5:0","@version":1,"@class":"Person","name":"ann"}])",
       "", ""},
      {R"(create vertex Person content {"name": "bob"})",
       R"([{"@type":"d","@rid":"#5:1","@version":1,"@class":"Person","name":"bob"}])", "", ""},
      {"CREATE VERTEX", R"([{"@type":"d","@rid":"#3:0","@version":1,"@class":"V"}])", "", ""},
      {"CREATE EDGE Knows FROM #5:0 TO #5:1 SET since = 2020",
       R"([{"@type":"d","@rid":"#6:0","@version":1,"@class":"Knows","out":"#5:0","in":"#5:1","since":2020}])",
       "select name, out_Knows, in_Knows from Person",
       R"([{"@type":"d","@version":0,"name":"ann","out_Knows":["#6:0"],"in_Knows":null},
           {"@type":"d","@version":0,"name":"bob","out_Knows":null,"in_Knows":["#6:0"]}])"},
      // Two edges from one vertex in one plan: its out_Knows gets both.
      {"CREATE EDGE Knows FROM #5:0 TO [#5:1, #3:0]",
       R"([{"@type":"d","@rid":"#6:1","@version":1,"@class":"Knows","out":"#5:0","in":"#5:1"},
           {"@type":"d","@rid":"#6:2","@version":1,"@class":"Knows","out":"#5:0","in":"#3:0"}])",
       "select out_Knows, @version from #5:0", R"([{"@type":"d","@version":0,"out_Knows":["#6:0","#6:1","#6:2"],"@version":3}])"},
      {"CREATE EDGE FROM (SELECT FROM Person WHERE name = 'bob') TO #5:0",
       R"([{"@type":"d","@rid":"#4:0","@version":1,"@class":"E","out":"#5:1","in":"#5:0"}])",
       "select out_E, in_E from Person", R"([{"@type":"d","@version":0,"out_E":null,"in_E":["#4:0"]},
                                            {"@type":"d","@version":0,"out_E":["#4:0"],"in_E":null}])"},
      // A self-loop: both arrays of one vertex.
      {"CREATE EDGE Knows FROM #3:0 TO #3:0", R"([{"@type":"d","@rid":"#6:3","@version":1,"@class":"Knows","out":"#3:0","in":"#3:0"}])",
       "select out_Knows, in_Knows from #3:0", R"([{"@type":"d","@version":0,"out_Knows":["#6:3"],"in_Knows":["#6:2","#6:3"]}])"},
      {R"(UPDATE #3:0 CONTENT {"kind": "loop"})", R"([{"@type":"d","@version":0,"value":1}])", "select from #3:0",
       R"([{"@type":"d","@rid":"#3:0","@version":4,"@class":"V","kind":"loop","in_Knows":["#6:2","#6:3"],"out_Knows":["#6:3"]}])"},
      {"DELETE EDGE #6:2", R"([{"@type":"d","@version":0,"value":1}])", "select out_Knows from #5:0",
       R"([{"@type":"d","@version":0,"out_Knows":["#6:0","#6:1"]}])"},
      {"DELETE EDGE Knows FROM #5:0 TO #5:1 WHERE since = 2020", R"([{"@type":"d","@version":0,"value":1}])",
       "select @rid from Knows", R"([{"@type":"d","@version":0,"@rid":"#6:1"},{"@type":"d","@version":0,"@rid":"#6:3"}])"},
      {"DELETE VERTEX Person WHERE name = 'bob'", R"([{"@type":"d","@version":0,"value":1}])",
       "select out_Knows, in_E, out_E from Person", R"([{"@type":"d","@version":0,"out_Knows":[],"in_E":[],"out_E":null}])"},
      {"DELETE VERTEX #3:0", R"([{"@type":"d","@version":0,"value":1}])", "select count(*) as c from E",
       R"([{"@type":"d","@version":0,"c":0}])"},
      {"DELETE VERTEX Person", R"([{"@type":"d","@version":0,"value":1}])", "select count(*) as c from V",
       R"([{"@type":"d","@version":0,"c":0}])"},
  };
  for (auto& r : rows) {
    INFO(r.sql);
    auto p = planned(*f.db, r.sql);
    CHECK(json::parse(p.answer) == json::parse(r.answer));
    commit_ok(*f.db, p);
    if (*r.check) CHECK(selected(*f.db, r.check) == json::parse(r.rows));
    CHECK(graph_problem(*f.db) == "");
    CHECK(f.db->check().ok());
  }
}

TEST_CASE("write: a create's answer is the record storage then holds, at the RID the plan chose") {
  fixture f;
  auto v = planned(*f.db, "CREATE VERTEX Person SET name = 'ann', tags = ['a', 1, null]");
  REQUIRE(v.ops.size() == 1);
  CHECK(v.ops[0].k == storage::op::kind::create);
  CHECK(v.ops[0].id == rid{5, 0});
  auto res = commit(*f.db, v);
  REQUIRE(res[0].code == storage::errc::ok);
  CHECK(res[0].rec.id == rid{5, 0});
  CHECK(json::parse(v.answer).as_array()[0] == json::parse(f.db->find({5, 0})->to_json()));

  // Several creates in one plan take consecutive positions of the cluster.
  auto three = planned(*f.db, "INSERT INTO Person (name) VALUES ('a'), ('b'), ('c')");
  REQUIRE(three.ops.size() == 3);
  for (int i = 0; i < 3; ++i) CHECK(three.ops[i].id == rid{5, 1 + i});
  commit_ok(*f.db, three);
  auto e = planned(*f.db, "CREATE EDGE Knows FROM [#5:0, #5:1] TO [#5:2, #5:3]");
  // 4 edges, and each of the 4 vertices updated once with its final arrays.
  CHECK(e.ops.size() == 8);
  size_t updates = 0;
  for (auto& o : e.ops) {
    if (o.k != storage::op::kind::update) continue;
    ++updates;
    CHECK(o.expected_version == 1);
  }
  CHECK(updates == 4);
  commit_ok(*f.db, e);
  auto answer = json::parse(e.answer).as_array();
  REQUIRE(answer.size() == 4);
  for (auto& rec : answer)
    CHECK(rec == json::parse(f.db->find(*rid::parse(rec.at("@rid").as_string()))->to_json()));
  CHECK(selected(*f.db, "select out_Knows from #5:0") ==
        json::parse(R"([{"@type":"d","@version":0,"out_Knows":["#6:0","#6:1"]}])"));
  CHECK(graph_problem(*f.db) == "");

  // DELETE VERTEX of two vertices with edges between them and to others.
  commit_ok(*f.db, planned(*f.db, "CREATE EDGE Knows FROM #5:2 TO #5:0"));
  auto d = planned(*f.db, "DELETE VERTEX Person WHERE name in ['ann', 'c']");
  commit_ok(*f.db, d);
  CHECK(json::parse(d.answer) == json::parse(R"([{"@type":"d","@version":0,"value":2}])"));
  CHECK(graph_problem(*f.db) == "");
  CHECK(selected(*f.db, "select name, out_Knows, in_Knows from Person") ==
        json::parse(R"([{"@type":"d","@version":0,"name":"a","out_Knows":["#6:2"],"in_Knows":null},
                        {"@type":"d","@version":0,"name":"b","out_Knows":[],"in_Knows":["#6:2"]}])"));
  CHECK(f.db->check().ok());
}

TEST_CASE("write: refused statements name the problem, with a kind the REST layer can map") {
  fixture f;
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc (name) VALUES ('a'), ('b'), ('c')"));
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'ann'"));
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'bob'"));
  commit_ok(*f.db, planned(*f.db, "CREATE EDGE Knows FROM #5:0 TO #5:1"));
  write_limits small, two;
  small.ops_max = 3;
  two.ops_max = 2;
  params rid_param;
  rid_param.positional = {42};
  struct row {
    const char* sql;
    write_error_kind kind;
    const char* fragment;
    const params* p = nullptr;
    const write_limits* limits = nullptr;
  };
  const row rows[] = {
      {"INSERT INTO Nope SET a = 1", write_error_kind::not_found, "Class 'Nope' was not found"},
      {"UPDATE Nope SET a = 1", write_error_kind::not_found, "Class 'Nope' was not found"},
      {"UPDATE cluster:nope SET a = 1", write_error_kind::not_found, "Cluster 'nope' was not found"},
      {"CREATE PROPERTY Doc.x FOO", write_error_kind::invalid, "Unknown property type 'FOO': use one of BOOLEAN"},
      {"CREATE PROPERTY Nope.x STRING", write_error_kind::not_found, "Class 'Nope'"},
      {"INSERT INTO Doc SET a = ?", write_error_kind::invalid, "parameter ?1 (0 positional parameters given)"},
      {"UPDATE Doc SET a = 1 WHERE name = :who", write_error_kind::invalid, "parameter :who"},
      {"CREATE VERTEX Doc", write_error_kind::invalid, "Class 'Doc' is not a vertex class"},
      {"CREATE EDGE Knows FROM #7:0 TO #5:0", write_error_kind::invalid,
       "CREATE EDGE FROM #7:0: the record is of class 'Doc', not a vertex class"},
      {"CREATE EDGE Knows FROM #5:0 TO #5:99", write_error_kind::not_found, "CREATE EDGE TO #5:99: the record was not found"},
      {"CREATE EDGE Doc FROM #5:0 TO #5:1", write_error_kind::invalid, "Class 'Doc' is not an edge class"},
      {"CREATE EDGE Knows FROM (SELECT FROM Person WHERE name = 'nobody') TO #5:1", write_error_kind::not_found,
       "no source vertices"},
      {"CREATE EDGE Knows FROM #5:0 TO (SELECT FROM Person WHERE name = 'nobody')", write_error_kind::not_found,
       "no target vertices"},
      {"CREATE EDGE E FROM ? TO #5:0", write_error_kind::invalid, "a RID string", &rid_param},
      {"CREATE EDGE Knows FROM #5:0 TO #5:1 SET out = 'x'", write_error_kind::invalid, "'out' and 'in'"},
      {"CREATE VERTEX Person SET out_Knows = []", write_error_kind::invalid, "CREATE EDGE sets it"},
      {"UPDATE Person SET out_Knows = []", write_error_kind::invalid, "UPDATE cannot change 'out_Knows' of #5:0"},
      {"UPDATE Person REMOVE in_Knows WHERE name = 'bob'", write_error_kind::invalid, "cannot change 'in_Knows' of #5:1"},
      {"UPDATE Knows SET `in` = '#5:0'", write_error_kind::invalid, "cannot change 'in'"},
      {"DELETE FROM Person", write_error_kind::invalid, "use DELETE VERTEX"},
      {"DELETE FROM V", write_error_kind::invalid, "use DELETE VERTEX"},
      {"DELETE VERTEX Doc", write_error_kind::invalid, "Class 'Doc' is not a vertex class"},
      {"DELETE VERTEX #7:0", write_error_kind::invalid, "not a vertex"},
      {"DELETE EDGE #5:0", write_error_kind::invalid, "not an edge"},
      {"DELETE EDGE Doc", write_error_kind::invalid, "not an edge class"},
      {"CREATE CLASS Doc", write_error_kind::duplicate, "Class 'Doc' already exists"},
      {"CREATE CLASS doc", write_error_kind::duplicate, "Class 'Doc' already exists"},
      {"CREATE CLASS X EXTENDS Nope", write_error_kind::not_found, "Class 'Nope' was not found"},
      {"CREATE CLASS `a b`", write_error_kind::invalid, "letters, digits or '_'"},
      {"DROP CLASS V", write_error_kind::invalid, "built in"},
      {"DROP CLASS Doc", write_error_kind::invalid, "has 3 records: delete them first"},
      {"DROP CLASS Nope", write_error_kind::not_found, "Class 'Nope'"},
      {"CREATE INDEX i ON Nope (a) UNIQUE", write_error_kind::not_found, "Class 'Nope'"},
      {"INSERT INTO Doc CLUSTER person SET a = 1", write_error_kind::invalid, "default cluster only"},
      {"INSERT INTO Doc CLUSTER nope SET a = 1", write_error_kind::not_found, "Cluster 'nope'"},
      {"UPDATE #7:0 SET a = 1 UPSERT", write_error_kind::invalid, "UPSERT needs a class"},
      {"UPDATE Doc INCREMENT name = 1", write_error_kind::invalid, "holds a string there, not a number"},
      {"UPDATE Doc INCREMENT n = 'x'", write_error_kind::invalid, "needs a number, not a string"},
      {"UPDATE Doc ADD name = 1", write_error_kind::invalid, "not an array"},
      {"SELECT FROM Doc", write_error_kind::invalid, "a query changes nothing"},
      {"INSERT INTO Doc SET", write_error_kind::syntax, "Syntax error at position 19: expected a field name"},
      {"UPDATE Doc SET n = 1", write_error_kind::limit, "changes more than 2 records", nullptr, &two},
      {"DELETE FROM Doc", write_error_kind::limit, "add a LIMIT or split it", nullptr, &two},
      {"INSERT INTO Doc (a) VALUES (1), (2), (3), (4)", write_error_kind::limit, "more than 3", nullptr, &small},
      {"CREATE EDGE Knows FROM [#5:0, #5:1] TO [#5:0, #5:1]", write_error_kind::limit, "2 x 2 edges", nullptr, &small},
      // One edge, but three records change (the edge and both vertices).
      {"CREATE EDGE Knows FROM #5:0 TO #5:1", write_error_kind::limit, "more than 2", nullptr, &two},
  };
  for (auto& r : rows) {
    INFO(r.sql);
    auto e = refused(*f.db, r.sql, r.p ? *r.p : params{}, r.limits ? *r.limits : write_limits{});
    CHECK(to_string(e.kind) == std::string(to_string(r.kind)));
    CHECK_MESSAGE(e.message.find(r.fragment) != std::string::npos, e.message);
  }
  // Nothing above changed anything.
  CHECK(selected(*f.db, "select count(*) as c from V") == json::parse(R"([{"@type":"d","@version":0,"c":2}])"));
}

TEST_CASE("write: parameters by position and by name, never spliced into the text") {
  fixture f;
  params p;
  p.positional = {json::value("it's"), json::value(5)};
  auto a = planned(*f.db, "INSERT INTO Doc SET name = ?, n = ?", p);
  commit_ok(*f.db, a);
  params q;
  q.named = {{"who", json::value("it's")}, {"by", json::value(2)}};
  commit_ok(*f.db, planned(*f.db, "UPDATE Doc INCREMENT n = :by WHERE name = :who", q));
  CHECK(selected(*f.db, "select name, n from Doc") == json::parse(R"([{"@type":"d","@version":0,"name":"it's","n":7}])"));
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'x'"));
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'y'"));
  params ends;
  ends.named = {{"from", json::value("#5:0")}, {"to", json::array{"#5:1", "#5:0"}}};
  auto e = planned(*f.db, "CREATE EDGE Knows FROM :from TO :to", ends);
  CHECK(json::parse(e.answer).as_array().size() == 2);
  commit_ok(*f.db, e);
  CHECK(graph_problem(*f.db) == "");
}

TEST_CASE("write: plans made one after another compose; a plan made before another's change fails on its version") {
  fixture f;
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc SET name = 'a', n = 1"));
  // The owner plans each statement over the state the previous one left.
  commit_ok(*f.db, planned(*f.db, "UPDATE Doc INCREMENT n = 1"));
  commit_ok(*f.db, planned(*f.db, "UPDATE Doc INCREMENT n = 1"));
  CHECK(selected(*f.db, "select n, @version from Doc") == json::parse(R"([{"@type":"d","@version":0,"n":3,"@version":3}])"));

  // Two plans over one state: the second, applied after the first, is refused
  // (expected_version) instead of overwriting the first's change.
  auto first = planned(*f.db, "UPDATE Doc INCREMENT n = 1");
  auto stale = planned(*f.db, "UPDATE Doc SET n = 0");
  REQUIRE(stale.ops.size() == 1);
  CHECK(stale.ops[0].expected_version == 3);
  commit_ok(*f.db, first);
  auto res = f.db->apply(stale.ops);
  REQUIRE(res.size() == 1);
  CHECK(res[0].code == storage::errc::version_conflict);
  CHECK(selected(*f.db, "select n from Doc") == json::parse(R"([{"@type":"d","@version":0,"n":4}])"));

  // The same for a vertex that a stale CREATE EDGE would update.
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'a'"));
  auto edge1 = planned(*f.db, "CREATE EDGE Knows FROM #5:0 TO #5:0");
  auto edge2 = planned(*f.db, "CREATE EDGE Knows FROM #5:0 TO #5:0");
  commit_ok(*f.db, edge1);
  bool refused_one = false;
  for (auto& r : f.db->apply(edge2.ops)) refused_one = refused_one || r.code != storage::errc::ok;
  CHECK(refused_one);
}

TEST_CASE("write: schema statements are one schema op each, as storage's op comment lays them out") {
  fixture f;
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc SET name = 'a'"));
  auto prop = planned(*f.db, "CREATE PROPERTY Doc.age integer");
  REQUIRE(prop.ops.size() == 1);
  CHECK(prop.ops[0].k == storage::op::kind::create_property);
  CHECK(prop.ops[0].class_name == "Doc");
  CHECK(json::parse(prop.ops[0].fields) == json::parse(R"({"name":"age","type":"INTEGER"})"));
  CHECK(planned(*f.db, "CREATE PROPERTY Person.friends LINKLIST Person").ops.size() == 1);

  auto idx = planned(*f.db, "CREATE INDEX Doc.name UNIQUE");
  REQUIRE(idx.ops.size() == 1);
  CHECK(idx.ops[0].k == storage::op::kind::create_index);
  CHECK(idx.ops[0].class_name == "Doc");
  CHECK(json::parse(idx.ops[0].fields) == json::parse(R"({"name":"Doc.name","fields":["name"],"type":"UNIQUE"})"));
  CHECK(json::parse(idx.answer) == json::parse(R"([{"@type":"d","@version":0,"value":1}])"));
  auto idx2 = planned(*f.db, "create index ByNameAge on Person (name, age) notunique");
  CHECK(json::parse(idx2.ops[0].fields) == json::parse(R"({"name":"ByNameAge","fields":["name","age"],"type":"NOTUNIQUE"})"));
  CHECK(idx2.ops[0].class_name == "Person");

  commit_ok(*f.db, idx);
  auto drop = planned(*f.db, "DROP INDEX Doc.name");
  CHECK(drop.ops[0].k == storage::op::kind::drop_index);
  CHECK(json::parse(drop.ops[0].fields) == json::parse(R"({"name":"Doc.name"})"));

  commit_ok(*f.db, planned(*f.db, "CREATE CLASS Empty EXTENDS Doc"));
  auto dc = planned(*f.db, "DROP CLASS Empty");
  CHECK(dc.ops[0].k == storage::op::kind::drop_class);
  CHECK(dc.ops[0].class_name == "Empty");
  CHECK(refused(*f.db, "DROP CLASS Doc").message.find("subclass 'Empty'") != std::string::npos);
  auto cc = planned(*f.db, "CREATE CLASS Song EXTENDS V");
  CHECK(cc.ops[0].k == storage::op::kind::create_class);
  CHECK(cc.ops[0].superclass == "V");
}

TEST_CASE("write: index keys, OrientDB's duplicate key message, property types, statement kinds") {
  json::object doc{{"name", "Jay"}, {"age", 3}, {"none", nullptr}};
  CHECK(index_key({"name"}, doc) == std::optional<std::vector<json::value>>({json::value("Jay")}));
  CHECK(index_key({"age", "x"}, doc) == std::optional<std::vector<json::value>>({json::value(3), json::value()}));
  CHECK(!index_key({"none", "x"}, doc));
  CHECK(duplicate_key_message({9, 1}, {json::value("Jay")}, "Person.name", {9, 0}) ==
        "Cannot index record #9:1: found duplicated key 'Jay' in index 'Person.name' previously assigned to the record #9:0");
  CHECK(duplicate_key_message({9, 1}, {json::value(1), json::value("a")}, "ix", {9, 0}).find("key '[1, a]'") !=
        std::string::npos);
  CHECK(storage_code(write_error_kind::not_found) == storage::errc::not_found);
  CHECK(storage_code(write_error_kind::duplicate) == storage::errc::duplicate_key);
  CHECK(storage_code(write_error_kind::limit) == storage::errc::invalid_argument);
  CHECK(known_property_type("LINKLIST"));
  CHECK(!known_property_type("integer"));  // the parser upper-cases
  CHECK(!known_property_type("VARCHAR"));

  auto kind = [](std::string_view sql) {
    auto r = parse(sql);
    REQUIRE(std::holds_alternative<statement>(r));
    auto& s = std::get<statement>(r);
    return std::pair{std::string(statement_kind(s)), is_write(s)};
  };
  CHECK(kind("select from V") == std::pair{std::string("select"), false});
  CHECK(kind("insert into V set a = 1") == std::pair{std::string("insert"), true});
  CHECK(kind("delete vertex V") == std::pair{std::string("delete vertex"), true});
  CHECK(kind("create edge from #1:1 to #1:2") == std::pair{std::string("create edge"), true});
  CHECK(kind("drop index x") == std::pair{std::string("drop index"), true});
  CHECK(kind("explain select from V where a = 1") == std::pair{std::string("explain"), false});
  CHECK(kind("traverse out() from #1:1") == std::pair{std::string("query"), false});
}

TEST_CASE("write: the graph checker sees a broken graph") {
  fixture f;
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'a'"));
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'b'"));
  commit_ok(*f.db, planned(*f.db, "CREATE EDGE Knows FROM #5:0 TO #5:1"));
  REQUIRE(graph_problem(*f.db) == "");
  // An edge removed behind the planner's back leaves its RID in both vertices.
  REQUIRE(apply_one(*f.db, remove_op({6, 0})).code == storage::errc::ok);
  CHECK(graph_problem(*f.db).find("names a dead edge") != std::string::npos);
  // An edge whose target does not list it.
  REQUIRE(apply_one(*f.db, update_op({5, 0}, R"({"name":"a"})")).code == storage::errc::ok);
  REQUIRE(apply_one(*f.db, update_op({5, 1}, R"({"name":"b"})")).code == storage::errc::ok);
  REQUIRE(apply_one(*f.db, create_op("Knows", R"({"out":"#5:0","in":"#5:1"})")).code == storage::errc::ok);
  CHECK(graph_problem(*f.db).find("does not list it") != std::string::npos);
}

TEST_CASE("write: seeded random graph statements keep every edge and its vertices consistent") {
  uint64_t seed = 7;
  if (const char* s = std::getenv("TROUPE_SEED")) seed = static_cast<uint64_t>(parse_int(s, 0, INT64_MAX).value_or(7));
  INFO("seed=" << seed << " (replay with TROUPE_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  auto below = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  fixture f;
  commit_ok(*f.db, planned(*f.db, "CREATE CLASS Likes EXTENDS E"));
  auto some_vertex = [&]() -> std::string {
    auto live = selected(*f.db, "select @rid from V").as_array();
    if (live.empty()) return "#5:0";  // absent: the statement is refused or matches nothing
    return std::string(live[below(live.size())].at("@rid").as_string());
  };
  auto some_edge = [&]() -> std::string {
    auto live = selected(*f.db, "select @rid from E").as_array();
    if (live.empty()) return "#6:0";
    return std::string(live[below(live.size())].at("@rid").as_string());
  };
  int applied = 0, refused_count = 0;
  for (int step = 0; step < 300; ++step) {
    std::string cls = below(2) ? "Knows" : "Likes";
    std::string sql;
    switch (below(8)) {
      case 0:
      case 1: sql = cat("CREATE VERTEX Person SET n = ", step); break;
      case 2:
      case 3: sql = cat("CREATE EDGE ", cls, " FROM ", some_vertex(), " TO ", some_vertex(), " SET s = ", step); break;
      case 4: sql = cat("CREATE EDGE ", cls, " FROM [", some_vertex(), ", ", some_vertex(), "] TO [", some_vertex(), ", ",
                        some_vertex(), "]"); break;
      case 5: sql = below(2) ? cat("DELETE EDGE ", some_edge()) : cat("DELETE EDGE ", cls, " FROM ", some_vertex()); break;
      case 6: sql = below(3) ? cat("DELETE VERTEX ", some_vertex()) : cat("DELETE VERTEX Person WHERE n % 7 = ", below(7)); break;
      case 7: sql = cat("UPDATE Person SET m = ", step, " WHERE n % 5 = ", below(5)); break;
    }
    CAPTURE(sql);
    auto r = plan_sql(*f.db, sql);
    if (auto* e = std::get_if<write_error>(&r)) {
      // Only the absent records the generator may name.
      CHECK_MESSAGE(e->kind == write_error_kind::not_found, e->message);
      ++refused_count;
      continue;
    }
    commit_ok(*f.db, std::get<write_plan>(r));
    ++applied;
    auto problem = graph_problem(*f.db);
    if (!problem.empty()) FAIL_CHECK(problem);
  }
  MESSAGE("seed=" << seed << " applied=" << applied << " refused=" << refused_count << " vertices="
                    << json::serialize(selected(*f.db, "select count(*) as c from V")) << " edges="
                    << json::serialize(selected(*f.db, "select count(*) as c from E")));
  CHECK(applied > 200);
  CHECK(f.db->check().ok());
}

TEST_CASE("write: seeded mutations of write statements are parsed and planned without a crash") {
  fixture f;
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc (name, n) VALUES ('a', 1), ('b', 2)"));
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'ann'"));
  commit_ok(*f.db, planned(*f.db, "CREATE VERTEX Person SET name = 'bob'"));
  commit_ok(*f.db, planned(*f.db, "CREATE EDGE Knows FROM #5:0 TO #5:1"));
  const std::vector<std::string> seeds = {
      "INSERT INTO Doc SET name = 'x', n = 1 RETURN @rid",
      "INSERT INTO Doc (name, n) VALUES ('y', 2), ('z', 3)",
      R"(INSERT INTO Doc CONTENT {"name": "w", "tags": [1, 2]})",
      "INSERT INTO Doc FROM (SELECT FROM Doc WHERE n > 1)",
      "UPDATE Doc SET n = n + 1 INCREMENT k = 2 ADD t = 'x' REMOVE o UPSERT RETURN AFTER @this WHERE name = 'a' LIMIT 5",
      R"(UPDATE #7:0 MERGE {"m": [1, {"b": 2}]} RETURN BEFORE)",
      "DELETE FROM Doc WHERE n = 2 LIMIT 1",
      "DELETE VERTEX Person WHERE name = 'bob'",
      "DELETE EDGE Knows FROM #5:0 TO [#5:1, #5:0]",
      "DELETE EDGE #6:0",
      "CREATE VERTEX Person SET name = 'cy'",
      "CREATE EDGE Knows FROM (SELECT FROM Person WHERE name = 'ann') TO #5:1 CONTENT {\"since\": 1}",
      "CREATE CLASS Song EXTENDS V",
      "CREATE PROPERTY Person.age INTEGER",
      "CREATE INDEX Person.name ON Person (name) UNIQUE",
      "DROP INDEX Person.name",
  };
  std::mt19937_64 rng(20240602);
  auto below = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  const std::vector<std::string> tokens = {"#5:0", "#6:0", "#7:1", "#5:99", "Person", "Doc", "V", "E", "Knows", "(",
                                           ")", "[", "]", ",", "=", "?", ":x", "{", "}", "'", "SET", "WHERE",
                                           "UPSERT", "RETURN", "FROM", "TO", "LIMIT", "-1", "null"};
  int planned_ok = 0;
  for (int m = 0; m < 3000; ++m) {
    std::string s = seeds[below(seeds.size())];
    for (int k = 0, edits = 1 + static_cast<int>(below(3)); k < edits; ++k) {
      size_t at = below(s.size() + 1);
      switch (below(3)) {
        case 0: if (at < s.size()) s.erase(at, 1 + below(3)); break;
        case 1: s.insert(at, " " + tokens[below(tokens.size())] + " "); break;
        case 2: if (at < s.size()) s[at] = static_cast<char>(rng() & 0xff); break;
      }
    }
    auto r = plan_sql(*f.db, s);
    if (auto* e = std::get_if<write_error>(&r)) {
      if (e->message.empty()) FAIL_CHECK("empty message for " << s);
    } else {
      ++planned_ok;
    }
  }
  MESSAGE("planned=" << planned_ok);
  CHECK(planned_ok > 0);
}

// ---- UNIQUE indexes and property types against real storage ----------------

namespace {

// Person (cluster 5) with a UNIQUE index on key, holding 'a' (#5:0) and 'b' (#5:1).
struct unique_fixture : fixture {
  unique_fixture() {
    commit_ok(*db, planned(*db, "CREATE PROPERTY Person.key STRING"));
    commit_ok(*db, planned(*db, "CREATE INDEX Person.key ON Person (key) UNIQUE"));
    REQUIRE(db->index_by_name("Person.key"));
    REQUIRE(db->index_by_name("Person.key")->unique);
    commit_ok(*db, planned(*db, "INSERT INTO Person SET key = 'a', n = 1"));
    commit_ok(*db, planned(*db, "INSERT INTO Person SET key = 'b', n = 2"));
    REQUIRE(db->index_find("Person.key", {json::value("a")}, 10) == std::vector<rid>{rid{5, 0}});
  }
};

const char* const duplicate_a =
    "Cannot index record #5:2: found duplicated key 'a' in index 'Person.key' previously assigned to the record #5:0";

}  // namespace

TEST_CASE("write: UNIQUE index: an INSERT of a key a record holds is refused with OrientDB's message") {
  unique_fixture f;
  auto e = refused(*f.db, "INSERT INTO Person SET key = 'a'");
  CHECK(e.kind == write_error_kind::duplicate);
  CHECK(e.message == duplicate_a);
  // Storage refuses it too, should a plan get past the planner (made before the key was taken).
  auto early = planned(*f.db, "INSERT INTO Person SET key = 'c'");
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Person SET key = 'c'"));
  auto r = commit(*f.db, early);
  REQUIRE(r.size() == 1);
  CHECK(r[0].code != storage::errc::ok);
  // A parameter, and a subclass of the indexed class, meet the same index.
  params p;
  p.positional.emplace_back("b");
  commit_ok(*f.db, planned(*f.db, "CREATE CLASS Student EXTENDS Person"));
  auto sub = refused(*f.db, "INSERT INTO Student SET key = ?", p);
  CHECK(sub.kind == write_error_kind::duplicate);
  CHECK(sub.message.find("previously assigned to the record #5:1") != std::string::npos);
  // Another key, or none, is fine.
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Person SET key = 'd'"));
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Person SET n = 9"));
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Person SET n = 10"));  // two records without a key: not indexed
  CHECK(f.db->check().ok());
}

TEST_CASE("write: UNIQUE index: an UPDATE to a held key is refused; to its own key or a free one it is not") {
  unique_fixture f;
  auto e = refused(*f.db, "UPDATE Person SET key = 'a' WHERE key = 'b'");
  CHECK(e.kind == write_error_kind::duplicate);
  CHECK(e.message ==
        "Cannot index record #5:1: found duplicated key 'a' in index 'Person.key' previously assigned to the record #5:0");
  commit_ok(*f.db, planned(*f.db, "UPDATE Person SET key = 'a', n = 5 WHERE key = 'a'"));  // its own key
  commit_ok(*f.db, planned(*f.db, "UPDATE Person SET key = 'z' WHERE key = 'b'"));
  commit_ok(*f.db, planned(*f.db, "UPDATE Person SET key = 'b' WHERE key = 'a'"));  // 'b' is free again
  CHECK(selected(*f.db, "SELECT key, n FROM Person ORDER BY key") ==
        json::parse(R"([{"@type":"d","@version":0,"key":"b","n":5},{"@type":"d","@version":0,"key":"z","n":2}])"));
  // Two records swapping keys in one plan: judged by their new state, and storage agrees.
  CHECK(refused(*f.db, "UPDATE Person SET key = 'same'").kind == write_error_kind::duplicate);
  CHECK(f.db->check().ok());
}

TEST_CASE("write: UNIQUE index: UPSERT on the key finds the existing record through the index") {
  unique_fixture f;
  auto p = planned(*f.db, "UPDATE Person SET n = 7 UPSERT WHERE key = 'a'");
  REQUIRE(p.ops.size() == 1);
  CHECK(p.ops[0].k == storage::op::kind::update);
  CHECK(p.ops[0].id == rid{5, 0});
  commit_ok(*f.db, p);
  auto created = planned(*f.db, "UPDATE Person SET n = 8 UPSERT WHERE key = 'new'");
  REQUIRE(created.ops.size() == 1);
  CHECK(created.ops[0].k == storage::op::kind::create);
  commit_ok(*f.db, created);
  // Again: now it finds the record it created.
  auto again = planned(*f.db, "UPDATE Person SET n = 9 UPSERT WHERE key = 'new'");
  REQUIRE(again.ops.size() == 1);
  CHECK(again.ops[0].k == storage::op::kind::update);
  commit_ok(*f.db, again);
  CHECK(selected(*f.db, "SELECT n FROM Person WHERE key = 'new'") ==
        json::parse(R"([{"@type":"d","@version":0,"n":9}])"));
  CHECK(f.db->check().ok());
}

TEST_CASE("write: UNIQUE index: two creates of one key in one plan are refused; NOTUNIQUE allows them") {
  unique_fixture f;
  auto e = refused(*f.db, "INSERT INTO Person (key) VALUES ('x'), ('x')");
  CHECK(e.kind == write_error_kind::duplicate);
  CHECK(e.message ==
        "Cannot index record #5:3: found duplicated key 'x' in index 'Person.key' previously assigned to the record #5:2");
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Person (key) VALUES ('x'), ('y')"));

  commit_ok(*f.db, planned(*f.db, "CREATE INDEX Doc.tag ON Doc (tag) NOTUNIQUE"));
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc (tag) VALUES ('t'), ('t')"));
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc SET tag = 't'"));
  CHECK(f.db->index_find("Doc.tag", {json::value("t")}, 10).size() == 3);
  CHECK(f.db->check().ok());
}

TEST_CASE("write: CREATE INDEX UNIQUE over duplicate data, DROP INDEX of no index, CREATE PROPERTY over wrong data") {
  fixture f;
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc (tag, n) VALUES ('t', 1), ('t', 'one')"));
  // The planner leaves the scan to storage, which refuses the whole entry.
  auto r = commit(*f.db, planned(*f.db, "CREATE INDEX Doc.tag ON Doc (tag) UNIQUE"));
  REQUIRE(r.size() == 1);
  CHECK(r[0].code == storage::errc::duplicate_key);
  CHECK(r[0].message.find("found duplicated key 't' in index 'Doc.tag'") != std::string::npos);
  CHECK(!f.db->index_by_name("Doc.tag"));

  auto drop = refused(*f.db, "DROP INDEX Doc.nothing");
  CHECK(drop.kind == write_error_kind::not_found);
  CHECK(drop.message.find("Doc.nothing") != std::string::npos);

  auto prop = commit(*f.db, planned(*f.db, "CREATE PROPERTY Doc.n INTEGER"));
  REQUIRE(prop.size() == 1);
  CHECK(prop[0].code == storage::errc::invalid_argument);
  CHECK(prop[0].message.find("The field 'Doc.n' has been declared as INTEGER but the value is not compatible: \"one\"") !=
        std::string::npos);
  CHECK(f.db->properties("Doc").empty());
  // With the property in place, a wrong value is refused when applied.
  commit_ok(*f.db, planned(*f.db, "CREATE PROPERTY Doc.tag STRING"));
  auto bad = commit(*f.db, planned(*f.db, "INSERT INTO Doc SET tag = 3"));
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].code == storage::errc::invalid_argument);
  CHECK(f.db->check().ok());
}

TEST_CASE("write: UNIQUE index: the planner keys records as storage does (2 = 2.0; arrays are not indexed)") {
  fixture f;
  commit_ok(*f.db, planned(*f.db, "CREATE INDEX Doc.v ON Doc (v) UNIQUE"));
  auto e = refused(*f.db, "INSERT INTO Doc (v) VALUES (2), (2.0)");
  CHECK(e.kind == write_error_kind::duplicate);
  // (A real shows as Boost.JSON prints it, 2E0, in storage's message too.)
  CHECK(e.message.starts_with("Cannot index record #7:1: found duplicated key '"));
  CHECK(e.message.ends_with("' in index 'Doc.v' previously assigned to the record #7:0"));
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc SET v = 2"));
  CHECK(refused(*f.db, "INSERT INTO Doc SET v = 2.0").kind == write_error_kind::duplicate);
  // Storage leaves a record whose indexed field is an array out of the index,
  // so two of them hold no key twice.
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc (v) VALUES (['q']), (['q'])"));
  CHECK(f.db->check().ok());
  // A composite key reads as storage writes it.
  commit_ok(*f.db, planned(*f.db, "CREATE INDEX Doc.ab ON Doc (a, b) UNIQUE"));
  commit_ok(*f.db, planned(*f.db, "INSERT INTO Doc SET a = 1, b = 'x'"));
  CHECK(refused(*f.db, "INSERT INTO Doc SET a = 1, b = 'x'").message.find("key '[1, x]'") != std::string::npos);
  CHECK(refused(*f.db, "INSERT INTO Doc SET a = 1.0, b = 'x'").kind == write_error_kind::duplicate);
}
