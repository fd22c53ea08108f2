#include <doctest/doctest.h>

#include "src/config/hazelcast_config.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;

TEST_CASE("hazelcast config: the shipped file parses and agrees with the code's defaults") {
  auto c = load_hazelcast_config(test::shipped_config_dir() / "hazelcast.xml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  hazelcast_config defaults;
  CHECK(c->group_name == defaults.group_name);
  CHECK(c->group_password == defaults.group_password);
  CHECK(c->port == defaults.port);
  CHECK(c->port == 2434);
  CHECK(c->auto_increment);
  CHECK(c->heartbeat_interval == defaults.heartbeat_interval);
  CHECK(c->heartbeat_timeout == defaults.heartbeat_timeout);
  CHECK(c->join_wait == defaults.join_wait);
  REQUIRE(c->members.size() == 1);
  CHECK(c->members[0].host == "127.0.0.1");
  CHECK(c->members[0].ports.first == 2434);
  CHECK(c->members[0].ports.last == 2440);
  CHECK(c->notices.empty());
}

TEST_CASE("hazelcast config: OrientDB 1.6's multicast file is accepted and falls back to loopback tcp-ip") {
  const char* xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<hazelcast xsi:schemaLocation="http://www.hazelcast.com/schema/config hazelcast-config-3.0.xsd"
           xmlns="http://www.hazelcast.com/schema/config" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <group><name>orientdb</name><password>orientdb</password></group>
  <network>
    <port auto-increment="true">2434</port>
    <join>
      <multicast enabled="true"><multicast-group>235.1.1.1</multicast-group><multicast-port>2434</multicast-port></multicast>
    </join>
  </network>
  <executor-service><pool-size>16</pool-size></executor-service>
</hazelcast>)";
  auto c = parse_hazelcast_config(xml, "hazelcast.xml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  REQUIRE(c->members.size() == 1);
  CHECK(c->members[0].ports.first == 2434);
  CHECK(c->members[0].ports.last == 2440);
  bool told = false;
  for (auto& n : c->notices) told |= n.find("multicast join is not supported") != std::string::npos &&
                                     n.find("127.0.0.1:2434-2440") != std::string::npos;
  CHECK(told);
  CHECK(c->notices.size() == 2);  // multicast + <executor-service>
}

TEST_CASE("hazelcast config: tcp-ip members in every accepted form") {
  const char* xml = R"(<hazelcast><group><name>g</name><password>p</password></group>
  <network><port auto-increment="false">2500</port><join>
    <multicast enabled="false"/>
    <tcp-ip enabled="true"><member>10.0.0.1:2434</member><member>host-b</member>
      <members>10.0.0.2:2434-2436, 10.0.0.3</members></tcp-ip>
  </join></network></hazelcast>)";
  auto c = parse_hazelcast_config(xml, "h.xml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  CHECK_FALSE(c->auto_increment);
  CHECK(c->port == 2500);
  REQUIRE(c->members.size() == 4);
  CHECK(c->members[0].host == "10.0.0.1");
  CHECK(c->members[0].ports.last == 2434);
  CHECK(c->members[1].host == "host-b");
  CHECK(c->members[1].ports.first == 2500);
  CHECK(c->members[1].ports.last == 2506);
  CHECK(c->members[2].ports.last == 2436);
  CHECK(c->members[3].host == "10.0.0.3");
}

TEST_CASE("hazelcast config: a member address range in the last octet is one member per address") {
  const char* xml = R"(<hazelcast><group><name>g</name><password>p</password></group>
  <network><port>2434</port><join><tcp-ip enabled="true"><member>10.0.1.2-4:2434</member>
    <member>db-2</member><members>10.0.2.9-9</members></tcp-ip></join></network></hazelcast>)";
  auto c = parse_hazelcast_config(xml, "h.xml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  REQUIRE(c->members.size() == 5);
  CHECK(c->members[0].host == "10.0.1.2");
  CHECK(c->members[2].host == "10.0.1.4");
  CHECK(c->members[2].ports.first == 2434);
  CHECK(c->members[2].ports.last == 2434);
  CHECK(c->members[3].host == "db-2");  // a host name with a dash is a name
  CHECK(c->members[4].host == "10.0.2.9");
  CHECK_FALSE(expand_address_range("10.0.1.7-2").has_value());
  CHECK_FALSE(expand_address_range("10.0.1.2-256").has_value());
  CHECK(expand_address_range("my-host.example.org") == std::vector<std::string>{"my-host.example.org"});
}

TEST_CASE("hazelcast config: <interfaces> and <public-address> as Hazelcast spells them") {
  const char* xml = R"(<hazelcast><group><name>g</name><password>p</password></group>
  <network><port>2434</port><public-address>db1.example.org:5701</public-address>
    <interfaces enabled="true"><interface>10.77.0.*</interface><interface>10.3.10.4-18</interface></interfaces>
    <join><tcp-ip enabled="true"><member>10.77.0.1</member></tcp-ip></join>
    <ssl enabled="false"/></network></hazelcast>)";
  auto c = parse_hazelcast_config(xml, "h.xml");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  CHECK(c->interfaces == std::vector<std::string>{"10.77.0.*", "10.3.10.4-18"});
  CHECK(c->public_host == "db1.example.org");
  CHECK(c->public_port == 5701);
  REQUIRE(c->notices.size() == 1);
  CHECK(c->notices[0].find("ignored element <ssl> in <network>") != std::string::npos);

  SUBCASE("disabled interfaces are not used; a public address without a port keeps the bound one") {
    const char* off = R"(<hazelcast><group><name>g</name><password>p</password></group>
    <network><port>2434</port><public-address>10.0.0.7</public-address>
      <interfaces enabled="false"><interface>10.77.0.*</interface></interfaces></network></hazelcast>)";
    auto d = parse_hazelcast_config(off, "h.xml");
    REQUIRE_MESSAGE(d.ok(), (d.ok() ? "" : d.error().render()));
    CHECK(d->interfaces.empty());
    CHECK(d->public_host == "10.0.0.7");
    CHECK(d->public_port == 0);
  }
}

