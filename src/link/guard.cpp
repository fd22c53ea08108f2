#include "src/link/guard.hpp"

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <boost/asio.hpp>

#include "src/cluster/cluster_model.hpp"
#include "src/util/strings.hpp"

namespace troupe::link {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using boost::system::error_code;
using std::chrono::steady_clock;

namespace {
constexpr const char* component = "OHazelcastPlugin";
constexpr size_t log_sources_max = 1024;
constexpr std::chrono::seconds log_every{60};
}  // namespace

struct guard::impl : std::enable_shared_from_this<impl> {
  guard_options o;
  logger* log = nullptr;
  net::io_context io{1};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::atomic<size_t> pending{0};
  std::atomic<uint64_t> links_in{0}, links_out{0}, refused{0};
  std::atomic<bool> stopped{false};
  std::mutex log_mtx;
  std::map<std::string, std::pair<steady_clock::time_point, uint64_t>> log_state;  // by peer address

  // Everything open (links, handshakes, forward listeners), so that stop()
  // closes it all and the io thread ends. Touched on the io thread only.
  uint64_t next_id = 0;
  std::map<uint64_t, std::function<void()>> closers;

  impl(guard_options opts, logger* l) : o(std::move(opts)), log(l) {}

  uint64_t track(std::function<void()> close) {
    auto id = ++next_id;
    closers.emplace(id, std::move(close));
    return id;
  }
  void untrack(uint64_t id) { closers.erase(id); }

  // A connection closed for cause: counted, and said at most once a minute per peer.
  void refuse(const std::string& peer, const std::string& why, bool outgoing = false) {
    refused += 1;
    if (log == nullptr) return;
    std::lock_guard<std::mutex> g(log_mtx);
    auto now = steady_clock::now();
    auto it = log_state.find(peer);
    if (it == log_state.end()) {
      if (log_state.size() >= log_sources_max) log_state.erase(log_state.begin());
      it = log_state.emplace(peer, std::pair{now - log_every, uint64_t{0}}).first;
    }
    it->second.second += 1;
    if (now - it->second.first < log_every) return;
    log->warn(component, cat(outgoing ? "cluster link to " : "cluster link from ", peer, " refused: ", why,
                             it->second.second > 1 ? cat(" (", it->second.second, " refusals since the last line)") : ""));
    it->second = {now, 0};
  }

  void accept_next();
};

namespace {

std::string peer_of(const tcp::socket& s) {
  error_code ec;
  auto ep = s.remote_endpoint(ec);
  return ec ? std::string("?") : cat(ep.address().to_string(), ":", ep.port());
}

// Relays between a peer (sealed frames) and CAF (plain BASP) once the link is
// authenticated. Each direction reads at most one frame's worth, transforms,
// writes, and only then reads again: memory stays bounded by a few frames.
struct relay : std::enable_shared_from_this<relay> {
  std::shared_ptr<guard::impl> g;
  tcp::socket sealed_side, plain_side;  // the peer's side (sealed frames unless bounds only) and CAF's
  sealer seal;
  opener open;
  basp_checker check;
  std::string peer;
  std::string peer_key;                    // key_text of the node key the peer proved ("" on the console port)
  int expect_op;                           // the BASP handshake the peer sends first: 0 server, 1 client
  bool framed = true;                      // false: bounds only (guard_options::sealed == false)
  std::function<void()> on_first_message;  // once the peer's first BASP message is whole
  std::array<char, frame_plain_bytes_max> up_buf{}, down_buf{};
  std::string up_out, down_out;
  bool closed = false;
  uint64_t id = 0;

  relay(std::shared_ptr<guard::impl> gi, tcp::socket sealed, tcp::socket plain, const key& out_key,
        const key& in_key, bool encrypt, std::string p, std::string pk, int expect)
      : g(std::move(gi)),
        sealed_side(std::move(sealed)),
        plain_side(std::move(plain)),
        seal(out_key, encrypt),
        open(in_key, encrypt),
        check(g->o.payload_bytes_max, g->o.sealed ? 0 : g->o.first_payload_bytes_max, g->o.sealed ? 0 : g->o.first_messages),
        peer(std::move(p)),
        peer_key(std::move(pk)),
        expect_op(expect),
        framed(g->o.sealed) {}

