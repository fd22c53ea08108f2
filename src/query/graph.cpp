#include "src/query/graph.hpp"

#include <cassert>
#include <deque>
#include <map>
#include <set>

#include "src/util/ascii.hpp"
#include "src/util/strings.hpp"

namespace troupe::query::detail {

namespace json = boost::json;

namespace {

// Whether the edge class `suffix` (of an out_/in_ field) is one of `labels`
// (no labels: every class). OrientDB compares class names ignoring case.
bool label_matches(std::string_view suffix, const std::vector<json::value>& labels) {
  if (labels.empty()) return true;
  std::string s = ascii_lower(suffix);
  for (auto& l : labels)
    if (l.is_string() && ascii_lower(l.get_string()) == s) return true;
  return false;
}

// The links a value holds: itself, or the elements of an array.
void collect_links(const json::value& v, std::vector<storage::rid>& out) {
  if (auto* a = v.if_array()) {
    for (auto& x : *a)
      if (auto id = as_link(x)) out.push_back(*id);
  } else if (auto id = as_link(v)) {
    out.push_back(*id);
  }
}

// out/in/both and their E forms over one vertex's edge fields.
void adjacent(std::string_view prefix, bool edges_only, const std::vector<json::value>& labels, const json::object& rec,
              json::array& out, eval_context& ctx) {
  const char* far = prefix == "out_" ? "in" : "out";
  for (auto& kv : rec) {
    std::string_view key = kv.key();
    if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) continue;
    if (!label_matches(key.substr(prefix.size()), labels)) continue;
    std::vector<storage::rid> edges;
    collect_links(kv.value(), edges);
    for (auto& e : edges) {
      if (edges_only) {
        out.push_back(json::string(e.to_string()));
        continue;
      }
      auto edge = load(ctx, e);
      if (ctx.failed()) return;
      if (!edge) continue;
      auto it = edge->find(far);
      if (it != edge->end() && as_link(it->value())) out.push_back(it->value());
    }
  }
}

}  // namespace

bool is_graph_function(std::string_view n) {
  return n == "out" || n == "in" || n == "both" || n == "oute" || n == "ine" || n == "bothe" || n == "outv" ||
         n == "inv" || n == "bothv";
}

json::value graph_function_on(std::string_view name, const std::vector<json::value>& labels, const json::object& rec,
                              eval_context& ctx) {
  assert(is_graph_function(name));
  if (name == "outv" || name == "inv" || name == "bothv") {
    auto vertex = [&](const char* f) -> json::value {
      auto it = rec.find(f);
      return it != rec.end() && as_link(it->value()) ? it->value() : json::value(nullptr);
    };
    if (name == "outv") return vertex("out");
    if (name == "inv") return vertex("in");
    json::array both;
    for (auto* f : {"out", "in"})
      if (auto v = vertex(f); !v.is_null()) both.push_back(v);
    return both;
  }
  bool edges_only = name.back() == 'e';
  std::string_view base = edges_only ? name.substr(0, name.size() - 1) : name;
  json::array out;
  if (base == "out" || base == "both") adjacent("out_", edges_only, labels, rec, out, ctx);
  if (base == "in" || base == "both") adjacent("in_", edges_only, labels, rec, out, ctx);
  return out;
}

json::value graph_function(std::string_view name, const std::vector<json::value>& labels, const json::value& target,
                           eval_context& ctx) {
  if (ctx.failed()) return nullptr;
  if (auto* a = target.if_array()) {
    json::array out;
    for (auto& x : *a) {
      auto r = graph_function(name, labels, x, ctx);
      if (auto* ra = r.if_array()) out.insert(out.end(), ra->begin(), ra->end());
      else if (!r.is_null()) out.push_back(std::move(r));
    }
    return out;
  }
  if (auto* o = target.if_object(); o != nullptr && o->contains("@rid")) return graph_function_on(name, labels, *o, ctx);
  if (auto id = as_link(target)) {
    auto rec = load(ctx, *id);
    return rec ? graph_function_on(name, labels, *rec, ctx) : json::value(nullptr);
  }
  return nullptr;
}

