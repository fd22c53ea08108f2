// OrientDB's HTTP sessions (src/http/sessions): ids, idle expiry on a fake
// clock, the bound on live sessions, and the Cookie header's parsing.
#include <doctest/doctest.h>

#include <set>

#include "src/http/sessions.hpp"

using namespace troupe::http;
using namespace std::chrono_literals;

namespace {
struct fake_clock {
  std::chrono::steady_clock::time_point t{};
  sessions::clock_fn fn() {
    return [this] { return t; };
  }
};
}  // namespace

TEST_CASE("sessions: an id is 32 random hex digits and finds its user until idle too long or closed") {
  fake_clock c;
  sessions s({300s, 100}, c.fn());
  auto id = s.open("admin", "demo");
  CHECK(id.size() == session_id_chars);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  std::set<std::string> ids{id};
  for (int i = 0; i < 50; ++i) ids.insert(s.open("u", "d"));
  CHECK(ids.size() == 51);  // never the same twice

  auto found = s.find(id);
  REQUIRE(found);
  CHECK(found->user == "admin");
  CHECK(found->db == "demo");
  c.t += 299s;
  CHECK(s.find(id));  // each use keeps it alive
  c.t += 299s;
  CHECK(s.find(id));
  c.t += 300s;
  CHECK_FALSE(s.find(id));  // idle for the timeout: gone
  auto id2 = s.open("admin", "demo");
  s.close(id2);
  CHECK_FALSE(s.find(id2));
}

TEST_CASE("sessions: ids of the wrong shape are refused, and live sessions are bounded") {
  fake_clock c;
  sessions s({300s, 3}, c.fn());
  for (std::string_view bad : {"", "x", "0123456789abcdef0123456789abcdeF", "0123456789abcdef0123456789abcde",
                               "0123456789abcdef0123456789abcdef0", "../../../../../../../../etc/pass"})
    CHECK_FALSE(s.find(bad));
  auto a = s.open("a", "d");
  c.t += 1s;
  auto b = s.open("b", "d");
  c.t += 1s;
  auto d = s.open("d", "d");
  c.t += 1s;
  CHECK(s.find(a));  // a used last now: b is the idlest
  auto e = s.open("e", "d");
  CHECK(s.size() == 3);
  CHECK_FALSE(s.find(b));
  CHECK(s.find(a));
  CHECK(s.find(d));
  CHECK(s.find(e));
}

TEST_CASE("cookie_value: the named cookie among others, or none") {
  struct row {
    std::string_view header;
    std::optional<std::string_view> value;
  } rows[] = {
      {"OSESSIONID=abc", "abc"},
      {"a=1; OSESSIONID=abc; b=2", "abc"},
      {"a=1;OSESSIONID=abc", "abc"},
      {"XOSESSIONID=abc", std::nullopt},
      {"OSESSIONID", std::nullopt},
      {"", std::nullopt},
      {";;;", std::nullopt},
      {"OSESSIONID=", ""},
  };
  for (auto& r : rows) {
    CAPTURE(r.header);
    CHECK(cookie_value(r.header, "OSESSIONID") == r.value);
  }
}
