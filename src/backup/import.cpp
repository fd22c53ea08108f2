#include "src/backup/import.hpp"

#include <algorithm>
#include <cctype>
#include <boost/json.hpp>
#include <map>
#include <set>
#include <unordered_map>

#include "src/backup/export.hpp"
#include "src/util/ascii.hpp"
#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace troupe::backup {

namespace {

// --- the top-level scanner ----------------------------------------------------
// Finds where each value ends without building it: strings (with escapes)
// and brackets are followed, everything else is a scalar up to a delimiter.
// The pieces are parsed by Boost.JSON afterwards, which checks them fully.
struct scanner {
  std::string_view s;
  size_t i = 0;

  void ws() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
  }
  error_info err(std::string what) const { return error_info{"", cat("offset ", i), std::move(what)}; }
  bool eat(char c) {
    ws();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  result<std::string_view> string_span() {
    size_t start = i;
    if (i >= s.size() || s[i] != '"') return err("a string was expected");
    ++i;
    while (i < s.size()) {
      char c = s[i++];
      if (c == '\\') {
        if (i >= s.size()) break;
        ++i;
      } else if (c == '"') {
        return s.substr(start, i - start);
      }
    }
    return err("a string does not end");
  }
  result<std::string_view> value_span() {
    ws();
    size_t start = i;
    if (i >= s.size()) return err("the text ends where a value was expected");
    char c = s[i];
    if (c == '"') return string_span();
    if (c == '{' || c == '[') {
      std::string stack;
      while (i < s.size()) {
        char d = s[i];
        if (d == '"') {
          if (auto r = string_span(); !r) return r;
          continue;
        }
        ++i;
        if (d == '{' || d == '[') {
          if (stack.size() >= import_depth_max) return err(cat("JSON nests deeper than ", import_depth_max));
          stack.push_back(d == '{' ? '}' : ']');
        } else if (d == '}' || d == ']') {
          if (stack.empty() || stack.back() != d) return err(cat("an unexpected '", d, "'"));
          stack.pop_back();
          if (stack.empty()) return s.substr(start, i - start);
        }
      }
      return err("the text ends inside an object or array");
    }
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' && s[i] != '\n' && s[i] != '\r' &&
           s[i] != '\t')
      ++i;
    if (i == start) return err(cat("an unexpected '", c, "'"));
    return s.substr(start, i - start);
  }
};

result<json::value> parse_piece(std::string_view text, std::string_view where) {
  json::error_code ec;
  json::parse_options po;
  po.max_depth = import_depth_max;
  auto v = json::parse(json::string_view(text.data(), text.size()), ec, {}, po);
  if (ec) return error_info{"", std::string(where), cat("not valid JSON: ", ec.message())};
  return v;
}

const std::set<std::string> system_classes = {"ouser",     "orole",      "oidentity",  "ofunction", "osequence",
                                              "oschedule", "otriggered", "orestricted", "oshape"};
const std::set<std::string> skipped_clusters = {"internal", "index", "manindex"};
const std::set<std::string> property_types = {"BOOLEAN",  "INTEGER",  "SHORT",        "LONG",        "FLOAT",
                                              "DOUBLE",   "STRING",   "DATE",         "DATETIME",    "LINK",
                                              "LINKLIST", "LINKSET",  "LINKMAP",      "EMBEDDED",    "EMBEDDEDLIST",
                                              "EMBEDDEDSET", "EMBEDDEDMAP", "ANY"};

std::string upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

