// SQL at the console prompt, as OrientDB's console takes it: which lines are
// SQL statements, which of them write, and the statements offered by help and
// tab completion. Plain C++ (no CAF, no I/O), tested in
// test/console/sql_test.cpp. The node's session actor (actors/admin_actor.cpp)
// applies the same rule, so the console and the node never disagree on what
// is a read.
//
// The rule (one place: sql_statement_kind):
//   - A line is a SQL statement when its first word is one of SELECT,
//     TRAVERSE, EXPLAIN, INSERT, UPDATE, DELETE, or CREATE / DROP followed by
//     one of the schema words below (case-insensitive; leading blanks and a
//     leading '(' are not allowed: a statement starts with its keyword).
//   - Reads: SELECT, TRAVERSE and EXPLAIN. Every other statement is a write
//     (OrientDB's rule: everything but these changes something).
//   - The console's own phrases win: `create class X extends V`, `create
//     record`, `update record`, `delete record` and `create database` are
//     console commands (src/console/command.hpp) when they parse as such; a
//     line that starts like a phrase but does not parse as one (say `create
//     class X extends V cluster 12`) is taken as SQL.
//   Why by the first keyword and not by the parsed statement: the node parses
//   a write statement where it runs it (on the database's owner), and the
//   statement kinds are being added to src/query/ast.hpp one by one; the
//   keyword rule holds for every kind, parsed or not yet. Once the parser knows
//   every kind, query::is_write(statement) gives the same answer (the table in
//   the test is the check).
#pragma once

#include <chrono>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::console {

enum class sql_kind { none, read, write };

// Whether `line` is a SQL statement, and whether it writes (see the rule above).
sql_kind sql_statement_kind(std::string_view line);

// The statement's leading keywords in lower case, as OrientDB's console picks
// its message: "select", "traverse", "explain", "insert", "update", "delete"
// (DELETE FROM, DELETE VERTEX, DELETE EDGE), "create vertex", "create edge",
// "create class", "create property", "create index", "drop class", "drop index",
// "drop property"; "" when not SQL.
std::string sql_statement_verb(std::string_view line);

// One statement form for `help` and tab completion.
struct sql_form {
  std::string_view phrase;  // "create vertex"
  std::string_view usage;   // "create vertex [<class>] [set <field> = <value>, ...]"
  std::string_view help;    // one line
};
const std::vector<sql_form>& sql_forms();

// Rows the console shows of a result set when the statement has no LIMIT of
// its own (OrientDB's console property `limit`, 20 by default); it asks the
// node for one more to know whether there are more.
inline constexpr size_t sql_display_rows_default = 20;
// Rows the console asks for and shows at most, whatever the statement says.
inline constexpr size_t sql_rows_max = 1000;

// Whether the statement has a LIMIT clause of its own (then the console shows
// every row the node answers, up to sql_rows_max, as OrientDB's console does).
// Read from the statement's tokens: a "limit" inside a string does not count.
bool has_own_limit(std::string_view statement);

// "Syntax error at position 14: expected ..., found ...", then the statement
// and a caret under the byte at `position` (clamped to the text), so a person
// sees where. Control bytes in the echoed text are shown as blanks.
std::string syntax_error_text(std::string_view text, size_t position, std::string_view message);

// --- the node's side (actors/admin_actor.cpp, a console session) -----------

// Runs a read statement (REQUIRES: sql_statement_kind(text) == read) over
// `db`'s committed records, on the caller's thread, and returns the answer as
// the console expects it: {"result":[row, ...]} (rows in OrientDB's shape,
// src/query/select.hpp). At most `rows_max` rows: a statement without a LIMIT,
// or with a larger one, gets LIMIT rows_max. Errors are sentences: a syntax
// error with syntax_error_text, a statement kind not served at the console
// yet, the executor's refusals, an answer over `bytes_max` bytes.
// `timeout`: the statement's command.timeout (0: none).
result<std::string> run_read_statement(const storage::database& db, std::string_view text, size_t rows_max,
                                       size_t bytes_max, std::chrono::milliseconds timeout);

// The answer to a write statement sent to the database actor as one statement
// op (src/query/command.hpp): its op_results are the ordered operations'
// results and then one more whose rec.fields is the statement's "result"
// array (src/replication/intake.hpp); a refused statement is one failed
// result. Returns {"result":[...]}, or the first failure's message.
result<std::string> write_statement_answer(const std::vector<storage::op_result>& results);

}  // namespace troupe::console
