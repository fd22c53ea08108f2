#include "src/query/write.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <initializer_list>
#include <map>
#include <set>
#include <type_traits>
#include <utility>

#include "src/config/password.hpp"
#include "src/query/parser.hpp"
#include "src/util/ascii.hpp"
#include "src/util/strings.hpp"

namespace troupe::query {

namespace json = boost::json;
using storage::rid;

namespace {

// ---- storage's index and property reads -----------------------------------

std::vector<storage::index_info> stored_indexes(const storage::database& db) { return db.indexes(); }

std::vector<rid> stored_index_find(const storage::database& db, std::string_view index,
                                   const std::vector<json::value>& key, size_t limit) {
  return db.index_find(index, key, limit);
}

std::vector<storage::property_info> stored_properties(const storage::database& db, std::string_view cls) {
  return db.properties(cls);
}

// ---- small helpers ---------------------------------------------------------

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

const char* kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

// A record's fields without '@' keys (storage drops them too: metadata).
json::object without_metadata(json::object o) {
  for (auto it = o.begin(); it != o.end();) {
    if (it->key().starts_with("@")) it = o.erase(it);
    else ++it;
  }
  return o;
}

json::object parse_object(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  return !ec && v.is_object() ? std::move(v.as_object()) : json::object();
}

// The document WHERE and SET expressions see: the fields and @rid, @class, @version.
json::object with_attributes(const json::object& fields, rid id, std::string_view cls, int64_t version) {
  json::object doc = fields;
  doc["@rid"] = id.to_string();
  doc["@class"] = cls;
  doc["@version"] = version;
  return doc;
}

std::string value_row(json::value v) {
  return json::serialize(json::object{{"@type", "d"}, {"@version", 0}, {"value", std::move(v)}});
}

bool is_this(const expr_ptr& e) {
  if (!e) return true;
  auto* f = std::get_if<field_ref>(&e->node);
  return f != nullptr && f->path.size() == 1 && (f->path[0] == "@this" || f->path[0] == "$current");
}

// The first parameter `e` uses that `p` lacks, as written (?2 or :name).
// Recursion is bounded by the parser's expression_depth_max.
std::optional<std::string> missing_param(const expr& e, const params& p) {
  return std::visit(
      [&](const auto& n) -> std::optional<std::string> {
        using T = std::decay_t<decltype(n)>;
        auto first = [&](std::initializer_list<const expr_ptr*> xs) -> std::optional<std::string> {
          for (auto* x : xs)
            if (*x)
              if (auto m = missing_param(**x, p)) return m;
          return std::nullopt;
        };
        if constexpr (std::is_same_v<T, param>) {
          if (n.index >= 0) {
            if (static_cast<size_t>(n.index) >= p.positional.size())
              return cat("parameter ?", n.index + 1, " (", p.positional.size(), " positional parameters given)");
            return std::nullopt;
          }
          if (!p.named.contains(n.name)) return cat("parameter :", n.name);
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, call>) {
          for (auto& a : n.args)
            if (auto m = missing_param(*a, p)) return m;
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, unary>) {
          return first({&n.a});
        } else if constexpr (std::is_same_v<T, binary>) {
          return first({&n.a, &n.b});
        } else if constexpr (std::is_same_v<T, between>) {
          return first({&n.x, &n.lo, &n.hi});
        } else if constexpr (std::is_same_v<T, list>) {
          for (auto& a : n.items)
            if (auto m = missing_param(*a, p)) return m;
          return std::nullopt;
        } else {  // literals, fields, and any node kinds added later
          return std::nullopt;
        }
      },
      e.node);
}

constexpr std::array<std::string_view, 18> property_types{
    "BOOLEAN", "INTEGER", "SHORT", "LONG", "FLOAT", "DOUBLE", "STRING", "DATE", "DATETIME",
    "LINK", "LINKLIST", "LINKSET", "LINKMAP", "EMBEDDED", "EMBEDDEDLIST", "EMBEDDEDSET", "EMBEDDEDMAP", "ANY"};

// ---- the planner -------------------------------------------------------------

// One statement's plan, built over the database state as read and the
// changes made so far (a record is read once, then its working copy is
// changed; the ops are emitted at the end, one per record).
class planner {
 public:
  planner(const storage::database& db, const params& p, const write_limits& lim) : db_(db), p_(p), lim_(lim) {}

  write_result run(const statement& s) {
    bool ok = std::visit(
        [&](const auto& n) -> bool {
          using T = std::decay_t<decltype(n)>;
          if constexpr (std::is_same_v<T, insert_stmt>) return insert(n);
          else if constexpr (std::is_same_v<T, update_stmt>) return update(n);
          else if constexpr (std::is_same_v<T, delete_stmt>) return delete_from(n);
          else if constexpr (std::is_same_v<T, delete_vertex_stmt>) return delete_vertex(n);
          else if constexpr (std::is_same_v<T, delete_edge_stmt>) return delete_edge(n);
          else if constexpr (std::is_same_v<T, create_vertex_stmt>) return create_vertex(n);
          else if constexpr (std::is_same_v<T, create_edge_stmt>) return create_edge(n);
          else if constexpr (std::is_same_v<T, create_class_stmt>) return create_class(n);
          else if constexpr (std::is_same_v<T, drop_class_stmt>) return drop_class(n);
          else if constexpr (std::is_same_v<T, create_property_stmt>) return create_property(n);
          else if constexpr (std::is_same_v<T, create_index_stmt>) return create_index(n);
          else if constexpr (std::is_same_v<T, drop_index_stmt>) return drop_index(n);
          else if constexpr (std::is_same_v<T, create_user_stmt>) return create_user(n);
          else if constexpr (std::is_same_v<T, drop_user_stmt>) return drop_user(n);
          else if constexpr (std::is_same_v<T, alter_user_stmt>) return alter_user(n);
          else return fail(write_error_kind::invalid, "a query changes nothing: plan_write takes INSERT, UPDATE, "
                                                      "DELETE, CREATE and DROP statements");
        },
        s);
    if (ok) ok = check_unique() && emit();
    if (!ok) {
      assert(err_);
      return std::move(*err_);
    }
    assert(plan_.ops.size() <= lim_.ops_max);
    return std::move(plan_);
  }

 private:
  // A record as this plan leaves it.
  struct working {
    std::string class_name;
    int64_t version = 0;  // as read; 0 when created by the plan
    json::object fields;
    bool created = false, changed = false, removed = false;
  };

