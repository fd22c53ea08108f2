// Crash test: a writer process (crash_writer) applies synced batches and
// prints one ACK line per acknowledged op; the test SIGKILLs it at several
// points, reopens the database and checks that every acknowledged op is there
// intact and nothing is half-written. Waits are bounded and wait for output,
// never for time.
#include <doctest/doctest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <map>
#include <sstream>

#include "src/storage/database.hpp"
#include "test/storage/crash_format.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using namespace std::chrono_literals;
using troupe::test::temp_dir;

namespace {

// Kill points: how many acknowledged ops each run waits for before SIGKILL.
// The same database is reused, so later runs recover on top of earlier crashes.
constexpr int kill_after_acks[] = {40, 150, 75, 300, 220};
constexpr auto ready_timeout = 30s;
constexpr auto acks_timeout = 60s;
constexpr auto exit_timeout = 10s;

struct ack {
  int64_t version = 0;
  std::string sum;
};

std::string writer_path() {
  const char* p = std::getenv("TROUPE_CRASH_WRITER");
  REQUIRE_MESSAGE(p != nullptr, "TROUPE_CRASH_WRITER is not set (run through meson test)");
  return p;
}

// Reads the complete ACK lines of `out` into `acks` (keeping each record's
// highest acknowledged version); a line cut by the kill is ignored. Returns the
// number of lines read.
int read_acks(const std::string& out, std::map<rid, ack>& acks) {
  int lines = 0;
  size_t start = 0;
  for (size_t nl; (nl = out.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string line = out.substr(start, nl - start);
    if (line.rfind("ACK ", 0) != 0) continue;
    std::istringstream in(line.substr(4));
    long long n = 0;
    std::string rid_text, version_text, sum;
    in >> n >> rid_text >> version_text >> sum;
    auto id = rid::parse(rid_text);
    REQUIRE_MESSAGE(id.has_value(), line);
    REQUIRE_MESSAGE((version_text.size() > 1 && version_text[0] == 'v'), line);
    int64_t version = std::stoll(version_text.substr(1));
    auto& a = acks[*id];
    if (version > a.version) a = ack{version, sum};
    ++lines;
  }
  return lines;
}

// A writer record is self-describing (crash_format.hpp): its "v" is its
// version and its "sum" the checksum of its "pad".
void check_self_describing(const record& r) {
  CAPTURE(r.id.to_string());
  CAPTURE(r.fields);
  boost::json::error_code ec;
  auto v = boost::json::parse(r.fields, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(v.is_object());
  auto& o = v.as_object();
  REQUIRE(o.contains("v"));
  REQUIRE(o.at("v").as_int64() == r.version);
  REQUIRE(hex64(fnv1a(o.at("pad").as_string())) == std::string(o.at("sum").as_string()));
}

}  // namespace

TEST_CASE("storage: crash: every acknowledged op survives SIGKILL of the writer") {
  temp_dir t("troupe-crash");
  const auto dir = t / "db";
  const auto writer = writer_path();
  std::map<rid, ack> acks;
  int total_acks = 0;
  for (size_t run = 0; run < std::size(kill_after_acks); ++run) {
    CAPTURE(run);
    auto started = std::chrono::steady_clock::now();
    {
      troupe::test::child_process child({{writer, dir.string(), std::to_string(run + 1)}, {}, {}, false});
      REQUIRE_MESSAGE(child.wait_for_output("READY\n", ready_timeout), child.output());
      auto needle = "ACK " + std::to_string(kill_after_acks[run]) + " #";
      REQUIRE_MESSAGE(child.wait_for_output(needle, acks_timeout), child.output().substr(0, 2000));
      child.signal(SIGKILL);
      auto status = child.wait_exit(exit_timeout);
      REQUIRE(status.has_value());
      CHECK(*status == 128 + SIGKILL);
      int lines = read_acks(child.output(), acks);
      CHECK(lines >= kill_after_acks[run]);
      total_acks += lines;
    }

    auto db = open_db(dir);
    // check() proves nothing is half-written: every key and value decodes,
    // record fields are canonical JSON objects, counts equal the records
    // present, and the log has no gaps.
    auto st = db->check();
    REQUIRE_MESSAGE(st.ok(), st.error().render());
    for (auto& [id, a] : acks) {
      CAPTURE(id.to_string());
      auto r = db->find(id);
      REQUIRE(r.has_value());
      REQUIRE(r->version >= a.version);
      if (r->version == a.version) CHECK(hex64(fnv1a(r->fields)) == a.sum);
    }
    // Every record, acknowledged or not, is whole.
    size_t seen = 0;
    auto v = db->cluster_by_name("v");
    REQUIRE(v.has_value());
    for (int64_t from = 0; from < v->next_position;) {
      auto page = db->browse_cluster(v->id, from, browse_records_max);
      if (page.empty()) break;
      for (auto& r : page) check_self_describing(r);
      seen += page.size();
      from = page.back().id.position + 1;
    }
    CHECK(seen == static_cast<size_t>(v->records));
    CHECK(seen >= acks.size());
    CHECK(db->last_lsn() >= static_cast<uint64_t>(total_acks));
    MESSAGE("run " << run << ": killed after " << kill_after_acks[run] << "+ acks; records=" << seen
                   << " acked records=" << acks.size() << " lsn=" << db->last_lsn() << " in "
                   << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                            started)
                          .count()
                   << " ms");
  }
}
