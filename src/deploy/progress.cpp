#include "src/deploy/progress.hpp"

#include <cstdio>

#include "src/deploy/transfer.hpp"
#include "src/util/strings.hpp"

namespace troupe::deploy {

double progress::bytes_per_second() const {
  if (elapsed_ms <= 0) return 0.0;
  return static_cast<double>(bytes_done) * 1000.0 / static_cast<double>(elapsed_ms);
}

std::optional<int64_t> progress::ms_left() const {
  double rate = bytes_per_second();
  if (bytes_total == 0 || rate <= 0.0) return std::nullopt;
  if (bytes_done >= bytes_total) return 0;
  return static_cast<int64_t>(static_cast<double>(bytes_total - bytes_done) * 1000.0 / rate);
}

std::string progress::describe() const {
  std::string s;
  if (bytes_total > 0) {
    auto pct = bytes_done >= bytes_total ? 100 : static_cast<int>(bytes_done * 100 / bytes_total);
    s = cat(pct, "% (", orientdb_size(bytes_done), " of ", orientdb_size(bytes_total), ")");
  } else {
    s = orientdb_size(bytes_done);
  }
  s += cat(", ", format_rate(bytes_per_second()));
  if (auto left = ms_left()) s += cat(", ", format_duration_ms(*left), " left");
  return s;
}

std::string format_rate(double bytes_per_second) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f MB/s", bytes_per_second / 1e6);
  return buf;
}

std::string format_duration_ms(int64_t ms) {
  if (ms < 0) ms = 0;
  int64_t s = (ms + 999) / 1000;
  char buf[48];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
  }
  return buf;
}

uint64_t progress_board::begin(std::string db, bool outgoing, std::string peer) {
  std::lock_guard<std::mutex> g(mtx_);
  auto id = next_id_++;
  progress p;
  p.id = id;
  p.db = std::move(db);
  p.outgoing = outgoing;
  p.peer = std::move(peer);
  p.phase = outgoing ? "snapshot" : "transfer";
  p.started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  items_[id] = std::move(p);
  starts_[id] = std::chrono::steady_clock::now();
  return id;
}

void progress_board::update(uint64_t id, const std::string& phase, uint64_t bytes_done, uint64_t bytes_total,
                            uint64_t wire_bytes) {
  std::lock_guard<std::mutex> g(mtx_);
  auto it = items_.find(id);
  if (it == items_.end()) return;
  auto& p = it->second;
  p.phase = phase;
  p.bytes_done = bytes_done;
  p.bytes_total = bytes_total;
  p.wire_bytes = wire_bytes;
  p.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - starts_[id])
                     .count();
}

void progress_board::end(uint64_t id, bool ok) {
  std::lock_guard<std::mutex> g(mtx_);
  auto it = items_.find(id);
  if (it == items_.end()) return;
  if (ok) {
    auto p = it->second;
    p.phase = "done";
    p.elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - starts_[id]).count();
    if (recent_.size() >= recent_max) recent_.erase(recent_.begin());
    recent_.push_back(std::move(p));
  }
  items_.erase(it);
  starts_.erase(id);
}

std::vector<progress> progress_board::recent() const {
  std::lock_guard<std::mutex> g(mtx_);
  return recent_;
}

std::vector<progress> progress_board::snapshot() const {
  std::lock_guard<std::mutex> g(mtx_);
  std::vector<progress> out;
  out.reserve(items_.size());
  for (auto& [id, p] : items_) out.push_back(p);
  return out;
}

bool progress_board::receiving(const std::string& db) const {
  std::lock_guard<std::mutex> g(mtx_);
  for (auto& [id, p] : items_)
    if (!p.outgoing && p.db == db) return true;
  return false;
}

}  // namespace troupe::deploy
