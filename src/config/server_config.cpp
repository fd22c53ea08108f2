#include "src/config/server_config.hpp"

#include <cstdlib>
#include <sstream>

#include <pugixml.hpp>

#include "src/config/password.hpp"
#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

bool user_config::has_resource(std::string_view r) const {
  if (resources == "*") return true;
  for (auto& part : split(resources, ',')) {
    if (trim(part) == r) return true;
  }
  return false;
}

bool user_config::may(std::string_view resource) const {
  if (has_resource(resource)) return true;
  return resource.rfind("database.", 0) == 0 && resource != "database.create" && resource != "database.drop" &&
         has_resource("database");
}

const listener_config* server_config::http_listener() const {
  for (auto& l : listeners)
    if (l.protocol == "http") return &l;
  return nullptr;
}

const user_config* server_config::find_user(std::string_view name) const {
  for (auto& u : users)
    if (u.name == name) return &u;
  return nullptr;
}

std::optional<std::string> server_config::property(std::string_view name) const {
  for (auto& [k, v] : properties)
    if (k == name) return v;
  return std::nullopt;
}

result<std::string> expand_variables(std::string_view value, const fs::path& home) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    auto start = value.find("${", i);
    if (start == std::string_view::npos) {
      out.append(value.substr(i));
      break;
    }
    out.append(value.substr(i, start - i));
    auto end = value.find('}', start + 2);
    if (end == std::string_view::npos) return error_info{"", "", cat("unterminated variable in '", value, "'")};
    std::string name(value.substr(start + 2, end - start - 2));
    if (name == "ORIENTDB_HOME") {
      out += home.string();
    } else if (name == "distributed") {
      out += "true";
    } else if (const char* env = std::getenv(name.c_str()); env != nullptr) {
      out += env;
    } else {
      return error_info{"", "", cat("undefined variable ${", name, "} in '", value, "'")};
    }
    i = end + 1;
  }
  return out;
}

std::optional<port_range> parse_port_range(std::string_view s) {
  s = trim(s);
  auto dash = s.find('-');
  auto first = parse_int(trim(s.substr(0, dash)), 1, 65535);
  if (!first) return std::nullopt;
  auto last = first;
  if (dash != std::string_view::npos) {
    last = parse_int(trim(s.substr(dash + 1)), 1, 65535);
    if (!last) return std::nullopt;
  }
  return port_range{static_cast<uint16_t>(*first), static_cast<uint16_t>(*last)};
}

namespace {

struct ctx {
  std::string_view text;
  std::string file;
  fs::path home;
  std::vector<std::string>* notices;