json::value shortest_path(const json::value& from, const json::value& to, const json::value& direction,
                          const json::value& edge_class, eval_context& ctx) {
  auto a = as_link(from), b = as_link(to);
  if (!a || !b) return json::array{};
  std::string dir = direction.is_null() ? "both" : direction.is_string() ? ascii_lower(direction.get_string()) : "";
  if (dir != "out" && dir != "in" && dir != "both") {
    ctx.fail("shortestPath(): the direction must be 'OUT', 'IN' or 'BOTH'");
    return nullptr;
  }
  std::vector<json::value> labels;
  if (edge_class.is_string()) labels.push_back(edge_class);
  else if (auto* arr = edge_class.if_array()) labels.assign(arr->begin(), arr->end());
  if (*a == *b) return json::array{json::string(a->to_string())};

  // Plain breadth-first search; parent[v] is the vertex v was reached from.
  std::map<storage::rid, storage::rid> parent{{*a, *a}};
  std::deque<storage::rid> queue{*a};
  while (!queue.empty()) {
    auto v = queue.front();
    queue.pop_front();
    auto rec = load(ctx, v);
    if (ctx.failed()) return nullptr;
    if (!rec) continue;
    auto next = graph_function_on(dir, labels, *rec, ctx);
    if (ctx.failed()) return nullptr;
    std::vector<storage::rid> ids;
    collect_links(next, ids);
    for (auto& n : ids) {
      if (!parent.emplace(n, v).second) continue;
      if (n == *b) {
        std::vector<storage::rid> path{n};
        while (path.back() != *a) path.push_back(parent.at(path.back()));
        json::array out;
        for (auto it = path.rbegin(); it != path.rend(); ++it) out.push_back(json::string(it->to_string()));
        return out;
      }
      if (parent.size() > ctx.limits.traverse_records_max) {
        ctx.fail(cat("shortestPath() visited more than ", ctx.limits.traverse_records_max,
                     " vertices without reaching ", b->to_string(), "; give a direction or an edge class"));
        return nullptr;
      }
      queue.push_back(n);
    }
  }
  return json::array{};
}

bool traverse(const traverse_stmt& s, eval_context& ctx, const std::function<bool(source_row&&)>& visit) {
  const size_t max = ctx.limits.traverse_records_max;
  auto too_many = [&] {
    ctx.fail(cat("TRAVERSE visited more than ", max, " records; add a WHILE, MAXDEPTH or LIMIT"));
    return false;
  };
  struct pending {
    storage::rid id;
    int64_t depth = 0;
  };
  std::vector<pending> starts;
  bool ok = for_each_source(ctx, s.from, [&](source_row&& r) {
    auto it = r.doc.find("@rid");
    if (it != r.doc.end())
      if (auto id = as_link(it->value())) starts.push_back({*id, 0});
    return starts.size() <= max;
  });
  if (!ok) return false;
  if (starts.size() > max) return too_many();

  // Depth first: a stack, children pushed in reverse so that the first is
  // visited first (pre-order); breadth first: a queue. A record is marked
  // visited when it is taken, so a stale entry is skipped then.
  bool depth_first = s.strat == traverse_stmt::strategy::depth_first;
  std::deque<pending> work(starts.begin(), starts.end());
  if (depth_first) std::reverse(work.begin(), work.end());
  std::set<storage::rid> visited;
  int64_t returned = 0;
  while (!work.empty()) {
    pending p = depth_first ? work.back() : work.front();
    if (depth_first) work.pop_back();
    else work.pop_front();
    if (visited.count(p.id) != 0) continue;
    auto rec = load_record(ctx, p.id);
    if (ctx.failed()) return false;
    if (!rec) continue;
    source_row row{to_doc(*rec), {}, &*rec};
    row.doc["$depth"] = p.depth;
    if (s.while_cond && !eval_holds(*s.while_cond, row.doc, ctx)) {
      if (ctx.failed()) return false;
      continue;
    }
    visited.insert(p.id);
    if (visited.size() > max) return too_many();
    std::vector<storage::rid> next;
    if (!s.max_depth || p.depth < *s.max_depth) {
      if (s.all_fields) {
        for (auto& kv : row.doc)
          if (!kv.key().starts_with("@") && !kv.key().starts_with("$")) collect_links(kv.value(), next);
      }
      for (auto& item : s.items) collect_links(eval(*item, row.doc, ctx), next);
      if (ctx.failed()) return false;
    }
    if (!visit(std::move(row))) return !ctx.failed();
    if (s.limit && *s.limit >= 0 && ++returned >= *s.limit) return true;
    auto add = [&](const storage::rid& id) {
      if (visited.count(id) == 0) work.push_back({id, p.depth + 1});
    };
    if (depth_first) std::for_each(next.rbegin(), next.rend(), add);
    else std::for_each(next.begin(), next.end(), add);
    if (work.size() > max) return too_many();
  }
  return true;
}

}  // namespace troupe::query::detail
