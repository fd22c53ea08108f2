// A tiny blocking HTTP client over a raw POSIX socket, for testing the server
// byte by byte (malformed requests included). Every read is bounded by a
// deadline; nothing sleeps.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::test {

struct raw_response {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  // First value of `lower_name`, or "" if absent.
  std::string header(std::string_view lower_name) const;
  bool has_header(std::string_view lower_name) const;
};

class test_client {
 public:
  // Connects to 127.0.0.1:port; connected() tells whether it worked.
  explicit test_client(uint16_t port);
  // Takes over a socket connected elsewhere (another network namespace, say:
  // test/support/netns.hpp); -1 gives a client that is not connected.
  struct adopt_t {};
  test_client(adopt_t, int connected_fd);
  ~test_client();
  test_client(const test_client&) = delete;
  test_client& operator=(const test_client&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends everything (false if the peer is gone).
  bool send(std::string_view bytes);
  void shutdown_write();
  void close();

  // Reads one response. `head` = the request was HEAD (no body follows even if
  // Content-Length says otherwise). nullopt on timeout, EOF or a parse failure.
  std::optional<raw_response> read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                            bool head = false);
  // True if the peer closed (EOF or reset) within `timeout`; bytes that arrive
  // meanwhile are kept for read_response.
  bool wait_closed(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Bytes received and not consumed by read_response.
  const std::string& pending() const { return buf_; }

 private:
  // Waits until bytes arrive (appended to buf_) or the deadline passes.
  // 1: bytes came; 0: deadline; -1: EOF or error (sticky).
  int fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  bool eof_ = false;
  std::string buf_;
};

// Parses one response from the front of `buf`: the bytes it took when `buf`
// holds a whole response (then `out` is filled), 0 when more bytes are needed,
// nullopt when the bytes are not a response. `head`: as in read_response.
std::optional<size_t> parse_response(std::string_view buf, raw_response& out, bool head = false);

// "GET /x HTTP/1.1\r\nHost: t\r\n" + extra headers + Content-Length (if body) + body.
std::string make_request(std::string_view method, std::string_view target, std::string_view body = {},
                         std::string_view extra_headers = {});

}  // namespace troupe::test
