// Which addresses a node binds and which it tells the others, from the
// configuration and the host's interfaces (plain code: no CAF).
//
// The rule, in order (plan_addresses):
//   cluster bind   <interfaces enabled="true"> in hazelcast.xml: the first
//                  address of this host that a pattern matches (patterns in
//                  their order); none matches: an error naming the patterns and
//                  the host's addresses. Not configured: the address of the
//                  interface that routes to the first tcp-ip member that is not
//                  this host (the kernel's choice, as a connection to it would
//                  make), so the same copied home works on one host (members on
//                  127.0.0.1: 127.0.0.1) and on many (members 10.0.0.1..3: the
//                  10.0.0.x address). No member routable: 127.0.0.1, with a
//                  warning that other hosts cannot reach this node.
//   cluster told   <public-address> when set (host, and its port if given),
//                  else the bound address: never 0.0.0.0.
//   http told      the http listener's ip-address when it names one address
//                  (it must be on this host), else the cluster's told host.
// `own_hosts` lists every name and address under which this node may appear in
// the tcp-ip member list, so that probing skips itself (its own address with
// its own port) whatever the list says.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "src/config/hazelcast_config.hpp"
#include "src/util/result.hpp"

namespace troupe {

// The host's network as seen by this process: a seam, so tests describe any
// host without having it.
struct host_network {
  // IPv4 addresses of this host's interfaces that are up, loopback included.
  std::vector<std::string> addresses;
  // The local address the kernel would use to reach `ip` ("" when there is no route).
  std::function<std::string(const std::string& ip)> route_source;
  // The IPv4 addresses of a host name (a dotted quad is returned as is); empty when unknown.
  std::function<std::vector<std::string>(const std::string& host)> resolve;
};

// This process's network: getifaddrs, a connected UDP socket's local address
// (nothing is sent), getaddrinfo.
host_network system_network();

struct address_plan {
  std::string cluster_bind;        // the address the cluster endpoint binds (never 0.0.0.0)
  std::string cluster_host;        // what other members are told to connect to
  uint16_t cluster_port = 0;       // 0: the port bound; else <public-address>'s port
  std::string http_host;           // what clients are told for the REST API
  std::string why;                 // one phrase for the start-up log: how the bind address was chosen
  std::vector<std::string> warnings;  // for the log (no member routable, ...)
  std::set<std::string> own_hosts;    // names and addresses of this node in the member list
};

// REQUIRES: `net.route_source` and `net.resolve` set. `http_ip`: the http
// listener's ip-address ("0.0.0.0" or "" for all interfaces). Errors name the
// file and element to change.
result<address_plan> plan_addresses(const hazelcast_config& hz, const std::string& http_ip,
                                    const std::string& server_config_file, const host_network& net);

// Whether the tcp-ip candidate host:port is this node: one of its own hosts, on
// the port it bound (or was told to advertise).
bool is_own_endpoint(const address_plan& plan, const std::string& host, uint16_t port, uint16_t bound_port);

}  // namespace troupe
