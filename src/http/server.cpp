// The only translation unit that includes Beast: it takes ~40 s to compile, so
// the public headers keep Beast out (pimpl) and everything else lives in
// message.cpp.
//
// Lifetime, in short:
// - `core` owns the io_context, the acceptor, the io threads and a registry of
//   strong references to the open connections. A connection leaves the registry
//   when it closes; stop() closes them all.
// - A connection is also kept alive by its pending Asio operations. Its
//   responder holds only a weak reference (through a reply_slot), so a
//   connection never outlives the io_context because of a forgotten responder.
// - A responder posts onto the connection's strand under the `gate` mutex;
//   stop() shuts the gate before stopping the io_context, so nothing is posted
//   into an io_context that is going away, and a late responder finds the gate
//   shut (the gate is shared, so it outlives the server).
// - A connection is a stream_connection<plain_stream> or, on a TLS listener, a
//   stream_connection<tls_stream>: one body of code, with the TLS-only steps
//   (detecting plain HTTP, the handshake, close_notify) in `if constexpr`
//   branches, so the plain path is what it was before TLS. Deadlines are set
//   on the lowest layer (the TCP stream) in both.
#include "src/http/server.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cassert>
#include <cctype>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "src/util/strings.hpp"

namespace troupe::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr std::string_view component = "http";
// How long stop() lets connections close cleanly before stopping the io_context.
constexpr std::chrono::milliseconds stop_grace_ms{1000};
// After a failed accept (e.g. out of file descriptors) wait before the next.
constexpr std::chrono::milliseconds accept_retry_ms{100};
// Refusals beyond max_connections are logged at most once per this interval.
constexpr std::chrono::seconds refusal_log_interval{1};
// How much one read takes while waiting for the first byte of a request.
constexpr size_t first_read_bytes = 4096;
// A PEM file is a few KiB; the cap keeps a wrong path (a disk image) from
// being read whole at start.
constexpr size_t pem_file_bytes_max = 1u << 20;
// TLS 1.2 suites offered: Mozilla's "intermediate" list without DHE (which
// would need DH parameters). TLS 1.3 keeps OpenSSL's suites, all AEAD.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct gate {
  std::mutex mtx;
  bool open = true;
};

bool iequals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// RFC 9110 token characters: a header name a handler sets must be one.
bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A header value must not let a handler inject lines into the response.
bool is_safe_value(std::string_view s) {
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

std::string endpoint_string(const tcp::endpoint& ep) {
  auto a = ep.address();
  return a.is_v6() ? cat("[", a.to_string(), "]:", ep.port()) : cat(a.to_string(), ":", ep.port());
}

// The first (most specific) error of OpenSSL's thread-local queue; clears it.
std::string openssl_reason() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  if (const char* r = ERR_reason_error_string(e); r != nullptr) return r;
  std::array<char, 256> buf{};
  ERR_error_string_n(e, buf.data(), buf.size());
  return buf.data();
}

// Reads a PEM file whole; `what` names it in errors ("the certificate chain").
result<std::string> read_pem_file(const std::filesystem::path& p, std::string_view what) {
  auto cannot = [&](std::string why) {
    return error_info{"", "", cat("cannot read ", what, " ", p.string(), ": ", why)};
  };
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot(std::strerror(errno));
  std::string out;
  struct stat st {};
  bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  bool too_big = false, failed = false;
  if (regular) {
    std::array<char, 16384> buf{};
    for (;;) {
      auto n = ::read(fd, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) failed = true;
      if (n <= 0) break;
      out.append(buf.data(), static_cast<size_t>(n));
      if (out.size() > pem_file_bytes_max) {
        too_big = true;
        break;
      }
    }
  }
  int err = errno;
  ::close(fd);
  if (!regular) return cannot("not a regular file");
  if (failed) return cannot(std::strerror(err));
  if (too_big) return cannot(cat("over ", pem_file_bytes_max, " bytes: not a PEM file"));
  return out;
}

int passphrase_callback(char* buf, int size, int, void* user) {
  auto* pw = static_cast<const std::string*>(user);
  if (pw->empty() || pw->size() > static_cast<size_t>(size)) return -1;
  std::memcpy(buf, pw->data(), pw->size());
  return static_cast<int>(pw->size());
}

