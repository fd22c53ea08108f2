#include "src/console/sql.hpp"

#include <algorithm>
#include <cctype>
#include <variant>

#include "src/query/lexer.hpp"
#include "src/query/parser.hpp"
#include "src/query/select.hpp"
#include "src/util/ascii.hpp"
#include "src/util/strings.hpp"

namespace troupe::console {

namespace {

// The first `n` words of `line` (runs of letters), lower-cased; stops at the
// first byte that is neither a letter nor a blank.
std::vector<std::string> leading_words(std::string_view line, size_t n) {
  std::vector<std::string> out;
  size_t i = 0;
  while (out.size() < n) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    size_t start = i;
    while (i < line.size() && std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
    if (i == start) break;
    out.push_back(ascii_lower(line.substr(start, i - start)));
    // A word must end at a blank or a non-letter that is not part of a name
    // ("select*" is fine, "selection" is one word and no keyword).
    if (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_')) return {};
  }
  return out;
}

// Second words after CREATE that make a SQL statement, and after DROP.
constexpr std::string_view create_words[] = {"vertex", "edge", "class", "property", "index"};
constexpr std::string_view drop_words[] = {"class", "index", "property"};

template <size_t N>
bool one_of(const std::string& w, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), w) != std::end(set);
}

}  // namespace

std::string sql_statement_verb(std::string_view line) {
  auto w = leading_words(line, 2);
  if (w.empty()) return "";
  auto& first = w[0];
  if (first == "select" || first == "traverse" || first == "explain" || first == "insert" || first == "update" ||
      first == "delete")
    return first;
  if (w.size() < 2) return "";
  if (first == "create" && one_of(w[1], create_words)) return cat(first, " ", w[1]);
  if (first == "drop" && one_of(w[1], drop_words)) return cat(first, " ", w[1]);
  return "";
}

sql_kind sql_statement_kind(std::string_view line) {
  auto verb = sql_statement_verb(line);
  if (verb.empty()) return sql_kind::none;
  if (verb == "select" || verb == "traverse" || verb == "explain") return sql_kind::read;
  return sql_kind::write;
}

const std::vector<sql_form>& sql_forms() {
  static const std::vector<sql_form> all = {
      {"select", "select [<projections>] from <class>|cluster:<c>|<rid> [where ...] [order by ...] [limit <n>]",
       "query the database (shows 20 rows unless the statement has a LIMIT)"},
      {"traverse", "traverse <fields> from <target> [while ...]", "traverse records (as far as the node supports it)"},
      {"explain", "explain <statement>", "how a statement runs (as far as the node supports it)"},
      {"insert", "insert into <class> set <field> = <value>, ... | content {...}", "insert a record"},
      {"update", "update <class>|<rid> set <field> = <value>, ... [where ...]", "update records"},
      {"delete", "delete from <class> [where ...] | delete vertex ... | delete edge ...", "delete records"},
      {"create vertex", "create vertex [<class>] [set <field> = <value>, ...]", "create a vertex"},
      {"create edge", "create edge [<class>] from <rid> to <rid> [set ...]", "create an edge"},
      {"create property", "create property <class>.<name> <type>", "create a property"},
      {"create index", "create index <class>.<field> unique|notunique", "create an index"},
      {"drop class", "drop class <name>", "remove a class"},
      {"drop index", "drop index <name>", "remove an index"},
  };
  return all;
}

bool has_own_limit(std::string_view statement) {
  auto toks = query::lex(statement);
  if (auto* t = std::get_if<std::vector<query::token>>(&toks)) {
    for (auto& x : *t)
      if (x.k == query::token::kind::keyword && x.kw == query::keyword::limit) return true;
    return false;
  }
  // Not lexable: the node will say why; show what it answers as if limited.
  return false;
}

std::string syntax_error_text(std::string_view text, size_t position, std::string_view message) {
  // The echo is one line: a statement over several lines is shown from the
  // start of the line holding the position.
  position = std::min(position, text.size());
  size_t line_start = position == 0 ? std::string_view::npos : text.rfind('\n', position - 1);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  size_t line_end = text.find('\n', line_start);
  auto shown = std::string(text.substr(line_start, line_end == std::string_view::npos ? text.npos : line_end - line_start));
  for (auto& c : shown)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  // The caret goes under the character, counting UTF-8 continuation bytes as nothing.
  size_t column = 0;
  for (size_t i = line_start; i < position && i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) ++column;
  return cat(message, "\n  ", shown, "\n  ", std::string(column, ' '), "^");
}

result<std::string> run_read_statement(const storage::database& db, std::string_view text, size_t rows_max,
                                       size_t bytes_max, std::chrono::milliseconds timeout) {
  auto bad = [](std::string what) { return error_info{"", "", std::move(what)}; };
  auto parsed = query::parse(text);
  if (auto* e = std::get_if<query::syntax_error>(&parsed)) return bad(syntax_error_text(text, e->position, e->message()));
  auto& stmt = std::get<query::statement>(parsed);
  auto cap = static_cast<int64_t>(rows_max);
  if (auto* s = std::get_if<query::select_stmt>(&stmt); s && (!s->limit || *s->limit < 0 || *s->limit > cap)) s->limit = cap;
  if (auto* t = std::get_if<query::traverse_stmt>(&stmt); t && (!t->limit || *t->limit < 0 || *t->limit > cap)) t->limit = cap;
  query::select_limits limits;
  limits.rows_max = rows_max + 1;  // the LIMIT above holds first
  if (timeout.count() > 0) limits.deadline = std::chrono::steady_clock::now() + timeout;
  auto rows = query::run_query(db, stmt, {}, limits);
  if (!rows) return bad(rows.error().render());
  std::string out = "{\"result\":[";
  for (size_t i = 0; i < rows->size(); ++i) {
    if (out.size() + (*rows)[i].size() + 3 > bytes_max)
      return bad(cat("the answer is larger than ", bytes_max, " bytes: add a LIMIT or fewer projections"));
    out += cat(i ? "," : "", (*rows)[i]);
  }
  return out + "]}";
}

result<std::string> write_statement_answer(const std::vector<storage::op_result>& results) {
  auto bad = [](std::string what) { return error_info{"", "", std::move(what)}; };
  if (results.empty()) return bad("the database answered the statement with nothing");
  for (auto& r : results)
    if (r.code != storage::errc::ok)
      return bad(r.message.empty() ? std::string(storage::to_string(r.code)) : r.message);
  auto& answer = results.back().rec.fields;
  return cat("{\"result\":", answer.empty() ? std::string("[]") : answer, "}");
}

}  // namespace troupe::console
