#include "src/query/select.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "src/util/strings.hpp"

namespace troupe::query {

namespace json = boost::json;

namespace {

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

// -1, 0, 1; nullopt when the two cannot be compared (null, absent, kinds differ).
std::optional<int> compare(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) {
    if (a.is_int64() && b.is_int64()) return a.get_int64() < b.get_int64() ? -1 : a.get_int64() > b.get_int64();
    double x = number(a), y = number(b);
    return x < y ? -1 : x > y;
  }
  if (a.is_string() && b.is_string()) {
    int c = a.get_string().subview().compare(b.get_string().subview());
    return c < 0 ? -1 : c > 0;
  }
  if (a.is_bool() && b.is_bool()) return static_cast<int>(a.get_bool()) - static_cast<int>(b.get_bool());
  return std::nullopt;
}

bool equal(const json::value& a, const json::value& b) {
  auto c = compare(a, b);
  if (c) return *c == 0;
  return !a.is_null() && !b.is_null() && a == b;  // arrays and objects: structurally
}

json::value from_literal(const literal& l) {
  switch (l.k) {
    case literal::kind::null: return nullptr;
    case literal::kind::boolean: return l.b;
    case literal::kind::integer: return l.i;
    case literal::kind::real: return l.d;
    case literal::kind::string: return json::string(l.s);
    case literal::kind::rid: return json::string(l.r.to_string());
  }
  return nullptr;
}

// The field at `path`, or nullopt when absent.
std::optional<json::value> lookup(const json::object& doc, const std::vector<std::string>& path) {
  const json::value* at = nullptr;
  const json::object* obj = &doc;
  for (auto& step : path) {
    if (obj == nullptr) return std::nullopt;
    auto it = obj->find(step);
    if (it == obj->end()) return std::nullopt;
    at = &it->value();
    obj = at->if_object();
  }
  if (at == nullptr) return std::nullopt;
  return *at;
}

bool truthy(const json::value& v) { return v.is_bool() && v.get_bool(); }

json::value arith(binary_op op, const json::value& a, const json::value& b) {
  if (op == binary_op::add && a.is_string() && b.is_string())
    return json::string(std::string(a.get_string()) + std::string(b.get_string()));
  if (!is_number(a) || !is_number(b)) return nullptr;
  if (a.is_int64() && b.is_int64()) {
    int64_t x = a.get_int64(), y = b.get_int64(), r = 0;
    switch (op) {
      case binary_op::add: if (__builtin_add_overflow(x, y, &r)) return nullptr; return r;
      case binary_op::sub: if (__builtin_sub_overflow(x, y, &r)) return nullptr; return r;
      case binary_op::mul: if (__builtin_mul_overflow(x, y, &r)) return nullptr; return r;
      case binary_op::div: if (y == 0 || (x == INT64_MIN && y == -1)) return nullptr; return x / y;
      case binary_op::mod: if (y == 0 || (x == INT64_MIN && y == -1)) return nullptr; return x % y;
      default: return nullptr;
    }
  }
  double x = number(a), y = number(b);
  switch (op) {
    case binary_op::add: return x + y;
    case binary_op::sub: return x - y;
    case binary_op::mul: return x * y;
    case binary_op::div: return y == 0 ? json::value(nullptr) : json::value(x / y);
    case binary_op::mod: return y == 0 ? json::value(nullptr) : json::value(std::fmod(x, y));
    default: return nullptr;
  }
}

bool member_of(const json::value& x, const json::value& set) {
  if (auto* arr = set.if_array())
    return std::any_of(arr->begin(), arr->end(), [&](const json::value& v) { return equal(x, v); });
  return equal(x, set);
}

bool is_aggregate(const expr& e) {
  auto* c = std::get_if<call>(&e.node);
  if (c == nullptr) return false;
  return c->name == "count" || c->name == "sum" || c->name == "min" || c->name == "max" || c->name == "avg";
}

// The name of a projection without an alias, as OrientDB names it.
std::string column_name(const projection& p, size_t index) {
  if (!p.alias.empty()) return p.alias;
  if (auto* f = std::get_if<field_ref>(&p.e->node)) return f->path.back();
  if (auto* c = std::get_if<call>(&p.e->node)) return c->name;
  return cat("expr", index);
}

// The state of one aggregate over the records of a group.
struct aggregate_state {
  json::value acc;    // sum (sum, avg), or the extreme (min, max)
  int64_t count = 0;  // records counted (count), or non-null values seen
};

void accumulate(const call& c, aggregate_state& a, const json::object& doc, const params& p) {
  if (c.star || c.args.empty()) {
    ++a.count;
    return;
  }
  auto v = evaluate(*c.args[0], doc, p);
  if (v.is_null()) return;
  ++a.count;
  if (c.name == "sum" || c.name == "avg") {
    if (is_number(v)) a.acc = a.acc.is_null() ? v : arith(binary_op::add, a.acc, v);
  } else if (c.name == "min" || c.name == "max") {
    auto cmp = a.acc.is_null() ? std::optional<int>(0) : compare(v, a.acc);
    if (a.acc.is_null() || (cmp && ((c.name == "min" && *cmp < 0) || (c.name == "max" && *cmp > 0)))) a.acc = v;
  }
}

json::value finish(const call& c, const aggregate_state& a) {
  if (c.name == "count") return a.count;
  if (c.name == "avg") return a.count == 0 || !is_number(a.acc) ? json::value(nullptr) : json::value(number(a.acc) / a.count);
  return a.acc;
}

}  // namespace

