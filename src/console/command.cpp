#include "src/console/command.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "src/console/sql.hpp"
#include "src/util/strings.hpp"

namespace json = boost::json;

namespace troupe::console {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

error_info fail(std::string what) { return error_info{"", "", std::move(what)}; }

// A token with the offset just past it in the line (for "the rest of the line").
struct token {
  std::string text;
  size_t end = 0;
};

result<std::vector<token>> split_tokens(std::string_view line) {
  std::vector<token> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= line.size()) break;
    token t;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i]))) {
      char c = line[i];
      if (c == '"' || c == '\'') {
        auto close = line.find(c, i + 1);
        if (close == std::string_view::npos) return fail(cat("unterminated quote ", c, " in: ", line));
        t.text.append(line.substr(i + 1, close - i - 1));
        i = close + 1;
      } else {
        t.text += c;
        ++i;
      }
    }
    t.end = i;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> words_of(std::string_view phrase) { return split(phrase, ' '); }

result<storage::rid> parse_rid(const std::string& s) {
  auto r = storage::rid::parse(s);
  if (!r) return fail(cat("'", s, "' is not a record id: expected #<cluster>:<position>, like #9:0"));
  return *r;
}

// A JSON object's text (the rest of a record command's line).
result<std::string> parse_object(std::string_view text) {
  auto t = trim(text);
  if (t.empty()) return fail("a JSON object is required, like {\"name\": \"x\"}");
  boost::system::error_code ec;
  json::parse_options po;
  po.max_depth = 64;
  auto v = json::parse(t, ec, {}, po);
  if (ec) return fail(cat("not valid JSON: ", ec.message(), ": ", t));
  if (!v.is_object()) return fail(cat("a JSON object is required, not: ", t));
  return std::string(t);
}

}  // namespace

const std::vector<command_spec>& commands() {
  static const std::vector<command_spec> all = {
      {"connect", "connect remote:<host>[:<port>][/<db>] <user> <password>",
       "connect to a node's console port (2424 by default) as a server user", verb::connect},
      {"disconnect", "disconnect", "close the connection", verb::disconnect},
      {"use", "use <db>", "choose the database of the database commands", verb::use},
      {"actors", "actors", "every actor of the node: name, id, mailbox, state", verb::actors},
      {"inspect", "inspect <actor>", "one actor's full state (name or id from `actors`)", verb::inspect},
      {"members", "members", "the cluster's members", verb::members},
      {"list servers", "list servers", "the cluster's members (as `members`)", verb::members},
      {"partitions", "partitions [<db>]", "a database's partition table", verb::partitions},
      {"config", "config [<db>]", "a database's distributed configuration and its version", verb::config},
      {"deploys", "deploys", "database transfers in flight with progress, rate and time left", verb::deploys},
      {"replication", "replication [<db>]", "per node: the database's last LSN and lag", verb::replication},
      {"cluster status", "cluster status", "the cluster as JSON", verb::cluster_status},
      {"ha status", "ha status", "servers and databases of the cluster", verb::ha_status},
      {"list databases", "list databases", "the node's databases", verb::list_databases},
      {"create database", "create database <name>", "create a database on the node", verb::create_database},
      {"drop database", "drop database [<name>]", "drop a database on every member (default: the one in use)",
       verb::drop_database},
      {"backup database", "backup database <file>",
       "back the database in use up into the node's <home>/backup/<file> (a plain file name)", verb::backup_database},
      {"restore database", "restore database <file> [<new name>]",
       "restore <home>/backup/<file> on the node as a NEW database (default: the archive's name)",
       verb::restore_database},
      {"export database", "export database <file>",
       "export the database in use (OrientDB JSON, gzip) into <file> here, on the console's machine",
       verb::export_database},
      {"import database", "import database <file> [<new name>]",
       "import <file> from here (an export, at most 16 MiB) as a NEW database (default: the file's name)",
       verb::import_database},
      {"info", "info [<db>]", "classes and clusters with their record counts", verb::info},
      {"load record", "load record <rid>", "show one record", verb::load_record},
      {"create record", "create record <class> [<json>]", "create a record of a class", verb::create_record},
      {"update record", "update record <rid> <json>",
       "replace a record's fields (\"@version\" in the JSON: only if still that version)", verb::update_record},
      {"delete record", "delete record <rid>", "delete a record", verb::delete_record},
      {"browse cluster", "browse cluster <name> [<limit>]", "the first records of a cluster (limit 1..1000, default 20)",
       verb::browse_cluster},
      {"create class", "create class <name> [extends <superclass>]", "create a class", verb::create_class},
      {"help", "help", "this list", verb::help},
      {"exit", "exit", "leave the console (also: quit, Ctrl-D)", verb::exit},
      {"quit", "quit", "leave the console", verb::exit},
  };
  return all;
}