  bool fail(write_error_kind k, std::string message) {
    if (!err_) err_ = write_error{k, std::move(message)};
    return false;
  }

  // Every expression of the statement goes through here before it is used.
  bool need(const expr_ptr& e) {
    if (!e) return true;
    if (auto m = missing_param(*e, p_))
      return fail(write_error_kind::invalid, cat("the statement uses ", *m, " but it was not given: pass it in the "
                                                 "request's parameters"));
    return true;
  }
  bool need(const select_stmt& s) {
    for (auto& pr : s.projections)
      if (!need(pr.e)) return false;
    for (auto& g : s.group_by)
      if (!need(g)) return false;
    for (auto& o : s.order_by)
      if (!need(o.e)) return false;
    return need(s.where);
  }
  bool need(const record_body& b) {
    for (auto& a : b.set)
      if (!need(a.value)) return false;
    return true;
  }

  // ---- classes -------------------------------------------------------------

  std::optional<storage::class_info> klass(std::string_view name) {
    auto c = db_.class_by_name(name);
    if (!c) fail(write_error_kind::not_found, cat("Class '", name, "' was not found"));
    return c;
  }

  // Whether class `cls` is `base` or a subclass of it (bounded walk up: a
  // class chain is never longer than the number of classes).
  bool extends(std::string_view cls, std::string_view base) {
    if (supers_.empty())  // read once: no statement changes classes and records together
      for (auto& c : db_.classes()) supers_[ascii_lower(c.name)] = ascii_lower(c.superclass);
    std::string at = ascii_lower(cls), target = ascii_lower(base);
    for (size_t steps = supers_.size() + 1; !at.empty() && steps > 0; --steps) {
      if (at == target) return true;
      auto it = supers_.find(at);
      if (it == supers_.end()) return false;
      at = it->second;
    }
    return false;
  }

  // The class and its subclasses.
  std::vector<storage::class_info> family(std::string_view name) {
    std::vector<storage::class_info> out;
    for (auto& c : db_.classes())
      if (extends(c.name, name)) out.push_back(c);
    return out;
  }

  int64_t records_of(std::string_view name) {
    int64_t n = 0;
    auto clusters = db_.clusters();
    for (auto& c : family(name))
      for (auto& info : clusters)
        if (info.id == c.default_cluster) n += info.records;
    return n;
  }

  // ---- records ---------------------------------------------------------------

  bool counted() {
    if (++changes_ > lim_.ops_max)
      return fail(write_error_kind::limit, cat("the statement changes more than ", lim_.ops_max,
                                               " records, the most one statement may change: add a LIMIT or split it"));
    return true;
  }

  // The record as the plan sees it: nullptr when absent or removed by the plan.
  working* read(rid id) {
    auto it = recs_.find(id);
    if (it == recs_.end()) {
      auto rec = db_.find(id);
      if (!rec) return nullptr;
      it = recs_.emplace(id, working{rec->class_name, rec->version, parse_object(rec->fields)}).first;
      order_.push_back(id);
    }
    return it->second.removed ? nullptr : &it->second;
  }

  // Records the plan reads through run_select already have their fields.
  working* adopt(const json::object& row) {
    auto* r = row.if_contains("@rid");
    auto id = r && r->is_string() ? rid::parse(r->get_string()) : std::nullopt;
    if (!id) return nullptr;
    if (recs_.contains(*id)) return read(*id);
    working w;
    if (auto* c = row.if_contains("@class"); c && c->is_string()) w.class_name = c->get_string();
    if (auto* v = row.if_contains("@version"); v && v->is_int64()) w.version = v->get_int64();
    w.fields = without_metadata(row);
    order_.push_back(*id);
    return &recs_.emplace(*id, std::move(w)).first->second;
  }

  // OrientDB's OUser hook: a password written in plain text is stored
  // hashed. Here at plan time, on the owner, so every replica applies the
  // same hash (a salt drawn per replica would make copies differ), and
  // before any answer shows the record. Costs one PBKDF2 (~20 ms) per user
  // record written with a new plain password.
  void hash_user_password(const std::string& class_name, json::object& fields) {
    if (!extends(class_name, "OUser")) return;
    auto* pw = fields.if_contains("password");
    if (pw == nullptr || !pw->is_string()) return;
    std::string_view text(pw->get_string().data(), pw->get_string().size());
    if (auto stored = parse_stored_password(text); stored.ok() && stored->hashed()) return;
    *pw = hash_password(text);
  }

  // Every record a statement changes goes through here after its change.
  bool changed(working& w) {
    hash_user_password(w.class_name, w.fields);
    if (w.created || w.changed) return true;
    w.changed = true;
    return counted();
  }

  bool remove(rid id) {
    auto* w = read(id);
    if (w == nullptr) return true;
    bool fresh = !w->created && !w->changed;
    w->removed = true;
    return !fresh || counted();
  }

  // A new record of class `c` at the next free position of its default cluster.
  std::optional<rid> create(const storage::class_info& c, json::object fields) {
    auto it = next_pos_.find(c.default_cluster);
    if (it == next_pos_.end()) {
      int64_t next = 0;
      for (auto& info : db_.clusters())
        if (info.id == c.default_cluster) next = info.next_position;
      it = next_pos_.emplace(c.default_cluster, next).first;
    }
    rid id{c.default_cluster, it->second++};
    if (!counted()) return std::nullopt;
    hash_user_password(c.name, fields);
    working w{c.name, 0, std::move(fields), true, false, false};
    recs_.emplace(id, std::move(w));
    order_.push_back(id);
    return id;
  }

  // The whole record as OrientDB shows it, as the plan leaves it.
  std::string record_json(rid id, bool before = false) {
    const working& w = recs_.at(id);
    storage::record r;
    r.id = id;
    r.class_name = w.class_name;
    r.version = w.created ? 1 : w.version + (w.changed && !before ? 1 : 0);
    r.fields = json::serialize(w.fields);
    return r.to_json();
  }

  json::object attributes_doc(rid id) {
    const working& w = recs_.at(id);
    return with_attributes(w.fields, id, w.class_name, w.created ? 1 : w.version + (w.changed ? 1 : 0));
  }

