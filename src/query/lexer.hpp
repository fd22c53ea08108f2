// The tokens of OrientDB 2.2 SQL, with the byte offset where each starts.
// Plain C++: no I/O, no exceptions of its own (only std::bad_alloc can escape).
//
// Lexical choices (the parser's header repeats the ones a user sees):
// - Keywords are ASCII, case-insensitive, and reserved: a field spelled like
//   one must be backquoted (`select`). After a '.' the parser takes any word.
// - Identifiers: [A-Za-z_$][A-Za-z0-9_$]*, or `any bytes but a backquote`
//   (not empty; no escapes).
// - Attributes: @rid @class @version @this, case-insensitive; text is lower-case.
// - Strings: '...' or "..." with escapes \\ \' \" \n \t \r \b \f \/ and \uXXXX
//   (UTF-8 encoded; a surrogate pair must be complete). Other bytes, including
//   invalid UTF-8, are kept as they are: the executor compares bytes.
// - Numbers: digits (integer, up to 2^63 so that the parser can negate it to
//   INT64_MIN), or digits '.' digits and/or an exponent (real). ".5" and "5."
//   are not numbers: '.' is the path separator.
// - RIDs: '#' digits ':' digits, checked with storage::rid::valid().
// - JSON objects (CONTENT and MERGE of the write statements): '{' starts one
//   token that runs to the end of the JSON object, checked by Boost.JSON
//   (depth at most json_depth_max).
// - Outside strings and backquotes only printable ASCII and whitespace are
//   allowed; a NUL byte is refused anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "src/storage/rid.hpp"

namespace troupe::query {

// What went wrong and where: `position` is a byte offset into the statement
// (<= its length), `expected` and `found` are short phrases for people.
struct syntax_error {
  size_t position = 0;
  std::string expected;
  std::string found;
  // "Syntax error at position 14: expected an expression, found 'FROM'"
  std::string message() const;
};

// The deepest JSON object a statement may hold (CONTENT {...}).
inline constexpr size_t json_depth_max = 32;

enum class keyword {
  none, select, from, where, and_, or_, not_, like, in, contains, between, is, null, defined,
  true_, false_, group, order, by, asc, desc, skip, limit, as, cluster
};

struct token {
  enum class kind {
    end,        // after the last token; pos = text length
    keyword,    // kw says which
    ident,      // text = the name (backquotes removed; quoted says which form)
    attribute,  // text = "@rid", "@class", "@version" or "@this"
    string,     // text = the value, escapes resolved
    integer,    // u = the value, 0 .. 2^63
    real,       // d = the value (finite)
    rid,        // r = the RID (valid)
    punct,      // text = ( ) [ ] , . * + - / % = <> != < > <= >= : ;
    param,      // text = "" for '?', the name for ':name'
    json        // text = a JSON object as written, from '{' to its '}' (valid JSON)
  } k = kind::end;
  size_t pos = 0;  // byte offset of the first byte
  size_t len = 0;  // bytes as written
  std::string text;
  keyword kw = keyword::none;
  bool quoted = false;
  uint64_t u = 0;
  double d = 0;
  storage::rid r;
};

// The tokens of `text`, ending with one kind::end token, or the first lexical
// error. A ':' directly followed by a name is a named parameter; the parser
// reads `cluster:name` from the CLUSTER keyword and that token.
std::variant<std::vector<token>, syntax_error> lex(std::string_view text);

// How an error message shows a token: 'as written' (cut at 24 bytes,
// non-printable bytes as \xNN), or "end of input".
std::string describe(std::string_view text, const token& t);

}  // namespace troupe::query
