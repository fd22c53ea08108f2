// The REST API over real loopback sockets against a real node (actor system,
// RocksDB on disk, Beast server).
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <map>

#include "actors/node.hpp"
#include "actors/rest_api.hpp"
#include "src/config/password.hpp"
#include "src/http/server.hpp"
#include "test/http/test_client.hpp"
#include "test/support/base64.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/tls.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {


// A running node on a private port range, with root's password known.
struct rest_node {
  test::temp_dir home;
  logger log{"rest", std::getenv("TROUPE_TEST_LOG") ? logger::console_sink() : nullptr};
  std::unique_ptr<node> n;
  std::string root_pw;

  // `users`: more server users, as the config file would hold them.
  // `prepare_home`: called on the empty home before the node reads it.
  explicit rest_node(bool demo = false, const std::vector<user_config>& users = {},
                     const std::function<void(const fs::path&)>& prepare_home = {}) {
    if (prepare_home) prepare_home(home.path());
    auto o = test::home_options(home.path(), "rest1");
    auto s = prepare_server(o);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
    REQUIRE(s->generated_root_password.has_value());
    root_pw = *s->generated_root_password;
    for (auto& u : users) s->server.users.push_back(u);
    for (auto& l : s->server.listeners)
      if (l.protocol == "http") l.ports = {23480, 23490};
    // A private cluster: never join a node some other test or person started.
    s->hazelcast.group_name = "troupe-rest-test";
    s->hazelcast.port = 23434;
    s->hazelcast.members = {member_address{"127.0.0.1", {23434, 23435}}};
    node_options no{*s, &log};
    no.create_demo = demo;
    n = std::make_unique<node>(std::move(no));
    auto st = n->start();
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().render()));
  }
  uint16_t port() const { return n->http_port(); }
  std::string root() const { return "Authorization: Basic " + test::base64("root:" + root_pw) + "\r\n"; }
};

struct reply {
  int status = 0;
  std::string body;
  test::raw_response raw;
  json::value js() const {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    REQUIRE_MESSAGE(!ec, "not JSON: " << body);
    return v;
  }
};

reply call(test::test_client& c, std::string_view method, std::string_view target, std::string_view body,
           std::string_view headers) {
  REQUIRE(c.send(test::make_request(method, target, body, headers)));
  auto r = c.read_response(10s, method == "HEAD");
  REQUIRE_MESSAGE(r.has_value(), "no response to " << method << " " << target);
  return reply{r->status, r->body, *r};
}

reply call(uint16_t port, std::string_view method, std::string_view target, std::string_view body = {},
           std::string_view headers = {}) {
  test::test_client c(port);
  REQUIRE(c.connected());
  return call(c, method, target, body, headers);
}

// Checks OrientDB's error shape and returns its content.
std::string error_content(const reply& r) {
  auto v = r.js();
  auto& e = v.at("errors").as_array().at(0).as_object();
  CHECK(e.at("code").as_int64() == r.status);
  CHECK(!e.at("reason").as_string().empty());
  return std::string(e.at("content").as_string());
}

}  // namespace

TEST_CASE("rest: authentication and permissions") {
  rest_node t;
  auto guest = "Authorization: Basic " + test::base64("guest:guest") + "\r\n";
  auto r = call(t.port(), "GET", "/listDatabases");
  CHECK(r.status == 401);
  CHECK(r.raw.header("www-authenticate") == "Basic realm=\"OrientDB Server\"");
  error_content(r);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, "Authorization: Basic " + test::base64("root:wrong") + "\r\n").status ==
        401);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, "Authorization: Basic !!!\r\n").status == 401);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, "Authorization: Bearer abc\r\n").status == 401);
  r = call(t.port(), "GET", "/listDatabases", {}, guest);
  CHECK(r.status == 200);
  CHECK(r.js().at("databases").as_array().empty());
  // guest may only list databases.
  CHECK(call(t.port(), "POST", "/database/x/plocal", {}, guest).status == 403);
  CHECK(call(t.port(), "GET", "/server", {}, guest).status == 403);
  REQUIRE(call(t.port(), "POST", "/database/demo/plocal", {}, t.root()).status == 200);
  r = call(t.port(), "GET", "/document/demo/%239:0", {}, guest);
  CHECK(r.status == 403);
  CHECK(error_content(r).find("guest") != std::string::npos);
  CHECK(call(t.port(), "DELETE", "/database/demo", {}, guest).status == 403);
}

TEST_CASE("rest: users whose stored passwords are OrientDB 2.2 PBKDF2 hashes log in; wrong passwords do not") {
  // As OrientDB 2.2 writes them: SHA-256 (hashed here), and older Java's SHA-1
  // ("guest", 24-byte hash and 16-byte salt, computed independently).
  const std::string sha1_guest =
      "{PBKDF2WithHmacSHA1}E6DCE5D99ADAAD0D887954B86FC4AE7D150E47C65316A22C:6465666768696A6B6C6D6E6F70717273:1000";
  const auto hashed = hash_password("hashed-pw");
  rest_node t(false, {user_config{"reader", hashed, "server.listDatabases"},
                      user_config{"old", sha1_guest, "server.listDatabases"}});
  auto basic = [](const std::string& user, const std::string& pw) {
    return "Authorization: Basic " + test::base64(user + ":" + pw) + "\r\n";
  };
  // The root user the first start generated is stored hashed too.
  CHECK(call(t.port(), "GET", "/server", {}, t.root()).status == 200);
  // Right passwords, again and again (PBKDF2 once, then the cache), over one connection.
  {
    test::test_client c(t.port());
    REQUIRE(c.connected());
    for (int i = 0; i < 20; ++i)
      CHECK(call(c, "GET", "/listDatabases", {}, basic("reader", "hashed-pw")).status == 200);
  }
  CHECK(call(t.port(), "GET", "/listDatabases", {}, basic("old", "guest")).status == 200);
  // Permissions still apply to a hashed user.
  CHECK(call(t.port(), "GET", "/server", {}, basic("reader", "hashed-pw")).status == 403);
  // Wrong passwords, after the right one was remembered: refused every time.
  CHECK(call(t.port(), "GET", "/listDatabases", {}, basic("reader", "hashed-pw ")).status == 401);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, basic("reader", "")).status == 401);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, basic("reader", hashed)).status == 401);  // the stored text
  CHECK(call(t.port(), "GET", "/listDatabases", {}, basic("old", "Guest")).status == 401);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, basic("nobody", "hashed-pw")).status == 401);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, basic("reader", "hashed-pw")).status == 200);
}

