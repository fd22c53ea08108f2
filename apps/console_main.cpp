// console: troupe's interactive console, after OrientDB's console.sh.
//
//   console [-f FILE] ["cmd; cmd; ..."]
//
// Interactive when standard input is a terminal and no script is given: line
// editing, history (~/.troupe_console_history) and tab completion through
// libedit, a prompt, colours. Otherwise the commands come from FILE, the
// arguments (separated by ';') or standard input, one result per command, no
// prompt, and colours only if standard output is a terminal.
//
// Exit status: 0 when every command succeeded; 1 when at least one failed (an
// unknown or malformed command, a command needing a connection or database
// without one, an unreachable node, bad credentials, or a command the node
// refused or could not do); 2 for a bad command line or an unreadable FILE.
// A failing command does not stop a script: the next one runs.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json.hpp>
#include <editline/readline.h>

#include "actors/console_client.hpp"
#include "src/console/command.hpp"
#include "src/console/render.hpp"
#include "src/console/sql.hpp"
#include "src/util/strings.hpp"
#include "troupe_build_config.hpp"

namespace json = boost::json;
using namespace troupe;
using namespace troupe::console;

namespace {

constexpr size_t history_entries_max = 1000;

class shell {
 public:
  shell(bool out_color, bool err_color) : st_{out_color}, err_color_(err_color) {
    // Failover (src/console/failover.hpp): one line when the console moved to another member.
    client_.on_moved([this](const std::string& line) { print(line + "\n"); });
  }

  // Runs one line; false if it failed.
  bool run(const std::string& line) {
    if (is_blank_or_comment(line)) return true;
    auto c = parse_command(line);
    // Not a console phrase: a SQL statement? (src/console/sql.hpp has the rule.)
    if (!c && sql_statement_kind(line) != sql_kind::none) return sql(std::string(trim(line)));
    if (!c) return error(c.error().what);
    return execute(*c);
  }

  bool done() const { return exit_; }

  std::string prompt() const { return db_.empty() ? "orientdb> " : cat("orientdb {db=", db_, "}> "); }

 private:
  style st_;
  bool err_color_;
  console_client client_;
  std::string db_;
  bool exit_ = false;

  bool error(const std::string& what) {
    std::cout.flush();
    std::cerr << (err_color_ ? "\x1b[31mError:\x1b[0m " : "Error: ") << what << "\n";
    std::cerr.flush();
    return false;
  }
  bool print(const std::string& text) {
    std::cout << text;
    std::cout.flush();
    return true;
  }
  template <class T>
  bool show(const result<T>& r, std::string (*render)(const T&)) {
    if (!r) return error(r.error().what);
    return print(render(*r));
  }

  // The database a command works on: its argument, else the one in use.
  std::optional<std::string> database(const command& c, size_t arg) {
    if (c.args.size() > arg) return c.args[arg];
    if (!db_.empty()) return db_;
    error("no database: name one, or choose one with `use <db>` or connect remote:<host>/<db>");
    return std::nullopt;
  }

  bool write(const std::string& db, storage::op o, const std::string& done_text, bool show_record) {
    auto r = client_.write(db, o);
    if (!r) return error(r.error().what);
    switch (r->code) {
      case storage::errc::ok: break;
      case storage::errc::not_found:
        if (o.k == storage::op::kind::update || o.k == storage::op::kind::remove)
          return error(cat("Record ", o.id.to_string(), " not found"));
        return error(r->message);
      case storage::errc::version_conflict:
        return error(cat("Cannot ", o.k == storage::op::kind::remove ? "DELETE" : "UPDATE", " the record ",
                         o.id.to_string(), " because the version is not the latest (your=v", o.expected_version, ")"));
      default: return error(r->message.empty() ? storage::to_string(r->code) : r->message);
    }
    print(done_text);
    if (show_record) print(render_record(r->rec));
    return true;
  }

