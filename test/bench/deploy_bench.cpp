// Benchmark (meson benchmark target): deploy a database of realistic documents
// from one node to a new one over loopback, and, on the same data in the same
// run, the limits it stands next to: zstd -1 compression speed and a plain
// loopback TCP copy.
//
//   TROUPE_BENCH_DEPLOY_MIB    comma-separated database sizes in MiB (default "100,1024")
//   TROUPE_BENCH_DEPLOY_LEVEL  the deploy's zstd level (default: the node's)
//
// Prints one line per figure: troupe <workload> <metric> <value> <unit>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zstd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "actors/node.hpp"
#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

uint64_t dir_bytes(const fs::path& p) {
  uint64_t n = 0;
  for (auto& e : fs::recursive_directory_iterator(p))
    if (e.is_regular_file()) n += e.file_size();
  return n;
}

double peak_rss_mib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// Fills `dir` with about `mib` MiB of 1 KiB documents of words, as a shop or a
// concert archive would hold, not random bytes.
void fill(const fs::path& dir, uint64_t mib) {
  auto db = storage::database::open(dir, {true, false});
  if (!db) std::abort();
  static const char* words[] = {"song",  "artist", "concert", "setlist", "encore", "tour",   "venue",  "tape",
                                "night", "crowd",  "jam",     "segue",   "ballad", "rocker", "second", "set"};
  std::mt19937 rng(42);
  uint64_t bytes = 0, n = 0;
  while (bytes < mib << 20) {
    std::vector<storage::op> ops;
    for (int i = 0; i < 1000; ++i, ++n) {
      std::string text;
      while (text.size() < 900) {
        text += words[rng() % 16];
        text += ' ';
      }
      storage::op o;
      o.k = storage::op::kind::create;
      o.class_name = "V";
      o.fields = cat(R"({"n":)", n, R"(,"year":)", 1965 + rng() % 30, R"(,"text":")", text, R"("})");
      bytes += o.fields.size();
      ops.push_back(std::move(o));
    }
    for (auto& r : (*db)->apply(ops))
      if (r.code != storage::errc::ok) std::abort();
  }
}

struct bench_node {
  test::temp_dir home{"troupe-deploy-bench"};
  std::mutex mtx;
  bool online = false;
  logger log{"?", nullptr};
  std::unique_ptr<node> n;
};

void start(bench_node& b, const std::string& name, uint16_t base) {
  auto o = test::home_options(b.home.path(), name);
  auto s = prepare_server(o);
  if (!s) std::abort();
  s->hazelcast.group_name = "troupe-deploy-bench";
  s->hazelcast.port = base;
  s->hazelcast.members = {member_address{"127.0.0.1", {base, static_cast<uint16_t>(base + 1)}}};
  for (auto& l : s->server.listeners)
    if (l.protocol == "http") l.ports = {static_cast<uint16_t>(base + 100), static_cast<uint16_t>(base + 110)};
  b.log.set_node(name);
  b.log.set_tee([&b](log_level, std::string_view r) {
    if (r.find("database bench is online") != std::string_view::npos) {
      std::lock_guard<std::mutex> g(b.mtx);
      b.online = true;
    }
  });
  node_options no{*s, &b.log, 2};
  no.create_demo = false;
  if (const char* e = std::getenv("TROUPE_BENCH_DEPLOY_LEVEL")) no.deploy_compress_level = std::atoi(e);
  b.n = std::make_unique<node>(std::move(no));
  if (!b.n->start()) std::abort();
}

// zstd -1 over the files of `dir` in 1 MiB blocks: MB/s of input.
double zstd_rate(const fs::path& dir) {
  std::vector<char> in(1 << 20), out(ZSTD_compressBound(1 << 20));
  uint64_t total = 0;
  auto t0 = steady_clock::now();
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    std::ifstream f(e.path(), std::ios::binary);
    while (f.read(in.data(), static_cast<std::streamsize>(in.size())) || f.gcount() > 0) {
      auto n = static_cast<size_t>(f.gcount());
      ZSTD_compress(out.data(), out.size(), in.data(), n, 1);
      total += n;
    }
  }
  return static_cast<double>(total) / 1e6 / duration<double>(steady_clock::now() - t0).count();
}

