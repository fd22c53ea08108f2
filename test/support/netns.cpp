#include "test/support/netns.hpp"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace troupe::test {

namespace {

constexpr const char* kRunDir = "/run/netns/";  // where `ip netns add` mounts the names
constexpr const char* kTable = "troupe_lab";

// --- running ip and nft -------------------------------------------------------

std::string find_program(const char* name) {
  for (const char* dir : {"/usr/sbin", "/sbin", "/usr/bin", "/bin"}) {
    std::string p = std::string(dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

const std::string& ip_program() {
  static const std::string p = find_program("ip");
  return p;
}

const std::string& nft_program() {
  static const std::string p = find_program("nft");
  return p;
}

struct cmd_result {
  int status = -1;     // exit status, 128+signal, or -1 when it could not start
  std::string output;  // stdout and stderr together
};

std::string describe(const std::vector<std::string>& argv) {
  std::string s;
  for (auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// posix_spawn rather than fork: the test process has many threads, and a
// vfork-style spawn copies nothing and runs no atfork handlers.
cmd_result run(const std::vector<std::string>& argv) {
  cmd_result r;
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) {
    r.output = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  posix_spawn_file_actions_t fa;
  ::posix_spawn_file_actions_init(&fa);
  ::posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  // dup2 clears close-on-exec on the copies only, so the child keeps 1 and 2.
  ::posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  ::posix_spawn_file_actions_adddup2(&fa, p[1], 2);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&fa);
  ::close(p[1]);
  if (rc != 0) {
    ::close(p[0]);
    r.output = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  char buf[4096];
  for (;;) {
    auto n = ::read(p[0], buf, sizeof buf);
    if (n > 0) {
      r.output.append(buf, static_cast<size_t>(n));
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(p[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// "" when `argv` succeeded, else the command and what it said.
std::string try_run(const std::vector<std::string>& argv) {
  auto r = run(argv);
  if (r.status == 0) return {};
  while (!r.output.empty() && (r.output.back() == '\n' || r.output.back() == ' ')) r.output.pop_back();
  return "`" + describe(argv) + "` failed (status " + std::to_string(r.status) + "): " + r.output;
}

void must(const std::vector<std::string>& argv) {
  auto err = try_run(argv);
  if (!err.empty()) throw std::runtime_error("netns_lab: " + err);
}

// nft has no option to pick a namespace; `ip netns exec` runs it in one. The
// whole command is one argument: nft joins its arguments anyway.
std::vector<std::string> nft_in(const std::string& ns, const std::string& command) {
  return {ip_program(), "netns", "exec", ns, nft_program(), command};
}

std::string host_address(int host) { return "10.77.0." + std::to_string(host); }

// --- names ----------------------------------------------------------------------

std::atomic<unsigned> g_lab_counter{0};

// "tr<pid in hex>_<counter>_": the pid lets remove_stale() tell a dead run's
// names from a live one's, the counter tells this process's labs apart.
std::string make_prefix() {
  char buf[48];
  std::snprintf(buf, sizeof buf, "tr%x_%u_", static_cast<unsigned>(::getpid()), g_lab_counter++);
  return buf;
}

// The pid in a name of the lab format ("tr" <hex pid> "_" <decimal counter> "_"
// <more>), or -1 for any other name.
pid_t pid_in_name(const std::string& name) {
  if (name.rfind("tr", 0) != 0) return -1;
  size_t i = 2;
  long pid = 0;
  for (; i < name.size() && i < 2 + 8; ++i) {
    char c = name[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) break;
    pid = pid * 16 + d;
  }
  if (i == 2 || i >= name.size() || name[i] != '_') return -1;
  size_t counter = ++i;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
  if (i == counter || i + 1 >= name.size() || name[i] != '_') return -1;
  return pid > 0 && pid <= 0x7fffffff ? static_cast<pid_t>(pid) : -1;
}

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// --- clean-up on SIGINT / SIGTERM -----------------------------------------------
//
// The names of live labs sit in a fixed array that the handler reads without
// allocating or locking. `ip netns del` is an unmount and an unlink of the name
// under /run/netns; the handler does exactly that with the two async-signal-safe
// system calls rather than spawning `ip`.

constexpr size_t kSlots = 128;
constexpr int kFree = 0, kWriting = 1, kReady = 2;

struct name_slot {
  std::atomic<int> state{kFree};
  char path[80] = {};
};
name_slot g_slots[kSlots];

std::mutex g_handler_mutex;
struct sigaction g_previous[2];  // [0] SIGINT, [1] SIGTERM
constexpr int kSignals[2] = {SIGINT, SIGTERM};

bool ignored_now(int sig) {
  struct sigaction cur {};
  ::sigaction(sig, nullptr, &cur);
  return !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_IGN;
}

// Read before main(), before doctest puts its handlers in place: a process
// started with a signal ignored (a background job of a non-interactive shell
// ignores SIGINT) must go on ignoring it, and keep its lab.
const bool g_ignored_at_start[2] = {ignored_now(SIGINT), ignored_now(SIGTERM)};

void on_signal(int sig) {
  for (auto& s : g_slots) {
    if (s.state.load(std::memory_order_acquire) != kReady) continue;
    ::umount2(s.path, MNT_DETACH);
    ::unlink(s.path);
  }
  // The signal is blocked while we run, so the re-raised one is delivered, with
  // the action that was there before ours (doctest's reporter, or the default),
  // as soon as we return.
  ::sigaction(sig, &g_previous[sig == SIGINT ? 0 : 1], nullptr);
  ::raise(sig);
}

// (Re)installs the handler. doctest puts its own handlers in place for each test
// case and restores the old ones after it, which drops ours: hence each lab checks.
void install_signal_handlers() {
  std::lock_guard lock(g_handler_mutex);
  for (int i = 0; i < 2; ++i) {
    if (g_ignored_at_start[i]) continue;
    struct sigaction cur {};
    ::sigaction(kSignals[i], nullptr, &cur);
    if (!(cur.sa_flags & SA_SIGINFO) && (cur.sa_handler == on_signal || cur.sa_handler == SIG_IGN)) continue;
    g_previous[i] = cur;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(kSignals[i], &sa, nullptr);
  }
}

void register_names(const std::vector<std::string>& names) {
  size_t done = 0;
  for (auto& n : names) {
    std::string path = kRunDir + n;
    bool placed = false;
    for (auto& s : g_slots) {
      int expected = kFree;
      if (path.size() >= sizeof s.path || !s.state.compare_exchange_strong(expected, kWriting)) continue;
      std::memcpy(s.path, path.c_str(), path.size() + 1);
      s.state.store(kReady, std::memory_order_release);
      placed = true;
      break;
    }
    if (!placed) {
      for (size_t i = 0; i < done; ++i) {
        // Undo: the caller makes nothing when this throws.
        std::string p = kRunDir + names[i];
        for (auto& s : g_slots)
          if (s.state.load() == kReady && p == s.path) s.state.store(kFree);
      }
      throw std::runtime_error("netns_lab: too many namespaces at once (" + std::to_string(kSlots) + " at most)");
    }
    ++done;
  }
}

void unregister_name(const std::string& name) {
  std::string path = kRunDir + name;
  for (auto& s : g_slots) {
    if (s.state.load(std::memory_order_acquire) == kReady && path == s.path) {
      s.state.store(kFree, std::memory_order_release);
      return;
    }
  }
}

// Deletes the names first and only then forgets them: a signal in between
// finds a name already gone, which is harmless, rather than one left behind.
void remove_namespaces(const std::vector<std::string>& names) {
  for (auto& n : names) {
    run({ip_program(), "netns", "del", n});
    unregister_name(n);
  }
}

// --- sockets in a namespace -------------------------------------------------------

class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// setns() moves only the calling thread, and a socket keeps the namespace it was
// created in, so the thread enters, makes the socket and comes straight back.
int socket_in_ns(const std::string& ns, int domain, int type) {
  fd_guard self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (self.get() < 0) return -1;
  fd_guard target(::open((kRunDir + ns).c_str(), O_RDONLY | O_CLOEXEC));
  if (target.get() < 0) return -1;
  if (::setns(target.get(), CLONE_NEWNET) != 0) return -1;
  int fd = ::socket(domain, type | SOCK_CLOEXEC, 0);
  int saved = errno;
  if (::setns(self.get(), CLONE_NEWNET) != 0) {
    // A thread left in the lab would put every later socket of its own there,
    // silently: stop here instead.
    std::fprintf(stderr, "netns_lab: cannot return to the thread's network namespace: %s\n", std::strerror(errno));
    std::abort();
  }
  errno = saved;
  return fd;
}

bool make_sockaddr(const std::string& addr, uint16_t port, sockaddr_in& sa) {
  sa = {};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  return ::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) == 1;
}

int connect_in_ns(const std::string& ns, const std::string& addr, uint16_t port, std::chrono::milliseconds timeout) {
  sockaddr_in sa;
  if (!make_sockaddr(addr, port, sa)) return -1;
  int fd = socket_in_ns(ns, AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
  if (fd < 0) return -1;
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  if (!ok && errno == EINPROGRESS) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() < 0) left = std::chrono::milliseconds(0);
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, static_cast<int>(left.count()));
      if (r < 0 && errno == EINTR) continue;
      if (r > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
      }
      break;
    }
  }
  if (!ok) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace

// --- netns_lab ----------------------------------------------------------------------

std::string netns_lab::unavailable_reason() {
  if (::geteuid() != 0) return "network namespaces need root";
  if (ip_program().empty()) return "`ip` not found in /usr/sbin, /sbin, /usr/bin or /bin (apt-get install iproute2)";
  if (nft_program().empty()) return "`nft` not found in /usr/sbin, /sbin, /usr/bin or /bin (apt-get install nftables)";
  // Try what a lab needs, in a namespace of its own; a killed probe is found by
  // remove_stale() like any other name.
  const std::string ns = make_prefix() + "probe";
  const std::string& ip = ip_program();
  std::string err = try_run({ip, "netns", "add", ns});
  if (!err.empty()) return err;
  for (auto& argv : std::vector<std::vector<std::string>>{
           {ip, "-n", ns, "link", "add", "br0", "type", "bridge"},
           {ip, "-n", ns, "link", "add", "v0", "type", "veth", "peer", "name", "v1"},
           nft_in(ns, std::string("add table inet ") + kTable),
       }) {
    err = try_run(argv);
    if (!err.empty()) break;
  }
  run({ip, "netns", "del", ns});
  return err;
}

void netns_lab::remove_stale() {
  const std::string& ip = ip_program();
  if (ip.empty()) return;
  std::error_code ec;
  std::vector<std::string> stale;
  for (auto& e : std::filesystem::directory_iterator(kRunDir, ec)) {
    std::string name = e.path().filename().string();
    pid_t pid = pid_in_name(name);
    if (pid > 0 && !process_alive(pid)) stale.push_back(name);
  }
  for (auto& name : stale) {
    // A process of the dead run (a dserver) would keep the network alive, and
    // itself running, forever once the name is gone.
    std::istringstream pids(run({ip, "netns", "pids", name}).output);
    for (long pid; pids >> pid;)
      if (pid > 1 && pid != ::getpid()) ::kill(static_cast<pid_t>(pid), SIGKILL);
    run({ip, "netns", "del", name});
  }
}

netns_lab::netns_lab(int hosts) : hosts_(hosts) {
  if (hosts < 1 || hosts > 99) throw std::invalid_argument("netns_lab: hosts must be 1..99");
  if (ip_program().empty() || nft_program().empty())
    throw std::runtime_error("netns_lab: " + unavailable_reason());
  remove_stale();
  prefix_ = make_prefix();
  switch_ns_ = prefix_ + "sw";
  client_ns_ = prefix_ + "cl";
  for (int i = 1; i <= hosts; ++i) host_ns_.push_back(prefix_ + "h" + std::to_string(i));

  std::vector<std::string> all{switch_ns_, client_ns_};
  all.insert(all.end(), host_ns_.begin(), host_ns_.end());
  // Recorded before they exist, so that a signal during the set-up removes them too.
  register_names(all);
  install_signal_handlers();

  const std::string& ip = ip_program();
  try {
    for (auto& ns : all) {
      must({ip, "netns", "add", ns});
      must({ip, "-n", ns, "link", "set", "lo", "up"});
    }
    // STP is off by default; a zero forward delay makes a port forward at once
    // when it comes (back) up.
    must({ip, "-n", switch_ns_, "link", "add", "br0", "type", "bridge", "forward_delay", "0"});
    must({ip, "-n", switch_ns_, "link", "set", "br0", "up"});
    // Interface names are per namespace: every end is made where it lives, so
    // short fixed names ("eth0", bridge ports "h<i>" and "client") never collide.
    auto attach = [&](const std::string& ns, const std::string& port, const std::string& addr) {
      must({ip, "-n", switch_ns_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns});
      must({ip, "-n", switch_ns_, "link", "set", port, "master", "br0", "up"});
      must({ip, "-n", ns, "addr", "add", addr + "/24", "dev", "eth0"});
      must({ip, "-n", ns, "link", "set", "eth0", "up"});
    };
    attach(client_ns_, "client", client_address());
    for (int i = 1; i <= hosts; ++i) {
      attach(host_ns_[i - 1], "h" + std::to_string(i), address(i));
      must(nft_in(host_ns_[i - 1], std::string("add table inet ") + kTable + "; add chain inet " + kTable +
                                       " input { type filter hook input priority 0 ; policy accept ; }"));
    }
  } catch (...) {
    remove_namespaces(all);
    throw;
  }
}

netns_lab::~netns_lab() {
  std::vector<std::string> all{switch_ns_, client_ns_};
  all.insert(all.end(), host_ns_.begin(), host_ns_.end());
  remove_namespaces(all);
}

void netns_lab::check_host(int host) const {
  if (host < 1 || host > hosts_)
    throw std::out_of_range("netns_lab: no host " + std::to_string(host) + " (1.." + std::to_string(hosts_) + ")");
}

std::string netns_lab::address(int host) const {
  check_host(host);
  return host_address(host);
}

std::string netns_lab::ns_name(int host) const {
  check_host(host);
  return host_ns_[static_cast<size_t>(host - 1)];
}

std::vector<std::string> netns_lab::in_host(int host, std::vector<std::string> argv) const {
  std::vector<std::string> out{ip_program(), "netns", "exec", ns_name(host)};
  out.insert(out.end(), std::make_move_iterator(argv.begin()), std::make_move_iterator(argv.end()));
  return out;
}

int netns_lab::socket_in_host(int host, int domain, int type) const {
  return socket_in_ns(ns_name(host), domain, type);
}

int netns_lab::connect_from_client(const std::string& addr, uint16_t port, std::chrono::milliseconds timeout) const {
  return connect_in_ns(client_ns_, addr, port, timeout);
}

int netns_lab::connect_from_host(int host, const std::string& addr, uint16_t port,
                                 std::chrono::milliseconds timeout) const {
  return connect_in_ns(ns_name(host), addr, port, timeout);
}

int netns_lab::listen_in_host(int host, const std::string& addr, uint16_t port) const {
  sockaddr_in sa;
  if (!make_sockaddr(addr, port, sa)) return -1;
  int fd = socket_in_host(host, AF_INET, SOCK_STREAM);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void netns_lab::drop_from(int at, int from) {
  must(nft_in(ns_name(at), std::string("add rule inet ") + kTable + " input ip saddr " + address(from) + " drop"));
}

void netns_lab::cut(int a, int b) {
  check_host(a);
  check_host(b);
  if (a == b) throw std::invalid_argument("netns_lab: cannot cut a host from itself");
  drop_from(a, b);
  drop_from(b, a);
}

void netns_lab::cut_one_way(int from, int to) {
  check_host(from);
  check_host(to);
  if (from == to) throw std::invalid_argument("netns_lab: cannot cut a host from itself");
  drop_from(to, from);
}

void netns_lab::isolate(int host) {
  check_host(host);
  must({ip_program(), "-n", switch_ns_, "link", "set", "h" + std::to_string(host), "down"});
}

void netns_lab::heal() {
  for (int i = 1; i <= hosts_; ++i) {
    must(nft_in(ns_name(i), std::string("flush chain inet ") + kTable + " input"));
    must({ip_program(), "-n", switch_ns_, "link", "set", "h" + std::to_string(i), "up"});
  }
}

// --- the wire tap ------------------------------------------------------------

struct netns_lab::capture::impl {
  int fd = -1;
  std::thread t;
  std::atomic<bool> stop{false};
  mutable std::mutex m;
  std::string bytes;
  size_t packets = 0;
  uint32_t client = 0;
};

netns_lab::capture::capture(const netns_lab& lab) : impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  // A packet socket made in the switch namespace: it sees every frame the
  // bridge forwards, as a wire tap would.
  d.fd = socket_in_ns(lab.switch_ns_, AF_PACKET, SOCK_RAW);
  if (d.fd < 0) throw std::runtime_error(std::string("capture: cannot open a packet socket: ") + std::strerror(errno));
  ::inet_pton(AF_INET, lab.client_address().c_str(), &d.client);
  // Every interface of the switch namespace (index 0): frames the bridge
  // forwards between two ports never reach br0 itself, but they are seen on the
  // ports (each twice, coming in and going out; duplicates do not matter here).
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  // ETH_P_ALL: a tap ahead of the bridge (ETH_P_IP would see only what the
  // namespace itself receives, and the bridge takes forwarded frames first).
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = 0;
  if (::bind(d.fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
    throw std::runtime_error(std::string("capture: bind: ") + std::strerror(errno));
  d.t = std::thread([&d] {
    std::vector<char> buf(70000);
    while (!d.stop) {
      pollfd p{d.fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      auto n = ::recv(d.fd, buf.data(), buf.size(), 0);
      if (n < 20) continue;
      // A raw frame: the Ethernet header (14 bytes), then the IPv4 packet.
      size_t at = 14;
      if (static_cast<size_t>(n) < at + 20 || buf[12] != 0x08 || buf[13] != 0x00) continue;  // IPv4 only
      uint32_t src = 0, dst = 0;
      std::memcpy(&src, buf.data() + at + 12, 4);
      std::memcpy(&dst, buf.data() + at + 16, 4);
      if (src == d.client || dst == d.client) continue;
      std::lock_guard<std::mutex> g(d.m);
      if (d.bytes.size() < (64u << 20)) d.bytes.append(buf.data() + at, static_cast<size_t>(n) - at);
      d.packets += 1;
    }
  });
}

netns_lab::capture::~capture() {
  impl_->stop = true;
  if (impl_->t.joinable()) impl_->t.join();
  if (impl_->fd >= 0) ::close(impl_->fd);
}

std::string netns_lab::capture::bytes() const {
  std::lock_guard<std::mutex> g(impl_->m);
  return impl_->bytes;
}

size_t netns_lab::capture::packets() const {
  std::lock_guard<std::mutex> g(impl_->m);
  return impl_->packets;
}

}  // namespace troupe::test
