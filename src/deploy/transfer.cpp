#include "src/deploy/transfer.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>

#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe::deploy {

uint64_t fnv1a(const char* data, size_t n, uint64_t h) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ull;
  }
  return h;
}

namespace {

constexpr uint64_t k1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t k2 = 0xC2B2AE3D27D4EB4Full;

inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t round64(uint64_t acc, uint64_t w) { return rotl(acc + w * k2, 31) * k1; }
inline uint64_t load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

}  // namespace

uint64_t checksum64(const char* p, size_t n) {
  uint64_t a = k1 + k2, b = k2, c = 0, d = ~k1;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a = round64(a, load64(p + i));
    b = round64(b, load64(p + i + 8));
    c = round64(c, load64(p + i + 16));
    d = round64(d, load64(p + i + 24));
  }
  for (; i + 8 <= n; i += 8) a = round64(a, load64(p + i));
  if (i < n) {
    char tail[8] = {};
    std::memcpy(tail, p + i, n - i);
    b = round64(b, load64(tail));
  }
  uint64_t h = rotl(a, 1) + rotl(b, 7) + rotl(c, 12) + rotl(d, 18) + static_cast<uint64_t>(n) * k1;
  h ^= h >> 33;
  h *= k2;
  h ^= h >> 29;
  h *= k1;
  h ^= h >> 32;
  return h;
}