bool like(std::string_view text, std::string_view pattern) {
  // Iterative with one backtrack point: linear in practice, no recursion.
  size_t t = 0, p = 0, star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '_' || pattern[p] == text[t])) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '%') {
      star_p = p++;
      star_t = t;
    } else if (star_p != std::string_view::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '%') ++p;
  return p == pattern.size();
}

json::value evaluate(const expr& e, const json::object& doc, const params& ps) {
  return std::visit(
      [&](const auto& n) -> json::value {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, literal>) {
          return from_literal(n);
        } else if constexpr (std::is_same_v<T, field_ref>) {
          auto v = lookup(doc, n.path);
          return v ? *v : json::value(nullptr);
        } else if constexpr (std::is_same_v<T, param>) {
          if (n.index >= 0)
            return static_cast<size_t>(n.index) < ps.positional.size() ? ps.positional[n.index] : json::value(nullptr);
          auto it = ps.named.find(n.name);
          return it == ps.named.end() ? json::value(nullptr) : it->second;
        } else if constexpr (std::is_same_v<T, call>) {
          if (n.name == "size" && n.args.size() == 1) {
            auto v = evaluate(*n.args[0], doc, ps);
            if (auto* a = v.if_array()) return static_cast<int64_t>(a->size());
            if (auto* s = v.if_string()) return static_cast<int64_t>(s->size());
            return nullptr;
          }
          if (n.name == "first" && n.args.size() == 1) {
            auto v = evaluate(*n.args[0], doc, ps);
            if (auto* a = v.if_array()) return a->empty() ? json::value(nullptr) : a->front();
            return v;
          }
          return nullptr;  // aggregates: computed over the result, not per record
        } else if constexpr (std::is_same_v<T, unary>) {
          switch (n.op) {
            case unary_op::not_: return !holds(*n.a, doc, ps);
            case unary_op::neg: {
              auto v = evaluate(*n.a, doc, ps);
              if (v.is_int64() && v.get_int64() != INT64_MIN) return -v.get_int64();
              if (is_number(v)) return -number(v);
              return nullptr;
            }
            case unary_op::is_null:
            case unary_op::is_not_null: {
              bool null = evaluate(*n.a, doc, ps).is_null();
              return n.op == unary_op::is_null ? null : !null;
            }
            case unary_op::is_defined:
            case unary_op::is_not_defined: {
              bool defined = true;
              if (auto* f = std::get_if<field_ref>(&n.a->node)) defined = lookup(doc, f->path).has_value();
              return n.op == unary_op::is_defined ? defined : !defined;
            }
          }
          return nullptr;
        } else if constexpr (std::is_same_v<T, binary>) {
          if (n.op == binary_op::and_) return holds(*n.a, doc, ps) && holds(*n.b, doc, ps);
          if (n.op == binary_op::or_) return holds(*n.a, doc, ps) || holds(*n.b, doc, ps);
          auto a = evaluate(*n.a, doc, ps), b = evaluate(*n.b, doc, ps);
          switch (n.op) {
            case binary_op::eq: return equal(a, b);
            case binary_op::ne: return !a.is_null() && !b.is_null() && !equal(a, b);
            case binary_op::lt: { auto c = compare(a, b); return c && *c < 0; }
            case binary_op::le: { auto c = compare(a, b); return c && *c <= 0; }
            case binary_op::gt: { auto c = compare(a, b); return c && *c > 0; }
            case binary_op::ge: { auto c = compare(a, b); return c && *c >= 0; }
            case binary_op::like: return a.is_string() && b.is_string() && like(a.get_string(), b.get_string());
            case binary_op::in: return !a.is_null() && member_of(a, b);
            case binary_op::not_in: return !a.is_null() && !member_of(a, b);
            case binary_op::contains: return a.is_array() && member_of(b, a);
            default: return arith(n.op, a, b);
          }
        } else if constexpr (std::is_same_v<T, between>) {
          auto x = evaluate(*n.x, doc, ps), lo = evaluate(*n.lo, doc, ps), hi = evaluate(*n.hi, doc, ps);
          auto c1 = compare(x, lo), c2 = compare(x, hi);
          return c1 && c2 && *c1 >= 0 && *c2 <= 0;
        } else {  // list
          json::array out;
          for (auto& item : n.items) out.push_back(evaluate(*item, doc, ps));
          return out;
        }
      },
      e.node);
}

