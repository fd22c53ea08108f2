#include "test/http/test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace troupe::test {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
}  // namespace

std::string raw_response::header(std::string_view lower_name) const {
  for (auto& [k, v] : headers)
    if (k == lower_name) return v;
  return {};
}

bool raw_response::has_header(std::string_view lower_name) const {
  for (auto& [k, v] : headers)
    if (k == lower_name) return true;
  return false;
}

test_client::test_client(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

test_client::test_client(adopt_t, int connected_fd) : fd_(connected_fd) {
  if (fd_ < 0) return;
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

test_client::~test_client() { close(); }

void test_client::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool test_client::send(std::string_view bytes) {
  while (!bytes.empty()) {
    // MSG_NOSIGNAL: writing to a socket the server closed must not kill the test.
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void test_client::shutdown_write() { ::shutdown(fd_, SHUT_WR); }

int test_client::fill(std::chrono::steady_clock::time_point deadline) {
  if (eof_ || fd_ < 0) return -1;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    char tmp[16384];
    auto n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof_ = true;
      return -1;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return 1;
  }
}

std::optional<size_t> parse_response(std::string_view buf, raw_response& r, bool head) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string_view::npos) return size_t{0};
  r = raw_response{};
  std::string_view hdr(buf.data(), end);
  auto line_end = hdr.find("\r\n");
  auto status_line = hdr.substr(0, line_end);
  auto sp1 = status_line.find(' ');
  if (sp1 == std::string_view::npos) return std::nullopt;
  r.version = std::string(status_line.substr(0, sp1));
  auto rest = status_line.substr(sp1 + 1);
  auto sp2 = rest.find(' ');
  r.status = std::atoi(std::string(rest.substr(0, sp2)).c_str());
  if (sp2 != std::string_view::npos) r.reason = std::string(rest.substr(sp2 + 1));
  size_t pos = line_end == std::string_view::npos ? hdr.size() : line_end + 2;
  while (pos < hdr.size()) {
    auto e = hdr.find("\r\n", pos);
    if (e == std::string_view::npos) e = hdr.size();
    auto line = hdr.substr(pos, e - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      auto v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      r.headers.emplace_back(lower(line.substr(0, colon)), std::string(v));
    }
    pos = e + 2;
  }
  size_t len = 0;
  bool no_body = head || r.status == 204 || r.status == 304 || (r.status >= 100 && r.status < 200);
  if (!no_body && r.has_header("content-length")) {
    auto v = r.header("content-length");
    if (v.empty() || v.size() > 12 || v.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    len = std::stoul(v);
  }
  if (buf.size() < end + 4 + len) return size_t{0};
  r.body = std::string(buf.substr(end + 4, len));
  return end + 4 + len;
}

std::optional<raw_response> test_client::read_response(std::chrono::milliseconds timeout, bool head) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  raw_response r;
  for (;;) {
    auto used = parse_response(buf_, r, head);
    if (!used) return std::nullopt;
    if (*used > 0) {
      buf_.erase(0, *used);
      return r;
    }
    if (fill(deadline) <= 0) return std::nullopt;
  }
}

bool test_client::wait_closed(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int r = fill(deadline);
    if (r < 0) return true;
    if (r == 0) return false;
  }
}

std::string make_request(std::string_view method, std::string_view target, std::string_view body,
                         std::string_view extra_headers) {
  std::string s;
  s.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: test\r\n");
  s.append(extra_headers);
  if (!body.empty() || method == "POST" || method == "PUT")
    s.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  s.append("\r\n").append(body);
  return s;
}

}  // namespace troupe::test
