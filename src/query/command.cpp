#include "src/query/command.hpp"

#include <algorithm>

#include <boost/json.hpp>

#include "src/query/parser.hpp"
#include "src/query/write.hpp"
#include "src/util/strings.hpp"

namespace troupe::query {

namespace json = boost::json;

namespace {

error_info bad(std::string what) { return error_info{"", "", std::move(what)}; }

}  // namespace

result<command> command_from_value(const json::value& v) {
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

namespace {

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
  return command_from_value(*v);
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
  return command_from_value(*v);
}

planned_statement plan_statement(const storage::database& db, const storage::op& statement, size_t ops_max,
                                 std::chrono::milliseconds timeout) {
  planned_statement out;
  auto c = command_from_op(statement);
  if (!c) {
    out.code = storage::errc::invalid_argument;
    out.message = c.error().what;
    return out;
  }
  write_limits limits;
  limits.ops_max = std::min(ops_max, limits.ops_max);
  if (timeout.count() > 0) limits.scan.deadline = std::chrono::steady_clock::now() + timeout;
  auto r = plan_sql(db, c->text, c->ps, limits);
  if (auto* plan = std::get_if<write_plan>(&r)) {
    out.ops = std::move(plan->ops);
    out.answer = std::move(plan->answer);
    return out;
  }
  auto& e = std::get<write_error>(r);
  out.message = e.message;
  switch (e.kind) {
    case write_error_kind::not_found: out.code = storage::errc::not_found; break;
    case write_error_kind::duplicate:
      // A UNIQUE index's refusal, or a class or index that exists.
      out.code = e.message.find("found duplicated key") != std::string::npos ? storage::errc::duplicate_key
                                                                             : storage::errc::already_exists;
      break;
    default: out.code = storage::errc::invalid_argument; break;
  }
  return out;
}

}  // namespace troupe::query
