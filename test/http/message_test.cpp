#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <random>

#include "src/http/message.hpp"

using namespace troupe;
using namespace troupe::http;

TEST_CASE("http: parse_basic_auth accepts well-formed Basic credentials only") {
  struct row {
    const char* header;
    std::optional<credentials> expected;
  };
  const row rows[] = {
      {"Basic cm9vdDpyb290", credentials{"root", "root"}},             // root:root
      {"basic cm9vdDpyb290", credentials{"root", "root"}},             // scheme is case-insensitive
      {"BASIC   cm9vdDpyb290  ", credentials{"root", "root"}},         // extra spaces
      {"Basic YWRtaW46", credentials{"admin", ""}},                    // admin: (empty password)
      {"Basic dTpwOnE=", credentials{"u", "p:q"}},                     // u:p:q (colon in password)
      {"Basic dTpwOnE", credentials{"u", "p:q"}},                      // padding left out
      {"Basic 0L/RgNC40LLQtdGCOtC80LjRgA==", credentials{"\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82",
                                                        "\xd0\xbc\xd0\xb8\xd1\x80"}},  // UTF-8
      {"", std::nullopt},                                              // empty
      {"Basic", std::nullopt},                                         // no token
      {"Basic ", std::nullopt},                                        // empty token
      {"Bearer cm9vdDpyb290", std::nullopt},                           // wrong scheme
      {"Digest username=\"root\"", std::nullopt},                      // wrong scheme
      {"Basiccm9vdDpyb290", std::nullopt},                             // no space after scheme
      {"Basic cm9vdDpyb29*", std::nullopt},                            // bad base64 character
      {"Basic cm9vdDpyb290=", std::nullopt},                           // padding that breaks the length
      {"Basic cm9v=dDpy", std::nullopt},                               // padding in the middle
      {"Basic cm9vdA==", std::nullopt},                                // "root": no colon
      {"Basic OnB3ZA==", std::nullopt},                                // ":pwd": empty user
      {"Basic dQ1wOnE=", std::nullopt},                                // control character in the user
      {"Basic cm9vdDpyb290a", std::nullopt},                           // 6 dangling bits
  };
  for (auto& r : rows) {
    CAPTURE(r.header);
    CHECK(parse_basic_auth(r.header) == r.expected);
  }
}

TEST_CASE("http: parse_target splits and decodes path segments and the query") {
  auto t = parse_target("/document/demo/%2312:3/*:-1?updateMode=partial&x=a+b%20c&flag&&=v");
  REQUIRE(t.ok());
  CHECK(t->path == "/document/demo/#12:3/*:-1");
  CHECK(t->segments == std::vector<std::string>{"document", "demo", "#12:3", "*:-1"});
  REQUIRE(t->query.size() == 4);
  CHECK(t->query[0] == std::pair<std::string, std::string>{"updateMode", "partial"});
  CHECK(t->query[1] == std::pair<std::string, std::string>{"x", "a b c"});
  CHECK(t->query[2] == std::pair<std::string, std::string>{"flag", ""});
  CHECK(t->query[3] == std::pair<std::string, std::string>{"", "v"});
}

TEST_CASE("http: parse_target keeps an escaped slash inside its segment and '+' in paths") {
  auto t = parse_target("/query/demo/sql/select%20from%20V%20where%20p%20%3D%20'a%2Fb+c'/20");
  REQUIRE(t.ok());
  CHECK(t->segments == std::vector<std::string>{"query", "demo", "sql", "select from V where p = 'a/b+c'", "20"});
}

TEST_CASE("http: parse_target drops empty segments and handles the root, '*' and absolute forms") {
  auto root = parse_target("/");
  REQUIRE(root.ok());
  CHECK(root->path == "/");
  CHECK(root->segments.empty());

  auto doubled = parse_target("//listDatabases//");
  REQUIRE(doubled.ok());
  CHECK(doubled->segments == std::vector<std::string>{"listDatabases"});

  auto star = parse_target("*");
  REQUIRE(star.ok());
  CHECK(star->path == "*");

  auto abs = parse_target("http://localhost:2480/connect/demo?a=1");
  REQUIRE(abs.ok());
  CHECK(abs->segments == std::vector<std::string>{"connect", "demo"});
  REQUIRE(abs->query.size() == 1);

  auto abs_root = parse_target("http://localhost:2480");
  REQUIRE(abs_root.ok());
  CHECK(abs_root->path == "/");
}

