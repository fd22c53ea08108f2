#include "src/graph/import.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cassert>
#include <cctype>
#include <unordered_map>
#include <utility>

#include "src/util/strings.hpp"

namespace json = boost::json;

namespace troupe {

namespace {

// A superclass chain longer than this is taken as a cycle in the schema.
constexpr int superclass_depth_max = 64;
constexpr size_t name_chars_max = 128;

bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_lower_or_digit(char c) { return is_lower(c) || (c >= '0' && c <= '9'); }

// A class name OrientDB accepts in SQL without quoting.
bool valid_class_name(std::string_view s) {
  if (s.empty() || s.size() > name_chars_max) return false;
  if (std::isdigit(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

// Field names: '@' starts OrientDB's metadata (@rid, @class ...), and control
// characters make names no console or client could type.
bool valid_field_name(std::string_view s) {
  if (s.empty() || s.size() > name_chars_max || s.front() == '@') return false;
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

json::value to_json(const property_value& v) {
  return std::visit([](const auto& x) -> json::value { return json::value(x); }, v);
}

// Property name → field name, checked once per distinct name: two names that
// map to the same field would silently overwrite each other in a document.
class field_names {
 public:
  field_names(const char* kind, bool vertex) : kind_(kind), vertex_(vertex) {}

  result<std::string> field(const std::string& prop, const std::string& source) {
    if (auto it = by_prop_.find(prop); it != by_prop_.end()) return it->second;
    auto f = to_snake_case(prop);
    if (!valid_field_name(f))
      return error_info{source, "", cat(kind_, " property '", prop, "' does not make a valid field name")};
    bool reserved = vertex_ ? (f == "type" || f.starts_with("out_") || f.starts_with("in_"))
                            : (f == "out" || f == "in");
    if (reserved)
      return error_info{source, "",
                        cat(kind_, " property '", prop, "' would become the field '", f, "', which the ", kind_,
                            " layout reserves", vertex_ ? " (type, out_*, in_*)" : " (out, in)")};
    if (auto it = by_field_.find(f); it != by_field_.end())
      return error_info{source, "",
                        cat(kind_, " properties '", it->second, "' and '", prop, "' would both become the field '",
                            f, "'")};
    by_field_.emplace(f, prop);
    by_prop_.emplace(prop, f);
    return f;
  }

 private:
  const char* kind_;
  bool vertex_;
  std::unordered_map<std::string, std::string> by_prop_;
  std::unordered_map<std::string, std::string> by_field_;
};

struct edge_class {
  std::string name;
  int32_t cluster = -1;
  int64_t next_position = 0;
  int64_t count = 0;
};

std::optional<storage::cluster_info> cluster_by_id(const storage::database& db, int32_t id) {
  for (auto& c : db.clusters())
    if (c.id == id) return c;
  return std::nullopt;
}

// True if `name` is E or a (transitive) subclass of E.
result<bool> extends_e(const storage::database& db, std::string name, const std::string& source) {
  for (int depth = 0; depth < superclass_depth_max; ++depth) {
    if (name == "E") return true;
    auto c = db.class_by_name(name);
    if (!c) return false;
    if (c->name == "E") return true;
    if (c->superclass.empty()) return false;
    name = c->superclass;
  }
  return error_info{source, "", cat("class '", name, "': superclass chain longer than ", superclass_depth_max)};
}

// Collects operations and applies them in batches, checking every result.
class writer {
 public:
  writer(storage::database& db, size_t batch_ops, std::string source, import_stats& stats)
      : db_(db), batch_ops_(batch_ops), source_(std::move(source)), stats_(stats) {
    ops_.reserve(batch_ops_);
  }

  status add(storage::op o, std::string what) {
    ops_.push_back(std::move(o));
    what_.push_back(std::move(what));
    return ops_.size() >= batch_ops_ ? flush() : ok_status();
  }

  status flush() {
    if (ops_.empty()) return ok_status();
    auto results = db_.apply(ops_);
    ++stats_.batches;
    if (results.size() != ops_.size())
      return error_info{source_, "", cat("storage returned ", results.size(), " results for ", ops_.size(),
                                         " operations")};
    for (size_t i = 0; i < ops_.size(); ++i) {
      const auto& r = results[i];
      if (r.code != storage::errc::ok)
        return error_info{source_, "", cat("writing ", what_[i], " failed: ", storage::to_string(r.code),
                                           r.message.empty() ? "" : ": ", r.message)};
      const auto& o = ops_[i];
      // The precomputed RIDs are written into other documents already, so a
      // record that landed elsewhere would leave dangling links.
      if (o.k == storage::op::kind::create && r.rec.id != o.id)
        return error_info{source_, "", cat("writing ", what_[i], ": storage placed it at ", r.rec.id.to_string(),
                                           " instead of ", o.id.to_string())};
    }
    ops_.clear();
    what_.clear();
    return ok_status();
  }

 private:
  storage::database& db_;
  size_t batch_ops_;
  std::string source_;
  import_stats& stats_;
  std::vector<storage::op> ops_;
  std::vector<std::string> what_;
};

storage::op create_op(std::string class_name, storage::rid id, const json::object& fields) {
  storage::op o;
  o.k = storage::op::kind::create;
  o.class_name = std::move(class_name);
  o.id = id;
  o.fields = json::serialize(fields);
  return o;
}

}  // namespace

std::string to_snake_case(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 4);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (!is_upper(c)) {
      out += c;
      continue;
    }
    // A capital starts a word after a lower-case letter or digit ("songType"),
    // or ends an acronym when a lower-case letter follows ("HTTPServer").
    bool starts_word = i > 0 && (is_lower_or_digit(s[i - 1]) ||
                                 (is_upper(s[i - 1]) && i + 1 < s.size() && is_lower(s[i + 1])));
    if (starts_word && !out.empty() && out.back() != '_') out += '_';
    out += static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

namespace {

// What the import will write, decided from the graph alone.
struct plan {
  field_names vertex_fields{"vertex", true};
  field_names edge_fields{"edge", false};
  std::vector<edge_class> classes;   // in order of first appearance
  std::vector<size_t> class_of_edge;  // per edge, index into classes
};

result<plan> make_plan(const graph& g, const import_options& opts, const std::string& source) {
  if (opts.batch_ops < 1 || opts.batch_ops > import_batch_ops_max)
    return error_info{source, "", cat("batch size ", opts.batch_ops, " is outside 1..", import_batch_ops_max)};
  plan p;
  for (const auto& v : g.vertices)
    for (const auto& prop : v.properties)
      if (auto f = p.vertex_fields.field(prop.name, source); !f) return f.error();
  for (const auto& e : g.edges)
    for (const auto& prop : e.properties)
      if (auto f = p.edge_fields.field(prop.name, source); !f) return f.error();

  std::unordered_map<std::string, size_t> class_by_label;
  p.class_of_edge.resize(g.edges.size());
  for (size_t j = 0; j < g.edges.size(); ++j) {
    const auto& label = g.edges[j].label;
    auto it = class_by_label.find(label);
    if (it == class_by_label.end()) {
      auto name = to_snake_case(label);
      if (iequals(name, "E")) name = "E";
      if (!valid_class_name(name))
        return error_info{source, "", cat("edge label '", label, "' does not make a valid class name ('", name,
                                          "'): letters, digits and '_', not starting with a digit")};
      size_t idx = p.classes.size();
      for (size_t k = 0; k < p.classes.size(); ++k)
        if (p.classes[k].name == name) idx = k;  // two labels, one class ("followedBy", "followed_by")
      if (idx == p.classes.size()) p.classes.push_back(edge_class{name});
      it = class_by_label.emplace(label, idx).first;
    }
    p.class_of_edge[j] = it->second;
  }
  return p;
}

std::string source_of(const import_options& opts) { return opts.source_name.empty() ? "graph" : opts.source_name; }

}  // namespace

status validate_for_import(const graph& g, const import_options& opts) {
  auto p = make_plan(g, opts, source_of(opts));
  if (!p) return p.error();
  return ok_status();
}

result<import_stats> import_graph(storage::database& db, const graph& g, const import_options& opts) {
  auto started = std::chrono::steady_clock::now();
  const std::string source = source_of(opts);
  auto planned = make_plan(g, opts, source);
  if (!planned) return planned.error();
  auto& vertex_fields = planned->vertex_fields;
  auto& edge_fields = planned->edge_fields;
  auto& classes = planned->classes;
  const auto& class_of_edge = planned->class_of_edge;

  import_stats stats;
  writer w(db, opts.batch_ops, source, stats);

  // Edge classes come first, in one batch of their own: their default
  // clusters are only known once they exist.
  std::vector<storage::op> class_ops;
  for (const auto& c : classes) {
    if (db.class_by_name(c.name)) {
      auto is_edge = extends_e(db, c.name, source);
      if (!is_edge) return is_edge.error();
      if (!*is_edge)
        return error_info{source, "", cat("class '", c.name, "' exists but is not an edge class (it does not extend E)")};
      continue;
    }
    storage::op o;
    o.k = storage::op::kind::create_class;
    o.class_name = c.name;
    o.superclass = "E";
    class_ops.push_back(std::move(o));
  }
  if (!class_ops.empty()) {
    auto results = db.apply(class_ops);
    ++stats.batches;
    if (results.size() != class_ops.size())
      return error_info{source, "", "storage returned the wrong number of results for creating classes"};
    for (size_t i = 0; i < class_ops.size(); ++i) {
      if (results[i].code != storage::errc::ok)
        return error_info{source, "", cat("creating class '", class_ops[i].class_name, "' failed: ",
                                          storage::to_string(results[i].code), ": ", results[i].message)};
      stats.created_classes.push_back(class_ops[i].class_name);
    }
  }

  // --- every RID, before any document is written -----------------------------
  auto vclass = db.class_by_name("V");
  if (!vclass) return error_info{source, "", "the database has no class V"};
  auto vcluster = cluster_by_id(db, vclass->default_cluster);
  if (!vcluster) return error_info{source, "", cat("class V's default cluster ", vclass->default_cluster, " is missing")};
  for (auto& c : classes) {
    auto ci = db.class_by_name(c.name);
    if (!ci) return error_info{source, "", cat("class '", c.name, "' is missing after it was created")};
    auto cl = cluster_by_id(db, ci->default_cluster);
    if (!cl) return error_info{source, "", cat("class '", c.name, "': default cluster ", ci->default_cluster, " is missing")};
    if (cl->id == vcluster->id)
      return error_info{source, "", cat("class '", c.name, "' shares cluster ", cl->id, " with class V")};
    c.cluster = cl->id;
    c.next_position = cl->next_position;
  }
  // Two edge classes may share a default cluster: positions are then handed
  // out from one counter per cluster.
  std::unordered_map<int32_t, int64_t> next_in_cluster;
  for (const auto& c : classes) next_in_cluster.emplace(c.cluster, c.next_position);

  auto vertex_rid = [&](size_t i) {
    return storage::rid{vcluster->id, vcluster->next_position + static_cast<int64_t>(i)};
  };
  std::vector<storage::rid> edge_rid(g.edges.size());
  std::vector<std::string> edge_rid_text(g.edges.size());
  std::vector<std::vector<size_t>> out_edges(g.vertices.size());
  std::vector<std::vector<size_t>> in_edges(g.vertices.size());
  for (size_t j = 0; j < g.edges.size(); ++j) {
    auto& c = classes[class_of_edge[j]];
    edge_rid[j] = storage::rid{c.cluster, next_in_cluster[c.cluster]++};
    edge_rid_text[j] = edge_rid[j].to_string();
    ++c.count;
    const auto& e = g.edges[j];
    assert(e.source < g.vertices.size() && e.target < g.vertices.size());
    out_edges[e.source].push_back(j);
    in_edges[e.target].push_back(j);
  }

  // --- vertices, each written once with its final fields ---------------------
  auto by_class = [&](std::vector<size_t>& v) {
    std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) { return class_of_edge[a] < class_of_edge[b]; });
  };
  auto add_links = [&](json::object& doc, const char* prefix, std::vector<size_t>& edges) {
    by_class(edges);
    for (size_t k = 0; k < edges.size();) {
      size_t cls = class_of_edge[edges[k]];
      json::array links;
      for (; k < edges.size() && class_of_edge[edges[k]] == cls; ++k) links.emplace_back(edge_rid_text[edges[k]]);
      doc[cat(prefix, classes[cls].name)] = std::move(links);
    }
  };
  for (size_t i = 0; i < g.vertices.size(); ++i) {
    const auto& v = g.vertices[i];
    json::object doc;
    doc["type"] = v.label;
    for (const auto& p : v.properties) doc[*vertex_fields.field(p.name, source)] = to_json(p.value);
    add_links(doc, "out_", out_edges[i]);
    add_links(doc, "in_", in_edges[i]);
    auto rid = vertex_rid(i);
    if (auto s = w.add(create_op("V", rid, doc), cat("vertex '", v.id, "' at ", rid.to_string())); !s)
      return s.error();
    ++stats.vertices;
  }

  // --- edges -------------------------------------------------------------------
  for (size_t j = 0; j < g.edges.size(); ++j) {
    const auto& e = g.edges[j];
    json::object doc;
    doc["out"] = vertex_rid(e.source).to_string();
    doc["in"] = vertex_rid(e.target).to_string();
    for (const auto& p : e.properties) doc[*edge_fields.field(p.name, source)] = to_json(p.value);
    const auto& cls = classes[class_of_edge[j]];
    auto what = cat("edge ", e.id.empty() ? cat("#", j) : cat("'", e.id, "'"), " at ", edge_rid_text[j]);
    if (auto s = w.add(create_op(cls.name, edge_rid[j], doc), std::move(what)); !s) return s.error();
    ++stats.edges;
  }
  if (auto s = w.flush(); !s) return s.error();

  for (const auto& c : classes) stats.edges_by_class[c.name] += c.count;
  stats.elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  return stats;
}

}  // namespace troupe
