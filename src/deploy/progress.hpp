// The deploys under way on this node, readable from any thread: the deploy
// actors write their progress here, REST (SYNCHRONIZING) and the console read it. Plain data and a mutex; no CAF.
//
// Also the rule for progress log lines: at most one per `progress_log_interval`
// per transfer, so a 1 TiB deploy prints minutes of lines, not millions.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace troupe::deploy {

inline constexpr std::chrono::seconds progress_log_interval{2};

struct progress {
  uint64_t id = 0;
  std::string db;
  bool outgoing = false;     // true: this node sends
  std::string peer;          // the other node
  std::string phase;         // "snapshot", "transfer", "install", "catch-up", "done" (recent only)
  uint64_t bytes_done = 0;   // raw bytes of the database moved so far
  uint64_t bytes_total = 0;  // 0 while unknown (before the manifest or snapshot)
  uint64_t wire_bytes = 0;   // payload bytes sent or received
  int64_t started_ms = 0;    // wall clock, ms since the epoch
  int64_t elapsed_ms = 0;    // since the start, when last updated

  // Bytes of database per second since the start (0 before any time passed).
  double bytes_per_second() const;
  // Estimated milliseconds left, nullopt when unknown.
  std::optional<int64_t> ms_left() const;
  // "42% (44,00Mb of 104,50Mb), 95.1 MB/s, 1s left"
  std::string describe() const;
};

// "1.2 MB/s" with one decimal, in decimal megabytes as disk and network tools print.
std::string format_rate(double bytes_per_second);
// "3s", "2m05s", "1h02m"
std::string format_duration_ms(int64_t ms);

class progress_board {
 public:
  // Registers a transfer; returns its id.
  uint64_t begin(std::string db, bool outgoing, std::string peer);
  // Replaces the transfer's figures (elapsed_ms computed here). Unknown ids are ignored.
  void update(uint64_t id, const std::string& phase, uint64_t bytes_done, uint64_t bytes_total, uint64_t wire_bytes);
  // Ends a transfer; `ok` ones are kept among the recent (the last
  // recent_max), with their final figures.
  void end(uint64_t id, bool ok = false);
  std::vector<progress> snapshot() const;
  std::vector<progress> recent() const;
  static constexpr size_t recent_max = 16;
  // True if this node receives `db` right now.
  bool receiving(const std::string& db) const;

 private:
  mutable std::mutex mtx_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, progress> items_;
  std::map<uint64_t, std::chrono::steady_clock::time_point> starts_;
  std::vector<progress> recent_;  // oldest first
};

// Decides when a transfer logs its progress: true at most once per interval,
// never for the first interval (small deploys print no progress lines at all).
class progress_throttle {
 public:
  explicit progress_throttle(std::chrono::steady_clock::duration every = progress_log_interval)
      : every_(every), next_(std::chrono::steady_clock::now() + every) {}
  bool due(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    if (now < next_) return false;
    next_ = now + every_;
    return true;
  }

 private:
  std::chrono::steady_clock::duration every_;
  std::chrono::steady_clock::time_point next_;
};

}  // namespace troupe::deploy
