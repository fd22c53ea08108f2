#include "src/backup/archive.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>

#include "src/deploy/transfer.hpp"
#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace troupe::backup {

namespace {

constexpr uint64_t digest_seed = 1469598103934665603ull;
constexpr size_t preamble_bytes = 8 + 4 + 4;
constexpr size_t block_header_bytes = 4 + 4 + 8;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

uint64_t chain(uint64_t digest, const char* data, size_t n) {
  uint64_t c = deploy::checksum64(data, n);
  return deploy::fnv1a(reinterpret_cast<const char*>(&c), sizeof c, digest);
}

std::string os_error(int err) {
  if (err == ENOSPC) return "the disk is full (ENOSPC)";
  return std::strerror(err);
}

// A file written with write(2), closed on destruction.
struct out_fd {
  int fd = -1;
  ~out_fd() {
    if (fd >= 0) ::close(fd);
  }
  bool write_all(const char* p, size_t n) {
    while (n > 0) {
      auto w = ::write(fd, p, n);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
};

// A file read with read(2): exact reads, so a short file is told apart from an I/O error.
struct in_fd {
  int fd = -1;
  ~in_fd() {
    if (fd >= 0) ::close(fd);
  }
  // 1: read n bytes, 0: the file ended first, -1: I/O error (errno).
  int read_exact(char* p, size_t n) {
    while (n > 0) {
      auto r = ::read(fd, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return -1;
      if (r == 0) return 0;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return 1;
  }
};

// A sentence for a file that does not start with our magic: what it looks like.
std::string foreign_format(std::string_view head, uint64_t size) {
  const std::string base = "not a troupe backup archive";
  if (size == 0) return base + ": the file is empty";
  if (head.rfind("PK\x03\x04", 0) == 0 || head.rfind("PK\x05\x06", 0) == 0)
    return base + ": it is a zip file (an OrientDB backup? restore that with OrientDB, or import an export)";
  if (head.rfind("\x1f\x8b", 0) == 0) return base + ": it is gzip-compressed (an export? use import database)";
  if (head.rfind("\x28\xb5\x2f\xfd", 0) == 0) return base + ": it is a bare zstd stream";
  auto first = head.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (head[first] == '{' || head[first] == '['))
    return base + ": it looks like JSON (an export? use import database)";
  return base + ": it does not start with \"TROUPEBK\"";
}

// Reads an archive from start to end, checking everything. `on_file` is called
// before each file's blocks and `on_block` with each block's raw bytes; either
// may refuse (an error stops the read).
struct reader_hooks {
  std::function<status(const file_entry&)> on_file;
  std::function<status(const file_entry&, const char*, size_t)> on_block;
  std::function<status(const file_entry&)> on_file_end;
};

result<backup_info> read_archive(const fs::path& file, const reader_hooks& hooks) {
  auto fail = [&](std::string what) -> result<backup_info> { return error_info{file.string(), "", std::move(what)}; };
  in_fd in;
  in.fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (in.fd < 0) return fail(cat("cannot open the backup: ", os_error(errno)));
  struct stat st {};
  if (::fstat(in.fd, &st) != 0) return fail(cat("cannot stat the backup: ", os_error(errno)));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t offset = 0;
  auto truncated = [&](std::string_view where) {
    return fail(cat("the backup is truncated (", size, " bytes; it ends inside ", where, ")"));
  };
  auto read_exact = [&](char* p, size_t n) {
    int r = in.read_exact(p, n);
    if (r == 1) offset += n;
    return r;
  };

  char pre[preamble_bytes];
  {
    int r = read_exact(pre, preamble_bytes);
    if (r < 0) return fail(cat("cannot read the backup: ", os_error(errno)));
    std::string_view head(pre, r == 1 ? preamble_bytes : std::min<uint64_t>(size, preamble_bytes));
    if (head.substr(0, archive_magic.size()) != archive_magic) return fail(foreign_format(head, size));
    if (r == 0) return truncated("the preamble");
  }
  backup_info info;
  info.archive_bytes = size;
  info.format_version = static_cast<uint32_t>(get_be(pre + 8, 4));
  if (info.format_version != archive_format_version)
    return fail(info.format_version > archive_format_version
                    ? cat("the backup has format version ", info.format_version, ", newer than the ",
                          archive_format_version, " this troupe reads: restore it with a newer troupe")
                    : cat("the backup has format version ", info.format_version, ", which troupe never wrote"));
  uint64_t digest = chain(digest_seed, pre, preamble_bytes);
  const uint64_t header_bytes = get_be(pre + 12, 4);
  if (header_bytes == 0 || header_bytes > header_bytes_max)
    return fail(cat("the backup's header claims ", header_bytes, " bytes (at most ", header_bytes_max, "): corrupt"));
  if (header_bytes + 8 > size - offset) return truncated("the header");
  std::string header(header_bytes, '\0');
  char sum[8];
  if (read_exact(header.data(), header.size()) != 1 || read_exact(sum, 8) != 1) return truncated("the header");
  if (get_be(sum, 8) != deploy::checksum64(header.data(), header.size()))
    return fail("the backup's header is corrupt (checksum mismatch)");
  digest = chain(digest, header.data(), header.size());

  // The header JSON, every field checked before anything is sized by it.
  try {
    json::error_code ec;
    auto v = json::parse(header, ec);
    if (ec || !v.is_object()) return fail("the backup's header is not a JSON object: corrupt");
    auto& o = v.as_object();
    auto u64 = [&](const char* key) -> std::optional<uint64_t> {
      auto* f = o.if_contains(key);
      if (f == nullptr) return std::nullopt;
      if (f->is_uint64()) return f->as_uint64();
      if (f->is_int64() && f->as_int64() >= 0) return static_cast<uint64_t>(f->as_int64());
      return std::nullopt;
    };
    auto* name = o.if_contains("database");
    auto lsn = u64("lsn"), seq = u64("committed_seq"), created = u64("created_ms");
    auto* files = o.if_contains("files");
    if (name == nullptr || !name->is_string() || !lsn || !seq || !created || files == nullptr || !files->is_array())
      return fail("the backup's header lacks database, lsn, committed_seq, created_ms or files");
    info.database = std::string(name->as_string());
    info.lsn = *lsn;
    info.committed_seq = *seq;
    info.created_ms = static_cast<int64_t>(*created);
    auto& arr = files->as_array();
    if (arr.size() > files_max) return fail(cat("the backup lists ", arr.size(), " files (at most ", files_max, ")"));
    for (auto& e : arr) {
      if (!e.is_object()) return fail("the backup's file list holds a non-object");
      auto& fo = e.as_object();
      auto* n = fo.if_contains("name");
      auto* s = fo.if_contains("size");
      auto* c = fo.if_contains("checksum");
      if (n == nullptr || !n->is_string() || s == nullptr || !(s->is_uint64() || s->is_int64()) || c == nullptr ||
          !c->is_string())
        return fail("a file entry of the backup lacks name, size or checksum");
      file_entry fe;
      fe.name = std::string(n->as_string());
      if (!plain_file_name(fe.name)) return fail(cat("the backup names a file \"", fe.name, "\": not a plain file name"));
      if (s->is_int64() && s->as_int64() < 0) return fail(cat("file ", fe.name, " has a negative size"));
      fe.size_bytes = s->is_uint64() ? s->as_uint64() : static_cast<uint64_t>(s->as_int64());
      if (fe.size_bytes > file_bytes_max) return fail(cat("file ", fe.name, " claims ", fe.size_bytes, " bytes"));
      auto hexsum = std::string(c->as_string());
      if (hexsum.size() != 16 || hexsum.find_first_not_of("0123456789abcdef") != std::string::npos)
        return fail(cat("file ", fe.name, " has a malformed checksum"));
      fe.checksum = std::stoull(hexsum, nullptr, 16);
      for (auto& prev : info.files)
        if (prev.name == fe.name) return fail(cat("the backup lists file ", fe.name, " twice"));
      info.raw_bytes += fe.size_bytes;
      info.files.push_back(std::move(fe));
    }
  } catch (const std::exception& e) {
    return fail(cat("the backup's header cannot be read: ", e.what()));
  }

  const size_t stored_max = ZSTD_compressBound(block_raw_bytes_max);
  std::string stored, raw(block_raw_bytes_max, '\0');
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  for (auto& fe : info.files) {
    if (hooks.on_file)
      if (auto s = hooks.on_file(fe); !s) return s.error();
    uint64_t got = 0, file_sum = digest_seed;
    for (;;) {
      char bh[block_header_bytes];
      if (read_exact(bh, block_header_bytes) != 1) return truncated(cat("file ", fe.name));
      digest = chain(digest, bh, block_header_bytes);
      const uint64_t raw_n = get_be(bh, 4), stored_n = get_be(bh + 4, 4), sum_n = get_be(bh + 8, 8);
      if (raw_n == 0) {
        if (stored_n != 0 || sum_n != 0) return fail(cat("a corrupt end of file ", fe.name));
        break;
      }
      if (raw_n > block_raw_bytes_max || stored_n == 0 || stored_n > stored_max)
        return fail(cat("a corrupt block header in file ", fe.name, " at offset ", offset - block_header_bytes));
      if (raw_n > fe.size_bytes - got) return fail(cat("file ", fe.name, " holds more than its ", fe.size_bytes, " bytes"));
      if (stored_n > size - offset) return truncated(cat("file ", fe.name));
      stored.resize(stored_n);
      if (read_exact(stored.data(), stored_n) != 1) return truncated(cat("file ", fe.name));
      if (deploy::checksum64(stored.data(), stored_n) != sum_n)
        return fail(cat("a corrupt block in file ", fe.name, " at offset ", offset - stored_n, " (checksum mismatch)"));
      digest = chain(digest, stored.data(), stored_n);
      auto n = ZSTD_decompressDCtx(dctx.get(), raw.data(), raw.size(), stored.data(), stored_n);
      if (ZSTD_isError(n) || n != raw_n)
        return fail(cat("a block of file ", fe.name, " does not decompress (", ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong size", ")"));
      file_sum = chain(file_sum, raw.data(), raw_n);
      got += raw_n;
      if (hooks.on_block)
        if (auto s = hooks.on_block(fe, raw.data(), raw_n); !s) return s.error();
    }
    if (got != fe.size_bytes) return fail(cat("file ", fe.name, " has ", got, " bytes, the header says ", fe.size_bytes));
    if (file_sum != fe.checksum) return fail(cat("file ", fe.name, " does not match its checksum"));
    if (hooks.on_file_end)
      if (auto s = hooks.on_file_end(fe); !s) return s.error();
  }
  char tr[16];
  if (read_exact(tr, 16) != 1) return truncated("the trailer");
  if (std::string_view(tr, 8) != trailer_magic) return fail("the backup's trailer is missing or corrupt");
  if (get_be(tr + 8, 8) != digest) return fail("the backup's digest does not match its content: corrupt");
  char extra;
  if (read_exact(&extra, 1) != 0) return fail("the backup has bytes after its trailer");
  return info;
}

std::string hex16(uint64_t v) {
  static const char* d = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[i] = d[v & 0xf];
  return s;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool plain_file_name(std::string_view name) {
  if (name.empty() || name.size() > file_name_chars_max || name == "." || name == "..") return false;
  return name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

result<backup_info> write_archive(const fs::path& checkpoint_dir, const fs::path& file, const std::string& database,
                                  uint64_t lsn, uint64_t committed_seq, int64_t created_ms) {
  auto fail = [&](std::string what) -> result<backup_info> { return error_info{file.string(), "", std::move(what)}; };
  backup_info info;
  info.database = database;
  info.lsn = lsn;
  info.committed_seq = committed_seq;
  info.created_ms = created_ms;
  // The file list, in name order, with checksums (a first read of each file;
  // the header comes before the data and carries them).
  std::vector<fs::path> paths;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(checkpoint_dir, ec)) {
    if (!e.is_regular_file()) return fail(cat("the checkpoint holds ", e.path().filename().string(), ", not a file"));
    paths.push_back(e.path());
  }
  if (ec) return fail(cat("cannot list the checkpoint ", checkpoint_dir.string(), ": ", ec.message()));
  std::sort(paths.begin(), paths.end());
  if (paths.size() > files_max) return fail(cat("the checkpoint has ", paths.size(), " files (at most ", files_max, ")"));
  std::string raw(block_raw_bytes_max, '\0');
  for (auto& p : paths) {
    file_entry fe;
    fe.name = p.filename().string();
    if (!plain_file_name(fe.name)) return fail(cat("the checkpoint holds a file named ", fe.name));
    in_fd in;
    in.fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (in.fd < 0) return fail(cat("cannot read ", p.string(), ": ", os_error(errno)));
    uint64_t sum = digest_seed;
    for (;;) {
      auto n = ::read(in.fd, raw.data(), raw.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(cat("cannot read ", p.string(), ": ", os_error(errno)));
      if (n == 0) break;
      // Pieces of exactly block_raw_bytes_max (a short read is topped up), as the reader sees them.
      size_t have = static_cast<size_t>(n);
      while (have < raw.size()) {
        auto m = ::read(in.fd, raw.data() + have, raw.size() - have);
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return fail(cat("cannot read ", p.string(), ": ", os_error(errno)));
        if (m == 0) break;
        have += static_cast<size_t>(m);
      }
      sum = chain(sum, raw.data(), have);
      fe.size_bytes += have;
      if (have < raw.size()) break;
    }
    fe.checksum = sum;
    info.raw_bytes += fe.size_bytes;
    info.files.push_back(std::move(fe));
  }

  json::object h;
  h["database"] = database;
  h["lsn"] = lsn;
  h["committed_seq"] = committed_seq;
  h["created_ms"] = created_ms;
  json::array fl;
  for (auto& fe : info.files) {
    json::object o;
    o["name"] = fe.name;
    o["size"] = fe.size_bytes;
    o["checksum"] = hex16(fe.checksum);
    fl.emplace_back(std::move(o));
  }
  h["files"] = std::move(fl);
  const std::string header = json::serialize(h);
  if (header.size() > header_bytes_max) return fail("the file list does not fit the archive header");

  fs::path tmp = file;
  tmp += ".tmp";
  fs::remove(tmp, ec);
  out_fd out;
  out.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out.fd < 0) return fail(cat("cannot create ", tmp.string(), ": ", os_error(errno)));
  auto write_fail = [&](int err) {
    ::close(out.fd);
    out.fd = -1;
    std::error_code ec2;
    fs::remove(tmp, ec2);
    return fail(cat("cannot write ", tmp.string(), ": ", os_error(err)));
  };
  std::string buf;
  buf.append(archive_magic);
  put_be(buf, archive_format_version, 4);
  put_be(buf, header.size(), 4);
  uint64_t digest = chain(digest_seed, buf.data(), buf.size());
  digest = chain(digest, header.data(), header.size());
  buf += header;
  put_be(buf, deploy::checksum64(header.data(), header.size()), 8);
  if (!out.write_all(buf.data(), buf.size())) return write_fail(errno);

  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  std::string stored(ZSTD_compressBound(block_raw_bytes_max), '\0');
  for (size_t i = 0; i < paths.size(); ++i) {
    auto& fe = info.files[i];
    in_fd in;
    in.fd = ::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC);
    if (in.fd < 0) return write_fail(errno);
    uint64_t left = fe.size_bytes, sum = digest_seed;
    while (left > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(left, block_raw_bytes_max));
      if (in.read_exact(raw.data(), n) != 1) return fail(cat("file ", paths[i].string(), " changed while archived"));
      sum = chain(sum, raw.data(), n);
      auto c = ZSTD_compressCCtx(cctx.get(), stored.data(), stored.size(), raw.data(), n, zstd_level);
      if (ZSTD_isError(c)) return fail(cat("zstd failed: ", ZSTD_getErrorName(c)));
      std::string bh;
      put_be(bh, n, 4);
      put_be(bh, c, 4);
      put_be(bh, deploy::checksum64(stored.data(), c), 8);
      digest = chain(digest, bh.data(), bh.size());
      digest = chain(digest, stored.data(), c);
      if (!out.write_all(bh.data(), bh.size()) || !out.write_all(stored.data(), c)) return write_fail(errno);
      left -= n;
    }
    if (sum != fe.checksum) return fail(cat("file ", paths[i].string(), " changed while archived"));
    std::string end(block_header_bytes, '\0');
    digest = chain(digest, end.data(), end.size());
    if (!out.write_all(end.data(), end.size())) return write_fail(errno);
  }
  std::string tr(trailer_magic);
  put_be(tr, digest, 8);
  if (!out.write_all(tr.data(), tr.size())) return write_fail(errno);
  if (::fsync(out.fd) != 0) return write_fail(errno);
  struct stat st {};
  if (::fstat(out.fd, &st) == 0) info.archive_bytes = static_cast<uint64_t>(st.st_size);
  ::close(out.fd);
  out.fd = -1;
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return fail(cat("cannot rename ", tmp.string(), " into place: ", ec.message()));
  }
  auto parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  if (auto s = fsync_dir(parent); !s) return s.error();
  return info;
}

result<backup_info> write_backup(const storage::database& db, const fs::path& file, const write_options& opts) {
  auto parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  // The scratch checkpoint lives beside the archive (same filesystem, so the
  // checkpoint's hard links work when the database is there too).
  auto scratch = parent / cat(".", file.filename().string(), ".checkpoint");
  std::error_code ec;
  fs::remove_all(scratch, ec);
  struct remover {
    fs::path p;
    ~remover() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } cleanup{scratch};
  auto lsn = db.checkpoint(scratch);
  if (!lsn) return lsn.error();
  // The committed replication seq as of the checkpoint: read from the copy
  // itself, so it is exactly the checkpoint's (the live one may have moved on).
  uint64_t seq = 0;
  {
    storage::open_options o;
    o.create_if_missing = false;
    o.sync = false;
    auto copy = storage::database::open(scratch, o);
    if (!copy) return copy.error();
    if ((*copy)->last_lsn() != *lsn)
      return error_info{file.string(), "", cat("the checkpoint stands at LSN ", (*copy)->last_lsn(), ", not ", *lsn)};
    seq = (*copy)->last_committed_seq();
  }
  // RocksDB's info logs are the copy's diary, not its data.
  for (auto& e : fs::directory_iterator(scratch, ec))
    if (e.path().filename().string().rfind("LOG", 0) == 0) fs::remove(e.path(), ec);
  std::string name = opts.database.empty() ? db.dir().filename().string() : opts.database;
  return write_archive(scratch, file, name, *lsn, seq, opts.created_ms ? *opts.created_ms : now_ms());
}

result<backup_info> verify_backup(const fs::path& file) { return read_archive(file, {}); }

result<backup_info> extract_backup(const fs::path& file, const fs::path& target_dir) {
  auto first = verify_backup(file);
  if (!first) return first;
  std::error_code ec;
  if (fs::exists(target_dir, ec)) return error_info{target_dir.string(), "", "the target folder exists already"};
  if (!fs::create_directory(target_dir, ec) || ec)
    return error_info{target_dir.string(), "", cat("cannot create the folder: ", ec.message())};
  struct guard {
    fs::path p;
    bool keep = false;
    ~guard() {
      if (keep) return;
      std::error_code e;
      fs::remove_all(p, e);
    }
  } g{target_dir};
  out_fd out;
  reader_hooks hooks;
  hooks.on_file = [&](const file_entry& fe) -> status {
    auto p = target_dir / fe.name;
    out.fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out.fd < 0) return error_info{p.string(), "", cat("cannot create: ", os_error(errno))};
    return ok_status();
  };
  hooks.on_block = [&](const file_entry& fe, const char* p, size_t n) -> status {
    if (!out.write_all(p, n)) return error_info{(target_dir / fe.name).string(), "", cat("cannot write: ", os_error(errno))};
    return ok_status();
  };
  hooks.on_file_end = [&](const file_entry& fe) -> status {
    int rc = ::fsync(out.fd);
    int err = errno;
    ::close(out.fd);
    out.fd = -1;
    if (rc != 0) return error_info{(target_dir / fe.name).string(), "", cat("cannot fsync: ", os_error(err))};
    return ok_status();
  };
  auto second = read_archive(file, hooks);
  if (!second) return second;
  if (auto s = fsync_dir(target_dir); !s) return s.error();
  g.keep = true;
  return second;
}

}  // namespace troupe::backup
