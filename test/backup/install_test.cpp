// Restore and import as a node does them (src/backup/install.*): built under
// databases/<db>.installing and renamed into place only when complete.
#include <chrono>
#include <optional>
#include <thread>

#include "src/auth/db_users.hpp"
#include "src/backup/export.hpp"
#include "src/backup/install.hpp"
#include "test/backup/fixtures.hpp"
#include "test/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace troupe;
using namespace troupe::backup;
using namespace troupe::backup::testing;

TEST_CASE("install: restore builds databases/<db> from an archive, refuses a bad one and an existing name") {
  test::temp_dir tmp("troupe-install");
  fs::create_directories(tmp / "databases");
  fs::create_directories(tmp / "backup");
  auto db = open_db(tmp / "databases" / "src");
  fill(*db, 100);
  storage::staged_entry pending;
  pending.seq = 1;
  pending.ops = {create_op("Person", R"({"name":"never acknowledged"})")};
  REQUIRE(db->stage(pending));
  REQUIRE(write_backup(*db, tmp / "backup" / "src.tbk"));

  auto r = restore_database(tmp / "databases", "copy", tmp / "backup" / "src.tbk");
  REQUIRE_MESSAGE(r, (r ? "" : r.error().render()));
  CHECK_FALSE(fs::exists(tmp / "databases" / "copy.installing"));
  {
    auto copy = open_db(tmp / "databases" / "copy");
    REQUIRE(copy->check());
    require_same(*db, *copy, true);
    CHECK(copy->staged().empty());  // the staged write never reached a client
  }
  // The name is taken now.
  auto again = restore_database(tmp / "databases", "copy", tmp / "backup" / "src.tbk");
  REQUIRE_FALSE(again);
  CHECK(again.error().what.find("exists already") != std::string::npos);
  // A corrupt archive: nothing appears, not even the .installing folder.
  auto bytes = slurp(tmp / "backup" / "src.tbk");
  bytes[bytes.size() / 2] ^= 1;
  spit(tmp / "backup" / "bad.tbk", bytes);
  auto bad = restore_database(tmp / "databases", "bad", tmp / "backup" / "bad.tbk");
  REQUIRE_FALSE(bad);
  CHECK_FALSE(fs::exists(tmp / "databases" / "bad"));
  CHECK_FALSE(fs::exists(tmp / "databases" / "bad.installing"));
  // A stale .installing from a crashed attempt is replaced.
  fs::create_directories(tmp / "databases" / "late.installing" / "junk");
  REQUIRE(restore_database(tmp / "databases", "late", tmp / "backup" / "src.tbk"));
  CHECK(fs::exists(tmp / "databases" / "late" / "CURRENT"));
  CHECK_FALSE(restore_database(tmp / "databases", "../x", tmp / "backup" / "src.tbk"));
}

TEST_CASE("install: import builds databases/<db> from an export; a failed one leaves nothing") {
  test::temp_dir tmp("troupe-install");
  fs::create_directories(tmp / "databases");
  auto db = open_db(tmp / "databases" / "src");
  REQUIRE_FALSE(auth::apply_default_security(*db));  // as a node creates it: the users first
  fill(*db, 50);
  std::string text;
  REQUIRE(export_database(*db, tmp / "cp", [&](std::string_view b) {
    text.append(b);
    return ok_status();
  }, {.name = "", .gzip = false}));
  auto r = import_database(tmp / "databases", "imported", text);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().render()));
  {
    auto copy = open_db(tmp / "databases" / "imported");
    require_same(*db, *copy, false, true);
    // Like a created database, it has OrientDB's default users.
    REQUIRE(auth::find_user(*copy, "admin"));
    REQUIRE(auth::find_user(*copy, "reader"));
    REQUIRE(copy->check());
  }
  auto bad = import_database(tmp / "databases", "broken", text.substr(0, text.size() / 2));
  REQUIRE_FALSE(bad);
  CHECK_FALSE(fs::exists(tmp / "databases" / "broken"));
  CHECK_FALSE(fs::exists(tmp / "databases" / "broken.installing"));
}

