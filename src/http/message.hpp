// The plain data of one HTTP exchange (request, response, credentials) and the
// pure helpers around it: target parsing, Basic auth, error bodies.
//
// Nothing here touches a socket or includes Beast, so REST handlers and their
// tests include this header cheaply. The server (server.hpp) fills `request`
// from the wire and writes `response` back.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "src/util/result.hpp"

namespace troupe::http {

struct credentials {
  std::string user;
  std::string password;
  bool operator==(const credentials&) const = default;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// One request as the handler sees it. The handler owns it (it is moved in).
struct request {
  std::string method;                   // the method token as sent: "GET", "POST", ...
  std::string target;                   // raw request target: "/document/db/%2312:3?x=1"
  std::string path;                     // percent-decoded path, no query: "/document/db/#12:3"
  std::vector<std::string> segments;    // raw path split on '/', each percent-decoded, empty ones dropped
  header_list query;                    // decoded ('+' is a space), in order; "a" alone gives {"a", ""}
  header_list headers;                  // names lower-cased, values as sent (trimmed), in order
  std::string body;                     // de-chunked
  std::optional<credentials> auth;      // from "Authorization: Basic ..."
  bool auth_malformed = false;          // an Authorization header was present but is not valid Basic
  std::string remote;                   // peer "ip:port" ("[::1]:port" for IPv6)
  std::string remote_ip;                // peer address alone ("127.0.0.1", "::1"): the key of per-client limits
  int version = 11;                     // 10 = HTTP/1.0, 11 = HTTP/1.1

  // First value of header `lower_name` (REQUIRES: lower-case name), nullptr if absent.
  const std::string* header(std::string_view lower_name) const;
  // First value of query parameter `name`, nullptr if absent.
  const std::string* query_param(std::string_view name) const;
};

// What the handler answers. The server adds Server, Content-Length and
// Connection itself; a handler's Content-Length or Transfer-Encoding header is
// dropped, and its "Connection: close" makes the server close after writing.
// For HEAD the body is not sent (its size still goes in Content-Length); for
// 204 and 304 no body is sent at all.
//
// `send_delay` holds the response back that long before it is written, without
// blocking a thread (a timer on the connection): it slows down a client that
// guesses passwords. Capped at send_delay_max; nothing is read from the
// connection meanwhile.
struct response {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  header_list headers;
  std::chrono::milliseconds send_delay{0};
};

inline constexpr std::chrono::milliseconds send_delay_max{10'000};

// A JSON error response: status `code`, error_body() as body.
response error_response(int code, std::string_view content);

// {"errors":[{"code":404,"reason":"Not Found","content":"..."}]}
// Always valid JSON: `content` and `reason` are escaped, and bytes that are not
// valid UTF-8 become U+FFFD (a client's bad bytes echoed back must not break
// the JSON).
std::string error_body(int code, std::string_view reason, std::string_view content);

// "Not Found" for 404; "Unknown" for codes it does not know.
std::string reason_phrase(int status);

// Parses an Authorization header value of the Basic scheme (RFC 7617):
// "Basic" (any case), one or more spaces, standard base64 of "user:password"
// (padding optional). nullopt for another scheme, bad base64, no colon, an
// empty user name, or control characters in the decoded text.
std::optional<credentials> parse_basic_auth(std::string_view header_value);

// The decoded parts of a request target.
struct target_parts {
  std::string path;
  std::vector<std::string> segments;
  header_list query;
};

// Splits and decodes an origin-form target ("/a/b?x=1"); the absolute form
// ("http://host:2480/a/b") is reduced to its path and query, and "*" gives path
// "*". Errors (-> 400): a target of another shape, a raw space or control
// character, a bad percent escape ("%zz", a lone "%4"), or an escape that
// decodes to a NUL byte.
result<target_parts> parse_target(std::string_view target);

// Percent-decodes `s`; `plus_is_space` for query strings (form encoding).
// nullopt on a bad escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space);

}  // namespace troupe::http