// The server's TLS context from PEM files, checked: every problem is one
// error naming the file (and, through tls_options, where it was configured).
result<std::unique_ptr<ssl::context>> make_tls_context(const tls_options& t, logger* log) {
  auto fail = [&](std::string what) { return error_info{t.config_file, t.config_where, std::move(what)}; };
  const auto chain_path = t.certificate_chain_file.string();
  const auto key_path = t.private_key_file.string();
  // A file without any PEM block is most likely OrientDB's keystore.
  auto hint = [](const std::string& text) {
    return text.find("-----BEGIN ") == std::string::npos ? " (troupe reads PEM files, not Java keystores)" : "";
  };
  ERR_clear_error();
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (SSL_CTX_set_cipher_list(c, tls12_ciphers) != 1)
    return fail(cat("cannot set the TLS ciphers: ", openssl_reason()));
  // Idle keep-alive connections give their read and write buffers back.
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  static constexpr unsigned char session_context[] = "troupe";
  SSL_CTX_set_session_id_context(c, session_context, sizeof session_context - 1);

  auto chain = read_pem_file(t.certificate_chain_file, "the certificate chain");
  if (!chain) return fail(chain.error().what);
  if (chain->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
    return fail(cat("no PEM certificate in ", chain_path, hint(*chain)));
  if (SSL_CTX_use_certificate_chain_file(c, chain_path.c_str()) != 1)
    return fail(cat("cannot load the certificate chain ", chain_path, ": ", openssl_reason()));

  auto key_text = t.private_key_file == t.certificate_chain_file
                      ? std::move(chain)
                      : read_pem_file(t.private_key_file, "the private key");
  if (!key_text) return fail(key_text.error().what);
  if (key_text->find("PRIVATE KEY-----") == std::string::npos)
    return fail(cat("no PEM private key in ", key_path, hint(*key_text)));
  bool encrypted = key_text->find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
                   key_text->find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
  if (encrypted && t.key_passphrase.empty())
    return fail(cat("the private key in ", key_path, " is encrypted and no passphrase is configured"));
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(key_text->data(), static_cast<int>(key_text->size())),
                                                &BIO_free);
  if (!bio) return fail("out of memory reading the private key");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, passphrase_callback, const_cast<std::string*>(&t.key_passphrase)),
      &EVP_PKEY_free);
  if (!key) {
    if (encrypted) {
      ERR_clear_error();
      return fail(cat("cannot decrypt the private key in ", key_path, ": wrong passphrase"));
    }
    return fail(cat("cannot read the private key in ", key_path, ": ", openssl_reason()));
  }
  if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
    ERR_clear_error();
    return fail(cat("the private key in ", key_path, " does not match the certificate in ", chain_path));
  }

  if (t.require_client_certificate) {
    const auto ca_path = t.client_ca_file.string();
    auto ca = read_pem_file(t.client_ca_file, "the client CA certificates");
    if (!ca) return fail(ca.error().what);
    if (ca->find("-----BEGIN CERTIFICATE-----") == std::string::npos)
      return fail(cat("no PEM certificate in ", ca_path, hint(*ca)));
    if (SSL_CTX_load_verify_locations(c, ca_path.c_str(), nullptr) != 1)
      return fail(cat("cannot load the client CA certificates ", ca_path, ": ", openssl_reason()));
    // Tells clients which CAs we accept, so they pick the right certificate.
    if (auto* names = SSL_load_client_CA_file(ca_path.c_str()); names != nullptr) SSL_CTX_set_client_CA_list(c, names);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }

  // Start anyway (the operator may be replacing it), but say so: every client
  // will refuse such a certificate.
  if (X509* cert = SSL_CTX_get0_certificate(c); cert != nullptr && log != nullptr) {
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
      log->warn(component, cat("the TLS certificate in ", chain_path, " has expired: clients will refuse it"));
    else if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
      log->warn(component, cat("the TLS certificate in ", chain_path, " is not valid yet: clients will refuse it"));
  }
  ERR_clear_error();
  return ctx;
}

class connection;

struct core {
  core(server_options o, handler hd, logger* lg)
      : opts(std::move(o)),
        h(std::move(hd)),
        log(lg),
        ioc(std::max(1, opts.io_threads)),
        acceptor(net::make_strand(ioc)),
        accept_retry(acceptor.get_executor()) {}

  result<uint16_t> start();
  void stop();
  void do_accept();
  void on_accept(beast::error_code ec, tcp::socket s);
  void refuse(tcp::socket& s, bool per_address);
  void remove(uint64_t id);

  void log_at(log_level l, std::string_view msg) {
    if (log) log->log(l, component, msg);
  }

  server_options opts;
  handler h;
  logger* log;
  std::shared_ptr<gate> gate_ = std::make_shared<gate>();

  mutable std::mutex conns_mtx;
  std::condition_variable conns_cv;
  std::unordered_map<uint64_t, std::shared_ptr<connection>> conns;
  std::unordered_map<std::string, size_t> conns_per_ip;  // guarded by conns_mtx; no zero entries
  uint64_t next_id = 0;  // guarded by conns_mtx
  bool stopping = false;  // guarded by conns_mtx

  std::atomic<uint16_t> port{0};
  std::atomic<uint64_t> refused{0};
  // Only the accept handler touches these (one accept is outstanding at a time).
  std::chrono::steady_clock::time_point last_refusal_log{};
  uint64_t refused_at_last_log = 0;

