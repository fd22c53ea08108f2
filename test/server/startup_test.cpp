#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "src/server/startup.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
namespace fs = std::filesystem;

namespace {

startup_options options(const fs::path& home) {
  startup_options o;
  o.home = home;
  o.shipped_config_dir = test::shipped_config_dir();
  o.name_inputs.now_ms = [] { return int64_t{42}; };
  return o;
}

// Every file under `dir` with its content, to prove nothing was written.
std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().string()] = test::read_text(e.path());
  return out;
}

}  // namespace

TEST_CASE("startup: a home without config is initialised from the shipped files and named") {
  test::temp_dir home;
  auto s = prepare_server(options(home.path()));
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
  CHECK(s->home_initialised);
  CHECK(s->name.name == "node42");
  CHECK(s->name_stored);
  CHECK(fs::exists(home / "config" / "hazelcast.xml"));
  CHECK(s->hazelcast.port == 2434);
  CHECK(s->default_db.resync_every_s == 15);
  // The name is now in the file: a second start takes it from there.
  auto again = prepare_server(options(home.path()));
  REQUIRE(again.ok());
  CHECK_FALSE(again->home_initialised);
  CHECK(again->name.name == "node42");
  CHECK(again->name.source == node_name_source::parameter);
  CHECK_FALSE(again->name_stored);
}

TEST_CASE("startup: without a root user a password is generated, stored once and never again") {
  test::temp_dir home;
  auto s = prepare_server(options(home.path()));
  REQUIRE(s.ok());
  REQUIRE(s->generated_root_password.has_value());
  CHECK(s->generated_root_password->size() == 20);
  auto again = prepare_server(options(home.path()));
  REQUIRE(again.ok());
  CHECK_FALSE(again->generated_root_password.has_value());
  REQUIRE(again->server.find_user("root") != nullptr);
  CHECK(again->server.find_user("root")->password == *s->generated_root_password);
  CHECK(again->server.find_user("root")->resources == "*");
  CHECK(generate_password() != generate_password());
}

TEST_CASE("startup: ORIENTDB_NODE_NAME names the node and is stored") {
  test::temp_dir home;
  auto o = options(home.path());
  o.name_inputs.environment = "europe1";
  auto s = prepare_server(o);
  REQUIRE(s.ok());
  CHECK(s->name.name == "europe1");
  CHECK(test::read_text(home / "config" / "orientdb-server-config.xml")
            .find(R"(<parameter name="nodeName" value="europe1"/>)") != std::string::npos);
}

TEST_CASE("startup: databases are found, transfers in progress and stray files are not") {
  test::temp_dir home;
  fs::create_directories(home / "databases" / "GratefulDeadConcerts");
  fs::create_directories(home / "databases" / "demo");
  fs::create_directories(home / "databases" / "demo.installing");
  fs::create_directories(home / "databases" / ".hidden");
  test::write_text(home / "databases" / "file.txt", "x");
  CHECK(scan_databases(home / "databases") == std::vector<std::string>{"GratefulDeadConcerts", "demo"});
}

TEST_CASE("startup: each bad configuration file gets its error and nothing is written") {
  struct bad {
    const char* name;
    const char* file;
    std::string content;
    const char* expect;
  };
  std::vector<bad> table = {
      {"server config malformed", "orientdb-server-config.xml", "<orient-server>", "orientdb-server-config.xml: line"},
      {"hazelcast upside-down member", "hazelcast.xml",
       R"(<hazelcast><group><name>a</name><password>b</password></group><network><port>1</port><join><tcp-ip enabled="true"><member>h:5-1</member></tcp-ip></join></network></hazelcast>)",
       "hazelcast.xml: line 1: member 'h:5-1'"},
      {"db config quorum 0", "default-distributed-db-config.json",
       R"({"clusters": {"*": {"writeQuorum": 0, "partitioning": {"partitions": [["<NEW_NODE>"]]}}}})",
       "default-distributed-db-config.json: $.clusters[\"*\"].writeQuorum: a quorum must be at least 1"},
      {"db config unknown strategy", "default-distributed-db-config.json",
       R"({"clusters": {"*": {"partitioning": {"strategy": "x", "partitions": [["a"]]}}}})", "unknown partitioning strategy"},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    test::temp_dir home;
    test::make_home(home.path());
    test::write_text(home / "config" / b.file, b.content);
    auto before = snapshot(home.path());
    auto s = prepare_server(options(home.path()));
    REQUIRE_FALSE(s.ok());
    CAPTURE(s.error().render());
    CHECK(s.error().render().find(b.expect) != std::string::npos);
    CHECK(snapshot(home.path()) == before);
  }
}

TEST_CASE("startup: a missing hazelcast file is named in the error") {
  test::temp_dir home;
  test::make_home(home.path());
  fs::remove(home / "config" / "hazelcast.xml");
  auto s = prepare_server(options(home.path()));
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().render().find("hazelcast.xml: cannot open") != std::string::npos);
}