bool plain_field(std::string_view f) {
  return !f.empty() && f.size() <= 128 &&
         std::all_of(f.begin(), f.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

std::optional<int64_t> int_of(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= INT64_MAX) return static_cast<int64_t>(v->as_uint64());
  return std::nullopt;
}

std::string str_of(const json::value* v) { return v && v->is_string() ? std::string(v->as_string()) : std::string(); }

uint64_t rid_key(storage::rid r) { return (static_cast<uint64_t>(r.cluster) << 48) ^ static_cast<uint64_t>(r.position); }

struct exported_class {
  std::string name, superclass;
  int64_t default_cluster = INT64_MAX;
  std::vector<std::pair<std::string, std::string>> properties;  // name, type
};

struct loader {
  storage::database& db;
  import_summary sum;
  std::vector<storage::op> batch;
  std::vector<std::string> what;  // per op in the batch: what it loads, for the error

  void note(std::string n) {
    if (sum.notes.size() < import_notes_max) sum.notes.push_back(std::move(n));
  }
  status flush() {
    if (batch.empty()) return ok_status();
    auto res = db.apply(batch);
    for (size_t i = 0; i < res.size(); ++i)
      if (res[i].code != storage::errc::ok)
        return error_info{"", what[i], cat(storage::to_string(res[i].code), ": ", res[i].message)};
    batch.clear();
    what.clear();
    return ok_status();
  }
  status add(storage::op o, std::string w) {
    batch.push_back(std::move(o));
    what.push_back(std::move(w));
    if (batch.size() >= import_batch_ops) return flush();
    return ok_status();
  }
};

// Rewrites links ("#c:p" strings) in `v`, nested.
template <class F>
void remap_links(json::value& v, const F& map) {
  if (v.is_string()) {
    auto& s = v.as_string();
    if (s.size() < 4 || s[0] != '#') return;
    auto r = storage::rid::parse(std::string_view(s.data(), s.size()));
    if (!r) return;
    if (auto to = map(*r)) v = json::string(to->to_string());
  } else if (v.is_array()) {
    for (auto& e : v.as_array()) remap_links(e, map);
  } else if (v.is_object()) {
    for (auto& kv : v.as_object()) remap_links(kv.value(), map);
  }
}

}  // namespace

result<export_sections> split_export(std::string_view text) {
  export_sections out;
  scanner sc{text};
  if (!sc.eat('{')) return sc.err("an export is a JSON object: '{' was expected");
  std::set<std::string> seen;
  if (!sc.eat('}')) {
    for (;;) {
      sc.ws();
      auto key_span = sc.string_span();
      if (!key_span) return key_span.error();
      auto key = parse_piece(*key_span, cat("offset ", sc.i));
      if (!key || !key->is_string()) return sc.err("a bad key");
      std::string k(key->as_string());
      if (!seen.insert(k).second) return sc.err(cat("the section \"", k, "\" appears twice"));
      if (!sc.eat(':')) return sc.err("':' was expected");
      sc.ws();
      if (k == "records") {
        if (!sc.eat('[')) return sc.err("\"records\" must be an array");
        if (!sc.eat(']')) {
          for (;;) {
            auto r = sc.value_span();
            if (!r) return error_info{"", cat("$.records[", out.records.size(), "] ", r.error().where), r.error().what};
            if (r->empty() || (*r)[0] != '{') return sc.err(cat("$.records[", out.records.size(), "] is not an object"));
            out.records.push_back(*r);
            if (sc.eat(',')) continue;
            if (sc.eat(']')) break;
            return sc.err("',' or ']' was expected in \"records\"");
          }
        }
      } else {
        auto v = sc.value_span();
        if (!v) return v.error();
        if (k == "info") {
          auto iv = parse_piece(*v, "$.info");
          if (!iv) return iv.error();
          if (!iv->is_object()) return error_info{"", "$.info", "not an object"};
          out.name = str_of(iv->as_object().if_contains("name"));
        } else if (k == "clusters") {
          out.clusters = *v;
        } else if (k == "schema") {
          out.schema = *v;
        } else if (k == "indexes") {
          out.indexes = *v;
        }
      }
      if (sc.eat(',')) continue;
      if (sc.eat('}')) break;
      return sc.err("',' or '}' was expected");
    }
  }
  sc.ws();
  if (sc.i != text.size()) return sc.err("text follows the export's closing '}'");
  if (!seen.count("records") && !seen.count("schema"))
    return error_info{"", "$", "neither \"schema\" nor \"records\": not an OrientDB/troupe export"};
  return out;
}

result<std::string> export_text(std::string data, size_t bytes_max) {
  if (data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b)
    return gunzip(data, bytes_max);
  if (data.size() > bytes_max)
    return error_info{"", "", cat("the export is ", data.size(), " bytes, over the ", bytes_max, " allowed")};
  return data;
}

result<std::string> read_export_file(const fs::path& file) {
  std::error_code ec;
  auto size = fs::file_size(file, ec);
  if (ec) return error_info{file.string(), "", cat("cannot read: ", ec.message())};
  // A gzip file may inflate to more than its size: export_text bounds that.
  if (size > import_bytes_max)
    return error_info{file.string(), "", cat("the export is ", size, " bytes, over the ", import_bytes_max, " allowed")};
  auto data = read_file(file);
  if (!data) return data.error();
  auto t = export_text(std::move(*data));
  if (!t) return error_info{file.string(), t.error().where, t.error().what};
  return t;
}

