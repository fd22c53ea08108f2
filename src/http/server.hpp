// An asynchronous HTTP/1.1 server (Boost.Beast over Asio) with no routes of its
// own: every well-formed request goes to one `handler`, which answers through a
// `responder` whenever it likes, from any thread.
//
// Contract
// - One io_context run by `io_threads` threads; each connection lives on its own
//   strand, so a connection's state is touched by one thread at a time.
// - One request at a time per connection: the next request is read only after
//   the response to the previous one was written (pipelined requests wait in
//   the read buffer). HTTP/1.1 keep-alive by default, HTTP/1.0 with
//   "Connection: keep-alive"; "Connection: close" is answered with
//   "Connection: close" and the connection is closed after the response.
// - The server answers by itself, always with error_body() JSON, a
//   "Connection: close" and a close:
//     400  malformed request (method token, version syntax, Content-Length,
//          chunked encoding, header syntax, target, percent-escapes, HTTP/1.1
//          without Host, a Transfer-Encoding other than chunked)
//     413  body over body_limit_bytes (told from Content-Length before the body
//          is read, when there is one)
//     431  request line plus headers over header_limit_bytes
//     505  an HTTP version other than 1.0 and 1.1
//     503  beyond max_connections (best effort, then closed at once)
//     500  the handler threw, or dropped every copy of its responder unanswered
//   "Expect: 100-continue" is answered with "100 Continue" before the body is
//   read.
// - An idle connection (waiting for a request, or for a slow client to take a
//   response) is closed after idle_timeout. No timeout runs while the handler
//   works: bounding that is the handler's job.
// - Error responses are followed by a lingering close (shut down our sending
//   side, drain what the client still sends, bounded in bytes and time) so the
//   client reads the answer instead of a connection reset.
// - Every response carries "Server: troupe".
//
// Thread-safety: start(), port() and stop() are for the owner's thread;
// REQUIRES: not called from inside the handler (stop() joins the io threads).
// A responder may be called from any thread at any time, also after stop() and
// after the server was destroyed: it then does nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "src/http/message.hpp"
#include "src/util/log.hpp"
#include "src/util/result.hpp"

namespace troupe::http {

// Delivers the response of one request. Copyable; all copies share one slot:
// the first call wins, later calls are ignored. If the last copy is destroyed
// without a call, the client gets a 500. Safe from any thread, at any time; if
// the connection is gone (client left, server stopped) the response is dropped.
using responder = std::function<void(response)>;

// Called on an io thread for every well-formed request; with io_threads > 1,
// concurrently for different connections, so it must be thread-safe. MUST NOT
// block (hand the work to an actor or a pool and return). MUST NOT throw (if it
// does, the client gets a 500 and the server logs an error).
using handler = std::function<void(request&&, responder)>;

struct server_options {
  std::string ip = "0.0.0.0";
  uint16_t port_first = 2480;  // binds the first free port of [port_first, port_last]
  uint16_t port_last = 2490;
  size_t body_limit_bytes = 16u << 20;
  size_t header_limit_bytes = 16u << 10;  // request line + header fields
  size_t max_connections = 1024;
  std::chrono::seconds idle_timeout{300};  // OrientDB's network.http.sessionExpireTimeout default
  int io_threads = 1;
  // Lingering close after an error response: how much of an unread request we
  // drain, and for how long, before closing.
  size_t linger_drain_bytes_max = 1u << 20;
  std::chrono::milliseconds linger_timeout{2000};
};

class server {
 public:
  // `log` may be null (no logging); if not, it must outlive the server.
  server(server_options opts, handler h, logger* log);
  ~server();  // calls stop()
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds the first free port of [port_first, port_last] on `ip`, listens and
  // starts the io threads. Errors: every port of the range in use (the message
  // names ip and range), a bad ip or range, a second start(), start() after stop().
  result<uint16_t> start();

  // The bound port; 0 before a successful start().
  uint16_t port() const;

  // Connections open right now (for tests and status pages).
  size_t connection_count() const;
  // Connections refused since start because of max_connections.
  uint64_t refused_count() const;

  // Closes the acceptor and every connection, then joins the io threads.
  // Bounded: connections get a moment to close cleanly, then the io_context is
  // stopped regardless. Idempotent.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe::http
