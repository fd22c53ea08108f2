// The load side of the HTTP benchmarks: 1 KiB documents, keep-alive clients
// driven by one epoll thread (light enough to share the 2 cores with the nodes), and
// figures printed one a line as  troupe <workload> <metric> <value> <unit>.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
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
// the answer. A client whose connection fails counts a failure and reconnects;
// one that cannot connect counts a failure and stops.
//
// One thread drives every connection through epoll, as wrk -t1 does: the load
// side must stay light, because it shares the 2 cores with the nodes it
// measures (a blocking thread per client cost a context switch per request).
template <class Make, class Check>
stats run_http(const std::vector<uint16_t>& ports, int clients, run_limit limit, Make make, Check check) {
  using namespace std::chrono;
  struct conn {
    int fd = -1;
    int i = 0;  // the request in flight (or next)
    bool done = false;
    std::string out, in;
    size_t sent = 0;
    steady_clock::time_point start;
  };
  stats out;
  std::vector<std::vector<double>> lat(static_cast<size_t>(clients));
  std::vector<conn> cs(static_cast<size_t>(clients));
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) {
    out.failures = clients;
    return out;
  }
  auto t0 = steady_clock::now();
  auto close_conn = [&](conn& k) {
    if (k.fd >= 0) ::close(k.fd);  // also leaves the epoll set
    k.fd = -1;
    k.in.clear();
  };
  auto connect_to = [&](int c) {
    auto& k = cs[static_cast<size_t>(c)];
    k.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(ports[static_cast<size_t>(c) % ports.size()]);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (k.fd < 0 || ::connect(k.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close_conn(k);
      return false;
    }
    int one = 1;
    ::setsockopt(k.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(k.fd, F_SETFL, ::fcntl(k.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(c);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, k.fd, &ev);
    return true;
  };
  auto want_out = [&](int c, bool on) {
    epoll_event ev{};
    ev.events = EPOLLIN | (on ? EPOLLOUT : 0u);
    ev.data.u32 = static_cast<uint32_t>(c);
    ::epoll_ctl(ep, EPOLL_CTL_MOD, cs[static_cast<size_t>(c)].fd, &ev);
  };
  // Writes what the socket takes; false when the connection is broken.
  auto pump = [&](int c) {
    auto& k = cs[static_cast<size_t>(c)];
    while (k.sent < k.out.size()) {
      auto n = ::send(k.fd, k.out.data() + k.sent, k.out.size() - k.sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EAGAIN) {
        want_out(c, true);
        return true;
      }
      if (n <= 0) return false;
      k.sent += static_cast<size_t>(n);
    }
    return true;
  };
  int live = 0;
  // Starts client c's next request, reconnecting first if needed.
  std::function<void(int)> next = [&](int c) {
    auto& k = cs[static_cast<size_t>(c)];
    if (k.i >= limit.per_client || steady_clock::now() >= limit.until) {
      close_conn(k);
      k.done = true;
      --live;
      return;
    }
    if (k.fd < 0 && !connect_to(c)) {
      ++out.failures;  // the node is gone: nothing to measure on this client
      k.done = true;
      --live;
      return;
    }
    k.out = make(c, k.i);
    k.sent = 0;
    k.start = steady_clock::now();
    if (!pump(c)) {
      ++out.failures;
      close_conn(k);
      ++k.i;
      next(c);
    }
  };
  auto failed = [&](int c) {
    ++out.failures;
    close_conn(cs[static_cast<size_t>(c)]);
    ++cs[static_cast<size_t>(c)].i;
    next(c);
  };
  live = clients;
  for (int c = 0; c < clients; ++c) next(c);
  std::vector<epoll_event> evs(static_cast<size_t>(clients));
  char buf[65536];
  while (live > 0) {
    int n = ::epoll_wait(ep, evs.data(), clients, 100);
    for (int e = 0; e < n; ++e) {
      int c = static_cast<int>(evs[static_cast<size_t>(e)].data.u32);
      auto& k = cs[static_cast<size_t>(c)];
      if (k.done || k.fd < 0) continue;
      if ((evs[static_cast<size_t>(e)].events & EPOLLOUT) != 0) {
        if (!pump(c)) {
          failed(c);
          continue;
        }
        if (k.sent == k.out.size()) want_out(c, false);
      }
      if ((evs[static_cast<size_t>(e)].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) == 0) continue;
      bool broken = false;
      for (;;) {
        auto r = ::recv(k.fd, buf, sizeof buf, 0);
        if (r > 0) {
          k.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        broken = r == 0 || errno != EAGAIN;
        break;
      }
      test::raw_response resp;
      auto used = test::parse_response(k.in, resp);
      if (used && *used > 0) {
        k.in.erase(0, *used);
        if (check(c, k.i, resp)) {
          lat[static_cast<size_t>(c)].push_back(duration<double, std::milli>(steady_clock::now() - k.start).count());
        } else {
          ++out.failures;
        }
        ++k.i;
        if (broken) close_conn(k);
        next(c);
      } else if (!used || broken) {
        failed(c);
      }
    }
    // An answer that never comes: 30 s, then the connection is given up.
    auto now = steady_clock::now();
    for (int c = 0; c < clients; ++c)
      if (!cs[static_cast<size_t>(c)].done && cs[static_cast<size_t>(c)].fd >= 0 &&
          now - cs[static_cast<size_t>(c)].start > seconds(30))
        failed(c);
  }
  ::close(ep);
  out.seconds = duration<double>(steady_clock::now() - t0).count();
  for (auto& v : lat) out.lat_ms.insert(out.lat_ms.end(), v.begin(), v.end());
  out.lat_ms_by_client = std::move(lat);
  if (out.failures > 0) std::fprintf(stderr, "bench: %d failed requests\n", out.failures);
  return out;
}

}  // namespace troupe::bench
