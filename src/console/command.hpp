// The console's command language: parsing one line into a command, the
// nearest known command for a typo, and tab completion. Plain C++ (no CAF, no
// I/O), tested with a table of bad inputs in test/console/command_test.cpp.
//
// Commands are OrientDB console phrases ("list databases", "load record #9:0");
// keywords are case-insensitive, arguments are split at blanks and may be
// quoted with "..." or '...'. The JSON of `create record` / `update record` is
// the rest of the line, taken as written.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::console {

inline constexpr uint16_t default_port = 2424;     // OrientDB's binary port
inline constexpr uint32_t default_browse_limit = 20;
// Records one browse may ask for: the console refuses more before sending,
// and the node's admin actor refuses more from any client.
inline constexpr uint32_t console_browse_records_max = 1000;
inline constexpr size_t line_bytes_max = 1024 * 1024;
// `import database` sends the file whole in one message: the console port
// takes messages of at most 16 MiB (actors/node.cpp), less what the message
// itself needs around the bytes.
inline constexpr size_t import_file_bytes_max = (16u << 20) - (64u << 10);

// remote:<host>[:<port>][/<db>]
struct remote_url {
  std::string host;
  uint16_t port = default_port;
  std::string db;  // "" when none
};
result<remote_url> parse_url(std::string_view text);

enum class verb {
  connect, disconnect, use,
  actors, inspect, members, partitions, config, deploys, replication, cluster_status, ha_status,
  list_databases, create_database, info,
  backup_database, restore_database, export_database, import_database, drop_database, load_record, create_record, update_record, delete_record,
  browse_cluster, create_class,
  help, exit,
};

struct command {
  verb v = verb::help;
  std::vector<std::string> args;  // positional arguments after the phrase
  remote_url url;                 // connect
  storage::rid rid;               // load/update/delete record
  std::string json;               // create/update record: a JSON object's text
  uint32_t limit = default_browse_limit;  // browse cluster
  std::string superclass;         // create class ... extends X
};

struct command_spec {
  std::string_view phrase;  // "list databases"
  std::string_view usage;   // "list databases"
  std::string_view help;    // one line
  verb v;
};
const std::vector<command_spec>& commands();

// Splits at blanks, honouring quotes. Error on an unterminated quote.
result<std::vector<std::string>> tokenize(std::string_view line);

// True for lines a script may hold that are not commands: blank, "#..." or "--...".
bool is_blank_or_comment(std::string_view line);

// Parses one line (REQUIRES: !is_blank_or_comment(line)). Errors are sentences
// for a person: unknown command (with the nearest known one suggested), wrong
// number of arguments (with the usage), a malformed URL, RID, limit or JSON.
result<command> parse_command(std::string_view line);

// The known command phrase nearest to the start of `line` (edit distance), ""
// when nothing is close enough.
std::string nearest_command(std::string_view line);

// Completions for the word being typed at the end of `line` (full words): the
// console phrases and the SQL statements (src/console/sql.hpp: sql_forms).
std::vector<std::string> complete(std::string_view line);

// The database name `import database <file>` uses when none is given: the
// file's name without its folder and without .gz, .json and .json.gz
// ("/tmp/demo.json.gz" -> "demo"); "" when nothing is left.
std::string import_default_name(std::string_view file);

// Levenshtein distance (exposed for tests).
size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace troupe::console
