// A SQL command as clients send it (OrientDB's REST /command body, the
// console's line, a /batch "cmd" operation), and the write statement that
// carries one to the database's owner. Plain C++ (no CAF, no I/O).
//
// A write statement travels as one storage::op of kind statement whose fields
// are {"command": text, "parameters": [..] | {..}} (storage/database.hpp):
// the owner parses it again where it runs it (src/replication/intake.hpp), so
// the text is the only form that crosses the network, and the parameters are
// bound there as values, never spliced into the text.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "src/query/select.hpp"
#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::query {

inline constexpr size_t command_json_depth_max = 64;

struct command {
  std::string text;
  params ps;
};

// A /command body: the statement's text as it is, or (starting with '{')
// {"command": text, "parameters": [values for ?] | {name: value for :name}}.
// The error is a sentence for the client.
result<command> command_from_body(std::string_view body);
// The same from an already parsed {"command", "parameters"} object.
result<command> command_from_value(const boost::json::value& v);

// The statement op carrying `c`, and back (the error names what is wrong).
storage::op statement_op(const command& c);
result<command> command_from_op(const storage::op& o);

// A write statement planned by the database's owner (src/query/write.hpp):
// the operations to order as one all-or-nothing entry and the answer, or the
// storage error code that says why it is refused (duplicate_key for a UNIQUE
// index's refusal, already_exists for a class or index that exists,
// not_found for what the statement names and the database lacks,
// invalid_argument for the rest: syntax, types, bounds) with the message.
struct planned_statement {
  std::vector<storage::op> ops;
  std::string answer;
  storage::errc code = storage::errc::ok;
  std::string message;
};
// `timeout`: the statement's command.timeout (0: none); past it, planning
// stops and the statement is refused (invalid_argument), nothing ordered.
planned_statement plan_statement(const storage::database& db, const storage::op& statement, size_t ops_max,
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(0));

}  // namespace troupe::query