namespace {

uint64_t mix(uint64_t digest, const std::string& file, uint64_t offset, uint64_t checksum) {
  digest = fnv1a(file.data(), file.size(), digest);
  digest = fnv1a(reinterpret_cast<const char*>(&offset), sizeof offset, digest);
  return fnv1a(reinterpret_cast<const char*>(&checksum), sizeof checksum, digest);
}

bool plain_name(const std::string& s) {
  return !s.empty() && s.size() <= 255 && s != "." && s != ".." && s.find('/') == std::string::npos &&
         s.find('\0') == std::string::npos;
}

void fsync_path(const fs::path& p, bool dir) {
  int fd = ::open(p.c_str(), (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

std::string orientdb_size(uint64_t bytes) {
  static const char* units[] = {"Kb", "Mb", "Gb", "Tb"};
  if (bytes < 1024) return cat(bytes, "b");
  double v = static_cast<double>(bytes) / 1024.0;
  int u = 0;
  while (v >= 1024.0 && u < 3) {
    v /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f%s", v, units[u]);
  std::string s = buf;
  std::replace(s.begin(), s.end(), '.', ',');  // OrientDB printed with a comma locale, as in the seed
  return s;
}

bool compression_pays(double link_rate, double zstd_rate, double ratio) {
  if (link_rate <= 0 || zstd_rate <= 0 || ratio <= 1.0) return false;
  return std::min(zstd_rate, link_rate * ratio) > 1.5 * link_rate;
}

result<std::unique_ptr<reader>> reader::open(const fs::path& dir, uint32_t chunk_bytes, int compress_level) {
  std::unique_ptr<reader> r(new reader);
  r->dir_ = dir;
  r->chunk_bytes_ = std::clamp<uint32_t>(chunk_bytes, 4096, chunk_bytes_max);
  r->level_ = compress_level;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_regular_file()) continue;
    r->m_.file_names.push_back(e.path().filename().string());
    if (r->m_.file_names.size() > files_max) return error_info{dir.string(), "", "too many files in the checkpoint"};
  }
  if (ec) return error_info{dir.string(), "", cat("cannot list the checkpoint: ", ec.message())};
  std::sort(r->m_.file_names.begin(), r->m_.file_names.end());
  for (auto& n : r->m_.file_names) {
    auto size = fs::file_size(dir / n, ec);
    if (ec) return error_info{(dir / n).string(), "", ec.message()};
    r->m_.file_sizes.push_back(size);
    r->m_.raw_bytes += size;
  }
  r->m_.files = r->m_.file_names.size();
  r->m_.digest = 1469598103934665603ull;
  return r;
}

result<std::optional<chunk>> reader::next() {
  while (file_index_ < m_.file_names.size()) {
    auto& name = m_.file_names[file_index_];
    auto size = m_.file_sizes[file_index_];
    if (offset_ >= size && !(size == 0 && offset_ == 0 && !in_.is_open())) {
      in_.close();
      ++file_index_;
      offset_ = 0;
      continue;
    }
    if (!in_.is_open()) {
      in_.open(dir_ / name, std::ios::binary);
      if (!in_) return error_info{(dir_ / name).string(), "", cat("cannot open: ", std::strerror(errno))};
    }
    uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(chunk_bytes_, size - offset_));
    // Read straight into the vector the message will carry: no copy when raw.
    std::vector<char> bytes(n);
    if (n > 0 && !in_.read(bytes.data(), n)) return error_info{(dir_ / name).string(), "", "short read"};
    chunk c;
    c.seq = m_.chunks++;
    c.file = name;
    c.offset = offset_;
    c.raw_size = n;
    c.total_bytes = m_.raw_bytes;
    c.checksum = checksum64(bytes.data(), n);
    c.codec_id = static_cast<uint8_t>(codec::raw);
    bool decide = offset_ == 0 || ++since_decision_ >= redecide_chunks;
    if (decide) since_decision_ = 0;
    if (level_ > 0 && n > 0 && link_rate_ > 0 && (decide || file_compresses_)) {
      std::vector<char> z(ZSTD_compressBound(n));
      auto t0 = std::chrono::steady_clock::now();
      size_t zn = ZSTD_compress(z.data(), z.size(), bytes.data(), n, level_);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      bool saves = !ZSTD_isError(zn) && zn < n - n / 10;
      if (decide) {
        file_compresses_ = saves && compression_pays(link_rate_, static_cast<double>(n) / std::max(secs, 1e-9),
                                                     static_cast<double>(n) / static_cast<double>(zn));
      }
      if (saves && file_compresses_) {
        z.resize(zn);
        c.data = std::move(z);
        c.codec_id = static_cast<uint8_t>(codec::zstd);
      }
    } else if (decide) {
      file_compresses_ = false;
    }
    if (c.codec_id == static_cast<uint8_t>(codec::raw)) c.data = std::move(bytes);
    m_.wire_bytes += c.data.size();
    m_.digest = mix(m_.digest, c.file, c.offset, c.checksum);
    offset_ += n;
    if (size == 0) {
      // An empty file still travels (as one empty chunk) so that it is created.
      in_.close();
      ++file_index_;
      offset_ = 0;
    }
    return std::optional<chunk>{std::move(c)};
  }
  return std::optional<chunk>{};
}

result<std::unique_ptr<installer>> installer::open(const fs::path& dir, const fs::path& final_dir) {
  std::unique_ptr<installer> i(new installer);
  i->dir_ = dir;
  i->final_dir_ = final_dir;
  std::error_code ec;
  fs::remove_all(dir, ec);  // a transfer that died half-way leaves nothing to reuse
  fs::create_directories(dir, ec);
  if (ec) return error_info{dir.string(), "", cat("cannot create: ", ec.message())};
  return i;
}

installer::~installer() {
  close_file();
  if (done_) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

status installer::add(const chunk& c) {
  if (c.seq != next_seq_) return error_info{"", "", cat("chunk ", c.seq, " arrived, expected ", next_seq_)};
  if (!plain_name(c.file)) return error_info{"", "", cat("bad file name in chunk ", c.seq)};
  if (c.raw_size > chunk_bytes_max) return error_info{"", "", cat("chunk ", c.seq, " is too large")};
  std::vector<char> raw;
  const std::vector<char>* bytes = &c.data;
  if (c.codec_id == static_cast<uint8_t>(codec::zstd)) {
    raw.resize(c.raw_size);
    size_t n = ZSTD_decompress(raw.data(), raw.size(), c.data.data(), c.data.size());
    if (ZSTD_isError(n) || n != c.raw_size)
      return error_info{"", "", cat("chunk ", c.seq, " does not decompress")};
    bytes = &raw;
  } else if (c.codec_id != static_cast<uint8_t>(codec::raw)) {
    return error_info{"", "", cat("chunk ", c.seq, " has an unknown codec")};
  }
  if (bytes->size() != c.raw_size) return error_info{"", "", cat("chunk ", c.seq, " has the wrong size")};
  if (checksum64(bytes->data(), bytes->size()) != c.checksum)
    return error_info{"", "", cat("chunk ", c.seq, " is corrupt (checksum mismatch)")};
  if (c.file != current_file_) {
    if (std::find(names_.begin(), names_.end(), c.file) != names_.end())
      return error_info{"", "", cat("file ", c.file, " came back after another one")};
    if (c.offset != 0) return error_info{"", "", cat("file ", c.file, " does not start at offset 0")};
    close_file();
    current_file_ = c.file;
    names_.push_back(c.file);
    sizes_.push_back(0);
  }
  if (c.offset != sizes_.back()) return error_info{"", "", cat("chunk ", c.seq, " leaves a gap in ", c.file)};
  auto path = dir_ / c.file;
  if (fd_ < 0) fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return error_info{path.string(), "", cat("cannot write: ", std::strerror(errno))};
  int fd = fd_;
  const char* p = bytes->data();
  size_t left = bytes->size();
  while (left > 0) {
    ssize_t w;
    if (disk_limit_ > 0 && raw_bytes_ + (bytes->size() - left) + left > disk_limit_) {
      w = -1;
      errno = ENOSPC;
    } else {
      w = ::write(fd, p, left);
    }
    if (w < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      close_file();
      return error_info{path.string(), "",
                        err == ENOSPC ? "the disk is full" : cat("cannot write: ", std::strerror(err))};
    }
    p += w;
    left -= static_cast<size_t>(w);
  }
  // Start writing this chunk back now (without waiting), so that finish()'s
  // fsync finds little left to do: the disk works while the network does.
  ::sync_file_range(fd, static_cast<off_t>(c.offset), static_cast<off_t>(c.raw_size), SYNC_FILE_RANGE_WRITE);
  sizes_.back() += c.raw_size;
  raw_bytes_ += c.raw_size;
  digest_ = mix(digest_, c.file, c.offset, c.checksum);
  ++next_seq_;
  return ok_status();
}

void installer::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

status installer::finish(const manifest& m) {
  close_file();
  if (m.chunks != next_seq_) return error_info{"", "", cat("received ", next_seq_, " of ", m.chunks, " chunks")};
  if (m.file_names != names_ || m.file_sizes != sizes_)
    return error_info{"", "", "the files received differ from the sender's list"};
  if (m.digest != digest_) return error_info{"", "", "the transfer's digest differs from the sender's"};
  for (auto& n : names_) fsync_path(dir_ / n, false);
  fsync_path(dir_, true);
  std::error_code ec;
  if (fs::exists(final_dir_)) return error_info{final_dir_.string(), "", "already exists"};
  fs::rename(dir_, final_dir_, ec);
  if (ec) return error_info{final_dir_.string(), "", cat("cannot move the database into place: ", ec.message())};
  fsync_path(final_dir_.parent_path(), true);
  done_ = true;
  return ok_status();
}

}  // namespace troupe::deploy
