#include <doctest/doctest.h>

#include <sstream>

#include "src/config/node_name.hpp"

using namespace troupe;

namespace {

node_name_inputs inputs(std::istream* in = nullptr, std::ostream* out = nullptr) {
  node_name_inputs i;
  i.in = in;
  i.out = out;
  i.interactive = in != nullptr;
  i.now_ms = [] { return int64_t{1384014656983}; };
  return i;
}

}  // namespace

TEST_CASE("node name: the parameter wins over everything") {
  std::istringstream in("typed\n");
  std::ostringstream out;
  auto i = inputs(&in, &out);
  i.parameter = "fromparam";
  i.environment = "fromenv";
  auto c = choose_node_name(i);
  REQUIRE(c.ok());
  CHECK(c->name == "fromparam");
  CHECK(c->source == node_name_source::parameter);
  CHECK(out.str().empty());
}

TEST_CASE("node name: the environment comes next, and no prompt is shown") {
  std::istringstream in("typed\n");
  std::ostringstream out;
  auto i = inputs(&in, &out);
  i.environment = "  europe1 ";
  auto c = choose_node_name(i);
  REQUIRE(c.ok());
  CHECK(c->name == "europe1");
  CHECK(c->source == node_name_source::environment);
  CHECK(out.str().empty());
  i.environment = "bad name";
  CHECK_FALSE(choose_node_name(i).ok());
}

TEST_CASE("node name: a terminal gets the boxed prompt and the typed answer") {
  std::istringstream in("node-a\n");
  std::ostringstream out;
  auto c = choose_node_name(inputs(&in, &out));
  REQUIRE(c.ok());
  CHECK(c->name == "node-a");
  CHECK(c->source == node_name_source::prompt);
  CHECK(out.str().find("|         WARNING: FIRST DISTRIBUTED RUN CONFIGURATION          |") != std::string::npos);
  CHECK(out.str().find("Node name [BLANK=auto generate it]:") != std::string::npos);
}

TEST_CASE("node name: a blank answer or end of input generates node<epoch-millis>") {
  for (const char* answer : {"\n", "   \n", ""}) {
    std::istringstream in(answer);
    std::ostringstream out;
    auto c = choose_node_name(inputs(&in, &out));
    REQUIRE(c.ok());
    CHECK(c->name == "node1384014656983");
    CHECK(c->source == node_name_source::generated);
  }
}

TEST_CASE("node name: without a terminal the name is generated, nothing is read") {
  auto c = choose_node_name(inputs());
  REQUIRE(c.ok());
  CHECK(c->name == "node1384014656983");
}

TEST_CASE("node name: an invalid answer is refused and asked again, three times at most") {
  std::istringstream in("bad name\ngood\n");
  std::ostringstream out;
  auto c = choose_node_name(inputs(&in, &out));
  REQUIRE(c.ok());
  CHECK(c->name == "good");
  CHECK(out.str().find("'bad name' is not a valid node name") != std::string::npos);
  std::istringstream in2("a b\nc d\ne f\ng\n");
  CHECK_FALSE(choose_node_name(inputs(&in2, &out)).ok());
}
