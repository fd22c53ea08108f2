// Benchmark (meson benchmark target, not a test): SQL through a real dserver
// process over HTTP keep-alive connections, beside reads by RID from the same
// run (the reference: the same HTTP path without the query engine).
//
// A database of N documents of class Item {key: i, name, grp: i % 100, text}
// with a UNIQUE index Item.key is written straight into the node's home with
// storage::database before the node starts (loading is not what is measured);
// the node then serves it as users run it, as its own process.
//
// Prints one line per figure:  troupe <workload> <metric> <value> <unit>
//   sql_n<N>_read_rid         ops, p50, p99: GET /document/bench/<rid>, random
//   sql_n<N>_select_index     ops, p50, p99: select from Item where key = ? (index)
//   sql_n<N>_select_scan      scanned docs/s: select count(*) from Item where
//                             grp = -1 (no index on grp: a full scan), 1 client
//   sql_n<N>_traverse_d3      ops, p50, p99: traverse out('followed_by') from a
//                             song while $depth < 3 (GratefulDeadConcerts)
//   sql_n<N>_insert           ops, p50, p99: insert into Item set key = ? (the
//                             owner plans each statement with nothing pending,
//                             so statements do not share an fsync)
//   sql_n<N>_fsync            syncs/s: 1-byte appends with fdatasync on the
//                             node's disk, the limit of the insert figure
//   The cores: what the scan rate is per core of this machine.
//
//   TROUPE_BENCH_SQL_DOCS     collection sizes, comma-separated (default 100000,1000000)
//   TROUPE_BENCH_SQL_SECONDS  seconds per workload (default 3)
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <thread>

#include <boost/json.hpp>

#include "src/graph/demo.hpp"
#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/bench/http_load.hpp"
#include "test/process/cluster_harness.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace std::chrono;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr int clients = 16;

std::string command(const std::string& text, json::array params) {
  return json::serialize(json::object{{"command", text}, {"parameters", std::move(params)}});
}

// The bench database with `n` Items and the UNIQUE index, written directly.
bool build(const fs::path& dir, int64_t n, int32_t* cluster) {
  storage::open_options o;
  o.sync = false;
  auto db = storage::database::open(dir, o);
  if (!db) {
    std::fprintf(stderr, "bench: %s\n", db.error().render().c_str());
    return false;
  }
  storage::op cls;
  cls.k = storage::op::kind::create_class;
  cls.class_name = "Item";
  if ((*db)->apply({cls})[0].code != storage::errc::ok) return false;
  std::vector<storage::op> batch;
  for (int64_t i = 0; i < n; ++i) {
    storage::op c;
    c.k = storage::op::kind::create;
    c.class_name = "Item";
    c.fields = cat(R"({"key":)", i, R"(,"name":"item-)", i, R"(","grp":)", i % 100,
                   R"(,"text":"a document of the sql benchmark, about a hundred bytes long, like a small record"})");
    batch.push_back(std::move(c));
    if (batch.size() == 10'000 || i + 1 == n) {
      for (auto& r : (*db)->apply(batch))
        if (r.code != storage::errc::ok) {
          std::fprintf(stderr, "bench: load: %s\n", r.message.c_str());
          return false;
        }
      batch.clear();
    }
  }
  // The planner uses an index only over fields with a scalar property type
  // (storage enforces the type, so no record hides an array from the index).
  storage::op prop;
  prop.k = storage::op::kind::create_property;
  prop.class_name = "Item";
  prop.fields = R"({"name":"key","type":"LONG"})";
  if (auto pr = (*db)->apply({prop}); pr[0].code != storage::errc::ok) {
    std::fprintf(stderr, "bench: property: %s\n", pr[0].message.c_str());
    return false;
  }
  storage::op idx;
  idx.k = storage::op::kind::create_index;
  idx.class_name = "Item";
  idx.fields = R"({"name":"Item.key","fields":["key"],"type":"UNIQUE"})";
  auto r = (*db)->apply({idx});
  if (r[0].code != storage::errc::ok) {
    std::fprintf(stderr, "bench: index: %s\n", r[0].message.c_str());
    return false;
  }
  *cluster = (*db)->class_by_name("Item")->default_cluster;
  return true;
}

bool ok_200(int, int, const test::raw_response& r) { return r.status == 200; }