TEST_CASE("http: parse_target refuses bad escapes, NUL bytes and targets without a leading slash") {
  for (const char* bad : {"/a/%zz", "/a/%4", "/a/%", "/a%g1/b", "/a?x=%zz", "/a?%=1", "/a/%00", "/a?x=%00",
                          "document/db", "", "http://host?x=1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_target(bad).ok());
  }
}

TEST_CASE("http: error_body is valid JSON of OrientDB's shape, whatever the content") {
  for (std::string content : {std::string("plain"), std::string("quote \" backslash \\ newline \n tab \t"),
                              std::string("bad utf-8 \xff\xfe and \xc0\xaf overlong"), std::string("\0nul", 4),
                              std::string("</script><script>")}) {
    CAPTURE(content);
    auto body = error_body(404, "Not Found", content);
    boost::json::error_code ec;
    auto v = boost::json::parse(body, ec);
    REQUIRE_FALSE(ec);
    auto& errs = v.at("errors").as_array();
    REQUIRE(errs.size() == 1);
    CHECK(errs[0].at("code").as_int64() == 404);
    CHECK(errs[0].at("reason").as_string() == "Not Found");
    CHECK(errs[0].at("content").is_string());
  }
  auto v = boost::json::parse(error_body(400, "Bad Request", "a \"b\""));
  CHECK(v.at("errors").at(0).at("content").as_string() == "a \"b\"");
}

TEST_CASE("http: reason_phrase knows the statuses the server sends") {
  CHECK(reason_phrase(200) == "OK");
  CHECK(reason_phrase(204) == "No Content");
  CHECK(reason_phrase(400) == "Bad Request");
  CHECK(reason_phrase(401) == "Unauthorized");
  CHECK(reason_phrase(404) == "Not Found");
  CHECK(reason_phrase(413) == "Payload Too Large");
  CHECK(reason_phrase(431) == "Request Header Fields Too Large");
  CHECK(reason_phrase(500) == "Internal Server Error");
  CHECK(reason_phrase(503) == "Service Unavailable");
  CHECK(reason_phrase(505) == "HTTP Version Not Supported");
  CHECK(reason_phrase(299) == "Unknown");
}

TEST_CASE("http: error_response carries the JSON body and the status") {
  auto r = error_response(409, "version mismatch");
  CHECK(r.status == 409);
  CHECK(r.content_type.find("application/json") == 0);
  CHECK(r.body.find("\"Conflict\"") != std::string::npos);
}

// A small deterministic fuzz pass over the parsers that read client input: no
// crash, no hang, and the invariants of a successful parse hold.
TEST_CASE("http: parse_target, percent_decode and parse_basic_auth survive random input") {
  const uint32_t seed = 20240611;
  CAPTURE(seed);
  std::mt19937 rng(seed);
  static constexpr char raw[] = "/%?&=+:#aZ09\x00\xff .-_2F3Ab/c/d";
  const std::string alphabet(raw, sizeof raw - 1);
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    size_t len = rng() % 40;
    for (size_t k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    if (rng() % 2) s = "/" + s;  // not insert(0, ...): GCC 12 warns falsely (-Wrestrict)
    auto t = parse_target(s);
    if (t.ok()) {
      ++parsed;
      for (auto& seg : t->segments)
        if (seg.empty()) FAIL_CHECK("empty segment from " << s);
      if (t->path.find('\0') != std::string::npos) FAIL_CHECK("NUL in path from " << s);
    }
    auto d = percent_decode(s, true);
    if (d && d->size() > s.size()) FAIL_CHECK("decoding grew " << s);
    auto a = parse_basic_auth("Basic " + s);
    if (a && a->user.empty()) FAIL_CHECK("empty user from " << s);
  }
  MESSAGE("targets parsed: " << parsed);
  CHECK(parsed > 1000);  // the generator does reach the success paths
}