bool holds(const expr& e, const json::object& doc, const params& p) { return truthy(evaluate(e, doc, p)); }

result<std::vector<std::string>> run_select(const storage::database& db, const select_stmt& s, const params& p,
                                            const select_limits& limits) {
  auto refuse = [](std::string what) { return error_info{"", "", std::move(what)}; };

  // The clusters (or records) to read.
  std::vector<int32_t> clusters;
  std::vector<storage::rid> rids;
  switch (s.from.k) {
    case target::kind::klass: {
      auto cls = db.class_by_name(s.from.name);
      if (!cls) return refuse(cat("Class '", s.from.name, "' was not found"));
      // The class and its subclasses (a class names its superclass).
      std::vector<std::string> family{cls->name};
      auto all = db.classes();
      for (size_t i = 0; i < family.size(); ++i)
        for (auto& c : all)
          if (c.superclass == family[i] && std::find(family.begin(), family.end(), c.name) == family.end())
            family.push_back(c.name);
      for (auto& name : family)
        for (auto& c : all)
          if (c.name == name && c.default_cluster >= 0) clusters.push_back(c.default_cluster);
      break;
    }
    case target::kind::cluster: {  // by name, or by id (cluster:12)
      auto c = db.cluster_by_name(s.from.name);
      for (auto& info : c ? std::vector<storage::cluster_info>{} : db.clusters())
        if (std::to_string(info.id) == s.from.name) c = info;
      if (!c) return refuse(cat("Cluster '", s.from.name, "' was not found"));
      clusters.push_back(c->id);
      break;
    }
    case target::kind::rids: rids = s.from.rids; break;
  }

  bool any_aggregate = std::any_of(s.projections.begin(), s.projections.end(), [](auto& pr) { return is_aggregate(*pr.e); });
  bool all_aggregate = std::all_of(s.projections.begin(), s.projections.end(), [](auto& pr) { return is_aggregate(*pr.e); });
  bool grouping = any_aggregate || !s.group_by.empty();
  if (grouping && s.projections.empty()) return refuse("GROUP BY needs projections: SELECT <fields and aggregates> FROM ...");
  if (any_aggregate && !all_aggregate && s.group_by.empty())
    return refuse("aggregate functions mixed with other projections need GROUP BY");

  int64_t skip = std::max<int64_t>(0, s.skip.value_or(0));
  int64_t limit = s.limit.value_or(-1);
  bool sorting = !s.order_by.empty();

  struct row {
    json::object doc;      // the record's fields and attributes; grouped: the projected row
    std::string rec_json;  // the whole record, when there are no projections
  };
  std::vector<row> rows;
  // Grouping (GROUP BY, or aggregates over the whole result): one group per
  // distinct GROUP BY value list, holding its first record and the
  // aggregates' state. Ordered by the serialised key, a stable order.
  struct group {
    json::object first;
    std::vector<aggregate_state> aggs;
  };
  std::map<std::string, group> groups;
  size_t scanned = 0;
  std::string overflow;

  auto visit = [&](const storage::record& rec) -> bool {
    if (++scanned > limits.scan_records_max) {
      overflow = cat("the statement read more than ", limits.scan_records_max, " records; narrow it down");
      return false;
    }
    json::error_code ec;
    auto parsed = json::parse(rec.fields, ec);
    json::object doc = (!ec && parsed.is_object()) ? std::move(parsed.as_object()) : json::object();
    doc["@rid"] = rec.id.to_string();
    doc["@class"] = rec.class_name;
    doc["@version"] = rec.version;
    if (s.where && !holds(*s.where, doc, p)) return true;
    if (grouping) {
      std::string key;
      for (auto& g : s.group_by) key += json::serialize(evaluate(*g, doc, p)) + '\x1f';
      auto it = groups.find(key);
      if (it == groups.end()) {
        if (groups.size() >= limits.sort_rows_max) {
          overflow = cat("GROUP BY would hold more than ", limits.sort_rows_max, " groups; narrow the WHERE");
          return false;
        }
        it = groups.emplace(key, group{doc, std::vector<aggregate_state>(s.projections.size())}).first;
      }
      for (size_t i = 0; i < s.projections.size(); ++i)
        if (is_aggregate(*s.projections[i].e)) accumulate(std::get<call>(s.projections[i].e->node), it->second.aggs[i], doc, p);
      return true;
    }
    if (sorting && rows.size() >= limits.sort_rows_max) {
      overflow = cat("ORDER BY would hold more than ", limits.sort_rows_max, " rows; add a LIMIT or narrow the WHERE");
      return false;
    }
    rows.push_back(row{std::move(doc), s.projections.empty() ? rec.to_json() : std::string()});
    // Without ORDER BY the scan stops once SKIP + LIMIT rows are in.
    return sorting || limit < 0 || static_cast<int64_t>(rows.size()) < skip + limit;
  };

  if (!rids.empty()) {
    for (auto& id : rids)
      if (auto rec = db.find(id); rec && !visit(*rec)) break;
  } else {
    constexpr size_t page_records = 1024;
    bool go = true;
    for (auto c : clusters) {
      int64_t from = 0;
      while (go) {
        auto page = db.browse_cluster(c, from, page_records);
        for (auto& rec : page)
          if (!(go = visit(rec))) break;
        if (page.size() < page_records) break;
        from = page.back().id.position + 1;
      }
      if (!go) break;
    }
  }
  if (!overflow.empty()) return refuse(overflow);

  // Projections: each row in OrientDB's shape. Grouped rows are projected now,
  // so that ORDER BY can name their columns (ORDER BY n DESC with count(*) AS n).
  auto project = [&](const json::object& doc, const std::vector<aggregate_state>* aggs) {
    json::object o{{"@type", "d"}, {"@version", 0}};
    for (size_t k = 0; k < s.projections.size(); ++k) {
      auto& e = *s.projections[k].e;
      o[column_name(s.projections[k], k)] =
          aggs != nullptr && is_aggregate(e) ? finish(std::get<call>(e.node), (*aggs)[k]) : evaluate(e, doc, p);
    }
    return o;
  };
  if (grouping) {
    if (groups.empty() && s.group_by.empty())  // aggregates over nothing: one row (count 0)
      groups.emplace("", group{{}, std::vector<aggregate_state>(s.projections.size())});
    for (auto& [key, g] : groups) rows.push_back(row{project(g.first, &g.aggs), {}});
  }
  if (sorting) {
    std::stable_sort(rows.begin(), rows.end(), [&](const row& x, const row& y) {
      for (auto& item : s.order_by) {
        auto a = evaluate(*item.e, x.doc, p), b = evaluate(*item.e, y.doc, p);
        int c = 0;
        if (a.is_null() != b.is_null()) c = a.is_null() ? -1 : 1;  // nulls first ascending
        else if (auto r = compare(a, b)) c = *r;
        if (c != 0) return item.desc ? c > 0 : c < 0;
      }
      return false;
    });
  }
  std::vector<std::string> out;
  for (size_t i = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(rows.size()))); i < rows.size(); ++i) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    if (out.size() >= limits.rows_max) return refuse(cat("the answer has more than ", limits.rows_max, " rows; add a LIMIT"));
    if (s.projections.empty()) out.push_back(std::move(rows[i].rec_json));
    else if (grouping) out.push_back(json::serialize(rows[i].doc));
    else out.push_back(json::serialize(project(rows[i].doc, nullptr)));
  }
  return out;
}

}  // namespace troupe::query
