// A child process for process tests: real fork/exec, output captured through a
// pipe or a pseudo-terminal, and every wait bounded by a deadline that waits for
// a condition (never a fixed sleep).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace troupe::test {

struct process_options {
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) our environment
  std::vector<std::string> unset_env;
  bool pty = false;  // standard input/output on a pseudo-terminal instead of pipes
};

class child_process {
 public:
  explicit child_process(const process_options& opts);
  ~child_process();  // SIGKILLs and reaps a child that still runs
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  // Reads output until it contains `needle` (searched from offset `from`), the
  // child closes its output, or `timeout` passes. True if found.
  bool wait_for_output(std::string_view needle, std::chrono::milliseconds timeout, size_t from = 0);
  const std::string& output() const { return out_; }
  // Reads the output that is waiting, without waiting: a caller busy elsewhere
  // calls it now and then so that the child never blocks on a full pipe.
  void drain() { pump(std::chrono::milliseconds(0)); }

  void write_input(std::string_view s);
  void close_input();
  void signal(int sig);

  // Exit status (or 128+signal) once the child ended, nullopt after `timeout`.
  // Keeps draining output meanwhile.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);

 private:
  void pump(std::chrono::milliseconds max_wait);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int in_fd_ = -1;  // == out_fd_ with a pty
  bool pty_ = false;
  bool eof_ = false;
  std::optional<int> status_;
  std::string out_;
};

}  // namespace troupe::test