  // A SQL statement against the database in use: a read shows OrientDB's
  // table (20 rows unless the statement has its own LIMIT), a write its message.
  bool sql(const std::string& text) {
    if (!client_.connected()) return error("not connected: connect remote:<host>[:<port>]/<db> <user> <password> first");
    if (db_.empty()) return error("no database: choose one with `use <db>` or connect remote:<host>/<db>");
    auto verb = sql_statement_verb(text);
    bool read = sql_statement_kind(text) == sql_kind::read;
    size_t shown = read && has_own_limit(text) ? sql_rows_max : sql_display_rows_default;
    auto start = std::chrono::steady_clock::now();
    auto answer = client_.sql(db_, text, static_cast<uint32_t>(shown + 1));
    auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!answer) return error(answer.error().what);
    auto rows = parse_sql_answer(*answer);
    if (!rows) return error(rows.error().what);
    if (read) return print(render_result_set(verb, *rows, shown, seconds));
    // OrientDB says how many classes there are now; the node's answer to
    // CREATE CLASS does not, so ask (best effort: without it, the message is shorter).
    std::optional<size_t> classes;
    if (verb == "create class")
      if (auto info = client_.info(db_)) classes = info->classes.size();
    return print(render_write_answer(verb, *rows, seconds, classes));
  }

  bool execute(const command& c) {
    switch (c.v) {
      case verb::help: {
        std::string out = "Commands:\n";
        for (auto& s : commands()) out += cat("  ", s.usage, std::string(s.usage.size() < 46 ? 46 - s.usage.size() : 1, ' '), s.help, "\n");
        out += "\nSQL statements, run against the database in use (connect remote:<host>/<db>, or use <db>):\n";
        for (auto& s : sql_forms()) out += cat("  ", s.usage, "\n      ", s.help, "\n");
        return print(out);
      }
      case verb::exit: exit_ = true; return true;
      case verb::connect: {
        auto st = client_.connect(c.url.host, c.url.port, c.args[1], c.args[2], c.url.db);
        if (!st) return error(st.error().what);
        db_ = c.url.db;
        return print(cat("Connected to ", c.url.host, ":", c.url.port, " as ", c.args[1],
                         db_.empty() ? "" : cat(", database ", db_), "\n"));
      }
      case verb::disconnect:
        if (!client_.connected()) return error("not connected");
        client_.disconnect();
        db_.clear();
        return print("Disconnected\n");
      case verb::use: {
        auto names = client_.databases();
        if (!names) return error(names.error().what);
        if (std::count(names->begin(), names->end(), c.args[0]) == 0)
          return error(cat("Database '", c.args[0], "' not found on this node"));
        db_ = c.args[0];
        client_.use_database(db_);
        return print(cat("Using database ", db_, "\n"));
      }
      case verb::actors: {
        auto r = client_.actors();
        if (!r) return error(r.error().what);
        return print(render_actors(*r, st_));
      }
      case verb::inspect: return show(client_.inspect(c.args[0]), render_inspect);
      case verb::members: {
        auto r = client_.cluster();
        if (!r) return error(r.error().what);
        return print(render_members(*r, st_));
      }
      case verb::partitions:
      case verb::config: {
        auto db = database(c, 0);
        if (!db) return false;
        auto r = client_.cluster();
        if (!r) return error(r.error().what);
        auto text = c.v == verb::partitions ? render_partitions(*r, *db, st_) : render_config(*r, *db);
        if (!text) return error(text.error().what);
        return print(*text);
      }
      case verb::deploys: {
        auto r = client_.deploys();
        if (!r) return error(r.error().what);
        return print(render_deploys(*r, st_));
      }
      case verb::replication: {
        auto db = database(c, 0);
        if (!db) return false;
        auto r = client_.replication(*db);
        if (!r) return error(r.error().what);
        return print(render_replication(*db, *r, st_));
      }
      case verb::cluster_status: return show(client_.cluster(), render_cluster_status);
      case verb::ha_status: {
        auto r = client_.cluster();
        if (!r) return error(r.error().what);
        return print(render_ha_status(*r, st_));
      }
      case verb::list_databases: return show(client_.databases(), render_databases);
      case verb::create_database: {
        auto st = client_.create_database(c.args[0]);
        if (!st) return error(st.error().what);
        return print(cat("Database created successfully: ", c.args[0], "\n"));
      }
      case verb::backup_database: {
        if (db_.empty()) return error("no database: choose one with `use <db>` or connect remote:<host>/<db>");
        auto r = client_.backup(db_, c.args[0]);
        if (!r) return error(r.error().what);
        return print(*r + "\n");
      }
      case verb::restore_database: {
        auto r = client_.restore(c.args[0], c.args.size() > 1 ? c.args[1] : std::string());
        if (!r) return error(r.error().what);
        return print(*r + "\n");
      }
      case verb::export_database: return export_database(c.args[0]);
      case verb::import_database: return import_database(c);
      case verb::drop_database: {
        auto db = database(c, 0);
        if (!db) return false;
        auto st = client_.drop_database(*db);
        if (!st) return error(st.error().what);
        if (*db == db_) {
          db_.clear();
          client_.use_database("");
        }
        return print(cat("Database '", *db, "' dropped\n"));
      }
      case verb::info: {
        auto db = database(c, 0);
        if (!db) return false;
        auto r = client_.info(*db);
        if (!r) return error(r.error().what);
        return print(render_info(*r, st_));
      }
      case verb::load_record: {
        auto db = database(c, 99);
        if (!db) return false;
        return show(client_.load(*db, c.rid), render_record);
      }
      case verb::browse_cluster: {
        auto db = database(c, 99);
        if (!db) return false;
        auto r = client_.browse(*db, c.args[0], c.limit);
        if (!r) return error(r.error().what);
        return print(render_browse(c.args[0], *r, c.limit));
      }
      case verb::create_record:
      case verb::update_record:
      case verb::delete_record:
      case verb::create_class: return record_command(c);
    }
    return error("unhandled command");
  }