TEST_CASE("install: backup file names under <home>/backup are plain") {
  for (auto ok : {"db.tbk", "nightly-2026_12_08.tbk", "a"}) CHECK(plain_backup_name(ok));
  for (auto bad : {"", ".hidden", "..", "../etc/passwd", "a/b", "a\\b", "a b", "%2e%2e"}) CHECK_FALSE(plain_backup_name(bad));
  CHECK_FALSE(plain_backup_name(std::string(129, 'a')));
}

TEST_CASE("install: two restores of one name at once: one wins, the other is refused, the winner is whole") {
  test::temp_dir tmp("troupe-install");
  fs::create_directories(tmp / "databases");
  auto db = open_db(tmp / "src");
  fill(*db, 200);
  REQUIRE(write_backup(*db, tmp / "src.tbk"));
  for (int round = 0; round < 5; ++round) {
    auto name = "twin" + std::to_string(round);
    std::optional<result<backup_info>> a, b;
    std::thread ta([&] { a.emplace(restore_database(tmp / "databases", name, tmp / "src.tbk")); });
    std::thread tb([&] { b.emplace(restore_database(tmp / "databases", name, tmp / "src.tbk")); });
    ta.join();
    tb.join();
    INFO("round " << round);
    REQUIRE(a->ok() != b->ok());
    auto& loser = a->ok() ? *b : *a;
    auto why = loser.error().what;
    CHECK((why.find("under way") != std::string::npos || why.find("exists already") != std::string::npos));
    CHECK_FALSE(fs::exists(tmp / "databases" / (name + ".installing")));
    auto copy = open_db(tmp / "databases" / name);
    REQUIRE(copy->check());
    require_same(*db, *copy, true);
  }
}

// Rates on this machine, for docs/ARCHITECTURE.md; run with --no-skip.
TEST_CASE("install: measure backup, restore, export and import of 100k records" * doctest::skip()) {
  using clock = std::chrono::steady_clock;
  auto secs = [](clock::time_point t0) { return std::chrono::duration<double>(clock::now() - t0).count(); };
  test::temp_dir tmp("troupe-measure");
  fs::create_directories(tmp / "databases");
  auto db = open_db(tmp / "src");
  REQUIRE(db->apply({class_op("Item")})[0].code == storage::errc::ok);
  REQUIRE(db->apply({index_op("Item", "Item.n", {"n"}, true)})[0].code == storage::errc::ok);
  for (int b = 0; b < 100; ++b) {
    std::vector<storage::op> ops;
    for (int i = 0; i < 1000; ++i)
      ops.push_back(create_op("Item", "{\"n\":" + std::to_string(b * 1000 + i) + ",\"text\":\"" +
                                          std::string(150, static_cast<char>('a' + i % 26)) + "\"}"));
    for (auto& r : db->apply(ops)) REQUIRE(r.code == storage::errc::ok);
  }
  auto t0 = clock::now();
  auto info = write_backup(*db, tmp / "b.tbk");
  REQUIRE(info);
  MESSAGE("backup: " << info->raw_bytes << " raw bytes -> " << info->archive_bytes << " archive bytes in " << secs(t0) << " s");
  t0 = clock::now();
  REQUIRE(restore_database(tmp / "databases", "r", tmp / "b.tbk"));
  MESSAGE("restore (verify + extract + check): " << secs(t0) << " s");
  t0 = clock::now();
  auto ex = export_to_file(*db, tmp / "e.json.gz", {.name = "", .gzip = true});
  REQUIRE(ex);
  MESSAGE("export: " << ex->records << " records, " << ex->bytes << " gzip bytes in " << secs(t0) << " s");
  t0 = clock::now();
  auto text = read_export_file(tmp / "e.json.gz");
  REQUIRE(text);
  auto im = import_database(tmp / "databases", "i", *text);
  REQUIRE(im);
  MESSAGE("import: " << im->records << " records from " << text->size() << " JSON bytes in " << secs(t0) << " s");
}
