#include "src/cluster/addresses.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "src/util/strings.hpp"

namespace troupe {

namespace {

std::string ntop(const in_addr& a) {
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

bool is_any(const std::string& ip) { return ip.empty() || ip == "0.0.0.0" || ip == "::" || ip == "*"; }

std::string joined(const std::vector<std::string>& xs) {
  std::string out;
  for (auto& x : xs) out += cat(out.empty() ? "" : ", ", x);
  return out.empty() ? "none" : out;
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

}  // namespace

host_network system_network() {
  host_network net;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) == 0) {
    for (auto* i = list; i != nullptr; i = i->ifa_next) {
      if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_UP) == 0) continue;
      auto ip = ntop(reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr);
      if (!contains(net.addresses, ip)) net.addresses.push_back(ip);
    }
    ::freeifaddrs(list);
  }
  net.route_source = [](const std::string& ip) -> std::string {
    // connect() on a UDP socket only looks up the route: nothing is sent.
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    if (::inet_pton(AF_INET, ip.c_str(), &to.sin_addr) != 1) return "";
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return "";
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
      sockaddr_in me{};
      socklen_t len = sizeof me;
      if (::getsockname(fd, reinterpret_cast<sockaddr*>(&me), &len) == 0) out = ntop(me.sin_addr);
    }
    ::close(fd);
    return out == "0.0.0.0" ? "" : out;
  };
  net.resolve = [](const std::string& host) -> std::vector<std::string> {
    in_addr a{};
    if (::inet_pton(AF_INET, host.c_str(), &a) == 1) return {host};
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::vector<std::string> out;
    if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) return out;
    for (auto* r = res; r != nullptr; r = r->ai_next) {
      auto ip = ntop(reinterpret_cast<sockaddr_in*>(r->ai_addr)->sin_addr);
      if (!contains(out, ip)) out.push_back(ip);
    }
    ::freeaddrinfo(res);
    return out;
  };
  return net;
}

result<address_plan> plan_addresses(const hazelcast_config& hz, const std::string& http_ip,
                                    const std::string& server_config_file, const host_network& net) {
  address_plan plan;
  auto hz_file = hz.path.string();
  if (!hz.interfaces.empty()) {
    for (auto& pattern : hz.interfaces) {
      for (auto& a : net.addresses)
        if (interface_matches(pattern, a)) {
          plan.cluster_bind = a;
          break;
        }
      if (!plan.cluster_bind.empty()) {
        plan.why = cat("matches <interface>", pattern, "</interface>");
        break;
      }
    }
    if (plan.cluster_bind.empty())
      return error_info{hz_file, "<network><interfaces>",
                        cat("no address of this host matches ", joined(hz.interfaces),
                            " (this host has ", joined(net.addresses), ")")};
  } else {
    // The interface that routes to the first member that is not this host.
    std::string local_member;
    for (auto& m : hz.members) {
      for (auto& ip : net.resolve(m.host)) {
        if (contains(net.addresses, ip)) {
          if (local_member.empty()) local_member = ip;
          continue;
        }
        auto src = net.route_source(ip);
        if (!src.empty()) {
          plan.cluster_bind = src;
          plan.why = cat("the interface that routes to tcp-ip member ", m.host);
          break;
        }
      }
      if (!plan.cluster_bind.empty()) break;
    }
    if (plan.cluster_bind.empty() && !local_member.empty()) {
      // Every member is this host (the tutorial's copies on one machine).
      plan.cluster_bind = local_member;
      plan.why = "the tcp-ip members are all on this host";
    }
    if (plan.cluster_bind.empty()) {
      plan.cluster_bind = "127.0.0.1";
      plan.why = "no tcp-ip member is reachable";
      plan.warnings.push_back(cat("no tcp-ip member of ", hz_file,
                                  " is reachable from this host: the cluster endpoint listens on 127.0.0.1 only, "
                                  "and other hosts cannot join this node (set <interfaces> or the members)"));
    }
  }
  if (plan.cluster_bind.rfind("127.", 0) != 0 && hz.group_password == hazelcast_config{}.group_password)
    plan.warnings.push_back(cat("the cluster endpoint ", plan.cluster_bind,
                                " is reachable from other hosts and ", hz_file,
                                " still has the shipped group password: anyone who can reach it can join the "
                                "cluster; set <group><password> to a secret of your own on every node"));
  plan.cluster_host = hz.public_host.empty() ? plan.cluster_bind : hz.public_host;
  plan.cluster_port = hz.public_port;
  if (is_any(http_ip)) {
    plan.http_host = hz.public_host.empty() ? plan.cluster_bind : hz.public_host;
  } else {
    if (!contains(net.addresses, http_ip))
      return error_info{server_config_file, "<listener protocol=\"http\">",
                        cat("ip-address ", http_ip, " is not an address of this host (this host has ",
                            joined(net.addresses), ")")};
    plan.http_host = http_ip;
  }
  for (auto& a : net.addresses) plan.own_hosts.insert(a);
  plan.own_hosts.insert("localhost");
  plan.own_hosts.insert(plan.cluster_host);
  for (auto& m : hz.members)
    for (auto& ip : net.resolve(m.host))
      if (contains(net.addresses, ip)) plan.own_hosts.insert(m.host);
  return plan;
}

bool is_own_endpoint(const address_plan& plan, const std::string& host, uint16_t port, uint16_t bound_port) {
  if (!plan.own_hosts.count(host)) return false;
  return port == bound_port || (plan.cluster_port != 0 && port == plan.cluster_port && host == plan.cluster_host);
}

}  // namespace troupe
