#include <doctest/doctest.h>

#include <string>

#include "src/storage/rid.hpp"

using troupe::storage::rid;

TEST_CASE("storage: rid: formats as #cluster:position") {
  CHECK(rid{9, 0}.to_string() == "#9:0");
  CHECK(rid{0, 0}.to_string() == "#0:0");
  CHECK(rid{32767, INT64_MAX}.to_string() == "#32767:9223372036854775807");
}

TEST_CASE("storage: rid: parses with or without '#' and round-trips") {
  CHECK(rid::parse("#12:34") == rid{12, 34});
  CHECK(rid::parse("12:34") == rid{12, 34});
  CHECK(rid::parse("#0:0") == rid{0, 0});
  CHECK(rid::parse("#32767:9223372036854775807") == rid{32767, INT64_MAX});
  for (rid r : {rid{0, 0}, rid{3, 17}, rid{32767, 0}, rid{5, INT64_MAX}}) {
    CAPTURE(r.to_string());
    CHECK(rid::parse(r.to_string()) == r);
  }
}

TEST_CASE("storage: rid: orders by cluster, then position") {
  CHECK(rid{1, 99} < rid{2, 0});
  CHECK(rid{2, 1} < rid{2, 10});
}

TEST_CASE("storage: rid: refuses malformed strings") {
  const char* bad[] = {
      "",                            // empty
      "#",                           // no parts
      ":",                           // empty parts
      "#:5",                         // empty cluster
      "#5:",                         // empty position
      "#5",                          // no colon
      "5",                           // no colon, no '#'
      "#-1:0",                       // negative cluster
      "#1:-1",                       // negative position
      "#+1:0",                       // leading '+'
      "#1:+0",                       // leading '+' on position
      " #1:0",                       // leading space
      "#1:0 ",                       // trailing space
      "# 1:0",                       // space after '#'
      "#1 :0",                       // space before ':'
      "#1: 0",                       // space after ':'
      "##1:0",                       // two '#'
      "#1:2:3",                      // two colons
      "#1:2x",                       // junk after position
      "#a:1",                        // letters
      "#1.5:2",                      // not an integer
      "#32768:0",                    // cluster out of range
      "#99999999999:0",              // cluster far out of range
      "#1:9223372036854775808",      // position overflows int64
      "#1:99999999999999999999",     // position far too long
      "#0x1:0",                      // hex
      "#1;0",                        // wrong separator
      "1:0#",                        // '#' at the end
  };
  for (const char* s : bad) {
    CAPTURE(std::string(s));
    CHECK_FALSE(rid::parse(s).has_value());
  }
  // An embedded NUL must not end the string early.
  CHECK_FALSE(rid::parse(std::string_view("#1:2\0", 5)).has_value());
}

TEST_CASE("storage: rid: invalid RIDs from outside are told apart and still print (never abort)") {
  using troupe::storage::rid;
  CHECK(rid{0, 0}.valid());
  CHECK(rid{32767, INT64_MAX}.valid());
  for (auto bad : {rid{-1, 0}, rid{32768, 0}, rid{0, -1}, rid{INT32_MIN, INT64_MIN}}) {
    CHECK_FALSE(bad.valid());
    CHECK(bad.to_string().front() == '#');
  }
  CHECK(rid{-1, 0}.to_string() == "#-1:0");
}