result<std::vector<std::string>> tokenize(std::string_view line) {
  auto t = split_tokens(line);
  if (!t) return t.error();
  std::vector<std::string> out;
  for (auto& x : *t) out.push_back(std::move(x.text));
  return out;
}

bool is_blank_or_comment(std::string_view line) {
  auto t = trim(line);
  return t.empty() || t.front() == '#' || t.rfind("--", 0) == 0;
}

result<remote_url> parse_url(std::string_view text) {
  constexpr std::string_view scheme = "remote:";
  auto bad = [&](std::string why) {
    return fail(cat("'", text, "' is not a console URL (", why, "): expected remote:<host>[:<port>][/<db>]"));
  };
  if (text.size() < scheme.size() || lower(text.substr(0, scheme.size())) != scheme) {
    if (lower(text).rfind("plocal:", 0) == 0 || lower(text).rfind("memory:", 0) == 0)
      return bad("only remote: is supported: the console talks to a running node");
    return bad("it must start with remote:");
  }
  auto rest = text.substr(scheme.size());
  remote_url u;
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    u.db = std::string(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
    if (u.db.empty()) return bad("nothing after /");
    if (u.db.find('/') != std::string::npos) return bad("more than one /");
  }
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    auto p = parse_int(rest.substr(colon + 1), 1, 65535);
    if (!p) return bad(cat("port '", rest.substr(colon + 1), "' is not 1-65535"));
    u.port = static_cast<uint16_t>(*p);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return bad("no host");
  for (char c : rest)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_'))
      return bad(cat("host '", rest, "' has a character hosts do not have"));
  u.host = std::string(rest);
  return u;
}