  // The records a target and WHERE select (run_select's rule), at most
  // min(limit, ops_max + 1); more than ops_max is refused.
  std::optional<std::vector<rid>> matching(const target& t, const expr_ptr& where, std::optional<int64_t> limit) {
    if (!need(where)) return std::nullopt;
    select_stmt q;
    q.from = t;
    q.where = where;
    int64_t cap = static_cast<int64_t>(lim_.ops_max) + 1;
    q.limit = limit && *limit >= 0 ? std::min(*limit, cap) : cap;
    auto rows = select(q);
    if (!rows) return std::nullopt;
    if (rows->size() > lim_.ops_max) {
      fail(write_error_kind::limit, cat("the statement changes more than ", lim_.ops_max,
                                        " records, the most one statement may change: add a LIMIT or split it"));
      return std::nullopt;
    }
    std::vector<rid> out;
    for (auto& row : *rows)
      if (auto* w = adopt(row)) {
        (void)w;
        out.push_back(*rid::parse(row.at("@rid").get_string()));
      }
    return out;
  }

  std::optional<std::vector<json::object>> select(const select_stmt& q) {
    if (!need(q)) return std::nullopt;
    select_limits sl = lim_.scan;
    sl.rows_max = std::min(sl.rows_max, lim_.ops_max + 1);
    auto r = run_select(db_, q, p_, sl);
    if (!r) {
      auto& what = r.error().what;
      fail(what.find("was not found") != std::string::npos ? write_error_kind::not_found
           : what.find("more than") != std::string::npos  ? write_error_kind::limit
                                                          : write_error_kind::invalid,
           what);
      return std::nullopt;
    }
    std::vector<json::object> out;
    for (auto& t : *r) out.push_back(parse_object(t));
    return out;
  }

  // SET or CONTENT: the new fields (evaluated over `doc`).
  std::optional<json::object> body_fields(const record_body& b, json::object fields = {}) {
    if (!need(b)) return std::nullopt;
    if (b.content) {
      for (auto& [k, v] : without_metadata(parse_object(*b.content))) fields[k] = v;
    }
    for (auto& a : b.set) fields[a.field] = evaluate(*a.value, fields, p_);
    return fields;
  }

  // ---- INSERT --------------------------------------------------------------

  bool insert(const insert_stmt& s) {
    auto c = klass(s.class_name);
    if (!c || !need(s.returning)) return false;
    if (!s.cluster.empty()) {
      auto cl = db_.cluster_by_name(s.cluster);
      if (!cl) return fail(write_error_kind::not_found, cat("Cluster '", s.cluster, "' was not found"));
      if (cl->id != c->default_cluster)
        return fail(write_error_kind::invalid, cat("Class '", c->name, "' keeps its records in its default cluster ",
                                                   "only: leave out CLUSTER ", s.cluster));
    }
    std::vector<json::object> rows;
    for (auto& b : s.rows) {
      auto f = body_fields(b);
      if (!f) return false;
      rows.push_back(std::move(*f));
    }
    if (s.from) {
      auto got = select(*s.from);
      if (!got) return false;
      for (auto& row : *got) rows.push_back(without_metadata(row));
    }
    std::vector<rid> made;
    for (auto& f : rows) {
      auto id = create(*c, std::move(f));
      if (!id) return false;
      made.push_back(*id);
    }
    std::vector<std::string> answer;
    for (auto id : made)
      answer.push_back(is_this(s.returning) ? record_json(id) : value_row(evaluate(*s.returning, attributes_doc(id), p_)));
    return answered(answer);
  }

  bool answered(const std::vector<std::string>& rows) {
    plan_.answer = "[";
    for (size_t i = 0; i < rows.size(); ++i) plan_.answer += (i ? "," : "") + rows[i];
    plan_.answer += "]";
    return true;
  }
  bool answered_value(json::value v) { return answered({value_row(std::move(v))}); }

  // ---- UPDATE --------------------------------------------------------------

  bool act(const update_action& a, rid id, working& w) {
    auto value = [&] { return evaluate(*a.a.value, with_attributes(w.fields, id, w.class_name, w.version), p_); };
    switch (a.k) {
      case update_action::kind::set: w.fields[a.a.field] = value(); break;
      case update_action::kind::increment: {
        auto by = value();
        if (!is_number(by))
          return fail(write_error_kind::invalid, cat("INCREMENT ", a.a.field, " needs a number, not ", kind_of(by)));
        auto* cur = w.fields.if_contains(a.a.field);
        if (cur == nullptr || cur->is_null()) {
          w.fields[a.a.field] = by;
        } else if (!is_number(*cur)) {
          return fail(write_error_kind::invalid, cat("INCREMENT ", a.a.field, ": record ", id.to_string(),
                                                     " holds ", kind_of(*cur), " there, not a number"));
        } else if (cur->is_int64() && by.is_int64()) {
          int64_t r = 0;
          if (__builtin_add_overflow(cur->get_int64(), by.get_int64(), &r))
            return fail(write_error_kind::invalid, cat("INCREMENT ", a.a.field, " overflows a 64-bit integer in record ",
                                                       id.to_string()));
          *cur = r;
        } else {
          *cur = cur->to_number<double>() + by.to_number<double>();
        }
        break;
      }
      case update_action::kind::add: {
        auto v = value();
        auto* cur = w.fields.if_contains(a.a.field);
        if (cur == nullptr || cur->is_null()) w.fields[a.a.field] = json::array{v};
        else if (auto* arr = cur->if_array()) arr->push_back(v);
        else
          return fail(write_error_kind::invalid, cat("ADD ", a.a.field, ": record ", id.to_string(), " holds ",
                                                     kind_of(*cur), " there, not an array"));
        break;
      }
      case update_action::kind::remove:
        if (!a.a.value) {
          w.fields.erase(a.a.field);
        } else if (auto* cur = w.fields.if_contains(a.a.field); cur && cur->is_array()) {
          auto v = value();
          auto& arr = cur->as_array();
          for (auto it = arr.begin(); it != arr.end();) it = *it == v ? arr.erase(it) : it + 1;
        }
        break;
      case update_action::kind::content: {
        // The graph's own fields stay: CONTENT replaces a vertex's or an
        // edge's properties, not its links (only the edge statements change those).
        json::object fresh = without_metadata(parse_object(a.json));
        for (auto& [k, v] : w.fields)
          if (graph_field(w.class_name, k)) fresh[k] = v;
        w.fields = std::move(fresh);
        break;
      }
      case update_action::kind::merge:
        for (auto& [k, v] : without_metadata(parse_object(a.json))) w.fields[k] = v;
        break;
    }
    return true;
  }

