// Benchmark (meson benchmark target, not a test): replicated REST writes and
// local reads of 1 KiB documents with 16 concurrent keep-alive clients, on
// clusters of 1, 2 and 3 nodes started in this process (real loopback TCP
// between them, real RocksDB with fsync), with writeQuorum 1, 2 and "all" set
// in the database's distributed configuration. Client c talks to node c % N.
//
// Prints one line per figure:  troupe <workload> <metric> <value> <unit>
//   repl_write_n<N>_wq<Q>  ops, p50, p99, ops_via_n<i> and p50_via_n<i> (the
//                          clients of node i alone), failed (requests not answered 201),
//                          replicated (% of sampled documents that every node
//                          serves as their writer's node does, after a bounded wait)
//   read_n<N>              ops, p50, p99 (each client reads its own documents
//                          from the node it wrote them to; readQuorum 1)
//
//   TROUPE_BENCH_REPL_SECONDS  seconds per workload (default 5)
//   TROUPE_BENCH_REPL_ONLY     one setup only, as nodes:writeQuorum (e.g. 3:2), for profiling
//   TROUPE_BENCH_REPL_NO_READS set: writes only (for profiling them)
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include <boost/json.hpp>

#include "test/actors/test_cluster.hpp"
#include "test/bench/http_load.hpp"
#include "test/support/base64.hpp"

using namespace troupe;
using namespace std::chrono;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr int clients = 16;
constexpr const char* db = "bench";
// Documents per client whose copies are compared across the nodes.
constexpr size_t replication_sample_per_client = 8;
constexpr auto replication_wait = seconds(5);

struct setup {
  int nodes;
  const char* write_quorum;  // as in the configuration: a count or "all"
};

quorum parse_quorum(std::string_view q) {
  if (q == "all") return quorum{quorum::kind::all, 0};  // as parse_db_config makes them
  if (q == "majority") return quorum{quorum::kind::majority, 0};
  return quorum{quorum::kind::count, static_cast<int>(parse_int(q, 1, 64).value_or(1))};
}

// Every node sees every member with the database ONLINE.
bool all_online(test::test_cluster& c) {
  for (auto& t : c.nodes) {
    auto s = t->n->cluster(2s);
    if (!s || s->view.members.size() != c.nodes.size()) return false;
    for (auto& m : s->view.members) {
      auto it = m.db_status.find(db);
      if (it == m.db_status.end() || it->second != "ONLINE") return false;
    }
  }
  return true;
}

std::string auth_of(const test::test_node& t) { return test::basic_auth_header("root", t.root_pw); }

// The share of sampled documents (rids[c] written through node c % N) that
// every node serves exactly as the node that took the write does.
double replicated_share(test::test_cluster& c, const std::vector<std::vector<std::string>>& rids) {
  size_t total = 0, same = 0;
  std::vector<std::unique_ptr<test::test_client>> conns;
  for (auto& t : c.nodes) conns.push_back(std::make_unique<test::test_client>(t->n->http_port()));
  auto get = [&](size_t node, const std::string& rid) -> std::string {
    auto& cl = *conns[node];
    if (!cl.connected() || !cl.send(test::make_request("GET", cat("/document/", db, "/", rid.substr(1)), {},
                                                       auth_of(*c.nodes[node]))))
      return "";
    auto r = cl.read_response(seconds(10));
    return r && r->status == 200 ? r->body : "";
  };
  for (size_t cl = 0; cl < rids.size(); ++cl) {
    auto& mine = rids[cl];
    size_t step = std::max<size_t>(1, mine.size() / replication_sample_per_client);
    for (size_t i = 0; i < mine.size(); i += step) {
      auto want = get(cl % c.nodes.size(), mine[i]);
      bool ok = !want.empty();
      for (size_t n = 0; ok && n < c.nodes.size(); ++n) ok = get(n, mine[i]) == want;
      ++total;
      same += ok ? 1 : 0;
    }
  }
  return total == 0 ? 0.0 : 100.0 * static_cast<double>(same) / static_cast<double>(total);
}