  void start() {
    id = g->track([w = weak_from_this()] {
      if (auto self = w.lock()) self->close();
    });
    // The node id the peer announces is bound to the key it proved (src/link/identity.hpp).
    check.expect_node(expect_op, [this](const std::string& node_id, std::string& why) {
      auto& book = g->o.book;
      if (!book) return true;
      std::weak_ptr<guard::impl> wg = g;
      auto close_later = [wg, wr = weak_from_this()] {
        if (auto gi = wg.lock())
          net::post(gi->io, [wr] {
            if (auto r = wr.lock()) r->close();
          });
      };
      return book->bind(id, node_id, peer_key, peer, close_later, why);
    });
    error_code ignore;
    sealed_side.set_option(tcp::no_delay(true), ignore);
    plain_side.set_option(tcp::no_delay(true), ignore);
    read_plain();
    read_sealed();
  }

  void close() {
    if (closed) return;
    closed = true;
    g->untrack(id);
    if (g->o.book) g->o.book->unbind(id);
    error_code ignore;
    sealed_side.close(ignore);
    plain_side.close(ignore);
  }

  void read_plain() {
    plain_side.async_read_some(net::buffer(up_buf), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec) return self->close();
      self->up_out.clear();
      if (self->framed)
        self->seal.seal(std::string_view(self->up_buf.data(), n), self->up_out);
      else
        self->up_out.assign(self->up_buf.data(), n);
      net::async_write(self->sealed_side, net::buffer(self->up_out), [self](error_code ec2, size_t) {
        if (ec2) return self->close();
        self->read_plain();
      });
    });
  }

  void read_sealed() {
    sealed_side.async_read_some(net::buffer(down_buf), [self = shared_from_this()](error_code ec, size_t n) {
      if (ec) return self->close();
      self->down_out.clear();
      std::string why;
      bool ok = self->framed ? self->open.feed(std::string_view(self->down_buf.data(), n), self->down_out, why)
                             : (self->down_out.assign(self->down_buf.data(), n), true);
      if (!ok || !self->check.feed(self->down_out, why)) {
        self->g->refuse(self->peer, why);
        return self->close();
      }
      if (self->on_first_message && self->check.messages() > 0) std::exchange(self->on_first_message, nullptr)();
      if (self->down_out.empty()) return self->read_sealed();
      net::async_write(self->plain_side, net::buffer(self->down_out), [self](error_code ec2, size_t) {
        if (ec2) return self->close();
        self->read_sealed();
      });
    });
  }
};

// The listener's side of a handshake: hello in, challenge out, the
// connector's proof in and checked, ours out, then CAF's endpoint.
struct listener_handshake : std::enable_shared_from_this<listener_handshake> {
  std::shared_ptr<guard::impl> g;
  tcp::socket s;
  tcp::socket caf;
  net::steady_timer timer;
  std::string peer;
  std::string buf;
  std::array<char, hello_bytes_max> tmp{};
  hello h;
  std::string nonce_s = random_bytes(nonce_bytes);
  std::string auth_in = std::string(auth_bytes, '\0');
  auth theirs;
  handshake_side mine;
  std::string out;
  bool done = false;
  uint64_t id = 0;
  std::function<void()> on_deadline;  // bounds only: closes the relay that took the sockets

  listener_handshake(std::shared_ptr<guard::impl> gi, tcp::socket sock)
      : g(std::move(gi)), s(std::move(sock)), caf(g->io), timer(g->io), peer(peer_of(s)) {}

