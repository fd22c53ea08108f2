#include "src/config/hazelcast_config.hpp"

#include <pugixml.hpp>

#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

std::optional<member_address> parse_member(std::string_view s, uint16_t base_port) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  member_address m;
  auto colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    m.host = std::string(s);
    if (base_port > 65535 - 6) return std::nullopt;
    m.ports = {base_port, static_cast<uint16_t>(base_port + 6)};
  } else {
    m.host = std::string(trim(s.substr(0, colon)));
    auto r = parse_port_range(s.substr(colon + 1));
    if (!r || r->first > r->last) return std::nullopt;
    m.ports = *r;
  }
  if (m.host.empty()) return std::nullopt;
  for (char c : m.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '-' || c == '_';
    if (!ok) return std::nullopt;
  }
  return m;
}

namespace {

// Octet `part` of a pattern as [lo, hi], or nullopt.
std::optional<std::pair<int, int>> octet_range(std::string_view part) {
  if (part == "*") return std::pair{0, 255};
  auto dash = part.find('-');
  if (dash == std::string_view::npos) {
    auto v = parse_int(part, 0, 255);
    if (!v) return std::nullopt;
    return std::pair{static_cast<int>(*v), static_cast<int>(*v)};
  }
  auto lo = parse_int(part.substr(0, dash), 0, 255), hi = parse_int(part.substr(dash + 1), 0, 255);
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return std::pair{static_cast<int>(*lo), static_cast<int>(*hi)};
}

}  // namespace

std::optional<std::vector<std::string>> expand_address_range(const std::string& host) {
  auto parts = split(host, '.');
  auto dash = host.find('-');
  if (parts.size() != 4 || dash == std::string::npos || dash < host.rfind('.')) return std::vector<std::string>{host};
  for (size_t i = 0; i < 3; ++i)
    if (!parse_int(parts[i], 0, 255)) return std::vector<std::string>{host};  // a host name with a '-'
  auto r = octet_range(parts[3]);
  if (!r) {
    // Digits on both sides of the dash, but not a range of octets: refused.
    auto d = parts[3].find('-');
    bool digits = parts[3].find_first_not_of("0123456789-") == std::string::npos && d != 0 && d + 1 < parts[3].size();
    if (digits) return std::nullopt;
    return std::vector<std::string>{host};
  }
  std::vector<std::string> out;
  for (int v = r->first; v <= r->second; ++v) out.push_back(cat(parts[0], '.', parts[1], '.', parts[2], '.', v));
  return out;
}

bool valid_interface_pattern(std::string_view pattern) {
  auto parts = split(pattern, '.');
  if (parts.size() != 4) return false;
  for (auto& p : parts)
    if (!octet_range(p)) return false;
  return true;
}

bool interface_matches(std::string_view pattern, std::string_view ip) {
  auto ps = split(pattern, '.'), is = split(ip, '.');
  if (ps.size() != 4 || is.size() != 4) return false;
  for (size_t i = 0; i < 4; ++i) {
    auto r = octet_range(ps[i]);
    auto v = parse_int(is[i], 0, 255);
    if (!r || !v || *v < r->first || *v > r->second) return false;
  }
  return true;
}

namespace {

struct ctx {
  std::string_view text;
  std::string file;
  std::vector<std::string>* notices;
  std::string at(const pugi::xml_node& n) const {
    auto off = n.offset_debug();
    return off < 0 ? std::string{} : cat("line ", line_of(text, static_cast<size_t>(off)));
  }
  error_info err(const pugi::xml_node& n, std::string what) const { return {file, at(n), std::move(what)}; }
  void notice(const pugi::xml_node& n, std::string what) const {
    notices->push_back(cat(what, " (", file, ", ", at(n), ")"));
  }
};

// Text of an element without surrounding spaces.
std::string text_of(const pugi::xml_node& n) { return std::string(trim(n.child_value())); }

result<std::chrono::milliseconds> ms_property(const ctx& c, const pugi::xml_node& p, int64_t lo, int64_t hi) {
  auto v = parse_int(text_of(p), lo, hi);
  if (!v)
    return c.err(p, cat("property '", p.attribute("name").value(), "' must be a whole number of milliseconds in ",
                        lo, "..", hi, ", not '", text_of(p), "'"));
  return std::chrono::milliseconds(*v);
}

}  // namespace

