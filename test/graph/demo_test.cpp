#include <doctest/doctest.h>

#include "src/auth/db_users.hpp"
#include "src/graph/demo.hpp"
#include "src/storage/database.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
namespace fs = std::filesystem;

namespace {

storage::open_options existing_only() {
  storage::open_options o;
  o.create_if_missing = false;
  return o;
}

const std::string installing = std::string(demo_database_name) + std::string(demo_installing_suffix);

void check_demo_database(const fs::path& dir) {
  auto db = storage::database::open(dir, existing_only());
  REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().render()));
  auto v = (*db)->cluster_by_name("v");
  REQUIRE(v.has_value());
  CHECK(v->records == 808);
  for (auto [name, n] : {std::pair{"followed_by", 7047}, {"sung_by", 501}, {"written_by", 501}}) {
    CAPTURE(name);
    auto c = (*db)->cluster_by_name(name);
    REQUIRE(c.has_value());
    CHECK(c->records == n);
  }
  // OrientDB's demo users: the tutorial connects as admin/admin.
  for (auto name : {"admin", "writer", "reader"}) {
    CAPTURE(name);
    auto u = auth::find_user(**db, name);
    REQUIRE(u.has_value());
    CHECK(verify_password(u->password, name));
    CHECK(u->roles == std::vector<std::string>{name});
  }
}

}  // namespace

TEST_CASE("demo: GratefulDeadConcerts is built and renamed into place, nothing left behind") {
  test::temp_dir tmp;
  const auto databases = tmp / "databases";  // does not exist yet
  auto stats = create_demo_database(databases);
  REQUIRE_MESSAGE(stats.ok(), (stats.ok() ? "" : stats.error().render()));
  MESSAGE("GratefulDeadConcerts built in " << stats->elapsed.count() << " ms (import time)");
  CHECK(stats->vertices == 808);
  CHECK(stats->edges == 8049);
  CHECK(fs::is_directory(databases / demo_database_name));
  CHECK_FALSE(fs::exists(databases / installing));
  check_demo_database(databases / demo_database_name);

  SUBCASE("a second build refuses to overwrite it") {
    auto again = create_demo_database(databases);
    REQUIRE_FALSE(again.ok());
    CHECK(again.error().what.find("already exists") != std::string::npos);
    check_demo_database(databases / demo_database_name);
  }
}

TEST_CASE("demo: a stale .installing folder from a crashed build is removed first") {
  test::temp_dir tmp;
  const auto databases = tmp / "databases";
  fs::create_directories(databases / installing / "junk");
  test::write_text(databases / installing / "CURRENT", "half a database");
  auto stats = create_demo_database(databases);
  REQUIRE_MESSAGE(stats.ok(), (stats.ok() ? "" : stats.error().render()));
  CHECK_FALSE(fs::exists(databases / installing));
  CHECK_FALSE(fs::exists(databases / demo_database_name / "junk"));
  check_demo_database(databases / demo_database_name);
}

TEST_CASE("demo: a failed build leaves neither the database nor its .installing folder") {
  test::temp_dir tmp;
  const auto databases = tmp / "databases";
  test::write_text(tmp / "bad.graphml", "<graphml><graph><node id=\"1\"/><node id=\"1\"/></graph></graphml>");
  auto stats = create_demo_database(databases, tmp / "bad.graphml");
  REQUIRE_FALSE(stats.ok());
  CHECK(stats.error().what.find("duplicate node id") != std::string::npos);
  CHECK_FALSE(fs::exists(databases / installing));
  CHECK_FALSE(fs::exists(databases / demo_database_name));

  // Fails in the import (after the database was created in .installing).
  test::write_text(tmp / "bad-name.graphml",
                   "<graphml><key id=\"t\" for=\"node\" attr.name=\"type\"/><graph><node id=\"1\">"
                   "<data key=\"t\">x</data></node></graph></graphml>");
  auto stats2 = create_demo_database(databases, tmp / "bad-name.graphml");
  REQUIRE_FALSE(stats2.ok());
  CHECK_FALSE(fs::exists(databases / installing));
  CHECK_FALSE(fs::exists(databases / demo_database_name));
}
