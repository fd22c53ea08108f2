// login_guard: remembers wrong logins per client address, says how long to
// hold back the answer to the next one, and logs them without flooding the log.
//
// Contract
// - failure(address, user, log) records one wrong login from `address` and
//   returns what it costs: the first free_failures failures of a window cost
//   nothing, then the delay doubles from first_delay up to delay_max (with the
//   defaults: 3 x 0, then 250 ms, 500 ms, 1 s, 2 s, 4 s, 8 s, 10 s, 10 s, ...).
//   The caller holds its answer back that long WITHOUT blocking a thread (the
//   REST API sets http::response::send_delay).
// - A window ends forget_after after the address's latest failure (its next
//   failure costs nothing again), or with success(address).
// - Logging: failure() writes at most one WARN line per address per
//   log_interval, component "OServerNetworkListener":
//     wrong user name or password from <address> (user '<name>', N failures)
//   N counts the failures since the previous line of that address, this one
//   included, so no failure goes uncounted while one keeps coming. The user
//   name is the client's text: control characters and quotes become '?', and
//   it is cut at user_name_log_max bytes.
// - Bounds: at most addresses_max addresses are remembered; a new one evicts
//   the address whose latest failure is the oldest.
// - Time comes from the `now` function given to the constructor, so tests use
//   a fake clock and never sleep.
//
// Thread-safety: every member function may be called from any thread; one
// mutex guards the state, and the log line is written after it is released.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "src/util/log.hpp"

namespace troupe::http {

struct login_guard_options {
  uint32_t free_failures = 3;                   // per window, before any delay
  std::chrono::milliseconds first_delay{250};   // of the first failure beyond free_failures
  std::chrono::milliseconds delay_max{10'000};  // the doubling stops here
  std::chrono::seconds forget_after{600};       // a window ends this long after its latest failure
  size_t addresses_max = 4096;                  // remembered addresses; the oldest goes first
  std::chrono::seconds log_interval{10};        // at most one log line per address per interval
};

inline constexpr size_t user_name_log_max = 64;

class login_guard {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  struct verdict {
    std::chrono::milliseconds delay{0};  // hold the answer back this long
    uint32_t failures = 0;               // in the address's window, this one included
    uint64_t logged = 0;                 // 0: no line now; else the N of the line written
  };

  // REQUIRES: opts.addresses_max >= 1.
  explicit login_guard(login_guard_options opts = {}, clock_fn now = &std::chrono::steady_clock::now);

  // Records a wrong login; logs through `log` when a line is due (`log` may be
  // null: nothing is written, `logged` still says what would have been).
  verdict failure(std::string_view address, std::string_view user, logger* log);

  // A right login from `address` ends its window: its next failure is free.
  void success(std::string_view address);

  // The delay the latest failure from `address` cost; 0 for an address with no
  // failure in a running window.
  std::chrono::milliseconds delay_for(std::string_view address) const;

  // Addresses remembered (at most addresses_max).
  size_t size() const;

 private:
  struct entry {
    std::string address;
    uint32_t failures = 0;  // in the current window
    std::chrono::steady_clock::time_point last_failure;
    uint64_t unlogged = 0;  // failures since the latest line
    std::optional<std::chrono::steady_clock::time_point> last_line;
  };
  using order = std::list<entry>;  // oldest latest-failure first

  std::chrono::milliseconds delay_of(uint32_t failures) const;
  bool expired(const entry& e, std::chrono::steady_clock::time_point now) const;

  login_guard_options opts_;
  clock_fn now_;
  mutable std::mutex mtx_;
  order order_;
  std::unordered_map<std::string, order::iterator> by_address_;
};

}  // namespace troupe::http
