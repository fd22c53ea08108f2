#include <doctest/doctest.h>

#include "actors/node.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;

namespace {

server_settings settings_for(const std::filesystem::path& home, const std::string& name) {
  auto o = test::home_options(home, name);
  auto s = prepare_server(o);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
  // Private ports and group: these two must not form a cluster with anything.
  s->hazelcast.group_name = "troupe-node-test-" + name;
  s->hazelcast.port = 26434;
  s->hazelcast.members = {member_address{"127.0.0.1", {26434, 26435}}};
  for (auto& l : s->server.listeners)
    if (l.protocol == "http") l.ports = {26480, 26490};
  return *s;
}

}  // namespace

TEST_CASE("node: two nodes live side by side in one process, each with its own home") {
  test::temp_dir a_home, b_home;
  logger la("a", nullptr), lb("b", nullptr);
  std::vector<std::string> a_lines;
  la.set_tee([&](log_level, std::string_view r) { a_lines.emplace_back(r); });
  node_options ao{settings_for(a_home.path(), "alpha"), &la, 1};
  node_options bo{settings_for(b_home.path(), "beta"), &lb, 1};
  ao.create_demo = false;
  bo.create_demo = false;
  node a(std::move(ao));
  node b(std::move(bo));
  REQUIRE(a.start().ok());
  REQUIRE(b.start().ok());
  auto ia = a.info();
  auto ib = b.info();
  REQUIRE(ia.ok());
  REQUIRE(ib.ok());
  CHECK(ia->name == "alpha");
  CHECK(ib->name == "beta");
  CHECK(ia->status == "ONLINE");
  CHECK(ia->databases.empty());
  CHECK(ib->databases.empty());
  // Each has its own REST listener: the second takes the next port of the range.
  CHECK(a.http_port() != 0);
  CHECK(b.http_port() != 0);
  CHECK(a.http_port() != b.http_port());
  CHECK(ia->started_on_ms > 0);
  bool online_logged = false;
  for (auto& l : a_lines) online_logged |= l == "WARN [a] updated node status to 'ONLINE' [OHazelcastPlugin]";
  CHECK(online_logged);
  a.stop();
  CHECK_FALSE(a.info().ok());
  // b is unaffected by a's stop.
  CHECK(b.info().ok());
  b.stop();
  b.stop();  // idempotent
}
