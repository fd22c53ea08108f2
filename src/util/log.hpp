// troupe's logger. CAF's own logging is compiled out of Debian's libcaf (see
// CAF-NOTES §1), so every component logs through this.
//
// Line format, as in the OrientDB seed tutorial:
//     LEVEL [node] message [component]
//     LEVEL [node]->[peer] message [component]      (something sent to `peer`)
//     LEVEL [node]<-[peer] message [component]      (something received from `peer`)
// Multi-line messages (the pretty-printed distributed configuration) are written
// as one record so that lines of two threads never interleave.
//
// One logger per node: several nodes in one test process each have their own,
// with their own name and, if the test wants, their own capture sink.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace troupe {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };

const char* to_string(log_level l);
// Accepts troupe's names and OrientDB's java.util.logging names
// (finest/finer/fine/config -> debug, info, warning -> warn, severe -> error).
bool parse_log_level(std::string_view s, log_level& out);

enum class direction { none, out, in };

class logger {
 public:
  // Receives each finished record (without trailing newline).
  using sink = std::function<void(log_level, std::string_view record)>;

  // Writes to standard output, one write per record.
  static sink console_sink();

  explicit logger(std::string node, sink s = console_sink(), log_level min = log_level::info);

  void set_node(std::string node);
  std::string node() const;
  void set_min_level(log_level l);
  // Adds a second sink that sees every record too (tests capture with it).
  void set_tee(sink s);

  void log(log_level l, std::string_view component, std::string_view message) {
    log(l, component, message, direction::none, {});
  }
  void log(log_level l, std::string_view component, std::string_view message, direction dir,
           std::string_view peer);

  void debug(std::string_view component, std::string_view msg) { log(log_level::debug, component, msg); }
  void info(std::string_view component, std::string_view msg) { log(log_level::info, component, msg); }
  void warn(std::string_view component, std::string_view msg) { log(log_level::warn, component, msg); }
  void error(std::string_view component, std::string_view msg) { log(log_level::error, component, msg); }

 private:
  mutable std::mutex mtx_;
  std::string node_;
  sink sink_;
  sink tee_;
  log_level min_;
};

}  // namespace troupe