  bool started = false;  // owner thread only
  bool stopped = false;  // owner thread only

  // Set by start() on a TLS listener; outlives the connections (declared
  // before the io_context, which destroys the last of them).
  std::unique_ptr<ssl::context> tls_ctx;

  // Declared after everything a connection or a handler refers to: the
  // io_context destroys the handlers still queued, and with them connections.
  net::io_context ioc;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  net::steady_timer accept_retry;
  std::vector<std::thread> threads;
};

// One request's answer slot, shared by all copies of its responder.
struct reply_slot {
  reply_slot(std::weak_ptr<connection> c, uint64_t s, std::shared_ptr<gate> g)
      : conn(std::move(c)), seq(s), gate_(std::move(g)) {}
  ~reply_slot();
  void deliver(response r) noexcept;

  std::weak_ptr<connection> conn;
  uint64_t seq;
  std::shared_ptr<gate> gate_;
  std::atomic<bool> done{false};
};

// What the core and a responder need of a connection, whatever its stream.
class connection : public std::enable_shared_from_this<connection> {
 public:
  explicit connection(std::string ip) : ip_(std::move(ip)) {}
  virtual ~connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  const std::string& ip() const { return ip_; }  // immutable: safe from any thread
  // The connection's strand (immutable: safe from any thread).
  virtual net::any_io_executor executor() = 0;

  // REQUIRES (for all below): running on this connection's strand.
  virtual void start() = 0;
  virtual void close() = 0;
  virtual void on_response(uint64_t seq, response r) = 0;

 private:
  std::string ip_;
};

template <class Stream>
class stream_connection final : public connection {
 public:
  static constexpr bool tls = std::is_same_v<Stream, tls_stream>;

  // `stream_args`: a tcp::socket, and for TLS the ssl::context.
  template <class... StreamArgs>
  stream_connection(core& srv, uint64_t id, std::string remote, std::string ip, StreamArgs&&... stream_args)
      : connection(std::move(ip)),
        srv_(srv),
        id_(id),
        stream_(std::forward<StreamArgs>(stream_args)...),
        delay_timer_(stream_.get_executor()),
        remote_(std::move(remote)) {}

  net::any_io_executor executor() override { return stream_.get_executor(); }
  void start() override;
  void close() override;
  void on_response(uint64_t seq, response r) override;

 private:
  std::shared_ptr<stream_connection> shared() {
    return std::static_pointer_cast<stream_connection>(shared_from_this());
  }
  // Deadlines, shutdowns and the lingering drain work on the TCP layer.
  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }
  void on_detect(beast::error_code ec, bool is_tls);
  void on_handshake(beast::error_code ec, size_t used);
  void refuse_plain_http();
  void new_parser();
  void do_read();
  void read_header(bool fresh_deadline = true);
  void on_header(beast::error_code ec, size_t);
  void read_body();
  void on_body(beast::error_code ec, size_t);
  void on_read_error(beast::error_code ec);
  void on_request();
  void fail(int status, std::string_view content);
  void answer_early(response r);
  void send(response r, bool error_close);
  void write(response r, bool error_close);
  void on_write(bool close_after, bool linger, beast::error_code ec, size_t);
  void send_close_notify(bool linger_after);
  void linger();
  void do_drain();

  core& srv_;
  uint64_t id_;
  Stream stream_;
  net::steady_timer delay_timer_;  // a response's send_delay
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<request> req_;  // the request being read, from its headers on
  std::optional<bhttp::response<bhttp::string_body>> res_;
  std::string remote_;
  // What a timeout interrupted, for the log line.
  std::string_view waiting_for_ = "request headers";
  uint64_t seq_ = 0;
  bool awaiting_response_ = false;
  bool closed_ = false;
  bool head_ = false;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  std::array<char, 4096> drain_buf_{};
  size_t drained_bytes_ = 0;
};

reply_slot::~reply_slot() {
  if (!done.load()) deliver(error_response(500, "the request handler dropped the request without an answer"));
}

void reply_slot::deliver(response r) noexcept {
  if (done.exchange(true)) return;
  try {
    std::lock_guard<std::mutex> g(gate_->mtx);
    if (!gate_->open) return;
    auto c = conn.lock();
    if (!c) return;
    net::post(c->executor(), [c, s = seq, r = std::move(r)]() mutable { c->on_response(s, std::move(r)); });
  } catch (...) {
    // Only allocation can fail here; the connection then waits for its idle
    // timeout or stop(), which is all we can offer.
  }
}

template <class Stream>
void stream_connection<Stream>::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  delay_timer_.cancel();
  tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
  tcp_layer().close();
  srv_.remove(id_);
}