TEST_CASE("rest: databases are created, described, listed and dropped") {
  rest_node t;
  auto r = call(t.port(), "POST", "/database/shop/plocal", {}, t.root());
  REQUIRE(r.status == 200);
  auto info = r.js();
  bool has_v = false, has_e = false;
  for (auto& c : info.at("classes").as_array()) {
    has_v |= c.at("name").as_string() == "V";
    has_e |= c.at("name").as_string() == "E";
  }
  CHECK(has_v);
  CHECK(has_e);
  CHECK(info.at("clusters").as_array().size() >= 5);
  CHECK(info.at("clusters").as_array().at(0).at("name").as_string() == "internal");
  CHECK(call(t.port(), "POST", "/database/shop/plocal", {}, t.root()).status == 409);
  CHECK(call(t.port(), "POST", "/database/bad%20name/plocal", {}, t.root()).status == 400);
  CHECK(call(t.port(), "POST", "/database/x/memory", {}, t.root()).status == 400);
  r = call(t.port(), "GET", "/listDatabases", {}, t.root());
  CHECK(r.js().at("databases").as_array() == json::array{"shop"});
  r = call(t.port(), "GET", "/database/shop", {}, t.root());
  CHECK(r.status == 200);
  CHECK(r.js().at("currentUser").as_string() == "root");
  r = call(t.port(), "GET", "/server", {}, t.root());
  CHECK(r.status == 200);
  CHECK(r.js().at("storages").as_array().size() == 1);
  CHECK(call(t.port(), "DELETE", "/database/shop", {}, t.root()).status == 204);
  CHECK(!std::filesystem::exists(t.home / "databases" / "shop"));
  CHECK(call(t.port(), "GET", "/database/shop", {}, t.root()).status == 404);
  CHECK(call(t.port(), "DELETE", "/database/shop", {}, t.root()).status == 404);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, t.root()).js().at("databases").as_array().empty());
  // The name is free again.
  CHECK(call(t.port(), "POST", "/database/shop/plocal", {}, t.root()).status == 200);
}

TEST_CASE("rest: documents are created, read, updated with versions and deleted over one keep-alive connection") {
  rest_node t;
  REQUIRE(call(t.port(), "POST", "/database/db/plocal", {}, t.root()).status == 200);
  test::test_client c(t.port());
  REQUIRE(c.connected());
  auto r = call(c, "POST", "/document/db", R"({"@class":"V","name":"Dark Star","performances":219})", t.root());
  REQUIRE(r.status == 201);
  auto doc = r.js().as_object();
  std::string rid(doc.at("@rid").as_string());
  CHECK(rid.rfind("#", 0) == 0);
  CHECK(doc.at("@version").as_int64() == 1);
  CHECK(doc.at("@class").as_string() == "V");
  CHECK(doc.at("name").as_string() == "Dark Star");
  auto path = "/document/db/" + rid.substr(1);  // '#' is optional in paths
  r = call(c, "GET", path, {}, t.root());
  REQUIRE(r.status == 200);
  CHECK(r.js().at("performances").as_int64() == 219);
  CHECK(call(c, "GET", "/document/db/%23" + rid.substr(1), {}, t.root()).status == 200);
  CHECK(call(c, "HEAD", path, {}, t.root()).status == 204);
  // Update with the right version.
  r = call(c, "PUT", path, R"({"@version":1,"name":"Dark Star","performances":220})", t.root());
  REQUIRE(r.status == 200);
  CHECK(r.js().at("@version").as_int64() == 2);
  CHECK(r.js().at("performances").as_int64() == 220);
  // A stale version is refused with OrientDB's message and changes nothing.
  r = call(c, "PUT", path, R"({"@version":1,"name":"overwritten"})", t.root());
  CHECK(r.status == 409);
  CHECK(error_content(r).find("Cannot UPDATE the record " + rid + " because the version is not the latest") !=
        std::string::npos);
  CHECK(error_content(r).find("(db=v2 your=v1)") != std::string::npos);
  CHECK(call(c, "GET", path, {}, t.root()).js().at("name").as_string() == "Dark Star");
  // Partial update merges.
  r = call(c, "PUT", path + "?updateMode=partial", R"({"@version":2,"song_type":"original"})", t.root());
  REQUIRE(r.status == 200);
  CHECK(r.js().at("name").as_string() == "Dark Star");
  CHECK(r.js().at("song_type").as_string() == "original");
  // PUT without a RID in the path takes @rid from the body.
  r = call(c, "PUT", "/document/db", R"({"@rid":")" + rid + R"(","@version":3,"name":"x"})", t.root());
  CHECK(r.status == 200);
  CHECK(r.js().at("@version").as_int64() == 4);
  // Delete.
  CHECK(call(c, "DELETE", path, {}, t.root()).status == 204);
  CHECK(call(c, "GET", path, {}, t.root()).status == 404);
  CHECK(call(c, "HEAD", path, {}, t.root()).status == 404);
  CHECK(call(c, "DELETE", path, {}, t.root()).status == 404);
}