  // EXPORT DATABASE: the node sends the gzip export, written here as `file`
  // (through file.tmp and a rename: a failed export leaves no half file).
  bool export_database(const std::string& file) {
    if (db_.empty()) return error("no database: choose one with `use <db>` or connect remote:<host>/<db>");
    auto bytes = client_.export_database(db_);
    if (!bytes) return error(bytes.error().what);
    auto tmp = file + ".tmp";
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      if (!out) return error(cat("cannot write ", tmp, ": ", std::strerror(errno)));
      out.write(bytes->data(), static_cast<std::streamsize>(bytes->size()));
      out.close();
      if (!out) {
        std::remove(tmp.c_str());
        return error(cat("cannot write ", tmp, " (disk full?)"));
      }
    }
    if (std::rename(tmp.c_str(), file.c_str()) != 0) {
      auto why = std::strerror(errno);
      std::remove(tmp.c_str());
      return error(cat("cannot rename ", tmp, " to ", file, ": ", why));
    }
    return print(cat("Database '", db_, "' exported to ", file, " (", bytes->size(), " bytes, gzip)\n"));
  }

  // IMPORT DATABASE: the file is read here (at most import_file_bytes_max:
  // it goes in one message) and imported by the node into a NEW database.
  bool import_database(const command& c) {
    const auto& file = c.args[0];
    auto name = c.args.size() > 1 ? c.args[1] : import_default_name(file);
    if (name.empty()) return error(cat("no database name in '", file, "': import database <file> <new name>"));
    std::ifstream in(file, std::ios::binary);
    if (!in) return error(cat("cannot read ", file, ": ", std::strerror(errno)));
    in.seekg(0, std::ios::end);
    auto size = static_cast<std::streamoff>(in.tellg());
    if (size < 0) return error(cat("cannot read ", file));
    if (static_cast<uint64_t>(size) > import_file_bytes_max)
      return error(cat(file, " has ", size, " bytes, more than the ", import_file_bytes_max,
                       " one console message carries: back the database up and restore the archive instead"));
    in.seekg(0);
    std::string bytes(static_cast<size_t>(size), '\0');
    in.read(bytes.data(), size);
    if (!in) return error(cat("cannot read ", file));
    auto r = client_.import_database(name, std::move(bytes));
    if (!r) return error(r.error().what);
    return print(*r + "\n");
  }

  bool record_command(const command& c) {
    auto db = database(c, 99);
    if (!db) return false;
    storage::op o;
    if (c.v == verb::create_class) {
      o.k = storage::op::kind::create_class;
      o.class_name = c.args[0];
      o.superclass = c.superclass;
      return write(*db, o, cat("Class '", c.args[0], "' created successfully\n"), false);
    }
    if (c.v == verb::delete_record) {
      o.k = storage::op::kind::remove;
      o.id = c.rid;
      return write(*db, o, cat("Deleted record ", c.rid.to_string(), "\n"), false);
    }
    // create/update: the JSON's own "@" keys are metadata, not fields.
    auto v = json::parse(c.json);  // parse_command checked it
    json::object fields;
    for (auto& [k, x] : v.get_object()) {
      if (!k.empty() && k[0] == '@') {
        if (k == "@version" && c.v == verb::update_record) {
          if (!x.is_int64() || x.get_int64() < 0) return error("@version must be a non-negative integer");
          o.expected_version = x.get_int64();
        }
        continue;
      }
      fields.emplace(k, x);
    }
    o.fields = json::serialize(fields);
    if (c.v == verb::create_record) {
      o.k = storage::op::kind::create;
      o.class_name = c.args[0];
      return write(*db, o, "Created record:\n", true);
    }
    o.k = storage::op::kind::update;
    o.id = c.rid;
    return write(*db, o, "Updated record:\n", true);
  }
};

