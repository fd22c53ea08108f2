// How the console shows what a node answered: tables, pretty JSON, progress
// bars. Plain C++ (no CAF, no I/O): every function returns text ending in a
// newline, and the same input always gives the same text (clocks are passed in).
// Colour (ANSI bold table headers) only when `style::color` is set, which the
// console does only when standard output is a terminal.
#pragma once

#include <cstdint>
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

}  // namespace troupe::console