  std::string at(const pugi::xml_node& n) const {
    auto off = n.offset_debug();
    if (off < 0) return "";
    return cat("line ", line_of(text, static_cast<size_t>(off)));
  }
  error_info err(const pugi::xml_node& n, std::string what) const { return {file, at(n), std::move(what)}; }
  void notice(const pugi::xml_node& n, std::string what) const {
    notices->push_back(cat(what, " (", file, ", ", at(n), ")"));
  }
  // Required attribute, expanded.
  result<std::string> attr(const pugi::xml_node& n, const char* name, bool required = true) const {
    auto a = n.attribute(name);
    if (!a) {
      if (required) return err(n, cat("<", n.name(), "> is missing the attribute '", name, "'"));
      return std::string{};
    }
    auto v = expand_variables(a.value(), home);
    if (!v) return err(n, cat("attribute '", name, "': ", v.error().what));
    return std::move(v).value();
  }
};

// A <socket> of <network><sockets>: TLS settings for the TLS implementation,
// nothing for any other (ignored, with a notice).
struct socket_decl {
  std::string implementation;
  std::optional<tls_settings> tls;
  bool used = false;
};
using socket_table = std::vector<std::pair<std::string, socket_decl>>;

socket_decl* find_socket(socket_table& t, std::string_view name) {
  for (auto& [n, d] : t)
    if (n == name) return &d;
  return nullptr;
}

result<tls_settings> parse_tls_socket(const ctx& c, const pugi::xml_node& s, const std::string& name) {
  tls_settings t;
  t.socket_name = name;
  t.line = line_of(c.text, static_cast<size_t>(std::max<ptrdiff_t>(0, s.offset_debug())));
  std::string key_store, key, trust_store;
  pugi::xml_node trust_store_node;
  for (auto p : s.child("parameters").children()) {
    if (p.type() != pugi::node_element) continue;
    if (std::string_view(p.name()) != "parameter") {
      c.notice(p, cat("ignored unknown element <", p.name(), "> in the parameters of socket '", name, "'"));
      continue;
    }
    std::string pname = p.attribute("name").value();
    auto value = c.attr(p, "value", false);
    if (!value) return value.error();
    if (pname == "network.ssl.keyStore") {
      key_store = *value;
    } else if (pname == "network.ssl.key") {
      key = *value;
    } else if (pname == "network.ssl.keyStorePassword") {
      t.key_passphrase = *value;
    } else if (pname == "network.ssl.clientAuth") {
      auto b = parse_bool(*value);
      if (!b)
        return c.err(p, cat("socket '", name, "': parameter 'network.ssl.clientAuth' must be true or false, not '",
                            *value, "'"));
      t.client_auth = *b;
    } else if (pname == "network.ssl.trustStore") {
      trust_store = *value;
      trust_store_node = p;
    } else if (pname == "network.ssl.trustStorePassword" || pname == "network.ssl.keyStoreType" ||
               pname == "network.ssl.trustStoreType") {
      c.notice(p, cat("ignored socket parameter '", pname,
                      "' (troupe reads PEM files, which need no store type or store password)"));
    } else {
      c.notice(p, cat("ignored socket parameter '", pname, "'"));
    }
  }
  if (key_store.empty())
    return c.err(s, cat("socket '", name,
                        "' needs the parameter 'network.ssl.keyStore' (a PEM file with the certificate chain)"));
  if (t.client_auth && trust_store.empty())
    return c.err(s, cat("socket '", name,
                        "' has network.ssl.clientAuth=true but no parameter 'network.ssl.trustStore' (a PEM file "
                        "with the CA certificates that sign client certificates)"));
  if (!t.client_auth && !trust_store.empty())
    c.notice(trust_store_node,
             "ignored socket parameter 'network.ssl.trustStore' (used only with network.ssl.clientAuth=true)");
  auto resolve = [&](const std::string& v) {
    fs::path p(v);
    if (p.is_relative()) p = c.home / p;
    return p.lexically_normal();
  };
  t.certificate_chain = resolve(key_store);
  t.private_key = key.empty() ? t.certificate_chain : resolve(key);
  if (t.client_auth) t.client_ca = resolve(trust_store);
  return t;
}

result<socket_table> parse_sockets(const ctx& c, const pugi::xml_node& network) {
  socket_table out;
  for (auto s : network.child("sockets").children()) {
    if (s.type() != pugi::node_element) continue;
    if (std::string_view(s.name()) != "socket") {
      c.notice(s, cat("ignored unknown element <", s.name(), "> in <sockets>"));
      continue;
    }
    auto name = c.attr(s, "name");
    if (!name) return name.error();
    auto impl = c.attr(s, "implementation");
    if (!impl) return impl.error();
    if (name->empty()) return c.err(s, "<socket> has an empty name");
    if (*name == "default") return c.err(s, "the socket name 'default' is reserved for plain connections");
    if (find_socket(out, *name) != nullptr) return c.err(s, cat("socket '", *name, "' is defined twice"));
    socket_decl d;
    d.implementation = *impl;
    if (*impl == tls_socket_class) {
      auto t = parse_tls_socket(c, s, *name);
      if (!t) return t.error();
      d.tls = std::move(*t);
    } else {
      c.notice(s, cat("ignored socket '", *name, "' with implementation '", *impl, "' (troupe provides only ",
                      tls_socket_class, ")"));
    }
    out.emplace_back(*name, std::move(d));
  }
  return out;
}

// The listener's socket="..." attribute: nothing for plain connections, TLS
// settings for a TLS socket, an error for anything troupe cannot honour (never
// plain connections where the file asks for something else).
status resolve_socket(const ctx& c, const pugi::xml_node& l, socket_table& sockets, listener_config& lc) {
  auto name = c.attr(l, "socket", false);
  if (!name) return name.error();
  if (name->empty() || *name == "default") return ok_status();
  lc.socket = *name;
  auto* d = find_socket(sockets, *name);
  if (d == nullptr)
    return c.err(l, cat("listener names socket '", *name, "', which is not declared in <network><sockets>"));
  d->used = true;
  if (!d->tls)
    return c.err(l, cat("listener names socket '", *name, "', whose implementation '", d->implementation,
                        "' troupe does not provide (only ", tls_socket_class, ")"));
  if (lc.protocol != "http")
    return c.err(l, cat("the ", lc.protocol, " listener cannot use socket '", *name,
                        "': troupe serves TLS on the http listener only (use socket=\"default\")"));
  lc.tls = d->tls;
  return ok_status();
}

status parse_listeners(const ctx& c, const pugi::xml_node& network, server_config& out) {
  auto sockets = parse_sockets(c, network);
  if (!sockets) return sockets.error();
  auto listeners = network.child("listeners");
  if (!listeners) return c.err(network, "<network> is missing the required element <listeners>");
  for (auto l : listeners.children()) {
    if (l.type() != pugi::node_element) continue;
    if (std::string_view(l.name()) != "listener") {
      c.notice(l, cat("ignored unknown element <", l.name(), "> in <listeners>"));
      continue;
    }
    listener_config lc;
    lc.line = line_of(c.text, static_cast<size_t>(std::max<ptrdiff_t>(0, l.offset_debug())));
    auto proto = c.attr(l, "protocol");
    if (!proto) return proto.error();
    lc.protocol = *proto;
    auto ip = c.attr(l, "ip-address", false);
    if (!ip) return ip.error();
    if (!ip->empty()) lc.ip_address = *ip;
    auto range_text = c.attr(l, "port-range", false);
    if (!range_text) return range_text.error();
    if (range_text->empty()) {
      range_text = c.attr(l, "port", false);
      if (!range_text) return range_text.error();
    }
    if (range_text->empty()) return c.err(l, "<listener> needs a port-range (for example port-range=\"2480-2490\")");
    auto range = parse_port_range(*range_text);
    if (!range) return c.err(l, cat("port-range '", *range_text, "' is not a port or a range of ports 1-65535"));
    if (range->first > range->last)
      return c.err(l, cat("port-range '", *range_text, "' is upside down: ", range->first, " > ", range->last));
    lc.ports = *range;
    if (lc.protocol == "http") {
      lc.served = true;
    } else if (lc.protocol == "binary") {
      lc.served = true;  // the console's admin endpoint (CAF, not OrientDB's binary protocol)
    } else {
      c.notice(l, cat("ignored listener with unknown protocol '", lc.protocol, "'"));
      continue;
    }
    if (auto st = resolve_socket(c, l, *sockets, lc); !st) return st;
    out.listeners.push_back(std::move(lc));
  }
  for (auto& [name, d] : *sockets) {
    if (d.tls && !d.used)
      out.notices.push_back(
          cat("ignored socket '", name, "': no listener uses it (", c.file, ", line ", d.tls->line, ")"));
  }
  if (out.http_listener() == nullptr)
    return c.err(listeners, "no <listener protocol=\"http\"> is configured: troupe serves its API over http");
  int http_count = 0;
  for (auto& l : out.listeners) http_count += l.protocol == "http";
  if (http_count > 1) return c.err(listeners, "more than one http listener is configured");
  return ok_status();
}

status parse_users(const ctx& c, const pugi::xml_node& users, server_config& out) {
  for (auto u : users.children()) {
    if (u.type() != pugi::node_element) continue;
    if (std::string_view(u.name()) != "user") {
      c.notice(u, cat("ignored unknown element <", u.name(), "> in <users>"));
      continue;
    }
    user_config uc;
    auto name = c.attr(u, "name");
    if (!name) return name.error();
    auto pw = c.attr(u, "password");
    if (!pw) return pw.error();
    auto res = c.attr(u, "resources", false);
    if (!res) return res.error();
    if (name->empty()) return c.err(u, "<user> has an empty name");
    if (pw->empty()) return c.err(u, cat("user '", *name, "' has an empty password"));
    // Plaintext, or OrientDB 2.2's {PBKDF2WithHmacSHA256}HASH:SALT:ITERATIONS.
    if (auto stored = parse_stored_password(*pw); !stored)
      return c.err(u, cat("user '", *name, "': ", stored.error().what));
    if (out.find_user(*name) != nullptr) return c.err(u, cat("user '", *name, "' is defined twice"));
    uc.name = *name;
    uc.password = *pw;
    uc.resources = *res;
    out.users.push_back(std::move(uc));
  }
  return ok_status();
}

status parse_distributed(const ctx& c, const pugi::xml_node& h, server_config& out) {
  auto& d = out.distributed;
  if (d.handler_present) return c.err(h, "the distributed handler is configured twice");
  d.handler_present = true;
  d.enabled = true;
  std::string db_default = "${ORIENTDB_HOME}/config/default-distributed-db-config.json";
  std::string hazelcast = "${ORIENTDB_HOME}/config/hazelcast.xml";
  bool db_default_set = false, hazelcast_set = false;
  for (auto p : h.child("parameters").children("parameter")) {
    std::string name = p.attribute("name").value();
    auto value = c.attr(p, "value", false);
    if (!value) return value.error();
    if (name == "enabled") {
      auto b = parse_bool(*value);
      if (!b) return c.err(p, cat("parameter 'enabled' must be true or false, not '", *value, "'"));
      d.enabled = *b;
    } else if (name == "nodeName") {
      if (!value->empty()) {
        if (!valid_node_name(*value))
          return c.err(p, cat("nodeName '", *value, "' is not 1-64 characters of A-Z a-z 0-9 . _ -"));
        d.node_name = *value;
      }
    } else if (name == "configuration.db.default") {
      if (value->empty()) return c.err(p, "parameter 'configuration.db.default' is empty");
      db_default = *value;
      db_default_set = true;
    } else if (name == "configuration.hazelcast") {
      if (value->empty()) return c.err(p, "parameter 'configuration.hazelcast' is empty");
      hazelcast = *value;
      hazelcast_set = true;
    } else if (name == "sharding.strategy.round-robin") {
      // OrientDB names the class implementing the strategy; troupe has it built in.
    } else {
      c.notice(p, cat("ignored distributed handler parameter '", name, "'"));
    }
  }
  auto resolve = [&](const std::string& v, bool from_file) -> result<fs::path> {
    std::string text = v;
    if (!from_file) {
      auto e = expand_variables(v, c.home);
      if (!e) return e.error();
      text = *e;
    }
    fs::path p(text);
    if (p.is_relative()) p = c.home / p;
    return p.lexically_normal();
  };
  auto dbp = resolve(db_default, db_default_set);
  if (!dbp) return dbp.error();
  auto hzp = resolve(hazelcast, hazelcast_set);
  if (!hzp) return hzp.error();
  d.db_default_path = *dbp;
  d.hazelcast_path = *hzp;
  return ok_status();
}

}  // namespace

