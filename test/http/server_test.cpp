// The server over real loopback sockets. Ports come from 42460-42499 so that
// tests running a dserver on 2480 elsewhere do not clash.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "src/http/server.hpp"
#include "test/http/test_client.hpp"

using namespace troupe;
using namespace troupe::http;
using troupe::test::make_request;
using troupe::test::raw_response;
using troupe::test::test_client;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

// Polls `pred` until it holds or `timeout` passes; for state only observable
// by asking (connection counts), never as a stand-in for a fixed sleep.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = 5s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

server_options test_options(uint16_t first = 22480, uint16_t last = 22490) {
  server_options o;
  o.ip = "127.0.0.1";
  o.port_first = first;
  o.port_last = last;
  o.body_limit_bytes = 1024;
  o.header_limit_bytes = 2048;
  o.idle_timeout = 30s;
  return o;
}

std::string echo_json(const request& r) {
  json::object o;
  o["method"] = r.method;
  o["target"] = r.target;
  o["path"] = r.path;
  json::array segs;
  for (auto& s : r.segments) segs.emplace_back(s);
  o["segments"] = std::move(segs);
  json::array q;
  for (auto& [k, v] : r.query) q.emplace_back(json::array{json::string(k), json::string(v)});
  o["query"] = std::move(q);
  json::object h;
  for (auto& [k, v] : r.headers) h[k] = v;
  o["headers"] = std::move(h);
  o["body"] = r.body;
  o["user"] = r.auth ? r.auth->user : "";
  o["password"] = r.auth ? r.auth->password : "";
  o["auth_malformed"] = r.auth_malformed;
  o["remote"] = r.remote;
  o["version"] = r.version;
  return json::serialize(o);
}

// A server whose handler echoes the request as JSON, with a few special routes:
//   /park/...    keeps the responder in `parked` (answered later by the test)
//   /throw       throws
//   /drop        drops the responder unanswered
//   /status/N    answers status N with body "x"
//   /twice       answers twice (the second must be ignored)
//   /headers     sets custom headers, some invalid
struct fixture {
  explicit fixture(server_options o = test_options()) : log("test", [](log_level, std::string_view) {}, log_level::debug) {
    log.set_tee([this](log_level, std::string_view rec) {
      std::lock_guard<std::mutex> g(m);
      lines.emplace_back(rec);
    });
    srv = std::make_unique<server>(std::move(o), [this](request&& r, responder reply) { handle(std::move(r), reply); },
                                   &log);
  }

  void handle(request&& r, const responder& reply) {
    ++handled;
    std::string first = r.segments.empty() ? "" : r.segments[0];
    if (first == "park") {
      std::lock_guard<std::mutex> g(m);
      parked.push_back(reply);
      cv.notify_all();
      return;
    }
    if (first == "throw") throw std::runtime_error("boom");
    if (first == "drop") return;
    if (first == "status" && r.segments.size() > 1) {
      response res;
      res.status = std::stoi(r.segments[1]);
      res.body = "x";
      res.content_type = "text/plain";
      reply(res);
      return;
    }
    if (first == "twice") {
      response a;
      a.body = "first";
      reply(a);
      response b;
      b.body = "second";
      reply(b);
      return;
    }
    if (first == "headers") {
      response res;
      res.body = "{}";
      res.headers = {{"OSESSIONID", "OS123"},
                     {"X-Injected", "a\r\nSet-Cookie: evil=1"},
                     {"Bad Name", "v"},
                     {"Content-Length", "99999"},
                     {"Connection", "close"}};
      reply(res);
      return;
    }
    response res;
    res.body = echo_json(r);
    reply(res);
  }

  bool wait_parked(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock<std::mutex> lk(m);
    return cv.wait_for(lk, timeout, [&] { return parked.size() >= n; });
  }
  responder take_parked(size_t i) {
    std::lock_guard<std::mutex> g(m);
    return parked.at(i);
  }
  bool logged(std::string_view needle) {
    std::lock_guard<std::mutex> g(m);
    for (auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }

  uint16_t start() {
    auto p = srv->start();
    REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().render()));
    return *p;
  }

  logger log;
  std::mutex m;
  std::condition_variable cv;
  std::vector<responder> parked;
  std::vector<std::string> lines;
  std::atomic<int> handled{0};  // requests that reached the handler
  std::unique_ptr<server> srv;
};