// The first request's headers are due header_timeout after the accept: a
// client that connects and says nothing (or dribbles) holds nothing for long.
// With TLS the same deadline covers the handshake before them.
template <class Stream>
void stream_connection<Stream>::start() {
  if constexpr (tls) {
    waiting_for_ = "TLS handshake";
    tcp_layer().expires_after(srv_.opts.header_timeout);
    beast::async_detect_ssl(tcp_layer(), buffer_, beast::bind_front_handler(&stream_connection::on_detect, shared()));
  } else {
    new_parser();
    read_header();
  }
}

template <class Stream>
void stream_connection<Stream>::on_detect([[maybe_unused]] beast::error_code ec, [[maybe_unused]] bool is_tls) {
  if constexpr (tls) {
    if (ec) return on_read_error(ec);
    if (!is_tls) return refuse_plain_http();
    // The bytes detect_ssl read are the start of the ClientHello.
    stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                            beast::bind_front_handler(&stream_connection::on_handshake, shared()));
  }
}

template <class Stream>
void stream_connection<Stream>::on_handshake([[maybe_unused]] beast::error_code ec, [[maybe_unused]] size_t used) {
  if constexpr (tls) {
    if (closed_ || ec == net::error::operation_aborted) return;
    if (ec == beast::error::timeout) return on_read_error(ec);
    if (ec) {
      // Wrong protocol version, no shared cipher, a missing or untrusted client
      // certificate: the client's problem, told by its TLS library.
      if (srv_.log) srv_.log->debug(component, cat("TLS handshake failed remote=", remote_, " error=", ec.message()));
      return close();
    }
    buffer_.consume(used);
    new_parser();
    read_header(false);  // still under the deadline set at the accept
  }
}

// Someone typed http:// for an https:// port. A TLS client would take a plain
// answer for garbage, but this one can read it: say what is wrong, in plain
// HTTP, then close as after any error answer.
template <class Stream>
void stream_connection<Stream>::refuse_plain_http() {
  static const std::string answer = [] {
    auto body = error_body(400, reason_phrase(400), "this port serves HTTPS only: use an https:// URL");
    return cat("HTTP/1.1 400 Bad Request\r\nServer: troupe\r\n",
               "Content-Type: application/json; charset=utf-8\r\nContent-Length: ", body.size(),
               "\r\nConnection: close\r\n\r\n", body);
  }();
  if (srv_.log) srv_.log->debug(component, cat("plain http request on the https port remote=", remote_));
  // Still under the deadline set at the accept.
  net::async_write(tcp_layer(), net::buffer(answer), [self = shared()](beast::error_code ec, size_t) {
    if (self->closed_) return;
    if (ec) return self->close();
    self->linger();
  });
}

template <class Stream>
void stream_connection<Stream>::new_parser() {
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(std::min<size_t>(srv_.opts.header_limit_bytes, UINT32_MAX)));
  parser_->body_limit(srv_.opts.body_limit_bytes);
}

// After a response on keep-alive: waiting for the next request is idle time
// (idle_timeout); its headers are due header_timeout after its first byte.
template <class Stream>
void stream_connection<Stream>::do_read() {
  new_parser();
  if (buffer_.size() > 0) return read_header();  // pipelined: its first bytes are here
  waiting_for_ = "next request";
  tcp_layer().expires_after(srv_.opts.idle_timeout);
  stream_.async_read_some(buffer_.prepare(first_read_bytes),
                          [self = shared()](beast::error_code ec, size_t n) {
                            if (ec) return self->on_read_error(ec);
                            self->buffer_.commit(n);
                            self->read_header();
                          });
}

template <class Stream>
void stream_connection<Stream>::read_header(bool fresh_deadline) {
  waiting_for_ = "request headers";
  if (fresh_deadline) tcp_layer().expires_after(srv_.opts.header_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&stream_connection::on_header, shared()));
}

