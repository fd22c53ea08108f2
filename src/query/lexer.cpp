#include "src/query/lexer.hpp"

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <utility>

#include <boost/json/stream_parser.hpp>

#include "src/util/strings.hpp"

namespace troupe::query {

namespace {

// The longest piece of input an error message quotes.
constexpr size_t quote_bytes_max = 24;

constexpr std::array<std::pair<std::string_view, keyword>, 24> keywords{{
    {"SELECT", keyword::select}, {"FROM", keyword::from},         {"WHERE", keyword::where},
    {"AND", keyword::and_},      {"OR", keyword::or_},            {"NOT", keyword::not_},
    {"LIKE", keyword::like},     {"IN", keyword::in},             {"CONTAINS", keyword::contains},
    {"BETWEEN", keyword::between}, {"IS", keyword::is},           {"NULL", keyword::null},
    {"DEFINED", keyword::defined}, {"TRUE", keyword::true_},      {"FALSE", keyword::false_},
    {"GROUP", keyword::group},   {"ORDER", keyword::order},       {"BY", keyword::by},
    {"ASC", keyword::asc},       {"DESC", keyword::desc},         {"SKIP", keyword::skip},
    {"LIMIT", keyword::limit},   {"AS", keyword::as},             {"CLUSTER", keyword::cluster},
}};

constexpr std::array<std::string_view, 4> attributes{"@rid", "@class", "@version", "@this"};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool hex_digit(char c) { return digit(c) || (lower(c) >= 'a' && lower(c) <= 'f'); }
bool word_start(char c) { return (lower(c) >= 'a' && lower(c) <= 'z') || c == '_' || c == '$'; }
bool word_char(char c) { return word_start(c) || digit(c); }
bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, quote_bytes_max)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    }
  }
  out += s.size() > quote_bytes_max ? "...'" : "'";
  return out;
}