  // out_*/in_* of a vertex, out/in of an edge: what CREATE/DELETE EDGE and
  // DELETE VERTEX keep consistent, and no other statement may change.
  bool graph_field(std::string_view cls, std::string_view field) {
    if (extends(cls, "V")) return field.starts_with("out_") || field.starts_with("in_");
    if (extends(cls, "E")) return field == "out" || field == "in";
    return false;
  }

  bool graph_fields_kept(rid id, const working& w, const json::object& before) {
    auto differs = [&](const json::object& a, const json::object& b) {
      for (auto& [k, v] : a) {
        if (!graph_field(w.class_name, k)) continue;
        auto* other = b.if_contains(k);
        if (other == nullptr || *other != v) return std::string(k);
      }
      return std::string();
    };
    std::string f = differs(before, w.fields);
    if (f.empty()) f = differs(w.fields, before);
    if (f.empty()) return true;
    return fail(write_error_kind::invalid, cat("UPDATE cannot change '", f, "' of ", id.to_string(), ": it links the graph; ",
                                               "use CREATE EDGE, DELETE EDGE or DELETE VERTEX"));
  }

  // UPSERT's new record: the WHERE's top-level `field = value` equalities.
  void equalities(const expr_ptr& e, json::object& out) {
    if (!e) return;
    auto* b = std::get_if<binary>(&e->node);
    if (b == nullptr) return;
    if (b->op == binary_op::and_) {
      equalities(b->a, out);
      equalities(b->b, out);
      return;
    }
    if (b->op != binary_op::eq) return;
    auto name = [](const expr_ptr& x) -> const std::string* {
      auto* f = std::get_if<field_ref>(&x->node);
      return f != nullptr && f->path.size() == 1 && !f->path[0].starts_with("@") ? &f->path[0] : nullptr;
    };
    if (auto* n = name(b->a); n && !name(b->b)) out[*n] = evaluate(*b->b, {}, p_);
    else if (auto* m = name(b->b); m && !name(b->a)) out[*m] = evaluate(*b->a, {}, p_);
  }

  bool update(const update_stmt& s) {
    for (auto& a : s.actions)
      if (!need(a.a.value)) return false;
    if (!need(s.return_expr)) return false;
    if (s.upsert && s.what.k != target::kind::klass)
      return fail(write_error_kind::invalid, "UPSERT needs a class to create the record in: UPDATE <class> ... UPSERT");
    if (s.what.k == target::kind::klass && !klass(s.what.name)) return false;
    auto ids = matching(s.what, s.where, s.limit);
    if (!ids) return false;
    std::vector<std::string> before;
    if (ids->empty() && s.upsert) {
      json::object fields;
      equalities(s.where, fields);
      auto c = klass(s.what.name);
      if (!c) return false;
      auto id = create(*c, std::move(fields));
      if (!id) return false;
      ids->push_back(*id);
    } else {
      for (auto id : *ids) {
        if (s.ret == update_stmt::returning::before) before.push_back(returned(s.return_expr, id, true));
      }
    }
    for (auto id : *ids) {
      auto* w = read(id);
      assert(w != nullptr);
      json::object before = w->fields;
      for (auto& a : s.actions)
        if (!act(a, id, *w)) return false;
      if (!graph_fields_kept(id, *w, before) || !changed(*w)) return false;
    }
    switch (s.ret) {
      case update_stmt::returning::count: return answered_value(static_cast<int64_t>(ids->size()));
      case update_stmt::returning::before: return answered(before);
      case update_stmt::returning::after: {
        std::vector<std::string> after;
        for (auto id : *ids) after.push_back(returned(s.return_expr, id, false));
        return answered(after);
      }
    }
    return true;
  }

  std::string returned(const expr_ptr& e, rid id, bool before) {
    if (is_this(e)) return record_json(id, before);
    const working& w = recs_.at(id);
    return value_row(evaluate(*e, with_attributes(w.fields, id, w.class_name, w.version), p_));
  }

  // ---- DELETE ------------------------------------------------------------

  bool delete_from(const delete_stmt& s) {
    if (s.what.k == target::kind::klass && !klass(s.what.name)) return false;
    auto ids = matching(s.what, s.where, s.limit);
    if (!ids) return false;
    for (auto id : *ids) {
      auto* w = read(id);
      assert(w != nullptr);
      bool vertex = extends(w->class_name, "V");
      if (vertex || extends(w->class_name, "E"))
        return fail(write_error_kind::invalid,
                    cat("'DELETE' cannot delete ", vertex ? "vertex " : "edge ", id.to_string(), " (class ",
                        w->class_name, "): use DELETE ", vertex ? "VERTEX" : "EDGE", ", which keeps the graph consistent"));
      if (!remove(id)) return false;
    }
    return answered_value(static_cast<int64_t>(ids->size()));
  }

  // Removes `edge`'s RID from the out_* (or in_*) arrays of `vertex`.
  bool unlink(const json::value* vertex, std::string_view prefix, const std::string& edge) {
    auto id = vertex && vertex->is_string() ? rid::parse(vertex->get_string()) : std::nullopt;
    auto* w = id ? read(*id) : nullptr;
    if (w == nullptr) return true;  // gone, or removed by this plan
    bool any = false;
    for (auto& [k, v] : w->fields) {
      if (!k.starts_with(prefix) || !v.is_array()) continue;
      auto& arr = v.as_array();
      for (auto it = arr.begin(); it != arr.end();) {
        if (it->is_string() && it->get_string() == edge) {
          it = arr.erase(it);
          any = true;
        } else {
          ++it;
        }
      }
    }
    return !any || changed(*w);
  }

  bool remove_edge(rid id) {
    auto* e = read(id);
    if (e == nullptr) return true;
    json::value out = e->fields.contains("out") ? e->fields.at("out") : json::value();
    json::value in = e->fields.contains("in") ? e->fields.at("in") : json::value();
    std::string text = id.to_string();
    return remove(id) && unlink(&out, "out_", text) && unlink(&in, "in_", text);
  }

