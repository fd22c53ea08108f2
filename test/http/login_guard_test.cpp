// The login guard on a fake clock: delays, windows, bounds and log lines,
// without a single sleep.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "src/http/login_guard.hpp"

using namespace troupe;
using namespace troupe::http;
using namespace std::chrono_literals;

namespace {

struct fake_clock {
  std::chrono::steady_clock::time_point t{};  // the epoch: nothing may treat it as "never"
  login_guard::clock_fn fn() {
    return [this] { return t; };
  }
};

// A logger whose lines the test reads.
struct captured_log {
  std::vector<std::string> lines;
  logger log{"guard", [this](log_level l, std::string_view rec) {
               if (l == log_level::warn) lines.emplace_back(rec);
             }};
};

}  // namespace

TEST_CASE("login guard: three failures are free, then the delay doubles from 250 ms up to 10 s") {
  fake_clock c;
  login_guard g({}, c.fn());
  std::vector<std::chrono::milliseconds> got;
  for (int i = 0; i < 12; ++i) {
    auto v = g.failure("10.0.0.1", "root", nullptr);
    CHECK(v.failures == static_cast<uint32_t>(i + 1));
    CHECK(g.delay_for("10.0.0.1") == v.delay);
    got.push_back(v.delay);
    c.t += 1s;
  }
  std::vector<std::chrono::milliseconds> want = {0ms,    0ms,    0ms,    250ms,   500ms,   1000ms,
                                                 2000ms, 4000ms, 8000ms, 10000ms, 10000ms, 10000ms};
  CHECK(got == want);
}

TEST_CASE("login guard: a success ends the window; other addresses are not affected") {
  fake_clock c;
  login_guard g({}, c.fn());
  for (int i = 0; i < 5; ++i) g.failure("10.0.0.1", "root", nullptr);
  CHECK(g.delay_for("10.0.0.1") == 500ms);
  CHECK(g.delay_for("10.0.0.2") == 0ms);
  CHECK(g.failure("10.0.0.2", "root", nullptr).delay == 0ms);

  g.success("10.0.0.1");
  CHECK(g.delay_for("10.0.0.1") == 0ms);
  for (int i = 0; i < 3; ++i) CHECK(g.failure("10.0.0.1", "root", nullptr).delay == 0ms);
  CHECK(g.failure("10.0.0.1", "root", nullptr).delay == 250ms);

  g.success("10.9.9.9");  // unknown: nothing remembered for it
  CHECK(g.size() == 2);
}

TEST_CASE("login guard: a window ends 10 minutes after its latest failure") {
  fake_clock c;
  login_guard g({}, c.fn());
  for (int i = 0; i < 6; ++i) g.failure("10.0.0.1", "root", nullptr);
  CHECK(g.delay_for("10.0.0.1") == 1000ms);
  c.t += 599s;
  CHECK(g.delay_for("10.0.0.1") == 1000ms);
  CHECK(g.failure("10.0.0.1", "root", nullptr).delay == 2000ms);  // a failure keeps the window open
  c.t += 600s;
  CHECK(g.delay_for("10.0.0.1") == 0ms);
  auto v = g.failure("10.0.0.1", "root", nullptr);
  CHECK(v.failures == 1);
  CHECK(v.delay == 0ms);
}

TEST_CASE("login guard: at most addresses_max addresses; the one with the oldest failure goes first") {
  fake_clock c;
  login_guard_options o;
  o.addresses_max = 3;
  login_guard g(o, c.fn());
  for (auto* a : {"a", "b", "c"}) {
    for (int i = 0; i < 4; ++i) g.failure(a, "u", nullptr);
    c.t += 1s;
  }
  g.failure("a", "u", nullptr);  // "a" is now the newest; "b" the oldest
  CHECK(g.size() == 3);
  g.failure("d", "u", nullptr);
  CHECK(g.size() == 3);
  CHECK(g.delay_for("b") == 0ms);  // forgotten
  CHECK(g.delay_for("a") == 500ms);
  CHECK(g.delay_for("c") == 250ms);

  login_guard big({}, c.fn());
  for (int i = 0; i < 5000; ++i)
    big.failure("10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256), "u", nullptr);
  CHECK(big.size() == 4096);
}

TEST_CASE("login guard: one log line per address per 10 s, counting the failures since the previous line") {
  fake_clock c;
  captured_log cap;
  login_guard g({}, c.fn());
  CHECK(g.failure("10.0.0.1", "root", &cap.log).logged == 1);
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0].find("wrong user name or password from 10.0.0.1 (user 'root', 1 failures)") != std::string::npos);
  CHECK(cap.lines[0].find("[OServerNetworkListener]") != std::string::npos);
  CHECK(cap.lines[0].find("WARN") == 0);

  for (int i = 0; i < 5; ++i) {
    c.t += 1s;
    CHECK(g.failure("10.0.0.1", "admin", &cap.log).logged == 0);
  }
  // Another address has its own line at once.
  CHECK(g.failure("10.0.0.2", "x", &cap.log).logged == 1);
  CHECK(cap.lines.size() == 2);

  c.t += 5s;  // 10 s since the first line of 10.0.0.1
  auto v = g.failure("10.0.0.1", "admin", &cap.log);
  CHECK(v.logged == 6);
  REQUIRE(cap.lines.size() == 3);
  CHECK(cap.lines[2].find("from 10.0.0.1 (user 'admin', 6 failures)") != std::string::npos);

  // Failures before a success still reach the next line.
  c.t += 1s;
  g.failure("10.0.0.1", "admin", &cap.log);
  g.success("10.0.0.1");
  c.t += 10s;
  CHECK(g.failure("10.0.0.1", "admin", &cap.log).logged == 2);
}

TEST_CASE("login guard: a user name cannot forge log lines") {
  fake_clock c;
  captured_log cap;
  login_guard g({}, c.fn());
  g.failure("10.0.0.1", "x'\r\nERROR [node] forged", &cap.log);
  REQUIRE(cap.lines.size() == 1);
  CHECK(cap.lines[0].find('\n') == std::string::npos);
  CHECK(cap.lines[0].find("(user 'x???ERROR [node] forged', 1 failures)") != std::string::npos);
  g.failure("10.0.0.2", std::string(1000, 'u'), &cap.log);
  REQUIRE(cap.lines.size() == 2);
  CHECK(cap.lines[1].find("'" + std::string(user_name_log_max, 'u') + "'") != std::string::npos);
  CHECK(cap.lines[1].find(std::string(user_name_log_max + 1, 'u')) == std::string::npos);
}