result<hazelcast_config> parse_hazelcast_config(std::string_view xml, const fs::path& path) {
  hazelcast_config out;
  out.path = path;
  ctx c{xml, path.string(), &out.notices};
  pugi::xml_document doc;
  auto pr = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!pr)
    return error_info{c.file, cat("line ", line_of(xml, static_cast<size_t>(pr.offset))),
                      cat("malformed XML: ", pr.description())};
  auto root = doc.document_element();
  if (std::string_view(root.name()) != "hazelcast")
    return c.err(root, cat("the root element must be <hazelcast>, not <", root.name(), ">"));

  auto group = root.child("group");
  if (!group) return c.err(root, "missing the required element <group> (the cluster's name and password)");
  if (!group.child("name")) return c.err(group, "<group> is missing <name>");
  if (!group.child("password")) return c.err(group, "<group> is missing <password>");
  out.group_name = text_of(group.child("name"));
  out.group_password = text_of(group.child("password"));
  if (out.group_name.empty()) return c.err(group.child("name"), "the group name is empty");
  if (out.group_password.empty()) return c.err(group.child("password"), "the group password is empty");

  auto network = root.child("network");
  if (!network) return c.err(root, "missing the required element <network>");
  auto port = network.child("port");
  if (!port) return c.err(network, "<network> is missing <port> (the cluster port, 2434 by default)");
  auto pv = parse_int(text_of(port), 1, 65535);
  if (!pv) return c.err(port, cat("<port> must be a port 1-65535, not '", text_of(port), "'"));
  out.port = static_cast<uint16_t>(*pv);
  if (auto a = port.attribute("auto-increment")) {
    auto b = parse_bool(a.value());
    if (!b) return c.err(port, cat("auto-increment must be true or false, not '", a.value(), "'"));
    out.auto_increment = *b;
  }
  if (auto a = port.attribute("port-count")) {
    auto n = parse_int(a.value(), 1, 1000);
    if (!n) return c.err(port, cat("port-count must be 1-1000, not '", a.value(), "'"));
    out.port_count = static_cast<uint16_t>(*n);
  }

  if (auto ifs = network.child("interfaces")) {
    auto b = parse_bool(ifs.attribute("enabled").as_string("false"));
    if (!b)
      return c.err(ifs, cat("interfaces enabled must be true or false, not '", ifs.attribute("enabled").value(), "'"));
    for (auto i : ifs.children()) {
      if (i.type() != pugi::node_element) continue;
      if (std::string_view(i.name()) != "interface") {
        c.notice(i, cat("ignored element <", i.name(), "> in <interfaces>"));
        continue;
      }
      auto pat = text_of(i);
      if (!valid_interface_pattern(pat))
        return c.err(i, cat("interface '", pat, "' is not an IPv4 address pattern such as 10.0.0.5, 10.0.0.* or 10.0.0.4-18"));
      if (*b) out.interfaces.push_back(pat);
    }
    if (*b && out.interfaces.empty()) return c.err(ifs, "<interfaces enabled=\"true\"> lists no <interface>");
  }
  if (auto pub = network.child("public-address")) {
    auto text = text_of(pub);
    auto ma = text.empty() ? std::nullopt : parse_member(text, out.port);
    if (!ma || (text.find(':') != std::string::npos && ma->ports.first != ma->ports.last))
      return c.err(pub, cat("public-address '", text, "' is not host or host:port"));
    out.public_host = ma->host;
    if (text.find(':') != std::string::npos) out.public_port = ma->ports.first;
  }
  if (auto enc = network.child("symmetric-encryption")) {
    auto b = parse_bool(enc.attribute("enabled").as_string("false"));
    if (!b)
      return c.err(enc, cat("symmetric-encryption enabled must be true or false, not '", enc.attribute("enabled").value(), "'"));
    out.encrypt_links = *b;
    for (auto e : enc.children())
      if (e.type() == pugi::node_element)
        c.notice(e, cat("ignored <", e.name(), "> in <symmetric-encryption>: troupe encrypts cluster links with "
                        "AES-256-GCM under a key from the group name and password"));
  }
  for (auto child : network.children()) {
    std::string_view n = child.name();
    if (child.type() == pugi::node_element && n != "port" && n != "join" && n != "interfaces" &&
        n != "public-address" && n != "symmetric-encryption")
      c.notice(child, cat("ignored element <", n, "> in <network>"));
  }

  auto join = network.child("join");
  bool multicast = false;
  if (auto mc = join.child("multicast")) {
    auto b = parse_bool(mc.attribute("enabled").as_string("false"));
    if (!b) return c.err(mc, cat("multicast enabled must be true or false, not '", mc.attribute("enabled").value(), "'"));
    multicast = *b;
  }
  bool tcp_enabled = false;
  if (auto tcp = join.child("tcp-ip")) {
    auto b = parse_bool(tcp.attribute("enabled").as_string("false"));
    if (!b) return c.err(tcp, cat("tcp-ip enabled must be true or false, not '", tcp.attribute("enabled").value(), "'"));
    tcp_enabled = *b;
    if (tcp_enabled) {
      for (auto m : tcp.children()) {
        if (m.type() != pugi::node_element) continue;
        std::string_view n = m.name();
        if (n == "member" || n == "members" || n == "interface" || n == "hostname") {
          // <members> holds a comma-separated list; <interface> is Hazelcast's older spelling.
          for (auto& part : split(text_of(m), ',')) {
            if (trim(part).empty()) continue;
            auto ma = parse_member(part, out.port);
            if (!ma) return c.err(m, cat("member '", trim(part), "' is not host, host:port or host:first-last"));
            // Hazelcast's address range in the last octet: 10.0.1.2-7 is six members.
            auto hosts = expand_address_range(ma->host);
            if (!hosts) return c.err(m, cat("member '", trim(part), "' has an address range that is upside down or past 255"));
            for (auto& h : *hosts) out.members.push_back(member_address{h, ma->ports});
          }
        } else if (n == "required-member") {
          c.notice(m, "ignored <required-member>");
        } else {
          c.notice(m, cat("ignored element <", n, "> in <tcp-ip>"));
        }
      }
    }
  }
  for (auto other : join.children()) {
    std::string_view n = other.name();
    if (other.type() == pugi::node_element && n != "multicast" && n != "tcp-ip")
      c.notice(other, cat("ignored join method <", n, ">"));
  }
  std::string fallback = cat("127.0.0.1:", out.port, "-", std::min(65535, out.port + 6));
  if (out.members.empty()) {
    out.members.push_back(*parse_member(fallback, out.port));
    if (multicast)
      out.notices.push_back(cat("multicast join is not supported: joining through tcp-ip members ", fallback,
                                " instead (", c.file, ")"));
    else
      out.notices.push_back(cat("no tcp-ip members configured: joining through ", fallback, " (", c.file, ")"));
  } else if (multicast) {
    out.notices.push_back(cat("multicast join is not supported: joining through the configured tcp-ip members instead (",
                              c.file, ")"));
  }

  for (auto p : root.child("properties").children()) {
    if (p.type() != pugi::node_element) continue;
    std::string name = p.attribute("name").value();
    if (name == "troupe.heartbeat.interval.ms") {
      auto v = ms_property(c, p, 10, 60'000);
      if (!v) return v.error();
      out.heartbeat_interval = *v;
    } else if (name == "troupe.heartbeat.timeout.ms") {
      auto v = ms_property(c, p, 20, 600'000);
      if (!v) return v.error();
      out.heartbeat_timeout = *v;
    } else if (name == "troupe.join.wait.ms") {
      auto v = ms_property(c, p, 0, 600'000);
      if (!v) return v.error();
      out.join_wait = *v;
    } else {
      c.notice(p, cat("ignored property '", name, "'"));
    }
  }
  if (out.heartbeat_timeout <= out.heartbeat_interval)
    return error_info{c.file, "<properties>",
                      cat("troupe.heartbeat.timeout.ms (", out.heartbeat_timeout.count(),
                          ") must be larger than troupe.heartbeat.interval.ms (", out.heartbeat_interval.count(), ")")};

  for (auto child : root.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view n = child.name();
    if (n != "group" && n != "network" && n != "properties") c.notice(child, cat("ignored element <", n, ">"));
  }
  return out;
}

result<hazelcast_config> load_hazelcast_config(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_hazelcast_config(*text, path);
}

}  // namespace troupe
