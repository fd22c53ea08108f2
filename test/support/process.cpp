#include "test/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace troupe::test {

namespace {

[[noreturn]] void exec_child(const process_options& o) {
  // A test killed by its timeout must not leave its servers running (inside a
  // network namespace they would keep it alive). Note: the signal comes when
  // the thread that forked ends, and tests fork from their main thread.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (auto& k : o.unset_env) ::unsetenv(k.c_str());
  for (auto& [k, v] : o.env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> args;
  for (auto& a : o.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execv(args[0], args.data());
  ::_exit(127);
}

}  // namespace

child_process::child_process(const process_options& opts) : pty_(opts.pty) {
  if (opts.argv.empty()) throw std::invalid_argument("child_process: empty argv");
  if (opts.pty) {
    int master = -1;
    struct winsize ws {};
    ws.ws_row = 40;
    ws.ws_col = 120;
    pid_ = ::forkpty(&master, nullptr, nullptr, &ws);
    if (pid_ < 0) throw std::runtime_error("forkpty failed");
    if (pid_ == 0) exec_child(opts);
    out_fd_ = in_fd_ = master;
  } else {
    int in_pipe[2], out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in_pipe[0], 0);
      ::dup2(out_pipe[1], 1);
      ::dup2(out_pipe[1], 2);
      exec_child(opts);
    }
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    in_fd_ = in_pipe[1];
    out_fd_ = out_pipe[0];
  }
  ::fcntl(out_fd_, F_SETFL, ::fcntl(out_fd_, F_GETFL) | O_NONBLOCK);
}

child_process::~child_process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (out_fd_ >= 0) ::close(out_fd_);
  if (in_fd_ >= 0 && in_fd_ != out_fd_) ::close(in_fd_);
}

void child_process::pump(std::chrono::milliseconds max_wait) {
  if (eof_) return;
  pollfd p{out_fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(max_wait.count()));
  if (r <= 0) return;
  char buf[8192];
  for (;;) {
    auto n = ::read(out_fd_, buf, sizeof buf);
    if (n > 0) {
      out_.append(buf, static_cast<size_t>(n));
      continue;
    }
    // A pty master reports EIO once the child side is closed.
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) eof_ = true;
    break;
  }
}

bool child_process::wait_for_output(std::string_view needle, std::chrono::milliseconds timeout, size_t from) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (out_.find(needle, from) != std::string::npos) return true;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || eof_) return out_.find(needle, from) != std::string::npos;
    pump(std::min(left, std::chrono::milliseconds(50)));
  }
}

void child_process::write_input(std::string_view s) {
  while (!s.empty()) {
    auto n = ::write(in_fd_, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return;
    }
    s.remove_prefix(static_cast<size_t>(n));
  }
}

void child_process::close_input() {
  if (pty_) {
    write_input("\x04");  // EOF on a terminal in canonical mode
  } else if (in_fd_ >= 0) {
    ::close(in_fd_);
    in_fd_ = -1;
  }
}

void child_process::signal(int sig) {
  if (!status_) ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!status_) {
    int st = 0;
    auto r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    pump(std::chrono::milliseconds(eof_ ? 5 : 20));
    if (eof_) {
      // Nothing more to read; poll waitpid gently until the deadline.
      pollfd none{-1, 0, 0};
      ::poll(&none, 0, 5);
    }
  }
  pump(std::chrono::milliseconds(0));
  return status_;
}

}  // namespace troupe::test
