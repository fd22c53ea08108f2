// What clients send as documents and batches over REST, parsed as plain code
// (no CAF, no I/O): a document body (POST/PUT /document) and OrientDB's
// POST /batch/<db> body:
//
//   {"transaction": true, "operations": [
//     {"type": "c", "record": {"@class": "City", "name": "Venice"}},
//     {"type": "u", "record": {"@rid": "#9:1", "@version": 2, "name": "Luca"}},
//     {"type": "d", "record": {"@rid": "#9:2"}},
//     {"type": "cmd", "language": "sql", "command": "update City set n = 1"}]}
//
// The document operations of one batch become ONE write (one all-or-nothing
// entry in the replication order: "transaction" false is run the same way).
// A "cmd" runs as a statement in that order too, but troupe plans a statement
// against the committed state, so a batch holds either document operations or
// one command, not both (refused with a sentence saying so). "script"
// operations are refused (troupe runs no scripts).
// Bounds: at most batch_operations_max operations, JSON nesting json_depth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "src/query/command.hpp"
#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::query {

inline constexpr size_t batch_operations_max = 4096;  // = replication::write_ops_max
inline constexpr size_t body_json_depth_max = 64;

// A document's fields (no '@' keys) and the metadata it carried.
struct doc_body {
  boost::json::object fields;
  std::optional<std::string> class_name;  // @class
  std::optional<int64_t> version;         // @version (a non-negative integer or its text)
  std::optional<std::string> rid_text;    // @rid, as written
};
result<doc_body> parse_doc_body(std::string_view body);
result<doc_body> doc_from_value(const boost::json::value& v);

struct batch {
  std::vector<storage::op> ops;  // document operations, in order
  std::optional<command> cmd;    // or one SQL command
};
result<batch> parse_batch(std::string_view body);

}  // namespace troupe::query
