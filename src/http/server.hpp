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
// - A request is read in two steps: the request line and headers, then the
//   body. Between the two the optional `check_header` sees the request (body
//   still unread) and may answer it at once: the body is then never read, and
//   the connection is closed after the answer (lingering close, below). The
//   handler is not called for such a request. "Expect: 100-continue" is
//   answered with "100 Continue" only after check_header let the request on.
// - The server answers by itself, always with error_body() JSON, a
//   "Connection: close" and a close:
//     400  malformed request (method token, version syntax, Content-Length,
//          chunked encoding, header syntax, target, percent-escapes, HTTP/1.1
//          without Host, a Transfer-Encoding other than chunked)
//     413  body over body_limit_bytes (told from Content-Length before the body
//          is read, when there is one)
//     431  request line plus headers over header_limit_bytes
//     505  an HTTP version other than 1.0 and 1.1
//     503  beyond max_connections in total, or beyond max_connections_per_address
//          from one client IP address (best effort, then closed at once; both
//          counted in refused_count() and logged at most once a second; with
//          TLS closed at once without an answer, which would need a handshake)
//     500  the handler or check_header threw, or the handler dropped every copy
//          of its responder unanswered
// - Time bounds, each closing the connection without an answer when it passes
//   (Beast closes the socket on a timeout):
//     header_timeout  from the accept to the end of the first request's headers;
//                     on keep-alive, from the first byte of a later request to
//                     the end of its headers (a slowly dribbled header cannot
//                     hold a connection longer than this)
//     body_timeout    to read a whole body, once the headers are in
//     idle_timeout    waiting for the first byte of a request after a response,
//                     and for a slow client to take a response
//   No timeout runs while the handler works: bounding that is the handler's
//   job. A response's send_delay (message.hpp) is capped at send_delay_max.
// - Error responses and check_header's answers are followed by a lingering
//   close (shut down our sending side, drain what the client still sends,
//   bounded by linger_drain_bytes_max and linger_timeout) so the client reads
//   the answer instead of a connection reset.
// - Every response carries "Server: troupe".
// - TLS (server_options::tls set): the port serves HTTPS only, and everything
//   above holds inside the TLS session. start() loads and checks the PEM files
//   before binding (an error names the file and the problem: unreadable, no
//   PEM block, wrong passphrase, a key that does not match the certificate;
//   an expired certificate is only a warning in the log).
//   TLS 1.2 minimum, ECDHE with AES-GCM or ChaCha20-Poly1305 under 1.2, no
//   renegotiation. The handshake counts against header_timeout: from the
//   accept, the handshake and the first request's headers must be done within
//   it (a silent or slow TLS client holds nothing for longer). A connection
//   whose first byte cannot start a TLS ClientHello (plain HTTP, say) gets a
//   plain 400 saying the port serves HTTPS only, then a lingering close; a
//   failed handshake closes without an answer.
//   Before a close that follows a response (Connection: close, an error, an
//   early answer) the server sends its TLS close_notify (bounded by
//   linger_timeout) without waiting for the client's, then closes (or lingers
//   as above). With require_client_certificate, a client without a
//   certificate signed by a CA of client_ca_file fails the handshake.
//
// Thread-safety: start(), port() and stop() are for the owner's thread;
// REQUIRES: not called from inside the handler (stop() joins the io threads).
// A responder may be called from any thread at any time, also after stop() and
// after the server was destroyed: it then does nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
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

// Called on an io thread once a request's line and headers are parsed and
// before any byte of its body is read. `head` is the request as the handler
// will get it, with an empty body (remote and remote_ip filled, auth parsed);
// `body_follows`: the request announces a body (Content-Length > 0, or
// chunked). Returns nullopt to go on (read the body, call the handler), or the
// response to send instead (its send_delay applies): the body is not read and
// the connection is closed after the response. Same rules as the handler:
// thread-safe, MUST NOT block, MUST NOT throw (a throw gives a 500 and a close).
using header_check = std::function<std::optional<response>(const request& head, bool body_follows)>;

// HTTPS. Paths are used as given (the caller resolves relative ones).
struct tls_options {
  // PEM: the server's certificate, then its intermediates. May also hold the key.
  std::filesystem::path certificate_chain_file;
  // PEM: the private key (may be the same file as the chain).
  std::filesystem::path private_key_file;
  // For an encrypted private key; empty: the key is not encrypted.
  std::string key_passphrase;
  // Require a client certificate signed by a CA of client_ca_file (PEM).
  bool require_client_certificate = false;
  std::filesystem::path client_ca_file;
  // Named in the "Listening ..." line (OrientDB prints the listener's socket).
  std::string socket_name = "https";
  // Where these settings were configured: start()'s TLS errors carry them as
  // error_info's file and where (both may be empty).
  std::string config_file;
  std::string config_where;
};

struct server_options {
  std::string ip = "0.0.0.0";
  uint16_t port_first = 2480;  // binds the first free port of [port_first, port_last]
  uint16_t port_last = 2490;
  size_t body_limit_bytes = 16u << 20;
  size_t header_limit_bytes = 16u << 10;  // request line + header fields
  size_t max_connections = 1024;
  // Per client IP address (an IPv6 client counts per full address). Bounds
  // what one host can hold open, well below max_connections.
  size_t max_connections_per_address = 64;
  std::chrono::seconds idle_timeout{300};  // OrientDB's network.http.sessionExpireTimeout default
  // Request line and headers must be complete this long after the accept (or,
  // on keep-alive, after the first byte of the request).
  std::chrono::milliseconds header_timeout{10'000};
  // A whole body must arrive this long after its headers: 16 MiB at 2 Mbit/s.
  std::chrono::milliseconds body_timeout{60'000};
  // Optional (empty: every request's body is read): see header_check.
  header_check check_header;
  int io_threads = 1;
  // Lingering close after an error response: how much of an unread request we
  // drain, and for how long, before closing.
  size_t linger_drain_bytes_max = 1u << 20;
  std::chrono::milliseconds linger_timeout{2000};
  // Unset: plain HTTP. Set: HTTPS only (see the contract above).
  std::optional<tls_options> tls;
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
  // names ip and range), a bad ip or range, a second start(), start() after
  // stop(); with TLS, a PEM file that cannot be used (nothing is bound then).
  result<uint16_t> start();

  // The bound port; 0 before a successful start().
  uint16_t port() const;

  // Connections open right now (for tests and status pages).
  size_t connection_count() const;
  // Connections refused since start because of max_connections or
  // max_connections_per_address.
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