TEST_CASE("rest: classes and cluster browsing") {
  rest_node t;
  REQUIRE(call(t.port(), "POST", "/database/db/plocal", {}, t.root()).status == 200);
  auto r = call(t.port(), "POST", "/class/db/Person", R"({"superClass":"V"})", t.root());
  REQUIRE(r.status == 201);
  CHECK(r.js().at("superClass").as_string() == "V");
  CHECK(call(t.port(), "POST", "/class/db/Person", {}, t.root()).status == 409);
  CHECK(call(t.port(), "GET", "/class/db/Person", {}, t.root()).status == 200);
  CHECK(call(t.port(), "GET", "/class/db/Nobody", {}, t.root()).status == 404);
  for (int i = 0; i < 25; ++i)
    REQUIRE(call(t.port(), "POST", "/document/db", R"({"@class":"Person","n":)" + std::to_string(i) + "}", t.root())
                .status == 201);
  r = call(t.port(), "GET", "/cluster/db/person", {}, t.root());
  REQUIRE(r.status == 200);
  CHECK(r.js().at("schema").at("name").as_string() == "person");
  CHECK(r.js().at("result").as_array().size() == 20);  // OrientDB's default limit
  CHECK(r.js().at("result").as_array().at(0).at("n").as_int64() == 0);
  r = call(t.port(), "GET", "/cluster/db/person/100", {}, t.root());
  CHECK(r.js().at("result").as_array().size() == 25);
  auto info = call(t.port(), "GET", "/database/db", {}, t.root()).js();
  int64_t person_records = -1;
  for (auto& c : info.at("clusters").as_array())
    if (c.at("name").as_string() == "person") person_records = c.at("records").as_int64();
  CHECK(person_records == 25);
}

TEST_CASE("rest: bad requests get their status and OrientDB's error body") {
  rest_node t;
  REQUIRE(call(t.port(), "POST", "/database/db/plocal", {}, t.root()).status == 200);
  auto created = call(t.port(), "POST", "/document/db", R"({"@class":"V","a":1})", t.root()).js();
  std::string rid(created.at("@rid").as_string());
  struct bad {
    std::string name;
    std::string method, target, body;
    int status;
    const char* expect;
  };
  std::vector<bad> table = {
      {"malformed JSON", "POST", "/document/db", R"({"@class":"V",)", 400, "not valid JSON"},
      {"JSON array", "POST", "/document/db", "[1,2]", 400, "must be a JSON object"},
      {"empty body", "POST", "/document/db", "", 400, "body is empty"},
      {"no class", "POST", "/document/db", R"({"a":1})", 400, "no @class"},
      {"class not a string", "POST", "/document/db", R"({"@class":5})", 400, "@class must be a string"},
      {"unknown class", "POST", "/document/db", R"({"@class":"Nope"})", 400, "Nope"},
      {"too deep", "POST", "/document/db", R"({"@class":"V","a":)" + std::string(100, '[') + std::string(100, ']') + "}",
       400, "not valid JSON"},
      {"bad RID", "GET", "/document/db/abc", "", 400, "Invalid record id 'abc'"},
      {"RID with sign", "GET", "/document/db/%23-1:0", "", 400, "Invalid record id"},
      {"RID overflow", "GET", "/document/db/%2399999999:0", "", 400, "Invalid record id"},
      {"RID missing position", "GET", "/document/db/%239:", "", 400, "Invalid record id"},
      {"unknown record", "GET", "/document/db/%239:999", "", 404, "Record #9:999 not found"},
      {"unknown database", "GET", "/document/nodb/%239:0", "", 404, "Database 'nodb' not found"},
      {"unknown command", "GET", "/frobnicate/db", "", 404, "No command"},
      {"wrong method", "PATCH", "/document/db/%239:0", "", 405, "not allowed"},
      {"PUT without version", "PUT", "/document/db/" + rid.substr(1), R"({"a":2})", 400, "no @version"},
      {"PUT with bad version", "PUT", "/document/db/" + rid.substr(1), R"({"@version":"x"})", 400, "@version"},
      {"PUT without RID", "PUT", "/document/db", R"({"@version":1})", 400, "no @rid"},
      {"PUT of a missing record", "PUT", "/document/db/%239:999", R"({"@version":1})", 404, "not found"},
      {"bad updateMode", "PUT", "/document/db/" + rid.substr(1) + "?updateMode=half", R"({"@version":1})", 400,
       "updateMode"},
      {"bad browse limit", "GET", "/cluster/db/v/0", "", 400, "limit"},
      {"unknown cluster", "GET", "/cluster/db/nope", "", 404, "Cluster 'nope' not found"},
      {"database path too short", "GET", "/database", "", 400, "Syntax error"},
      {"delete with bad version", "DELETE", "/document/db/" + rid.substr(1) + "?version=abc", "", 400, "version"},
      {"stale delete", "DELETE", "/document/db/" + rid.substr(1) + "?version=7", "", 409, "Cannot DELETE the record"},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    auto r = call(t.port(), b.method, b.target, b.body, t.root());
    CHECK(r.status == b.status);
    auto content = error_content(r);
    CAPTURE(content);
    CHECK(content.find(b.expect) != std::string::npos);
    if (b.status == 405) CHECK(!r.raw.header("allow").empty());
  }
  // Nothing of the above changed the record.
  auto again = call(t.port(), "GET", "/document/db/" + rid.substr(1), {}, t.root()).js();
  CHECK(again.at("@version").as_int64() == 1);
  CHECK(again.at("a").as_int64() == 1);
}