result<server_config> parse_server_config(std::string_view xml, const fs::path& path, const fs::path& home) {
  server_config out;
  out.path = path;
  ctx c{xml, path.string(), home, &out.notices};
  pugi::xml_document doc;
  auto pr = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!pr) {
    return error_info{c.file, cat("line ", line_of(xml, static_cast<size_t>(pr.offset))),
                      cat("malformed XML: ", pr.description())};
  }
  auto root = doc.document_element();
  if (std::string_view(root.name()) != "orient-server")
    return c.err(root, cat("the root element must be <orient-server>, not <", root.name(), ">"));

  auto network = root.child("network");
  if (!network) return c.err(root, "missing the required element <network>");
  if (auto st = parse_listeners(c, network, out); !st) return st.error();

  if (auto users = root.child("users"); users) {
    if (auto st = parse_users(c, users, out); !st) return st.error();
  }

  for (auto h : root.child("handlers").children()) {
    if (h.type() != pugi::node_element) continue;
    std::string cls = h.attribute("class").value();
    if (std::string_view(h.name()) == "handler" && cls == distributed_handler_class) {
      if (auto st = parse_distributed(c, h, out); !st) return st.error();
    } else {
      c.notice(h, cat("ignored handler '", cls.empty() ? h.name() : cls, "'"));
    }
  }

  for (auto e : root.child("properties").children()) {
    if (e.type() != pugi::node_element) continue;
    std::string name = e.attribute("name").value();
    std::string value = e.attribute("value").value();
    if (name == "log.console.level") {
      out.properties.emplace_back(name, value);
    } else if (name == "command.timeout") {
      // OrientDB's statement timeout, in milliseconds; 0: none.
      auto ms = parse_int(value, 0, command_timeout_ms_max);
      if (!ms) return c.err(e, cat("command.timeout must be 0 (no timeout) to ", command_timeout_ms_max, " ms, not '", value, "'"));
      out.command_timeout_ms = *ms;
    } else {
      c.notice(e, cat("ignored property '", name, "'"));
    }
  }

  for (auto child : root.children()) {
    if (child.type() != pugi::node_element) continue;
    std::string_view n = child.name();
    if (n != "network" && n != "users" && n != "handlers" && n != "properties")
      c.notice(child, cat("ignored element <", n, ">"));
  }
  return out;
}