  void start() {
    id = g->track([w = weak_from_this()] {
      if (auto self = w.lock()) self->fail("the node stops");
    });
    g->pending += 1;
    timer.expires_after(g->o.handshake_timeout);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->done) return;
      self->fail(cat(self->g->o.sealed ? "no link handshake within " : "no complete first message within ",
                     self->g->o.handshake_timeout.count(), " ms"));
    });
    if (g->o.sealed)
      read_hello();
    else
      relay_bounds_only();
  }

  // Bounds only: CAF's endpoint at once, the relay checks what the client
  // sends, and the client counts as pending until its first message is whole.
  void relay_bounds_only() {
    tcp::endpoint internal(net::ip::address_v4::loopback(), g->o.internal_port);
    caf.async_connect(internal, [self = shared_from_this()](error_code ec) {
      if (self->done) return;
      if (ec) return self->fail(cat("this node's CAF endpoint refused: ", ec.message()));
      key none{};
      auto r = std::make_shared<relay>(self->g, std::move(self->s), std::move(self->caf), none, none, false, self->peer,
                                       std::string(), 1);
      std::weak_ptr<relay> wr = r;
      r->on_first_message = [self] {
        if (self->done) return;
        self->finish();
        self->g->links_in += 1;
      };
      // The deadline closes the relay's sockets now that it holds them.
      self->on_deadline = [wr] {
        if (auto rr = wr.lock()) rr->close();
      };
      r->start();
    });
  }

  void finish() {
    if (done) return;
    done = true;
    g->untrack(id);
    g->pending -= 1;
    timer.cancel();
  }

  void fail(const std::string& why) {
    bool counted = !done;
    finish();
    error_code ignore;
    s.close(ignore);
    caf.close(ignore);
    if (on_deadline) std::exchange(on_deadline, nullptr)();
    if (counted) g->refuse(peer, why);
  }

  void read_hello() {
    s.async_read_some(net::buffer(tmp.data(), hello_bytes_max - buf.size()),
                      [self = shared_from_this()](error_code ec, size_t n) {
                        if (self->done) return;
                        if (ec) return self->fail("closed during the link handshake");
                        self->buf.append(self->tmp.data(), n);
                        size_t used = 0;
                        std::string why;
                        auto r = parse_hello(self->buf, self->h, used, why);
                        if (r == parse::bad) return self->fail(why);
                        if (r == parse::need_more) {
                          if (self->buf.size() >= hello_bytes_max) return self->fail("an oversized hello");
                          return self->read_hello();
                        }
                        // The connector waits for our challenge before its proof.
                        if (used != self->buf.size()) return self->fail("bytes before the challenge");
                        if (self->h.encrypt != self->g->o.encrypt)
                          return self->fail(self->g->o.encrypt ? "encryption is on here and off on that node"
                                                               : "encryption is off here and on on that node");
                        self->send_challenge();
                      });
  }

  void send_challenge() {
    out = encode(challenge{g->o.encrypt, nonce_s});
    net::async_write(s, net::buffer(out), [self = shared_from_this()](error_code ec, size_t) {
      if (self->done) return;
      if (ec) return self->fail("closed during the link handshake");
      net::async_read(self->s, net::buffer(self->auth_in), [self](error_code ec2, size_t) {
        if (self->done) return;
        if (ec2) return self->fail("closed before proving the group password");
        self->theirs = parse_auth(self->auth_in);
        std::string why;
        if (!check_auth(self->g->o.group_key, 'c', self->g->o.group_name, self->h, self->nonce_s, self->theirs, nullptr,
                        why))
          return self->fail(why);
        self->send_proof();
      });
    });
  }

  void send_proof() {
    mine = make_auth(g->o.group_key, g->o.me, 's', g->o.group_name, h, nonce_s, &theirs);
    out = encode(mine.a);
    net::async_write(s, net::buffer(out), [self = shared_from_this()](error_code ec, size_t) {
      if (self->done) return;
      if (ec) return self->fail("closed during the link handshake");
      tcp::endpoint internal(net::ip::address_v4::loopback(), self->g->o.internal_port);
      self->caf.async_connect(internal, [self](error_code ec2) {
        if (self->done) return;
        if (ec2) return self->fail(cat("this node's CAF endpoint refused: ", ec2.message()));
        auto keys = derive_session_keys(self->g->o.group_key, self->mine.eph_secret, self->theirs, self->mine.a,
                                        self->h, self->nonce_s);
        if (!keys) return self->fail("an ephemeral key that gives no secret");
        self->finish();
        self->g->links_in += 1;
        std::make_shared<relay>(self->g, std::move(self->s), std::move(self->caf), keys->listener_to_connector,
                                keys->connector_to_listener, self->g->o.encrypt, self->peer,
                                key_text(self->theirs.pub), 1)
            ->start();
      });
    });
  }
};