json::value echo_of(const raw_response& r) {
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  REQUIRE_MESSAGE(!ec, r.body);
  return v;
}

void check_error_body(const raw_response& r, int status) {
  CHECK(r.status == status);
  CHECK(r.header("content-type").find("application/json") == 0);
  json::error_code ec;
  auto v = json::parse(r.body, ec);
  REQUIRE_MESSAGE(!ec, r.body);
  REQUIRE(v.is_object());
  auto& errs = v.at("errors").as_array();
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].at("code").as_int64() == status);
  CHECK(errs[0].at("reason").as_string() == reason_phrase(status));
  CHECK(errs[0].at("content").is_string());
}

}  // namespace

TEST_CASE("http server: GET, POST, PUT, DELETE reach the handler with decoded path, query, headers and body") {
  fixture f;
  auto port = f.start();
  CHECK(f.logged("Listening http connections on 127.0.0.1:" + std::to_string(port)));
  test_client c(port);
  REQUIRE(c.connected());

  REQUIRE(c.send(make_request("GET", "/document/demo/%2312:3?fetchPlan=*%3A-1&x=a+b", "",
                              "X-Custom: Value\r\nAuthorization: Basic cm9vdDpyb290\r\n")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->reason == "OK");
  CHECK(r->header("server") == "troupe");
  CHECK(r->header("content-type") == "application/json; charset=utf-8");
  auto v = echo_of(*r);
  CHECK(v.at("method").as_string() == "GET");
  CHECK(v.at("path").as_string() == "/document/demo/#12:3");
  CHECK(v.at("target").as_string() == "/document/demo/%2312:3?fetchPlan=*%3A-1&x=a+b");
  CHECK(v.at("segments") == json::array{"document", "demo", "#12:3"});
  CHECK(v.at("query") == json::array{json::array{"fetchPlan", "*:-1"}, json::array{"x", "a b"}});
  CHECK(v.at("headers").at("x-custom").as_string() == "Value");
  CHECK(v.at("headers").at("host").as_string() == "test");
  CHECK(v.at("user").as_string() == "root");
  CHECK(v.at("password").as_string() == "root");
  CHECK(v.at("auth_malformed").as_bool() == false);
  CHECK(v.at("remote").as_string().find("127.0.0.1:") == 0);
  CHECK(v.at("version").as_int64() == 11);

  for (std::string method : {"POST", "PUT", "DELETE"}) {
    CAPTURE(method);
    std::string body = "{\"@class\":\"V\",\"name\":\"" + method + "\"}";
    REQUIRE(c.send(make_request(method, "/document/demo", body, "Authorization: Bearer xyz\r\n")));
    auto rr = c.read_response();
    REQUIRE(rr);
    CHECK(rr->status == 200);
    auto e = echo_of(*rr);
    CHECK(e.at("method").as_string() == method);
    CHECK(e.at("body").as_string() == body);
    CHECK(e.at("user").as_string() == "");
    CHECK(e.at("auth_malformed").as_bool() == true);
  }
}

TEST_CASE("http server: a chunked request body arrives de-chunked") {
  fixture f;
  test_client c(f.start());
  REQUIRE(c.send("POST /batch/demo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(echo_of(*r).at("body").as_string() == "hello world");
}

TEST_CASE("http server: HEAD gets the headers of GET and no body") {
  fixture f;
  test_client c(f.start());
  REQUIRE(c.send(make_request("GET", "/listDatabases")));
  auto get = c.read_response();
  REQUIRE(get);
  REQUIRE(c.send(make_request("HEAD", "/listDatabases")));
  auto head = c.read_response(5s, true);
  REQUIRE(head);
  CHECK(head->status == 200);
  CHECK(head->body.empty());
  // Same length as the GET's body, apart from the method name in the echo.
  CHECK(std::stoul(head->header("content-length")) == get->body.size() + 1);
  // Nothing else arrives: the connection carries the next response cleanly.
  REQUIRE(c.send(make_request("GET", "/after-head")));
  auto next = c.read_response();
  REQUIRE(next);
  CHECK(echo_of(*next).at("path").as_string() == "/after-head");
}

TEST_CASE("http server: keep-alive serves several requests on one connection, Connection: close ends it") {
  fixture f;
  test_client c(f.start());
  for (int i = 0; i < 5; ++i) {
    REQUIRE(c.send(make_request("GET", "/n/" + std::to_string(i))));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(echo_of(*r).at("segments").at(1).as_string() == std::to_string(i));
    CHECK(r->header("connection") != "close");
  }
  CHECK(f.srv->connection_count() == 1);
  REQUIRE(c.send(make_request("GET", "/bye", "", "Connection: close\r\n")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(r->header("connection") == "close");
  CHECK(c.wait_closed());
  CHECK(wait_until([&] { return f.srv->connection_count() == 0; }));
}

TEST_CASE("http server: HTTP/1.0 closes unless the client asks for keep-alive") {
  fixture f;
  auto port = f.start();
  {
    test_client c(port);
    REQUIRE(c.send("GET /old HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->version == "HTTP/1.0");
    CHECK(echo_of(*r).at("version").as_int64() == 10);
    CHECK(c.wait_closed());
  }
  {
    test_client c(port);
    for (int i = 0; i < 2; ++i) {
      REQUIRE(c.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
      auto r = c.read_response();
      REQUIRE(r);
      CHECK(r->header("connection") == "keep-alive");
    }
    CHECK_FALSE(c.wait_closed(100ms));
  }
}

TEST_CASE("http server: pipelined requests are answered one at a time, in order") {
  fixture f;
  test_client c(f.start());
  REQUIRE(c.send(make_request("GET", "/p/1") + make_request("POST", "/p/2", "body") + make_request("GET", "/p/3")));
  for (std::string n : {"1", "2", "3"}) {
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(echo_of(*r).at("segments").at(1).as_string() == n);
  }
}

TEST_CASE("http server: a responder called later from another thread delivers the response") {
  fixture f;
  test_client c(f.start());
  REQUIRE(c.send(make_request("GET", "/park/1")));
  std::thread worker([&] {
    REQUIRE(f.wait_parked(1));
    response r;
    r.status = 201;
    r.body = "{\"late\":true}";
    r.headers = {{"OSESSIONID", "OS42"}};
    f.take_parked(0)(r);
  });
  auto r = c.read_response();
  worker.join();
  REQUIRE(r);
  CHECK(r->status == 201);
  CHECK(r->body == "{\"late\":true}");
  CHECK(r->header("osessionid") == "OS42");
  // The connection goes on reading after a late answer.
  REQUIRE(c.send(make_request("GET", "/again")));
  auto again = c.read_response();
  REQUIRE(again);
  CHECK(again->status == 200);
}

TEST_CASE("http server: a responder called after the client left does no harm") {
  fixture f;
  auto port = f.start();
  {
    test_client c(port);
    REQUIRE(c.send(make_request("GET", "/park/gone")));
    REQUIRE(f.wait_parked(1));
  }  // the client closes while the handler still works
  std::thread worker([&] {
    response r;
    r.body = std::string(100000, 'x');  // big enough to hit the reset while writing
    f.take_parked(0)(r);
  });
  worker.join();
  CHECK(wait_until([&] { return f.srv->connection_count() == 0; }));
  test_client c2(port);
  REQUIRE(c2.send(make_request("GET", "/still-serving")));
  auto r = c2.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
}

TEST_CASE("http server: a second answer is ignored, a dropped responder and a throwing handler give 500") {
  fixture f;
  test_client c(f.start());
  REQUIRE(c.send(make_request("GET", "/twice")));
  auto r = c.read_response();
  REQUIRE(r);
  CHECK(r->body == "first");

  REQUIRE(c.send(make_request("GET", "/drop")));
  auto dropped = c.read_response();
  REQUIRE(dropped);
  check_error_body(*dropped, 500);

  REQUIRE(c.send(make_request("GET", "/throw")));
  auto thrown = c.read_response();
  REQUIRE(thrown);
  check_error_body(*thrown, 500);
  CHECK(thrown->body.find("boom") != std::string::npos);
  CHECK(f.logged("request handler threw: boom"));

  // Still the same connection: nothing above closed it.
  REQUIRE(c.send(make_request("GET", "/ok")));
  auto ok = c.read_response();
  REQUIRE(ok);
  CHECK(ok->status == 200);
}

TEST_CASE("http server: handler headers are checked, 204 carries no body, bad statuses become 500") {
  fixture f;
  test_client c(f.start());
  REQUIRE(c.send(make_request("GET", "/status/204")));
  auto nc = c.read_response();
  REQUIRE(nc);
  CHECK(nc->status == 204);
  CHECK_FALSE(nc->has_header("content-length"));
  CHECK(nc->reason == "No Content");

  REQUIRE(c.send(make_request("GET", "/status/404")));
  auto nf = c.read_response();
  REQUIRE(nf);
  CHECK(nf->status == 404);
  CHECK(nf->body == "x");
  CHECK(nf->header("content-type") == "text/plain");

  REQUIRE(c.send(make_request("GET", "/status/99")));
  auto bad = c.read_response();
  REQUIRE(bad);
  check_error_body(*bad, 500);

  REQUIRE(c.send(make_request("GET", "/headers")));
  auto h = c.read_response();
  REQUIRE(h);
  CHECK(h->header("osessionid") == "OS123");
  CHECK_FALSE(h->has_header("x-injected"));
  CHECK_FALSE(h->has_header("set-cookie"));
  CHECK(h->header("content-length") == "2");
  CHECK(h->header("connection") == "close");  // the handler asked for it
  CHECK(c.wait_closed());
}

TEST_CASE("http server: Expect: 100-continue gets a 100 before the body, or 413 at once when too big") {
  fixture f;
  auto port = f.start();
  {
    test_client c(port);
    REQUIRE(c.send("POST /document/demo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    auto cont = c.read_response();
    REQUIRE(cont);
    CHECK(cont->status == 100);
    REQUIRE(c.send("abcd"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(echo_of(*r).at("body").as_string() == "abcd");
  }
  {
    test_client c(port);
    REQUIRE(c.send("POST /document/demo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    check_error_body(*r, 413);
    CHECK(c.wait_closed());
  }
}

TEST_CASE("http server: malformed and abusive requests get an error status, a JSON body and a close") {
  struct row {
    std::string name;
    std::string bytes;
    int status;
    bool shutdown_write = false;  // the client stops sending (a truncated request)
  };
  const std::string big(3000, 'a');
  const std::vector<row> rows = {
      {"garbage bytes", std::string("\x01\x02\x03\xff garbage\r\n\r\n"), 400},
      {"TLS hello on the plain port", std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 400, true},
      {"bad method token", "GE(T / HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"bad version syntax", "GET / HTTP/1.a\r\nHost: t\r\n\r\n", 400},
      {"not HTTP at all", "GET / FTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"unsupported version", "GET / HTTP/3.0\r\nHost: t\r\n\r\n", 505},
      {"unsupported version HTTP/1.2", "GET / HTTP/1.2\r\nHost: t\r\n\r\n", 505},
      {"HTTP/0.9 request line", "GET /\r\n\r\n", 400},
      {"HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400},
      {"target without leading slash", "GET abc HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"bad percent-escape", "GET /document/%zz HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"truncated percent-escape", "GET /document/%4 HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"escaped NUL", "GET /a%00b HTTP/1.1\r\nHost: t\r\n\r\n", 400},
      {"header without colon", "GET / HTTP/1.1\r\nHost t\r\n\r\n", 400},
      {"control byte in a header", "GET / HTTP/1.1\r\nHost: t\r\nX: a\x01z\r\n\r\n", 400},
      {"Content-Length not a number", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400},
      {"negative Content-Length", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n", 400},
      {"conflicting Content-Lengths", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
       400},
      {"Content-Length and chunked",
       "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 400},
      {"unsupported Transfer-Encoding", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nabc", 400},
      {"bad chunk size", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
      {"truncated chunked body", "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc", 400,
       true},
      {"truncated Content-Length body", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", 400, true},
      {"body over the limit (Content-Length)",
       "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n" + std::string(2000, 'b'), 413},
      {"body over the limit (chunked)",
       "POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n400\r\n" + std::string(1024, 'c') +
           "\r\n400\r\n" + std::string(1024, 'd') + "\r\n0\r\n\r\n",
       413},
      {"header over the limit", "GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + big + "\r\n\r\n", 431},
      {"request line over the limit", "GET /" + big + " HTTP/1.1\r\nHost: t\r\n\r\n", 431},
      {"unsupported Expect", "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: magic\r\n\r\nabc", 417},
  };
  fixture f;
  auto port = f.start();
  for (auto& r : rows) {
    CAPTURE(r.name);
    test_client c(port);
    REQUIRE(c.connected());
    c.send(r.bytes);  // may fail half-way once the server answered: that is fine
    if (r.shutdown_write) c.shutdown_write();
    auto res = c.read_response();
    REQUIRE_MESSAGE(res, "no response, pending: " << c.pending());
    check_error_body(*res, r.status);
    CHECK(res->header("connection") == "close");
    CHECK(res->header("server") == "troupe");
    CHECK(c.wait_closed());
  }
  CHECK(wait_until([&] { return f.srv->connection_count() == 0; }));
  CHECK(rows.size() >= 10);
}

TEST_CASE("http server: start takes the first free port of the range and names a full range") {
  fixture a(test_options(22470, 22471));
  fixture b(test_options(22470, 22471));
  fixture c(test_options(22470, 22471));
  auto pa = a.start();
  auto pb = b.start();
  CHECK(pa >= 22470);
  CHECK(pb > pa);
  CHECK(pb <= 22471);
  auto pc = c.srv->start();
  REQUIRE_FALSE(pc.ok());
  CHECK(pc.error().what.find("127.0.0.1:22470-22471") != std::string::npos);
  CHECK(pc.error().what.find("in use") != std::string::npos);
  CHECK(c.srv->port() == 0);

  auto again = a.srv->start();
  CHECK_FALSE(again.ok());

  // Both serve.
  for (auto p : {pa, pb}) {
    test_client cl(p);
    REQUIRE(cl.send(make_request("GET", "/x")));
    auto r = cl.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
  }

  fixture bad_ip(test_options());
  bad_ip.srv.reset(new server(
      [] {
        auto o = test_options();
        o.ip = "not-an-ip";
        return o;
      }(),
      [](request&&, responder) {}, nullptr));
  auto e = bad_ip.srv->start();
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().what.find("not-an-ip") != std::string::npos);
}

TEST_CASE("http server: beyond max_connections a connection is refused, counted and logged") {
  auto o = test_options();
  o.max_connections = 2;
  fixture f(o);
  auto port = f.start();
  auto a = std::make_unique<test_client>(port);
  test_client b(port);
  for (auto* c : {a.get(), &b}) {
    REQUIRE(c->send(make_request("GET", "/x")));
    REQUIRE(c->read_response());
  }
  test_client third(port);
  REQUIRE(third.connected());  // the kernel accepts; the server answers and closes
  auto r = third.read_response();
  if (r) check_error_body(*r, 503);
  CHECK(third.wait_closed());
  CHECK(f.srv->refused_count() == 1);
  CHECK(f.logged("over max_connections=2"));

  a.reset();
  REQUIRE(wait_until([&] { return f.srv->connection_count() == 1; }));
  test_client d(port);
  REQUIRE(d.send(make_request("GET", "/x")));
  auto rd = d.read_response();
  REQUIRE(rd);
  CHECK(rd->status == 200);
}

TEST_CASE("http server: an idle keep-alive connection is closed after idle_timeout") {
  auto o = test_options();
  o.idle_timeout = 1s;
  fixture f(o);
  test_client c(f.start());
  REQUIRE(c.send(make_request("GET", "/x")));
  REQUIRE(c.read_response());
  auto t0 = std::chrono::steady_clock::now();
  CHECK(c.wait_closed(10s));
  CHECK(std::chrono::steady_clock::now() - t0 >= 900ms);
  CHECK(wait_until([&] { return f.srv->connection_count() == 0; }));
}

TEST_CASE("http server: stop closes open connections promptly; responders after stop and destruction do nothing") {
  auto f = std::make_unique<fixture>();
  auto port = f->start();
  test_client idle(port);
  REQUIRE(idle.send(make_request("GET", "/x")));
  REQUIRE(idle.read_response());
  test_client silent(port);
  test_client waiting1(port);
  test_client waiting2(port);
  REQUIRE(waiting1.send(make_request("GET", "/park/1")));
  REQUIRE(f->wait_parked(1));
  REQUIRE(waiting2.send(make_request("GET", "/park/2")));
  REQUIRE(f->wait_parked(2));
  REQUIRE(wait_until([&] { return f->srv->connection_count() == 4; }));

  auto t0 = std::chrono::steady_clock::now();
  f->srv->stop();
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < 2s);
  CHECK(f->srv->connection_count() == 0);
  for (auto* c : {&idle, &silent, &waiting1, &waiting2}) CHECK(c->wait_closed(2s));
  test_client after(port);
  CHECK_FALSE(after.connected());
  f->srv->stop();  // idempotent

  auto r1 = f->take_parked(0);
  auto r2 = f->take_parked(1);
  std::thread late([&] { r1(response{}); });  // after stop(), from another thread
  late.join();
  f->parked.clear();
  f->srv.reset();  // the server is gone
  r2(response{});  // after destruction
  auto r3 = r2;    // copies share the slot; destroying them after the server is fine too
  r2 = nullptr;
  r3 = nullptr;
  f.reset();
}

TEST_CASE("http server: several io threads serve concurrent clients") {
  auto o = test_options();
  o.io_threads = 3;
  fixture f(o);
  auto port = f.start();
  constexpr int clients = 6, requests_each = 30;
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < clients; ++i)
    ts.emplace_back([&, i] {
      test_client c(port);
      for (int k = 0; k < requests_each; ++k) {
        std::string path = "/c/" + std::to_string(i) + "/" + std::to_string(k);
        if (!c.send(make_request("POST", path, "payload"))) return;
        auto r = c.read_response();
        if (!r || r->status != 200) return;
        auto v = json::parse(r->body);
        if (v.at("path").as_string() == path) ++ok;
      }
    });
  for (auto& t : ts) t.join();
  CHECK(ok.load() == clients * requests_each);
}

// Seeded mutations of valid requests over the socket: every one is answered
// (with a JSON error body when refused) or closed, and the server keeps serving.
TEST_CASE("http server: randomly mutated requests are answered or closed, and the server keeps serving") {
  const uint32_t seed = 4242;
  CAPTURE(seed);
  std::mt19937 rng(seed);
  const std::vector<std::string> seeds = {
      make_request("GET", "/document/demo/%2312:3?x=1"),
      make_request("POST", "/command/demo/sql", "select from V"),
      "POST /batch/demo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  };
  static constexpr char noise[] = "\r\n :%/\x00\xff" "0123456789abcdefHTTP/1.";
  fixture f;
  auto port = f.start();
  int answered = 0;
  for (int i = 0; i < 150; ++i) {
    std::string req = seeds[rng() % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !req.empty(); ++e) {
      size_t at = rng() % req.size();
      switch (rng() % 4) {
        case 0: req[at] = noise[rng() % (sizeof noise - 1)]; break;
        case 1: req.erase(at, 1 + rng() % 8); break;
        case 2: req.insert(at, 1, noise[rng() % (sizeof noise - 1)]); break;
        case 3: req.insert(at, req.substr(at, rng() % 16)); break;
      }
    }
    CAPTURE(i);
    CAPTURE(req);
    test_client c(port);
    REQUIRE(c.connected());
    c.send(req);
    c.shutdown_write();  // a request left incomplete must not wait for the idle timeout
    while (auto r = c.read_response(5s)) {
      ++answered;
      if (r->status != 100 && r->status != 200) check_error_body(*r, r->status);
    }
    CHECK(c.wait_closed(5s));
  }
  CHECK(answered > 0);
  test_client ok(port);
  REQUIRE(ok.send(make_request("GET", "/x")));
  auto r = ok.read_response();
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(wait_until([&] { return f.srv->connection_count() <= 1; }));
}

TEST_CASE("http server: check_header answers from the headers: the body is never read and the handler never called") {
  // Lets a request with a body on only with user root; counts what it saw.
  std::atomic<int> checked{0}, with_body{0};
  auto o = test_options();
  o.body_limit_bytes = 32u << 20;  // a 16 MiB body is allowed: the check, not the limit, refuses it
  o.check_header = [&](const request& head, bool body_follows) -> std::optional<response> {
    ++checked;
    if (body_follows) ++with_body;
    if (head.remote_ip != "127.0.0.1") return error_response(500, "remote_ip not filled in: " + head.remote_ip);
    if (!body_follows || (head.auth && head.auth->user == "root")) return std::nullopt;
    if (head.path == "/throw") throw std::runtime_error("check boom");
    auto r = error_response(401, "Authentication required");
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"OrientDB Server\"");
    return r;
  };
  fixture f(o);
  auto port = f.start();
  const std::string root = "Authorization: Basic cm9vdDpyb290\r\n";  // root:root
  const std::string wrong = "Authorization: Basic d3Jvbmc6d3Jvbmc=\r\n";  // wrong:wrong

  SUBCASE("a 16 MiB body without credentials: 401 after the headers alone") {
    for (const auto& auth : {std::string(), wrong}) {
      test_client c(port);
      REQUIRE(c.send("POST /document/demo HTTP/1.1\r\nHost: t\r\n" + auth + "Content-Length: 16777216\r\n\r\n"));
      auto r = c.read_response(5s);  // the client never sends a body byte
      REQUIRE(r);
      check_error_body(*r, 401);
      CHECK(r->header("www-authenticate") == "Basic realm=\"OrientDB Server\"");
      CHECK(r->header("connection") == "close");
      CHECK(c.wait_closed(5s));  // the lingering close ends after linger_timeout at the latest
    }
    test_client chunked(port);
    REQUIRE(chunked.send("POST /document/demo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
    auto r = chunked.read_response(5s);
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(with_body.load() == 3);
    CHECK(f.handled.load() == 0);
  }
  SUBCASE("Expect: 100-continue gets the 401 instead of the 100") {
    test_client c(port);
    REQUIRE(c.send("POST /document/demo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 401);
    CHECK(c.wait_closed());
    CHECK(f.handled.load() == 0);
  }
  SUBCASE("a request the check lets on is read and handled as before, on a kept-alive connection") {
    test_client c(port);
    REQUIRE(c.send(make_request("POST", "/document/demo", "abcd", root)));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(echo_of(*r).at("body").as_string() == "abcd");
    REQUIRE(c.send(make_request("GET", "/no-body-no-auth")));  // no body: the check lets it on
    auto g = c.read_response();
    REQUIRE(g);
    CHECK(g->status == 200);
    CHECK(f.handled.load() == 2);
    CHECK(checked.load() == 2);
  }
  SUBCASE("a throwing check gives 500 and a close") {
    test_client c(port);
    REQUIRE(c.send(make_request("POST", "/throw", "abcd")));
    auto r = c.read_response();
    REQUIRE(r);
    check_error_body(*r, 500);
    CHECK(c.wait_closed());
    CHECK(f.logged("header check threw: check boom"));
    CHECK(f.handled.load() == 0);
  }
}

TEST_CASE("http server: a request whose headers are not complete within header_timeout is closed") {
  auto o = test_options();
  o.header_timeout = 1s;
  fixture f(o);
  auto port = f.start();
  const auto bound = o.header_timeout + 1s;

  SUBCASE("half a header") {
    test_client c(port);
    REQUIRE(c.send("GET / HTTP/1.1\r\nHo"));
    auto t0 = std::chrono::steady_clock::now();
    CHECK(c.wait_closed(bound));
    CHECK(std::chrono::steady_clock::now() - t0 >= 900ms);
  }
  SUBCASE("nothing at all after the connect") {
    test_client c(port);
    CHECK(c.wait_closed(bound));
  }
  SUBCASE("a header dribbled one byte at a time") {
    test_client c(port);
    const std::string req = make_request("GET", "/slow", "", "X-Pad: " + std::string(200, 'p') + "\r\n");
    auto t0 = std::chrono::steady_clock::now();
    bool closed = false;
    // One byte per 50 ms would take over 10 s; each wait_closed paces and watches.
    for (size_t i = 0; i < req.size() && !closed; ++i) {
      if (!c.send(std::string_view(req).substr(i, 1))) break;
      closed = c.wait_closed(50ms);
    }
    closed = closed || c.wait_closed(bound);
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - t0 < bound + 500ms);
    CHECK(c.pending().empty());  // closed without an answer
  }
  SUBCASE("on keep-alive, waiting for the next request is idle time; its headers then get header_timeout") {
    test_client c(port);
    REQUIRE(c.send(make_request("GET", "/first")));
    REQUIRE(c.read_response());
    CHECK_FALSE(c.wait_closed(bound));  // idle_timeout (30 s) applies, not header_timeout
    REQUIRE(c.send(make_request("GET", "/second")));
    auto r = c.read_response();
    REQUIRE(r);
    CHECK(r->status == 200);
    REQUIRE(c.send("GET /third HTTP/1.1\r\nHo"));
    CHECK(c.wait_closed(bound));
  }
  CHECK(wait_until([&] { return f.srv->connection_count() == 0; }));
}

TEST_CASE("http server: a body that trickles is closed after body_timeout") {
  auto o = test_options();
  o.body_timeout = 1s;
  fixture f(o);
  test_client c(f.start());
  REQUIRE(c.send("POST /slow HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n"));
  auto t0 = std::chrono::steady_clock::now();
  const auto bound = o.body_timeout + 1s;
  bool closed = false;
  for (int i = 0; i < 500 && !closed; ++i) {
    if (!c.send("x")) break;
    closed = c.wait_closed(50ms);
  }
  closed = closed || c.wait_closed(bound);
  CHECK(closed);
  CHECK(std::chrono::steady_clock::now() - t0 < bound + 500ms);
  CHECK(f.handled.load() == 0);
  CHECK(wait_until([&] { return f.srv->connection_count() == 0; }));
}

TEST_CASE("http server: beyond max_connections_per_address a connection from that address gets 503 and a close") {
  auto o = test_options();
  o.max_connections_per_address = 4;
  fixture f(o);
  auto port = f.start();
  std::vector<std::unique_ptr<test_client>> four;
  for (int i = 0; i < 4; ++i) {
    four.push_back(std::make_unique<test_client>(port));
    REQUIRE(four.back()->send(make_request("GET", "/x")));
    REQUIRE(four.back()->read_response());
  }
  test_client fifth(port);
  REQUIRE(fifth.connected());
  auto r = fifth.read_response();
  if (r) {  // best effort: the answer may be lost in the close
    check_error_body(*r, 503);
    CHECK(r->body.find("from your address") != std::string::npos);
  }
  CHECK(fifth.wait_closed());
  CHECK(f.srv->refused_count() == 1);
  CHECK(f.logged("over max_connections_per_address=4"));

  // The first four still work.
  for (auto& c : four) {
    REQUIRE(c->send(make_request("GET", "/still")));
    auto rr = c->read_response();
    REQUIRE(rr);
    CHECK(rr->status == 200);
  }
  // A closed connection frees its place.
  four.pop_back();
  REQUIRE(wait_until([&] { return f.srv->connection_count() == 3; }));
  test_client again(port);
  REQUIRE(again.send(make_request("GET", "/x")));
  auto ra = again.read_response();
  REQUIRE(ra);
  CHECK(ra->status == 200);
}

TEST_CASE("http server: a response's send_delay holds it back without holding other connections") {
  auto o = test_options();
  o.check_header = [](const request& head, bool) -> std::optional<response> {
    if (head.path != "/early-delayed") return std::nullopt;
    auto r = error_response(401, "no");
    r.send_delay = 300ms;
    return r;
  };
  fixture f(o);
  auto port = f.start();
  test_client c(port);
  REQUIRE(c.send(make_request("GET", "/park/1")));
  REQUIRE(f.wait_parked(1));
  auto t0 = std::chrono::steady_clock::now();
  response delayed;
  delayed.body = "{}";
  delayed.send_delay = 400ms;
  f.take_parked(0)(delayed);
  // Meanwhile another connection is served at once (one io thread: nothing blocks it).
  test_client other(port);
  REQUIRE(other.send(make_request("GET", "/x")));
  REQUIRE(other.read_response());
  auto r = c.read_response(5s);
  REQUIRE(r);
  CHECK(r->status == 200);
  CHECK(std::chrono::steady_clock::now() - t0 >= 400ms);
  // The connection goes on after a delayed answer.
  REQUIRE(c.send(make_request("GET", "/again")));
  REQUIRE(c.read_response());

  test_client e(port);
  auto t1 = std::chrono::steady_clock::now();
  REQUIRE(e.send(make_request("GET", "/early-delayed")));
  auto er = e.read_response(5s);
  REQUIRE(er);
  CHECK(er->status == 401);
  CHECK(std::chrono::steady_clock::now() - t1 >= 300ms);
  CHECK(e.wait_closed());
}
