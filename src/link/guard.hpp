// The cluster port's guard: nothing reaches CAF's middleman before the other
// side has proved it knows the group password and signed with its node key
// (src/link/crypto.hpp), and the CAF node id it announces is bound to that key
// (src/link/identity.hpp).
//
// Contract
// - Listens on the node's cluster address and port (the first free one of a
//   range, as Hazelcast's auto-increment). Each connection must complete the
//   link handshake within handshake_timeout, and at most pending_max may be
//   handshaking at once (beyond: closed at once); before the connector's proof
//   checks out the guard sends only its challenge (magic, flag, nonce) and
//   reads at most hello_bytes_max + auth_bytes bytes. Then it connects to
//   CAF's endpoint on 127.0.0.1:internal_port and relays: what the peer sends
//   is opened frame by frame (a bad tag closes the link) and checked as BASP
//   (a payload over the bound or a routed message closes the link) before CAF
//   sees it; what CAF sends is sealed. The node id the peer announces in its
//   BASP handshake is bound in `book` to the node key it proved: a node id the
//   cluster admitted under another key, or one a live link holds under
//   another key, closes the link before CAF reads the handshake; so do a
//   monitor or down message naming another source node.
// - forward(host, port) gives CAF a way out: a one-shot listener on
//   127.0.0.1 (an ephemeral port, open for forward_accept_timeout) whose one
//   connection is relayed to host:port after the link handshake as connector.
//   A failed handshake closes CAF's connection, which CAF sees as a failed
//   connect.
// - Refusals (wrong password, wrong magic, timeouts, bad frames) are logged as
//   WARN at most once a minute per peer address; the count since is in the line.
// - One io thread. stop() closes everything and joins it; idempotent.
// - Which member may use which name is the cluster's to decide: it admits a
//   joiner with the key its link proved (actors/cluster_actor.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "src/link/crypto.hpp"
#include "src/link/identity.hpp"
#include "src/util/log.hpp"
#include "src/util/result.hpp"

namespace troupe::link {

struct guard_options {
  std::string group_name;
  key group_key{};          // derive_group_key(group, password)
  node_key me;              // this node's key (load_or_create_node_key); empty: a fresh one
  std::shared_ptr<peer_book> book;  // binds each link's node id to its key; may be null (tests)
  bool encrypt = false;     // hazelcast.xml <symmetric-encryption enabled="true">
  std::string local_name;   // this node's name, told in the hellos it sends
  std::string bind_host;    // the public address to listen on
  uint16_t port_first = 2434, port_last = 2434;
  uint16_t internal_port = 0;  // CAF's endpoint on 127.0.0.1
  std::chrono::milliseconds handshake_timeout{5000};
  std::chrono::milliseconds forward_accept_timeout{10000};
  size_t pending_max = 64;
  // false: bounds only, for an endpoint whose clients do not know the group
  // password (the console port): no link handshake and no frames; CAF's bytes
  // pass as they are, but the client's first BASP message must arrive within
  // handshake_timeout, its first messages are bounded by first_payload_bytes_max
  // and all by payload_bytes_max, before CAF allocates them.
  bool sealed = true;
  uint32_t payload_bytes_max = basp_payload_bytes_max;
  uint32_t first_payload_bytes_max = 64 * 1024;
  uint64_t first_messages = 4;
};

struct guard_stats {
  uint64_t links_in = 0, links_out = 0;  // handshakes completed
  uint64_t refused = 0;                  // connections closed before or after the handshake for cause
  size_t pending = 0;                    // connections handshaking now
};

class guard {
 public:
  guard(guard_options opts, logger* log);
  ~guard();  // stop()
  guard(const guard&) = delete;
  guard& operator=(const guard&) = delete;

  // CAF's endpoint, once it is published. REQUIRES: before start().
  void set_internal_port(uint16_t port);
  // Binds the first free port of the range on bind_host and starts the io
  // thread. Errors name the address and the range.
  result<uint16_t> start();
  // A local port for CAF to connect to, relayed to host:port. REQUIRES: started.
  result<uint16_t> forward(const std::string& host, uint16_t port);
  guard_stats stats() const;
  void stop();

  struct impl;  // public only so that guard.cpp's connection types can name it

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace troupe::link