  bool delete_vertex(const delete_vertex_stmt& s) {
    if (s.what.k == target::kind::klass) {
      auto c = klass(s.what.name);
      if (!c) return false;
      if (!extends(c->name, "V"))
        return fail(write_error_kind::invalid, cat("Class '", c->name, "' is not a vertex class: DELETE VERTEX ",
                                                   "takes V or a subclass of V (use DELETE FROM for documents)"));
    }
    auto ids = matching(s.what, s.where, s.limit);
    if (!ids) return false;
    for (auto id : *ids) {
      auto* w = read(id);
      if (w == nullptr) continue;
      if (!extends(w->class_name, "V"))
        return fail(write_error_kind::invalid, cat("Record ", id.to_string(), " is of class '", w->class_name,
                                                   "', not a vertex: DELETE VERTEX removes vertices only"));
      std::vector<rid> edges;
      for (auto& [k, v] : w->fields)
        if ((k.starts_with("out_") || k.starts_with("in_")) && v.is_array())
          for (auto& x : v.as_array())
            if (auto e = x.is_string() ? rid::parse(x.get_string()) : std::nullopt) edges.push_back(*e);
      if (!remove(id)) return false;
      for (auto e : edges)
        if (!remove_edge(e)) return false;
    }
    return answered_value(static_cast<int64_t>(ids->size()));
  }

  // The vertices one end of an edge statement names. `creating`: each must
  // exist (else not_found); otherwise absent ones are skipped.
  std::optional<std::vector<rid>> ends(const endpoint& e, std::string_view clause, bool creating) {
    std::vector<rid> ids = e.rids;
    if (e.value) {
      if (!need(e.value)) return std::nullopt;
      auto v = evaluate(*e.value, {}, p_);
      auto one = [&](const json::value& x) {
        auto r = x.is_string() ? rid::parse(x.get_string()) : std::nullopt;
        if (r) ids.push_back(*r);
        return r.has_value();
      };
      bool ok = v.is_array() ? std::all_of(v.as_array().begin(), v.as_array().end(), one) : one(v);
      if (!ok) {
        fail(write_error_kind::invalid, cat(clause, " ", "takes a RID string (\"#9:0\") or an array of them; the ",
                                            "parameter holds ", kind_of(v)));
        return std::nullopt;
      }
    }
    if (e.query) {
      auto rows = select(*e.query);
      if (!rows) return std::nullopt;
      for (auto& row : *rows) {
        auto* r = row.if_contains("@rid");
        auto id = r && r->is_string() ? rid::parse(r->get_string()) : std::nullopt;
        if (!id) {
          fail(write_error_kind::invalid, cat("the subquery of ", clause, " must give records or @rid"));
          return std::nullopt;
        }
        ids.push_back(*id);
      }
    }
    std::vector<rid> out;
    for (auto id : ids) {
      auto* w = read(id);
      if (w == nullptr) {
        if (!creating) continue;
        fail(write_error_kind::not_found, cat(clause, " ", id.to_string(), ": the record was not found"));
        return std::nullopt;
      }
      if (!extends(w->class_name, "V")) {
        fail(write_error_kind::invalid, cat(clause, " ", id.to_string(), ": the record is of class '", w->class_name,
                                            "', not a vertex class (V or a subclass of V)"));
        return std::nullopt;
      }
      out.push_back(id);
    }
    return out;
  }

  bool delete_edge(const delete_edge_stmt& s) {
    if (!need(s.where)) return false;
    std::vector<rid> ids;
    std::string cls = s.class_name.empty() ? "E" : s.class_name;
    if (!s.rids.empty()) {
      target t;
      t.k = target::kind::rids;
      t.rids = s.rids;
      auto got = matching(t, s.where, s.limit);
      if (!got) return false;
      ids = *got;
      for (auto id : ids)
        if (auto* w = read(id); w && !extends(w->class_name, "E"))
          return fail(write_error_kind::invalid, cat("Record ", id.to_string(), " is of class '", w->class_name,
                                                     "', not an edge: DELETE EDGE removes edges only"));
    } else {
      auto c = klass(cls);
      if (!c) return false;
      if (!extends(c->name, "E"))
        return fail(write_error_kind::invalid,
                    cat("Class '", c->name, "' is not an edge class: DELETE EDGE takes E or a subclass of E"));
      if (!s.from && !s.to) {
        target t;
        t.name = c->name;
        auto got = matching(t, s.where, s.limit);
        if (!got) return false;
        ids = *got;
      } else {
        // The candidates are the edges the named vertices list: no scan of the edge class.
        std::optional<std::set<rid>> from_set, to_set;
        std::vector<rid> candidates;
        for (auto [end, prefix, set] : {std::tuple{&s.from, "out_", &from_set}, std::tuple{&s.to, "in_", &to_set}}) {
          if (!*end) continue;
          auto vs = ends(**end, end == &s.from ? "DELETE EDGE FROM" : "DELETE EDGE TO", false);
          if (!vs) return false;
          set->emplace(vs->begin(), vs->end());
          for (auto v : *vs)
            for (auto& [k, val] : read(v)->fields)
              if (k.starts_with(prefix) && val.is_array())
                for (auto& x : val.as_array())
                  if (auto e = x.is_string() ? rid::parse(x.get_string()) : std::nullopt) candidates.push_back(*e);
        }
        std::set<rid> seen;
        int64_t limit = s.limit && *s.limit >= 0 ? *s.limit : INT64_MAX;
        size_t scanned = 0;
        for (auto e : candidates) {
          if (static_cast<int64_t>(ids.size()) >= limit) break;
          if (!seen.insert(e).second) continue;
          if (++scanned > lim_.scan.scan_records_max)
            return fail(write_error_kind::limit, cat("the statement read more than ", lim_.scan.scan_records_max,
                                                     " records; narrow it down"));
          auto* w = read(e);
          if (w == nullptr || !extends(w->class_name, c->name)) continue;
          auto end_is = [&](const char* f, const std::optional<std::set<rid>>& set) {
            if (!set) return true;
            auto* v = w->fields.if_contains(f);
            auto r = v && v->is_string() ? rid::parse(v->get_string()) : std::nullopt;
            return r && set->contains(*r);
          };
          if (!end_is("out", from_set) || !end_is("in", to_set)) continue;
          if (s.where && !holds(*s.where, with_attributes(w->fields, e, w->class_name, w->version), p_)) continue;
          ids.push_back(e);
        }
      }
    }
    for (auto id : ids)
      if (!remove_edge(id)) return false;
    return answered_value(static_cast<int64_t>(ids.size()));
  }

  // ---- CREATE VERTEX / EDGE --------------------------------------------------

  bool default_cluster_only(const storage::class_info& c, const std::string& cluster) {
    if (cluster.empty()) return true;
    auto cl = db_.cluster_by_name(cluster);
    if (!cl) return fail(write_error_kind::not_found, cat("Cluster '", cluster, "' was not found"));
    if (cl->id != c.default_cluster)
      return fail(write_error_kind::invalid,
                  cat("Class '", c.name, "' keeps its records in its default cluster only: leave out CLUSTER ", cluster));
    return true;
  }

