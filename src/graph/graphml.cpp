#include "src/graph/graphml.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

namespace {

enum class value_type { string_t, int_t, long_t, float_t, double_t, boolean_t };

// What a key may annotate. `other` covers graph, graphml, hyperedge, port and
// endpoint: accepted in declarations, never read.
enum class key_domain { node, edge, all, other };

struct key_decl {
  std::string id;
  std::string name;
  value_type type = value_type::string_t;
  key_domain domain = key_domain::all;
  bool ignored = false;  // yEd presentation data, or a domain this reader does not read
  std::optional<property_value> default_value;
  pugi::xml_node where;
};

const char* type_name(value_type t) {
  switch (t) {
    case value_type::string_t: return "string";
    case value_type::int_t: return "int";
    case value_type::long_t: return "long";
    case value_type::float_t: return "float";
    case value_type::double_t: return "double";
    case value_type::boolean_t: return "boolean";
  }
  return "?";
}

std::optional<value_type> parse_type(std::string_view s) {
  if (s == "string") return value_type::string_t;
  if (s == "int") return value_type::int_t;
  if (s == "long") return value_type::long_t;
  if (s == "float") return value_type::float_t;
  if (s == "double") return value_type::double_t;
  if (s == "boolean") return value_type::boolean_t;
  return std::nullopt;
}

// The element's name without a namespace prefix: documents written with
// <g:graphml xmlns:g="..."> mean the same as unprefixed ones.
std::string_view local_name(const pugi::xml_node& n) {
  std::string_view s = n.name();
  auto colon = s.find(':');
  return colon == std::string_view::npos ? s : s.substr(colon + 1);
}

std::optional<int64_t> to_integer(std::string_view s, int64_t lo, int64_t hi) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

std::optional<double> to_number(std::string_view s, bool single) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  // Non-finite values are refused: JSON documents cannot hold them.
  if (ec != std::errc{} || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  if (single && std::fabs(v) > static_cast<double>(std::numeric_limits<float>::max())) return std::nullopt;
  return v;
}

std::optional<property_value> typed_value(value_type t, const std::string& text) {
  if (t == value_type::string_t) return property_value{text};
  auto s = trim(text);
  switch (t) {
    case value_type::int_t:
      if (auto v = to_integer(s, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()))
        return property_value{*v};
      return std::nullopt;
    case value_type::long_t:
      if (auto v = to_integer(s, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()))
        return property_value{*v};
      return std::nullopt;
    case value_type::float_t:
    case value_type::double_t:
      if (auto v = to_number(s, t == value_type::float_t)) return property_value{*v};
      return std::nullopt;
    case value_type::boolean_t:
      // XML Schema's boolean also allows 1 and 0.
      if (s == "1") return property_value{true};
      if (s == "0") return property_value{false};
      if (auto v = parse_bool(s)) return property_value{*v};
      return std::nullopt;
    case value_type::string_t: break;
  }
  return std::nullopt;
}

struct parser {
  std::string_view text;
  std::string file;
  std::vector<key_decl> keys;
  std::unordered_map<std::string, size_t> key_by_id;
  std::optional<size_t> vertex_label_key;
  std::optional<size_t> edge_label_key;
  // Per key, the serial number of the last element that gave it: finds a
  // repeated <data key> in O(1) however many keys there are.
  std::vector<size_t> seen_in;
  size_t element_serial = 0;

  std::string at(const pugi::xml_node& n) const {
    auto off = n.offset_debug();
    return off < 0 ? std::string{} : cat("line ", line_of(text, static_cast<size_t>(off)));
  }
  error_info err(const pugi::xml_node& n, std::string what) const { return {file, at(n), std::move(what)}; }

  // Concatenated character data of an element (text and CDATA sections).
  std::optional<std::string> text_of(const pugi::xml_node& n) const {
    std::string out;
    for (auto c : n.children()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata)
        out += c.value();
      else if (c.type() == pugi::node_element)
        return std::nullopt;
    }
    return out;
  }