TEST_CASE("rest: documents survive a node restart") {
  test::temp_dir keep;
  std::string rid;
  std::string pw;
  std::filesystem::path home;
  {
    rest_node t;
    pw = t.root_pw;
    REQUIRE(call(t.port(), "POST", "/database/db/plocal", {}, t.root()).status == 200);
    rid = call(t.port(), "POST", "/document/db", R"({"@class":"V","k":"v"})", t.root()).js().at("@rid").as_string();
    t.n->stop();
    std::filesystem::copy(t.home.path(), keep / "home", std::filesystem::copy_options::recursive);
  }
  startup_options o;
  o.home = keep / "home";
  o.shipped_config_dir = test::shipped_config_dir();
  o.name_inputs.now_ms = [] { return int64_t{1}; };
  auto s = prepare_server(o);
  REQUIRE(s.ok());
  CHECK_FALSE(s->generated_root_password.has_value());  // stored the first time
  for (auto& l : s->server.listeners)
    if (l.protocol == "http") l.ports = {23480, 23490};
  s->hazelcast.group_name = "troupe-rest-test";
  s->hazelcast.port = 23434;
  s->hazelcast.members = {member_address{"127.0.0.1", {23434, 23435}}};
  logger log("restart", nullptr);
  node_options no{*s, &log};
  no.create_demo = false;
  node n(std::move(no));
  REQUIRE(n.start().ok());
  auto r = call(n.http_port(), "GET", "/document/db/" + rid.substr(1), {},
                "Authorization: Basic " + test::base64("root:" + pw) + "\r\n");
  CHECK(r.status == 200);
  CHECK(r.js().at("k").as_string() == "v");
}

TEST_CASE("rest: the demo database is created on an empty home and serves a song with its edges") {
  rest_node t(true);
  auto r = call(t.port(), "GET", "/listDatabases", {}, t.root());
  CHECK(r.js().at("databases").as_array() == json::array{"GratefulDeadConcerts"});
  auto info = call(t.port(), "GET", "/database/GratefulDeadConcerts", {}, t.root()).js();
  int64_t v_records = -1, v_cluster = -1;
  for (auto& c : info.at("classes").as_array())
    if (c.at("name").as_string() == "V") {
      v_records = c.at("records").as_int64();
      v_cluster = c.at("defaultCluster").as_int64();
    }
  CHECK(v_records == 808);
  r = call(t.port(), "GET", "/cluster/GratefulDeadConcerts/v/1000", {}, t.root());
  REQUIRE(r.status == 200);
  std::string song_rid;
  auto page = r.js();
  for (auto& d : page.at("result").as_array())
    if (d.at("type").as_string() == "song" && d.as_object().contains("out_followed_by")) {
      song_rid = d.at("@rid").as_string();
      break;
    }
  REQUIRE(!song_rid.empty());
  r = call(t.port(), "GET", "/document/GratefulDeadConcerts/" + song_rid.substr(1), {}, t.root());
  REQUIRE(r.status == 200);
  auto song = r.js();
  CHECK(song.at("@class").as_string() == "V");
  CHECK(song.as_object().contains("song_type"));
  auto& edges = song.at("out_followed_by").as_array();
  REQUIRE(!edges.empty());
  auto edge = call(t.port(), "GET", "/document/GratefulDeadConcerts/" + std::string(edges[0].as_string()).substr(1), {},
                   t.root())
                  .js();
  CHECK(edge.at("@class").as_string() == "followed_by");
  CHECK(edge.at("out").as_string() == song_rid);
  CHECK(edge.as_object().contains("weight"));
  (void)v_cluster;

  // SQL over REST: the answers agree with what the cluster browse shows.
  int64_t songs = 0, artists = 0;
  for (auto& d : page.at("result").as_array()) {
    auto* type = d.as_object().if_contains("type");
    if (type && type->as_string() == "song") ++songs;
    if (type && type->as_string() == "artist") ++artists;
  }
  auto sql = [&](const std::string& text, std::string limit = "") {
    std::string target = "/query/GratefulDeadConcerts/sql/";  // the client sends it as given: encode spaces
    for (char c : text) target += c == ' ' ? std::string("%20") : std::string(1, c);
    return call(t.port(), "GET", target + (limit.empty() ? "" : "/" + limit), {}, t.root());
  };
  r = sql("select count(*) from V");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.js().at("result").as_array().at(0).at("count").as_int64() == 808);
  r = sql("select count(*) as n from V where type = 'song'");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.js().at("result").as_array().at(0).at("n").as_int64() == songs);
  r = sql("SELECT name FROM V WHERE type = 'artist' ORDER BY name");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto answer = r.js();
  auto& names = answer.at("result").as_array();
  CHECK(names.size() == static_cast<size_t>(std::min<int64_t>(artists, 20)));  // OrientDB's default limit
  for (size_t i = 1; i < names.size(); ++i)
    CHECK(names[i - 1].at("name").as_string() <= names[i].at("name").as_string());
  r = sql("select type, count(*) as n from V group by type order by n desc");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  auto grouped = r.js();
  std::map<std::string, int64_t> per_type;
  for (auto& g : grouped.at("result").as_array())
    if (g.at("type").is_string()) per_type[std::string(g.at("type").as_string())] = g.at("n").as_int64();
  CHECK(per_type["song"] == songs);
  CHECK(per_type["artist"] == artists);
  CHECK(sql("select from V", "5").js().at("result").as_array().size() == 5);
  CHECK(sql("select from V limit 3", "5").js().at("result").as_array().size() == 3);
  r = sql("select from V where");
  CHECK(r.status == 400);
  CHECK(r.body.find("position 19") != std::string::npos);
  CHECK(sql("select from NoSuchClass").status == 400);
  CHECK(sql("select from V", "x").status == 400);

  // POST /command with parameters, as OrientDB's drivers send it.
  auto command = [&](const std::string& body) { return call(t.port(), "POST", "/command/GratefulDeadConcerts/sql", body, t.root()); };
  r = command(R"({"command": "select count(*) as n from V where type = ?", "parameters": ["song"]})");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.js().at("result").as_array().at(0).at("n").as_int64() == songs);
  r = command(R"({"command": "select count(*) as n from V where type = :t", "parameters": {"t": "artist"}})");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.js().at("result").as_array().at(0).at("n").as_int64() == artists);
  r = command("select count(*) as n from V");  // the body as the statement's text
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.js().at("result").as_array().at(0).at("n").as_int64() == 808);
  CHECK(command(R"({"command": 5})").status == 400);
  CHECK(command(R"({"command": "select from V", "parameters": 7})").status == 400);
  CHECK(command("insert into V set a = ").status == 400);  // a syntax error: nothing written
  CHECK(call(t.port(), "GET", "/command/GratefulDeadConcerts/sql", {}, t.root()).status == 405);
}