void append_utf8(std::string& out, uint32_t cp) {
  assert(cp <= 0x10ffff);
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

class lexer {
 public:
  explicit lexer(std::string_view text) : s_(text) {}

  std::variant<std::vector<token>, syntax_error> run() {
    std::vector<token> out;
    for (;;) {
      while (i_ < s_.size() && space(s_[i_])) ++i_;
      token t;
      t.pos = i_;
      if (i_ == s_.size()) {
        out.push_back(std::move(t));
        return out;
      }
      if (!next(t)) return std::move(*err_);
      t.len = i_ - t.pos;
      assert(t.len > 0 && i_ <= s_.size());
      out.push_back(std::move(t));
    }
  }

 private:
  bool fail(size_t pos, std::string expected, std::string found) {
    err_ = syntax_error{pos, std::move(expected), std::move(found)};
    return false;
  }
  bool at(size_t j, char c) const { return j < s_.size() && s_[j] == c; }
  size_t word_end(size_t j) const {
    while (j < s_.size() && word_char(s_[j])) ++j;
    return j;
  }
  size_t digits_end(size_t j) const {
    while (j < s_.size() && digit(s_[j])) ++j;
    return j;
  }

  bool next(token& t) {
    char c = s_[i_];
    if (word_start(c)) return word(t);
    if (digit(c)) return number(t);
    switch (c) {
      case '`': return backquoted(t);
      case '\'':
      case '"': return string(t);
      case '@': return attribute(t);
      case '#': return rid(t);
      case '?':
        t.k = token::kind::param;
        ++i_;
        return true;
      case ':':
        if (i_ + 1 < s_.size() && word_start(s_[i_ + 1])) {
          size_t e = word_end(i_ + 1);
          t.k = token::kind::param;
          t.text = std::string(s_.substr(i_ + 1, e - i_ - 1));
          i_ = e;
          return true;
        }
        return punct(t, 1);
      case '<':
        return punct(t, at(i_ + 1, '=') || at(i_ + 1, '>') ? 2 : 1);
      case '>':
        return punct(t, at(i_ + 1, '=') ? 2 : 1);
      case '!':
        if (at(i_ + 1, '=')) return punct(t, 2);
        return fail(i_, "'!='", quote(s_.substr(i_, 1)));
      case '{': return json_object(t);
      case '(': case ')': case '[': case ']': case ',': case '.': case '*':
      case '+': case '-': case '/': case '%': case '=': case ';':
        return punct(t, 1);
      default:
        return fail(i_, "a keyword, name, value or operator", quote(s_.substr(i_, 1)));
    }
  }

  // One JSON object, as Boost.JSON reads it: it stops after the object's '}'.
  bool json_object(token& t) {
    boost::json::parse_options opts;
    opts.max_depth = json_depth_max;
    boost::json::stream_parser p({}, opts);
    boost::system::error_code ec;
    std::string_view rest = s_.substr(i_);
    size_t n = p.write_some(rest.data(), rest.size(), ec);
    if (!ec && !p.done()) p.finish(ec);
    if (ec || !p.done())
      return fail(i_ + std::min(n, rest.size()), cat("a JSON object (", ec ? ec.message() : "incomplete", ")"),
                  i_ + n < s_.size() ? quote(s_.substr(i_ + n, 1)) : "end of input");
    // Boost.JSON also reads the whitespace after the value: not the token's.
    while (n > 0 && space(rest[n - 1])) --n;
    assert(n > 0 && rest[n - 1] == '}');
    t.k = token::kind::json;
    t.text = std::string(rest.substr(0, n));
    i_ += n;
    return true;
  }

  bool punct(token& t, size_t n) {
    t.k = token::kind::punct;
    t.text = std::string(s_.substr(i_, n));
    i_ += n;
    return true;
  }

  bool word(token& t) {
    size_t e = word_end(i_);
    std::string_view w = s_.substr(i_, e - i_);
    t.k = token::kind::ident;
    t.text = std::string(w);
    for (auto& [name, kw] : keywords)
      if (iequals(w, name)) {
        t.k = token::kind::keyword;
        t.kw = kw;
      }
    i_ = e;
    return true;
  }

  bool backquoted(token& t) {
    size_t close = s_.find('`', i_ + 1);
    if (close == std::string_view::npos) return fail(i_, "a closing ` for this name", "end of input");
    if (close == i_ + 1) return fail(i_, "a name between the backquotes", "``");
    t.k = token::kind::ident;
    t.quoted = true;
    t.text = std::string(s_.substr(i_ + 1, close - i_ - 1));
    i_ = close + 1;
    return true;
  }

  bool attribute(token& t) {
    size_t e = word_end(i_ + 1);
    std::string_view w = s_.substr(i_, e - i_);
    for (auto a : attributes)
      if (iequals(w, a)) {
        t.k = token::kind::attribute;
        t.text = std::string(a);
        i_ = e;
        return true;
      }
    return fail(i_, "an attribute (@rid, @class, @version, @this)", quote(w));
  }

  bool rid(token& t) {
    size_t c_end = digits_end(i_ + 1);
    size_t p_end = at(c_end, ':') ? digits_end(c_end + 1) : c_end;
    std::string_view cluster = s_.substr(i_ + 1, c_end - i_ - 1);
    std::string_view position = p_end > c_end ? s_.substr(c_end + 1, p_end - c_end - 1) : "";
    std::string_view written = s_.substr(i_, std::max(p_end, c_end + (at(c_end, ':') ? 1 : 0)) - i_);
    if (cluster.empty() || position.empty()) return fail(i_, "a RID like #12:34", quote(written));
    auto c = parse_int(cluster, 0, storage::cluster_id_max);
    if (!c) return fail(i_, cat("a cluster id from 0 to ", storage::cluster_id_max), quote(written));
    auto p = parse_int(position, 0, INT64_MAX);
    if (!p) return fail(i_, "a record position from 0 to 9223372036854775807", quote(written));
    t.k = token::kind::rid;
    t.r = storage::rid{static_cast<int32_t>(*c), *p};
    if (!t.r.valid()) return fail(i_, "a valid RID", quote(written));
    i_ = p_end;
    return true;
  }

  bool number(token& t) {
    size_t e = digits_end(i_);
    bool real = false;
    if (at(e, '.') && e + 1 < s_.size() && digit(s_[e + 1])) {
      real = true;
      e = digits_end(e + 1);
    }
    if (e < s_.size() && lower(s_[e]) == 'e') {
      size_t x = e + 1;
      if (at(x, '+') || at(x, '-')) ++x;
      if (x < s_.size() && digit(s_[x])) {
        real = true;
        e = digits_end(x);
      }
    }
    std::string_view w = s_.substr(i_, e - i_);
    const char* first = w.data();
    const char* last = w.data() + w.size();
    if (real) {
      auto [p, ec] = std::from_chars(first, last, t.d);
      if (ec != std::errc() || p != last || !std::isfinite(t.d))
        return fail(i_, "a number within the range of a double", quote(w));
      t.k = token::kind::real;
    } else {
      auto [p, ec] = std::from_chars(first, last, t.u);
      // 2^63 is allowed so that the parser can read -9223372036854775808.
      if (ec != std::errc() || p != last || t.u > uint64_t{1} << 63)
        return fail(i_, "an integer from -9223372036854775808 to 9223372036854775807", quote(w));
      t.k = token::kind::integer;
    }
    i_ = e;
    return true;
  }

  bool string(token& t) {
    char q = s_[i_];
    size_t j = i_ + 1;
    std::string v;
    for (;;) {
      if (j >= s_.size()) return fail(i_, cat("a closing ", q, " for this string"), "end of input");
      char c = s_[j];
      if (c == q) break;
      if (c != '\\') {
        v += c;
        ++j;
        continue;
      }
      if (j + 1 >= s_.size()) return fail(i_, cat("a closing ", q, " for this string"), "end of input");
      char e = s_[j + 1];
      j += 2;
      switch (e) {
        case '\\': v += '\\'; break;
        case '\'': v += '\''; break;
        case '"': v += '"'; break;
        case '/': v += '/'; break;
        case 'n': v += '\n'; break;
        case 't': v += '\t'; break;
        case 'r': v += '\r'; break;
        case 'b': v += '\b'; break;
        case 'f': v += '\f'; break;
        case 'u': {
          auto cp = hex4(j);
          if (!cp) return fail(j - 2, "\\u and 4 hex digits", quote(s_.substr(j - 2, 6)));
          j += 4;
          if (*cp >= 0xdc00 && *cp <= 0xdfff)
            return fail(j - 6, "a high surrogate before this low one", quote(s_.substr(j - 6, 6)));
          if (*cp >= 0xd800 && *cp <= 0xdbff) {
            auto lo = at(j, '\\') && at(j + 1, 'u') ? hex4(j + 2) : std::nullopt;
            if (!lo || *lo < 0xdc00 || *lo > 0xdfff)
              return fail(j, "a low surrogate (\\uDC00-\\uDFFF)", quote(s_.substr(j, 6)));
            cp = 0x10000 + ((*cp - 0xd800) << 10) + (*lo - 0xdc00);
            j += 6;
          }
          append_utf8(v, *cp);
          break;
        }
        default:
          return fail(j - 2, "an escape (\\\\ \\' \\\" \\n \\t \\r \\b \\f \\/ \\uXXXX)",
                      quote(s_.substr(j - 2, 2)));
      }
    }
    t.k = token::kind::string;
    t.text = std::move(v);
    i_ = j + 1;
    return true;
  }

  std::optional<uint32_t> hex4(size_t j) const {
    if (j + 4 > s_.size()) return std::nullopt;
    uint32_t v = 0;
    for (size_t k = j; k < j + 4; ++k) {
      if (!hex_digit(s_[k])) return std::nullopt;
      char c = lower(s_[k]);
      v = v * 16 + static_cast<uint32_t>(digit(c) ? c - '0' : c - 'a' + 10);
    }
    return v;
  }

  std::string_view s_;
  size_t i_ = 0;
  std::optional<syntax_error> err_;
};

}  // namespace

std::string syntax_error::message() const {
  return cat("Syntax error at position ", position, ": expected ", expected, ", found ", found);
}

std::variant<std::vector<token>, syntax_error> lex(std::string_view text) {
  // A NUL byte is refused before anything else: it would cut the statement
  // short for anything downstream that sees it as a C string.
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    return syntax_error{nul, "text without NUL bytes", "a NUL byte"};
  return lexer(text).run();
}

std::string describe(std::string_view text, const token& t) {
  if (t.k == token::kind::end) return "end of input";
  assert(t.pos + t.len <= text.size());
  return quote(text.substr(t.pos, t.len));
}

}  // namespace troupe::query
