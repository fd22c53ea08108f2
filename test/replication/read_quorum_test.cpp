// replication::plan_read and read_gather, the quorum read rule the cluster
// actor runs for a REST read with readQuorum above 1.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "src/replication/read_quorum.hpp"
#include "test/replication/fixtures.hpp"

using namespace troupe::replication;
using namespace troupe::replication::testing;
namespace json = boost::json;

namespace {

std::string missing_of(const std::string& body) {
  return json::serialize(json::parse(body).at("missing"));
}

}  // namespace

TEST_CASE("plan_read: whom to ask, whether the owner is awaited, when to refuse at once") {
  struct row {
    uint32_t quorum;
    std::string self;
    std::vector<std::string> online;
    std::set<std::string> connected;
    read_plan::kind what;
    std::vector<std::string> ask;
    std::string owner;
  };
  using k = read_plan::kind;
  std::vector<row> rows{
      {1, "b", {"a", "b", "c"}, {"a", "c"}, k::answer_here, {}, ""},      // quorum 1: this copy
      {0, "b", {"a", "b", "c"}, {}, k::answer_here, {}, ""},              // 0 counts as 1
      {2, "b", {"a", "b", "c"}, {"a", "c"}, k::ask, {"a", "c"}, "a"},     // the owner a is awaited
      {2, "a", {"a", "b", "c"}, {"b", "c"}, k::ask, {"b", "c"}, ""},      // we are the owner
      {2, "b", {"b", "c"}, {"a", "c"}, k::ask, {"c"}, ""},                // a offline: b (we) owns
      {3, "b", {"a", "b", "c"}, {"a"}, k::refuse, {}, ""},                // c not connected: 2 < 3
      {2, "b", {"b"}, {"a", "c"}, k::refuse, {}, ""},                     // nobody else online
      {3, "c", {"a", "b", "c"}, {"a", "b"}, k::ask, {"a", "b"}, "a"},
  };
  for (auto& r : rows) {
    CAPTURE(r.quorum);
    CAPTURE(r.self);
    auto p = plan_read("demo", r.quorum, three(r.online), r.self, r.connected);
    CHECK(p.what == r.what);
    CHECK(p.ask == r.ask);
    CHECK(p.await_owner == r.owner);
    if (r.what == k::refuse) {
      auto js = json::parse(p.refusal);
      CHECK(js.at("content").as_string() == json::string("Read quorum " + std::to_string(r.quorum) +
                                                         " not reached for database demo"));
      CHECK(js.at("answered") == json::parse("[\"" + r.self + "\"]"));
      CHECK(!js.as_object().contains("outcome"));  // a read has no outcome
    } else {
      CHECK(p.refusal.empty());
    }
  }
}

TEST_CASE("read_gather: answers once enough copies are in, with the newest") {
  auto p = plan_read("demo", 2, three({"a", "b", "c"}), "b", {"a", "c"});
  REQUIRE(p.what == read_plan::kind::ask);
  read_gather g("demo", 2, {"a", "b", "c"}, "b", 5, p);
  bool newest = false;
  // c is enough by count, but the owner a has not answered: wait.
  CHECK(g.answered("c", 4, &newest) == read_gather::step::wait);
  CHECK_FALSE(newest);  // 4 is older than our own 5
  CHECK(g.answered("a", 7, &newest) == read_gather::step::answer);
  CHECK(newest);
  // Late answers after the decision are ignored.
  CHECK(g.answered("x", 9, &newest) == read_gather::step::decided);
  CHECK_FALSE(newest);
  CHECK(g.failed() == read_gather::step::decided);
}

TEST_CASE("read_gather: without the owner awaited, the first answer of a quorum of 2 decides") {
  auto p = plan_read("demo", 2, three({"a", "b", "c"}), "a", {"b", "c"});
  read_gather g("demo", 2, {"a", "b", "c"}, "a", 3, p);
  bool newest = false;
  CHECK(g.answered("c", 3, &newest) == read_gather::step::answer);
  CHECK_FALSE(newest);  // equal is not newer: our copy stays
}

TEST_CASE("read_gather: every answer in without enough is refused with who answered and who is missing") {
  auto p = plan_read("demo", 3, three({"a", "b", "c"}), "b", {"a", "c"});
  read_gather g("demo", 3, {"a", "b", "c"}, "b", 1, p);
  bool newest = false;
  CHECK(g.failed() == read_gather::step::wait);
  CHECK(g.answered("c", 1, &newest) == read_gather::step::refuse);
  auto js = json::parse(g.refusal());
  CHECK(js.at("answered") == json::parse(R"(["b","c"])"));
  CHECK(missing_of(g.refusal()) == R"(["a"])");
  CHECK(g.answered("a", 1, &newest) == read_gather::step::decided);
}

TEST_CASE("read_gather: the owner failing means no answer even with enough replicas") {
  role r;
  r.db = "demo";
  r.servers = {"a", "b", "c", "d"};
  r.online = {"a", "b", "c", "d"};
  auto p = plan_read("demo", 2, r, "d", {"a", "b", "c"});
  REQUIRE(p.await_owner == "a");
  read_gather g("demo", 2, r.servers, "d", 0, p);
  bool newest = false;
  CHECK(g.answered("b", 1, &newest) == read_gather::step::wait);
  CHECK(g.answered("c", 2, &newest) == read_gather::step::wait);
  CHECK(g.failed() == read_gather::step::refuse);  // the owner's copy never came
  CHECK(missing_of(g.refusal()) == R"(["a"])");
}
