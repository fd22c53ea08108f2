#include <doctest/doctest.h>

#include "src/util/strings.hpp"

using namespace troupe;

TEST_CASE("strings: parse_int takes whole decimal numbers in range only") {
  CHECK(parse_int("2480", 1, 65535) == 2480);
  CHECK_FALSE(parse_int("", 1, 65535));
  CHECK_FALSE(parse_int("0", 1, 65535));
  CHECK_FALSE(parse_int("65536", 1, 65535));
  CHECK_FALSE(parse_int("-1", -5, 5));
  CHECK_FALSE(parse_int("+1", 0, 5));
  CHECK_FALSE(parse_int("12a", 0, 100));
  CHECK_FALSE(parse_int(" 12", 0, 100));
  CHECK_FALSE(parse_int("99999999999999999999", 0, INT64_MAX));
}

TEST_CASE("strings: node names are 1-64 characters of a narrow alphabet") {
  CHECK(valid_node_name("node1384014656983"));
  CHECK(valid_node_name("europe-1.a_b"));
  CHECK_FALSE(valid_node_name(""));
  CHECK_FALSE(valid_node_name("has space"));
  CHECK_FALSE(valid_node_name("slash/name"));
  CHECK_FALSE(valid_node_name("<NEW_NODE>"));
  CHECK_FALSE(valid_node_name(std::string(65, 'a')));
}

TEST_CASE("strings: line_of counts lines from 1") {
  CHECK(line_of("abc", 0) == 1);
  CHECK(line_of("a\nb\nc", 4) == 3);
  CHECK(line_of("a\n", 100) == 2);
}
