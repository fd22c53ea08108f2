// Backup archives (src/backup/archive.*): round trip over a real database,
// the bad-input table, a seeded fuzz pass, and a backup under writes.
#include <atomic>
#include <thread>

#include "src/backup/archive.hpp"
#include "src/deploy/transfer.hpp"
#include "test/backup/fixtures.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

namespace fs = std::filesystem;
using namespace troupe;
using namespace troupe::backup;
using namespace troupe::backup::testing;

namespace {

std::string be(uint64_t v, int n) {
  std::string s;
  for (int i = n - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}

// A small archive of a filled database, as bytes.
struct small_archive {
  test::temp_dir tmp{"troupe-backup"};
  std::string bytes;
  small_archive() {
    auto db = open_db(tmp / "db");
    fill(*db, 40);
    auto r = write_backup(*db, tmp / "a.tbk", {.created_ms = 1, .database = "db"});
    REQUIRE_MESSAGE(r, (r ? "" : r.error().render()));
    bytes = slurp(tmp / "a.tbk");
  }
};

// Each bad file: verify refuses it with `why` in the message, and extract
// creates nothing.
void require_refused(const fs::path& dir, const std::string& content, const std::string& why) {
  auto f = dir / "bad.tbk";
  spit(f, content);
  auto v = verify_backup(f);
  REQUIRE_FALSE(v);
  INFO(v.error().render());
  CHECK(v.error().render().find(why) != std::string::npos);
  auto target = dir / "restored";
  auto x = extract_backup(f, target);
  REQUIRE_FALSE(x);
  CHECK_FALSE(fs::exists(target));
}

}  // namespace

TEST_CASE("backup: archive round trip keeps every record, the schema, the LSN and the committed seq") {
  test::temp_dir tmp("troupe-backup");
  auto db = open_db(tmp / "live");
  fill(*db, 3000);  // several MiB: files span many blocks
  storage::staged_entry e;
  e.seq = 1;
  e.ops = {create_op("Person", R"({"name":"committed"})")};
  REQUIRE(db->commit_new({e}));
  auto info = write_backup(*db, tmp / "live.tbk", {.created_ms = 1234, .database = "live"});
  REQUIRE_MESSAGE(info, (info ? "" : info.error().render()));
  CHECK(info->database == "live");
  CHECK(info->lsn == db->last_lsn());
  CHECK(info->committed_seq == 1);
  CHECK(info->created_ms == 1234);
  CHECK(info->raw_bytes > 0);
  CHECK_FALSE(fs::exists(tmp / "live.tbk.tmp"));
  CHECK_FALSE(fs::exists(tmp / ".live.tbk.checkpoint"));
  auto v = verify_backup(tmp / "live.tbk");
  REQUIRE_MESSAGE(v, (v ? "" : v.error().render()));
  CHECK(v->files.size() == info->files.size());
  CHECK(v->archive_bytes == fs::file_size(tmp / "live.tbk"));
  auto x = extract_backup(tmp / "live.tbk", tmp / "copy");
  REQUIRE_MESSAGE(x, (x ? "" : x.error().render()));
  for (auto& f : x->files) CHECK(fs::file_size(tmp / "copy" / f.name) == f.size_bytes);
  auto copy = open_db(tmp / "copy");
  REQUIRE(copy->check());
  CHECK(copy->last_lsn() == info->lsn);
  CHECK(copy->last_committed_seq() == 1);
  require_same(*db, *copy, true);
  CHECK(copy->index_find("Person.name", {boost::json::value("committed")}, 10).size() == 1);
  // The target must not exist.
  auto again = extract_backup(tmp / "live.tbk", tmp / "copy");
  REQUIRE_FALSE(again);
  CHECK(again.error().what.find("exists") != std::string::npos);
}

TEST_CASE("backup: an existing archive is replaced only by a complete new one") {
  test::temp_dir tmp("troupe-backup");
  auto db = open_db(tmp / "db");
  fill(*db, 20);
  REQUIRE(write_backup(*db, tmp / "b.tbk"));
  auto before = slurp(tmp / "b.tbk");
  // A folder in the way of the temporary file: the write fails, the old archive stays.
  fs::create_directories(tmp / "b.tbk.tmp" / "x");
  auto r = write_backup(*db, tmp / "b.tbk");
  REQUIRE_FALSE(r);
  CHECK(slurp(tmp / "b.tbk") == before);
  CHECK_FALSE(fs::exists(tmp / ".b.tbk.checkpoint"));
}

TEST_CASE("backup: bad archives are refused before anything is written (table)") {
  small_archive a;
  const auto& good = a.bytes;
  auto dir = a.tmp.path();
  REQUIRE(good.size() > 1000);

  SUBCASE("other formats") {
    require_refused(dir, "", "the file is empty");
    require_refused(dir, std::string("PK\x03\x04", 4) + "zipzipzip", "zip file");
    require_refused(dir, std::string("\x1f\x8b\x08", 3) + "gz", "gzip");
    require_refused(dir, "{\"info\":{}}", "JSON");
    require_refused(dir, "  [1,2]", "JSON");
    require_refused(dir, "TROUPEB", "not a troupe backup");
    require_refused(dir, "XROUPEBK" + good.substr(8), "does not start with");
  }
  SUBCASE("versions") {
    auto future = good;
    future.replace(8, 4, be(2, 4));
    require_refused(dir, future, "newer than the 1 this troupe reads");
    auto zero = good;
    zero.replace(8, 4, be(0, 4));
    require_refused(dir, zero, "never wrote");
  }
  SUBCASE("header bounds and names") {
    auto huge = good;
    huge.replace(12, 4, be(header_bytes_max + 1, 4));
    require_refused(dir, huge, "header claims");
  }
  SUBCASE("truncated at many offsets") {
    std::vector<size_t> cuts;
    for (size_t i = 0; i < 64; ++i) cuts.push_back(i);
    for (size_t i = 64; i < good.size(); i += 97) cuts.push_back(i);
    for (size_t i = good.size() - 64; i < good.size(); ++i) cuts.push_back(i);
    for (auto n : cuts) {
      INFO("cut at " << n << " of " << good.size());
      auto f = dir / "cut.tbk";
      spit(f, good.substr(0, n));
      auto v = verify_backup(f);
      REQUIRE_FALSE(v);
      if (n >= 8) CHECK(v.error().what.find("truncated") != std::string::npos);
      CHECK_FALSE(extract_backup(f, dir / "restored"));
      CHECK_FALSE(fs::exists(dir / "restored"));
    }
    spit(dir / "long.tbk", good + "x");
    CHECK(verify_backup(dir / "long.tbk").error().what.find("after its trailer") != std::string::npos);
  }
  SUBCASE("one flipped byte at many offsets") {
    for (size_t i = 0; i < good.size(); i += (i < 1024 ? 1 : 61)) {
      INFO("flip at " << i << " of " << good.size());
      auto bad = good;
      bad[i] = static_cast<char>(bad[i] ^ 0x20);
      auto f = dir / "flip.tbk";
      spit(f, bad);
      REQUIRE_FALSE(verify_backup(f));
      CHECK_FALSE(extract_backup(f, dir / "restored"));
      CHECK_FALSE(fs::exists(dir / "restored"));
    }
  }
}

TEST_CASE("backup: file names with a path or '..' in the header are refused") {
  small_archive a;
  const auto& good = a.bytes;
  size_t hlen = 0;
  for (int i = 0; i < 4; ++i) hlen = (hlen << 8) | static_cast<unsigned char>(good[12 + i]);
  std::string header = good.substr(16, hlen);
  auto first = header.find("\"name\":\"");
  REQUIRE(first != std::string::npos);
  auto start = first + 8, end = header.find('"', start);
  for (std::string name : std::vector<std::string>{"../CURRENT", "a/b", "..", ".", std::string(300, 'n'), ""}) {
    INFO(name);
    auto h = header.substr(0, start) + name + header.substr(end);
    auto bad = good.substr(0, 12) + be(h.size(), 4) + h + be(deploy::checksum64(h.data(), h.size()), 8) +
               good.substr(16 + hlen + 8);
    require_refused(a.tmp.path(), bad, "not a plain file name");
  }
  CHECK(plain_file_name("000012.sst"));
  CHECK_FALSE(plain_file_name("a\\b"));
  CHECK_FALSE(plain_file_name(std::string("a\0b", 3)));
}

TEST_CASE("backup: seeded fuzz: mutated archives are refused, never crash, never extract") {
  small_archive a;
  const auto& good = a.bytes;
  const uint64_t seed = fuzz_seed(20261208);
  INFO("seed=" << seed << " (replay with TROUPE_SEED=" << seed << ")");
  std::mt19937_64 rng(seed);
  auto f = a.tmp / "fuzz.tbk";
  for (int round = 0; round < 300; ++round) {
    auto bad = good;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % bad.size();
      switch (rng() % 4) {
        case 0: bad[at] = static_cast<char>(rng()); break;
        case 1: bad.erase(at, 1 + rng() % 16); break;
        case 2: bad.insert(at, std::string(1 + rng() % 16, static_cast<char>(rng()))); break;
        default: bad.resize(at); break;
      }
      if (bad.empty()) break;
    }
    if (bad == good) continue;
    INFO("round " << round);
    spit(f, bad);
    REQUIRE_FALSE(verify_backup(f));
    REQUIRE_FALSE(extract_backup(f, a.tmp / "restored"));
    REQUIRE_FALSE(fs::exists(a.tmp / "restored"));
  }
}

