#include <doctest/doctest.h>

#include <map>

#include "src/cluster/addresses.hpp"

using namespace troupe;

namespace {

// A made-up host: its addresses, and which local address routes to which peer.
host_network fake_host(std::vector<std::string> addresses, std::map<std::string, std::string> routes,
                       std::map<std::string, std::vector<std::string>> names = {}) {
  host_network net;
  net.addresses = std::move(addresses);
  net.route_source = [routes](const std::string& ip) {
    auto it = routes.find(ip);
    return it == routes.end() ? std::string() : it->second;
  };
  net.resolve = [names](const std::string& host) -> std::vector<std::string> {
    if (auto it = names.find(host); it != names.end()) return it->second;
    if (std::count(host.begin(), host.end(), '.') == 3 && host.find_first_not_of("0123456789.") == std::string::npos)
      return {host};
    return {};
  };
  return net;
}

hazelcast_config members(std::vector<std::string> list) {
  hazelcast_config hz;
  hz.path = "config/hazelcast.xml";
  for (auto& m : list) hz.members.push_back(*parse_member(m, hz.port));
  return hz;
}

}  // namespace

TEST_CASE("addresses: interface patterns follow Hazelcast's syntax") {
  CHECK(valid_interface_pattern("10.77.0.1"));
  CHECK(valid_interface_pattern("10.77.0.*"));
  CHECK(valid_interface_pattern("10.3.10.4-18"));
  CHECK(valid_interface_pattern("*.*.*.*"));
  for (auto bad : {"", "10.77.0", "10.77.0.1.2", "10.77.0.256", "10.77.0.18-4", "10.77.0.x", "10.77..1", "::1",
                   "10.77.0.-1", "10.77.0.1-", "host1"})
    CHECK_MESSAGE(!valid_interface_pattern(bad), bad);
  CHECK(interface_matches("10.77.0.*", "10.77.0.3"));
  CHECK(interface_matches("10.3.10.4-18", "10.3.10.18"));
  CHECK_FALSE(interface_matches("10.3.10.4-18", "10.3.10.19"));
  CHECK_FALSE(interface_matches("10.77.0.*", "10.77.1.3"));
  CHECK_FALSE(interface_matches("10.77.0.*", "fe80::1"));
  CHECK_FALSE(interface_matches("10.77.0.*", "host1"));
}

TEST_CASE("addresses: on one host (the tutorial's copies) the node binds and advertises 127.0.0.1") {
  auto hz = members({"127.0.0.1:2434-2440"});
  auto p = plan_addresses(hz, "0.0.0.0", "server.xml", fake_host({"127.0.0.1", "192.168.1.5"}, {{"127.0.0.1", "127.0.0.1"}}));
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().render()));
  CHECK(p->cluster_bind == "127.0.0.1");
  CHECK(p->cluster_host == "127.0.0.1");
  CHECK(p->http_host == "127.0.0.1");
  CHECK(p->warnings.empty());
  CHECK(is_own_endpoint(*p, "127.0.0.1", 2435, 2435));
  CHECK_FALSE(is_own_endpoint(*p, "127.0.0.1", 2434, 2435));  // another copy on this host
}

