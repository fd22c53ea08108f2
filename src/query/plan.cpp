#include "src/query/plan.hpp"

#include <algorithm>
#include <map>

#include "src/util/ascii.hpp"

namespace troupe::query {

namespace json = boost::json;

namespace {

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

// A plain top-level field (not an attribute, not a path), as written. Field
// names match an index's exactly: storage indexes the field spelled as the
// index names it, and the executor reads the field spelled as the WHERE names
// it, so matching them ignoring case could miss a record whose field is
// spelled like the WHERE's and not like the index's.
std::optional<std::string> plain_field(const expr_ptr& e) {
  auto* f = e ? std::get_if<field_ref>(&e->node) : nullptr;
  if (f == nullptr || f->path.size() != 1 || f->path[0].empty() || f->path[0][0] == '@') return std::nullopt;
  return f->path[0];
}

// Property types whose values storage keeps scalar (never an array or
// object) on every record of the class and its subclasses.
bool scalar_type(std::string_view t) {
  for (std::string_view s : {"BOOLEAN", "SHORT", "INTEGER", "LONG", "FLOAT", "DOUBLE", "STRING", "DATE", "DATETIME", "LINK"})
    if (t == s) return true;
  return false;
}

// Whether every field of `idx` has a scalar property on the target's class or
// a superclass. Why: storage leaves a record out of an index when one of its
// indexed fields holds an array or object, yet the executor's `field = c`
// holds for an array holding c; only a declared scalar type (checked by
// storage on every write) rules such records out.
bool fields_scalar(const std::vector<storage::property_info>& props, const storage::index_info& idx) {
  for (auto& field : idx.fields) {
    bool ok = false;
    for (auto& p : props)
      if (p.name == field && scalar_type(p.type)) ok = true;
    if (!ok) return false;
  }
  return true;
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
    out.push_back(ascii_lower(c->name));
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
  auto props = db.properties(t.name);
  // Score: full unique equality > longer equality prefix > range.
  int best_score = 0;
  for (auto& idx : db.indexes()) {
    if (std::find(line.begin(), line.end(), ascii_lower(idx.class_name)) == line.end()) continue;
    if (!fields_scalar(props, idx)) continue;
    std::vector<json::value> key;
    for (auto& field : idx.fields) {
      auto it = f.eq.find(field);
      if (it == f.eq.end()) break;
      key.push_back(it->second);
    }
    int score = 0;
    access_path a;
    if (!key.empty()) {
      bool full = key.size() == idx.fields.size();
      score = 100 + static_cast<int>(key.size()) * 10 + (full && idx.unique ? 1000 : 0);
      a.k = access_path::kind::index_eq;
      a.fields_used = key.size();
      a.key = std::move(key);
      a.unique_point = full && idx.unique;
    } else if (auto r = f.ranges.find(idx.fields[0]); r != f.ranges.end()) {
      score = 10;
      a.k = access_path::kind::index_range;
      a.fields_used = 1;
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
