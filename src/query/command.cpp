#include "src/query/command.hpp"

#include <boost/json.hpp>

#include "src/util/strings.hpp"

namespace troupe::query {

namespace json = boost::json;

namespace {

error_info bad(std::string what) { return error_info{"", "", std::move(what)}; }

// {"command": ..., "parameters": ...} already parsed.
result<command> from_object(const json::value& v) {
  auto* cmd = v.is_object() ? v.get_object().if_contains("command") : nullptr;
  if (cmd == nullptr || !cmd->is_string())
    return bad("the body must be the command's text or {\"command\": text, \"parameters\": ...}");
  command c;
  c.text = std::string(cmd->get_string());
  if (auto* p = v.get_object().if_contains("parameters")) {
    if (auto* a = p->if_array()) c.ps.positional.assign(a->begin(), a->end());
    else if (auto* o = p->if_object())
      for (auto& [k, val] : *o) c.ps.named.emplace(std::string(k), val);
    else if (!p->is_null()) return bad("parameters must be an array (for ?) or an object (for :name)");
  }
  return c;
}

result<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = command_json_depth_max;
  auto v = json::parse(json::string_view(text.data(), text.size()), ec, {}, opts);
  if (ec) return bad(cat("the command is not valid JSON: ", ec.message()));
  return v;
}

}  // namespace

result<command> command_from_body(std::string_view body) {
  auto t = trim(body);
  if (t.empty() || t.front() != '{') return command{std::string(body), {}};
  auto v = parse_json(body);
  if (!v) return v.error();
  return from_object(*v);
}

storage::op statement_op(const command& c) {
  json::object o;
  o["command"] = c.text;
  if (!c.ps.named.empty()) {
    json::object named;
    for (auto& [k, v] : c.ps.named) named[k] = v;
    o["parameters"] = std::move(named);
  } else if (!c.ps.positional.empty()) {
    o["parameters"] = json::array(c.ps.positional.begin(), c.ps.positional.end());
  }
  storage::op op;
  op.k = storage::op::kind::statement;
  op.fields = json::serialize(o);
  return op;
}

result<command> command_from_op(const storage::op& o) {
  if (o.k != storage::op::kind::statement) return bad("not a statement");
  auto v = parse_json(o.fields);
  if (!v) return v.error();
  return from_object(*v);
}

}  // namespace troupe::query