// One cluster: start it, write for `run` (and read for `run` when `reads`), stop it.
bool run_setup(const setup& s, uint16_t base, seconds run, bool reads) {
  auto want = parse_quorum(s.write_quorum);
  test::test_cluster c(base);
  c.group = "troupe-repl-bench";
  c.write_quorum = want;
  c.tune = [](node_options& no) {
    no.http_threads = 2;  // as dserver
    // The shipped failure detection: the fast one of the tests would take a node
    // starved by the load for a dead one.
    no.settings.hazelcast.heartbeat_interval = 500ms;
    no.settings.hazelcast.heartbeat_timeout = 3000ms;
  };
  for (int i = 1; i <= s.nodes; ++i) c.add(cat("n", i), false);
  // The first node holds the (empty) database; the others receive it by deploy.
  fs::create_directories(c.nodes[0]->home / "databases");
  if (!storage::database::open(c.nodes[0]->home / "databases" / db).ok()) return false;
  for (auto& t : c.nodes) c.start(*t);
  if (!test::eventually([&] { return all_online(c); }, 60s)) {
    std::fprintf(stderr, "bench: the %d-node cluster did not come ONLINE\n", s.nodes);
    return false;
  }
  auto cfg = parse_db_config(c.nodes[0]->config_json(db), "bench");
  std::optional<quorum> got;
  if (cfg) got = cfg->effective("*").write_quorum;
  if (!got || got->to_string() != want.to_string()) {
    std::fprintf(stderr, "bench: the database's writeQuorum is not %s\n", s.write_quorum);
    return false;
  }

  std::vector<uint16_t> ports;
  std::vector<std::string> auths;
  for (auto& t : c.nodes) {
    ports.push_back(t->n->http_port());
    auths.push_back(auth_of(*t));
  }
  auto w = cat("repl_write_n", s.nodes, "_wq", s.write_quorum);
  std::vector<std::vector<std::string>> rids(clients);
  auto writes = bench::run_http(
      ports, clients, {.until = steady_clock::now() + run},
      [&](int cl, int i) {
        return test::make_request("POST", cat("/document/", db), bench::doc_fields(cl * 1'000'000 + i),
                                  auths[static_cast<size_t>(cl) % auths.size()]);
      },
      [&](int cl, int, const test::raw_response& r) {
        if (r.status != 201) return false;
        boost::system::error_code ec;
        auto v = json::parse(r.body, ec);
        if (ec || !v.is_object() || !v.as_object().contains("@rid")) return false;
        rids[static_cast<size_t>(cl)].emplace_back(v.at("@rid").as_string());
        return true;
      });
  bench::print(w, writes, "ops");
  if (s.nodes > 1) {
    // Split by the node the clients talk to: the owner orders the writes, the
    // others forward theirs to it.
    for (size_t n = 0; n < c.nodes.size(); ++n) {
      std::vector<double> l;
      for (size_t cl = n; cl < writes.lat_ms_by_client.size(); cl += c.nodes.size())
        l.insert(l.end(), writes.lat_ms_by_client[cl].begin(), writes.lat_ms_by_client[cl].end());
      std::printf("troupe %s ops_via_n%zu %.0f ops/s\n", w.c_str(), n + 1, static_cast<double>(l.size()) / writes.seconds);
      std::printf("troupe %s p50_via_n%zu %.3f ms\n", w.c_str(), n + 1, bench::percentile(l, 0.50));
    }
  }
  std::printf("troupe %s failed %d requests\n", w.c_str(), writes.failures);
  if (s.nodes > 1) {
    double share = 0;
    test::eventually([&] { return (share = replicated_share(c, rids)) == 100.0; }, replication_wait);
    std::printf("troupe %s replicated %.0f %%\n", w.c_str(), share);
  }
  std::fflush(stdout);

  if (reads) {
    auto r = bench::run_http(
        ports, clients, {.until = steady_clock::now() + run},
        [&](int cl, int i) {
          auto& mine = rids[static_cast<size_t>(cl)];
          auto rid = mine.empty() ? std::string("#0:0") : mine[static_cast<size_t>(i) % mine.size()];
          return test::make_request("GET", cat("/document/", db, "/", rid.substr(1)), {},
                                    auths[static_cast<size_t>(cl) % auths.size()]);
        },
        [](int, int, const test::raw_response& r) { return r.status == 200; });
    bench::print(cat("read_n", s.nodes), r, "ops");
  }
  for (auto it = c.nodes.rbegin(); it != c.nodes.rend(); ++it) (*it)->n->stop();
  return true;
}

}  // namespace

int main() {
  // test_cluster asserts with doctest; outside a test case a failed assertion
  // lands here and ends the run.
  doctest::Context ctx;
  ctx.setAsDefaultForAssertsOutOfTestCases();
  ctx.setAssertHandler([](const doctest::AssertData& ad) {
    std::fprintf(stderr, "bench: %s:%d: %s failed: %s\n", ad.m_file, ad.m_line, ad.m_expr, ad.m_decomp.c_str());
    std::abort();
  });
  int secs = 5;
  if (const char* e = std::getenv("TROUPE_BENCH_REPL_SECONDS")) secs = static_cast<int>(parse_int(e, 1, 3600).value_or(5));

  // writeQuorum 2 on one node, or "all" on two (= 2), would measure nothing new.
  const setup setups[] = {{1, "1"}, {2, "1"}, {2, "2"}, {3, "1"}, {3, "2"}, {3, "all"}};
  uint16_t base = 30600;
  int last_nodes = 0;
  const char* only = std::getenv("TROUPE_BENCH_REPL_ONLY");
  for (auto& s : setups) {
    if (only != nullptr && cat(s.nodes, ":", s.write_quorum) != only) {
      base += 12;
      continue;
    }
    bool reads = s.nodes != last_nodes && std::getenv("TROUPE_BENCH_REPL_NO_READS") == nullptr;  // once per size
    last_nodes = s.nodes;
    if (!run_setup(s, base, seconds(secs), reads)) return 1;
    base += 12;  // each cluster on ports of its own: base..base+5 and base+100..base+110
  }
  return 0;
}
