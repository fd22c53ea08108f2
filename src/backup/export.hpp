// EXPORT DATABASE: a database written in OrientDB 2.2's JSON export layout
// (what ODatabaseExport writes, exporter-version 12), so that data moves
// between OrientDB and troupe. Plain C++, no CAF.
//
// Layout (one JSON object, in this order):
//   "info":      {"name", "default-cluster-id", "exporter-version": 12,
//                 "engine-version", "storage-config-version", "schema-version",
//                 "schemaRecordId", "indexMgrRecordId"}
//   "clusters":  [{"name","id"}] in id order
//   "schema":    {"version", "blob-clusters": [], "classes": [{"name",
//                 "default-cluster-id", "cluster-ids", "super-classes"?,
//                 "cluster-selection", "properties"?: [{"name","type"}]}]} (name order)
//   "records":   every record as OrientDB prints it ({"@type":"d","@rid",
//                 "@version","@class", fields...}), clusters in id order,
//                 positions in order; then "brokenRids": []
//   "indexes":   [{"name","type","algorithm","clustersToIndex","definition":
//                 {"defClass","stream"},"metadata"}] (OPropertyIndexDefinition
//                 for one field, OCompositeIndexDefinition for several)
//   "manualIndexes": []
// Compression: gzip (zlib, as OrientDB writes .json.gz) when `gzip` is set,
// else plain JSON text.
//
// Consistency: export_database() takes a checkpoint of the live database into
// a scratch folder and exports that copy, so the export shows one point in
// time between write batches even while writers go on.
// Memory: records are read in pages of storage::browse_records_max and written
// one by one to the sink; nothing holds the whole database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe::backup {

inline constexpr int export_exporter_version = 12;

// Where export bytes go. A sink that refuses (returns an error) stops the export.
using byte_sink = std::function<status(std::string_view)>;

// A sink that gzips into `next` (RFC 1952 framing, what `gzip -d` and
// OrientDB's GZIPInputStream read). finish() flushes the trailer.
class gzip_writer {
 public:
  explicit gzip_writer(byte_sink next, int level = 6);
  ~gzip_writer();
  gzip_writer(const gzip_writer&) = delete;
  gzip_writer& operator=(const gzip_writer&) = delete;
  status write(std::string_view bytes);
  status finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// gunzips `in` (one or more gzip members); more than `bytes_max` output is an
// error naming the bound. Errors: not gzip, corrupt, truncated.
result<std::string> gunzip(std::string_view in, size_t bytes_max);

struct export_info {
  uint64_t records = 0;
  uint64_t classes = 0;
  uint64_t indexes = 0;
  uint64_t bytes = 0;  // what reached the sink (compressed when gzip)
};

struct export_options {
  std::string name;  // info.name; "" = the database folder's name
  bool gzip = true;
};

// Writes `db` as it is now (REQUIRES: no writer runs during the call, e.g. a
// checkpoint's copy; export_database() arranges that) to `sink`.
result<export_info> write_export(const storage::database& db, const byte_sink& sink, const export_options& opts);

// Checkpoints `live` into `scratch_dir` (must not exist; removed afterwards),
// opens that copy and exports it.
result<export_info> export_database(const storage::database& live, const std::filesystem::path& scratch_dir,
                                    const byte_sink& sink, const export_options& opts);

// export_database into `file` (written as file.tmp, fsynced, renamed).
result<export_info> export_to_file(const storage::database& live, const std::filesystem::path& file,
                                   const export_options& opts);

}  // namespace troupe::backup
