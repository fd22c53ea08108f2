#include "src/util/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

result<std::string> read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return error_info{p.string(), "", cat("cannot open: ", std::strerror(errno))};
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return error_info{p.string(), "", "read error"};
  return ss.str();
}

namespace {

bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    auto w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

status write_file_atomic(const fs::path& p, std::string_view content, unsigned mode) {
  auto dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  auto tmp = dir / (cat(".", p.filename().string(), ".tmp.", ::getpid()));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return error_info{p.string(), "", cat("cannot create temporary file: ", std::strerror(errno))};
  bool ok = write_all(fd, content.data(), content.size()) && ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return error_info{p.string(), "", cat("cannot write: ", std::strerror(err))};
  }
  // The rename is durable only once the directory entry is on disk.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return ok_status();
}

status fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return error_info{dir.string(), "", cat("cannot open directory: ", std::strerror(errno))};
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return error_info{dir.string(), "", cat("cannot sync directory: ", std::strerror(err))};
  return ok_status();
}

status copy_dir_files(const fs::path& from, const fs::path& to, unsigned mode) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return error_info{to.string(), "", cat("cannot create directory: ", ec.message())};
  for (auto& e : fs::directory_iterator(from, ec)) {
    if (!e.is_regular_file()) continue;
    auto content = read_file(e.path());
    if (!content) return content.error();
    auto st = write_file_atomic(to / e.path().filename(), *content, mode);
    if (!st) return st.error();
  }
  if (ec) return error_info{from.string(), "", cat("cannot list directory: ", ec.message())};
  return ok_status();
}

}  // namespace troupe
