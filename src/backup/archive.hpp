// Backup archives: one file holding a consistent checkpoint of one database
// (BACKUP DATABASE / RESTORE DATABASE). Plain C++, no CAF.
//
// Layout (all integers big-endian; docs/ARCHITECTURE.md, "Backup, export, import"):
//   "TROUPEBK"  u32 format version (1)  u32 header bytes  header JSON  u64 checksum64(header JSON)
//   then per file of the header's list, in that order: blocks of
//     u32 raw bytes (1..block_raw_bytes_max)  u32 stored bytes  u64 checksum64(stored)  stored bytes
//   (stored = one zstd frame of the raw bytes), ended by a block header whose raw bytes are 0;
//   then the trailer "TROUPEND" u64 digest, where digest chains fnv1a over the
//   checksum64 of every piece written before it (preamble, header, each block).
// The header JSON: {"database","lsn","committed_seq","created_ms",
//   "files":[{"name","size","checksum"}]} where a file's checksum chains fnv1a
//   over the checksum64 of each block_raw_bytes_max piece of its raw bytes.
//
// Guarantees
//   - write_backup: the archive holds the database exactly as of one point
//     between two write batches (storage::database::checkpoint): every write
//     acknowledged before the call is in it. The file appears atomically
//     (written as `file`.tmp, fsynced, renamed, directory fsynced); on any
//     failure neither `file` nor the temporary file nor the scratch checkpoint
//     folder is left behind, and an existing `file` is untouched.
//   - verify_backup reads the whole archive and checks every bound, checksum,
//     size and the trailer; it writes nothing.
//   - extract_backup verifies first, so a truncated, corrupt or foreign file
//     (zip, gzip, JSON, random bytes, a newer format) is refused with a
//     sentence saying which BEFORE anything is written; then extracts into
//     `target_dir` (which must not exist), checking again while it writes, and
//     fsyncs. On any failure it removes what it wrote.
// Memory: one block (block_raw_bytes_max raw plus its compressed form) and the
// header; never a whole file.
// Bounds (checked before anything is allocated): header_bytes_max, files_max,
// file names of 1..file_name_chars_max characters without '/', '\\', NUL and
// other than "." and "..", a file's size at most file_bytes_max, blocks at
// most block_raw_bytes_max raw bytes and their compressed bound stored.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::backup {

inline constexpr std::string_view archive_magic = "TROUPEBK";
inline constexpr std::string_view trailer_magic = "TROUPEND";
inline constexpr uint32_t archive_format_version = 1;
inline constexpr uint32_t header_bytes_max = 16u << 20;
inline constexpr uint64_t files_max = 100'000;
inline constexpr size_t file_name_chars_max = 255;
inline constexpr uint64_t file_bytes_max = 1ull << 40;  // 1 TiB per file
inline constexpr uint32_t block_raw_bytes_max = 1u << 20;
inline constexpr int zstd_level = 3;

struct file_entry {
  std::string name;
  uint64_t size_bytes = 0;
  uint64_t checksum = 0;
};

struct backup_info {
  uint32_t format_version = archive_format_version;
  std::string database;
  uint64_t lsn = 0;            // the checkpoint's last LSN
  uint64_t committed_seq = 0;  // its last_committed_seq()
  int64_t created_ms = 0;      // Unix time in milliseconds
  std::vector<file_entry> files;
  uint64_t raw_bytes = 0;      // sum of the file sizes
  uint64_t archive_bytes = 0;  // the archive file's size
};

// True for a plain file name an archive may hold (see Bounds above).
bool plain_file_name(std::string_view name);

struct write_options {
  // Unix time in ms for the header; nullopt: the system clock.
  std::optional<int64_t> created_ms;
  // Name recorded in the header; "" : db.dir()'s folder name.
  std::string database;
};

// Takes a checkpoint of `db` into a scratch folder beside `file`, archives it
// into `file` (see Guarantees) and removes the scratch folder. REQUIRES: the
// folder of `file` exists. Errors name the file and the reason (disk full,
// permission, a checkpoint failure).
result<backup_info> write_backup(const storage::database& db, const std::filesystem::path& file,
                                 const write_options& opts = {});

// Archives an existing checkpoint folder (what write_backup does after its
// checkpoint). `lsn` and `committed_seq` go into the header as given.
result<backup_info> write_archive(const std::filesystem::path& checkpoint_dir, const std::filesystem::path& file,
                                  const std::string& database, uint64_t lsn, uint64_t committed_seq,
                                  int64_t created_ms);

// Reads and checks everything; touches nothing.
result<backup_info> verify_backup(const std::filesystem::path& file);

// verify_backup, then extracts into `target_dir` (must not exist; its parent
// must). On failure, `target_dir` does not exist afterwards.
result<backup_info> extract_backup(const std::filesystem::path& file, const std::filesystem::path& target_dir);

}  // namespace troupe::backup