  status read_key(const pugi::xml_node& k) {
    if (keys.size() >= graphml_keys_max) return err(k, cat("more than ", graphml_keys_max, " <key> declarations"));
    key_decl d;
    d.where = k;
    d.id = k.attribute("id").value();
    if (d.id.empty()) return err(k, "<key> without an id");
    if (auto it = key_by_id.find(d.id); it != key_by_id.end())
      return err(k, cat("key '", d.id, "' is declared twice (first at ", at(keys[it->second].where), ")"));
    auto name_attr = k.attribute("attr.name");
    d.name = name_attr && *name_attr.value() != '\0' ? name_attr.value() : d.id;
    std::string_view dom = k.attribute("for") ? k.attribute("for").value() : "all";
    if (dom == "node")
      d.domain = key_domain::node;
    else if (dom == "edge")
      d.domain = key_domain::edge;
    else if (dom == "all")
      d.domain = key_domain::all;
    else if (dom == "graph" || dom == "graphml" || dom == "hyperedge" || dom == "port" || dom == "endpoint")
      d.domain = key_domain::other;
    else
      return err(k, cat("key '", d.id, "' has an unknown for=\"", dom,
                        "\" (expected node, edge, all, graph, graphml, hyperedge, port or endpoint)"));
    d.ignored = d.domain == key_domain::other || static_cast<bool>(k.attribute("yfiles.type"));
    if (auto t = k.attribute("attr.type")) {
      auto vt = parse_type(t.value());
      if (!vt && !d.ignored)
        return err(k, cat("key '", d.id, "' has an unknown attr.type \"", t.value(),
                          "\" (expected string, int, long, float, double or boolean)"));
      if (vt) d.type = *vt;
    }
    if (auto def = k.child("default"); def && !d.ignored) {
      auto txt = text_of(def);
      std::optional<property_value> v;
      if (txt) v = typed_value(d.type, *txt);
      if (!v)
        return err(def, cat("key '", d.id, "': default '", txt.value_or("<elements>"), "' is not a valid ",
                            type_name(d.type)));
      d.default_value = std::move(v);
    }
    if (!d.ignored) {
      for (auto& o : keys) {
        if (o.ignored || o.name != d.name) continue;
        bool overlap = o.domain == key_domain::all || d.domain == key_domain::all || o.domain == d.domain;
        if (overlap)
          return err(k, cat("keys '", o.id, "' (", at(o.where), ") and '", d.id, "' both declare attr.name '",
                            d.name, "' for the same elements"));
      }
    }
    key_by_id.emplace(d.id, keys.size());
    keys.push_back(std::move(d));
    return ok_status();
  }

  void choose_label_keys() {
    auto find = [&](key_domain dom, std::string_view name) -> std::optional<size_t> {
      for (size_t i = 0; i < keys.size(); ++i)
        if (!keys[i].ignored && keys[i].name == name && (keys[i].domain == dom || keys[i].domain == key_domain::all))
          return i;
      return std::nullopt;
    };
    vertex_label_key = find(key_domain::node, "labelV");
    if (!vertex_label_key) vertex_label_key = find(key_domain::node, "label");
    edge_label_key = find(key_domain::edge, "labelE");
    if (!edge_label_key) edge_label_key = find(key_domain::edge, "label");
  }

