#include <doctest/doctest.h>

#include <filesystem>
#include <map>

#include "src/config/password.hpp"
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
  CHECK(again->server.find_user("root")->resources == "*");
  CHECK(generate_password() != generate_password());
  // Stored hashed, as OrientDB 2.2 stores it: the printed line is the only
  // copy of the password, and the stored value verifies it.
  auto stored = again->server.find_user("root")->password;
  CHECK(stored.rfind("{PBKDF2WithHmacSHA256}", 0) == 0);
  CHECK(stored.find(*s->generated_root_password) == std::string::npos);
  CHECK(test::read_text(home / "config" / "orientdb-server-config.xml").find(*s->generated_root_password) ==
        std::string::npos);
  auto parsed = parse_stored_password(stored);
  REQUIRE(parsed.ok());
  CHECK(parsed->iterations == password_iterations_default);
  CHECK(verify_password(stored, *s->generated_root_password));
  CHECK_FALSE(verify_password(stored, generate_password()));
  // The settings of the first start carry the same stored value, not the password.
  REQUIRE(s->server.find_user("root") != nullptr);
  CHECK(s->server.find_user("root")->password == stored);
}

TEST_CASE("startup: configuration files that hold passwords are readable by their owner only") {
  test::temp_dir home;
  // A fresh home: the copied files hold the group and the root passwords.
  auto s = prepare_server(options(home.path()));
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
  auto others = [](const fs::path& p) {
    return fs::status(p).permissions() & (fs::perms::group_all | fs::perms::others_all);
  };
  for (auto f : {"orientdb-server-config.xml", "hazelcast.xml", "default-distributed-db-config.json"})
    CHECK_MESSAGE(others(home / "config" / f) == fs::perms::none, f);
  // A file the user left 0644 is 0600 once the server rewrites it (the
  // generated root password and the node name go into it).
  test::temp_dir other;
  test::make_home(other.path());
  auto cfg = other / "config" / "orientdb-server-config.xml";
  fs::permissions(cfg, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  auto t = prepare_server(options(other.path()));
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().render()));
  REQUIRE(t->name_stored);
  CHECK(others(cfg) == fs::perms::none);
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

namespace {
// A folder holding one file whose content names the copy, so a test can tell
// which copy ended where.
void make_copy(const fs::path& dir, const std::string& tag) {
  fs::create_directories(dir);
  test::write_text(dir / "CURRENT", tag);
}
std::string copy_tag(const fs::path& dir) {
  return fs::exists(dir / "CURRENT") ? test::read_text(dir / "CURRENT") : std::string("-");
}
// The folders under `dir`, each with its tag, as one line.
std::string layout(const fs::path& dir) {
  std::map<std::string, std::string> m;
  for (auto& e : fs::directory_iterator(dir))
    if (e.is_directory()) m[e.path().filename().string()] = copy_tag(e.path());
  std::string out;
  for (auto& [k, v] : m) out += k + "=" + v + " ";
  return out;
}
// A databases folder under `home` holding `folders` (name, tag).
fs::path lay_out(const test::temp_dir& home, const std::vector<std::pair<std::string, std::string>>& folders) {
  auto dir = home / "databases";
  fs::create_directories(dir);
  for (auto& [f, tag] : folders) make_copy(dir / f, tag);
  return dir;
}
}  // namespace

TEST_CASE("startup: a redeploy's swap keeps the configuration and can be undone") {
  test::temp_dir home;
  auto dir = home / "databases";
  make_copy(dir / "demo", "old");
  test::write_text(dir / "demo" / "distributed-config.json", "{\"version\":7}");
  make_copy(dir / "demo.installed", "new");
  REQUIRE(swap_in_installed(dir, "demo").ok());
  CHECK(layout(dir) == "demo=new demo.old=old ");
  CHECK(test::read_text(dir / "demo" / "distributed-config.json") == "{\"version\":7}");
  REQUIRE(swap_back(dir, "demo").ok());
  CHECK(layout(dir) == "demo=old ");
  // And forward again, then the old copy removed.
  make_copy(dir / "demo.installed", "new");
  REQUIRE(swap_in_installed(dir, "demo").ok());
  REQUIRE(remove_old_copy(dir, "demo").ok());
  CHECK(layout(dir) == "demo=new ");
}

TEST_CASE("startup: a swap refuses what it cannot do and changes nothing") {
  struct bad {
    const char* name;
    std::vector<std::pair<std::string, std::string>> before;  // folder, tag
    std::string db;
    const char* expect;
  };
  std::vector<bad> table = {
      {"no installed copy", {{"demo", "old"}}, "demo", "no installed copy"},
      {"no copy in use", {{"demo.installed", "new"}}, "demo", "no copy in use"},
      {"a previous copy still there", {{"demo", "old"}, {"demo.installed", "new"}, {"demo.old", "older"}}, "demo",
       "a previous copy is still there"},
      {"a name that is a path", {{"demo", "old"}, {"demo.installed", "new"}}, "../demo", "not a database name"},
      {"an empty name", {{"demo", "old"}}, "", "not a database name"},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    test::temp_dir home;
    auto dir = lay_out(home, b.before);
    auto before = layout(dir);
    auto s = swap_in_installed(dir, b.db);
    REQUIRE_FALSE(s.ok());
    CHECK_MESSAGE(s.error().render().find(b.expect) != std::string::npos, s.error().render());
    CHECK(layout(dir) == before);
  }
  test::temp_dir home;
  fs::create_directories(home / "databases" / "demo");
  CHECK_FALSE(swap_back(home / "databases", "demo").ok());  // nothing to go back to
  CHECK(layout(home / "databases") == "demo=- ");
}

TEST_CASE("startup: a swap a crash interrupted is settled before databases open") {
  struct state {
    const char* name;
    std::vector<std::pair<std::string, std::string>> before;
    const char* after;
    const char* says;
  };
  std::vector<state> table = {
      {"nothing to do", {{"demo", "old"}}, "demo=old ", ""},
      {"crash before the swap", {{"demo", "old"}, {"demo.installed", "new"}}, "demo=old ", "before its swap"},
      {"crash between the renames", {{"demo.old", "old"}, {"demo.installed", "new"}}, "demo=old ",
       "stopped between its renames"},
      {"crash between the renames, new copy gone", {{"demo.old", "old"}}, "demo=old ", "stopped between its renames"},
      {"crash after the swap", {{"demo", "new"}, {"demo.old", "old"}}, "demo=new ", "that a redeploy replaced"},
      {"two databases", {{"a.old", "a-old"}, {"b", "b-new"}, {"b.old", "b-old"}, {"c.installed", "c-new"}, {"c", "c"}},
       "a=a-old b=b-new c=c ", "restored database a"},
      {"a transfer in progress is not ours", {{"demo", "old"}, {"demo.installing", "part"}},
       "demo=old demo.installing=part ", ""},
      {"not a database name", {{"-x.old", "x"}, {".old", "y"}}, "-x.old=x .old=y ", ""},
  };
  for (auto& t : table) {
    CAPTURE(t.name);
    test::temp_dir home;
    auto dir = lay_out(home, t.before);
    auto lines = recover_swaps(dir);
    CHECK(layout(dir) == t.after);
    std::string said;
    for (auto& l : lines) said += l + "\n";
    if (*t.says == 0) {
      CHECK_MESSAGE(lines.empty(), said);
    } else {
      CHECK_MESSAGE(said.find(t.says) != std::string::npos, said);
    }
    CHECK(recover_swaps(dir).empty());  // settled: a second start finds nothing
  }
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