TEST_CASE("rest: SQL writes through the owner, a UNIQUE index's 409, batches, index and property routes, sessions") {
  rest_node t;
  REQUIRE(call(t.port(), "POST", "/database/shop/plocal", {}, t.root()).status == 200);
  auto command = [&](const std::string& text, json::array params = {}) {
    return call(t.port(), "POST", "/command/shop/sql",
                json::serialize(json::object{{"command", text}, {"parameters", std::move(params)}}), t.root());
  };
  auto ok = [&](const std::string& text, json::array params = {}) {
    auto r = command(text, std::move(params));
    REQUIRE_MESSAGE(r.status == 200, text << ": " << r.status << " " << r.body);
    return r.js().at("result").as_array();
  };
  ok("create class Person extends V");
  ok("create property Person.age INTEGER");
  ok("create index Person.name on Person (name) unique");
  auto created = ok("insert into Person set name = ?, age = ?", {"Jay", 31});
  REQUIRE(created.size() == 1);
  CHECK(created[0].at("@class").as_string() == "Person");
  CHECK(created[0].at("@version").as_int64() == 1);
  auto jay = std::string(created[0].at("@rid").as_string());
  // A write is read back at once (the owner committed it before answering).
  auto found = ok("select from Person where name = 'Jay'");
  REQUIRE(found.size() == 1);
  CHECK(found[0].at("@rid").as_string() == jay);

  // The UNIQUE index refuses a duplicate in OrientDB's words, and nothing is written.
  auto dup = command("insert into Person set name = 'Jay'");
  CHECK(dup.status == 409);
  CHECK(error_content(dup).find("ORecordDuplicatedException: Cannot index record") != std::string::npos);
  CHECK(error_content(dup).find("found duplicated key 'Jay' in index 'Person.name' previously assigned to the record " +
                                jay) != std::string::npos);
  CHECK(ok("select count(*) as n from Person")[0].at("n").as_int64() == 1);
  // A property's type is checked on write.
  CHECK(command("insert into Person set name = 'Ann', age = 'old'").status == 400);
  // UPDATE answers its count; INCREMENT adds.
  CHECK(ok("update Person increment age = 1 where name = 'Jay'")[0].at("value").as_int64() == 1);
  CHECK(ok("select age from Person")[0].at("age").as_int64() == 32);
  // Graph statements: an edge and both of its ends change together.
  auto ann = std::string(ok("create vertex Person set name = 'Ann'")[0].at("@rid").as_string());
  auto edge = ok("create edge E from " + jay + " to " + ann);
  REQUIRE(edge.size() == 1);
  auto knows = ok("select expand(out()) from " + jay);
  REQUIRE(knows.size() == 1);
  CHECK(knows[0].at("name").as_string() == "Ann");
  CHECK(ok("delete vertex " + ann)[0].at("value").as_int64() == 1);
  CHECK(ok("select out() as o from " + jay)[0].at("o").as_array().empty());

  // GET /index and /property.
  auto idx = call(t.port(), "GET", "/index/shop/Person.name/Jay", {}, t.root());
  REQUIRE_MESSAGE(idx.status == 200, idx.body);
  REQUIRE(idx.js().as_array().size() == 1);
  CHECK(idx.js().as_array()[0].at("@rid").as_string() == jay);
  CHECK(call(t.port(), "GET", "/index/shop/Person.name/Nobody", {}, t.root()).js().as_array().empty());
  CHECK(call(t.port(), "GET", "/index/shop/NoIndex/x", {}, t.root()).status == 404);
  CHECK(call(t.port(), "POST", "/property/shop/Person/nick/string", {}, t.root()).status == 201);
  CHECK(call(t.port(), "POST", "/property/shop/Person/x/NOTATYPE", {}, t.root()).status == 400);
  auto props = call(t.port(), "GET", "/property/shop/Person", {}, t.root()).js();
  CHECK(props.at("properties").as_array().size() == 2);

  // A batch is all or nothing: its second create is a duplicate, so its first is not written either.
  auto batch = [&](const std::string& body) { return call(t.port(), "POST", "/batch/shop", body, t.root()); };
  auto b = batch(R"({"transaction":true,"operations":[{"type":"c","record":{"@class":"Person","name":"Bo"}},)"
                 R"({"type":"c","record":{"@class":"Person","name":"Jay"}}]})");
  CHECK(b.status == 409);
  CHECK(ok("select count(*) as n from Person where name = 'Bo'")[0].at("n").as_int64() == 0);
  b = batch(R"({"transaction":true,"operations":[{"type":"c","record":{"@class":"Person","name":"Bo"}},)"
            R"({"type":"c","record":{"@class":"Person","name":"Cy"}}]})");
  REQUIRE_MESSAGE(b.status == 200, b.body);
  CHECK(b.js().at("result").as_array()[0].at("name").as_string() == "Cy");
  CHECK(ok("select count(*) as n from Person")[0].at("n").as_int64() == 3);
  b = batch(R"({"operations":[{"type":"cmd","language":"sql","command":"update Person set seen = true"}]})");
  REQUIRE_MESSAGE(b.status == 200, b.body);
  CHECK(b.js().at("result").as_array()[0].at("value").as_int64() == 3);
  CHECK(batch(R"({"operations":[{"type":"script","language":"javascript","script":"x"}]})").status == 400);

  // Sessions: /connect gives OSESSIONID, which then stands for the credentials.
  auto c = call(t.port(), "GET", "/connect/shop", {}, t.root());
  CHECK(c.status == 204);
  auto cookie = c.raw.header("set-cookie");
  REQUIRE(cookie.rfind("OSESSIONID=", 0) == 0);
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  auto session = "Cookie: " + cookie.substr(0, cookie.find(';')) + "\r\n";
  auto via = call(t.port(), "POST", "/command/shop/sql", "select count(*) as n from Person", session);
  REQUIRE_MESSAGE(via.status == 200, via.body);
  CHECK(via.js().at("result").as_array()[0].at("n").as_int64() == 3);
  CHECK(call(t.port(), "GET", "/connect/shop", {}, {}).status == 401);  // no credentials, no session
  CHECK(call(t.port(), "POST", "/command/shop/sql", "select from Person", "Cookie: OSESSIONID=0123456789abcdef0123456789abcdef\r\n").status == 401);
  CHECK(call(t.port(), "GET", "/disconnect", {}, session).status == 401);
  CHECK(call(t.port(), "POST", "/command/shop/sql", "select from Person", session).status == 401);  // ended
}

