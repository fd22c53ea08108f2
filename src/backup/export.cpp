#include "src/backup/export.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <map>

#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

namespace troupe::backup {

namespace {
constexpr size_t zbuf_bytes = 64 * 1024;
constexpr const char* property_def_class = "com.orientechnologies.orient.core.index.OPropertyIndexDefinition";
constexpr const char* composite_def_class = "com.orientechnologies.orient.core.index.OCompositeIndexDefinition";
// What OrientDB 2.2.x writes in these fields (informational for its importer).
constexpr int storage_config_version = 19;
constexpr int schema_version = 4;
}  // namespace

// --- gzip ------------------------------------------------------------------------

struct gzip_writer::impl {
  byte_sink next;
  z_stream z{};
  bool ok = false;
  bool finished = false;
  std::string out = std::string(zbuf_bytes, '\0');

  status pump(int flush) {
    do {
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      int rc = deflate(&z, flush);
      if (rc == Z_STREAM_ERROR) return error_info{"", "gzip", "deflate failed"};
      size_t have = out.size() - z.avail_out;
      if (have > 0)
        if (auto s = next(std::string_view(out.data(), have)); !s) return s;
      if (flush == Z_FINISH && rc == Z_STREAM_END) return ok_status();
    } while (z.avail_out == 0 || (flush == Z_FINISH));
    return ok_status();
  }
};

gzip_writer::gzip_writer(byte_sink next, int level) : impl_(std::make_unique<impl>()) {
  impl_->next = std::move(next);
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  impl_->ok = deflateInit2(&impl_->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

gzip_writer::~gzip_writer() {
  if (impl_->ok) deflateEnd(&impl_->z);
}

status gzip_writer::write(std::string_view bytes) {
  if (!impl_->ok || impl_->finished) return error_info{"", "gzip", "the gzip stream is not open"};
  impl_->z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  impl_->z.avail_in = static_cast<uInt>(bytes.size());
  return impl_->pump(Z_NO_FLUSH);
}

status gzip_writer::finish() {
  if (!impl_->ok || impl_->finished) return error_info{"", "gzip", "the gzip stream is not open"};
  impl_->finished = true;
  impl_->z.next_in = nullptr;
  impl_->z.avail_in = 0;
  return impl_->pump(Z_FINISH);
}

result<std::string> gunzip(std::string_view in, size_t bytes_max) {
  if (in.size() < 2 || static_cast<unsigned char>(in[0]) != 0x1f || static_cast<unsigned char>(in[1]) != 0x8b)
    return error_info{"", "gzip", "not gzip data"};
  std::string out;
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return error_info{"", "gzip", "inflate cannot start"};
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string buf(zbuf_bytes, '\0');
  int rc = Z_OK;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf.data());
    z.avail_out = static_cast<uInt>(buf.size());
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    size_t have = buf.size() - z.avail_out;
    if (out.size() + have > bytes_max) {
      inflateEnd(&z);
      return error_info{"", "gzip", cat("the uncompressed export is over ", bytes_max, " bytes")};
    }
    out.append(buf.data(), have);
    if (rc == Z_STREAM_END) {
      if (z.avail_in == 0) break;
      // Another member follows (gzip allows concatenation).
      if (inflateReset(&z) != Z_OK) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && have == 0) break;  // no progress: input ended early
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return error_info{"", "gzip", rc == Z_BUF_ERROR ? "the gzip data is truncated" : "the gzip data is corrupt"};
  return out;
}

// --- export ------------------------------------------------------------------------

result<export_info> write_export(const storage::database& db, const byte_sink& raw_sink, const export_options& opts) {
  export_info info;
  std::unique_ptr<gzip_writer> gz;
  byte_sink counted = [&](std::string_view b) {
    info.bytes += b.size();
    return raw_sink(b);
  };
  if (opts.gzip) gz = std::make_unique<gzip_writer>(counted);
  auto put = [&](std::string_view b) -> status { return gz ? gz->write(b) : counted(b); };
#define TROUPE_PUT(x)                     \
  if (auto s_ = put(x); !s_) return s_.error();

  const auto clusters = db.clusters();
  const auto classes = db.classes();
  const auto indexes = db.indexes();
  std::map<int32_t, std::string> cluster_names;
  for (auto& c : clusters) cluster_names[c.id] = c.name;

  json::object inf;
  inf["name"] = opts.name.empty() ? db.dir().filename().string() : opts.name;
  inf["default-cluster-id"] = db.cluster_by_name("default") ? db.cluster_by_name("default")->id : 2;
  inf["exporter-version"] = export_exporter_version;
  inf["engine-version"] = "2.2.x (troupe)";
  inf["storage-config-version"] = storage_config_version;
  inf["schema-version"] = schema_version;
  inf["schemaRecordId"] = "#0:1";
  inf["indexMgrRecordId"] = "#0:2";
  TROUPE_PUT("{\"info\":");
  TROUPE_PUT(json::serialize(inf));

  json::array cl;
  for (auto& c : clusters) {
    json::object o;
    o["name"] = c.name;
    o["id"] = c.id;
    cl.emplace_back(std::move(o));
  }
  TROUPE_PUT(",\n\"clusters\":");
  TROUPE_PUT(json::serialize(cl));

  TROUPE_PUT(",\n\"schema\":{\"version\":");
  TROUPE_PUT(std::to_string(classes.size() + indexes.size() + 1));
  TROUPE_PUT(",\"blob-clusters\":[],\"classes\":[");
  bool first = true;
  for (auto& c : classes) {
    json::object o;
    o["name"] = c.name;
    o["default-cluster-id"] = c.default_cluster;
    o["cluster-ids"] = json::array{c.default_cluster};
    if (!c.superclass.empty()) o["super-classes"] = json::array{json::string(c.superclass)};
    o["cluster-selection"] = "round-robin";
    json::array props;
    for (auto& p : db.properties(c.name)) {
      if (p.class_name != c.name) continue;  // declared ones only, as OrientDB writes them
      json::object po;
      po["name"] = p.name;
      po["type"] = p.type;
      props.emplace_back(std::move(po));
    }
    if (!props.empty()) o["properties"] = std::move(props);
    TROUPE_PUT(first ? "\n" : ",\n");
    first = false;
    TROUPE_PUT(json::serialize(o));
    ++info.classes;
  }
  TROUPE_PUT("]},\n\"records\":[");
  first = true;
  for (auto& c : clusters) {
    int64_t from = 0;
    for (;;) {
      auto page = db.browse_cluster(c.id, from, storage::browse_records_max);
      for (auto& r : page) {
        TROUPE_PUT(first ? "\n" : ",\n");
        first = false;
        TROUPE_PUT(r.to_json());
        ++info.records;
      }
      if (page.size() < storage::browse_records_max) break;
      from = page.back().id.position + 1;
    }
  }
  TROUPE_PUT("],\n\"brokenRids\":[],\n\"indexes\":[");
  first = true;
  for (auto& ix : indexes) {
    // Key types from the declared properties where there are some.
    auto props = db.properties(ix.class_name);
    auto key_type = [&](const std::string& field) -> std::string {
      for (auto& p : props)
        if (p.name == field) return p.type;
      return "STRING";
    };
    auto one = [&](const std::string& field) {
      json::object d;
      d["className"] = ix.class_name;
      d["field"] = field;
      d["keyType"] = key_type(field);
      d["collate"] = "default";
      d["nullValuesIgnored"] = true;
      return d;
    };
    json::object o;
    o["name"] = ix.name;
    o["type"] = ix.unique ? "UNIQUE" : "NOTUNIQUE";
    o["algorithm"] = "SBTREE";
    auto cls = db.class_by_name(ix.class_name);
    if (cls && cluster_names.count(cls->default_cluster))
      o["clustersToIndex"] = json::array{json::string(cluster_names[cls->default_cluster])};
    json::object def;
    if (ix.fields.size() == 1) {
      def["defClass"] = property_def_class;
      def["stream"] = one(ix.fields[0]);
    } else {
      json::object stream;
      stream["className"] = ix.class_name;
      json::array defs, ind;
      for (auto& f : ix.fields) {
        defs.emplace_back(one(f));
        ind.emplace_back(property_def_class);
      }
      stream["indexDefinitions"] = std::move(defs);
      stream["indClasses"] = std::move(ind);
      stream["nullValuesIgnored"] = true;
      def["defClass"] = composite_def_class;
      def["stream"] = std::move(stream);
    }
    o["definition"] = std::move(def);
    json::object meta;
    meta["ignoreNullValues"] = true;
    o["metadata"] = std::move(meta);
    TROUPE_PUT(first ? "\n" : ",\n");
    first = false;
    TROUPE_PUT(json::serialize(o));
    ++info.indexes;
  }
  TROUPE_PUT("],\n\"manualIndexes\":[]}\n");
#undef TROUPE_PUT
  if (gz)
    if (auto s = gz->finish(); !s) return s.error();
  return info;
}

result<export_info> export_database(const storage::database& live, const fs::path& scratch_dir, const byte_sink& sink,
                                    const export_options& opts) {
  struct remover {
    fs::path p;
    ~remover() {
      std::error_code e;
      fs::remove_all(p, e);
    }
  } cleanup{scratch_dir};
  auto lsn = live.checkpoint(scratch_dir);
  if (!lsn) return lsn.error();
  storage::open_options o;
  o.create_if_missing = false;
  o.sync = false;
  auto copy = storage::database::open(scratch_dir, o);
  if (!copy) return copy.error();
  auto eo = opts;
  if (eo.name.empty()) eo.name = live.dir().filename().string();
  return write_export(**copy, sink, eo);
}

result<export_info> export_to_file(const storage::database& live, const fs::path& file, const export_options& opts) {
  auto fail = [&](std::string what) -> result<export_info> { return error_info{file.string(), "", std::move(what)}; };
  fs::path tmp = file;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(cat("cannot create ", tmp.string(), ": ", std::strerror(errno)));
  int write_errno = 0;
  byte_sink sink = [&](std::string_view b) -> status {
    while (!b.empty()) {
      auto w = ::write(fd, b.data(), b.size());
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        write_errno = errno;
        return error_info{tmp.string(), "", cat("cannot write: ", write_errno == ENOSPC ? "the disk is full (ENOSPC)" : std::strerror(write_errno))};
      }
      b.remove_prefix(static_cast<size_t>(w));
    }
    return ok_status();
  };
  auto parent = file.parent_path().empty() ? fs::path(".") : file.parent_path();
  auto r = export_database(live, parent / cat(".", file.filename().string(), ".checkpoint"), sink, opts);
  bool synced = r && ::fsync(fd) == 0;
  ::close(fd);
  std::error_code ec;
  if (!r || !synced) {
    fs::remove(tmp, ec);
    if (!r) return r;
    return fail(cat("cannot fsync: ", std::strerror(errno)));
  }
  fs::rename(tmp, file, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return fail(cat("cannot rename into place: ", ec.message()));
  }
  if (auto s = fsync_dir(parent); !s) return s.error();
  return r;
}

}  // namespace troupe::backup