template <class Stream>
void stream_connection<Stream>::on_header(beast::error_code ec, size_t) {
  if (ec) return on_read_error(ec);
  auto& m = parser_->get();
  if (m.version() != 10 && m.version() != 11)
    return fail(505, cat("HTTP version ", m.version() / 10, ".", m.version() % 10, " is not supported"));
  if (m.version() == 11 && m.find(bhttp::field::host) == m.end())
    return fail(400, "an HTTP/1.1 request must carry a Host header");
  // Beast reads a body only for a final "chunked"; any other transfer coding
  // would leave the body unread in the stream (a request smuggling hazard).
  if (m.find(bhttp::field::transfer_encoding) != m.end() && !parser_->chunked())
    return fail(400, "unsupported Transfer-Encoding (only chunked is accepted)");

  request r;
  r.method = std::string(m.method_string());
  r.target = std::string(m.target());
  auto parts = parse_target(r.target);
  if (!parts) return fail(400, parts.error().what);
  r.path = std::move(parts->path);
  r.segments = std::move(parts->segments);
  r.query = std::move(parts->query);
  r.headers.reserve(static_cast<size_t>(std::distance(m.begin(), m.end())));
  for (auto& f : m) r.headers.emplace_back(lower(f.name_string()), std::string(f.value()));
  if (auto a = m.find(bhttp::field::authorization); a != m.end()) {
    r.auth = parse_basic_auth(a->value());
    r.auth_malformed = !r.auth;
  }
  r.remote = remote_;
  r.remote_ip = ip();
  r.version = static_cast<int>(m.version());
  auto& head = req_.emplace(std::move(r));

  if (srv_.opts.check_header) {
    std::optional<response> early;
    try {
      early = srv_.opts.check_header(head, !parser_->is_done());
    } catch (const std::exception& e) {
      if (srv_.log) srv_.log->error(component, cat("header check threw: ", e.what(), " remote=", remote_));
      return fail(500, "internal error");
    } catch (...) {
      if (srv_.log) srv_.log->error(component, cat("header check threw a non-exception remote=", remote_));
      return fail(500, "internal error");
    }
    if (early) return answer_early(std::move(*early));
  }
  if (parser_->is_done()) return on_request();

  auto expect = m.find(bhttp::field::expect);
  if (expect != m.end() && m.version() == 11) {
    if (!iequals(expect->value(), "100-continue")) return fail(417, "only 'Expect: 100-continue' is supported");
    static constexpr std::string_view continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    tcp_layer().expires_after(srv_.opts.idle_timeout);
    net::async_write(stream_, net::buffer(continue_line.data(), continue_line.size()),
                     [self = shared()](beast::error_code wec, size_t) {
                       if (wec) return self->close();
                       self->read_body();
                     });
    return;
  }
  read_body();
}

template <class Stream>
void stream_connection<Stream>::read_body() {
  waiting_for_ = "request body";
  tcp_layer().expires_after(srv_.opts.body_timeout);
  bhttp::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&stream_connection::on_body, shared()));
}

template <class Stream>
void stream_connection<Stream>::on_body(beast::error_code ec, size_t) {
  if (ec) return on_read_error(ec);
  on_request();
}

template <class Stream>
void stream_connection<Stream>::on_read_error(beast::error_code ec) {
  if (closed_ || ec == net::error::operation_aborted) return;
  if (ec == bhttp::error::end_of_stream) return close();  // the client left between requests
  if (ec == beast::error::timeout) {
    if (srv_.log)
      srv_.log->debug(component, cat("connection timed out waiting for ", waiting_for_, " remote=", remote_));
    return close();
  }
  if (ec == bhttp::error::body_limit)
    return fail(413, cat("request body over the limit of ", srv_.opts.body_limit_bytes, " bytes"));
  if (ec == bhttp::error::header_limit)
    return fail(431, cat("request line and headers over the limit of ", srv_.opts.header_limit_bytes, " bytes"));
  if (ec == bhttp::error::partial_message) return fail(400, "request ended before it was complete");
  if (ec == bhttp::error::bad_version) {
    // Beast refuses a well-formed "HTTP/2.0" like a garbled one; RFC 9110
    // gives the former its own status.
    auto data = buffer_.cdata();
    std::string_view head(static_cast<const char*>(data.data()), data.size());
    auto line = head.substr(0, head.find("\r\n"));
    if (line.size() >= 9) {
      auto v = line.substr(line.size() - 9);
      bool well_formed = v[0] == ' ' && v.substr(1, 5) == "HTTP/" && std::isdigit(static_cast<unsigned char>(v[6])) &&
                         v[7] == '.' && std::isdigit(static_cast<unsigned char>(v[8]));
      if (well_formed) return fail(505, cat("HTTP version ", v.substr(6), " is not supported"));
    }
  }
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category())
    return fail(400, cat("malformed request: ", ec.message()));
  // Socket errors (reset, broken pipe): nobody left to answer.
  close();
}

template <class Stream>
void stream_connection<Stream>::on_request() {
  assert(req_ && parser_);
  auto& m = parser_->get();
  request r = std::move(*req_);
  req_.reset();
  r.body = std::move(m.body());
  head_ = m.method() == bhttp::verb::head;
  keep_alive_ = m.keep_alive();
  version_ = m.version();
  parser_.reset();

  awaiting_response_ = true;
  auto slot = std::make_shared<reply_slot>(weak_from_this(), ++seq_, srv_.gate_);
  responder reply = [slot](response x) { slot->deliver(std::move(x)); };
  try {
    srv_.h(std::move(r), std::move(reply));
  } catch (const std::exception& e) {
    if (srv_.log) srv_.log->error(component, cat("request handler threw: ", e.what(), " remote=", remote_));
    slot->deliver(error_response(500, cat("internal error: ", e.what())));
  } catch (...) {
    if (srv_.log) srv_.log->error(component, cat("request handler threw a non-exception remote=", remote_));
    slot->deliver(error_response(500, "internal error"));
  }
}