// The connector's side, for one CAF connection to a member: connect, hello,
// challenge, our proof, the listener's proof checked, then relay.
struct connector_handshake : std::enable_shared_from_this<connector_handshake> {
  std::shared_ptr<guard::impl> g;
  tcp::socket caf;
  tcp::socket s;
  tcp::resolver resolver;
  net::steady_timer timer;
  std::string host;
  uint16_t port;
  std::string peer;
  hello h;
  std::string challenge_in = std::string(challenge_bytes, '\0');
  std::string auth_in = std::string(auth_bytes, '\0');
  handshake_side mine;
  auth theirs;
  std::string nonce_s;
  std::string out;
  bool done = false;
  bool connected = false;  // the TCP connection to the member is up
  uint64_t id = 0;

  connector_handshake(std::shared_ptr<guard::impl> gi, tcp::socket caf_side, std::string to_host, uint16_t to_port)
      : g(std::move(gi)),
        caf(std::move(caf_side)),
        s(g->io),
        resolver(g->io),
        timer(g->io),
        host(std::move(to_host)),
        port(to_port),
        peer(cat(host, ":", port)) {
    h.encrypt = g->o.encrypt;
    h.nonce = random_bytes(nonce_bytes);
    h.name = g->o.local_name;
  }

  void fail(const std::string& why) {
    if (done) return;
    end();
    error_code ignore;
    s.close(ignore);
    caf.close(ignore);
    g->refuse(peer, why, true);
  }

  void end() {
    done = true;
    g->untrack(id);
    timer.cancel();
  }

  // Not a refusal: CAF sees its connection close, as a failed connect.
  void quiet_end() {
    end();
    error_code ignore;
    s.close(ignore);
    caf.close(ignore);
  }

  void start() {
    id = g->track([w = weak_from_this()] {
      if (auto self = w.lock()) self->fail("the node stops");
    });
    timer.expires_after(g->o.handshake_timeout);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->done) return;
      // A member that does not even accept is down or cut off, not hostile: quiet.
      if (!self->connected) return self->quiet_end();
      self->fail(cat("no link handshake within ", self->g->o.handshake_timeout.count(), " ms"));
    });
    resolver.async_resolve(host, std::to_string(port),
                           [self = shared_from_this()](error_code ec, tcp::resolver::results_type r) {
                             if (self->done) return;
                             if (ec) return self->fail(cat("cannot resolve: ", ec.message()));
                             net::async_connect(self->s, r, [self](error_code ec2, const tcp::endpoint&) {
                               if (self->done) return;
                               // Not a refusal for cause: the member is down. Close quietly.
                               if (ec2) return self->quiet_end();
                               self->connected = true;
                               self->send_hello();
                             });
                           });
  }

  void send_hello() {
    out = encode(h);
    net::async_write(s, net::buffer(out), [self = shared_from_this()](error_code ec, size_t) {
      if (self->done) return;
      if (ec) return self->fail("closed during the link handshake");
      net::async_read(self->s, net::buffer(self->challenge_in), [self](error_code ec2, size_t) {
        if (self->done) return;
        if (ec2) return self->fail("closed during the link handshake (another group password or encryption setting?)");
        challenge c;
        std::string why;
        if (parse_challenge(self->challenge_in, c, why) != parse::ok) return self->fail(why);
        if (c.encrypt != self->g->o.encrypt) return self->fail("encryption settings differ");
        self->nonce_s = c.nonce;
        self->send_proof();
      });
    });
  }

  void send_proof() {
    mine = make_auth(g->o.group_key, g->o.me, 'c', g->o.group_name, h, nonce_s);
    out = encode(mine.a);
    net::async_write(s, net::buffer(out), [self = shared_from_this()](error_code ec, size_t) {
      if (self->done) return;
      if (ec) return self->fail("closed during the link handshake");
      net::async_read(self->s, net::buffer(self->auth_in), [self](error_code ec2, size_t) {
        if (self->done) return;
        if (ec2) return self->fail("the member refused our proof (another group name or password?)");
        self->theirs = parse_auth(self->auth_in);
        std::string why;
        if (!check_auth(self->g->o.group_key, 's', self->g->o.group_name, self->h, self->nonce_s, self->theirs,
                        &self->mine.a, why))
          return self->fail(why == "wrong group name or password" ? "the member does not know the group password" : why);
        auto keys = derive_session_keys(self->g->o.group_key, self->mine.eph_secret, self->mine.a, self->theirs,
                                        self->h, self->nonce_s);
        if (!keys) return self->fail("an ephemeral key that gives no secret");
        self->end();
        self->g->links_out += 1;
        std::make_shared<relay>(self->g, std::move(self->s), std::move(self->caf), keys->connector_to_listener,
                                keys->listener_to_connector, self->g->o.encrypt, self->peer,
                                key_text(self->theirs.pub), 0)
            ->start();
      });
    });
  }
};

}  // namespace

