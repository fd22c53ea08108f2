#include "src/query/select.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <set>
#include <span>
#include <type_traits>

#include "src/query/eval.hpp"
#include "src/query/graph.hpp"
#include "src/query/plan.hpp"
#include "src/util/strings.hpp"

namespace troupe::query {

namespace json = boost::json;

using namespace detail;

namespace {

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

double number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return v.get_double();
}

template <class T>
int three_way(T x, T y) {
  return x < y ? -1 : x > y;
}

// An integer against a double, exactly: 2^53 + 1 > 2^53 although both are
// the same double. (NaN, which JSON cannot hold, compares as before: equal.)
template <class Int>
int compare_exact(Int i, double d) {
  constexpr double two63 = 9223372036854775808.0, two64 = 18446744073709551616.0;
  if (std::isnan(d)) return three_way(static_cast<double>(i), d);
  if constexpr (std::is_signed_v<Int>) {
    if (d >= two63) return -1;
    if (d < -two63) return 1;
  } else {
    if (d >= two64) return -1;
    if (d < 0) return 1;
  }
  auto t = static_cast<Int>(d);  // truncated toward zero; exact, as d is in range
  if (i != t) return three_way(i, t);
  return three_way(static_cast<double>(t), d);  // i == trunc(d): the fraction decides
}

// Two numbers by exact value, integers and reals mixed. Why exact: storage's
// indexes order numbers exactly (database.hpp, index_find), and an index path
// must find what a scan finds; a detour through double would make 2^53 + 1
// equal 2^53.0 here and not in the index.
int compare_numbers(const json::value& a, const json::value& b) {
  if (a.is_double() && b.is_double()) return three_way(a.get_double(), b.get_double());
  if (a.is_double()) return -compare_numbers(b, a);
  if (b.is_double()) return a.is_int64() ? compare_exact(a.get_int64(), b.get_double())
                                         : compare_exact(a.get_uint64(), b.get_double());
  if (a.is_int64() && b.is_int64()) return three_way(a.get_int64(), b.get_int64());
  if (a.is_uint64() && b.is_uint64()) return three_way(a.get_uint64(), b.get_uint64());
  if (a.is_int64()) return a.get_int64() < 0 ? -1 : three_way(static_cast<uint64_t>(a.get_int64()), b.get_uint64());
  return b.get_int64() < 0 ? 1 : three_way(a.get_uint64(), static_cast<uint64_t>(b.get_int64()));
}

// -1, 0, 1; nullopt when the two cannot be compared (null, absent, kinds differ).
std::optional<int> compare(const json::value& a, const json::value& b) {
  if (is_number(a) && is_number(b)) return compare_numbers(a, b);
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
std::optional<json::value> lookup(const json::object& doc, std::span<const std::string> path) {
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


// The name of a projection without an alias, as OrientDB names it: a field
// after its last name, a function or chain after its (first) function, in
// OrientDB's spelling.
std::string column_name(const projection& p, size_t index) {
  if (!p.alias.empty()) return p.alias;
  const expr* e = p.e.get();
  if (auto* ch = std::get_if<chain>(&e->node)) e = ch->base.get();
  if (auto* f = std::get_if<field_ref>(&e->node)) return f->path.back() == "@this" ? "this" : f->path.back();
  if (auto* c = std::get_if<call>(&e->node)) {
    static const std::map<std::string, std::string, std::less<>> spelled{
        {"oute", "outE"}, {"ine", "inE"}, {"bothe", "bothE"}, {"outv", "outV"},
        {"inv", "inV"},   {"bothv", "bothV"}, {"shortestpath", "shortestPath"}};
    auto it = spelled.find(c->name);
    return it == spelled.end() ? c->name : it->second;
  }
  return cat("expr", index);
}

// The state of one aggregate over the records of a group.
struct aggregate_state {
  json::value acc;    // sum (sum, avg), or the extreme (min, max)
  int64_t count = 0;  // records counted (count), or non-null values seen
};

void accumulate(const call& c, aggregate_state& a, const json::object& doc, eval_context& ctx) {
  if (c.star || c.args.empty()) {
    ++a.count;
    return;
  }
  auto v = eval(*c.args[0], doc, ctx);
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

// ---- functions and methods ---------------------------------------------

// size(): OrientDB's method counts a collection's elements, 1 for a record
// and 0 for null; troupe also gives a string's length (a RID string is a record).
json::value size_of(const json::value& v) {
  if (auto* a = v.if_array()) return static_cast<int64_t>(a->size());
  if (v.is_null()) return 0;
  if (auto* s = v.if_string()) return as_link(v) ? int64_t{1} : static_cast<int64_t>(s->size());
  return 1;
}

json::value first_of(const json::value& v) {
  if (auto* a = v.if_array()) return a->empty() ? json::value(nullptr) : a->front();
  return v;
}

json::value last_of(const json::value& v) {
  if (auto* a = v.if_array()) return a->empty() ? json::value(nullptr) : a->back();
  return v;
}

// A field of a value: of an object (a record), of the record a link names, or
// of each element of an array, flattened one level (absent values skipped).
json::value field_of(const json::value& v, const std::string& name, eval_context& ctx) {
  if (auto* a = v.if_array()) {
    json::array out;
    for (auto& x : *a) {
      auto r = field_of(x, name, ctx);
      if (auto* ra = r.if_array()) out.insert(out.end(), ra->begin(), ra->end());
      else if (!r.is_null()) out.push_back(std::move(r));
    }
    return out;
  }
  if (auto* o = v.if_object()) {
    auto it = o->find(name);
    return it == o->end() ? json::value(nullptr) : it->value();
  }
  if (auto id = as_link(v); id && ctx.db != nullptr) {
    auto rec = load(ctx, *id);
    if (!rec) return nullptr;
    auto it = rec->find(name);
    return it == rec->end() ? json::value(nullptr) : it->value();
  }
  return nullptr;
}

const std::set<std::string, std::less<>>& known_methods() {
  static const std::set<std::string, std::less<>> m{"size", "first", "last", "aslist", "asset", "tolowercase",
                                                   "touppercase", "length", "asstring"};
  return m;
}

json::value method(const chain_step& st, const json::value& v, const json::object& doc, eval_context& ctx) {
  std::vector<json::value> args;
  for (auto& a : st.args) args.push_back(eval(*a, doc, ctx));
  const auto& n = st.name;
  if (is_graph_function(n)) return graph_function(n, args, v, ctx);
  if (n == "size") return size_of(v);
  if (n == "first") return first_of(v);
  if (n == "last") return last_of(v);
  if (n == "aslist") return v.is_array() ? v : v.is_null() ? json::array{} : json::array{v};
  if (n == "asset") {
    json::array out;
    for (auto& x : v.is_array() ? v.get_array() : json::array{v})
      if (!x.is_null() && std::none_of(out.begin(), out.end(), [&](auto& y) { return x == y; })) out.push_back(x);
    return out;
  }
  if (n == "length") return v.is_string() ? json::value(static_cast<int64_t>(v.get_string().size())) : json::value(nullptr);
  if (n == "asstring") return v.is_null() ? v : v.is_string() ? v : json::value(json::string(json::serialize(v)));
  if (n == "tolowercase" || n == "touppercase") {
    if (!v.is_string()) return nullptr;
    std::string s(v.get_string());
    for (char& c : s)
      if (n == "tolowercase" && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      else if (n == "touppercase" && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return json::string(s);
  }
  ctx.fail(cat("Unknown method '", n, "()'"));
  return nullptr;
}

json::value eval_call(const call& n, const json::object& doc, eval_context& ctx) {
  auto arg = [&](size_t i) { return i < n.args.size() ? eval(*n.args[i], doc, ctx) : json::value(nullptr); };
  if (n.name == "size") return size_of(arg(0));
  if (n.name == "first") return first_of(arg(0));
  if (n.name == "last") return last_of(arg(0));
  // Row-level: the executor filters (distinct) or unrolls (expand) rows.
  if (n.name == "distinct" || n.name == "expand") return arg(0);
  if (n.name == "shortestpath") return shortest_path(arg(0), arg(1), arg(2), arg(3), ctx);
  if (is_graph_function(n.name)) {
    std::vector<json::value> labels;
    for (auto& a : n.args) labels.push_back(eval(*a, doc, ctx));
    return graph_function_on(n.name, labels, doc, ctx);
  }
  return nullptr;  // aggregates: computed over the result, not per record
}

// Comparisons between a collection and a single value hold when they hold
// for one element (see select.hpp).
template <class F>
bool any_element(const json::value& a, const json::value& b, F f) {
  if (a.is_array() && !b.is_array())
    return std::any_of(a.get_array().begin(), a.get_array().end(), [&](auto& x) { return f(x, b); });
  if (b.is_array() && !a.is_array())
    return std::any_of(b.get_array().begin(), b.get_array().end(), [&](auto& x) { return f(a, x); });
  return f(a, b);
}

json::value eval_binary(const binary& n, const json::object& doc, eval_context& ctx) {
  if (n.op == binary_op::and_) return eval_holds(*n.a, doc, ctx) && eval_holds(*n.b, doc, ctx);
  if (n.op == binary_op::or_) return eval_holds(*n.a, doc, ctx) || eval_holds(*n.b, doc, ctx);
  auto a = eval(*n.a, doc, ctx), b = eval(*n.b, doc, ctx);
  auto ordered = [&](auto pred) {
    return any_element(a, b, [&](const json::value& x, const json::value& y) {
      auto c = compare(x, y);
      return c && pred(*c);
    });
  };
  switch (n.op) {
    case binary_op::eq: return any_element(a, b, equal);
    case binary_op::ne: return !a.is_null() && !b.is_null() && !any_element(a, b, equal);
    case binary_op::lt: return ordered([](int c) { return c < 0; });
    case binary_op::le: return ordered([](int c) { return c <= 0; });
    case binary_op::gt: return ordered([](int c) { return c > 0; });
    case binary_op::ge: return ordered([](int c) { return c >= 0; });
    case binary_op::like:
      return any_element(a, b, [](const json::value& x, const json::value& y) {
        return x.is_string() && y.is_string() && like(x.get_string(), y.get_string());
      });
    case binary_op::in: return !a.is_null() && member_of(a, b);
    case binary_op::not_in: return !a.is_null() && !member_of(a, b);
    case binary_op::contains: return a.is_array() && member_of(b, a);
    default: return arith(n.op, a, b);
  }
}

json::value eval_unary(const unary& n, const json::object& doc, eval_context& ctx) {
  switch (n.op) {
    case unary_op::not_: return !eval_holds(*n.a, doc, ctx);
    case unary_op::neg: {
      auto v = eval(*n.a, doc, ctx);
      if (v.is_int64() && v.get_int64() != INT64_MIN) return -v.get_int64();
      if (is_number(v)) return -number(v);
      return nullptr;
    }
    case unary_op::is_null:
    case unary_op::is_not_null: {
      bool null = eval(*n.a, doc, ctx).is_null();
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
}

// A path read from `doc`; an empty path is the record itself.
json::value eval_path(std::span<const std::string> path, const json::object& doc, eval_context& ctx) {
  if (path.empty() || (path.size() == 1 && path[0] == "@this")) return doc;
  auto it = doc.find(path[0]);
  if (it == doc.end()) return nullptr;
  if (path.size() == 1) return it->value();
  // Nested objects as before; a link or an array on the way is followed.
  if (auto v = lookup(doc, path)) return *v;
  json::value v = it->value();
  for (size_t i = 1; i < path.size() && !v.is_null(); ++i) v = field_of(v, path[i], ctx);
  return v;
}

// LET variables live in the record's document as "$name" keys, so $a and
// $a.b are plain paths. $current is the record itself; $parent steps out to
// the record of the statement that runs a LET subquery ($parent.$current is
// that record, $parent.$a its variable $a), or null at the top.
json::value eval_field(const field_ref& f, const json::object& doc, eval_context& ctx) {
  std::span<const std::string> path(f.path);
  if (path[0] == "$current") return eval_path(path.subspan(1), doc, ctx);
  if (path[0] != "$parent" || doc.contains("$parent")) return eval_path(path, doc, ctx);
  const eval_context::scope* s = ctx.outer;
  path = path.subspan(1);
  while (s != nullptr && !path.empty() && path[0] == "$parent") {
    s = s->parent;
    path = path.subspan(1);
  }
  if (s == nullptr || s->current == nullptr || path.empty()) return nullptr;
  if (path[0] == "$current") path = path.subspan(1);
  return eval_path(path, *s->current, ctx);
}

// ---- names: unknown functions and misplaced row functions ----------------

bool is_known_function(std::string_view n) {
  return n == "count" || n == "sum" || n == "min" || n == "max" || n == "avg" || n == "size" || n == "first" ||
         n == "last" || n == "distinct" || n == "expand" || n == "shortestpath" || is_graph_function(n);
}

// The first problem with the names in `e` ("" when none). `top` is true for
// a projection's own expression, where expand() and distinct() may stand.
std::string check_names(const expr& e, bool top) {
  std::string err;
  auto sub = [&](const expr_ptr& x) {
    if (err.empty() && x) err = check_names(*x, false);
  };
  std::visit(
      [&](const auto& n) {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, call>) {
          if (!is_known_function(n.name)) err = cat("Unknown function '", n.name, "()'");
          else if ((n.name == "expand" || n.name == "distinct") && !top)
            err = cat(n.name, "() is allowed only as a projection of its own");
          else if ((n.name == "size" || n.name == "first" || n.name == "last" || n.name == "expand" ||
                    n.name == "distinct") && n.args.size() != 1)
            err = cat(n.name, "() takes one argument");
          else if (n.name == "shortestpath" && (n.args.size() < 2 || n.args.size() > 4))
            err = "shortestPath() takes 2 to 4 arguments: from, to [, direction [, edge class]]";
          for (auto& a : n.args) sub(a);
        } else if constexpr (std::is_same_v<T, chain>) {
          sub(n.base);
          for (auto& st : n.steps) {
            if (err.empty() && st.is_call && !is_graph_function(st.name) && known_methods().count(st.name) == 0)
              err = cat("Unknown method '", st.name, "()'");
            for (auto& a : st.args) sub(a);
          }
        } else if constexpr (std::is_same_v<T, unary>) {
          sub(n.a);
        } else if constexpr (std::is_same_v<T, binary>) {
          sub(n.a);
          sub(n.b);
        } else if constexpr (std::is_same_v<T, between>) {
          sub(n.x);
          sub(n.lo);
          sub(n.hi);
        } else if constexpr (std::is_same_v<T, list>) {
          for (auto& a : n.items) sub(a);
        }
      },
      e.node);
  return err;
}

std::string check_names(const select_stmt& s);
std::string check_names(const traverse_stmt& s);

std::string check_target(const target& t) {
  if (t.k != target::kind::subquery || !t.sub) return "";
  return std::visit([](const auto& st) { return check_names(st); }, t.sub->stmt);
}

std::string check_names(const select_stmt& s) {
  std::string err;
  if (s.let.size() > let_variables_max) err = cat("at most ", let_variables_max, " LET variables");
  for (auto& b : s.let) {
    if (!err.empty()) break;
    if (b.value && is_aggregate(*b.value)) err = cat("aggregate functions are not allowed in LET (", b.name, ")");
    else if (b.value) err = check_names(*b.value, false);
    else if (b.sub) err = std::visit([](const auto& st) { return check_names(st); }, b.sub->stmt);
  }
  for (auto& p : s.projections)
    if (err.empty()) err = check_names(*p.e, true);
  for (auto* list : {&s.group_by})
    for (auto& e : *list)
      if (err.empty()) err = check_names(*e, false);
  for (auto& o : s.order_by)
    if (err.empty()) err = check_names(*o.e, false);
  if (err.empty() && s.where) err = check_names(*s.where, false);
  if (err.empty()) err = check_target(s.from);
  return err;
}

std::string check_names(const traverse_stmt& s) {
  std::string err;
  for (auto& e : s.items)
    if (err.empty()) err = check_names(*e, false);
  if (err.empty() && s.while_cond) err = check_names(*s.while_cond, false);
  if (err.empty()) err = check_target(s.from);
  return err;
}

bool is_call_named(const expr& e, std::string_view name) {
  auto* c = std::get_if<call>(&e.node);
  return c != nullptr && c->name == name;
}

bool select_rows(eval_context& ctx, const select_stmt& s, std::vector<std::string>& out);

}  // namespace

std::string timeout_message() {
  return "the statement ran longer than its timeout (command.timeout in orientdb-server-config.xml): narrow it "
         "down, or raise the timeout";
}

namespace detail {

bool eval_context::count_read() {
  // The clock is read every 256 records: cheap, and a statement overruns its
  // deadline by at most the time 256 reads take.
  if (limits.deadline && (records_read & 255) == 0 && std::chrono::steady_clock::now() >= *limits.deadline) {
    fail(timeout_message());
    return false;
  }
  if (++records_read <= limits.scan_records_max) return true;
  fail(cat("the statement read more than ", limits.scan_records_max, " records; narrow it down"));
  return false;
}

std::optional<storage::rid> as_link(const json::value& v) {
  if (auto* o = v.if_object()) {
    auto it = o->find("@rid");
    return it == o->end() ? std::nullopt : as_link(it->value());
  }
  if (!v.is_string() || v.get_string().empty() || v.get_string()[0] != '#') return std::nullopt;
  auto id = storage::rid::parse(v.get_string());
  if (!id || !id->valid()) return std::nullopt;
  return id;
}

json::object to_doc(const storage::record& rec) {
  json::error_code ec;
  auto parsed = json::parse(rec.fields, ec);
  json::object doc = (!ec && parsed.is_object()) ? std::move(parsed.as_object()) : json::object();
  doc["@rid"] = rec.id.to_string();
  doc["@class"] = rec.class_name;
  doc["@version"] = rec.version;
  return doc;
}

std::optional<storage::record> load_record(eval_context& ctx, const storage::rid& id) {
  if (ctx.db == nullptr || ctx.failed() || !ctx.count_read()) return std::nullopt;
  return ctx.db->find(id);
}

std::optional<json::object> load(eval_context& ctx, const storage::rid& id) {
  auto rec = load_record(ctx, id);
  if (!rec) return std::nullopt;
  return to_doc(*rec);
}

json::value eval(const expr& e, const json::object& doc, eval_context& ctx) {
  if (ctx.failed()) return nullptr;
  return std::visit(
      [&](const auto& n) -> json::value {
        using T = std::decay_t<decltype(n)>;
        if constexpr (std::is_same_v<T, literal>) {
          return from_literal(n);
        } else if constexpr (std::is_same_v<T, field_ref>) {
          return eval_field(n, doc, ctx);
        } else if constexpr (std::is_same_v<T, param>) {
          const params& ps = *ctx.ps;
          if (n.index >= 0)
            return static_cast<size_t>(n.index) < ps.positional.size() ? ps.positional[n.index] : json::value(nullptr);
          auto it = ps.named.find(n.name);
          return it == ps.named.end() ? json::value(nullptr) : it->second;
        } else if constexpr (std::is_same_v<T, call>) {
          return eval_call(n, doc, ctx);
        } else if constexpr (std::is_same_v<T, unary>) {
          return eval_unary(n, doc, ctx);
        } else if constexpr (std::is_same_v<T, binary>) {
          return eval_binary(n, doc, ctx);
        } else if constexpr (std::is_same_v<T, between>) {
          auto x = eval(*n.x, doc, ctx), lo = eval(*n.lo, doc, ctx), hi = eval(*n.hi, doc, ctx);
          auto c1 = compare(x, lo), c2 = compare(x, hi);
          return c1 && c2 && *c1 >= 0 && *c2 <= 0;
        } else if constexpr (std::is_same_v<T, chain>) {
          auto v = eval(*n.base, doc, ctx);
          for (auto& st : n.steps) v = st.is_call ? method(st, v, doc, ctx) : field_of(v, st.name, ctx);
          return v;
        } else {  // list
          json::array out;
          for (auto& item : n.items) out.push_back(eval(*item, doc, ctx));
          return out;
        }
      },
      e.node);
}

bool eval_holds(const expr& e, const json::object& doc, eval_context& ctx) { return truthy(eval(e, doc, ctx)); }

namespace {

// The records of an index path's candidates that lie in `clusters`, fed in
// the order a scan of `clusters` would feed them. nullopt when the index
// cannot say (it gave as many candidates as storage hands out at once, so
// there may be more): the caller scans instead. Refused (false) past
// scan_records_max candidates, as a scan is past that many records.
std::optional<bool> feed_candidates(eval_context& ctx, const access_path& path, const std::vector<int32_t>& clusters,
                                    const std::function<bool(const storage::record&)>& whole) {
  const size_t max = ctx.limits.scan_records_max;
  const size_t want = max == SIZE_MAX ? max : max + 1;
  auto ids = candidates(*ctx.db, path, want);
  if (ids.size() > max) {
    ctx.fail(cat("the statement would read more than ", max, " records (index ", path.index, "); narrow it down"));
    return false;
  }
  if (ids.size() >= storage::browse_records_max && want > storage::browse_records_max) return std::nullopt;
  ctx.stats.index_reads += ids.size();
  if (std::find(ctx.stats.indexes.begin(), ctx.stats.indexes.end(), path.index) == ctx.stats.indexes.end())
    ctx.stats.indexes.push_back(path.index);
  ctx.stats.index_fields = path.fields_used;
  // An index on a superclass holds its other subclasses' records too: only
  // the target's clusters count, ranked as the scan visits them.
  auto rank = [&](const storage::rid& id) {
    return static_cast<size_t>(std::find(clusters.begin(), clusters.end(), id.cluster) - clusters.begin());
  };
  std::erase_if(ids, [&](const storage::rid& id) { return rank(id) == clusters.size(); });
  std::sort(ids.begin(), ids.end(), [&](const storage::rid& a, const storage::rid& b) {
    auto ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a.position < b.position;
  });
  for (auto& id : ids) {
    auto rec = load_record(ctx, id);
    if (ctx.failed()) return false;
    if (!rec) continue;  // removed since the index was read
    ++ctx.stats.target_reads;
    ctx.stats.current = rec->id;
    if (!whole(*rec)) break;
  }
  return !ctx.failed();
}

}  // namespace

bool for_each_source(eval_context& ctx, const target& t, const std::function<bool(source_row&&)>& visit,
                     const expr_ptr& where) {
  const storage::database& db = *ctx.db;
  auto whole = [&](const storage::record& rec) { return visit(source_row{to_doc(rec), {}, &rec}); };
  std::vector<int32_t> clusters;
  switch (t.k) {
    case target::kind::none: {
      source_row empty;
      visit(std::move(empty));
      return true;
    }
    case target::kind::rids:
      for (auto& id : t.rids) {
        auto rec = load_record(ctx, id);
        if (ctx.failed()) return false;
        if (rec && !whole(*rec)) break;
      }
      return !ctx.failed();
    case target::kind::subquery: {
      if (!t.sub) return true;
      if (auto* tr = std::get_if<traverse_stmt>(&t.sub->stmt)) return traverse(*tr, ctx, visit) && !ctx.failed();
      std::vector<std::string> rows;
      if (!select_rows(ctx, std::get<select_stmt>(t.sub->stmt), rows)) return false;
      for (auto& text : rows) {
        json::error_code ec;
        auto v = json::parse(text, ec);
        source_row r{!ec && v.is_object() ? std::move(v.as_object()) : json::object(), std::move(text)};
        if (!visit(std::move(r))) break;
      }
      return !ctx.failed();
    }
    case target::kind::klass: {
      auto cls = db.class_by_name(t.name);
      if (!cls) {
        ctx.fail(cat("Class '", t.name, "' was not found"));
        return false;
      }
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
      if (where && ctx.limits.use_indexes) {
        auto path = choose_access(db, t, where, *ctx.ps);
        if (path.k != access_path::kind::scan)
          if (auto fed = feed_candidates(ctx, path, clusters, whole)) return *fed;
      }
      break;
    }
    case target::kind::cluster: {  // by name, or by id (cluster:12)
      auto c = db.cluster_by_name(t.name);
      for (auto& info : c ? std::vector<storage::cluster_info>{} : db.clusters())
        if (std::to_string(info.id) == t.name) c = info;
      if (!c) {
        ctx.fail(cat("Cluster '", t.name, "' was not found"));
        return false;
      }
      clusters.push_back(c->id);
      break;
    }
  }
  constexpr size_t page_records = 1024;
  for (auto c : clusters) {
    int64_t from = 0;
    for (;;) {
      auto page = db.browse_cluster(c, from, page_records);
      for (auto& rec : page) {
        if (!ctx.count_read()) return false;
        ++ctx.stats.target_reads;
        ctx.stats.current = rec.id;
        if (!whole(rec)) return !ctx.failed();
      }
      if (page.size() < page_records) break;
      from = page.back().id.position + 1;
    }
  }
  return true;
}

}  // namespace detail

namespace {

// A LET subquery's rows for one record, `current`: an array of its rows as
// JSON (whole records or projected rows), read under the statement's context
// (its read counter, deadline and limits), with $parent naming `current`.
json::value subquery_rows(eval_context& ctx, const subquery& sq, const json::object& current) {
  const eval_context::scope here{&current, ctx.outer};
  const eval_context::scope* saved = ctx.outer;
  ctx.outer = &here;
  std::vector<std::string> rows;
  if (auto* tr = std::get_if<traverse_stmt>(&sq.stmt)) {
    traverse(*tr, ctx, [&](source_row&& r) {
      if (rows.size() >= ctx.limits.rows_max) {
        ctx.fail(cat("a LET subquery has more than ", ctx.limits.rows_max, " rows; add a LIMIT"));
        return false;
      }
      rows.push_back(r.take_text());
      return true;
    });
  } else {
    select_rows(ctx, std::get<select_stmt>(sq.stmt), rows);
  }
  ctx.outer = saved;
  json::array out;
  if (ctx.failed()) return out;
  out.reserve(rows.size());
  for (auto& text : rows) {
    json::error_code ec;
    auto v = json::parse(text, ec);
    out.push_back(ec ? json::value(nullptr) : std::move(v));
  }
  return out;
}

// Sets the LET variables of `s` in `doc`, in order of declaration, so that a
// later one reads an earlier one. False once the context failed.
bool assign_lets(eval_context& ctx, const select_stmt& s, json::object& doc) {
  for (auto& b : s.let) {
    json::value v = b.sub ? subquery_rows(ctx, *b.sub, doc) : b.value ? eval(*b.value, doc, ctx) : json::value(nullptr);
    if (ctx.failed()) return false;
    doc[b.name] = std::move(v);
  }
  return true;
}

bool select_rows(eval_context& ctx, const select_stmt& s, std::vector<std::string>& out) {
  const select_limits& limits = ctx.limits;
  auto refuse = [&](std::string what) {
    ctx.fail(std::move(what));
    return false;
  };
  bool any_aggregate = std::any_of(s.projections.begin(), s.projections.end(), [](auto& pr) { return is_aggregate(*pr.e); });
  bool all_aggregate = std::all_of(s.projections.begin(), s.projections.end(), [](auto& pr) { return is_aggregate(*pr.e); });
  bool grouping = any_aggregate || !s.group_by.empty();
  bool expanding = std::any_of(s.projections.begin(), s.projections.end(), [](auto& pr) { return is_call_named(*pr.e, "expand"); });
  int distinct_at = -1;
  for (size_t i = 0; i < s.projections.size(); ++i)
    if (is_call_named(*s.projections[i].e, "distinct")) distinct_at = static_cast<int>(i);
  if (grouping && s.projections.empty()) return refuse("GROUP BY needs projections: SELECT <fields and aggregates> FROM ...");
  if (any_aggregate && !all_aggregate && s.group_by.empty())
    return refuse("aggregate functions mixed with other projections need GROUP BY");
  if (expanding && (s.projections.size() != 1 || grouping)) return refuse("expand() must be the only projection");
  if (distinct_at >= 0 && grouping) return refuse("distinct() cannot be combined with GROUP BY or aggregates");

  int64_t skip = std::max<int64_t>(0, s.skip.value_or(0));
  int64_t limit = s.limit.value_or(-1);
  bool sorting = !s.order_by.empty();
  bool projecting = !s.projections.empty() && !expanding;

  struct row {
    json::object doc;         // the record; grouped: the projected row
    std::string whole;        // the whole record, when rows are records
    json::object projected;   // projecting, not grouped: the row as output
    std::vector<json::value> keys;  // ORDER BY values
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
  std::set<std::string> distinct_seen;
  bool sort_overflow = false;

  auto project = [&](const json::object& doc, const std::vector<aggregate_state>* aggs) {
    json::object o{{"@type", "d"}, {"@version", 0}};
    for (size_t k = 0; k < s.projections.size(); ++k) {
      auto& e = *s.projections[k].e;
      o[column_name(s.projections[k], k)] =
          aggs != nullptr && is_aggregate(e) ? finish(std::get<call>(e.node), (*aggs)[k]) : eval(e, doc, ctx);
    }
    return o;
  };
  // Keeps a row; false when the scan can stop.
  auto keep = [&](row r) {
    if (sorting && rows.size() >= limits.sort_rows_max) {
      sort_overflow = true;
      return false;
    }
    rows.push_back(std::move(r));
    // Without ORDER BY the scan stops once SKIP + LIMIT rows are in.
    return sorting || limit < 0 || static_cast<int64_t>(rows.size()) < skip + limit;
  };
  auto visit = [&](source_row&& src) -> bool {
    json::object& doc = src.doc;
    ++ctx.stats.evaluated;
    if (!s.let.empty() && !assign_lets(ctx, s, doc)) return false;
    if (s.where && !eval_holds(*s.where, doc, ctx)) return !ctx.failed();
    if (ctx.failed()) return false;
    if (expanding) {
      auto v = eval(*std::get<call>(s.projections[0].e->node).args[0], doc, ctx);
      json::array items = v.is_array() ? std::move(v.get_array()) : v.is_null() ? json::array{} : json::array{v};
      for (auto& item : items) {
        if (item.is_null()) continue;
        auto id = as_link(item);
        if (!id) return refuse(cat("expand() needs records (RIDs), found ", json::serialize(item)));
        auto rec = load_record(ctx, *id);
        if (ctx.failed()) return false;
        if (rec && !keep(row{to_doc(*rec), rec->to_json(), {}, {}})) return false;
      }
      return true;
    }
    if (grouping) {
      std::string key;
      for (auto& g : s.group_by) key += json::serialize(eval(*g, doc, ctx)) + '\x1f';
      auto it = groups.find(key);
      if (it == groups.end()) {
        if (groups.size() >= limits.sort_rows_max)
          return refuse(cat("GROUP BY would hold more than ", limits.sort_rows_max, " groups; narrow the WHERE"));
        it = groups.emplace(key, group{doc, std::vector<aggregate_state>(s.projections.size())}).first;
      }
      for (size_t i = 0; i < s.projections.size(); ++i)
        if (is_aggregate(*s.projections[i].e)) accumulate(std::get<call>(s.projections[i].e->node), it->second.aggs[i], doc, ctx);
      return !ctx.failed();
    }
    row r{std::move(doc), {}, {}, {}};
    if (projecting) {
      r.projected = project(r.doc, nullptr);
      if (distinct_at >= 0) {
        auto key = json::serialize(r.projected[column_name(s.projections[distinct_at], distinct_at)]);
        if (!distinct_seen.insert(key).second) return true;
        if (distinct_seen.size() > limits.sort_rows_max)
          return refuse(cat("distinct() would hold more than ", limits.sort_rows_max, " values; narrow the WHERE"));
      }
    } else {
      r.whole = src.take_text();
    }
    return keep(std::move(r));
  };
  if (!for_each_source(ctx, s.from, visit, s.where) || ctx.failed()) return false;
  if (sort_overflow)
    return refuse(cat("ORDER BY would hold more than ", limits.sort_rows_max, " rows; add a LIMIT or narrow the WHERE"));

  if (grouping) {
    if (groups.empty() && s.group_by.empty())  // aggregates over nothing: one row (count 0)
      groups.emplace("", group{{}, std::vector<aggregate_state>(s.projections.size())});
    for (auto& [key, g] : groups) rows.push_back(row{project(g.first, &g.aggs), {}, {}, {}});
  }
  if (sorting) {
    // ORDER BY sees the record with the projected columns over it, so that
    // it can name an alias (ORDER BY n DESC with in().size() AS n). The keys
    // are computed once per row.
    for (auto& r : rows) {
      const json::object* basis = &r.doc;
      json::object merged;
      if (projecting) {
        merged = r.doc;
        for (auto& kv : r.projected) merged[kv.key()] = kv.value();
        basis = &merged;
      }
      for (auto& item : s.order_by) r.keys.push_back(eval(*item.e, *basis, ctx));
    }
    if (ctx.failed()) return false;
    std::stable_sort(rows.begin(), rows.end(), [&](const row& x, const row& y) {
      for (size_t i = 0; i < s.order_by.size(); ++i) {
        auto &a = x.keys[i], &b = y.keys[i];
        int c = 0;
        if (a.is_null() != b.is_null()) c = a.is_null() ? -1 : 1;  // nulls first ascending
        else if (auto r = compare(a, b)) c = *r;
        if (c != 0) return s.order_by[i].desc ? c > 0 : c < 0;
      }
      return false;
    });
  }
  for (size_t i = static_cast<size_t>(std::min<int64_t>(skip, static_cast<int64_t>(rows.size()))); i < rows.size(); ++i) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    if (out.size() >= limits.rows_max) return refuse(cat("the answer has more than ", limits.rows_max, " rows; add a LIMIT"));
    if (grouping) out.push_back(json::serialize(rows[i].doc));
    else if (projecting) out.push_back(json::serialize(rows[i].projected));
    else out.push_back(std::move(rows[i].whole));
  }
  return true;
}

result<std::vector<std::string>> finish_run(eval_context& ctx, bool ok, std::vector<std::string> out) {
  if (!ok || ctx.failed()) return error_info{"", "", ctx.error.empty() ? "the statement failed" : ctx.error};
  return out;
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

json::value evaluate(const expr& e, const json::object& doc, const params& p) {
  eval_context ctx;
  ctx.ps = &p;
  return eval(e, doc, ctx);
}

bool holds(const expr& e, const json::object& doc, const params& p) { return truthy(evaluate(e, doc, p)); }

result<std::vector<std::string>> run_select(const storage::database& db, const select_stmt& s, const params& p,
                                            const select_limits& limits) {
  if (auto err = check_names(s); !err.empty()) return error_info{"", "", err};
  eval_context ctx;
  ctx.db = &db;
  ctx.ps = &p;
  ctx.limits = limits;
  std::vector<std::string> out;
  bool ok = select_rows(ctx, s, out);
  return finish_run(ctx, ok, std::move(out));
}

result<std::vector<std::string>> run_traverse(const storage::database& db, const traverse_stmt& s, const params& p,
                                              const select_limits& limits) {
  if (auto err = check_names(s); !err.empty()) return error_info{"", "", err};
  eval_context ctx;
  ctx.db = &db;
  ctx.ps = &p;
  ctx.limits = limits;
  std::vector<std::string> out;
  bool ok = traverse(s, ctx, [&](source_row&& r) {
    if (out.size() >= limits.rows_max) {
      ctx.fail(cat("the answer has more than ", limits.rows_max, " rows; add a LIMIT"));
      return false;
    }
    out.push_back(r.take_text());
    return true;
  });
  return finish_run(ctx, ok, std::move(out));
}

namespace {

// EXPLAIN: the SELECT's profile (select.hpp, run_query).
result<std::vector<std::string>> run_explain(const storage::database& db, const explain_stmt& x, const params& p,
                                             const select_limits& limits) {
  const select_stmt& s = x.select;
  if (auto err = check_names(s); !err.empty()) return error_info{"", "", err};
  auto started = std::chrono::steady_clock::now();
  eval_context ctx;
  ctx.db = &db;
  ctx.ps = &p;
  ctx.limits = limits;
  std::vector<std::string> rows;
  bool ok = select_rows(ctx, s, rows);
  if (!ok || ctx.failed()) return error_info{"", "", ctx.error.empty() ? "the statement failed" : ctx.error};
  std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - started;
  const auto& st = ctx.stats;
  json::object o{{"@type", "d"}, {"@version", 0}};
  o["elapsed"] = elapsed.count();
  o["resultType"] = "collection";
  o["resultSize"] = static_cast<int64_t>(rows.size());
  if (!st.indexes.empty()) {
    json::array names;
    for (auto& n : st.indexes) names.emplace_back(json::string(n));
    o["involvedIndexes"] = std::move(names);
    o["indexReads"] = static_cast<int64_t>(st.index_reads);
    o["compositeIndexUsed"] = static_cast<int64_t>(st.index_fields);
  }
  o["indexIsUsedInOrderBy"] = false;
  o["fullySortedByIndex"] = false;
  if (s.limit) o["limit"] = *s.limit;
  if (st.current) o["current"] = st.current->to_string();
  o["evaluated"] = static_cast<int64_t>(st.evaluated);
  o["documentReads"] = static_cast<int64_t>(ctx.records_read);
  o["documentAnalyzedCompatibleClass"] = static_cast<int64_t>(st.target_reads);
  o["recordReads"] = static_cast<int64_t>(ctx.records_read);
  return std::vector<std::string>{json::serialize(o)};
}

}  // namespace

result<std::vector<std::string>> run_query(const storage::database& db, const statement& s, const params& p,
                                           const select_limits& limits) {
  if (auto* sel = std::get_if<select_stmt>(&s)) return run_select(db, *sel, p, limits);
  if (auto* tr = std::get_if<traverse_stmt>(&s)) return run_traverse(db, *tr, p, limits);
  if (auto* x = std::get_if<explain_stmt>(&s)) return run_explain(db, *x, p, limits);
  return error_info{"", "", "run_query() runs SELECT, TRAVERSE and EXPLAIN only"};
}

}  // namespace troupe::query
