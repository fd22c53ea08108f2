#include "src/query/batch.hpp"

#include "src/util/ascii.hpp"
#include "src/util/strings.hpp"

namespace troupe::query {

namespace json = boost::json;

namespace {

error_info bad(std::string what) { return error_info{"", "", std::move(what)}; }

result<json::value> parse_json(std::string_view text, std::string_view what) {
  if (trim(text).empty()) return bad(cat("the request body is empty: ", what, " is required"));
  json::parse_options opts;
  opts.max_depth = body_json_depth_max;
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return bad(cat("the request body is not valid JSON: ", ec.message()));
  return v;
}

std::optional<int64_t> non_negative(const json::value& v) {
  if (v.is_int64() && v.get_int64() >= 0) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) return static_cast<int64_t>(v.get_uint64());
  if (v.is_string()) return parse_int(std::string_view(v.get_string()), 0, INT64_MAX);
  return std::nullopt;
}

// One document operation of a batch ("c", "u" or "d"), or why not.
result<storage::op> document_op(std::string_view type, const json::object& o, size_t i) {
  auto where = [i](std::string_view what) { return bad(cat("operation ", i, ": ", what)); };
  auto* rec = o.if_contains("record");
  if (rec == nullptr || !rec->is_object()) return where("\"record\" must be a JSON object");
  auto d = doc_from_value(*rec);
  if (!d) return where(d.error().what);
  storage::op op;
  if (type == "c") {
    if (!d->class_name || d->class_name->empty()) return where("the record to create has no @class");
    op.k = storage::op::kind::create;
    op.class_name = *d->class_name;
    op.fields = json::serialize(d->fields);
    return op;
  }
  if (!d->rid_text) return where("the record has no @rid");
  auto id = storage::rid::parse(*d->rid_text);
  if (!id) return where(cat("invalid record id '", *d->rid_text, "': expected #<cluster>:<position>"));
  op.id = *id;
  op.expected_version = d->version.value_or(-1);
  if (type == "u") {
    op.k = storage::op::kind::update;
    op.fields = json::serialize(d->fields);
  } else {
    op.k = storage::op::kind::remove;
  }
  return op;
}

}  // namespace

result<doc_body> doc_from_value(const json::value& v) {
  if (!v.is_object()) return bad("the request body must be a JSON object");
  doc_body out;
  for (auto& [k, val] : v.get_object()) {
    std::string_view key = k;
    if (key.empty() || key.front() != '@') {
      out.fields.emplace(key, val);
      continue;
    }
    if (key == "@class") {
      if (!val.is_string()) return bad("@class must be a string");
      out.class_name = std::string(val.get_string());
    } else if (key == "@version") {
      out.version = non_negative(val);
      if (!out.version) return bad("@version must be a non-negative integer");
    } else if (key == "@rid") {
      if (!val.is_string()) return bad("@rid must be a string like \"#9:0\"");
      out.rid_text = std::string(val.get_string());
    }
    // Other metadata (@type, @fieldTypes, ...) describes the JSON, not the record.
  }
  return out;
}

result<doc_body> parse_doc_body(std::string_view body) {
  auto v = parse_json(body, "a JSON document");
  if (!v) return v.error();
  return doc_from_value(*v);
}

result<batch> parse_batch(std::string_view body) {
  auto v = parse_json(body, "{\"operations\": [...]}");
  if (!v) return v.error();
  auto* top = v->if_object();
  if (top == nullptr) return bad("the request body must be a JSON object with \"operations\"");
  if (auto* t = top->if_contains("transaction"); t != nullptr && !t->is_bool())
    return bad("\"transaction\" must be true or false");
  auto* ops = top->if_contains("operations");
  if (ops == nullptr || !ops->is_array()) return bad("\"operations\" must be an array");
  auto& list = ops->get_array();
  if (list.empty()) return bad("\"operations\" is empty");
  if (list.size() > batch_operations_max)
    return bad(cat("a batch holds ", list.size(), " operations, more than ", batch_operations_max));
  batch out;
  for (size_t i = 0; i < list.size(); ++i) {
    auto* o = list[i].if_object();
    if (o == nullptr) return bad(cat("operation ", i, ": must be a JSON object"));
    auto* type = o->if_contains("type");
    if (type == nullptr || !type->is_string()) return bad(cat("operation ", i, ": \"type\" must be a string"));
    std::string_view t = type->get_string();
    if (t == "c" || t == "u" || t == "d") {
      auto op = document_op(t, *o, i);
      if (!op) return op.error();
      out.ops.push_back(std::move(*op));
    } else if (t == "cmd") {
      auto* lang = o->if_contains("language");
      if (lang != nullptr && (!lang->is_string() || !ascii_iequals(lang->get_string(), "sql")))
        return bad(cat("operation ", i, ": only the language \"sql\" is supported"));
      auto c = command_from_value(*o);
      if (!c) return bad(cat("operation ", i, ": ", c.error().what));
      if (out.cmd) return bad("a batch holds at most one command");
      out.cmd = std::move(*c);
    } else if (t == "script") {
      return bad(cat("operation ", i, ": scripts are not supported: troupe runs SQL commands only"));
    } else {
      return bad(cat("operation ", i, ": unknown type '", t, "' (expected c, u, d or cmd)"));
    }
  }
  if (out.cmd && !out.ops.empty())
    return bad("a batch holds either document operations or one command, not both: send the command on its own "
               "(troupe plans a command against the committed state, so it could not see the batch's documents)");
  return out;
}

}  // namespace troupe::query