result<import_summary> import_export(std::string_view text, storage::database& db) {
  // New: V, E and at most the default security classes and their records.
  for (auto& c : db.classes())
    if (!system_classes.count(ascii_lower(c.name)) && ascii_lower(c.name) != "v" && ascii_lower(c.name) != "e")
      return error_info{db.dir().string(), "", "an export is imported into a new, empty database only"};
  for (auto& c : db.clusters())
    if (c.records > 0 && !system_classes.count(c.name))
      return error_info{db.dir().string(), "", "an export is imported into a new, empty database only"};
  auto sections = split_export(text);
  if (!sections) return sections.error();
  auto& sec = *sections;
  loader L{db, {}, {}, {}};
  L.sum.exported_name = sec.name;

  // Clusters: exported id -> name.
  std::map<int64_t, std::string> cluster_names;
  if (!sec.clusters.empty()) {
    auto v = parse_piece(sec.clusters, "$.clusters");
    if (!v) return v.error();
    if (!v->is_array()) return error_info{"", "$.clusters", "not an array"};
    if (v->as_array().size() > import_schema_items_max)
      return error_info{"", "$.clusters", cat("more than ", import_schema_items_max, " clusters")};
    size_t n = 0;
    for (auto& c : v->as_array()) {
      auto where = cat("$.clusters[", n++, "]");
      if (!c.is_object()) return error_info{"", where, "not an object"};
      auto id = int_of(c.as_object().if_contains("id"));
      auto name = str_of(c.as_object().if_contains("name"));
      if (!id || name.empty()) return error_info{"", where, "a cluster needs \"name\" and \"id\""};
      cluster_names[*id] = ascii_lower(name);
    }
  }

  // Classes.
  std::vector<exported_class> classes;
  if (!sec.schema.empty()) {
    auto v = parse_piece(sec.schema, "$.schema");
    if (!v) return v.error();
    if (!v->is_object()) return error_info{"", "$.schema", "not an object"};
    if (auto* cl = v->as_object().if_contains("classes")) {
      if (!cl->is_array()) return error_info{"", "$.schema.classes", "not an array"};
      if (cl->as_array().size() > import_schema_items_max)
        return error_info{"", "$.schema.classes", cat("more than ", import_schema_items_max, " classes")};
      size_t n = 0;
      for (auto& c : cl->as_array()) {
        auto where = cat("$.schema.classes[", n++, "]");
        if (!c.is_object()) return error_info{"", where, "not an object"};
        auto& o = c.as_object();
        exported_class ec;
        ec.name = str_of(o.if_contains("name"));
        if (ec.name.empty()) return error_info{"", where, "a class needs a \"name\""};
        if (auto d = int_of(o.if_contains("default-cluster-id"))) ec.default_cluster = *d;
        if (auto* sc = o.if_contains("super-classes"); sc && sc->is_array() && !sc->as_array().empty()) {
          ec.superclass = str_of(&sc->as_array()[0]);
          if (sc->as_array().size() > 1)
            L.note(cat("class ", ec.name, ": only the first of its ", sc->as_array().size(), " superclasses (",
                       ec.superclass, ") is kept"));
        } else {
          ec.superclass = str_of(o.if_contains("super-class"));
        }
        if (auto* ps = o.if_contains("properties")) {
          if (!ps->is_array()) return error_info{"", where + ".properties", "not an array"};
          for (auto& p : ps->as_array()) {
            if (!p.is_object()) return error_info{"", where + ".properties", "a property is not an object"};
            auto pn = str_of(p.as_object().if_contains("name"));
            auto pt = upper(str_of(p.as_object().if_contains("type")));
            if (pn.empty() || pt.empty()) return error_info{"", where + ".properties", "a property needs name and type"};
            ec.properties.emplace_back(pn, pt);
          }
        }
        classes.push_back(std::move(ec));
      }
    }
  }
  // Creation order: by exported default cluster id, each after its superclass.
  std::stable_sort(classes.begin(), classes.end(),
                   [](auto& a, auto& b) { return a.default_cluster < b.default_cluster; });
  std::set<std::string> known = {"v", "e"}, skipped;
  std::vector<const exported_class*> order;
  {
    std::vector<const exported_class*> pending;
    for (auto& c : classes) pending.push_back(&c);
    std::set<std::string> names;
    for (auto& c : classes) names.insert(ascii_lower(c.name));
    while (!pending.empty()) {
      std::vector<const exported_class*> later;
      for (auto* c : pending) {
        auto lname = ascii_lower(c->name), lsuper = ascii_lower(c->superclass);
        if (system_classes.count(lname) || (!lsuper.empty() && skipped.count(lsuper))) {
          skipped.insert(lname);
        } else if (lsuper.empty() || known.count(lsuper) || !names.count(lsuper)) {
          known.insert(lname);
          order.push_back(c);
        } else {
          later.push_back(c);
        }
      }
      if (later.size() == pending.size())
        return error_info{"", "$.schema.classes", cat("class ", later[0]->name, " is in a superclass cycle")};
      pending = std::move(later);
    }
  }
  if (!skipped.empty()) L.note(cat(skipped.size(), " OrientDB system classes skipped (OUser, ORole, ...)"));
  for (auto* c : order) {
    auto lname = ascii_lower(c->name);
    if (lname == "v" || lname == "e") continue;
    storage::op o;
    o.k = storage::op::kind::create_class;
    o.class_name = c->name;
    o.superclass = c->superclass;
    if (auto s = L.add(std::move(o), cat("class ", c->name)); !s) return s.error();
    ++L.sum.classes;
  }
  for (auto* c : order)
    for (auto& [pn, pt] : c->properties) {
      if (!property_types.count(pt)) {
        L.note(cat("property ", c->name, ".", pn, " of type ", pt, " skipped (troupe has no such type)"));
        continue;
      }
      storage::op o;
      o.k = storage::op::kind::create_property;
      o.class_name = c->name;
      json::object f;
      f["name"] = pn;
      f["type"] = pt;
      o.fields = json::serialize(f);
      if (auto s = L.add(std::move(o), cat("property ", c->name, ".", pn)); !s) return s.error();
      ++L.sum.properties;
    }
  if (auto s = L.flush(); !s) return s.error();

  // Records, pass 1: where each goes. Exported cluster id -> cluster here (by name).
  std::map<int64_t, int32_t> cluster_map;
  for (auto& [id, name] : cluster_names)
    if (auto c = db.cluster_by_name(name)) cluster_map[id] = c->id;
  struct placed {
    bool skip = false;
    std::string class_name;
    std::optional<storage::rid> old_rid;
    storage::rid target;  // cluster set; position -1 = moved, assigned below
  };
  std::vector<placed> plan(sec.records.size());
  std::map<int32_t, int64_t> next_free;  // per target cluster: past the kept positions
  std::unordered_map<uint64_t, storage::rid> moved;
  uint64_t no_class = 0, blobs = 0, internal = 0;
  for (size_t n = 0; n < sec.records.size(); ++n) {
    auto where = cat("$.records[", n, "]");
    auto v = parse_piece(sec.records[n], where);
    if (!v) return v.error();
    auto& o = v->as_object();
    auto& p = plan[n];
    auto type = str_of(o.if_contains("@type"));
    auto rs = str_of(o.if_contains("@rid"));
    if (!rs.empty()) {
      p.old_rid = storage::rid::parse(rs);
      if (!p.old_rid || p.old_rid->position >= INT64_MAX / 2)
        return error_info{"", where, cat("a bad @rid \"", rs, "\"")};
    }
    p.class_name = str_of(o.if_contains("@class"));
    if (p.old_rid && cluster_names.count(p.old_rid->cluster) && skipped_clusters.count(cluster_names[p.old_rid->cluster])) {
      p.skip = true;
      ++internal;
      continue;
    }
    if (!type.empty() && type != "d") {
      p.skip = true;
      ++blobs;
      continue;
    }
    if (p.class_name.empty()) {
      p.skip = true;
      ++no_class;
      continue;
    }
    if (skipped.count(ascii_lower(p.class_name))) {
      p.skip = true;
      continue;
    }
    auto cls = db.class_by_name(p.class_name);
    if (!cls) return error_info{"", where, cat("class ", p.class_name, " is not in the export's schema")};
    p.target = {cls->default_cluster, -1};
    if (p.old_rid) {
      auto m = cluster_map.find(p.old_rid->cluster);
      if (m != cluster_map.end() && m->second == cls->default_cluster) {
        p.target.position = p.old_rid->position;
        auto& nf = next_free[cls->default_cluster];
        nf = std::max(nf, p.old_rid->position + 1);
      }
    }
  }
  for (auto& p : plan) {
    if (p.skip || p.target.position >= 0) continue;
    p.target.position = next_free[p.target.cluster]++;
    if (p.old_rid) moved[rid_key(*p.old_rid)] = p.target;
    ++L.sum.records_moved;
  }
  L.sum.records_skipped = 0;
  for (auto& p : plan) L.sum.records_skipped += p.skip ? 1 : 0;
  if (internal) L.note(cat(internal, " records of the internal/index/manindex clusters skipped"));
  if (blobs) L.note(cat(blobs, " blob records skipped"));
  if (no_class) L.note(cat(no_class, " records without a class skipped"));
  if (L.sum.records_moved) L.note(cat(L.sum.records_moved, " records moved to their class's cluster (new RIDs, links follow)"));

  auto map_link = [&](storage::rid r) -> std::optional<storage::rid> {
    if (auto m = moved.find(rid_key(r)); m != moved.end()) return m->second;
    if (auto c = cluster_map.find(r.cluster); c != cluster_map.end() && c->second != r.cluster)
      return storage::rid{c->second, r.position};
    return std::nullopt;
  };
  // Pass 2: the records.
  for (size_t n = 0; n < sec.records.size(); ++n) {
    auto& p = plan[n];
    if (p.skip) continue;
    auto v = parse_piece(sec.records[n], "");
    auto& o = v->as_object();
    json::object fields;
    for (auto& kv : o)
      if (kv.key().empty() || kv.key()[0] != '@') fields.emplace(kv.key(), kv.value());
    json::value fv(std::move(fields));
    remap_links(fv, map_link);
    storage::op op;
    op.k = storage::op::kind::create;
    op.class_name = p.class_name;
    op.id = p.target;
    op.fields = json::serialize(fv);
    auto what = cat("$.records[", n, "] (", p.old_rid ? p.old_rid->to_string() : std::string("no @rid"), ")");
    if (auto s = L.add(std::move(op), std::move(what)); !s) return s.error();
    ++L.sum.records;
  }
  if (auto s = L.flush(); !s) return s.error();

  // Indexes.
  if (!sec.indexes.empty()) {
    auto v = parse_piece(sec.indexes, "$.indexes");
    if (!v) return v.error();
    if (!v->is_array()) return error_info{"", "$.indexes", "not an array"};
    if (v->as_array().size() > import_schema_items_max)
      return error_info{"", "$.indexes", cat("more than ", import_schema_items_max, " indexes")};
    size_t n = 0;
    for (auto& ix : v->as_array()) {
      auto where = cat("$.indexes[", n++, "]");
      if (!ix.is_object()) return error_info{"", where, "not an object"};
      auto& o = ix.as_object();
      auto name = str_of(o.if_contains("name"));
      auto type = upper(str_of(o.if_contains("type")));
      if (name.empty()) return error_info{"", where, "an index needs a \"name\""};
      bool unique = type == "UNIQUE" || type == "UNIQUE_HASH_INDEX";
      bool notunique = type == "NOTUNIQUE" || type == "NOTUNIQUE_HASH_INDEX";
      auto* def = o.if_contains("definition");
      const json::object* stream = nullptr;
      if (def && def->is_object())
        if (auto* s = def->as_object().if_contains("stream"); s && s->is_object()) stream = &s->as_object();
      if (!unique && !notunique) {
        L.note(cat("index ", name, " of type ", type, " skipped (troupe has UNIQUE and NOTUNIQUE)"));
        continue;
      }
      if (stream == nullptr) {
        L.note(cat("index ", name, " skipped (a manual index: no definition)"));
        continue;
      }
      auto cls = str_of(stream->if_contains("className"));
      std::vector<std::string> fields;
      if (auto* f = stream->if_contains("field")) fields.push_back(str_of(f));
      if (auto* ds = stream->if_contains("indexDefinitions"); ds && ds->is_array())
        for (auto& d : ds->as_array())
          if (d.is_object()) fields.push_back(str_of(d.as_object().if_contains("field")));
      if (cls.empty() || fields.empty()) return error_info{"", where, "the definition names no class or field"};
      if (skipped.count(ascii_lower(cls))) continue;
      if (!std::all_of(fields.begin(), fields.end(), plain_field)) {
        L.note(cat("index ", name, " skipped (a field that is not a plain name, e.g. a map key index)"));
        continue;
      }
      storage::op op;
      op.k = storage::op::kind::create_index;
      op.class_name = cls;
      json::object f;
      f["name"] = name;
      json::array fa;
      for (auto& x : fields) fa.emplace_back(json::string(x));
      f["fields"] = std::move(fa);
      f["type"] = unique ? "UNIQUE" : "NOTUNIQUE";
      op.fields = json::serialize(f);
      // One index per batch: each scans the records.
      if (auto s = L.add(std::move(op), cat("index ", name)); !s) return s.error();
      if (auto s = L.flush(); !s) return s.error();
      ++L.sum.indexes;
    }
  }
  return L.sum;
}

}  // namespace troupe::backup
