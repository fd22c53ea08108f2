#include "src/http/sessions.hpp"

#include <openssl/rand.h>

#include <array>
#include <cassert>
#include <stdexcept>

namespace troupe::http {

namespace {

std::string random_id() {
  std::array<unsigned char, session_id_chars / 2> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1)
    throw std::runtime_error("RAND_bytes failed: no entropy for a session id");  // never without an OS RNG
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(session_id_chars);
  for (auto b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool well_formed(std::string_view id) {
  if (id.size() != session_id_chars) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

sessions::sessions(session_options opts, clock_fn now) : opts_(opts), now_(std::move(now)) {}

std::string sessions::open(std::string user, std::string db) {
  auto id = random_id();
  std::lock_guard g(m_);
  while (by_id_.size() >= opts_.sessions_max && !lru_.empty()) {
    by_id_.erase(lru_.front());
    lru_.pop_front();
  }
  lru_.push_back(id);
  by_id_[id] = entry{session{std::move(user), std::move(db)}, now_(), std::prev(lru_.end())};
  return id;
}

std::optional<session> sessions::find(std::string_view id) {
  if (!well_formed(id)) return std::nullopt;
  std::lock_guard g(m_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return std::nullopt;
  auto now = now_();
  if (now - it->second.last >= opts_.idle_timeout) {
    lru_.erase(it->second.in_lru);
    by_id_.erase(it);
    return std::nullopt;
  }
  it->second.last = now;
  lru_.splice(lru_.end(), lru_, it->second.in_lru);
  return it->second.s;
}

void sessions::close(std::string_view id) {
  std::lock_guard g(m_);
  auto it = by_id_.find(std::string(id));
  if (it == by_id_.end()) return;
  lru_.erase(it->second.in_lru);
  by_id_.erase(it);
}

size_t sessions::size() const {
  std::lock_guard g(m_);
  return by_id_.size();
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    auto semi = header.find(';');
    auto part = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    auto eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) return part.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace troupe::http
