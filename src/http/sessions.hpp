// sessions: OrientDB's HTTP sessions (GET /connect/<db> answers with the
// cookie OSESSIONID; later requests may send the cookie instead of Basic
// credentials; GET /disconnect ends the session).
//
// Contract
// - open(user, db) makes a session for a user who has just proved who they
//   are (Basic credentials checked by the caller) and returns its id: 32 hex
//   digits from OpenSSL's RAND_bytes (128 bits), so an id cannot be guessed.
// - find(id) gives the session's user and database while it lives; each find
//   keeps it alive for idle_timeout more (OrientDB's
//   network.http.sessionExpireTimeout, 300 s). An id of the wrong shape is
//   refused before any lookup.
// - close(id) ends a session at once.
// - Bounds: at most sessions_max live sessions; a new one evicts the one idle
//   longest (so a client that opens sessions in a loop cannot grow memory).
// - Time comes from the `now` function, so tests use a fake clock.
// - Thread-safety: every member may be called from any thread (one mutex).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace troupe::http {

inline constexpr std::string_view session_cookie = "OSESSIONID";
inline constexpr size_t session_id_chars = 32;

struct session_options {
  std::chrono::seconds idle_timeout{300};
  size_t sessions_max = 10'000;
};

struct session {
  std::string user;
  std::string db;
};

class sessions {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;
  explicit sessions(session_options opts = {}, clock_fn now = std::chrono::steady_clock::now);

  std::string open(std::string user, std::string db);
  std::optional<session> find(std::string_view id);
  void close(std::string_view id);
  size_t size() const;

 private:
  struct entry {
    session s;
    std::chrono::steady_clock::time_point last;
    std::list<std::string>::iterator in_lru;
  };
  session_options opts_;
  clock_fn now_;
  mutable std::mutex m_;
  std::unordered_map<std::string, entry> by_id_;
  std::list<std::string> lru_;  // least recently used first
};

// The value of cookie `name` in a Cookie header ("a=1; OSESSIONID=x"), if any.
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name);

}  // namespace troupe::http