void guard::impl::accept_next() {
  acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket sock) {
    if (ec) {
      if (ec == net::error::operation_aborted || self->stopped) return;
      return self->accept_next();
    }
    if (self->pending >= self->o.pending_max) {
      self->refuse(peer_of(sock), cat("more than ", self->o.pending_max, " links handshaking at once"));
      error_code ignore;
      sock.close(ignore);
    } else {
      std::make_shared<listener_handshake>(self, std::move(sock))->start();
    }
    self->accept_next();
  });
}

guard::guard(guard_options opts, logger* log) : impl_(std::make_shared<impl>(std::move(opts), log)) {
  // A guard without a node key (a test's) signs with one of its own.
  if (impl_->o.me.secret.empty()) impl_->o.me = generate_node_key();
}

guard::~guard() { stop(); }

result<uint16_t> guard::start() {
  auto& d = *impl_;
  error_code ec;
  auto addr = net::ip::make_address(d.o.bind_host, ec);
  if (ec) return error_info{"", "", cat("bad cluster address '", d.o.bind_host, "': ", ec.message())};
  std::string tried;
  uint16_t bound = 0;
  for (uint32_t p = d.o.port_first; p <= d.o.port_last && bound == 0; ++p) {
    tcp::acceptor a(d.io);
    tcp::endpoint ep(addr, static_cast<uint16_t>(p));
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      tried = ec.message();
      continue;
    }
    bound = a.local_endpoint().port();
    d.acceptor = std::move(a);
  }
  if (bound == 0)
    return error_info{"", "", cat("cannot listen on ", d.o.bind_host, ":", d.o.port_first, "-", d.o.port_last, ": ", tried)};
  d.work.emplace(net::make_work_guard(d.io));
  d.accept_next();
  d.thread = std::thread([&io = d.io] { io.run(); });
  return bound;
}

result<uint16_t> guard::forward(const std::string& host, uint16_t port) {
  auto g = impl_;
  error_code ec;
  auto a = std::make_shared<tcp::acceptor>(g->io);
  tcp::endpoint ep(net::ip::address_v4::loopback(), 0);
  a->open(ep.protocol(), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(1, ec);
  if (ec) return error_info{"", "", cat("cannot open a local port for a link to ", host, ":", port, ": ", ec.message())};
  uint16_t local = a->local_endpoint().port();
  net::post(g->io, [g, a, host, port] {
    auto timer = std::make_shared<net::steady_timer>(g->io, g->o.forward_accept_timeout);
    auto id = g->track([a, timer] {
      error_code ignore;
      a->close(ignore);
      timer->cancel();
    });
    timer->async_wait([g, a, id](error_code ec) {
      if (ec) return;
      g->untrack(id);
      error_code ignore;
      a->close(ignore);  // CAF never came: nothing listens on a forgotten port
    });
    a->async_accept([g, a, timer, id, host, port](error_code ec, tcp::socket sock) {
      g->untrack(id);
      timer->cancel();
      error_code ignore;
      a->close(ignore);
      if (ec || g->stopped) return;
      std::make_shared<connector_handshake>(g, std::move(sock), host, port)->start();
    });
  });
  return local;
}

void guard::set_internal_port(uint16_t port) { impl_->o.internal_port = port; }

guard_stats guard::stats() const {
  return guard_stats{impl_->links_in.load(), impl_->links_out.load(), impl_->refused.load(), impl_->pending.load()};
}

void guard::stop() {
  auto& d = *impl_;
  if (d.stopped.exchange(true)) return;
  // Close everything on the io thread; every pending operation then ends with
  // operation_aborted, nothing starts a new one, and run() returns.
  net::post(d.io, [g = impl_] {
    error_code ignore;
    g->acceptor.close(ignore);
    auto closers = std::move(g->closers);
    g->closers.clear();
    for (auto& [id, close] : closers) close();
  });
  d.work.reset();
  if (d.thread.joinable()) d.thread.join();
}

}  // namespace troupe::link
