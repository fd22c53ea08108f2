#include "src/http/login_guard.hpp"

#include <algorithm>
#include <cassert>
#include <iterator>

#include "src/util/strings.hpp"

namespace troupe::http {

namespace {

// The user name is whatever the client sent: it must not forge log lines.
std::string printable_user(std::string_view user) {
  std::string out;
  out.reserve(std::min(user.size(), user_name_log_max));
  for (unsigned char c : user.substr(0, user_name_log_max))
    out += (c < 0x20 || c == 0x7f || c == '\'' || c == '"') ? '?' : static_cast<char>(c);
  return out;
}

}  // namespace

login_guard::login_guard(login_guard_options opts, clock_fn now) : opts_(opts), now_(std::move(now)) {
  assert(opts_.addresses_max >= 1);
  assert(now_);
}

std::chrono::milliseconds login_guard::delay_of(uint32_t failures) const {
  if (failures <= opts_.free_failures) return std::chrono::milliseconds::zero();
  auto delay = opts_.first_delay;
  // Doubling stops at delay_max, long before the shift could overflow.
  for (uint32_t i = opts_.free_failures + 1; i < failures && delay < opts_.delay_max; ++i) delay *= 2;
  return std::min(delay, opts_.delay_max);
}

bool login_guard::expired(const entry& e, std::chrono::steady_clock::time_point now) const {
  return now - e.last_failure >= opts_.forget_after;
}

login_guard::verdict login_guard::failure(std::string_view address, std::string_view user, logger* log) {
  auto now = now_();
  verdict v;
  std::string line;
  {
    std::lock_guard<std::mutex> g(mtx_);
    std::string key(address);
    auto it = by_address_.find(key);
    order::iterator e;
    if (it == by_address_.end()) {
      if (by_address_.size() >= opts_.addresses_max) {
        by_address_.erase(order_.front().address);
        order_.pop_front();
      }
      order_.push_back(entry{key, 0, now, 0, std::nullopt});
      e = std::prev(order_.end());
      by_address_.emplace(std::move(key), e);
    } else {
      e = it->second;
      // The latest failure moves to the back: the front is always the oldest.
      order_.splice(order_.end(), order_, e);
      if (expired(*e, now)) e->failures = 0;
    }
    e->last_failure = now;
    ++e->failures;
    ++e->unlogged;
    v.failures = e->failures;
    v.delay = delay_of(e->failures);
    if (!e->last_line || now - *e->last_line >= opts_.log_interval) {
      v.logged = e->unlogged;
      e->unlogged = 0;
      e->last_line = now;
      line = cat("wrong user name or password from ", address, " (user '", printable_user(user), "', ", v.logged,
                 " failures)");
    }
  }
  if (log != nullptr && v.logged > 0) log->warn("OServerNetworkListener", line);
  return v;
}

void login_guard::success(std::string_view address) {
  std::lock_guard<std::mutex> g(mtx_);
  // The entry stays for its log bookkeeping (failures not yet counted in a line).
  if (auto it = by_address_.find(std::string(address)); it != by_address_.end()) it->second->failures = 0;
}

std::chrono::milliseconds login_guard::delay_for(std::string_view address) const {
  auto now = now_();
  std::lock_guard<std::mutex> g(mtx_);
  auto it = by_address_.find(std::string(address));
  if (it == by_address_.end() || expired(*it->second, now)) return std::chrono::milliseconds::zero();
  return delay_of(it->second->failures);
}

size_t login_guard::size() const {
  std::lock_guard<std::mutex> g(mtx_);
  return by_address_.size();
}

}  // namespace troupe::http