// The REST handler and its header check on a server of their own (no actor
// system: a 401 and the routes used here need none), as node.cpp wires them.
struct rest_listener {
  std::mutex m;
  std::vector<std::string> lines;
  logger log{"rest", [this](log_level, std::string_view rec) {
               std::lock_guard<std::mutex> g(m);
               lines.emplace_back(rec);
             }};
  std::unique_ptr<http::server> srv;
  uint16_t port = 0;

  rest_listener() {
    auto ctx = std::make_shared<rest_context>();
    ctx->users = {user_config{"root", "secret", "*"}, user_config{"guest", "guest", "server.listDatabases"}};
    ctx->dbs = std::make_shared<db_directory>();
    ctx->log = &log;
    http::server_options o;
    o.ip = "127.0.0.1";
    o.port_first = 23470;
    o.port_last = 23479;
    o.check_header = make_rest_header_check(ctx);
    srv = std::make_unique<http::server>(o, make_rest_handler(ctx), &log);
    auto p = srv->start();
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().render()));
    port = *p;
  }
  bool logged(std::string_view needle) {
    std::lock_guard<std::mutex> g(m);
    for (auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

TEST_CASE("rest: a request with a body and missing or wrong credentials gets 401 before its body is sent") {
  rest_listener t;
  const std::string wrong = "Authorization: Basic " + test::base64("root:wrong") + "\r\n";
  for (const auto& auth : {std::string(), wrong, std::string("Authorization: Basic !!!\r\n")}) {
    CAPTURE(auth);
    test::test_client c(t.port);
    REQUIRE(c.connected());
    // 16 MiB announced (the body limit), not one byte of it sent.
    REQUIRE(c.send("POST /document/demo HTTP/1.1\r\nHost: t\r\n" + auth + "Content-Length: 16777216\r\n\r\n"));
    auto r = c.read_response(10s);
    REQUIRE_MESSAGE(r, "no answer before the body");
    CHECK(r->status == 401);
    CHECK(r->header("www-authenticate") == "Basic realm=\"OrientDB Server\"");
    CHECK(r->header("connection") == "close");
    reply rep{r->status, r->body, *r};
    CHECK(error_content(rep) == (auth.empty() ? "Authentication required" : "Wrong user name or password"));
    CHECK(c.wait_closed(5s));
  }
  // Right credentials: the body is read and the route answers as before (403
  // for a user without the permission, 404 for an unknown database).
  const std::string guest = "Authorization: Basic " + test::base64("guest:guest") + "\r\n";
  CHECK(call(t.port, "POST", "/document/demo", "{\"@class\":\"V\"}", guest).status == 403);
  const std::string root = "Authorization: Basic " + test::base64("root:secret") + "\r\n";
  CHECK(call(t.port, "POST", "/document/demo", "{\"@class\":\"V\"}", root).status == 404);
  // Without a body nothing changes: the route answers 401 itself.
  auto r = call(t.port, "GET", "/listDatabases");
  CHECK(r.status == 401);
  CHECK(error_content(r) == "Authentication required");
  CHECK(call(t.port, "GET", "/listDatabases", {}, root).status == 200);
}

TEST_CASE("rest: wrong logins from one address are logged and answered later and later; a right one resets") {
  rest_listener t;
  const std::string wrong = "Authorization: Basic " + test::base64("root:wrong") + "\r\n";
  const std::string root = "Authorization: Basic " + test::base64("root:secret") + "\r\n";
  auto timed = [&](std::string_view method, std::string_view body, const std::string& auth) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = call(t.port, method, "/listDatabases", body, auth);
    return std::pair{r.status, std::chrono::steady_clock::now() - t0};
  };
  for (int i = 0; i < 3; ++i) CHECK(timed("GET", {}, wrong).first == 401);  // free
  auto [s4, d4] = timed("GET", {}, wrong);
  CHECK(s4 == 401);
  CHECK(d4 >= 250ms);
  // The 5th, with a body: refused by the header check, after its delay too.
  auto [s5, d5] = timed("POST", "{}", wrong);
  CHECK(s5 == 401);
  CHECK(d5 >= 500ms);
  CHECK(d5 < 5s);
  CHECK(t.logged("wrong user name or password from 127.0.0.1 (user 'root', 1 failures) [OServerNetworkListener]"));
  CHECK(t.logged("WARN"));

  // A right login is answered (never delayed) and ends the window of its address.
  CHECK(timed("GET", {}, root).first == 200);
  auto [s6, d6] = timed("GET", {}, wrong);
  CHECK(s6 == 401);
  CHECK(d6 < 1000ms);  // without the reset it would wait 1000 ms
  // Missing credentials are no failed login: never delayed, never logged.
  CHECK(timed("GET", {}, {}).first == 401);
}

TEST_CASE("rest: a node counts wrong logins per address and delays the answer") {
  std::mutex m;  // before the node: its log may write until the node is gone
  std::vector<std::string> lines;
  rest_node t;
  t.log.set_tee([&](log_level, std::string_view rec) {
    std::lock_guard<std::mutex> g(m);
    lines.emplace_back(rec);
  });
  const std::string wrong = "Authorization: Basic " + test::base64("root:wrong") + "\r\n";
  for (int i = 0; i < 4; ++i) CHECK(call(t.port(), "GET", "/listDatabases", {}, wrong).status == 401);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(call(t.port(), "GET", "/listDatabases", {}, wrong).status == 401);
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 500ms);
  CHECK(took < 5s);
  CHECK(test::eventually([&] {
    std::lock_guard<std::mutex> g(m);
    for (auto& l : lines)
      if (l.find("wrong user name or password from 127.0.0.1 (user 'root', 1 failures)") != std::string::npos)
        return true;
    return false;
  }));
}