  bool create_vertex(const create_vertex_stmt& s) {
    auto c = klass(s.class_name.empty() ? "V" : s.class_name);
    if (!c) return false;
    if (!extends(c->name, "V"))
      return fail(write_error_kind::invalid, cat("Class '", c->name, "' is not a vertex class: CREATE VERTEX takes V ",
                                                 "or a subclass of V (CREATE CLASS ", c->name, " EXTENDS V)"));
    if (!default_cluster_only(*c, s.cluster)) return false;
    auto f = body_fields(s.body);
    if (!f) return false;
    for (auto& [k, v] : *f)
      if (k.starts_with("out_") || k.starts_with("in_"))
        return fail(write_error_kind::invalid, cat("Field '", k, "' holds the vertex's edges: CREATE EDGE sets it"));
    auto id = create(*c, std::move(*f));
    if (!id) return false;
    return answered({record_json(*id)});
  }

  bool append_link(rid vertex, const std::string& field, const std::string& edge) {
    auto* w = read(vertex);
    assert(w != nullptr);
    auto* cur = w->fields.if_contains(field);
    if (cur == nullptr || cur->is_null()) w->fields[field] = json::array{json::string(edge)};
    else if (auto* a = cur->if_array()) a->push_back(json::string(edge));
    else
      return fail(write_error_kind::invalid, cat("Vertex ", vertex.to_string(), " holds ", kind_of(*cur), " in ",
                                                 field, ", not an array of edges"));
    return changed(*w);
  }

  bool create_edge(const create_edge_stmt& s) {
    auto c = klass(s.class_name.empty() ? "E" : s.class_name);
    if (!c) return false;
    if (!extends(c->name, "E"))
      return fail(write_error_kind::invalid, cat("Class '", c->name, "' is not an edge class: CREATE EDGE takes E ",
                                                 "or a subclass of E (CREATE CLASS ", c->name, " EXTENDS E)"));
    if (!default_cluster_only(*c, s.cluster)) return false;
    auto from = ends(s.from, "CREATE EDGE FROM", true);
    if (!from) return false;
    auto to = ends(s.to, "CREATE EDGE TO", true);
    if (!to) return false;
    // OrientDB 2.2's refusals when a subquery (or an empty list) gives no vertex.
    if (from->empty()) return fail(write_error_kind::not_found, "No edge has been created because no source vertices");
    if (to->empty()) return fail(write_error_kind::not_found, "No edge has been created because no target vertices");
    if (!from->empty() && to->size() > lim_.ops_max / from->size())
      return fail(write_error_kind::limit, cat("the statement creates ", from->size(), " x ", to->size(), " edges, more than ",
                                               lim_.ops_max, " records in one statement: split it"));
    auto body = body_fields(s.body);
    if (!body) return false;
    if (body->contains("out") || body->contains("in"))
      return fail(write_error_kind::invalid, "'out' and 'in' are the edge's ends: FROM and TO set them");
    std::vector<rid> made;
    for (auto f : *from)
      for (auto t : *to) {
        json::object fields{{"out", f.to_string()}, {"in", t.to_string()}};
        for (auto& [k, v] : *body) fields[k] = v;
        auto id = create(*c, std::move(fields));
        if (!id) return false;
        std::string text = id->to_string();
        if (!append_link(f, "out_" + c->name, text) || !append_link(t, "in_" + c->name, text)) return false;
        made.push_back(*id);
      }
    std::vector<std::string> answer;
    for (auto id : made) answer.push_back(record_json(id));
    return answered(answer);
  }

  // ---- schema ----------------------------------------------------------------

  bool schema_op(storage::op o) {
    if (!counted()) return false;
    plan_.ops.push_back(std::move(o));
    return true;
  }

  bool create_class(const create_class_stmt& s) {
    bool valid_name = !s.name.empty() && s.name.size() <= storage::class_name_chars_max &&
                      std::all_of(s.name.begin(), s.name.end(), [](char ch) {
                        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
                      });
    if (!valid_name)
      return fail(write_error_kind::invalid, cat("Class name '", s.name, "' must be 1 to ", storage::class_name_chars_max,
                                                 " letters, digits or '_'"));
    if (auto c = db_.class_by_name(s.name))
      return fail(write_error_kind::duplicate, cat("Class '", c->name, "' already exists"));
    std::string super;
    if (!s.superclass.empty()) {
      auto sc = klass(s.superclass);
      if (!sc) return false;
      super = sc->name;
    }
    int32_t cluster = 0;
    for (auto& info : db_.clusters()) cluster = std::max(cluster, info.id + 1);
    storage::op o;
    o.k = storage::op::kind::create_class;
    o.class_name = s.name;
    o.superclass = super;
    return schema_op(std::move(o)) && answered_value(cluster);
  }

  bool drop_class(const drop_class_stmt& s) {
    auto c = klass(s.name);
    if (!c) return false;
    if (ascii_iequals(c->name, "V") || ascii_iequals(c->name, "E"))
      return fail(write_error_kind::invalid, cat("Class '", c->name, "' is built in: every database keeps V and E"));
    for (auto& other : db_.classes())
      if (ascii_iequals(other.superclass, c->name))
        return fail(write_error_kind::invalid, cat("Class '", c->name, "' has subclass '", other.name, "': drop it first"));
    for (auto& info : db_.clusters())
      if (info.id == c->default_cluster && info.records > 0)
        return fail(write_error_kind::invalid, cat("Class '", c->name, "' has ", info.records,
                                                   " records: delete them first"));
    storage::op o;
    o.k = storage::op::kind::drop_class;
    o.class_name = c->name;
    return schema_op(std::move(o)) && answered_value(true);
  }

  bool create_property(const create_property_stmt& s) {
    auto c = klass(s.class_name);
    if (!c) return false;
    if (!known_property_type(s.type)) {
      std::string all;
      for (auto t : property_types) all += (all.empty() ? "" : ", ") + std::string(t);
      return fail(write_error_kind::invalid, cat("Unknown property type '", s.type, "': use one of ", all));
    }
    auto props = stored_properties(db_, c->name);
    size_t own = 0;
    for (auto& pr : props) {
      if (!ascii_iequals(pr.class_name, c->name)) continue;
      ++own;
      if (ascii_iequals(pr.name, s.name))
        return fail(write_error_kind::duplicate, cat("Property '", c->name, ".", pr.name, "' already exists"));
    }
    storage::op o;
    o.k = storage::op::kind::create_property;
    o.class_name = c->name;
    o.fields = json::serialize(json::object{{"name", s.name}, {"type", s.type}});
    return schema_op(std::move(o)) && answered_value(static_cast<int64_t>(own + 1));
  }