TEST_CASE("addresses: on many hosts the node takes the interface that routes to the first other member") {
  auto hz = members({"10.77.0.1:2434", "10.77.0.2:2434", "10.77.0.3:2434"});
  auto host2 = fake_host({"127.0.0.1", "10.77.0.2", "172.17.0.9"},
                         {{"10.77.0.1", "10.77.0.2"}, {"10.77.0.3", "10.77.0.2"}});
  auto p = plan_addresses(hz, "0.0.0.0", "server.xml", host2);
  REQUIRE(p.ok());
  CHECK(p->cluster_bind == "10.77.0.2");
  CHECK(p->cluster_host == "10.77.0.2");
  CHECK(p->http_host == "10.77.0.2");
  CHECK(p->why.find("10.77.0.1") != std::string::npos);
  // Reachable from other hosts with the shipped group password: said at every start.
  REQUIRE(p->warnings.size() == 1);
  CHECK(p->warnings[0].find("shipped group password") != std::string::npos);
  hz.group_password = "a-secret-of-our-own";
  CHECK(plan_addresses(hz, "0.0.0.0", "server.xml", host2)->warnings.empty());
  // Its own entry in the member list is skipped, the others are not.
  CHECK(is_own_endpoint(*p, "10.77.0.2", 2434, 2434));
  CHECK_FALSE(is_own_endpoint(*p, "10.77.0.1", 2434, 2434));
  CHECK_FALSE(is_own_endpoint(*p, "10.77.0.3", 2434, 2434));

  SUBCASE("the first member is itself: the next one decides") {
    auto host1 = fake_host({"127.0.0.1", "10.77.0.1"}, {{"10.77.0.2", "10.77.0.1"}, {"10.77.0.3", "10.77.0.1"}});
    auto q = plan_addresses(hz, "0.0.0.0", "server.xml", host1);
    REQUIRE(q.ok());
    CHECK(q->cluster_bind == "10.77.0.1");
    CHECK(q->why.find("10.77.0.2") != std::string::npos);
  }
  SUBCASE("members named by host name") {
    auto named = members({"db1:2434", "db2:2434"});
    auto h = fake_host({"127.0.0.1", "10.77.0.1"}, {{"10.77.0.2", "10.77.0.1"}},
                       {{"db1", {"10.77.0.1"}}, {"db2", {"10.77.0.2"}}});
    auto q = plan_addresses(named, "0.0.0.0", "server.xml", h);
    REQUIRE(q.ok());
    CHECK(q->cluster_bind == "10.77.0.1");
    CHECK(is_own_endpoint(*q, "db1", 2434, 2434));
    CHECK_FALSE(is_own_endpoint(*q, "db2", 2434, 2434));
  }
  SUBCASE("no member is reachable: loopback, with a warning") {
    auto lonely = fake_host({"127.0.0.1", "10.9.0.1"}, {});
    auto q = plan_addresses(hz, "0.0.0.0", "server.xml", lonely);
    REQUIRE(q.ok());
    CHECK(q->cluster_bind == "127.0.0.1");
    REQUIRE(q->warnings.size() == 1);
    CHECK(q->warnings[0].find("other hosts cannot join") != std::string::npos);
  }
}

TEST_CASE("addresses: <interfaces> and <public-address> decide when configured") {
  auto hz = members({"10.77.0.1:2434", "10.77.0.2:2434"});
  auto host = fake_host({"127.0.0.1", "192.168.7.4", "10.77.0.2"}, {{"10.77.0.1", "192.168.7.4"}});
  hz.interfaces = {"10.99.*.*", "10.77.0.*"};
  auto p = plan_addresses(hz, "0.0.0.0", "server.xml", host);
  REQUIRE(p.ok());
  CHECK(p->cluster_bind == "10.77.0.2");  // not what the route says
  CHECK(p->why.find("10.77.0.*") != std::string::npos);

  SUBCASE("a public address is told, the interface is bound") {
    hz.public_host = "203.0.113.7";
    hz.public_port = 5701;
    auto q = plan_addresses(hz, "0.0.0.0", "server.xml", host);
    REQUIRE(q.ok());
    CHECK(q->cluster_bind == "10.77.0.2");
    CHECK(q->cluster_host == "203.0.113.7");
    CHECK(q->cluster_port == 5701);
    CHECK(q->http_host == "203.0.113.7");
    CHECK(is_own_endpoint(*q, "203.0.113.7", 5701, 2434));
  }
  SUBCASE("no address of this host matches: refused, naming the patterns and the addresses") {
    hz.interfaces = {"10.99.0.*"};
    auto q = plan_addresses(hz, "0.0.0.0", "server.xml", host);
    REQUIRE_FALSE(q.ok());
    auto text = q.error().render();
    CHECK(text.find("10.99.0.*") != std::string::npos);
    CHECK(text.find("192.168.7.4") != std::string::npos);
    CHECK(text.find("hazelcast.xml") != std::string::npos);
  }
}

TEST_CASE("addresses: the http listener's ip-address is told when it names one, and must be on this host") {
  auto hz = members({"10.77.0.1:2434"});
  auto host = fake_host({"127.0.0.1", "10.77.0.2", "192.168.7.4"}, {{"10.77.0.1", "10.77.0.2"}});
  auto p = plan_addresses(hz, "192.168.7.4", "server.xml", host);
  REQUIRE(p.ok());
  CHECK(p->http_host == "192.168.7.4");
  CHECK(p->cluster_host == "10.77.0.2");
  auto bad = plan_addresses(hz, "10.1.2.3", "config/orientdb-server-config.xml", host);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().render().find("orientdb-server-config.xml") != std::string::npos);
  CHECK(bad.error().render().find("10.1.2.3 is not an address of this host") != std::string::npos);
}

TEST_CASE("addresses: this machine's network lists loopback and routes loopback to itself") {
  auto net = system_network();
  CHECK(std::find(net.addresses.begin(), net.addresses.end(), "127.0.0.1") != net.addresses.end());
  CHECK(net.route_source("127.0.0.1") == "127.0.0.1");
  CHECK(net.resolve("127.0.0.1") == std::vector<std::string>{"127.0.0.1"});
  CHECK(net.route_source("not an address").empty());
}