namespace {

// A home whose config is the shipped one with its HTTPS example enabled, and
// the example's PEM files (server key encrypted with `key_passphrase` when not
// empty) made for it; the CA is left in `ca`.
void https_home(const fs::path& home, const std::string& key_passphrase, fs::path& ca) {
  test::make_home(home);
  auto cfg = home / "config" / "orientdb-server-config.xml";
  test::write_text(cfg, test::enable_https_example(test::read_text(cfg)));
  fs::create_directories(home / "config" / "cert");
  ca = test::make_tls_files(home / "config" / "cert", key_passphrase).ca;
}

}  // namespace

TEST_CASE("rest: a node on the shipped https example answers GET /listDatabases over HTTPS with Basic auth") {
  REQUIRE_MESSAGE(!test::find_curl().empty(), "curl is not installed (bin/setup.sh installs it)");
  fs::path ca;
  rest_node t(false, {}, [&](const fs::path& home) { https_home(home, "", ca); });
  auto base = "https://127.0.0.1:" + std::to_string(t.port());
  auto r = test::run_curl({"--cacert", ca.string(), "-u", "root:" + t.root_pw, base + "/listDatabases"});
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK(r.status == 200);
  boost::system::error_code ec;
  auto v = json::parse(r.body, ec);
  REQUIRE_MESSAGE(!ec, r.body);
  CHECK(v.at("databases").as_array().empty());
  // The same rules as over plain HTTP: a wrong password is a 401.
  auto wrong = test::run_curl({"--cacert", ca.string(), "-u", "root:wrong", base + "/listDatabases"});
  CHECK(wrong.exit_code == 0);
  CHECK(wrong.status == 401);
  // Plain HTTP on the port gets a 400 that says why, and never reaches the API.
  auto plain = call(t.port(), "GET", "/listDatabases", {}, t.root());
  CHECK(plain.status == 400);
  CHECK(error_content(plain).find("https://") != std::string::npos);
}

TEST_CASE("rest: a node whose TLS key cannot be decrypted does not start; the error names the config line and the key") {
  test::temp_dir home;
  fs::path ca;
  https_home(home.path(), "the passphrase", ca);  // the example's keyStorePassword is empty
  auto cfg = home.path() / "config" / "orientdb-server-config.xml";
  auto text = test::read_text(cfg);
  auto socket_line = 1 + std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(text.find("<socket ")), '\n');
  auto o = test::home_options(home.path(), "rest1");
  auto s = prepare_server(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
  for (auto& l : s->server.listeners)
    if (l.protocol == "http") l.ports = {23480, 23490};
  s->hazelcast.group_name = "troupe-rest-test";
  s->hazelcast.port = 23434;
  s->hazelcast.members = {member_address{"127.0.0.1", {23434, 23435}}};
  logger log{"rest", nullptr};
  node_options no{*s, &log};
  no.create_demo = false;
  node n(std::move(no));
  auto st = n.start();
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().render() == cfg.string() + ": line " + std::to_string(socket_line) +
                                   ": socket 'https': the private key in " +
                                   (home.path() / "config" / "cert" / "server-key.pem").string() +
                                   " is encrypted and no passphrase is configured");
}

