// The load side of the HTTP benchmarks: 1 KiB documents, blocking keep-alive
// clients on threads (light enough to share the 2 cores with the nodes), and
// figures printed one a line as  troupe <workload> <metric> <value> <unit>.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "src/util/strings.hpp"
#include "test/http/test_client.hpp"

namespace troupe::bench {

// A document of about 1 KiB, realistic text rather than random bytes.
inline std::string doc_fields(int i) {
  std::string text;
  static const char* words[] = {"song", "artist", "concert", "setlist", "encore", "tour", "venue", "tape"};
  std::mt19937 rng(static_cast<uint32_t>(i));
  while (text.size() < 900) {
    text += words[rng() % 8];
    text += ' ';
  }
  return cat(R"({"@class":"V","n":)", i, R"(,"name":"doc)", i, R"(","text":")", text, R"("})");
}

struct stats {
  std::vector<double> lat_ms;  // one per request that succeeded
  std::vector<std::vector<double>> lat_ms_by_client;  // the same, client by client
  double seconds = 0;
  int failures = 0;            // requests that got no answer or a wrong one
};

// The p-th fraction of `l` (sorted here), 0 when empty.
inline double percentile(std::vector<double> l, double p) {
  std::sort(l.begin(), l.end());
  return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<size_t>(p * static_cast<double>(l.size())))];
}

// Prints ops/s (under `rate_metric`: rest_bench's figures have always said
// "throughput"), p50 and p99.
inline void print(const std::string& workload, const stats& s, const char* rate_metric = "throughput") {
  auto ops = s.seconds > 0 ? static_cast<double>(s.lat_ms.size()) / s.seconds : 0.0;
  std::printf("troupe %s %s %.0f ops/s\n", workload.c_str(), rate_metric, ops);
  std::printf("troupe %s p50 %.3f ms\n", workload.c_str(), percentile(s.lat_ms, 0.50));
  std::printf("troupe %s p99 %.3f ms\n", workload.c_str(), percentile(s.lat_ms, 0.99));
  std::fflush(stdout);
}

// How long each client of run_http goes on: `per_client` requests, or until
// `until` (whichever comes first).
struct run_limit {
  int per_client = 1 << 30;
  std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max();
};

// Runs `clients` keep-alive connections, client c to ports[c % ports.size()].
// `make(c, i)` builds request i of client c; `check(c, i, response)` validates
// the answer. A client whose connection fails counts a failure and reconnects.
template <class Make, class Check>
stats run_http(const std::vector<uint16_t>& ports, int clients, run_limit limit, Make make, Check check) {
  using namespace std::chrono;
  stats out;
  std::vector<std::vector<double>> lat(static_cast<size_t>(clients));
  std::atomic<int> failures{0};
  auto t0 = steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto port = ports[static_cast<size_t>(c) % ports.size()];
      std::unique_ptr<test::test_client> cl;
      for (int i = 0; i < limit.per_client && steady_clock::now() < limit.until; ++i) {
        if (!cl) cl = std::make_unique<test::test_client>(port);
        if (!cl->connected()) {
          ++failures;
          cl.reset();
          return;  // the node is gone: nothing to measure on this client
        }
        auto req = make(c, i);
        auto s = steady_clock::now();
        std::optional<test::raw_response> r;
        if (cl->send(req)) r = cl->read_response(seconds(30));
        if (!r) cl.reset();
        if (!r || !check(c, i, *r)) {
          ++failures;
          continue;
        }
        lat[static_cast<size_t>(c)].push_back(duration<double, std::milli>(steady_clock::now() - s).count());
      }
    });
  }
  for (auto& t : threads) t.join();
  out.seconds = duration<double>(steady_clock::now() - t0).count();
  for (auto& v : lat) out.lat_ms.insert(out.lat_ms.end(), v.begin(), v.end());
  out.lat_ms_by_client = std::move(lat);
  out.failures = failures;
  if (out.failures > 0) std::fprintf(stderr, "bench: %d failed requests\n", out.failures);
  return out;
}

}  // namespace troupe::bench
