#include "src/query/plan.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace troupe::query {

namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The top-level AND terms of `e`.
void conjuncts(const expr_ptr& e, std::vector<const expr*>& out) {
  if (!e) return;
  if (auto* b = std::get_if<binary>(&e->node); b && b->op == binary_op::and_) {
    conjuncts(b->a, out);
    conjuncts(b->b, out);
    return;
  }
  out.push_back(e.get());
}

// A plain top-level field (not an attribute, not a path), lower-cased for
// matching the index's field names as OrientDB does (case-insensitive).
std::optional<std::string> plain_field(const expr_ptr& e) {
  auto* f = e ? std::get_if<field_ref>(&e->node) : nullptr;
  if (f == nullptr || f->path.size() != 1 || f->path[0].empty() || f->path[0][0] == '@') return std::nullopt;
  return lower(f->path[0]);
}

// The value of a literal or a parameter; nullopt for anything else or null
// (null matches nothing through =, and is never indexed) or a missing parameter.
std::optional<json::value> constant(const expr_ptr& e, const params& p) {
  if (!e) return std::nullopt;
  if (!std::holds_alternative<literal>(e->node) && !std::holds_alternative<param>(e->node)) return std::nullopt;
  if (auto* pr = std::get_if<param>(&e->node)) {
    bool present = pr->index >= 0 ? static_cast<size_t>(pr->index) < p.positional.size() : p.named.count(pr->name) > 0;
    if (!present) return std::nullopt;
  }
  auto v = evaluate(*e, json::object{}, p);
  if (v.is_null() || v.is_array() || v.is_object()) return std::nullopt;
  return v;
}

struct term_facts {
  std::map<std::string, json::value> eq;  // field -> value
  struct range {
    std::optional<storage::database::index_bound> lo, hi;
  };
  std::map<std::string, range> ranges;
};

binary_op flipped(binary_op op) {
  switch (op) {
    case binary_op::lt: return binary_op::gt;
    case binary_op::le: return binary_op::ge;
    case binary_op::gt: return binary_op::lt;
    case binary_op::ge: return binary_op::le;
    default: return op;
  }
}

term_facts facts_of(const expr_ptr& where, const params& p) {
  term_facts f;
  std::vector<const expr*> terms;
  conjuncts(where, terms);
  for (auto* t : terms) {
    if (auto* bt = std::get_if<between>(&t->node)) {
      auto field = plain_field(bt->x);
      auto lo = constant(bt->lo, p), hi = constant(bt->hi, p);
      if (field && lo && hi) {
        f.ranges[*field].lo = storage::database::index_bound{*lo, true};
        f.ranges[*field].hi = storage::database::index_bound{*hi, true};
      }
      continue;
    }
    auto* b = std::get_if<binary>(&t->node);
    if (b == nullptr) continue;
    auto op = b->op;
    auto field = plain_field(b->a);
    auto value = constant(b->b, p);
    if (!field || !value) {  // c op field
      field = plain_field(b->b);
      value = constant(b->a, p);
      op = flipped(op);
    }
    if (!field || !value) continue;
    switch (op) {
      case binary_op::eq: f.eq.emplace(*field, *value); break;
      case binary_op::gt: f.ranges[*field].lo = storage::database::index_bound{*value, false}; break;
      case binary_op::ge: f.ranges[*field].lo = storage::database::index_bound{*value, true}; break;
      case binary_op::lt: f.ranges[*field].hi = storage::database::index_bound{*value, false}; break;
      case binary_op::le: f.ranges[*field].hi = storage::database::index_bound{*value, true}; break;
      default: break;
    }
  }
  return f;
}

// The target class and its superclasses, lower-cased.
std::vector<std::string> lineage(const storage::database& db, const std::string& cls) {
  std::vector<std::string> out;
  auto c = db.class_by_name(cls);
  for (int depth = 0; c && depth < 64; ++depth) {
    out.push_back(lower(c->name));
    if (c->superclass.empty()) break;
    c = db.class_by_name(c->superclass);
  }
  return out;
}

}  // namespace

access_path choose_access(const storage::database& db, const target& t, const expr_ptr& where, const params& p) {
  access_path best;
  if (t.k != target::kind::klass || !where) return best;
  auto line = lineage(db, t.name);
  if (line.empty()) return best;
  auto f = facts_of(where, p);
  if (f.eq.empty() && f.ranges.empty()) return best;
  // Score: full unique equality > longer equality prefix > range.
  int best_score = 0;
  for (auto& idx : db.indexes()) {
    if (std::find(line.begin(), line.end(), lower(idx.class_name)) == line.end()) continue;
    std::vector<json::value> key;
    for (auto& field : idx.fields) {
      auto it = f.eq.find(lower(field));
      if (it == f.eq.end()) break;
      key.push_back(it->second);
    }
    int score = 0;
    access_path a;
    if (!key.empty()) {
      bool full = key.size() == idx.fields.size();
      score = 100 + static_cast<int>(key.size()) * 10 + (full && idx.unique ? 1000 : 0);
      a.k = access_path::kind::index_eq;
      a.key = std::move(key);
      a.unique_point = full && idx.unique;
    } else if (auto r = f.ranges.find(lower(idx.fields[0])); r != f.ranges.end()) {
      score = 10;
      a.k = access_path::kind::index_range;
      a.lo = r->second.lo;
      a.hi = r->second.hi;
    }
    if (score > best_score) {
      best_score = score;
      a.index = idx.name;
      best = std::move(a);
    }
  }
  return best;
}

std::vector<storage::rid> candidates(const storage::database& db, const access_path& a, size_t limit) {
  switch (a.k) {
    case access_path::kind::index_eq: return db.index_find(a.index, a.key, limit);
    case access_path::kind::index_range: return db.index_range(a.index, a.lo, a.hi, limit);
    case access_path::kind::scan: break;
  }
  return {};
}

}  // namespace troupe::query