TEST_CASE("rest: database users: OUser records log in to their own database, with their roles' permissions") {
  rest_node t;
  REQUIRE(call(t.port(), "POST", "/database/shop/plocal", {}, t.root()).status == 200);
  REQUIRE(call(t.port(), "POST", "/database/other/plocal", {}, t.root()).status == 200);
  auto basic = [](const std::string& user, const std::string& pw) {
    return "Authorization: Basic " + test::base64(user + ":" + pw) + "\r\n";
  };
  const auto admin = basic("admin", "admin"), writer = basic("writer", "writer"), reader = basic("reader", "reader");
  auto command = [&](const std::string& who, const std::string& text) {
    return call(t.port(), "POST", "/command/shop/sql", json::serialize(json::object{{"command", text}}), who);
  };
  auto forbidden = [&](const reply& r, const std::string& user, const std::string& op) {
    CHECK(r.status == 403);
    auto content = error_content(r);
    CHECK_MESSAGE(content.find("OSecurityAccessException: User '" + user +
                               "' does not have permission to execute the operation '" + op + "'") != std::string::npos,
                  content);
  };

  // admin: everything in its database, schema included.
  auto r = command(admin, "create class Item");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  r = call(t.port(), "POST", "/document/shop", R"({"@class":"Item","name":"a"})", admin);
  REQUIRE_MESSAGE(r.status == 201, r.body);
  auto item = std::string(r.js().at("@rid").as_string());

  // reader: reads work; every write is refused with OrientDB's words.
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, reader).status == 200);
  r = command(reader, "select from Item");
  CHECK(r.status == 200);
  CHECK(r.js().at("result").as_array().size() == 1);
  CHECK(call(t.port(), "GET", "/query/shop/sql/select%20from%20Item", {}, reader).status == 200);
  CHECK(call(t.port(), "GET", "/class/shop/Item", {}, reader).status == 200);
  CHECK(call(t.port(), "GET", "/database/shop", {}, reader).status == 200);
  forbidden(call(t.port(), "POST", "/document/shop", R"({"@class":"Item","name":"b"})", reader), "reader", "Create");
  forbidden(command(reader, "insert into Item set name = 'b'"), "reader", "Create");
  forbidden(call(t.port(), "POST", "/batch/shop",
                 R"({"transaction":true,"operations":[{"type":"c","record":{"@class":"Item","name":"b"}}]})", reader),
            "reader", "Create");
  forbidden(call(t.port(), "DELETE", "/document/shop/" + item.substr(1), {}, reader), "reader", "Delete");
  CHECK(command(admin, "select from Item").js().at("result").as_array().size() == 1);  // nothing was written

  // writer: records yes, schema and users no.
  r = command(writer, "insert into Item set name = 'w'");
  CHECK_MESSAGE(r.status == 200, r.body);
  r = call(t.port(), "POST", "/batch/shop",
           R"({"transaction":true,"operations":[{"type":"c","record":{"@class":"Item","name":"x"}}]})", writer);
  CHECK_MESSAGE(r.status == 200, r.body);
  forbidden(command(writer, "create class Forbidden"), "writer", "Update");
  forbidden(call(t.port(), "POST", "/class/shop/Forbidden2", {}, writer), "writer", "Update");
  forbidden(call(t.port(), "POST", "/property/shop/Item/name/STRING", {}, writer), "writer", "Update");
  forbidden(command(writer, "create index Item.name unique"), "writer", "Update");
  forbidden(command(writer, "create user mallory identified by m role admin"), "writer", "Update");
  forbidden(command(writer, "update OUser set password = 'mine' where name = 'admin'"), "writer", "Update");
  forbidden(call(t.port(), "POST", "/document/shop",
                 R"({"@class":"OUser","name":"m","password":"m","status":"ACTIVE","roles":["admin"]})", writer),
            "writer", "Update");
  auto admin_rid = command(admin, "select from OUser where name = 'admin'").js().at("result").as_array().at(0).at("@rid");
  forbidden(call(t.port(), "DELETE", "/document/shop/" + std::string(admin_rid.as_string()).substr(1), {}, writer),
            "writer", "Update");
  CHECK(call(t.port(), "GET", "/class/shop/Forbidden", {}, admin).status == 404);

  // Wrong passwords, unknown users: 401. A database user is valid for its own database only.
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, basic("reader", "wrong")).status == 401);
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, basic("nobody", "x")).status == 401);
  CHECK(call(t.port(), "POST", "/document/shop", R"({"@class":"Item"})", basic("writer", "wrong")).status == 401);
  CHECK(call(t.port(), "GET", "/database/other", {}, admin).status == 200);  // other's own admin
  // shop's users are not other's: a user created in shop is unknown there.
  // Server-level routes stay server users' only.
  CHECK(call(t.port(), "GET", "/listDatabases", {}, admin).status == 401);
  CHECK(call(t.port(), "GET", "/server", {}, admin).status == 401);
  CHECK(call(t.port(), "POST", "/database/newdb/plocal", {}, admin).status == 401);
  CHECK(call(t.port(), "DELETE", "/database/shop", {}, admin).status == 401);
  // Server users keep full access as before.
  CHECK(command(t.root(), "create class ByRoot").status == 200);

  // CREATE USER, then logging in with it; its password is stored hashed.
  r = command(admin, "create user alice identified by 'in wonderland' role reader");
  REQUIRE_MESSAGE(r.status == 200, r.body);
  CHECK(r.body.find("in wonderland") == std::string::npos);
  const auto alice = basic("alice", "in wonderland");
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, alice).status == 200);
  forbidden(command(alice, "insert into Item set name = 'a'"), "alice", "Create");
  CHECK(call(t.port(), "GET", "/database/other", {}, alice).status == 401);  // not a user of 'other'
  CHECK(command(admin, "create user alice identified by x").status == 409);  // names are unique

  // Password change: the old one stops working at once (the cache is keyed by the stored value).
  REQUIRE(command(admin, "alter user alice identified by 'looking glass'").status == 200);
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, alice).status == 401);
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, basic("alice", "looking glass")).status == 200);
  REQUIRE(command(admin, "update OUser set password = 'r2' where name = 'reader'").status == 200);
  CHECK(call(t.port(), "GET", "/database/shop", {}, reader).status == 401);
  CHECK(call(t.port(), "GET", "/database/shop", {}, basic("reader", "r2")).status == 200);

  // Sessions of database users: /connect, then the cookie alone; bound to that database.
  auto c = call(t.port(), "GET", "/connect/shop", {}, basic("alice", "looking glass"));
  REQUIRE(c.status == 204);
  auto cookie = c.raw.header("set-cookie");
  auto session = "Cookie: " + cookie.substr(0, cookie.find(';')) + "\r\n";
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, session).status == 200);
  CHECK(call(t.port(), "GET", "/database/other", {}, session).status == 401);
  CHECK(call(t.port(), "GET", "/listDatabases", {}, session).status == 401);

  // DROP USER: refused afterwards, by Basic and by its session.
  REQUIRE(command(admin, "drop user alice").status == 200);
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, basic("alice", "looking glass")).status == 401);
  CHECK(call(t.port(), "GET", "/document/shop/" + item.substr(1), {}, session).status == 401);
}
