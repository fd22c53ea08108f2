// The plain parts of a database deploy (no actors): cutting a checkpoint folder
// into checked, optionally compressed chunks, and installing chunks into a
// folder that becomes the database only when everything arrived intact.
//
// Memory: a reader holds one chunk; an installer holds one decompressed chunk.
// What bounds the memory of a transfer is how many chunks are in flight, which
// the actors decide (CAF-NOTES §4: 256 KiB-1 MiB chunks, a few in flight).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/util/result.hpp"

namespace troupe::deploy {

inline constexpr uint32_t chunk_bytes_max = 1u << 20;
inline constexpr uint64_t files_max = 100'000;

enum class codec : uint8_t { raw = 0, zstd = 1 };

struct chunk {
  uint64_t seq = 0;          // 0, 1, 2, ... across the whole transfer
  std::string file;          // file name inside the checkpoint (no folders)
  uint64_t offset = 0;       // where `raw_size` bytes go in that file
  uint32_t raw_size = 0;
  uint8_t codec_id = 0;      // codec
  uint64_t checksum = 0;     // of the raw bytes (checksum64)
  std::vector<char> data;    // raw or compressed bytes
  uint64_t total_bytes = 0;  // raw bytes of the whole transfer (for progress only; the manifest decides)
};

struct manifest {
  uint64_t chunks = 0;
  uint64_t files = 0;
  uint64_t raw_bytes = 0;    // sum of file sizes
  uint64_t wire_bytes = 0;   // sum of chunk payloads as sent
  uint64_t digest = 0;       // FNV-1a 64 over (file name, size, checksums) in order
  uint64_t lsn = 0;          // the log sequence number the snapshot stands at
  std::vector<std::string> file_names;
  std::vector<uint64_t> file_sizes;
};

uint64_t fnv1a(const char* data, size_t n, uint64_t h = 1469598103934665603ull);

// The chunk checksum: four independent 64-bit lanes of multiply-rotate rounds
// (the structure of xxHash64), so it runs at several GB/s where FNV-1a's
// byte-serial loop managed about 1 GB/s and showed in the deploy rate. Each
// round is a bijection of the lane's state and of the input word, so a chunk
// that differs from the sent one in a single word always fails the check.
uint64_t checksum64(const char* data, size_t n);

// OrientDB's size format (OFileUtils.getSizeAsString): "339,66Kb", "1,50Mb", "812b".
std::string orientdb_size(uint64_t bytes);

// Whether zstd makes a transfer faster. A compressed stream moves at most
// zstd's own speed, and at most the link's speed times the ratio; raw moves at
// the link's speed. Compress only when that wins by half again (the sender and
// the receiver also pay zstd's and unzstd's CPU, which on a shared machine is
// the receiver's too). All rates in bytes of raw data per second.
bool compression_pays(double link_rate, double zstd_rate, double ratio);

// Reads the regular files of a checkpoint folder, in name order, as chunks.
class reader {
 public:
  // `compress_level` 0 sends raw bytes. Otherwise, at the start of each file
  // and every `redecide_chunks` chunks, one chunk is compressed with zstd at
  // that level and timed, and the file's chunks travel compressed only if
  // compression_pays() with the link rate the sender measured (set_link_rate);
  // while that rate is unknown, chunks travel raw. RocksDB's table files are
  // often compressed already: trying zstd on every chunk would cost its speed
  // for nothing. A compressed chunk that saves less than 10 % is sent raw.
  static result<std::unique_ptr<reader>> open(const std::filesystem::path& dir, uint32_t chunk_bytes,
                                              int compress_level);
  static constexpr uint64_t redecide_chunks = 16;
  // Raw bytes per second the receiver acknowledged; 0: unknown.
  void set_link_rate(double bytes_per_second) { link_rate_ = bytes_per_second; }
  // The next chunk, nullopt at the end; error_info on an I/O error.
  result<std::optional<chunk>> next();
  // Complete after next() returned nullopt.
  const manifest& summary() const { return m_; }

 private:
  reader() = default;
  std::filesystem::path dir_;
  uint32_t chunk_bytes_ = chunk_bytes_max;
  int level_ = 0;
  size_t file_index_ = 0;
  uint64_t offset_ = 0;
  bool file_compresses_ = false;  // decided on each file's first chunk, then every redecide_chunks
  uint64_t since_decision_ = 0;
  double link_rate_ = 0;
  std::ifstream in_;
  manifest m_;
};

// Writes chunks into `dir` (created empty; a stale one is removed first) and,
// on finish(), checks them against the sender's manifest, fsyncs, and renames
// `dir` to `final_dir`. Until then nothing exists under the final name.
class installer {
 public:
  static result<std::unique_ptr<installer>> open(const std::filesystem::path& dir,
                                                 const std::filesystem::path& final_dir);
  ~installer();  // removes `dir` unless finish() succeeded
  // Chunks must arrive in seq order. Errors: out of order, bad checksum,
  // decompression failure, a file name with a path in it, a write error
  // (disk full: the message says so).
  status add(const chunk& c);
  status finish(const manifest& m);
  uint64_t raw_bytes() const { return raw_bytes_; }
  // Test seam: behave as if the disk filled up once `bytes` raw bytes were
  // written (the write fails with ENOSPC, through the same path as a real one).
  void set_disk_limit(uint64_t bytes) { disk_limit_ = bytes; }

 private:
  installer() = default;
  std::filesystem::path dir_, final_dir_;
  uint64_t next_seq_ = 0;
  uint64_t raw_bytes_ = 0;
  uint64_t digest_ = 1469598103934665603ull;
  std::string current_file_;
  uint64_t current_size_ = 0;
  std::vector<std::string> names_;
  std::vector<uint64_t> sizes_;
  bool done_ = false;
  uint64_t disk_limit_ = 0;  // 0: none
  int fd_ = -1;              // the file being written, open across its chunks
  void close_file();
};

}  // namespace troupe::deploy