TEST_CASE("backup: taken while another thread writes, it holds every write acknowledged before it started") {
  test::temp_dir tmp("troupe-backup");
  auto db = open_db(tmp / "db");
  REQUIRE(db->apply({class_op("Item")})[0].code == storage::errc::ok);
  std::atomic<int64_t> acked{0};
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int64_t i = 0; !stop; ++i) {
      auto r = db->apply({create_op("Item", "{\"n\":" + std::to_string(i) + "}")});
      if (r[0].code != storage::errc::ok) break;
      acked = i + 1;  // acknowledged: apply() returned ok
    }
  });
  REQUIRE(test::eventually([&] { return acked.load() >= 200; }));
  const int64_t before = acked.load();
  auto info = write_backup(*db, tmp / "live.tbk");
  const int64_t after = acked.load();
  stop = true;
  writer.join();
  REQUIRE_MESSAGE(info, (info ? "" : info.error().render()));
  REQUIRE(extract_backup(tmp / "live.tbk", tmp / "copy"));
  auto copy = open_db(tmp / "copy");
  REQUIRE(copy->check());
  auto items = copy->browse_cluster(copy->class_by_name("Item")->default_cluster, 0, storage::browse_records_max);
  INFO("acked before=" << before << " in backup=" << items.size() << " acked after=" << after);
  CHECK(static_cast<int64_t>(items.size()) >= before);
  CHECK(static_cast<int64_t>(items.size()) <= after + 1);
  // Every one of them, in order, as written (no holes).
  for (size_t i = 0; i < items.size(); ++i) REQUIRE(items[i].fields == "{\"n\":" + std::to_string(i) + "}");
  CHECK(copy->last_lsn() == info->lsn);
}
