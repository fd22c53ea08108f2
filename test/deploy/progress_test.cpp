#include <doctest/doctest.h>

#include "src/deploy/progress.hpp"

using namespace troupe;
using namespace std::chrono;

TEST_CASE("deploy progress: rate, percent and time left in words") {
  deploy::progress p;
  p.bytes_total = 100 << 20;
  p.bytes_done = 25 << 20;
  p.elapsed_ms = 1000;
  CHECK(p.bytes_per_second() == doctest::Approx(26214400.0));
  REQUIRE(p.ms_left().has_value());
  CHECK(*p.ms_left() == 3000);
  CHECK(p.describe() == "25% (25,00Mb of 100,00Mb), 26.2 MB/s, 3s left");
  p.bytes_total = 0;  // total not known yet
  CHECK_FALSE(p.ms_left().has_value());
  CHECK(p.describe() == "25,00Mb, 26.2 MB/s");
  p.elapsed_ms = 0;  // no time yet: no rate, no division by zero
  CHECK(p.bytes_per_second() == 0.0);
  CHECK(deploy::format_duration_ms(0) == "0s");
  CHECK(deploy::format_duration_ms(1) == "1s");
  CHECK(deploy::format_duration_ms(125'000) == "2m05s");
  CHECK(deploy::format_duration_ms(3'720'000) == "1h02m");
  CHECK(deploy::format_duration_ms(-5) == "0s");
}

TEST_CASE("deploy progress: the board lists transfers under way and keeps the last ones that finished") {
  deploy::progress_board b;
  auto in = b.begin("db1", false, "node1");
  auto out = b.begin("db2", true, "node3");
  CHECK(b.receiving("db1"));
  CHECK_FALSE(b.receiving("db2"));  // sent, not received
  b.update(in, "transfer", 10, 100, 4);
  b.update(999, "transfer", 1, 1, 1);  // unknown id: ignored
  auto snap = b.snapshot();
  REQUIRE(snap.size() == 2);
  CHECK(snap[0].bytes_done == 10);
  CHECK(snap[0].wire_bytes == 4);
  b.end(in, true);
  b.end(out, false);  // failed: not among the recent
  b.end(out, true);   // twice: no effect
  CHECK(b.snapshot().empty());
  REQUIRE(b.recent().size() == 1);
  CHECK(b.recent()[0].phase == "done");
  for (int i = 0; i < 40; ++i) b.end(b.begin("x", true, "y"), true);
  CHECK(b.recent().size() == deploy::progress_board::recent_max);
}

TEST_CASE("deploy progress: lines are rate-limited") {
  auto t0 = steady_clock::now();
  deploy::progress_throttle t(seconds(2));
  CHECK_FALSE(t.due(t0));  // not in the first interval: small deploys print none
  CHECK_FALSE(t.due(t0 + milliseconds(1500)));
  CHECK(t.due(t0 + milliseconds(2100)));
  CHECK_FALSE(t.due(t0 + milliseconds(2200)));
  CHECK(t.due(t0 + milliseconds(4200)));
}
