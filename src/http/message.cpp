#include "src/http/message.hpp"

#include <boost/json.hpp>

#include "src/util/strings.hpp"

namespace troupe::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard alphabet; padding optional but, when present, only at the end and
// making the length a multiple of 4.
std::optional<std::string> base64_decode(std::string_view in) {
  size_t pad = 0;
  while (!in.empty() && in.back() == '=') {
    in.remove_suffix(1);
    ++pad;
  }
  if (pad > 2 || (pad > 0 && (in.size() + pad) % 4 != 0)) return std::nullopt;
  if (in.size() % 4 == 1) return std::nullopt;  // 6 bits cannot make a byte
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = base64_value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

bool has_control_char(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return true;
  return false;
}

// Replaces every byte that does not start or continue a valid UTF-8 sequence
// (overlongs, surrogates and code points past U+10FFFF included) with U+FFFD.
std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    auto b0 = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (b0 < 0x80) {
      out += static_cast<char>(b0);
      ++i;
      continue;
    } else if ((b0 & 0xE0) == 0xC0) {
      len = 2;
      cp = b0 & 0x1F;
    } else if ((b0 & 0xF0) == 0xE0) {
      len = 3;
      cp = b0 & 0x0F;
    } else if ((b0 & 0xF8) == 0xF0) {
      len = 4;
      cp = b0 & 0x07;
    }
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) {
      auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (valid) {
      static constexpr uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
      valid = cp >= min_for_len[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
    }
    if (valid) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool iequals_ascii(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

const std::string* request::header(std::string_view lower_name) const {
  for (auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

const std::string* request::query_param(std::string_view name) const {
  for (auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

std::string reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
  }
  return "Unknown";
}

std::string error_body(int code, std::string_view reason, std::string_view content) {
  boost::json::object err;
  err["code"] = code;
  err["reason"] = sanitize_utf8(reason);
  err["content"] = sanitize_utf8(content);
  boost::json::array errors;
  errors.push_back(std::move(err));
  boost::json::object root;
  root["errors"] = std::move(errors);
  return boost::json::serialize(root);
}

response error_response(int code, std::string_view content) {
  response r;
  r.status = code;
  r.body = error_body(code, reason_phrase(code), content);
  return r;
}

std::optional<credentials> parse_basic_auth(std::string_view header_value) {
  auto v = trim(header_value);
  auto sp = v.find(' ');
  if (sp == std::string_view::npos || !iequals_ascii(v.substr(0, sp), "basic")) return std::nullopt;
  auto token = trim(v.substr(sp + 1));
  if (token.empty()) return std::nullopt;
  auto decoded = base64_decode(token);
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  if (has_control_char(*decoded)) return std::nullopt;
  return credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      char d = static_cast<char>(hi * 16 + lo);
      if (d == '\0') return std::nullopt;
      out += d;
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

result<target_parts> parse_target(std::string_view target) {
  target_parts parts;
  if (target == "*") {
    parts.path = "*";
    return parts;
  }
  // Absolute form (RFC 9112 §3.2.2): a server must accept it; the authority is
  // not ours to route on, so it is dropped.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (target.size() >= scheme.size() && iequals_ascii(target.substr(0, scheme.size()), scheme)) {
      auto rest = target.substr(scheme.size());
      auto slash = rest.find_first_of("/?");
      target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
      if (!target.empty() && target.front() == '?') return error_info{"", "", "request target has no path"};
      break;
    }
  }
  // Beast refuses these on the wire already; checked again because anyone may
  // call this function.
  for (unsigned char c : target)
    if (c <= 0x20 || c == 0x7F) return error_info{"", "", "request target contains a space or control character"};
  if (target.empty() || target.front() != '/')
    return error_info{"", "", cat("request target must start with '/': ", target)};

  auto qmark = target.find('?');
  auto raw_path = target.substr(0, qmark);
  auto raw_query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);

  auto path = percent_decode(raw_path, false);
  if (!path) return error_info{"", "", cat("bad percent-escape in path: ", raw_path)};
  parts.path = std::move(*path);

  // Segments are cut before decoding, so an escaped "%2F" stays inside its
  // segment (a SQL text in a query URL may contain slashes).
  size_t start = 1;
  while (start <= raw_path.size()) {
    auto end = raw_path.find('/', start);
    if (end == std::string_view::npos) end = raw_path.size();
    if (end > start) {
      auto seg = percent_decode(raw_path.substr(start, end - start), false);
      if (!seg) return error_info{"", "", cat("bad percent-escape in path: ", raw_path)};
      parts.segments.push_back(std::move(*seg));
    }
    start = end + 1;
  }

  size_t qs = 0;
  while (qs < raw_query.size()) {
    auto amp = raw_query.find('&', qs);
    if (amp == std::string_view::npos) amp = raw_query.size();
    auto piece = raw_query.substr(qs, amp - qs);
    qs = amp + 1;
    if (piece.empty()) continue;
    auto eq = piece.find('=');
    auto key = percent_decode(piece.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1), true);
    if (!key || !value) return error_info{"", "", cat("bad percent-escape in query: ", raw_query)};
    parts.query.emplace_back(std::move(*key), std::move(*value));
  }
  return parts;
}

}  // namespace troupe::http
