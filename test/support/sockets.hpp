// Raw loopback sockets for tests that talk to a listener byte by byte (an
// attacker's probes, a wire format). Every wait is bounded.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace troupe::test {

// A TCP socket listening on 127.0.0.1 (an ephemeral port, returned in `port`).
int listen_loopback(uint16_t& port);
// A TCP socket connected to 127.0.0.1:port, or -1.
int connect_loopback(uint16_t port);
// Reads until `n` bytes came, the peer closed (then *closed = true), or `timeout`; what came.
std::string read_some(int fd, size_t n, std::chrono::milliseconds timeout, bool* closed = nullptr);
// True if the peer closes `fd` within `timeout` (what it sends meanwhile is dropped).
bool closed_within(int fd, std::chrono::milliseconds timeout);

}  // namespace troupe::test
