// src/cluster/links: this node's connections to the members, and what each
// event means (connect, reached, failed, dropped, stale incarnations).
#include <doctest/doctest.h>

#include "src/cluster/links.hpp"

using namespace troupe;

namespace {

member_info member(const std::string& name, const std::string& node_id) {
  member_info m;
  m.name = name;
  m.node_id = node_id;
  return m;
}

cluster_view view_of(std::vector<member_info> ms) {
  cluster_view v;
  v.members = std::move(ms);
  v.version = 1;
  return v;
}

}  // namespace

TEST_CASE("links: one attempt per member at a time, never to this node") {
  links<int> l;
  CHECK_FALSE(l.start("me", "me"));
  CHECK(l.start("b", "me"));
  CHECK(l.connecting("b"));
  CHECK_FALSE(l.start("b", "me"));  // already connecting
  auto v = view_of({member("me", "n0"), member("b", "n1")});
  CHECK(l.reached("b", "n1", 7, v));
  CHECK_FALSE(l.connecting("b"));
  REQUIRE(l.find("b") != nullptr);
  CHECK(l.find("b")->handle == 7);
  CHECK_FALSE(l.start("b", "me"));  // connected
}

TEST_CASE("links: an attempt counts only if it reached the incarnation the view names") {
  auto v = view_of({member("me", "n0"), member("b", "n1")});
  struct row {
    const char* name;
    const char* reached;
  };
  for (auto r : {row{"b", "n9"}, row{"c", "n1"}}) {  // another incarnation; not in the view
    CAPTURE(r.name);
    CAPTURE(r.reached);
    links<int> l;
    REQUIRE(l.start(r.name, "me"));
    CHECK_FALSE(l.reached(r.name, r.reached, 1, v));
    CHECK(l.find(r.name) == nullptr);
    CHECK_FALSE(l.connecting(r.name));
    CHECK(l.start(r.name, "me"));  // may be tried again
  }
}

TEST_CASE("links: a dropped connection is opened again; suspicion only when that fails") {
  auto v = view_of({member("me", "n0"), member("b", "n1")});
  links<int> l;
  l.accepted("b", "n1", 1);
  // Still in the view, not leaving: connect again, do not suspect yet.
  CHECK(l.dropped("b", true, false));
  CHECK(l.find("b") == nullptr);
  REQUIRE(l.start("b", "me"));
  CHECK(l.failed("b"));        // the reconnection failed: suspect now
  CHECK_FALSE(l.failed("b"));  // once
  // A reconnection that succeeds clears it: a later failure of a fresh attempt does not suspect.
  CHECK(l.dropped("b", true, false));
  REQUIRE(l.start("b", "me"));
  CHECK(l.reached("b", "n1", 2, v));
  l.forget("b");
  REQUIRE(l.start("b", "me"));
  CHECK_FALSE(l.failed("b"));
  // Gone from the view, or this node leaving: suspect at once.
  l.accepted("b", "n1", 3);
  CHECK_FALSE(l.dropped("b", false, false));
  l.accepted("b", "n1", 3);
  CHECK_FALSE(l.dropped("b", true, true));
}

TEST_CASE("links: a joiner's own connection replaces an attempt and an older connection") {
  links<int> l;
  REQUIRE(l.start("b", "me"));
  l.accepted("b", "n1", 5);
  CHECK_FALSE(l.connecting("b"));
  CHECK(l.find("b")->handle == 5);
  l.accepted("b", "n2", 6);
  CHECK(l.find("b")->node_id == "n2");
  CHECK(l.peers().size() == 1);
}

TEST_CASE("links: stale incarnations are dropped first, missing members connected") {
  links<int> l;
  l.accepted("b", "n1-old", 1);
  l.accepted("c", "n2", 2);
  auto v = view_of({member("me", "n0"), member("b", "n1"), member("c", "n2"), member("d", "n3")});
  CHECK(l.stale(v, "me") == std::vector<std::string>{"b"});
  for (auto& n : l.stale(v, "me")) CHECK(l.forget(n));
  std::vector<std::string> missing;
  for (auto& m : l.missing(v, "me")) missing.push_back(m.name);
  CHECK(missing == std::vector<std::string>{"b", "d"});
  CHECK_FALSE(l.forget("x"));
}