  bool create_index(const create_index_stmt& s) {
    auto c = klass(s.class_name);
    if (!c) return false;
    for (auto& ix : stored_indexes(db_))
      if (ascii_iequals(ix.name, s.name))
        return fail(write_error_kind::duplicate, cat("Index '", ix.name, "' already exists"));
    json::array fields;
    for (auto& f : s.fields) fields.emplace_back(f);
    storage::op o;
    o.k = storage::op::kind::create_index;
    o.class_name = c->name;
    o.fields = json::serialize(
        json::object{{"name", s.name}, {"fields", std::move(fields)}, {"type", s.unique ? "UNIQUE" : "NOTUNIQUE"}});
    return schema_op(std::move(o)) && answered_value(records_of(c->name));
  }

  bool drop_index(const drop_index_stmt& s) {
    auto all = stored_indexes(db_);
    if (std::none_of(all.begin(), all.end(), [&](const storage::index_info& ix) { return ascii_iequals(ix.name, s.name); }))
      return fail(write_error_kind::not_found, cat("Index '", s.name, "' was not found"));
    storage::op o;
    o.k = storage::op::kind::drop_index;
    o.fields = json::serialize(json::object{{"name", s.name}});
    return schema_op(std::move(o)) && answered_value(true);
  }

  // ---- UNIQUE indexes and the ops --------------------------------------------

  // Every record the plan creates or changes against the UNIQUE indexes of
  // its class: the keys the plan itself gives, then the stored ones (records
  // the plan changes or removes are judged by their new state instead).
  bool check_unique() {
    auto indexes = stored_indexes(db_);
    std::map<std::string, std::map<std::string, rid>> planned;  // index (lower) -> key text -> record
    for (auto id : order_) {
      const working& w = recs_.at(id);
      if (w.removed || !(w.created || w.changed)) continue;
      for (auto& ix : indexes) {
        if (!ix.unique || !extends(w.class_name, ix.class_name)) continue;
        auto key = index_key(ix.fields, w.fields);
        if (!key) continue;
        auto [it, fresh] = planned[ascii_lower(ix.name)].emplace(index_key_text(*key), id);
        if (!fresh) return fail(write_error_kind::duplicate, duplicate_key_message(id, *key, ix.name, it->second));
        for (auto holder : stored_index_find(db_, ix.name, *key, 2)) {
          auto t = recs_.find(holder);
          bool judged_by_plan = t != recs_.end() && (t->second.removed || t->second.changed);
          if (holder != id && !judged_by_plan)
            return fail(write_error_kind::duplicate, duplicate_key_message(id, *key, ix.name, holder));
        }
      }
    }
    return true;
  }

  // ---- users (OUser records, src/auth/db_users.hpp) --------------------------

  // The record of class `cls` (or a subclass) whose "name" is `name`: through
  // the UNIQUE index <cls>.name that a database's security classes have, else
  // a scan of the class.
  std::optional<rid> named(std::string_view cls, const std::string& name) {
    auto by_name = [&](rid id) {
      auto* w = read(id);
      auto* n = w ? w->fields.if_contains("name") : nullptr;
      return w && extends(w->class_name, cls) && n && n->is_string() && n->get_string() == name;
    };
    if (auto idx = db_.index_by_name(cat(cls, ".name")); idx && idx->fields == std::vector<std::string>{"name"}) {
      for (auto id : stored_index_find(db_, idx->name, {json::value(json::string(name))}, 4))
        if (by_name(id)) return id;
      return std::nullopt;
    }
    target t;
    t.name = std::string(cls);
    auto e = std::make_shared<expr>();
    auto lhs = std::make_shared<expr>(), rhs = std::make_shared<expr>();
    lhs->node = field_ref{{"name"}};
    literal l;
    l.k = literal::kind::string;
    l.s = name;
    rhs->node = l;
    e->node = binary{binary_op::eq, lhs, rhs};
    auto ids = matching(t, e, 1);
    if (!ids || ids->empty()) return std::nullopt;
    return ids->front();
  }

  std::optional<rid> user_named(const std::string& name) {
    if (!klass("OUser")) return std::nullopt;
    auto id = named("OUser", name);
    if (!id && !err_) fail(write_error_kind::not_found, cat("User '", name, "' was not found"));
    return id;
  }

  bool create_user(const create_user_stmt& s) {
    auto c = klass("OUser");
    if (!c || !klass("ORole")) return false;
    json::array roles;
    for (auto& r : s.roles.empty() ? std::vector<std::string>{"writer"} : s.roles) {
      auto id = named("ORole", r);
      if (!id) return err_ ? false : fail(write_error_kind::not_found, cat("Role '", r, "' was not found"));
      roles.emplace_back(id->to_string());
    }
    // Refused here with OrientDB's message when the name is taken (the
    // UNIQUE index refuses it again when applied, on every replica).
    json::object f{{"name", s.name}, {"password", s.password}, {"status", "ACTIVE"}, {"roles", std::move(roles)}};
    auto id = create(*c, std::move(f));
    if (!id) return false;
    return answered({record_json(*id)});
  }

  bool drop_user(const drop_user_stmt& s) {
    auto id = user_named(s.name);
    if (!id || !remove(*id)) return false;
    return answered_value(int64_t{1});
  }

  bool alter_user(const alter_user_stmt& s) {
    auto id = user_named(s.name);
    if (!id) return false;
    auto* w = read(*id);
    assert(w != nullptr);
    w->fields["password"] = s.password;
    if (!changed(*w)) return false;
    return answered_value(int64_t{1});
  }