// --- libedit: tab completion -----------------------------------------------------

std::vector<std::string> completions;
size_t completion_at = 0;

char* completion_generator(const char*, int state) {
  if (state == 0) {
    completions = complete(std::string(rl_line_buffer, static_cast<size_t>(rl_point)));
    completion_at = 0;
  }
  if (completion_at >= completions.size()) return nullptr;
  return strdup(completions[completion_at++].c_str());
}

char** complete_line(const char* text, int, int) {
  rl_attempted_completion_over = 1;  // never fall back to file names
  return rl_completion_matches(text, completion_generator);
}

int interactive(shell& sh) {
  std::string history;
  if (const char* home = std::getenv("HOME")) history = cat(home, "/.troupe_console_history");
  rl_readline_name = "troupe-console";
  rl_attempted_completion_function = complete_line;
  using_history();
  stifle_history(static_cast<int>(history_entries_max));
  if (!history.empty()) read_history(history.c_str());
  std::cout << "troupe console v" << TROUPE_VERSION
            << ". Type help for the commands; connect remote:<host>[:<port>][/<db>] <user> <password>.\n";
  std::cout.flush();
  bool failed = false;
  while (!sh.done()) {
    char* raw = readline(sh.prompt().c_str());
    if (raw == nullptr) {  // Ctrl-D
      std::cout << "\n";
      break;
    }
    std::string line(raw);
    std::free(raw);
    if (!is_blank_or_comment(line)) add_history(line.c_str());
    failed = !sh.run(line) || failed;
  }
  if (!history.empty()) write_history(history.c_str());
  return failed ? 1 : 0;
}

int script(shell& sh, std::istream& in) {
  bool failed = false;
  std::string line;
  while (!sh.done() && std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    failed = !sh.run(line) || failed;
  }
  return failed ? 1 : 0;
}

void usage(std::ostream& os) {
  os << "usage: console [-f FILE] [\"command; command; ...\"]\n"
        "  Without FILE or commands, reads commands from standard input (interactive on a terminal).\n"
        "  Exit status: 0 all commands succeeded, 1 at least one failed, 2 bad command line or FILE.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<std::string> file;
  std::string inline_commands;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      usage(std::cout);
      return 0;
    }
    if (a == "--version") {
      std::cout << "troupe console " << TROUPE_VERSION << "\n";
      return 0;
    }
    if (a == "-f") {
      if (i + 1 >= argc) {
        std::cerr << "console: -f needs a file name\n";
        usage(std::cerr);
        return 2;
      }
      file = argv[++i];
      continue;
    }
    if (!a.empty() && a[0] == '-') {
      std::cerr << "console: unknown option " << a << "\n";
      usage(std::cerr);
      return 2;
    }
    inline_commands += (inline_commands.empty() ? "" : ";") + a;
  }
  bool out_tty = isatty(STDOUT_FILENO) == 1;
  bool err_tty = isatty(STDERR_FILENO) == 1;
  shell sh(out_tty, err_tty);
  if (file) {
    std::ifstream in(*file);
    if (!in) {
      std::cerr << "console: cannot read " << *file << ": " << std::strerror(errno) << "\n";
      return 2;
    }
    return script(sh, in);
  }
  if (!inline_commands.empty()) {
    std::string lines;
    for (auto& part : split(inline_commands, ';')) lines += std::string(trim(part)) + "\n";
    std::istringstream in(lines);
    return script(sh, in);
  }
  if (isatty(STDIN_FILENO) == 1) return interactive(sh);
  return script(sh, std::cin);
}
