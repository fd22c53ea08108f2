// config/hazelcast.xml, read into typed structs.
//
// troupe does not run Hazelcast; it keeps the file users know and gives its
// elements the same meaning: group name/password are the cluster credentials,
// <port auto-increment> the cluster port, <join><tcp-ip> the members to contact.
// Multicast is not supported: it is reported in `notices` and the tcp-ip members
// (or the loopback default) are used instead. Parsing never writes anything.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "src/config/server_config.hpp"
#include "src/util/result.hpp"

namespace troupe {

struct member_address {
  std::string host;
  port_range ports;
};

struct hazelcast_config {
  std::filesystem::path path;
  std::string group_name = "orientdb";
  std::string group_password = "orientdb";
  uint16_t port = 2434;
  bool auto_increment = true;
  uint16_t port_count = 100;  // how many ports auto-increment may try
  std::vector<member_address> members;  // never empty after parsing
  // <network><interfaces enabled="true"><interface>10.77.0.*</interface>: the
  // cluster endpoint binds the first address of this host that one of these
  // patterns matches (Hazelcast's syntax: per octet a number, "*" or a range
  // "4-18"). Empty: not configured (src/cluster/addresses.hpp chooses).
  std::vector<std::string> interfaces;
  // <network><public-address>host[:port]: what the other members are told to
  // connect to (behind NAT, say); empty: the bound address. public_port 0: the
  // port bound.
  std::string public_host;
  uint16_t public_port = 0;
  // <network><symmetric-encryption enabled="true">: cluster links are
  // encrypted (AES-256-GCM under a key from the group name and password), not
  // only authenticated. Every node must say the same.
  bool encrypt_links = false;
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds heartbeat_timeout{3000};
  std::chrono::milliseconds join_wait{3000};
  std::vector<std::string> notices;
};

// Whether `pattern` is a Hazelcast interface pattern: four dot-separated octets,
// each a number 0-255, "*" or a range "a-b" (a <= b).
bool valid_interface_pattern(std::string_view pattern);
// Whether the IPv4 address `ip` (dotted quad) matches `pattern`. False for
// anything that is not a dotted quad (IPv6 addresses, host names).
bool interface_matches(std::string_view pattern, std::string_view ip);

// Hazelcast's member address range: "10.0.1.2-7" is 10.0.1.2 .. 10.0.1.7; any
// other host is itself. nullopt: a range that is upside down or past 255.
std::optional<std::vector<std::string>> expand_address_range(const std::string& host);

// "host:port", "host:first-last" or "host" (then base_port .. base_port+6).
std::optional<member_address> parse_member(std::string_view s, uint16_t base_port);

result<hazelcast_config> parse_hazelcast_config(std::string_view xml, const std::filesystem::path& path);
result<hazelcast_config> load_hazelcast_config(const std::filesystem::path& path);

}  // namespace troupe
