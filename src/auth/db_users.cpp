#include "src/auth/db_users.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cassert>
#include <type_traits>
#include <variant>

#include "src/query/command.hpp"
#include "src/query/parser.hpp"
#include "src/util/ascii.hpp"
#include "src/util/strings.hpp"

namespace troupe::auth {

namespace {

namespace json = boost::json;

constexpr std::string_view user_class = "OUser";
constexpr std::string_view role_class = "ORole";

// Role mode: OrientDB's ALLOW_MODES ordinal.
constexpr int mode_deny_all_but = 0;
constexpr int mode_allow_all_but = 1;

struct check {
  std::string resource;  // lower case
  int bit = 0;
};

check check_of(db_action a) {
  switch (a) {
    case db_action::read: return {"database.class.*", permission_read};
    case db_action::create: return {"database.class.*", permission_create};
    case db_action::update: return {"database.class.*", permission_update};
    case db_action::remove: return {"database.class.*", permission_delete};
    case db_action::schema: return {"database.schema", permission_update};
    case db_action::security: return {"database.class.ouser", permission_update};
  }
  return {"database", permission_all};
}

std::optional<json::object> parse_object(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<std::string> string_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

// The records of `cls` (its default cluster) whose field "name" equals `name`:
// through the UNIQUE index "<cls>.name" when it exists, else a bounded scan.
std::optional<storage::record> find_by_name(const storage::database& db, std::string_view cls, std::string_view name) {
  auto info = db.class_by_name(cls);
  if (!info) return std::nullopt;
  auto matches = [&](const storage::record& r) -> bool {
    if (!ascii_iequals(r.class_name, info->name)) return false;
    auto o = parse_object(r.fields);
    if (!o) return false;
    auto n = string_field(*o, "name");
    return n && *n == name;
  };
  if (auto idx = db.index_by_name(cat(cls, ".name")); idx && idx->fields == std::vector<std::string>{"name"}) {
    for (auto& id : db.index_find(idx->name, {json::value(json::string(name))}, 4))
      if (auto r = db.find(id); r && matches(*r)) return r;
    return std::nullopt;
  }
  // No index (a database whose administrator dropped it): the class's cluster
  // page by page. Security classes hold few records.
  int64_t from = 0;
  for (;;) {
    auto page = db.browse_cluster(info->default_cluster, from, storage::browse_records_max);
    for (auto& r : page)
      if (matches(r)) return r;
    if (page.size() < storage::browse_records_max) return std::nullopt;
    from = page.back().id.position + 1;
  }
}

struct role_rules {
  int mode = mode_deny_all_but;
  json::object rules;
};

std::optional<role_rules> find_role(const storage::database& db, std::string_view name) {
  auto r = find_by_name(db, role_class, name);
  if (!r) return std::nullopt;
  auto o = parse_object(r->fields);
  if (!o) return std::nullopt;
  role_rules out;
  if (auto* m = o->if_contains("mode"); m && m->is_int64()) out.mode = static_cast<int>(m->as_int64());
  if (auto* rules = o->if_contains("rules"); rules && rules->is_object()) out.rules = rules->as_object();
  return out;
}

// The rule's bits for `resource` (keys compare ignoring case), if any.
std::optional<int> rule_bits(const json::object& rules, std::string_view resource) {
  for (auto& [k, v] : rules)
    if (ascii_iequals(std::string_view(k.data(), k.size()), resource) && v.is_int64())
      return static_cast<int>(v.as_int64());
  return std::nullopt;
}

bool role_allows(const role_rules& role, const check& c) {
  auto bits = rule_bits(role.rules, c.resource);
  if (!bits && c.resource.starts_with("database.class.") && c.resource != "database.class.*")
    bits = rule_bits(role.rules, "database.class.*");
  if (bits) return (*bits & c.bit) == c.bit;
  return role.mode == mode_allow_all_but;
}

std::string resource_text(db_action a) {
  switch (a) {
    case db_action::schema: return "ResourceGeneric [name=SCHEMA, legacyName=database.schema].null";
    case db_action::security: return "ResourceGeneric [name=CLASS, legacyName=database.class].ouser";
    default: return "ResourceGeneric [name=CLASS, legacyName=database.class].*";
  }
}

storage::op create_class(std::string name) {
  storage::op o;
  o.k = storage::op::kind::create_class;
  o.class_name = std::move(name);
  return o;
}

storage::op create_property(std::string cls, std::string name) {
  storage::op o;
  o.k = storage::op::kind::create_property;
  o.class_name = std::move(cls);
  json::object f{{"name", name}, {"type", "STRING"}};
  o.fields = json::serialize(f);
  return o;
}

storage::op create_unique_index(std::string cls) {
  storage::op o;
  o.k = storage::op::kind::create_index;
  json::object f{{"name", cat(cls, ".name")}, {"fields", json::array{"name"}}, {"type", "UNIQUE"}};
  o.class_name = std::move(cls);
  o.fields = json::serialize(f);
  return o;
}

storage::op create_record(std::string cls, storage::rid id, const json::object& fields) {
  storage::op o;
  o.k = storage::op::kind::create;
  o.class_name = std::move(cls);
  o.id = id;
  o.fields = json::serialize(fields);
  return o;
}

json::object rules_object(std::initializer_list<std::pair<std::string_view, int>> rules) {
  json::object o;
  for (auto& [k, v] : rules) o[k] = v;
  return o;
}

std::vector<storage::op> security_ops(int32_t role_cluster) {
  const int32_t user_cluster = role_cluster + 1;
  std::vector<storage::op> ops;
  // ORole first: storage gives each new class the next cluster id, so the
  // order here decides the RIDs below.
  ops.push_back(create_class(std::string(role_class)));
  ops.push_back(create_class(std::string(user_class)));
  ops.push_back(create_property("ORole", "name"));
  ops.push_back(create_property("OUser", "name"));
  ops.push_back(create_property("OUser", "password"));
  ops.push_back(create_property("OUser", "status"));
  ops.push_back(create_unique_index("ORole"));
  ops.push_back(create_unique_index("OUser"));

  // As OrientDB 2.2's OSecurityShared.createMetadata, except writer's
  // database.schema (Read only here: the brief of troupe's roles keeps
  // schema changes to admin).
  struct role_def {
    const char* name;
    int mode;
    json::object rules;
  };
  std::vector<role_def> roles = {
      {"admin", mode_allow_all_but, rules_object({{"database.bypassRestricted", permission_all}})},
      {"reader", mode_deny_all_but,
       rules_object({{"database", permission_read},
                     {"database.schema", permission_read},
                     {"database.cluster.internal", permission_read},
                     {"database.cluster.orole", permission_read},
                     {"database.cluster.ouser", permission_read},
                     {"database.class.*", permission_read},
                     {"database.cluster.*", permission_read},
                     {"database.command", permission_read},
                     {"database.hook.record", permission_read},
                     {"database.function", permission_read}})},
      {"writer", mode_deny_all_but,
       rules_object({{"database", permission_read},
                     {"database.schema", permission_read},
                     {"database.cluster.internal", permission_read},
                     {"database.cluster.orole", permission_read},
                     {"database.cluster.ouser", permission_read},
                     {"database.class.ouser", permission_read},
                     {"database.class.orole", permission_read},
                     {"database.class.*", permission_all},
                     {"database.cluster.*", permission_all},
                     {"database.command", permission_all},
                     {"database.hook.record", permission_all},
                     {"database.function", permission_read}})},
  };
  for (size_t i = 0; i < roles.size(); ++i) {
    json::object f{{"name", roles[i].name}, {"mode", roles[i].mode}, {"rules", roles[i].rules}};
    ops.push_back(create_record("ORole", storage::rid{role_cluster, static_cast<int64_t>(i)}, f));
  }
  // Users name their roles by RID, as OrientDB does.
  const char* users[] = {"admin", "reader", "writer"};
  for (size_t i = 0; i < 3; ++i) {
    json::object f{{"name", users[i]},
                   {"password", hash_password(users[i])},
                   {"status", "ACTIVE"},
                   {"roles", json::array{json::string(storage::rid{role_cluster, static_cast<int64_t>(i)}.to_string())}}};
    ops.push_back(create_record("OUser", storage::rid{user_cluster, static_cast<int64_t>(i)}, f));
  }
  return ops;
}

// A target that a write names: whether it reaches OUser/ORole records.
bool target_is_security(const storage::database* db, const query::target& t) {
  using k = query::target::kind;
  if (t.k == k::klass) {
    if (db != nullptr) return is_security_class(*db, t.name);
    return ascii_iequals(t.name, user_class) || ascii_iequals(t.name, role_class);
  }
  if (t.k == k::cluster) {
    if (db == nullptr) return ascii_iequals(t.name, "ouser") || ascii_iequals(t.name, "orole");
    std::optional<storage::cluster_info> c;
    if (!t.name.empty() && std::all_of(t.name.begin(), t.name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      int32_t id = t.name.size() <= 5 ? std::stoi(t.name) : -1;
      for (auto& ci : db->clusters())
        if (ci.id == id) c = ci;
    } else {
      c = db->cluster_by_name(t.name);
    }
    if (!c) return false;
    for (auto& cls : db->classes())
      if (cls.default_cluster == c->id && is_security_class(*db, cls.name)) return true;
    return false;
  }
  if (t.k == k::rids) {
    if (db == nullptr) return false;
    for (auto& id : t.rids)
      if (auto r = db->find(id); r && is_security_class(*db, r->class_name)) return true;
    return false;
  }
  return false;
}

}  // namespace

const char* action_name(db_action a) {
  switch (a) {
    case db_action::read: return "Read";
    case db_action::create: return "Create";
    case db_action::update: return "Update";
    case db_action::remove: return "Delete";
    case db_action::schema: return "Update";
    case db_action::security: return "Update";
  }
  return "None";
}

std::optional<db_user> find_user(const storage::database& db, std::string_view name) {
  auto r = find_by_name(db, user_class, name);
  if (!r) return std::nullopt;
  auto o = parse_object(r->fields);
  if (!o) return std::nullopt;
  db_user u;
  u.name = std::string(name);
  u.password = string_field(*o, "password").value_or("");
  u.active = string_field(*o, "status").value_or("ACTIVE") == "ACTIVE";
  if (auto* roles = o->if_contains("roles"); roles && roles->is_array()) {
    for (auto& v : roles->as_array()) {
      if (!v.is_string()) continue;
      std::string_view s(v.as_string().data(), v.as_string().size());
      if (auto id = storage::rid::parse(s); id && s.starts_with('#')) {
        auto role = db.find(*id);
        if (!role || !is_security_class(db, role->class_name)) continue;  // a dangling link grants nothing
        auto ro = parse_object(role->fields);
        if (auto n = ro ? string_field(*ro, "name") : std::nullopt) u.roles.push_back(*n);
      } else {
        u.roles.emplace_back(s);
      }
    }
  }
  return u;
}

bool allows(const storage::database& db, const db_user& u, db_action a) {
  if (!u.active) return false;
  auto c = check_of(a);
  for (auto& name : u.roles)
    if (auto role = find_role(db, name); role && role_allows(*role, c)) return true;
  return false;
}

std::string denied_message(const db_user& u, db_action a) {
  return cat("User '", u.name, "' does not have permission to execute the operation '", action_name(a),
             "' against the resource: ", resource_text(a));
}

std::vector<storage::op> default_security_ops() { return security_ops(5); }

std::vector<storage::op> default_security_ops(const storage::database& db) {
  auto cl = db.clusters();
  return security_ops(cl.empty() ? 0 : cl.back().id + 1);
}

std::optional<std::string> apply_default_security(storage::database& db) {
  for (auto& r : db.apply(default_security_ops(db)))
    if (r.code != storage::errc::ok) return cat(storage::to_string(r.code), ": ", r.message);
  return std::nullopt;
}

db_action op_action(const storage::database& db, const storage::op& o) {
  using k = storage::op::kind;
  if (o.k == k::statement) {
    auto c = query::command_from_op(o);
    if (!c) return db_action::security;  // unreadable: the strictest
    auto parsed = query::parse(c->text);
    if (auto* st = std::get_if<query::statement>(&parsed)) return statement_action(db, *st);
    return db_action::security;
  }
  if (o.k != k::create && o.k != k::update && o.k != k::remove) return db_action::schema;
  if (!o.class_name.empty() && is_security_class(db, o.class_name)) return db_action::security;
  if (o.k == k::create) return db_action::create;
  // An update or remove names a RID: a record of OUser/ORole is security.
  if (auto rec = db.find(o.id); rec && is_security_class(db, rec->class_name)) return db_action::security;
  return o.k == k::update ? db_action::update : db_action::remove;
}

bool is_security_class(const storage::database& db, std::string_view class_name) {
  auto c = db.class_by_name(class_name);
  // Bounded like storage's own lineage walk: a damaged cycle cannot loop.
  for (size_t steps = 0; c && steps < 64; ++steps) {
    if (ascii_iequals(c->name, user_class) || ascii_iequals(c->name, role_class)) return true;
    if (c->superclass.empty()) return false;
    c = db.class_by_name(c->superclass);
  }
  return false;
}

namespace {

db_action action_of(const storage::database* db, const query::statement& s) {
  return std::visit(
      [&](const auto& st) -> db_action {
        using T = std::decay_t<decltype(st)>;
        if constexpr (std::is_same_v<T, query::select_stmt> || std::is_same_v<T, query::traverse_stmt> ||
                      std::is_same_v<T, query::explain_stmt>) {
          return db_action::read;
        } else if constexpr (std::is_same_v<T, query::insert_stmt>) {
          query::target cls;
          cls.name = st.class_name;
          bool sec = target_is_security(db, cls);
          if (!st.cluster.empty()) {
            query::target c;
            c.k = query::target::kind::cluster;
            c.name = st.cluster;
            sec = sec || target_is_security(db, c);
          }
          return sec ? db_action::security : db_action::create;
        } else if constexpr (std::is_same_v<T, query::create_vertex_stmt> || std::is_same_v<T, query::create_edge_stmt>) {
          return db_action::create;
        } else if constexpr (std::is_same_v<T, query::update_stmt>) {
          return target_is_security(db, st.what) ? db_action::security : db_action::update;
        } else if constexpr (std::is_same_v<T, query::delete_stmt>) {
          return target_is_security(db, st.what) ? db_action::security : db_action::remove;
        } else if constexpr (std::is_same_v<T, query::delete_vertex_stmt> || std::is_same_v<T, query::delete_edge_stmt>) {
          return db_action::remove;
        } else if constexpr (std::is_same_v<T, query::create_class_stmt> || std::is_same_v<T, query::drop_class_stmt> ||
                             std::is_same_v<T, query::create_property_stmt> ||
                             std::is_same_v<T, query::create_index_stmt> || std::is_same_v<T, query::drop_index_stmt>) {
          return db_action::schema;
        } else {
          return db_action::security;  // user statements, and whatever is added later until classified
        }
      },
      s);
}

}  // namespace

db_action statement_action(const query::statement& s) { return action_of(nullptr, s); }
db_action statement_action(const storage::database& db, const query::statement& s) { return action_of(&db, s); }

bool check_password(password_cache& cache, std::string_view db_name, const db_user& u, std::string_view candidate) {
  if (!u.active) {
    cache.verify(cat(db_name, "/", u.name), nullptr, candidate);  // the same time as a wrong password
    return false;
  }
  return cache.verify(cat(db_name, "/", u.name), &u.password, candidate);
}

}  // namespace troupe::auth