template <class Stream>
void stream_connection<Stream>::fail(int status, std::string_view content) {
  if (srv_.log) srv_.log->debug(component, cat("bad request status=", status, " remote=", remote_, " ", content));
  // A request we could not parse tells us nothing reliable about its version.
  if (!parser_ || !parser_->is_header_done()) version_ = 11;
  else version_ = parser_->get().version() == 10 ? 10 : 11;
  head_ = false;
  keep_alive_ = false;
  parser_.reset();
  req_.reset();
  write(error_response(status, content), true);
}

// check_header's answer: the body stays unread, so the connection cannot carry
// another request; it closes after a lingering close.
template <class Stream>
void stream_connection<Stream>::answer_early(response r) {
  auto& m = parser_->get();
  version_ = m.version() == 10 ? 10 : 11;
  head_ = m.method() == bhttp::verb::head;
  keep_alive_ = false;
  parser_.reset();
  req_.reset();
  send(std::move(r), true);
}

template <class Stream>
void stream_connection<Stream>::on_response(uint64_t seq, response r) {
  if (closed_ || !awaiting_response_ || seq != seq_) return;
  awaiting_response_ = false;
  send(std::move(r), false);
}

// Writes `r` after its send_delay. The timer keeps the connection alive; close()
// (the client left, or stop()) cancels it.
template <class Stream>
void stream_connection<Stream>::send(response r, bool error_close) {
  auto delay = std::min(r.send_delay, send_delay_max);
  if (delay <= std::chrono::milliseconds::zero()) return write(std::move(r), error_close);
  delay_timer_.expires_after(delay);
  delay_timer_.async_wait([self = shared(), r = std::move(r), error_close](beast::error_code ec) mutable {
    if (ec || self->closed_) return;
    self->write(std::move(r), error_close);
  });
}

template <class Stream>
void stream_connection<Stream>::write(response r, bool error_close) {
  if (r.status < 200 || r.status > 599) {
    if (srv_.log) srv_.log->error(component, cat("request handler answered with invalid status ", r.status));
    r = error_response(500, cat("invalid response status ", r.status));
  }
  bool close_after = error_close || !keep_alive_;
  auto& res = res_.emplace();
  res.version(version_);
  res.result(static_cast<unsigned>(r.status));
  res.reason(reason_phrase(r.status));
  res.set(bhttp::field::server, "troupe");
  for (auto& [k, v] : r.headers) {
    if (!is_token(k) || !is_safe_value(v)) {
      if (srv_.log) srv_.log->warn(component, cat("dropped invalid response header from handler name=", k));
      continue;
    }
    if (iequals(k, "content-length") || iequals(k, "transfer-encoding") || iequals(k, "server")) continue;
    if (iequals(k, "connection")) {
      if (beast::http::token_list(v).exists("close")) close_after = true;
      continue;
    }
    res.insert(k, v);
  }
  // 204 and 304 have no body by definition (and Beast refuses one).
  if (r.status != 204 && r.status != 304) {
    if (!r.content_type.empty() && is_safe_value(r.content_type)) res.set(bhttp::field::content_type, r.content_type);
    auto n = r.body.size();
    if (!head_) res.body() = std::move(r.body);
    res.content_length(n);  // for HEAD: the size a GET would have sent
  }
  // Said explicitly for HTTP/1.0 too, where closing is the default anyway.
  if (close_after) res.set(bhttp::field::connection, "close");
  else res.keep_alive(true);
  tcp_layer().expires_after(srv_.opts.idle_timeout);
  bhttp::async_write(stream_, res,
                     beast::bind_front_handler(&stream_connection::on_write, shared(), close_after, error_close));
}

template <class Stream>
void stream_connection<Stream>::on_write(bool close_after, bool linger_after, beast::error_code ec, size_t) {
  res_.reset();
  if (closed_) return;
  if (ec) return close();
  if constexpr (tls) {
    if (linger_after || close_after) return send_close_notify(linger_after);
  }
  if (linger_after) return linger();
  if (close_after) return close();
  do_read();
}

// TLS: our close_notify tells the client that the response was not cut short.
// Marking the client's close_notify as received makes the shutdown send ours
// and finish, instead of waiting for the client's (which may never come).
template <class Stream>
void stream_connection<Stream>::send_close_notify([[maybe_unused]] bool linger_after) {
  if constexpr (tls) {
    SSL_set_shutdown(stream_.native_handle(), SSL_RECEIVED_SHUTDOWN);
    tcp_layer().expires_after(srv_.opts.linger_timeout);
    stream_.async_shutdown([self = shared(), linger_after](beast::error_code ec) {
      if (self->closed_) return;
      if (ec || !linger_after) return self->close();
      self->linger();
    });
  }
}