result<server_config> load_server_config(const fs::path& path, const fs::path& home) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_server_config(*text, path, home);
}

namespace {

// Loads `path` keeping comments, the declaration and whitespace, applies `edit`,
// and writes it back atomically in the same raw form.
template <class Edit>
status rewrite_xml(const fs::path& path, Edit edit) {
  auto text = read_file(path);
  if (!text) return text.error();
  pugi::xml_document doc;
  auto flags = pugi::parse_default | pugi::parse_comments | pugi::parse_declaration | pugi::parse_doctype |
               pugi::parse_pi | pugi::parse_ws_pcdata;
  auto pr = doc.load_buffer(text->data(), text->size(), flags);
  if (!pr) return error_info{path.string(), "", cat("malformed XML: ", pr.description())};
  if (auto st = edit(doc); !st) return st;
  // pugixml drops the whitespace between top-level nodes (declaration, comments,
  // root); print them one per line, as the files are written by hand.
  std::ostringstream os;
  for (auto child : doc.children()) {
    child.print(os, "", pugi::format_raw, pugi::encoding_utf8);
    os << '\n';
  }
  // The file holds the users' passwords: never readable by others, whatever
  // mode it had (OrientDB's rewrite left it 0644 with the root password inside).
  return write_file_atomic(path, os.str(), 0600);
}

// Appends a new element named `name` as the last element child of `parent`,
// indented like its last element sibling.
pugi::xml_node append_like_siblings(pugi::xml_node parent, const char* name) {
  pugi::xml_node last;
  for (auto ch : parent.children())
    if (ch.type() == pugi::node_element) last = ch;
  if (!last) return parent.append_child(name);
  auto ws = last.previous_sibling();
  pugi::xml_node anchor = last;
  if (ws && ws.type() == pugi::node_pcdata) {
    anchor = parent.insert_child_after(pugi::node_pcdata, last);
    anchor.set_value(ws.value());
  }
  return parent.insert_child_after(name, anchor);
}

}  // namespace