void run_size(int64_t n, seconds each) {
  test::temp_dir root("troupe-sql-bench");
  auto nodes = test::make_cluster(root.path(), 1, nullptr);
  auto& node = *nodes[0];
  int32_t cluster = -1;
  auto t0 = steady_clock::now();
  fs::create_directories(node.home / "databases");
  // The demo graph, for the traverse (a node creates it only on an empty home).
  if (auto d = create_demo_database(node.home / "databases"); !d) {
    std::fprintf(stderr, "bench: demo: %s\n", d.error().render().c_str());
    std::exit(1);
  }
  if (!build(node.home / "databases" / "bench", n, &cluster)) std::exit(1);
  std::printf("troupe sql_n%lld load_direct %.1f s\n", static_cast<long long>(n),
              duration<double>(steady_clock::now() - t0).count());
  test::start_node(node, nodes, seconds(600));
  uint16_t port = node.http_port;
  auto auth = node.auth();
  auto w = cat("sql_n", n, "_");
  std::mt19937_64 rng(7);
  bench::run_limit lim;
  lim.until = steady_clock::now() + each;
  auto rid = run_http({port}, clients, lim,
                      [&](int, int) {
                        return test::make_request("GET", cat("/document/bench/", cluster, ":", rng() % n), {}, auth);
                      },
                      ok_200);
  bench::print(w + "read_rid", rid, "ops");

  lim.until = steady_clock::now() + each;
  auto idx = run_http({port}, clients, lim,
                      [&](int, int) {
                        return test::make_request("POST", "/command/bench/sql",
                                                  command("select from Item where key = ?",
                                                          {static_cast<int64_t>(rng() % n)}),
                                                  auth);
                      },
                      [](int, int, const test::raw_response& r) {
                        return r.status == 200 && r.body.find("\"@rid\"") != std::string::npos;
                      });
  bench::print(w + "select_index", idx, "ops");

  lim.until = steady_clock::now() + each;
  auto scan = run_http({port}, 1, lim,
                       [&](int, int) {
                         return test::make_request("POST", "/command/bench/sql",
                                                   command("select count(*) as c from Item where grp = -1", {}), auth);
                       },
                       [](int, int, const test::raw_response& r) {
                         return r.status == 200 && r.body.find("\"c\":0") != std::string::npos;
                       });
  double scans = static_cast<double>(scan.lat_ms.size());
  std::printf("troupe %sselect_scan rate %.0f docs/s\n", w.c_str(),
              scan.seconds > 0 ? scans * static_cast<double>(n) / scan.seconds : 0.0);
  std::printf("troupe %sselect_scan p50 %.1f ms\n", w.c_str(), bench::percentile(scan.lat_ms, 0.5));
  std::printf("troupe %sselect_scan failed %d requests\n", w.c_str(), scan.failures);

  // A song of the demo graph: its first vertex with out_followed_by.
  std::string song;
  if (auto r = test::call(node, "POST", "/command/GratefulDeadConcerts/sql",
                          command("select @rid as r from V where name = 'HEY BO DIDDLEY'", {}))) {
    auto v = test::json_of(r->body);
    auto* rows = v && v->is_object() ? v->as_object().if_contains("result") : nullptr;
    if (rows != nullptr && rows->is_array() && !rows->as_array().empty())
      song = std::string(rows->as_array()[0].at("r").as_string());
    else
      std::fprintf(stderr, "bench: no song to traverse from: %d %s\n", r->status, r->body.c_str());
  }
  if (!song.empty()) {
    lim.until = steady_clock::now() + each;
    auto tr = run_http({port}, clients, lim,
                       [&](int, int) {
                         return test::make_request(
                             "POST", "/command/GratefulDeadConcerts/sql",
                             command(cat("traverse out('followed_by') from ", song, " while $depth < 3"), {}), auth);
                       },
                       ok_200);
    bench::print(w + "traverse_d3", tr, "ops");
  } else {
    std::printf("troupe %straverse_d3 skipped 0 -\n", w.c_str());
  }

  // The limit of a durable write, measured here on the node's disk: small
  // appends each followed by fdatasync, for as long as a workload runs.
  {
    auto path = node.home / "fsync-probe";
    int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    int64_t syncs = 0;
    auto start = steady_clock::now(), stop = start + each;
    while (fd >= 0 && steady_clock::now() < stop) {
      if (::write(fd, "x", 1) != 1 || ::fdatasync(fd) != 0) break;
      ++syncs;
    }
    if (fd >= 0) ::close(fd);
    std::printf("troupe %sfsync rate %.0f syncs/s\n", w.c_str(),
                static_cast<double>(syncs) / duration<double>(steady_clock::now() - start).count());
  }

  std::atomic<int64_t> next{n};
  lim.until = steady_clock::now() + each;
  auto ins = run_http({port}, clients, lim,
                      [&](int, int) {
                        return test::make_request("POST", "/command/bench/sql",
                                                  command("insert into Item set key = ?, grp = -2", {next++}), auth);
                      },
                      ok_200);
  bench::print(w + "insert", ins, "ops");
  std::printf("troupe %scores available %u cores\n", w.c_str(), std::thread::hardware_concurrency());

  node.p->signal(SIGTERM);
  node.p->wait_exit(seconds(60));
}

}  // namespace

int main() {
  // The cluster harness asserts with doctest; outside a test case a failed
  // assertion lands here and ends the run.
  doctest::Context ctx;
  ctx.setAsDefaultForAssertsOutOfTestCases();
  ctx.setAssertHandler([](const doctest::AssertData& ad) {
    std::fprintf(stderr, "bench: %s:%d: %s failed: %s\n", ad.m_file, ad.m_line, ad.m_expr, ad.m_decomp.c_str());
    std::abort();
  });
  std::vector<int64_t> sizes{100'000, 1'000'000};
  if (const char* e = std::getenv("TROUPE_BENCH_SQL_DOCS")) {
    sizes.clear();
    for (auto part : split(e, ','))
      if (auto v = parse_int(part, 1, 100'000'000)) sizes.push_back(*v);
  }
  int secs = 3;
  if (const char* e = std::getenv("TROUPE_BENCH_SQL_SECONDS")) secs = std::max(1, std::atoi(e));
  for (auto n : sizes) run_size(n, seconds(secs));
  return 0;
}
