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
  uint64_t checksum = 0;     // of the raw bytes (FNV-1a 64)
  std::vector<char> data;    // raw or compressed bytes
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

// OrientDB's size format (OFileUtils.getSizeAsString): "339,66Kb", "1,50Mb", "812b".
std::string orientdb_size(uint64_t bytes);

// Reads the regular files of a checkpoint folder, in name order, as chunks.
class reader {
 public:
  // `compress_level` 0 sends raw bytes; otherwise the first chunk of each file
  // is compressed with zstd at that level, and the file's chunks travel
  // compressed only if that saved at least 10 % (RocksDB's table files are
  // often compressed already: then trying again on every chunk would cost
  // zstd's speed for nothing). A compressed chunk that saves less is sent raw.
  static result<std::unique_ptr<reader>> open(const std::filesystem::path& dir, uint32_t chunk_bytes,
                                              int compress_level);
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
  bool file_compresses_ = true;  // decided on each file's first chunk
  std::ifstream in_;
  manifest m_;
  std::vector<char> buf_;
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
};

}  // namespace troupe::deploy
