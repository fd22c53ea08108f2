// A private network of "hosts" made of Linux network namespaces, for process
// tests: one dserver per host, each with its own loopback, address and ports;
// links between hosts that can be cut and healed; and sockets that the test
// process itself opens from a client namespace or from any host.
//
// Layout: hosts h1..hN and a client namespace each have one veth ("eth0") whose
// other end is a port of a bridge living in a separate "switch" namespace.
// Nothing is made in the machine's own network namespace.
//
// Needs root, `ip` (iproute2) and `nft` (nftables); see unavailable_reason().
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace troupe::test {

class netns_lab {
 public:
  // Makes `hosts` (1..99) host namespaces, the switch and the client. Host i has
  // address 10.77.0.i/24 and the client 10.77.0.100/24; lo is up everywhere.
  // Every namespace name starts with the per-lab prefix "tr<pid in hex>_<counter>_"
  // so that two labs, in this run or another, never meet; remove_stale() relies on
  // that format. Calls remove_stale() first. Throws std::invalid_argument for a bad
  // host count and std::runtime_error (with the failing command and its output)
  // when something cannot be made; then nothing it made is left behind.
  // While a lab exists, SIGINT or SIGTERM to the process removes its namespaces
  // before the signal takes its previous course (doctest's report, then the end of
  // the process), unless the process started with that signal ignored. The
  // handler is (re)installed by each constructor: doctest resets the handlers
  // after every test case. See netns.cpp.
  explicit netns_lab(int hosts);
  // Removes the namespaces (their veths go with them). Processes still running in
  // a host keep its network alive until they end, but its name is gone.
  ~netns_lab();
  netns_lab(const netns_lab&) = delete;
  netns_lab& operator=(const netns_lab&) = delete;

  // Empty when labs can be made here; otherwise why not (not root, `ip` or `nft`
  // missing, the kernel refusing a namespace, a bridge, a veth or an nftables
  // table). Tests call it first and skip with the reason.
  static std::string unavailable_reason();
  // Removes namespaces left by earlier runs that were killed: those whose name has
  // the lab format and whose pid is no longer a running process. Processes still
  // running inside them (a dserver whose test died) are SIGKILLed first.
  static void remove_stale();

  int hosts() const { return hosts_; }
  std::string address(int host) const;  // "10.77.0.<host>"
  std::string ns_name(int host) const;  // for `ip netns exec` and friends
  std::string client_address() const { return "10.77.0.100"; }
  std::string client_ns_name() const { return client_ns_; }

  // The argument vector that runs `argv` inside host `host`'s namespace:
  // {<path of ip>, "netns", "exec", ns_name(host), argv...}; argv[0] is looked up
  // in PATH. `ip netns exec` execs the program in place, so the child's pid is the
  // program's pid and signals (SIGKILL, SIGSTOP) reach it. For child_process.
  std::vector<std::string> in_host(int host, std::vector<std::string> argv) const;

  // A socket (socket(2) arguments; SOCK_CLOEXEC is added) created inside host
  // `host`'s namespace, -1 on failure. A socket stays in the namespace it was made
  // in, whatever thread uses it later. Thread-safe: only the calling thread
  // switches namespaces, and it switches back before returning.
  int socket_in_host(int host, int domain, int type) const;
  // A blocking TCP socket from the client namespace (or from host `host`)
  // connected to addr:port within `timeout`; -1 on failure or timeout. Thread-safe.
  int connect_from_client(const std::string& addr, uint16_t port, std::chrono::milliseconds timeout) const;
  int connect_from_host(int host, const std::string& addr, uint16_t port,
                        std::chrono::milliseconds timeout) const;
  // A TCP socket listening on addr:port (SO_REUSEADDR, backlog 64) in host `host`'s
  // namespace; -1 on failure. Thread-safe.
  int listen_in_host(int host, const std::string& addr, uint16_t port) const;

  // Faults. Packets are dropped silently by nftables (table "inet troupe_lab",
  // chain "input") in the receiving host's namespace: the sender's kernel sees the
  // packet leave and reports no error, as with a real lost link. (Dropping in the
  // sender's output hook would make sendto() fail with EPERM.) Only traffic between
  // hosts is cut; the client keeps reaching every host. ARP still flows.
  // Each throws std::out_of_range for a host outside 1..hosts() (and
  // std::invalid_argument when a == b), std::runtime_error if a command fails.
  //
  // Traffic between hosts a and b is dropped in both directions.
  void cut(int a, int b);
  // Packets from `from` to `to` are dropped; packets from `to` to `from` still
  // arrive (so a TCP handshake fails both ways: its answers are dropped).
  void cut_one_way(int from, int to);
  // Host's bridge port goes down, like a pulled cable: nobody reaches it, not even
  // the client, and it reaches nobody. Its own address and routes stay.
  void isolate(int host);
  // Removes every cut and brings every bridge port up again.
  void heal();

  // A wire tap on the bridge: the IPv4 payload (headers included) of every
  // frame that crosses it between two hosts (the client's traffic is left out,
  // so what the test itself sends does not count), from construction to
  // destruction. Bounded: keeps at most 64 MiB.
  class capture {
   public:
    explicit capture(const netns_lab& lab);
    ~capture();
    capture(const capture&) = delete;
    capture& operator=(const capture&) = delete;
    std::string bytes() const;
    size_t packets() const;

   private:
    struct impl;
    std::unique_ptr<impl> impl_;
  };

 private:
  friend class capture;
  void check_host(int host) const;
  void drop_from(int at, int from);  // at `at`, drop what comes from `from`
  std::string prefix_;
  int hosts_ = 0;
  std::vector<std::string> host_ns_;  // [0] is h1
  std::string switch_ns_;
  std::string client_ns_;
};

}  // namespace troupe::test