  bool emit() {
    for (auto id : order_) {
      const working& w = recs_.at(id);
      storage::op o;
      o.id = id;
      if (w.created && w.removed) continue;
      if (w.removed) {
        o.k = storage::op::kind::remove;
        o.expected_version = w.version;
      } else if (w.created || w.changed) {
        o.k = w.created ? storage::op::kind::create : storage::op::kind::update;
        o.class_name = w.class_name;
        o.expected_version = w.created ? -1 : w.version;
        o.fields = json::serialize(w.fields);
        if (o.fields.size() > storage::fields_bytes_max)
          return fail(write_error_kind::limit, cat("record ", id.to_string(), " would hold ", o.fields.size(),
                                                   " bytes of JSON, more than ", storage::fields_bytes_max));
      } else {
        continue;
      }
      plan_.ops.push_back(std::move(o));
    }
    if (plan_.ops.size() > lim_.ops_max)
      return fail(write_error_kind::limit, cat("the statement changes ", plan_.ops.size(), " records, more than ",
                                               lim_.ops_max, " in one statement: add a LIMIT or split it"));
    return true;
  }

  const storage::database& db_;
  const params& p_;
  const write_limits& lim_;
  std::map<rid, working> recs_;
  std::vector<rid> order_;              // records in the order first read or created
  std::map<int32_t, int64_t> next_pos_;  // cluster -> the next position a create takes
  std::map<std::string, std::string> supers_;  // lower-case class -> its superclass
  size_t changes_ = 0;
  write_plan plan_;
  std::optional<write_error> err_;
};

template <class T>
constexpr const char* write_kind() {
  if constexpr (std::is_same_v<T, insert_stmt>) return "insert";
  else if constexpr (std::is_same_v<T, update_stmt>) return "update";
  else if constexpr (std::is_same_v<T, delete_stmt>) return "delete";
  else if constexpr (std::is_same_v<T, delete_vertex_stmt>) return "delete vertex";
  else if constexpr (std::is_same_v<T, delete_edge_stmt>) return "delete edge";
  else if constexpr (std::is_same_v<T, create_vertex_stmt>) return "create vertex";
  else if constexpr (std::is_same_v<T, create_edge_stmt>) return "create edge";
  else if constexpr (std::is_same_v<T, create_class_stmt>) return "create class";
  else if constexpr (std::is_same_v<T, drop_class_stmt>) return "drop class";
  else if constexpr (std::is_same_v<T, create_property_stmt>) return "create property";
  else if constexpr (std::is_same_v<T, create_index_stmt>) return "create index";
  else if constexpr (std::is_same_v<T, drop_index_stmt>) return "drop index";
  else if constexpr (std::is_same_v<T, create_user_stmt>) return "create user";
  else if constexpr (std::is_same_v<T, drop_user_stmt>) return "drop user";
  else if constexpr (std::is_same_v<T, alter_user_stmt>) return "alter user";
  else return nullptr;
}

}  // namespace

const char* to_string(write_error_kind k) {
  switch (k) {
    case write_error_kind::syntax: return "syntax";
    case write_error_kind::not_found: return "not_found";
    case write_error_kind::invalid: return "invalid";
    case write_error_kind::duplicate: return "duplicate";
    case write_error_kind::limit: return "limit";
  }
  return "?";
}

storage::errc storage_code(write_error_kind k) {
  switch (k) {
    case write_error_kind::not_found: return storage::errc::not_found;
    case write_error_kind::duplicate: return storage::errc::duplicate_key;
    case write_error_kind::syntax:
    case write_error_kind::invalid:
    case write_error_kind::limit: return storage::errc::invalid_argument;
  }
  return storage::errc::invalid_argument;
}

bool is_write(const statement& s) {
  return std::visit([](const auto& n) { return write_kind<std::decay_t<decltype(n)>>() != nullptr; }, s);
}

const char* statement_kind(const statement& s) {
  return std::visit(
      [](const auto& n) {
        const char* k = write_kind<std::decay_t<decltype(n)>>();
        // Reads: SELECT, and whatever read statements the parser grows.
        using T = std::decay_t<decltype(n)>;
        if (k != nullptr) return k;
        if (std::is_same_v<T, select_stmt>) return "select";
        return std::is_same_v<T, explain_stmt> ? "explain" : "query";
      },
      s);
}

bool known_property_type(std::string_view type) {
  return std::find(property_types.begin(), property_types.end(), type) != property_types.end();
}

std::optional<std::vector<json::value>> index_key(const std::vector<std::string>& index_fields,
                                                  const json::object& fields) {
  std::vector<json::value> key;
  bool any = false;
  for (auto& f : index_fields) {
    auto* v = fields.if_contains(f);
    if (v && (v->is_array() || v->is_object())) return std::nullopt;  // storage indexes scalars only
    key.push_back(v ? *v : json::value());
    any = any || (v && !v->is_null());
  }
  if (!any) return std::nullopt;
  return key;
}

std::string index_key_text(const std::vector<json::value>& key) {
  constexpr double two63 = 9223372036854775808.0, two64 = 18446744073709551616.0;
  json::array out;
  for (auto& v : key) {
    // Storage compares numbers by exact value: an integral real is the integer.
    if (v.is_double() && std::trunc(v.get_double()) == v.get_double() && v.get_double() >= -two63 &&
        v.get_double() < two64) {
      double d = v.get_double();
      if (d < two63) out.emplace_back(static_cast<int64_t>(d));
      else out.emplace_back(static_cast<uint64_t>(d));
    } else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
      out.emplace_back(static_cast<int64_t>(v.get_uint64()));
    } else {
      out.push_back(v);
    }
  }
  return json::serialize(out);
}

std::string duplicate_key_message(rid record, const std::vector<json::value>& key, std::string_view index, rid holder) {
  // OrientDB prints a one-field key as its value, a composite one as a list
  // "[a, b]"; storage words its own refusal the same way (index.cpp key_text).
  auto one = [](const json::value& v) { return v.is_string() ? std::string(v.get_string()) : json::serialize(v); };
  std::string shown;
  if (key.size() == 1) shown = one(key[0]);
  else {
    shown = "[";
    for (size_t i = 0; i < key.size(); ++i) shown += (i == 0 ? "" : ", ") + one(key[i]);
    shown += "]";
  }
  return cat("Cannot index record ", record.to_string(), ": found duplicated key '", shown, "' in index '", index,
             "' previously assigned to the record ", holder.to_string());
}

write_result plan_write(const storage::database& db, const statement& s, const params& p, const write_limits& limits) {
  return planner(db, p, limits).run(s);
}

write_result plan_sql(const storage::database& db, std::string_view text, const params& p, const write_limits& limits) {
  auto parsed = parse(text);
  if (auto* e = std::get_if<syntax_error>(&parsed)) return write_error{write_error_kind::syntax, e->message()};
  return plan_write(db, std::get<statement>(parsed), p, limits);
}

}  // namespace troupe::query