// The client may still be sending the request we refused; closing now would
// reset the connection and could destroy our answer in its receive buffer. So
// stop sending, read and drop what comes (bounded), then close. With TLS the
// dropped bytes are never decrypted: they are read from the TCP layer.
template <class Stream>
void stream_connection<Stream>::linger() {
  beast::error_code ec;
  tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return close();
  drained_bytes_ = 0;
  tcp_layer().expires_after(srv_.opts.linger_timeout);
  do_drain();
}

template <class Stream>
void stream_connection<Stream>::do_drain() {
  tcp_layer().async_read_some(net::buffer(drain_buf_), [self = shared()](beast::error_code ec, size_t n) {
    self->drained_bytes_ += n;
    if (ec || self->closed_ || self->drained_bytes_ >= self->srv_.opts.linger_drain_bytes_max) return self->close();
    self->do_drain();
  });
}

result<uint16_t> core::start() {
  if (started) return error_info{"", "", "the http server is already started"};
  if (stopped) return error_info{"", "", "the http server was stopped and cannot start again"};
  auto range = cat(opts.ip, ":", opts.port_first, "-", opts.port_last);
  if (opts.port_first == 0 || opts.port_first > opts.port_last)
    return error_info{"", "", cat("bad port range ", range)};
  beast::error_code ec;
  auto addr = net::ip::make_address(opts.ip, ec);
  if (ec) return error_info{"", "", cat("bad listen address '", opts.ip, "': ", ec.message())};
  if (opts.tls) {
    auto ctx = make_tls_context(*opts.tls, log);
    if (!ctx) return ctx.error();
    tls_ctx = std::move(*ctx);
  }

  uint16_t bound = 0;
  for (uint32_t p = opts.port_first; p <= opts.port_last && bound == 0; ++p) {
    tcp::endpoint ep(addr, static_cast<uint16_t>(p));
    beast::error_code ignore;
    acceptor.open(ep.protocol(), ec);
    if (ec) return error_info{"", "", cat("cannot open a socket for ", range, ": ", ec.message())};
    // Lets a restarted server bind while old connections sit in TIME_WAIT. On
    // Linux it does not let two listeners share a port.
    acceptor.set_option(net::socket_base::reuse_address(true), ignore);
    acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) {
      bound = static_cast<uint16_t>(p);
      break;
    }
    acceptor.close(ignore);
    if (ec != net::error::address_in_use)
      return error_info{"", "", cat("cannot listen on ", opts.ip, ":", p, ": ", ec.message())};
  }
  if (bound == 0) return error_info{"", "", cat("no free port in range ", range, " (all in use)")};

  port = bound;
  started = true;
  work.emplace(ioc.get_executor());
  net::post(acceptor.get_executor(), [this] { do_accept(); });
  int n = std::max(1, opts.io_threads);
  try {
    for (int i = 0; i < n; ++i)
      threads.emplace_back([this] {
        pthread_setname_np(pthread_self(), "troupe-http");  // for top -H and perf
        // Handlers do not throw; this only keeps a bug from ending the process
        // through std::terminate without a word.
        for (;;) {
          try {
            ioc.run();
            return;
          } catch (const std::exception& e) {
            log_at(log_level::error, cat("io thread caught an exception: ", e.what()));
          }
        }
      });
  } catch (const std::system_error& e) {
    stop();
    return error_info{"", "", cat("cannot start io threads: ", e.what())};
  }
  // OrientDB's own words, which operators and scripts look for.
  if (log)
    log->info("OServerNetworkListener",
              cat("Listening http connections on ", opts.ip, ":", bound, " (protocol v.10, socket=",
                  opts.tls ? opts.tls->socket_name : std::string("default"), ")"));
  return bound;
}

void core::do_accept() {
  acceptor.async_accept(net::make_strand(ioc),
                        [this](beast::error_code ec, tcp::socket s) { on_accept(ec, std::move(s)); });
}

