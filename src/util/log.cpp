#include "src/util/log.hpp"

#include <cstdio>

namespace troupe {

const char* to_string(log_level l) {
  switch (l) {
    case log_level::debug: return "DEBUG";
    case log_level::info: return "INFO";
    case log_level::warn: return "WARN";
    case log_level::error: return "ERROR";
  }
  return "?";
}

bool parse_log_level(std::string_view s, log_level& out) {
  std::string low;
  for (char c : s) low += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (low == "debug" || low == "finest" || low == "finer" || low == "fine" || low == "config" || low == "all") {
    out = log_level::debug;
  } else if (low == "info") {
    out = log_level::info;
  } else if (low == "warn" || low == "warning") {
    out = log_level::warn;
  } else if (low == "error" || low == "severe" || low == "off") {
    out = log_level::error;
  } else {
    return false;
  }
  return true;
}

logger::sink logger::console_sink() {
  return [](log_level, std::string_view rec) {
    // One fwrite per record: stdio locks the stream, so records never interleave.
    std::string line(rec);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
  };
}

logger::logger(std::string node, sink s, log_level min)
    : node_(std::move(node)), sink_(std::move(s)), min_(min) {}

void logger::set_node(std::string node) {
  std::lock_guard<std::mutex> g(mtx_);
  node_ = std::move(node);
}

std::string logger::node() const {
  std::lock_guard<std::mutex> g(mtx_);
  return node_;
}

void logger::set_min_level(log_level l) {
  std::lock_guard<std::mutex> g(mtx_);
  min_ = l;
}

void logger::set_tee(sink s) {
  std::lock_guard<std::mutex> g(mtx_);
  tee_ = std::move(s);
}

void logger::log(log_level l, std::string_view component, std::string_view message, direction dir,
                 std::string_view peer) {
  std::lock_guard<std::mutex> g(mtx_);
  if (l < min_ && !tee_) return;
  std::string rec;
  rec.reserve(message.size() + node_.size() + component.size() + 24);
  rec += to_string(l);
  rec += " [";
  rec += node_;
  rec += ']';
  if (dir != direction::none) {
    rec += dir == direction::out ? "->[" : "<-[";
    rec += peer;
    rec += ']';
  }
  rec += ' ';
  rec += message;
  if (!component.empty()) {
    rec += " [";
    rec += component;
    rec += ']';
  }
  if (tee_) tee_(l, rec);
  if (l >= min_ && sink_) sink_(l, rec);
}

}  // namespace troupe