status store_node_name(const fs::path& path, std::string_view name) {
  assert(valid_node_name(name));
  return rewrite_xml(path, [&](pugi::xml_document& doc) -> status {
    auto root = doc.child("orient-server");
    pugi::xml_node handler;
    for (auto h : root.child("handlers").children("handler"))
      if (std::string_view(h.attribute("class").value()) == distributed_handler_class) handler = h;
    if (!handler) return error_info{path.string(), "", "no distributed handler to store nodeName in"};
    auto params = handler.child("parameters");
    if (!params) params = append_like_siblings(handler, "parameters");
    for (auto p : params.children("parameter")) {
      if (std::string_view(p.attribute("name").value()) == "nodeName") {
        if (!p.attribute("value")) p.append_attribute("value");
        p.attribute("value").set_value(std::string(name).c_str());
        return ok_status();
      }
    }
    auto p = append_like_siblings(params, "parameter");
    p.append_attribute("name").set_value("nodeName");
    p.append_attribute("value").set_value(std::string(name).c_str());
    return ok_status();
  });
}

status store_user(const fs::path& path, const user_config& user) {
  return rewrite_xml(path, [&](pugi::xml_document& doc) -> status {
    auto root = doc.child("orient-server");
    if (!root) return error_info{path.string(), "", "no <orient-server> element"};
    auto users = root.child("users");
    if (!users) users = append_like_siblings(root, "users");
    pugi::xml_node u;
    for (auto x : users.children("user"))
      if (user.name == x.attribute("name").value()) u = x;
    if (!u) {
      u = append_like_siblings(users, "user");
      u.append_attribute("name");
      u.append_attribute("password");
      u.append_attribute("resources");
    }
    u.attribute("name").set_value(user.name.c_str());
    if (!u.attribute("password")) u.append_attribute("password");
    u.attribute("password").set_value(user.password.c_str());
    if (!u.attribute("resources")) u.append_attribute("resources");
    u.attribute("resources").set_value(user.resources.c_str());
    return ok_status();
  });
}

}  // namespace troupe