void core::on_accept(beast::error_code ec, tcp::socket s) {
  if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
  if (ec) {
    // Out of descriptors and the like: accepting again at once would spin.
    log_at(log_level::warn, cat("accept failed: ", ec.message()));
    accept_retry.expires_after(accept_retry_ms);
    accept_retry.async_wait([this](beast::error_code tec) {
      if (!tec && acceptor.is_open()) do_accept();
    });
    return;
  }
  beast::error_code rec;
  auto peer = s.remote_endpoint(rec);
  auto remote = endpoint_string(peer);
  auto ip = peer.address().to_string();
  std::shared_ptr<connection> c;
  bool per_address = false;
  {
    std::lock_guard<std::mutex> g(conns_mtx);
    if (stopping) return;
    auto& from_ip = conns_per_ip[ip];  // erased again below when the connection is refused
    per_address = from_ip >= opts.max_connections_per_address;
    if (conns.size() < opts.max_connections && !per_address) {
      if (tls_ctx)
        c = std::make_shared<stream_connection<tls_stream>>(*this, next_id, remote, ip, std::move(s), *tls_ctx);
      else
        c = std::make_shared<stream_connection<plain_stream>>(*this, next_id, remote, ip, std::move(s));
      conns.emplace(next_id++, c);
      ++from_ip;
    } else if (from_ip == 0) {
      conns_per_ip.erase(ip);
    }
  }
  if (c) {
    net::dispatch(c->executor(), [c] { c->start(); });
  } else {
    // Counted and logged before the close, so whoever sees the close sees the count.
    auto total = ++refused;
    auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log >= refusal_log_interval) {
      auto over = per_address ? cat("max_connections_per_address=", opts.max_connections_per_address)
                              : cat("max_connections=", opts.max_connections);
      log_at(log_level::warn, cat("connection refused: over ", over, " remote=", remote,
                                  " refused_since_last_log=", total - refused_at_last_log, " refused_total=", total));
      last_refusal_log = now;
      refused_at_last_log = total;
    }
    refuse(s, per_address);
  }
  do_accept();
}

// Best effort and never blocking: the answer fits in an empty socket buffer;
// if it does not go out, the client sees the close alone.
void core::refuse(tcp::socket& s, bool per_address) {
  static const auto answer_for = [](std::string_view content) {
    auto body = error_body(503, reason_phrase(503), content);
    return cat("HTTP/1.1 503 Service Unavailable\r\nServer: troupe\r\n",
               "Content-Type: application/json; charset=utf-8\r\nContent-Length: ", body.size(),
               "\r\nConnection: close\r\n\r\n", body);
  };
  static const std::string total_answer = answer_for("too many connections");
  static const std::string address_answer = answer_for("too many connections from your address");
  beast::error_code ec;
  s.non_blocking(true, ec);
  // A TLS client would read the plain answer as garbage; it sees the close alone.
  if (!tls_ctx) s.write_some(net::buffer(per_address ? address_answer : total_answer), ec);
  s.shutdown(tcp::socket::shutdown_send, ec);
  s.close(ec);
}

void core::remove(uint64_t id) {
  std::lock_guard<std::mutex> g(conns_mtx);
  auto it = conns.find(id);
  if (it == conns.end()) return;
  if (auto n = conns_per_ip.find(it->second->ip()); n != conns_per_ip.end() && --n->second == 0)
    conns_per_ip.erase(n);
  conns.erase(it);
  if (conns.empty()) conns_cv.notify_all();
}

void core::stop() {
  for (auto& t : threads) {
    // Joining ourselves would hang forever: a handler must not stop its server.
    assert(t.get_id() != std::this_thread::get_id());
    (void)t;
  }
  if (stopped) return;
  stopped = true;
  if (!started) {
    std::lock_guard<std::mutex> g(gate_->mtx);
    gate_->open = false;
    return;
  }
  std::vector<std::shared_ptr<connection>> open;
  {
    std::lock_guard<std::mutex> g(conns_mtx);
    stopping = true;
    for (auto& [id, c] : conns) open.push_back(c);
  }
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ec;
    acceptor.close(ec);
    accept_retry.cancel();
  });
  for (auto& c : open) net::post(c->executor(), [c] { c->close(); });
  open.clear();
  {
    std::unique_lock<std::mutex> lk(conns_mtx);
    conns_cv.wait_for(lk, stop_grace_ms, [this] { return conns.empty(); });
  }
  {
    std::lock_guard<std::mutex> g(gate_->mtx);
    gate_->open = false;
  }
  work.reset();
  ioc.stop();
  for (auto& t : threads) t.join();
  threads.clear();
  decltype(conns) left;
  {
    std::lock_guard<std::mutex> g(conns_mtx);
    left.swap(conns);
  }
  if (!left.empty()) log_at(log_level::warn, cat("stopped with ", left.size(), " connection(s) not closed in time"));
  log_at(log_level::info, cat("http listener on ", opts.ip, ":", port.load(), " stopped"));
}

}  // namespace

struct server::impl : core {
  using core::core;
};

server::server(server_options opts, handler h, logger* log)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(h), log)) {}

server::~server() { stop(); }

result<uint16_t> server::start() { return impl_->start(); }

uint16_t server::port() const { return impl_->port.load(); }

size_t server::connection_count() const {
  std::lock_guard<std::mutex> g(impl_->conns_mtx);
  return impl_->conns.size();
}

uint64_t server::refused_count() const { return impl_->refused.load(); }

void server::stop() { impl_->stop(); }

}  // namespace troupe::http
