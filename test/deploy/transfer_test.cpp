#include <doctest/doctest.h>

#include <filesystem>

#include "src/deploy/transfer.hpp"
#include "src/graph/demo.hpp"
#include "src/storage/database.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
namespace fs = std::filesystem;

namespace {

// Reads every chunk of `from` (failing the test on error).
std::vector<deploy::chunk> all_chunks(deploy::reader& r) {
  std::vector<deploy::chunk> out;
  for (;;) {
    auto c = r.next();
    REQUIRE(c.ok());
    if (!c->has_value()) break;
    out.push_back(std::move(**c));
  }
  return out;
}

// Every record of every cluster, as text, for comparing two databases.
std::string content(const storage::database& db) {
  std::string out;
  for (auto& c : db.clusters()) {
    out += c.name + ":" + std::to_string(c.records) + "\n";
    for (auto& r : db.browse_cluster(c.id, 100'000)) out += r.to_json() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("deploy: OrientDB's size format") {
  CHECK(deploy::orientdb_size(812) == "812b");
  CHECK(deploy::orientdb_size(347812) == "339,66Kb");
  CHECK(deploy::orientdb_size(1572864) == "1,50Mb");
  CHECK(deploy::orientdb_size(3ull << 30) == "3,00Gb");
}

TEST_CASE("deploy: a checkpoint of the demo database travels in chunks and arrives identical") {
  test::temp_dir dir;
  auto dbs = dir / "databases";
  REQUIRE(create_demo_database(dbs).ok());
  uint64_t lsn = 0;
  {
    auto db = storage::database::open(dbs / "GratefulDeadConcerts", {false, true});
    REQUIRE(db.ok());
    auto l = (*db)->checkpoint(dir / "snapshot");
    REQUIRE(l.ok());
    lsn = *l;
    CHECK(lsn == (*db)->last_lsn());
  }
  for (int level : {0, 1}) {
    CAPTURE(level);
    auto r = deploy::reader::open(dir / "snapshot", 64 * 1024, level);
    REQUIRE(r.ok());
    auto chunks = all_chunks(**r);
    auto m = (*r)->summary();
    m.lsn = lsn;
    CHECK(m.chunks == chunks.size());
    CHECK(m.files >= 3);
    CHECK(chunks.size() > m.files);  // 64 KiB chunks: several per data file
    if (level > 0) {
      CHECK(m.wire_bytes <= m.raw_bytes);
    } else {
      CHECK(m.wire_bytes == m.raw_bytes);
    }
    auto target = dir / ("copy" + std::to_string(level));
    auto inst = deploy::installer::open(dir / ("copy.installing" + std::to_string(level)), target);
    REQUIRE(inst.ok());
    for (auto& c : chunks) REQUIRE((*inst)->add(c).ok());
    CHECK_FALSE(fs::exists(target));  // nothing under the final name before finish()
    REQUIRE((*inst)->finish(m).ok());
    CHECK(fs::exists(target));
    CHECK_FALSE(fs::exists(dir / ("copy.installing" + std::to_string(level))));
    auto a = storage::database::open(dbs / "GratefulDeadConcerts", {false, true});
    auto b = storage::database::open(target, {false, true});
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(content(**a) == content(**b));
    CHECK((*b)->last_lsn() == lsn);
  }
}

TEST_CASE("deploy: corrupt, missing, reordered or foreign chunks are refused and nothing is installed") {
  test::temp_dir dir;
  fs::create_directories(dir / "src");
  test::write_text(dir / "src" / "a", std::string(200'000, 'x'));
  test::write_text(dir / "src" / "b", "hello");
  test::write_text(dir / "src" / "empty", "");
  auto chunks_of = [&] {
    auto r = deploy::reader::open(dir / "src", 64 * 1024, 0);
    REQUIRE(r.ok());
    auto c = all_chunks(**r);
    return std::make_pair(c, (*r)->summary());
  };
  auto [chunks, m] = chunks_of();
  REQUIRE(chunks.size() == 6);  // a: 4 chunks, b: 1, empty: 1
  struct bad {
    const char* name;
    std::function<void(std::vector<deploy::chunk>&, deploy::manifest&)> spoil;
    const char* expect;
    bool at_finish;
  };
  std::vector<bad> table = {
      {"flipped byte", [](auto& c, auto&) { c[1].data[10] ^= 1; }, "checksum mismatch", false},
      {"reordered", [](auto& c, auto&) { std::swap(c[1], c[2]); }, "expected 1", false},
      {"path in name", [](auto& c, auto&) { c[0].file = "../evil"; }, "bad file name", false},
      {"unknown codec", [](auto& c, auto&) { c[0].codec_id = 7; }, "unknown codec", false},
      {"bad zstd", [](auto& c, auto&) { c[0].codec_id = 1; }, "does not decompress", false},
      {"missing last chunk", [](auto& c, auto&) { c.pop_back(); }, "received 5 of 6 chunks", true},
      {"wrong digest", [](auto&, auto& man) { man.digest ^= 1; }, "digest differs", true},
      {"wrong sizes", [](auto&, auto& man) { man.file_sizes[0] += 1; }, "files received differ", true},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    auto c = chunks;
    auto man = m;
    b.spoil(c, man);
    auto target = dir / "target";
    {
      auto inst = deploy::installer::open(dir / "target.installing", target);
      REQUIRE(inst.ok());
      std::string err;
      for (auto& x : c) {
        auto st = (*inst)->add(x);
        if (!st) {
          err = st.error().render();
          break;
        }
      }
      if (err.empty()) {
        auto st = (*inst)->finish(man);
        REQUIRE_FALSE(st.ok());
        err = st.error().render();
        CHECK(b.at_finish);
      } else {
        CHECK_FALSE(b.at_finish);
      }
      CAPTURE(err);
      CHECK(err.find(b.expect) != std::string::npos);
    }
    CHECK_FALSE(fs::exists(target));
    CHECK_FALSE(fs::exists(dir / "target.installing"));  // the installer cleans up after itself
  }
}