std::string import_default_name(std::string_view file) {
  auto slash = file.find_last_of('/');
  std::string name(slash == std::string_view::npos ? file : file.substr(slash + 1));
  for (std::string_view ext : {".gz", ".json"})
    if (name.size() > ext.size() && lower(name.substr(name.size() - ext.size())) == ext)
      name.resize(name.size() - ext.size());
  return name;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string nearest_command(std::string_view line) {
  auto toks = split_tokens(line);
  if (!toks || toks->empty()) return "";
  std::string best;
  size_t best_d = SIZE_MAX;
  for (auto& spec : commands()) {
    auto words = words_of(spec.phrase);
    if (toks->size() < words.size() && words.size() > 1) {
      // Compare the one word typed with the phrase's first word only.
      words.resize(toks->size());
    }
    std::string typed, target;
    for (size_t i = 0; i < words.size() && i < toks->size(); ++i) {
      typed += (i ? " " : "") + lower((*toks)[i].text);
      target += (i ? " " : "") + words[i];
    }
    auto d = edit_distance(typed, target);
    if (d < best_d) {
      best_d = d;
      best = std::string(spec.phrase);
    }
  }
  // Close enough: at most a third of the phrase, and at least 1-2 typos allowed.
  size_t allowed = std::max<size_t>(2, best.size() / 3);
  return best_d <= allowed ? best : "";
}

result<command> parse_command(std::string_view line) {
  if (line.size() > line_bytes_max) return fail(cat("the line is longer than ", line_bytes_max, " bytes"));
  auto toks = split_tokens(line);
  if (!toks) return toks.error();
  if (toks->empty()) return fail("empty command");
  // The longest phrase that the line starts with.
  const command_spec* spec = nullptr;
  size_t used = 0;
  for (auto& s : commands()) {
    auto words = words_of(s.phrase);
    if (words.size() > toks->size() || words.size() <= used) continue;
    bool match = true;
    for (size_t i = 0; i < words.size(); ++i) match = match && lower((*toks)[i].text) == words[i];
    if (match) {
      spec = &s;
      used = words.size();
    }
  }
  if (spec == nullptr) {
    auto first = (*toks)[0].text;
    auto near = nearest_command(line);
    std::string typed = first;
    if (toks->size() > 1) typed += " " + (*toks)[1].text;
    return fail(cat("unknown command '", toks->size() > 1 && near.find(' ') != std::string::npos ? typed : first, "'",
                    near.empty() ? std::string(": type help for the list") : cat(". Did you mean '", near, "'?")));
  }
  command c;
  c.v = spec->v;
  for (size_t i = used; i < toks->size(); ++i) c.args.push_back((*toks)[i].text);
  auto rest_after = [&](size_t n_args) {
    size_t idx = used + n_args;  // the token before the rest
    return line.substr(idx == 0 ? 0 : (*toks)[idx - 1].end);
  };
  auto arity = [&](size_t lo, size_t hi) -> std::optional<error_info> {
    if (c.args.size() >= lo && c.args.size() <= hi) return std::nullopt;
    std::string expect = lo == hi ? cat(lo) : cat(lo, "-", hi);
    return fail(cat("'", spec->phrase, "' takes ", expect, " argument", hi == 1 && lo == 1 ? "" : "s", ", got ",
                    c.args.size(), ": usage: ", spec->usage));
  };
  switch (c.v) {
    case verb::connect: {
      if (auto e = arity(3, 3)) return *e;
      auto u = parse_url(c.args[0]);
      if (!u) return u.error();
      c.url = *u;
      break;
    }
    case verb::disconnect:
    case verb::actors:
    case verb::members:
    case verb::deploys:
    case verb::cluster_status:
    case verb::ha_status:
    case verb::list_databases:
    case verb::help:
    case verb::exit:
      if (auto e = arity(0, 0)) return *e;
      break;
    case verb::use:
    case verb::inspect:
    case verb::create_database:
    case verb::backup_database:
    case verb::export_database:
      if (auto e = arity(1, 1)) return *e;
      break;
    case verb::restore_database:
    case verb::import_database:
      if (auto e = arity(1, 2)) return *e;
      break;
    case verb::drop_database:
      if (auto e = arity(0, 1)) return *e;
      break;
    case verb::partitions:
    case verb::config:
    case verb::replication:
    case verb::info:
      if (auto e = arity(0, 1)) return *e;
      break;
    case verb::load_record:
    case verb::delete_record: {
      if (auto e = arity(1, 1)) return *e;
      auto r = parse_rid(c.args[0]);
      if (!r) return r.error();
      c.rid = *r;
      break;
    }
    case verb::create_record: {
      if (c.args.empty()) return fail(cat("'create record' needs a class: usage: ", spec->usage));
      auto rest = trim(rest_after(1));
      if (rest.empty()) {
        c.json = "{}";
      } else {
        auto j = parse_object(rest);
        if (!j) return j.error();
        c.json = *j;
      }
      c.args.resize(1);
      break;
    }
    case verb::update_record: {
      if (c.args.empty()) return fail(cat("'update record' needs a record id and a JSON object: usage: ", spec->usage));
      auto r = parse_rid(c.args[0]);
      if (!r) return r.error();
      c.rid = *r;
      auto j = parse_object(rest_after(1));
      if (!j) return j.error();
      c.json = *j;
      c.args.resize(1);
      break;
    }
    case verb::browse_cluster: {
      if (auto e = arity(1, 2)) return *e;
      if (c.args.size() == 2) {
        auto n = parse_int(c.args[1], 1, console_browse_records_max);
        if (!n) return fail(cat("the limit '", c.args[1], "' is not 1..", console_browse_records_max));
        c.limit = static_cast<uint32_t>(*n);
      }
      break;
    }
    case verb::create_class: {
      if (c.args.size() == 3 && lower(c.args[1]) == "extends") {
        c.superclass = c.args[2];
        c.args.resize(1);
      } else if (auto e = arity(1, 1)) {
        return *e;
      }
      break;
    }
  }
  return c;
}

std::vector<std::string> complete(std::string_view line) {
  // The words typed before the one being completed, and that word's prefix.
  std::string before;
  std::string prefix;
  auto toks = split_tokens(line);
  if (!toks) return {};
  bool fresh = line.empty() || std::isspace(static_cast<unsigned char>(line.back()));
  size_t n = toks->size() - (fresh || toks->empty() ? 0 : 1);
  for (size_t i = 0; i < n; ++i) before += (i ? " " : "") + lower((*toks)[i].text);
  if (!fresh && !toks->empty()) prefix = lower(toks->back().text);
  std::vector<std::string> phrases;
  for (auto& s : commands()) phrases.emplace_back(s.phrase);
  for (auto& s : sql_forms()) phrases.emplace_back(s.phrase);  // SQL statements (src/console/sql.hpp)
  std::vector<std::string> out;
  for (auto& phrase : phrases) {
    auto words = words_of(phrase);
    if (words.size() <= n) continue;
    std::string head;
    for (size_t i = 0; i < n; ++i) head += (i ? " " : "") + words[i];
    if (head != before) continue;
    auto& w = words[n];
    if (w.rfind(prefix, 0) == 0 && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace troupe::console
