#include "src/storage/index.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>

#include "src/util/strings.hpp"

namespace troupe::storage::indexing {

namespace json = boost::json;

namespace {

// OrientDB's property types that troupe checks (upper case).
constexpr std::array<std::string_view, 18> property_types = {
    "BOOLEAN",  "SHORT",    "INTEGER",  "LONG",         "FLOAT",       "DOUBLE",      "STRING",
    "DATE",     "DATETIME", "LINK",     "LINKLIST",     "LINKSET",     "LINKMAP",     "EMBEDDED",
    "EMBEDDEDLIST", "EMBEDDEDSET", "EMBEDDEDMAP", "ANY"};

// A value shown in an error message: JSON text, cut short so a huge value
// cannot make a huge message.
constexpr size_t shown_value_chars_max = 200;

bool valid_name(std::string_view s, std::string_view extra = "") {
  if (s.empty() || s.size() > name_chars_max) return false;
  return std::all_of(s.begin(), s.end(), [&](unsigned char c) {
    return std::isalnum(c) || c == '_' || extra.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string shown(const json::value& v) {
  auto s = json::serialize(v);
  if (s.size() > shown_value_chars_max) s = s.substr(0, shown_value_chars_max) + "...";
  return s;
}

// Stored fields are canonical JSON objects, so this fails only on damaged
// data (which check() reports); such a record is treated as having no fields.
json::object parse_fields(std::string_view text) {
  json::error_code ec;
  auto v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return {};
  return std::move(v.as_object());
}

// The key values of a record in index `d`; nullopt when it is not indexed.
std::optional<std::vector<json::value>> key_values(const codec::index_def& d, const json::object& fields) {
  std::vector<json::value> out;
  out.reserve(d.info.fields.size());
  bool any = false;
  for (auto& f : d.info.fields) {
    auto* v = fields.if_contains(f);
    if (v == nullptr || v->is_null()) {
      out.emplace_back(nullptr);
      continue;
    }
    if (v->is_array() || v->is_object() || (v->is_double() && std::isnan(v->get_double()))) return std::nullopt;
    out.push_back(*v);
    any = true;
  }
  if (!any) return std::nullopt;
  return out;
}

entry make_entry(const codec::index_def& d, rid id, const std::vector<json::value>& values) {
  entry e;
  e.key = codec::index_prefix(d.id);
  for (auto& v : values) {
    bool ok = codec::append_index_value(e.key, v);
    assert(ok);  // key_values keeps scalars only
    (void)ok;
  }
  if (d.info.unique)
    e.value = codec::encode_rid(id);
  else
    e.key += codec::encode_rid(id);
  return e;
}

// The entry at `key` as this batch sees it: the overlay, then disk.
std::optional<std::string> read_entry(rocksdb::DB* db, const batch_context& ctx, const std::string& key,
                                      std::optional<op_result>& err) {
  if (auto it = ctx.index_entries.find(key); it != ctx.index_entries.end()) return it->second;
  std::string v;
  auto st = db->Get(rocksdb::ReadOptions(), key, &v);
  if (st.IsNotFound()) return std::nullopt;
  if (!st.ok()) {
    err = failure(errc::io_error, "reading an index entry: " + st.ToString());
    return std::nullopt;
  }
  return v;
}

op_result duplicate(const codec::index_def& d, rid id, const std::vector<json::value>& values, std::string_view held) {
  auto other = codec::decode_rid(held);
  return failure(errc::duplicate_key,
                 cat("Cannot index record ", id.to_string(), ": found duplicated key '", key_text(values),
                     "' in index '", d.info.name, "' previously assigned to the record ",
                     other ? other->to_string() : std::string("(damaged entry)")));
}

// Calls fn(record) for every record as this batch sees it (its own writes
// merged over disk), in RID order, until fn returns false. A full scan: only
// the schema operations that must look at every record use it.
template <class Fn>
std::optional<op_result> for_each_record(rocksdb::DB* db, const batch_context& ctx, Fn fn) {
  std::string lower(1, codec::prefix_record), upper = codec::prefix_end(codec::prefix_record);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  auto mine = ctx.records.begin();
  // Emits the batch's own records before `limit` (all of them for nullopt).
  auto emit_own = [&](const std::optional<rid>& limit) {
    for (; mine != ctx.records.end() && (!limit || mine->first < *limit); ++mine)
      if (mine->second && !fn(*mine->second)) return false;
    return true;
  };
  for (it->Seek(lower); it->Valid(); it->Next()) {
    auto id = codec::parse_record_key(it->key().ToStringView());
    if (!id) continue;  // damaged: check() reports it
    if (!emit_own(id)) return std::nullopt;
    if (mine != ctx.records.end() && mine->first == *id) {
      bool go = !mine->second || fn(*mine->second);
      ++mine;
      if (!go) return std::nullopt;
      continue;
    }
    auto r = codec::decode_record(*id, it->value().ToStringView());
    if (r && !fn(*r)) return std::nullopt;
  }
  if (!it->status().ok()) return failure(errc::io_error, "reading records: " + it->status().ToString());
  emit_own(std::nullopt);
  return std::nullopt;
}

// The argument object of a schema operation.
std::optional<json::object> schema_args(const op& o, std::string& why) {
  json::error_code ec;
  auto v = json::parse(json::string_view(o.fields.data(), o.fields.size()), ec);
  if (ec || !v.is_object()) {
    why = "the operation's arguments must be a JSON object";
    return std::nullopt;
  }
  return std::move(v.as_object());
}

std::string string_arg(const json::object& args, std::string_view name) {
  auto* v = args.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::string key_text(const std::vector<json::value>& values) {
  auto one = [](const json::value& v) { return v.is_string() ? std::string(v.get_string()) : shown(v); };
  if (values.size() == 1) return one(values[0]);
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i == 0 ? "" : ", ") + one(values[i]);
  return out + "]";
}

bool valid_type(std::string_view type) {
  return std::find(property_types.begin(), property_types.end(), type) != property_types.end();
}

bool type_accepts(std::string_view t, const json::value& v) {
  auto int_in = [&](int64_t lo, int64_t hi) {
    if (v.is_int64()) return v.get_int64() >= lo && v.get_int64() <= hi;
    if (v.is_uint64()) return v.get_uint64() <= static_cast<uint64_t>(hi);
    return false;
  };
  if (t == "ANY") return true;
  if (t == "BOOLEAN") return v.is_bool();
  if (t == "SHORT") return int_in(INT16_MIN, INT16_MAX);
  if (t == "INTEGER") return int_in(INT32_MIN, INT32_MAX);
  if (t == "LONG") return int_in(INT64_MIN, INT64_MAX);
  if (t == "FLOAT" || t == "DOUBLE") return v.is_number();
  if (t == "STRING" || t == "DATE" || t == "DATETIME") return v.is_string();
  if (t == "LINK") {
    if (!v.is_string()) return false;
    auto s = v.get_string();
    return !s.empty() && s[0] == '#' && rid::parse(std::string_view(s.data(), s.size())).has_value();
  }
  if (t == "LINKLIST" || t == "LINKSET" || t == "EMBEDDEDLIST" || t == "EMBEDDEDSET") return v.is_array();
  if (t == "LINKMAP" || t == "EMBEDDEDMAP" || t == "EMBEDDED") return v.is_object();
  return false;
}

std::optional<entry> entry_for(const codec::index_def& d, rid id, const json::object& fields) {
  auto values = key_values(d, fields);
  if (!values) return std::nullopt;
  return make_entry(d, id, *values);
}

std::optional<std::string> encode_key(const std::vector<json::value>& values) {
  std::string out;
  for (auto& v : values)
    if (!codec::append_index_value(out, v)) return std::nullopt;
  return out;
}

std::optional<op_result> maintain(rocksdb::DB* db, batch_context& ctx, const record* before, const record* after,
                                  bool enforce_unique) {
  const record* any = after != nullptr ? after : before;
  if (any == nullptr) return std::nullopt;
  auto covering = ctx.next.covering_indexes(any->class_name);
  if (covering.empty()) return std::nullopt;
  json::object old_fields = before != nullptr ? parse_fields(before->fields) : json::object();
  json::object new_fields = after != nullptr ? parse_fields(after->fields) : json::object();

  struct change {
    const codec::index_def* d;
    std::optional<entry> out, in;
    std::vector<json::value> in_values;
  };
  std::vector<change> changes;
  for (auto* d : covering) {
    change c{d, {}, {}, {}};
    if (before != nullptr) c.out = entry_for(*d, before->id, old_fields);
    if (after != nullptr) {
      if (auto v = key_values(*d, new_fields)) {
        c.in = make_entry(*d, after->id, *v);
        c.in_values = std::move(*v);
      }
    }
    bool same = c.out.has_value() == c.in.has_value() &&
                (!c.out || (c.out->key == c.in->key && c.out->value == c.in->value));
    if (!same) changes.push_back(std::move(c));
  }
  // Every check before any write: a refused op leaves the batch as it was.
  if (enforce_unique) {
    for (auto& c : changes) {
      if (!c.in || !c.d->info.unique) continue;
      if (c.out && c.out->key == c.in->key) continue;  // same key, same record
      std::optional<op_result> err;
      auto held = read_entry(db, ctx, c.in->key, err);
      if (err) return err;
      if (held && *held != c.in->value) return duplicate(*c.d, after->id, c.in_values, *held);
    }
  }
  for (auto& c : changes) {
    if (c.out && !(c.in && c.in->key == c.out->key)) {
      bool mine = true;
      if (!enforce_unique && c.d->info.unique) {
        std::optional<op_result> err;
        auto held = read_entry(db, ctx, c.out->key, err);
        if (err) return err;
        mine = held && *held == c.out->value;
      }
      if (mine) ctx.set_entry(c.out->key, std::nullopt);
    }
    if (c.in) ctx.set_entry(c.in->key, c.in->value);
  }
  return std::nullopt;
}

std::optional<op_result> check_types(const meta_state& meta, const record& r) {
  auto props = meta.properties_of(r.class_name);
  if (props.empty()) return std::nullopt;
  auto fields = parse_fields(r.fields);
  for (auto* p : props) {
    auto* v = fields.if_contains(p->name);
    if (v == nullptr || v->is_null() || type_accepts(p->type, *v)) continue;
    return failure(errc::invalid_argument, cat("The field '", p->class_name, '.', p->name, "' has been declared as ",
                                               p->type, " but the value is not compatible: ", shown(*v)));
  }
  return std::nullopt;
}

op_result apply_create_index(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied) {
  std::string why;
  auto args = schema_args(o, why);
  if (!args) return failure(errc::invalid_argument, why);
  auto name = string_arg(*args, "name");
  if (!valid_name(name, ".-"))
    return failure(errc::invalid_argument,
                   cat("bad index name '", name, "' (1-", name_chars_max, " of [A-Za-z0-9_.-])"));
  auto type = upper(string_arg(*args, "type"));
  if (type != "UNIQUE" && type != "NOTUNIQUE")
    return failure(errc::invalid_argument, "index type must be UNIQUE or NOTUNIQUE, not '" + type + "'");
  auto* fv = args->if_contains("fields");
  if (fv == nullptr || !fv->is_array() || fv->as_array().empty() || fv->as_array().size() > index_fields_max)
    return failure(errc::invalid_argument, cat("an index has 1 to ", index_fields_max, " fields"));
  std::vector<std::string> fields;
  for (auto& f : fv->as_array()) {
    if (!f.is_string() || !valid_name(f.get_string()))
      return failure(errc::invalid_argument,
                     cat("bad field name ", shown(f), " (1-", name_chars_max, " of [A-Za-z0-9_])"));
    std::string s(f.get_string());
    if (std::find(fields.begin(), fields.end(), s) != fields.end())
      return failure(errc::invalid_argument, "field '" + s + "' is named twice");
    fields.push_back(std::move(s));
  }
  const class_info* cls = ctx.next.class_named(o.class_name);
  if (cls == nullptr) return failure(errc::not_found, "no class '" + o.class_name + "'");
  auto low = codec::lower(name);
  if (ctx.next.indexes.count(low) != 0) return failure(errc::already_exists, "index '" + name + "' exists");
  if (ctx.next.next_index_id > UINT32_MAX) return failure(errc::invalid_argument, "no free index id");

  codec::index_def d{static_cast<uint32_t>(ctx.next.next_index_id), index_info{name, cls->name, fields, type == "UNIQUE"}};
  // Built aside first: a duplicate found half-way leaves the batch untouched.
  std::map<std::string, std::string> built;
  std::optional<op_result> refused;
  auto err = for_each_record(db, ctx, [&](const record& r) {
    if (!ctx.next.is_a(r.class_name, cls->name)) return true;
    auto values = key_values(d, parse_fields(r.fields));
    if (!values) return true;
    auto e = make_entry(d, r.id, *values);
    auto [at, added] = built.emplace(e.key, e.value);
    if (!added) {
      refused = duplicate(d, r.id, *values, at->second);
      return false;
    }
    return true;
  });
  if (err) return *err;
  if (refused) return *refused;

  ctx.next.next_index_id += 1;
  ctx.next.indexes[low] = d;
  ctx.indexes_touched.insert(low);
  for (auto& [k, v] : built) ctx.set_entry(k, v);
  json::object canon;
  canon["name"] = name;
  json::array fa;
  for (auto& f : fields) fa.emplace_back(json::string(f));
  canon["fields"] = std::move(fa);
  canon["type"] = type;
  applied = op{op::kind::create_index, cls->name, "", rid{}, -1, json::serialize(canon)};
  op_result res;
  res.rec.class_name = cls->name;
  return res;
}

op_result apply_drop_index(batch_context& ctx, const op& o, op& applied) {
  std::string why;
  auto args = schema_args(o, why);
  if (!args) return failure(errc::invalid_argument, why);
  auto name = string_arg(*args, "name");
  auto it = ctx.next.indexes.find(codec::lower(name));
  if (it == ctx.next.indexes.end()) return failure(errc::not_found, "no index '" + name + "'");
  auto d = it->second;
  ctx.next.indexes.erase(it);
  ctx.indexes_touched.insert(codec::lower(name));
  auto prefix = codec::index_prefix(d.id);
  ctx.wb.DeleteRange(prefix, codec::prefix_successor(prefix));
  json::object canon;
  canon["name"] = d.info.name;
  applied = op{op::kind::drop_index, d.info.class_name, "", rid{}, -1, json::serialize(canon)};
  op_result res;
  res.rec.class_name = d.info.class_name;
  return res;
}

op_result apply_create_property(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied) {
  std::string why;
  auto args = schema_args(o, why);
  if (!args) return failure(errc::invalid_argument, why);
  auto name = string_arg(*args, "name");
  if (!valid_name(name))
    return failure(errc::invalid_argument, cat("bad property name '", name, "' (1-", name_chars_max, " of [A-Za-z0-9_])"));
  auto type = upper(string_arg(*args, "type"));
  if (!valid_type(type)) return failure(errc::invalid_argument, "unknown property type '" + type + "'");
  const class_info* cls = ctx.next.class_named(o.class_name);
  if (cls == nullptr) return failure(errc::not_found, "no class '" + o.class_name + "'");
  auto key = codec::property_meta_key(cls->name, name);
  if (ctx.next.properties.count(key) != 0)
    return failure(errc::already_exists, cat("property '", cls->name, '.', name, "' exists"));

  std::optional<op_result> refused;
  auto err = for_each_record(db, ctx, [&](const record& r) {
    if (!ctx.next.is_a(r.class_name, cls->name)) return true;
    auto fields = parse_fields(r.fields);
    auto* v = fields.if_contains(name);
    if (v == nullptr || v->is_null() || type_accepts(type, *v)) return true;
    refused = failure(errc::invalid_argument,
                      cat("The field '", cls->name, '.', name, "' has been declared as ", type,
                          " but the value is not compatible: ", shown(*v), " (record ", r.id.to_string(), ")"));
    return false;
  });
  if (err) return *err;
  if (refused) return *refused;

  ctx.next.properties[key] = property_info{cls->name, name, type};
  ctx.properties_touched.insert(key);
  json::object canon;
  canon["name"] = name;
  canon["type"] = type;
  applied = op{op::kind::create_property, cls->name, "", rid{}, -1, json::serialize(canon)};
  op_result res;
  res.rec.class_name = cls->name;
  return res;
}

op_result apply_drop_class(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied) {
  const class_info* found = ctx.next.class_named(o.class_name);
  if (found == nullptr) return failure(errc::not_found, "no class '" + o.class_name + "'");
  class_info cls = *found;
  auto low = codec::lower(cls.name);
  if (low == "v" || low == "e") return failure(errc::invalid_argument, "class '" + cls.name + "' cannot be dropped");
  for (auto& [l, c] : ctx.next.classes)
    if (codec::lower(c.superclass) == low)
      return failure(errc::invalid_argument,
                     "Class '" + cls.name + "' cannot be dropped because it has sub classes (" + c.name + ")");
  for (auto& [l, c] : ctx.next.classes)
    if (l != low && c.default_cluster == cls.default_cluster)
      return failure(errc::invalid_argument, "class '" + cls.name + "' shares its cluster with " + c.name);
  auto& cluster = ctx.next.clusters.at(cls.default_cluster);
  if (cluster.records > 0)
    return failure(errc::invalid_argument, cat("Class '", cls.name, "' cannot be dropped: its cluster ", cluster.name,
                                               " holds ", cluster.records, " records"));
  // Records of the class may also sit in other clusters (created at an
  // explicit RID), hence the scan.
  std::optional<rid> holds;
  auto err = for_each_record(db, ctx, [&](const record& r) {
    if (codec::lower(r.class_name) != low) return true;
    holds = r.id;
    return false;
  });
  if (err) return *err;
  if (holds)
    return failure(errc::invalid_argument,
                   "Class '" + cls.name + "' cannot be dropped: it has records (" + holds->to_string() + ")");

  int32_t cluster_id = cls.default_cluster;
  ctx.next.clusters.erase(cluster_id);
  ctx.clusters_touched.insert(cluster_id);
  ctx.next.classes.erase(low);
  ctx.classes_touched.insert(low);
  std::string from = std::string(codec::meta_property_prefix) + low + '/';
  for (auto it = ctx.next.properties.lower_bound(from); it != ctx.next.properties.end() && it->first.starts_with(from);) {
    ctx.properties_touched.insert(it->first);
    it = ctx.next.properties.erase(it);
  }
  for (auto it = ctx.next.indexes.begin(); it != ctx.next.indexes.end();) {
    if (codec::lower(it->second.info.class_name) != low) {
      ++it;
      continue;
    }
    // The class has no records, so its indexes have no entries; the range
    // delete is for certainty, not for data.
    auto prefix = codec::index_prefix(it->second.id);
    ctx.wb.DeleteRange(prefix, codec::prefix_successor(prefix));
    ctx.indexes_touched.insert(it->first);
    it = ctx.next.indexes.erase(it);
  }
  applied = op{op::kind::drop_class, cls.name, "", rid{cluster_id, -1}, -1, ""};
  op_result res;
  res.rec.id = rid{cluster_id, -1};
  res.rec.class_name = cls.name;
  return res;
}

}  // namespace troupe::storage::indexing