  // Reads the <data> children of a node or edge element into its label and
  // properties (in key declaration order), then adds the keys' defaults.
  status read_data(const pugi::xml_node& el, key_domain kind, std::string& label,
                   std::vector<property>& props) {
    ++element_serial;
    const char* kind_name = kind == key_domain::node ? "node" : "edge";
    auto label_key = kind == key_domain::node ? vertex_label_key : edge_label_key;
    std::vector<std::pair<size_t, property_value>> given;
    for (auto d : el.children()) {
      if (d.type() != pugi::node_element || local_name(d) != "data") continue;
      std::string key_id = d.attribute("key").value();
      if (key_id.empty()) return err(d, cat("<data> without a key in a <", kind_name, ">"));
      auto it = key_by_id.find(key_id);
      if (it == key_by_id.end()) return err(d, cat("<data> uses the undeclared key '", key_id, "'"));
      const auto& k = keys[it->second];
      if (k.domain != kind && k.domain != key_domain::all && k.domain != key_domain::other)
        return err(d, cat("key '", key_id, "' is declared for ", k.domain == key_domain::node ? "nodes" : "edges",
                          " but used in a <", kind_name, ">"));
      if (k.ignored) {
        if (k.domain == key_domain::other)
          return err(d, cat("key '", key_id, "' is not declared for ", kind_name, "s but used in a <", kind_name,
                            ">"));
        continue;
      }
      if (seen_in[it->second] == element_serial)
        return err(d, cat("key '", key_id, "' is given twice in one <", kind_name, ">"));
      seen_in[it->second] = element_serial;
      auto txt = text_of(d);
      if (!txt) return err(d, cat("<data key=\"", key_id, "\"> holds XML elements; only text values are supported"));
      auto v = typed_value(k.type, *txt);
      if (!v) return err(d, cat("<data key=\"", key_id, "\">: '", *txt, "' is not a valid ", type_name(k.type)));
      given.emplace_back(it->second, std::move(*v));
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      const auto& k = keys[i];
      if (k.default_value && seen_in[i] != element_serial &&
          (k.domain == kind || k.domain == key_domain::all))
        given.emplace_back(i, *k.default_value);
    }
    std::sort(given.begin(), given.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    props.reserve(given.size());
    for (auto& [idx, v] : given) {
      if (label_key && idx == *label_key) {
        label = std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : to_string(v);
        continue;
      }
      props.push_back(property{keys[idx].name, std::move(v)});
    }
    return ok_status();
  }

  result<graph> run() {
    pugi::xml_document doc;
    // parse_ws_pcdata_single keeps a string value of only spaces (<data> </data>).
    auto pr = doc.load_buffer(text.data(), text.size(), pugi::parse_default | pugi::parse_ws_pcdata_single);
    if (!pr)
      return error_info{file, cat("line ", line_of(text, static_cast<size_t>(std::max<ptrdiff_t>(pr.offset, 0)))),
                        cat("malformed XML: ", pr.description())};
    auto root = doc.document_element();
    if (!root) return error_info{file, "", "no root element (expected <graphml>)"};
    if (local_name(root) != "graphml")
      return err(root, cat("the root element must be <graphml>, not <", root.name(), ">"));

    pugi::xml_node g;
    for (auto c : root.children()) {
      if (c.type() != pugi::node_element) continue;
      auto n = local_name(c);
      if (n == "key") {
        if (auto s = read_key(c); !s) return s.error();
      } else if (n == "graph") {
        if (g) return err(c, cat("more than one <graph> (the first is at ", at(g), "); only one is supported"));
        g = c;
      }
    }
    if (!g) return err(root, "no <graph> element in <graphml>");
    choose_label_keys();
    seen_in.assign(keys.size(), 0);

    graph out;
    std::string_view edgedefault = g.attribute("edgedefault") ? g.attribute("edgedefault").value() : "directed";
    if (edgedefault == "undirected")
      out.directed = false;
    else if (edgedefault != "directed")
      return err(g, cat("edgedefault must be \"directed\" or \"undirected\", not \"", edgedefault, "\""));

    // Nodes first: GraphML lets an edge come before the nodes it joins.
    std::unordered_map<std::string, size_t> vertex_by_id;
    std::vector<pugi::xml_node> vertex_el;
    size_t elements = 0;
    for (auto c : g.children()) {
      if (c.type() != pugi::node_element) continue;
      auto n = local_name(c);
      if (n == "hyperedge") return err(c, "<hyperedge> is not supported");
      if (n == "data") {
        auto it = key_by_id.find(c.attribute("key").value());
        if (it == key_by_id.end())
          return err(c, cat("<data> uses the undeclared key '", c.attribute("key").value(), "'"));
        auto dom = keys[it->second].domain;
        if (dom == key_domain::node || dom == key_domain::edge)
          return err(c, cat("key '", c.attribute("key").value(), "' is declared for ",
                            dom == key_domain::node ? "nodes" : "edges", " but used in <graph>"));
        continue;
      }
      if (n != "node" && n != "edge") continue;
      if (++elements > graphml_elements_max)
        return err(c, cat("more than ", graphml_elements_max, " nodes and edges"));
      if (n != "node") continue;
      graph_vertex v;
      v.id = c.attribute("id").value();
      if (v.id.empty()) return err(c, "<node> without an id");
      if (auto it = vertex_by_id.find(v.id); it != vertex_by_id.end())
        return err(c, cat("duplicate node id '", v.id, "' (first at ", at(vertex_el[it->second]), ")"));
      for (auto sub : c.children()) {
        if (sub.type() != pugi::node_element) continue;
        if (local_name(sub) == "graph") return err(sub, cat("node '", v.id, "' holds a nested <graph>; not supported"));
        if (local_name(sub) == "port") return err(sub, "<port> is not supported");
      }
      if (auto s = read_data(c, key_domain::node, v.label, v.properties); !s) return s.error();
      if (v.label.empty()) v.label = "V";
      vertex_by_id.emplace(v.id, out.vertices.size());
      vertex_el.push_back(c);
      out.vertices.push_back(std::move(v));
    }

    std::unordered_map<std::string, pugi::xml_node> edge_by_id;
    for (auto c : g.children()) {
      if (c.type() != pugi::node_element || local_name(c) != "edge") continue;
      graph_edge e;
      e.id = c.attribute("id").value();
      if (!e.id.empty()) {
        auto [it, fresh] = edge_by_id.emplace(e.id, c);
        if (!fresh) return err(c, cat("duplicate edge id '", e.id, "' (first at ", at(it->second), ")"));
      }
      auto endpoint = [&](const char* attr, size_t& index) -> status {
        std::string ref = c.attribute(attr).value();
        if (ref.empty()) return err(c, cat("<edge", e.id.empty() ? "" : " '" + e.id + "'", "> without a ", attr));
        auto it = vertex_by_id.find(ref);
        if (it == vertex_by_id.end())
          return err(c, cat("edge", e.id.empty() ? "" : " '" + e.id + "'", ": ", attr, " '", ref,
                            "' is not a node of the graph"));
        index = it->second;
        return ok_status();
      };
      if (auto s = endpoint("source", e.source); !s) return s.error();
      if (auto s = endpoint("target", e.target); !s) return s.error();
      if (c.attribute("sourceport") || c.attribute("targetport")) return err(c, "edge ports are not supported");
      e.directed = out.directed;
      if (auto d = c.attribute("directed")) {
        auto b = parse_bool(d.value());
        if (!b) return err(c, cat("directed must be \"true\" or \"false\", not \"", d.value(), "\""));
        e.directed = *b;
      }
      for (auto sub : c.children())
        if (sub.type() == pugi::node_element && local_name(sub) == "graph")
          return err(sub, "an edge holds a nested <graph>; not supported");
      if (auto s = read_data(c, key_domain::edge, e.label, e.properties); !s) return s.error();
      if (e.label.empty()) e.label = "E";
      out.edges.push_back(std::move(e));
    }
    return out;
  }
};

}  // namespace

std::string to_string(const property_value& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>)
          return x;
        else if constexpr (std::is_same_v<T, bool>)
          return x ? "true" : "false";
        else if constexpr (std::is_same_v<T, double>) {
          char buf[64];
          auto r = std::to_chars(buf, buf + sizeof buf, x);  // shortest text that reads back the same
          return std::string(buf, r.ptr);
        } else
          return cat(x);
      },
      v);
}

result<graph> parse_graphml(std::string_view xml, const std::string& file) {
  parser p;
  p.text = xml;
  p.file = file;
  return p.run();
}

result<graph> load_graphml(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return error_info{path.string(), "", cat("cannot read: ", ec.message())};
  if (size > graphml_file_bytes_max)
    return error_info{path.string(), "", cat("file has ", size, " bytes; at most ", graphml_file_bytes_max,
                                             " are accepted")};
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_graphml(*text, path.string());
}

}  // namespace troupe