// The same bytes through a plain loopback TCP connection with 1 MiB writes.
double tcp_rate(uint64_t bytes) {
  int ls = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::listen(ls, 1);
  socklen_t len = sizeof a;
  ::getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  std::thread rx([ls, bytes] {
    int c = ::accept(ls, nullptr, nullptr);
    std::vector<char> buf(1 << 20);
    uint64_t got = 0;
    while (got < bytes) {
      auto n = ::read(c, buf.data(), buf.size());
      if (n <= 0) break;
      got += static_cast<uint64_t>(n);
    }
    ::close(c);
  });
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  std::vector<char> buf(1 << 20, 'x');
  auto t0 = steady_clock::now();
  uint64_t sent = 0;
  while (sent < bytes) {
    auto n = ::write(s, buf.data(), std::min<uint64_t>(buf.size(), bytes - sent));
    if (n <= 0) break;
    sent += static_cast<uint64_t>(n);
  }
  ::shutdown(s, SHUT_WR);
  rx.join();
  double secs = duration<double>(steady_clock::now() - t0).count();
  ::close(s);
  ::close(ls);
  return static_cast<double>(sent) / 1e6 / secs;
}

}  // namespace

int main() {
  std::string sizes = "100,1024";
  if (const char* e = std::getenv("TROUPE_BENCH_DEPLOY_MIB")) sizes = e;
  uint16_t base = 29434;
  for (auto& part : split(sizes, ',')) {
    uint64_t mib = std::strtoull(part.c_str(), nullptr, 10);
    if (mib == 0) continue;
    auto w = cat("deploy_", mib, "MiB");
    bench_node a, b;
    fs::create_directories(a.home / "databases");
    fill(a.home / "databases" / "bench", mib);
    auto db_bytes = dir_bytes(a.home / "databases" / "bench");
    start(a, "sender", base);
    auto t0 = steady_clock::now();
    start(b, "joiner", base);
    auto deadline = t0 + minutes(30);
    for (;;) {
      {
        std::lock_guard<std::mutex> g(b.mtx);
        if (b.online) break;
      }
      if (steady_clock::now() > deadline) {
        std::fprintf(stderr, "bench: deploy did not finish\n");
        return 1;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    double secs = duration<double>(steady_clock::now() - t0).count();
    std::printf("troupe %s db_bytes %llu bytes\n", w.c_str(), static_cast<unsigned long long>(db_bytes));
    std::printf("troupe %s join_to_online %.1f MB/s\n", w.c_str(), static_cast<double>(db_bytes) / 1e6 / secs);
    std::printf("troupe %s seconds %.2f s\n", w.c_str(), secs);
    // The sender records the transfer once the receiver's answer reached it,
    // a moment after the joiner logged ONLINE.
    for (int i = 0; i < 500 && a.n->recent_deploys().empty(); ++i) std::this_thread::sleep_for(milliseconds(10));
    for (auto& d : a.n->recent_deploys()) {
      std::printf("troupe %s wire_bytes %llu bytes\n", w.c_str(), static_cast<unsigned long long>(d.wire_bytes));
      std::printf("troupe %s sender_request_to_online %.1f MB/s\n", w.c_str(), d.bytes_per_second() / 1e6);
    }
    std::printf("troupe %s peak_rss_both_nodes %.0f MiB\n", w.c_str(), peak_rss_mib());
    std::printf("troupe %s zstd1_limit %.0f MB/s\n", w.c_str(), zstd_rate(a.home / "databases" / "bench"));
    std::printf("troupe %s loopback_tcp_limit %.0f MB/s\n", w.c_str(), tcp_rate(db_bytes));
    std::fflush(stdout);
    b.n->stop();
    a.n->stop();
    base += 10;
  }
  return 0;
}
