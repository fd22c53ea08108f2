// How the console shows what a node answered: tables, pretty JSON, progress
// bars. Plain C++ (no CAF, no I/O): every function returns text ending in a
// newline, and the same input always gives the same text (clocks are passed in).
// Colour (ANSI bold table headers) only when `style::color` is set, which the
// console does only when standard output is a terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/console/report.hpp"
#include "src/deploy/progress.hpp"
#include "src/util/result.hpp"

namespace troupe::console {

struct style {
  bool color = false;
};

// Columns padded to their widest cell, a header row and a rule; cells longer
// than cell_chars_max are cut with "...".
inline constexpr size_t cell_chars_max = 80;
std::string render_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows,
                         style st = {});

// JSON text indented by two spaces per level; text that is not JSON is returned as is.
std::string pretty_json(std::string_view text);

// "[#########...........]" for a fraction 0..1 (clamped), `width` cells inside.
std::string progress_bar(double fraction, size_t width = 20);

// "2024-05-01 12:00:00" (UTC) for milliseconds since the epoch.
std::string format_time_ms(int64_t ms_since_epoch);

std::string render_actors(const std::vector<actor_summary>& xs, style st = {});
std::string render_inspect(const actor_summary& x);
// The members table: name, status, addresses, started on, databases and their
// status, heartbeat age (from the cluster actor's detail).
std::string render_members(const cluster_report& r, style st = {});
result<std::string> render_partitions(const cluster_report& r, const std::string& db, style st = {});
result<std::string> render_config(const cluster_report& r, const std::string& db);
std::string render_deploys(const std::vector<deploy::progress>& xs, style st = {});
std::string render_replication(const std::string& db, const std::vector<replication_row>& rows, style st = {});
std::string render_cluster_status(const cluster_report& r);
std::string render_ha_status(const cluster_report& r, style st = {});
std::string render_databases(const std::vector<std::string>& names);
std::string render_info(const db_info& x, style st = {});
std::string render_record(const storage::record& r);
std::string render_browse(const std::string& cluster, const std::vector<storage::record>& xs, uint32_t limit);

// --- SQL at the prompt: OrientDB 2.2's console (its OTableFormatter and the
// messages of OConsoleDatabaseApp), read from its sources ------------------

// The columns' widths together (borders not counted) before the widest are
// narrowed by a tenth at a time, and the narrowest a column gets.
inline constexpr size_t sql_table_width_max = 150;
inline constexpr size_t sql_column_width_min = 4;
// Entries of an array value shown in a cell before "(size=N)".
inline constexpr size_t sql_cell_entries_max = 10;

// The rows of a node's SQL answer {"result":[{...}, ...]}, each a JSON
// object's text; an error names what is malformed.
result<std::vector<std::string>> parse_sql_answer(std::string_view answer);

// The table of a result set: columns #, @RID (when every row is a stored
// record), @CLASS (when some row has a class), then the fields in order of
// first appearance; the first `shown` rows; each column as wide as its widest
// value (at least sql_column_width_min), the widest narrowed when all exceed
// `width_max`, a value too long for its column cut with "...". Nothing for no
// rows. Null and absent values are blank; arrays are [a,b,...] (at most
// sql_cell_entries_max entries); line breaks in a value are shown as blanks.
std::string render_sql_table(const std::vector<std::string>& rows, size_t shown, size_t width_max = sql_table_width_max);

// The whole answer to a read: the table of at most `display_max` rows,
// "LIMIT EXCEEDED: ..." when there were more, and "N item(s) found. Query
// executed in S sec(s)." (TRAVERSE: "Traverse executed"), N counting the
// rows shown.
std::string render_result_set(std::string_view verb, const std::vector<std::string>& rows, size_t display_max,
                              double seconds, size_t width_max = sql_table_width_max);

// The message for a write statement's answer, by its verb
// (src/console/sql.hpp: sql_statement_verb): "Created vertex 'V#9:0{node:1} v1'
// in 0.003000 sec(s).", "Inserted record '...'", "Updated record(s) '3'",
// "Delete record(s) '2'", "Class created successfully. Total classes in
// database now: N." (`classes_now`: the count after it, when known), ...
std::string render_write_answer(std::string_view verb, const std::vector<std::string>& rows, double seconds,
                                std::optional<size_t> classes_now = std::nullopt);

// A record as OrientDB's ODocument.toString() shows it: Class#9:0{a:1,b:x} v1
// (arrays and objects as [size]); a projection row without a RID: {a:1}.
std::string document_text(std::string_view row_json);

// Elapsed seconds as OrientDB's console prints them: Java's float text for
// queries ("0.012", "0.0", "1.5"), "%f" for writes ("0.003000").
std::string seconds_short(double seconds);
std::string seconds_fixed(double seconds);

}  // namespace troupe::console