TEST_CASE("hazelcast config: bad inputs get one clear error") {
  auto doc = [](const std::string& group, const std::string& network, const std::string& props = "") {
    return "<hazelcast>" + group + network + props + "</hazelcast>";
  };
  const std::string g = "<group><name>g</name><password>p</password></group>";
  const std::string n = "<network><port>2434</port></network>";
  struct bad {
    const char* name;
    std::string xml;
    const char* expect;
  };
  std::vector<bad> table = {
      {"malformed", "<hazelcast><group>", "malformed XML"},
      {"wrong root", "<orient-server/>", "root element must be <hazelcast>"},
      {"no group", doc("", n), "missing the required element <group>"},
      {"no group name", doc("<group><password>p</password></group>", n), "<group> is missing <name>"},
      {"no password", doc("<group><name>g</name></group>", n), "<group> is missing <password>"},
      {"empty password", doc("<group><name>g</name><password> </password></group>", n), "group password is empty"},
      {"no network", doc(g, ""), "missing the required element <network>"},
      {"no port", doc(g, "<network/>"), "<network> is missing <port>"},
      {"port not a number", doc(g, "<network><port>abc</port></network>"), "<port> must be a port"},
      {"port too big", doc(g, "<network><port>99999</port></network>"), "<port> must be a port"},
      {"auto-increment not boolean", doc(g, R"(<network><port auto-increment="maybe">1</port></network>)"),
       "auto-increment must be true or false"},
      {"bad member", doc(g, R"(<network><port>2434</port><join><tcp-ip enabled="true"><member>a b:1</member></tcp-ip></join></network>)"),
       "member 'a b:1' is not"},
      {"member range upside down",
       doc(g, R"(<network><port>2434</port><join><tcp-ip enabled="true"><member>h:9-1</member></tcp-ip></join></network>)"),
       "member 'h:9-1' is not"},
      {"interface not a pattern",
       doc(g, R"(<network><port>2434</port><interfaces enabled="true"><interface>10.0.0</interface></interfaces></network>)"),
       "interface '10.0.0' is not an IPv4 address pattern"},
      {"interface range upside down",
       doc(g, R"(<network><port>2434</port><interfaces enabled="true"><interface>10.0.0.9-1</interface></interfaces></network>)"),
       "interface '10.0.0.9-1' is not"},
      {"interfaces enabled but empty",
       doc(g, R"(<network><port>2434</port><interfaces enabled="true"></interfaces></network>)"), "lists no <interface>"},
      {"interfaces enabled not boolean",
       doc(g, R"(<network><port>2434</port><interfaces enabled="yes please"/></network>)"),
       "interfaces enabled must be true or false"},
      {"public address empty", doc(g, "<network><port>2434</port><public-address> </public-address></network>"),
       "public-address '' is not host or host:port"},
      {"public address with a range",
       doc(g, "<network><port>2434</port><public-address>10.0.0.1:1-5</public-address></network>"),
       "public-address '10.0.0.1:1-5' is not host or host:port"},
      {"public address with a bad port",
       doc(g, "<network><port>2434</port><public-address>10.0.0.1:http</public-address></network>"),
       "public-address '10.0.0.1:http' is not"},
      {"member range upside down in the address",
       doc(g, R"(<network><port>2434</port><join><tcp-ip enabled="true"><member>10.0.0.9-2</member></tcp-ip></join></network>)"),
       "address range that is upside down"},
      {"heartbeat not a number",
       doc(g, n, R"(<properties><property name="troupe.heartbeat.interval.ms">fast</property></properties>)"),
       "troupe.heartbeat.interval.ms' must be a whole number"},
      {"timeout below interval",
       doc(g, n,
           R"(<properties><property name="troupe.heartbeat.interval.ms">1000</property><property name="troupe.heartbeat.timeout.ms">500</property></properties>)"),
       "must be larger than troupe.heartbeat.interval.ms"},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    auto c = parse_hazelcast_config(b.xml, "config/hazelcast.xml");
    REQUIRE_FALSE(c.ok());
    auto msg = c.error().render();
    CAPTURE(msg);
    CHECK(msg.find(b.expect) != std::string::npos);
    CHECK(msg.rfind("config/hazelcast.xml: ", 0) == 0);
  }
}
