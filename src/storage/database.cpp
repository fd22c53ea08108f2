// storage::database on RocksDB.
//
// Key layout (one column family; the first byte of every key says what it is)
// -------------------------------------------------------------------------
//   "Mformat"                       -> decimal format version ("1")
//   "Mlast_lsn"                     -> be64 LSN of the last logged operation
//   'C' be16(cluster id)            -> cluster: next position, live count, name
//   'K' lower(class name)           -> class: default cluster, name, superclass
//   'R' be16(cluster) be64(position)-> record: version, class, fields JSON
//   'L' be64(lsn)                   -> log entry: the operation as applied
//   'I' be32(index id) key values [RID] -> index entry: the RID (UNIQUE) or ""
//   "Mindex/" lower(index name)     -> index definition (id, class, fields, unique)
//   "Mprop/" lower(class) '/' lower(name) -> property (class, name, type)
//   "Mnext_index"                   -> be64 id the next index takes
//   'P' / 'Q' be64(seq)             -> staged / committed replication entries
//
// Why this layout:
//   - Records are keyed by big-endian (cluster, position), so RocksDB's bytewise
//     order is position order: browsing a cluster is one iterator seek and a
//     scan bounded by the next cluster's first key, and a point read is one Get.
//   - Log entries are keyed by big-endian LSN, so "everything after LSN n" is a
//     seek plus a forward scan, already in order, and trimming an old log prefix
//     (later work) is one DeleteRange.
//   - Everything lives in one keyspace of one RocksDB instance, so a single
//     WriteBatch changes records, counters, metadata and the log together, and
//     a RocksDB snapshot or Checkpoint captures all of them at one point in
//     time: a database shipped with the LSN in its "Mlast_lsn" can be caught
//     up from the log after exactly that LSN.
//   - Cluster counters (next position, live records) are stored in the cluster
//     value and rewritten in the batch that changes them: opening the database
//     needs no scan, and a crash can never leave a count that disagrees with
//     the records (check() verifies this).
//   - Class keys are lower-cased because class names are case-insensitive, as
//     in OrientDB; the value keeps the name as created.
//
// Value encoding: [format u8 = 1] then fixed-width big-endian integers and
// length-prefixed short strings (class names, at most 128 bytes), with the one
// long string (JSON fields, cluster name, superclass) taking the rest of the
// value, so no length field is needed for it. codec.hpp gives each layout.
// Fields are stored as the canonical Boost.JSON serialisation of the object
// (no insignificant whitespace), without top-level '@' keys.
//
//   - Index entries sort by index id, then by an order-preserving encoding
//     of the key values (codec.hpp), so a lookup is one seek and a range one
//     bounded scan; a NOTUNIQUE entry ends with its RID, so equal keys come
//     in RID order and each record has its own key. Index ids are never
//     reused, so dropping an index is one DeleteRange.
//   - Staged entries are applied all or nothing: each gets a WriteBatch save
//     point and a copy of the metadata, and the batch's overlays (records,
//     index entries) keep an undo journal (batch.hpp).
//
// Durability: apply() puts the whole batch (records, counters, metadata, log
// entries) into one rocksdb::WriteBatch and writes it with sync = opts.sync.
// RocksDB appends the batch to the WAL as one record and fsyncs once; on
// recovery a WAL record is replayed whole or not at all (point-in-time
// recovery drops a torn tail). Batching many operations into one synced write
// is therefore as safe as writing them one by one: the results are reported
// only after Write() has returned OK, so nothing is acknowledged that is not on
// disk, and a crash before that loses the whole batch, never a part of it.
//
// In-memory state: the metadata (clusters with their counters, classes, last
// LSN) is small and immutable once published. apply() works on a private copy
// and publishes it (a shared_ptr swap under a mutex) only after the write
// succeeded, so a failed write rolls back by simply dropping the copy, and
// readers never see a half-applied batch. Records are always read from RocksDB.
#include "src/storage/database.hpp"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cassert>
#include <cctype>
#include <map>
#include <mutex>
#include <set>

#include "src/storage/batch.hpp"
#include "src/storage/codec.hpp"
#include "src/storage/index.hpp"
#include "src/util/strings.hpp"

namespace troupe::storage {

namespace {

// create_class tries "<name>", "<name>_2", ... when a cluster name is taken.
constexpr int cluster_name_tries_max = 1000;

// RocksDB sizing for a small machine (2 cores, shared with other nodes).
constexpr int background_threads = 2;
constexpr size_t write_buffer_bytes = 4 * 1024 * 1024;
constexpr int write_buffers_max = 2;
constexpr int open_files_max = 128;
// Scans re-read whatever does not fit (a 1M-record class is ~200 MB): 32 MiB
// keeps a working set of indexes and hot records without a big resident cost.
constexpr size_t block_cache_bytes = 32 * 1024 * 1024;
constexpr uint64_t checkpoint_wal_copy_max = 64ull * 1024 * 1024;
constexpr uint64_t wal_total_bytes_max = 64 * 1024 * 1024;
constexpr size_t info_log_files_kept = 2;
constexpr size_t info_log_file_bytes_max = 1024 * 1024;
constexpr double bloom_bits_per_key = 10;

constexpr std::string_view format_version = "1";


bool valid_class_name(std::string_view s) {
  if (s.empty() || s.size() > class_name_chars_max) return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
}

bool valid_rid(rid id) { return id.valid(); }

// Parses `text` as a JSON object, drops its top-level '@' keys and returns the
// canonical serialisation; nullopt with `why` set if it is not a JSON object.
std::optional<std::string> canonical_fields(std::string_view text, std::string& why) {
  if (text.size() > fields_bytes_max) {
    why = cat("fields are ", text.size(), " bytes, more than the ", fields_bytes_max, " allowed");
    return std::nullopt;
  }
  try {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(boost::json::string_view(text.data(), text.size()), ec);
    if (ec) {
      why = cat("fields are not valid JSON: ", ec.message());
      return std::nullopt;
    }
    if (!v.is_object()) {
      why = "fields must be a JSON object";
      return std::nullopt;
    }
    // Copied rather than erased in place: object::erase moves the last member
    // into the gap, and the stored order should be the order the user wrote.
    boost::json::object kept;
    for (auto& kv : v.as_object())
      if (kv.key().empty() || kv.key().front() != '@') kept.emplace(kv.key(), std::move(kv.value()));
    std::string out = boost::json::serialize(kept);
    assert(out.size() >= 2 && out.front() == '{' && out.back() == '}');
    return out;
  } catch (const std::exception& e) {
    // Only allocation failures can get here: parse reports syntax through ec.
    why = cat("fields could not be processed: ", e.what());
    return std::nullopt;
  }
}

// Releases a RocksDB snapshot when the read that needed it ends.
class snapshot_guard {
 public:
  explicit snapshot_guard(rocksdb::DB* db) : db_(db), snap_(db->GetSnapshot()) { assert(snap_ != nullptr); }
  ~snapshot_guard() { db_->ReleaseSnapshot(snap_); }
  snapshot_guard(const snapshot_guard&) = delete;
  snapshot_guard& operator=(const snapshot_guard&) = delete;
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

rocksdb::Options make_options(const open_options& opts) {
  rocksdb::Options o;
  o.env = opts.env != nullptr ? opts.env : rocksdb::Env::Default();
  o.create_if_missing = opts.create_if_missing;
  // Two background threads (flush + compaction) per process: several nodes
  // share two cores in tests, and one database writes little.
  o.IncreaseParallelism(background_threads);
  o.write_buffer_size = write_buffer_bytes;
  o.max_write_buffer_number = write_buffers_max;
  o.max_open_files = open_files_max;
  o.max_total_wal_size = wal_total_bytes_max;
  o.keep_log_file_num = info_log_files_kept;
  o.max_log_file_size = info_log_file_bytes_max;
  // A torn WAL tail after a crash is dropped; everything before it (every
  // batch that was acknowledged) is recovered.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = rocksdb::NewLRUCache(block_cache_bytes);
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(bloom_bits_per_key));
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

error_info rocks_error(const std::filesystem::path& dir, std::string_view doing, const rocksdb::Status& s) {
  return error_info{dir.string(), "", cat(doing, ": ", s.ToString())};
}

}  // namespace

const char* to_string(errc e) {
  switch (e) {
    case errc::ok: return "ok";
    case errc::not_found: return "not_found";
    case errc::version_conflict: return "version_conflict";
    case errc::already_exists: return "already_exists";
    case errc::invalid_argument: return "invalid_argument";
    case errc::io_error: return "io_error";
    case errc::duplicate_key: return "duplicate_key";
  }
  return "unknown";
}

std::string record::to_json() const {
  assert(fields.empty() || (fields.front() == '{' && fields.back() == '}'));
  // Without a stream: REST and queries print every record they answer with.
  std::string out = "{\"@type\":\"d\",\"@rid\":\"";
  out.reserve(fields.size() + class_name.size() + 64);
  out += id.to_string();
  out += "\",\"@version\":";
  out += std::to_string(version);
  out += ",\"@class\":";
  out += boost::json::serialize(boost::json::string_view(class_name));
  if (fields.size() > 2) {
    out += ',';
    out.append(fields, 1);  // the fields object without its '{', keeping its '}'
  } else {
    out += '}';
  }
  assert(out.back() == '}');
  return out;
}

struct database::impl {
  std::filesystem::path dir;
  open_options opts;
  std::unique_ptr<rocksdb::DB> db;

  // Readers copy the pointer under the mutex and read the immutable state
  // without it; apply() replaces the pointer after a successful write.
  mutable std::mutex state_mutex;
  std::shared_ptr<const meta_state> state;
  // Held by apply() across Write() and publishing, and by check() while it
  // takes its snapshot, so check() sees stored and in-memory metadata from the
  // same moment.
  mutable std::mutex write_mutex;

  // Calls fn(key, value) for every key in [lower, upper) in order, from one
  // implicit snapshot, until fn returns false.
  template <class Fn>
  void scan(std::string_view lower, const std::string& upper, Fn fn) const {
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    for (it->Seek(rocksdb::Slice(lower.data(), lower.size())); it->Valid(); it->Next())
      if (!fn(it->key().ToStringView(), it->value().ToStringView())) break;
  }

  std::shared_ptr<const meta_state> current() const {
    std::lock_guard lock(state_mutex);
    assert(state != nullptr);
    return state;
  }

  void publish(std::shared_ptr<const meta_state> s) {
    std::lock_guard lock(state_mutex);
    assert(s->last_lsn >= state->last_lsn);
  assert(s->last_seq >= state->last_seq);
    state = std::move(s);
  }

  status initialise_new();
  status load_metadata();
};

status database::impl::initialise_new() {
  // A database without a format key must be empty: anything else is a folder
  // that is not ours (or a damaged one), and writing into it would mix data.
  {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) return error_info{dir.string(), "", "not a troupe database (keys without a format marker)"};
    if (!it->status().ok()) return rocks_error(dir, "reading", it->status());
  }
  auto s = std::make_shared<meta_state>();
  const std::pair<int32_t, const char*> base_clusters[] = {
      {0, "internal"}, {1, "index"}, {2, "default"}, {3, "v"}, {4, "e"}};
  for (auto& [id, name] : base_clusters) s->clusters[id] = cluster_info{id, name, 0, 0};
  s->classes["v"] = class_info{"V", "", 3};
  s->classes["e"] = class_info{"E", "", 4};

  rocksdb::WriteBatch wb;
  for (auto& [id, c] : s->clusters) wb.Put(codec::cluster_key(id), codec::encode_cluster(c));
  for (auto& [low, c] : s->classes) wb.Put(codec::class_key(c.name), codec::encode_class(c));
  std::string lsn;
  codec::put_be64(lsn, 0);
  wb.Put(codec::meta_last_lsn_key, lsn);
  // The format key goes in the same batch: a crash leaves either an empty
  // folder (initialised again on the next open) or a complete layout.
  wb.Put(codec::meta_format_key, format_version);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  auto st = db->Write(wo, &wb);
  if (!st.ok()) return rocks_error(dir, "writing the initial layout", st);
  state = std::move(s);
  return ok_status();
}

status database::impl::load_metadata() {
  auto s = std::make_shared<meta_state>();
  std::string v;
  auto st = db->Get(rocksdb::ReadOptions(), codec::meta_last_lsn_key, &v);
  if (!st.ok() || v.size() != 8) return error_info{dir.string(), "", "last LSN missing or damaged"};
  s->last_lsn = codec::get_be64(v);
  st = db->Get(rocksdb::ReadOptions(), codec::meta_last_seq_key, &v);
  if (st.ok() && v.size() == 8) {
    s->last_seq = codec::get_be64(v);
  } else if (!st.IsNotFound()) {
    return error_info{dir.string(), "", "last committed sequence number damaged"};
  }
  st = db->Get(rocksdb::ReadOptions(), codec::meta_promised_epoch_key, &v);
  if (st.ok() && v.size() == 8) {
    s->promised_epoch = codec::get_be64(v);
  } else if (!st.IsNotFound()) {
    return error_info{dir.string(), "", "promised epoch damaged"};
  }
  {
    std::unique_ptr<rocksdb::Iterator> pit(db->NewIterator(rocksdb::ReadOptions()));
    pit->SeekForPrev(codec::prefix_end(codec::prefix_staged));
    // SeekForPrev lands on the last key before 'Q': a staged key if any exists.
    if (pit->Valid()) {
      if (auto seq = codec::parse_staged_key(pit->key().ToStringView())) s->last_staged = *seq;
    }
  }

  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  // Metadata keys are few (bounded by the cluster id range), so one pass each.
  for (it->Seek(std::string(1, codec::prefix_cluster)); it->Valid() && it->key()[0] == codec::prefix_cluster;
       it->Next()) {
    auto key = it->key().ToStringView();
    if (key.size() != 3) return error_info{dir.string(), "", "damaged cluster key"};
    auto id = static_cast<int32_t>(codec::get_be16(key.substr(1)));
    auto c = codec::decode_cluster(id, it->value().ToStringView());
    if (!c || id > cluster_id_max) return error_info{dir.string(), "", cat("damaged cluster ", id)};
    s->clusters[id] = *c;
  }
  for (it->Seek(std::string(1, codec::prefix_class)); it->Valid() && it->key()[0] == codec::prefix_class; it->Next()) {
    auto c = codec::decode_class(it->value().ToStringView());
    if (!c || it->key().ToStringView().substr(1) != codec::lower(c->name))
      return error_info{dir.string(), "", "damaged class " + it->key().ToString()};
    if (s->clusters.count(c->default_cluster) == 0)
      return error_info{dir.string(), "", cat("class ", c->name, " names missing cluster ", c->default_cluster)};
    s->classes[codec::lower(c->name)] = *c;
  }
  // Indexes and properties: absent in a database written before they existed.
  st = db->Get(rocksdb::ReadOptions(), codec::meta_next_index_key, &v);
  if (st.ok() && v.size() == 8) {
    s->next_index_id = codec::get_be64(v);
  } else if (!st.IsNotFound()) {
    return error_info{dir.string(), "", "next index id damaged"};
  }
  for (it->Seek(std::string(codec::meta_index_prefix));
       it->Valid() && it->key().ToStringView().starts_with(codec::meta_index_prefix); it->Next()) {
    auto d = codec::decode_index(it->value().ToStringView());
    if (!d || it->key().ToStringView() != codec::index_meta_key(d->info.name) || d->id >= s->next_index_id ||
        s->class_named(d->info.class_name) == nullptr)
      return error_info{dir.string(), "", "damaged index " + it->key().ToString()};
    s->indexes[codec::lower(d->info.name)] = *d;
  }
  for (it->Seek(std::string(codec::meta_property_prefix));
       it->Valid() && it->key().ToStringView().starts_with(codec::meta_property_prefix); it->Next()) {
    auto p = codec::decode_property(it->value().ToStringView());
    if (!p || it->key().ToStringView() != codec::property_meta_key(p->class_name, p->name) ||
        s->class_named(p->class_name) == nullptr || !indexing::valid_type(p->type))
      return error_info{dir.string(), "", "damaged property " + it->key().ToString()};
    s->properties[it->key().ToString()] = *p;
  }
  if (!it->status().ok()) return rocks_error(dir, "reading metadata", it->status());
  if (s->clusters.empty()) return error_info{dir.string(), "", "no clusters"};
  state = std::move(s);
  return ok_status();
}

database::database(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

database::~database() {
  if (impl_ && impl_->db) {
    // Close() flushes nothing we need (the WAL is already synced) but reports
    // background errors; there is nobody to report them to at this point.
    (void)impl_->db->Close();
  }
}

result<std::unique_ptr<database>> database::open(const std::filesystem::path& dir, open_options opts) {
  auto p = std::make_unique<impl>();
  p->dir = dir;
  p->opts = opts;
  p->opts.log_keep = std::max<uint64_t>(1, opts.log_keep);
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(make_options(opts), dir.string(), &raw);
  if (!st.ok()) return rocks_error(dir, "cannot open database", st);
  p->db.reset(raw);

  std::string format;
  st = p->db->Get(rocksdb::ReadOptions(), codec::meta_format_key, &format);
  status loaded = ok_status();
  if (st.IsNotFound()) {
    loaded = p->initialise_new();
  } else if (!st.ok()) {
    return rocks_error(dir, "reading the format marker", st);
  } else if (format != format_version) {
    return error_info{dir.string(), "", cat("unsupported database format '", format, "' (this build reads ",
                                            format_version, ")")};
  } else {
    loaded = p->load_metadata();
  }
  if (!loaded) return loaded.error();
  assert(p->state != nullptr && !p->state->clusters.empty());
  return std::unique_ptr<database>(new database(std::move(p)));
}

const std::filesystem::path& database::dir() const { return impl_->dir; }

namespace {

// Looks a record up as this batch sees it: its own writes first, then disk.
// Returns io_error through `err` when RocksDB fails.
std::optional<record> batch_find(rocksdb::DB* db, const batch_context& ctx, rid id, std::optional<op_result>& err) {
  assert(valid_rid(id));
  if (auto it = ctx.records.find(id); it != ctx.records.end()) return it->second;
  std::string v;
  auto st = db->Get(rocksdb::ReadOptions(), codec::record_key(id), &v);
  if (st.IsNotFound()) return std::nullopt;
  if (!st.ok()) {
    err = failure(errc::io_error, "reading " + id.to_string() + ": " + st.ToString());
    return std::nullopt;
  }
  auto r = codec::decode_record(id, v);
  if (!r) err = failure(errc::io_error, "record " + id.to_string() + " is damaged");
  return r;
}

void put_record(batch_context& ctx, const record& r) {
  assert(valid_rid(r.id) && r.version >= 1);
  ctx.wb.Put(codec::record_key(r.id), codec::encode_record(r));
  ctx.set_record(r.id, r);
  ctx.clusters_touched.insert(r.id.cluster);
}

op_result apply_create(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied) {
  std::string why;
  auto fields = canonical_fields(o.fields, why);
  if (!fields) return failure(errc::invalid_argument, why);
  bool explicit_rid = o.id.cluster != -1;
  if (explicit_rid && (!valid_rid(o.id) || o.id.position == INT64_MAX))
    return failure(errc::invalid_argument, cat("bad RID #", o.id.cluster, ':', o.id.position));
  const class_info* cls = ctx.next.class_named(o.class_name);
  if (cls == nullptr) return failure(errc::not_found, "no class '" + o.class_name + "'");

  rid id;
  if (explicit_rid) {
    if (ctx.next.clusters.count(o.id.cluster) == 0)
      return failure(errc::not_found, cat("no cluster ", o.id.cluster));
    std::optional<op_result> err;
    if (batch_find(db, ctx, o.id, err)) return failure(errc::already_exists, o.id.to_string() + " exists");
    if (err) return *err;
    id = o.id;
  } else {
    auto& c = ctx.next.clusters.at(cls->default_cluster);
    if (c.next_position == INT64_MAX) return failure(errc::invalid_argument, "cluster " + c.name + " is full");
    id = rid{c.id, c.next_position};
  }

  record r{id, 1, cls->name, std::move(*fields)};
  // Types and unique keys are checked before anything changes, so a refused
  // create leaves the batch as it was.
  if (auto bad = indexing::check_types(ctx.next, r)) return *bad;
  if (auto bad = indexing::maintain(db, ctx, nullptr, &r, true)) return *bad;
  auto& c = ctx.next.clusters.at(id.cluster);
  c.records += 1;
  c.next_position = std::max(c.next_position, id.position + 1);
  put_record(ctx, r);
  applied = op{op::kind::create, r.class_name, "", r.id, r.version, r.fields};
  op_result res;
  res.rec = std::move(r);
  return res;
}

// The record an update or remove changes: it must exist and, when the op names
// a version, have that version. Otherwise `err` says why not.
std::optional<record> change_target(rocksdb::DB* db, batch_context& ctx, const op& o, std::optional<op_result>& err) {
  if (!valid_rid(o.id)) {
    err = failure(errc::invalid_argument, cat("bad RID #", o.id.cluster, ':', o.id.position));
    return std::nullopt;
  }
  auto r = batch_find(db, ctx, o.id, err);
  if (err) return std::nullopt;
  if (!r) {
    err = failure(errc::not_found, "no record " + o.id.to_string());
    return std::nullopt;
  }
  if (o.expected_version != -1 && o.expected_version != r->version) {
    err = failure(errc::version_conflict,
                  cat(o.id.to_string(), " has version ", r->version, ", not ", o.expected_version));
    return std::nullopt;
  }
  return r;
}

op_result apply_update(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied) {
  std::string why;
  auto fields = canonical_fields(o.fields, why);
  if (!fields) return failure(errc::invalid_argument, why);
  std::optional<op_result> err;
  auto r = change_target(db, ctx, o, err);
  if (err) return *err;
  assert(r->version < INT64_MAX);
  record now = *r;
  now.version += 1;
  now.fields = std::move(*fields);
  if (auto bad = indexing::check_types(ctx.next, now)) return *bad;
  if (auto bad = indexing::maintain(db, ctx, &*r, &now, true)) return *bad;
  r = std::move(now);
  put_record(ctx, *r);
  applied = op{op::kind::update, r->class_name, "", r->id, r->version, r->fields};
  op_result res;
  res.rec = std::move(*r);
  return res;
}

op_result apply_remove(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied) {
  std::optional<op_result> err;
  auto r = change_target(db, ctx, o, err);
  if (err) return *err;
  if (auto bad = indexing::maintain(db, ctx, &*r, nullptr, true)) return *bad;
  auto& c = ctx.next.clusters.at(o.id.cluster);
  assert(c.records > 0);
  c.records -= 1;
  ctx.wb.Delete(codec::record_key(o.id));
  ctx.set_record(o.id, std::nullopt);
  ctx.clusters_touched.insert(o.id.cluster);
  applied = op{op::kind::remove, r->class_name, "", r->id, r->version, ""};
  op_result res;
  res.rec.id = o.id;
  res.rec.version = r->version;
  res.rec.class_name = r->class_name;
  return res;
}

op_result apply_create_class(batch_context& ctx, const op& o, op& applied) {
  if (!valid_class_name(o.class_name))
    return failure(errc::invalid_argument,
                   cat("bad class name '", o.class_name, "' (1-", class_name_chars_max, " of [A-Za-z0-9_])"));
  if (ctx.next.class_named(o.class_name) != nullptr)
    return failure(errc::already_exists, "class '" + o.class_name + "' exists");
  const class_info* super = nullptr;
  if (!o.superclass.empty()) {
    super = ctx.next.class_named(o.superclass);
    if (super == nullptr) return failure(errc::invalid_argument, "no superclass '" + o.superclass + "'");
  }
  assert(!ctx.next.clusters.empty());
  int32_t id = ctx.next.clusters.rbegin()->first + 1;
  if (id > cluster_id_max) return failure(errc::invalid_argument, "no free cluster id");
  std::string base = codec::lower(o.class_name);
  std::string name = base;
  for (int n = 2; ctx.next.cluster_named(name) != nullptr; ++n) {
    if (n > cluster_name_tries_max) return failure(errc::invalid_argument, "no free cluster name for " + base);
    name = cat(base, '_', n);
  }

  ctx.next.clusters[id] = cluster_info{id, name, 0, 0};
  class_info cls{o.class_name, super != nullptr ? super->name : "", id};
  ctx.next.classes[base] = cls;
  ctx.clusters_touched.insert(id);
  ctx.classes_touched.insert(base);
  applied = op{op::kind::create_class, cls.name, cls.superclass, rid{id, -1}, -1, ""};
  op_result res;
  res.rec.id = rid{id, -1};
  res.rec.class_name = cls.name;
  return res;
}

}  // namespace

std::vector<op_result> database::apply(const std::vector<op>& ops) { return apply_with(ops, {}, {}); }

namespace {

// One op against the batch; `applied` receives the change log's copy.
op_result apply_op(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied) {
  switch (o.k) {
    case op::kind::create: return apply_create(db, ctx, o, applied);
    case op::kind::update: return apply_update(db, ctx, o, applied);
    case op::kind::remove: return apply_remove(db, ctx, o, applied);
    case op::kind::create_class: return apply_create_class(ctx, o, applied);
    case op::kind::create_index: return indexing::apply_create_index(db, ctx, o, applied);
    case op::kind::drop_index: return indexing::apply_drop_index(ctx, o, applied);
    case op::kind::create_property: return indexing::apply_create_property(db, ctx, o, applied);
    case op::kind::drop_class: return indexing::apply_drop_class(db, ctx, o, applied);
    case op::kind::statement:
      return failure(errc::invalid_argument, "a SQL statement must be expanded by the database's owner first");
  }
  return failure(errc::invalid_argument, "unknown operation kind");
}

// Applies one op and, when it succeeds, logs it under the next LSN.
op_result apply_logged(rocksdb::DB* db, batch_context& ctx, const op& o) {
  op applied;
  op_result r = apply_op(db, ctx, o, applied);
  if (r.code == errc::ok) {
    r.lsn = ++ctx.next.last_lsn;
    ctx.wb.Put(codec::log_key(r.lsn), codec::encode_log(log_entry{r.lsn, std::move(applied)}));
  }
  return r;
}

// Applies ops[first, first + n) all or nothing: the first failure rolls the
// group back, keeps its own result, and gives every other op of the group the
// same code and a message that points at it. Deterministic: the outcome
// depends only on the ops and the state before them.
void apply_group(rocksdb::DB* db, batch_context& ctx, const std::vector<op>& ops, size_t first, size_t n,
                 std::vector<op_result>& results) {
  assert(n >= 1 && first + n <= ops.size());
  if (n == 1) {  // a failed op changes nothing by itself: no save point needed
    results.push_back(apply_logged(db, ctx, ops[first]));
    return;
  }
  ctx.begin_group();
  size_t failed = n;
  std::vector<op_result> mine;
  mine.reserve(n);
  for (size_t k = 0; k < n && failed == n; ++k) {
    mine.push_back(apply_logged(db, ctx, ops[first + k]));
    if (mine.back().code != errc::ok) failed = k;
  }
  if (failed == n) {
    ctx.end_group();
  } else {
    ctx.rollback_group();
    const op_result cause = mine[failed];
    mine.resize(n);
    for (size_t k = 0; k < n; ++k)
      if (k != failed)
        mine[k] = failure(cause.code,
                          cat("not applied: operation ", failed + 1, " of this write failed: ", cause.message));
  }
  for (auto& r : mine) results.push_back(std::move(r));
}

}  // namespace

std::vector<op_result> database::apply_with(const std::vector<op>& ops, const std::vector<size_t>& groups,
                                            const batch_extra& extra, bool sync) {
  std::vector<op_result> results;
  results.reserve(ops.size());
  if (ops.size() > batch_ops_max) {
    for (size_t i = 0; i < ops.size(); ++i)
      results.push_back(failure(errc::invalid_argument, cat("batch of ", ops.size(), " ops, more than ", batch_ops_max)));
    return results;
  }
  rocksdb::DB* db = impl_->db.get();
  auto before = impl_->current();
  batch_context ctx;
  ctx.next = *before;

  if (groups.empty()) {
    for (size_t i = 0; i < ops.size(); ++i) apply_group(db, ctx, ops, i, 1, results);
  } else {
    size_t at = 0;
    for (size_t n : groups) {
      apply_group(db, ctx, ops, at, n, results);
      at += n;
    }
    assert(at == ops.size());
  }
  assert(results.size() == ops.size());
  bool any_ok = std::any_of(results.begin(), results.end(), [](auto& r) { return r.code == errc::ok; });
  if (!any_ok && !extra) return results;  // nothing to write
  if (extra) extra(&ctx.wb, ctx.next);

  // Touched metadata is written as `next` holds it, or deleted when `next`
  // no longer has it (dropped).
  for (int32_t id : ctx.clusters_touched) {
    auto c = ctx.next.clusters.find(id);
    if (c != ctx.next.clusters.end())
      ctx.wb.Put(codec::cluster_key(id), codec::encode_cluster(c->second));
    else
      ctx.wb.Delete(codec::cluster_key(id));
  }
  for (auto& low : ctx.classes_touched) {
    auto c = ctx.next.classes.find(low);
    if (c != ctx.next.classes.end())
      ctx.wb.Put(codec::class_key(low), codec::encode_class(c->second));
    else
      ctx.wb.Delete(codec::class_key(low));
  }
  for (auto& low : ctx.indexes_touched) {
    auto d = ctx.next.indexes.find(low);
    if (d != ctx.next.indexes.end())
      ctx.wb.Put(codec::index_meta_key(low), codec::encode_index(d->second));
    else
      ctx.wb.Delete(codec::index_meta_key(low));
  }
  if (ctx.next.next_index_id != before->next_index_id) {
    std::string v;
    codec::put_be64(v, ctx.next.next_index_id);
    ctx.wb.Put(codec::meta_next_index_key, v);
  }
  for (auto& key : ctx.properties_touched) {
    auto p = ctx.next.properties.find(key);
    if (p != ctx.next.properties.end())
      ctx.wb.Put(key, codec::encode_property(p->second));
    else
      ctx.wb.Delete(key);
  }
  std::string lsn;
  codec::put_be64(lsn, ctx.next.last_lsn);
  ctx.wb.Put(codec::meta_last_lsn_key, lsn);

  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync && sync;
  std::lock_guard lock(impl_->write_mutex);
  auto st = db->Write(wo, &ctx.wb);
  if (!st.ok()) {
    // Nothing was published: the in-memory state is still `before`.
    for (auto& r : results) r = failure(errc::io_error, "write failed: " + st.ToString());
    assert(impl_->current() == before);
    return results;
  }
  assert(ctx.next.last_lsn >= before->last_lsn);
  impl_->publish(std::make_shared<const meta_state>(std::move(ctx.next)));
  return results;
}

std::optional<record> database::find(rid id) const {
  if (!valid_rid(id)) return std::nullopt;
  std::string v;
  auto st = impl_->db->Get(rocksdb::ReadOptions(), codec::record_key(id), &v);
  if (!st.ok()) return std::nullopt;
  return codec::decode_record(id, v);
}

std::vector<record> database::browse_cluster(int32_t cluster, size_t limit) const {
  return browse_cluster(cluster, 0, limit);
}

std::vector<record> database::browse_cluster(int32_t cluster, int64_t from_position, size_t limit) const {
  std::vector<record> out;
  if (cluster < 0 || cluster > cluster_id_max || from_position < 0) return out;
  limit = std::min(limit, browse_records_max);
  // An iterator reads from one implicit snapshot, so the page is one point in time.
  impl_->scan(codec::record_key_lower(cluster, from_position), codec::record_key_upper(cluster),
              [&](std::string_view k, std::string_view v) {
                if (out.size() >= limit) return false;
                auto id = codec::parse_record_key(k);
                if (!id) return true;  // damaged key: check() reports it
                assert(id->cluster == cluster && id->position >= from_position);
                if (auto r = codec::decode_record(*id, v)) out.push_back(std::move(*r));
                return true;
              });
  assert(out.size() <= limit);
  return out;
}

std::vector<cluster_info> database::clusters() const {
  auto s = impl_->current();
  std::vector<cluster_info> out;
  out.reserve(s->clusters.size());
  for (auto& [id, c] : s->clusters) out.push_back(c);
  return out;
}

std::vector<class_info> database::classes() const {
  auto s = impl_->current();
  std::vector<class_info> out;
  out.reserve(s->classes.size());
  for (auto& [low, c] : s->classes) out.push_back(c);
  // The map is ordered by lower-case name; "name order" means the names as shown.
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

std::optional<cluster_info> database::cluster_by_name(std::string_view name) const {
  auto s = impl_->current();
  if (auto* c = s->cluster_named(name)) return *c;
  return std::nullopt;
}

std::optional<class_info> database::class_by_name(std::string_view name) const {
  auto s = impl_->current();
  if (auto* c = s->class_named(name)) return *c;
  return std::nullopt;
}

uint64_t database::last_lsn() const { return impl_->current()->last_lsn; }

std::vector<index_info> database::indexes() const {
  auto s = impl_->current();
  std::vector<index_info> out;
  out.reserve(s->indexes.size());
  for (auto& [low, d] : s->indexes) out.push_back(d.info);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
  return out;
}

std::optional<index_info> database::index_by_name(std::string_view name) const {
  auto s = impl_->current();
  auto it = s->indexes.find(codec::lower(name));
  if (it == s->indexes.end()) return std::nullopt;
  return it->second.info;
}

std::vector<property_info> database::properties(std::string_view class_name) const {
  auto s = impl_->current();
  std::vector<property_info> out;
  for (auto* p : s->properties_of(class_name)) out.push_back(*p);
  return out;
}

namespace {

// The RIDs of the entries of index `d` in [lower, upper), in key order, at
// most `limit` (capped at browse_records_max), from one implicit snapshot.
template <class Scan>
std::vector<rid> index_rids(const Scan& scan, const codec::index_def& d, const std::string& lower,
                            const std::string& upper, size_t limit) {
  std::vector<rid> out;
  limit = std::min(limit, browse_records_max);
  if (limit == 0 || lower >= upper) return out;
  scan(lower, upper, [&](std::string_view k, std::string_view v) {
    if (out.size() >= limit) return false;
    // A NOTUNIQUE entry's RID is the key's last 10 bytes.
    auto id = d.info.unique ? codec::decode_rid(v) : codec::decode_rid(k.substr(k.size() - std::min<size_t>(k.size(), 10)));
    if (id) out.push_back(*id);  // damaged entry: check() reports it
    return true;
  });
  return out;
}

// The encoding tag of a range bound's kind; nullopt for kinds a range cannot hold.
std::optional<uint8_t> range_tag(const boost::json::value& v) {
  if (v.is_bool()) return codec::index_tag_bool;
  if (v.is_number()) return codec::index_tag_number;
  if (v.is_string()) return codec::index_tag_string;
  return std::nullopt;
}

}  // namespace

std::vector<rid> database::index_find(std::string_view index, const std::vector<boost::json::value>& key,
                                      size_t limit) const {
  auto s = impl_->current();
  auto it = s->indexes.find(codec::lower(index));
  if (it == s->indexes.end() || key.size() > it->second.info.fields.size()) return {};
  auto enc = indexing::encode_key(key);
  if (!enc) return {};
  auto prefix = codec::index_prefix(it->second.id) + *enc;
  auto scan = [this](auto&&... a) { impl_->scan(a...); };
  return index_rids(scan, it->second, prefix, codec::prefix_successor(prefix), limit);
}

std::vector<rid> database::index_range(std::string_view index, const std::optional<index_bound>& lo,
                                       const std::optional<index_bound>& hi, size_t limit) const {
  auto s = impl_->current();
  auto it = s->indexes.find(codec::lower(index));
  if (it == s->indexes.end()) return {};
  const auto& d = it->second;
  auto base = codec::index_prefix(d.id);
  std::string lower = base, upper = codec::prefix_successor(base);
  std::optional<uint8_t> tag;
  for (auto* b : {&lo, &hi}) {
    if (!*b) continue;
    auto t = range_tag((*b)->value);
    if (!t || (tag && *tag != *t)) return {};  // a bound of no kind, or two kinds: nothing lies between
    tag = t;
  }
  if (tag) {
    lower = base + static_cast<char>(*tag);
    upper = base + static_cast<char>(*tag + 1);
  }
  if (lo) {
    auto p = base;
    if (!codec::append_index_value(p, lo->value)) return {};
    lower = lo->inclusive ? p : codec::prefix_successor(p);
  }
  if (hi) {
    auto p = base;
    if (!codec::append_index_value(p, hi->value)) return {};
    upper = hi->inclusive ? codec::prefix_successor(p) : p;
  }
  auto scan = [this](auto&&... a) { impl_->scan(a...); };
  return index_rids(scan, d, lower, upper, limit);
}

uint64_t database::last_committed_seq() const { return impl_->current()->last_seq; }

uint64_t database::last_staged_seq() const { return impl_->current()->last_staged; }

uint64_t database::promised_epoch() const { return impl_->current()->promised_epoch; }

uint64_t database::log_keep() const { return impl_->opts.log_keep; }

namespace {
uint64_t mix64(std::string_view a, std::string_view b) {
  uint64_t h = 1469598103934665603ull;
  for (char c : a) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull;
  for (char c : b) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}
}  // namespace

std::vector<database::cluster_digest> database::digest() const {
  auto s = impl_->current();
  std::map<int32_t, cluster_digest> by;
  for (auto& [id, c] : s->clusters) by[id] = cluster_digest{id, 0, 0};
  impl_->scan(std::string(1, codec::prefix_record), codec::prefix_end(codec::prefix_record),
              [&](std::string_view k, std::string_view v) {
                auto id = codec::parse_record_key(k);
                if (!id) return true;
                auto& d = by[id->cluster];
                d.id = id->cluster;
                d.records += 1;
                d.hash += mix64(k, v);  // a sum: order does not matter
                return true;
              });
  std::vector<cluster_digest> out;
  for (auto& [id, d] : by) out.push_back(d);
  return out;
}

void database::cluster_raw(int32_t id, std::vector<std::string>* keys, std::vector<std::string>* values) const {
  impl_->scan(codec::record_key_lower(id, 0), codec::record_key_upper(id), [&](std::string_view k, std::string_view v) {
    keys->emplace_back(k);
    values->emplace_back(v);
    return true;
  });
}

status database::repair_cluster(int32_t id, const std::vector<std::string>& keys,
                                const std::vector<std::string>& values, size_t* changed) {
  auto before = impl_->current();
  auto c = before->clusters.find(id);
  if (c == before->clusters.end() || keys.size() != values.size())
    return error_info{impl_->dir.string(), "repair", cat("no cluster ", id, " or a malformed repair")};
  std::map<std::string, std::string> truth;
  int64_t next = c->second.next_position;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto r = codec::parse_record_key(keys[i]);
    if (!r || r->cluster != id) return error_info{impl_->dir.string(), "repair", "a record key of another cluster"};
    next = std::max(next, r->position + 1);
    truth[keys[i]] = values[i];
  }
  std::vector<std::string> ks, vs;
  cluster_raw(id, &ks, &vs);
  // Index entries change with the records, in the same batch; the records
  // are the truth here, so a UNIQUE key is not enforced (see maintain()).
  batch_context ctx;
  ctx.next = *before;
  auto reindex = [&](std::string_view key, const std::string* old_value, const std::string* new_value) -> status {
    auto rid_of = codec::parse_record_key(key);
    assert(rid_of);
    std::optional<record> was, now;
    if (old_value != nullptr) was = codec::decode_record(*rid_of, *old_value);
    if (new_value != nullptr) now = codec::decode_record(*rid_of, *new_value);
    // A record that changes class keeps no entry under the old class's indexes.
    if (was && now && codec::lower(was->class_name) != codec::lower(now->class_name)) {
      if (auto bad = indexing::maintain(impl_->db.get(), ctx, &*was, nullptr, false))
        return error_info{impl_->dir.string(), "repair", bad->message};
      was.reset();
    }
    if (auto bad = indexing::maintain(impl_->db.get(), ctx, was ? &*was : nullptr, now ? &*now : nullptr, false))
      return error_info{impl_->dir.string(), "repair", bad->message};
    return ok_status();
  };
  auto& wb = ctx.wb;
  size_t n = 0;
  for (size_t i = 0; i < ks.size(); ++i) {
    auto t = truth.find(ks[i]);
    if (t == truth.end()) {
      if (auto st = reindex(ks[i], &vs[i], nullptr); !st) return st;
      wb.Delete(ks[i]);
      ++n;
    } else if (t->second != vs[i]) {
      if (auto st = reindex(ks[i], &vs[i], &t->second); !st) return st;
      wb.Put(ks[i], t->second);
      ++n;
    }
  }
  std::set<std::string> have(ks.begin(), ks.end());
  for (auto& [k, v] : truth)
    if (!have.count(k)) {
      if (auto st = reindex(k, nullptr, &v); !st) return st;
      wb.Put(k, v);
      ++n;
    }
  if (changed != nullptr) *changed = n;
  if (n == 0) return ok_status();
  auto next_state = std::make_shared<meta_state>(*before);
  auto& ci = next_state->clusters.at(id);
  ci.records = static_cast<int64_t>(truth.size());
  ci.next_position = next;
  wb.Put(codec::cluster_key(id), codec::encode_cluster(ci));
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  std::lock_guard lock(impl_->write_mutex);
  auto st = impl_->db->Write(wo, &wb);
  if (!st.ok()) return rocks_error(impl_->dir, "repair", st);
  impl_->publish(std::move(next_state));
  return ok_status();
}

status database::promise_epoch(uint64_t epoch) {
  auto before = impl_->current();
  if (epoch <= before->promised_epoch) return ok_status();
  std::string v;
  codec::put_be64(v, epoch);
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  std::lock_guard lock(impl_->write_mutex);
  auto st = impl_->db->Put(wo, codec::meta_promised_epoch_key, v);
  if (!st.ok()) return rocks_error(impl_->dir, "promise", st);
  auto next = std::make_shared<meta_state>(*before);
  next->promised_epoch = epoch;
  impl_->publish(std::move(next));
  return ok_status();
}

std::optional<uint64_t> database::staged_epoch(uint64_t seq) const {
  if (seq == 0) return std::nullopt;
  std::string v;
  if (!impl_->db->Get(rocksdb::ReadOptions(), codec::staged_key(seq), &v).ok()) return std::nullopt;
  auto e = codec::decode_staged(seq, v);
  if (!e) return std::nullopt;
  return e->epoch;
}

status database::stage(const staged_entry& e) {
  auto before = impl_->current();
  if (e.seq == 0 || e.seq <= before->last_seq || e.seq <= before->last_staged)
    return error_info{impl_->dir.string(), "stage",
                      cat("sequence number ", e.seq, " is not after ", std::max(before->last_seq, before->last_staged))};
  return replace_staged(e.seq, {e});
}

status database::replace_staged(uint64_t from, const std::vector<staged_entry>& entries) {
  auto before = impl_->current();
  uint64_t prev = std::max(before->last_seq, from == 0 ? 0 : from - 1);
  for (auto& e : entries) {
    if (e.seq == 0 || e.seq <= prev)
      return error_info{impl_->dir.string(), "stage", cat("sequence number ", e.seq, " is not after ", prev)};
    if (e.ops.empty() || e.ops.size() > batch_ops_max)
      return error_info{impl_->dir.string(), "stage",
                        cat("an entry holds 1 to ", batch_ops_max, " ops, not ", e.ops.size())};
    prev = e.seq;
  }
  rocksdb::WriteBatch wb;
  uint64_t keep = 0;  // the highest staged seq below `from`
  if (before->last_staged >= from) {
    for (auto& e : staged()) {
      if (e.seq >= from)
        wb.Delete(codec::staged_key(e.seq));
      else
        keep = e.seq;
    }
  } else {
    keep = before->last_staged;
  }
  for (auto& e : entries) wb.Put(codec::staged_key(e.seq), codec::encode_staged(e));
  if (wb.Count() == 0) return ok_status();
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  std::lock_guard lock(impl_->write_mutex);
  auto st = impl_->db->Write(wo, &wb);
  if (!st.ok()) return rocks_error(impl_->dir, "stage", st);
  auto next = std::make_shared<meta_state>(*before);
  next->last_staged = entries.empty() ? keep : entries.back().seq;
  impl_->publish(std::move(next));
  return ok_status();
}

std::vector<staged_entry> database::committed_since(uint64_t after, size_t limit) const {
  std::vector<staged_entry> out;
  if (after == UINT64_MAX) return out;
  limit = std::min(limit, log_entries_max);
  impl_->scan(codec::committed_key(after + 1), codec::prefix_end(codec::prefix_committed),
              [&](std::string_view k, std::string_view v) {
                if (out.size() >= limit) return false;
                auto seq = codec::parse_committed_key(k);
                if (!seq) return true;
                if (auto e = codec::decode_staged(*seq, v)) out.push_back(std::move(*e));
                return true;
              });
  return out;
}

std::optional<staged_entry> database::committed_at_or_before(uint64_t seq) const {
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions()));
  it->SeekForPrev(codec::committed_key(seq));
  if (!it->Valid()) return std::nullopt;
  auto at = codec::parse_committed_key(it->key().ToStringView());
  if (!at) return std::nullopt;
  return codec::decode_staged(*at, it->value().ToStringView());
}

std::vector<staged_entry> database::staged() const {
  std::vector<staged_entry> out;
  // Every live staged seq is after the last committed one: seeking there
  // skips the tombstones every commit leaves (one per entry, until a
  // compaction), which would otherwise make each call slower than the last.
  impl_->scan(codec::staged_key(impl_->current()->last_seq + 1), codec::prefix_end(codec::prefix_staged),
              [&](std::string_view k, std::string_view v) {
                auto seq = codec::parse_staged_key(k);
                if (!seq) return true;
                if (auto e = codec::decode_staged(*seq, v)) out.push_back(std::move(*e));
                return true;
              });
  return out;
}

result<std::vector<std::vector<op_result>>> database::commit_staged(uint64_t upto, bool sync) {
  auto pending = staged();
  size_t n = 0;
  while (n < pending.size() && pending[n].seq <= upto) ++n;
  pending.resize(n);
  return commit_entries(pending, true, sync);
}

result<std::vector<std::vector<op_result>>> database::commit_new(const std::vector<staged_entry>& entries) {
  auto before = impl_->current();
  uint64_t prev = std::max(before->last_seq, before->last_staged);
  for (auto& e : entries) {
    if (e.seq <= prev)
      return error_info{impl_->dir.string(), "commit", cat("sequence number ", e.seq, " is not after ", prev)};
    if (e.ops.empty() || e.ops.size() > batch_ops_max)
      return error_info{impl_->dir.string(), "commit",
                        cat("an entry holds 1 to ", batch_ops_max, " ops, not ", e.ops.size())};
    prev = e.seq;
  }
  return commit_entries(entries, false, true);
}

// Applies `entries` (in seq order) as atomic batches of whole entries, each
// also recording them in the replication log, advancing the committed seq
// and (when they were staged) removing their staged keys.
result<std::vector<std::vector<op_result>>> database::commit_entries(const std::vector<staged_entry>& pending,
                                                                     bool were_staged, bool sync) {
  std::vector<std::vector<op_result>> out;
  size_t i = 0;
  while (i < pending.size()) {
    // As many whole entries as fit in one batch, applied as one atomic write
    // that also removes them and advances the committed seq.
    std::vector<op> ops;
    std::vector<size_t> groups;  // each entry is all or nothing
    size_t first = i;
    while (i < pending.size() && (ops.empty() || ops.size() + pending[i].ops.size() <= batch_ops_max)) {
      for (auto& o : pending[i].ops) ops.push_back(o);
      groups.push_back(pending[i].ops.size());
      ++i;
    }
    uint64_t last = pending[i - 1].seq;
    auto results = apply_with(ops, groups, [&](void* wbp, meta_state& next) {
      auto& wb = *static_cast<rocksdb::WriteBatch*>(wbp);
      for (size_t k = first; k < i; ++k) {
        if (were_staged) wb.Delete(codec::staged_key(pending[k].seq));
        wb.Put(codec::committed_key(pending[k].seq), codec::encode_staged(pending[k]));
      }
      // Trimmed once per 4096 seqs (or per log_keep, if fewer), not per batch:
      // every DeleteRange leaves a range tombstone that later reads of the
      // log must step over.
      uint64_t keep = impl_->opts.log_keep, step = std::clamp<uint64_t>(keep, 1, 4096);
      if (last > keep && last / step != next.last_seq / step)
        wb.DeleteRange(codec::committed_key(0), codec::committed_key(last - keep + 1));
      std::string v;
      codec::put_be64(v, last);
      wb.Put(codec::meta_last_seq_key, v);
      next.last_seq = last;
      if (next.last_staged <= last) next.last_staged = 0;
    }, sync);
    for (auto& r : results)
      if (r.code == errc::io_error) return error_info{impl_->dir.string(), "commit", r.message};
    size_t at = 0;
    for (size_t k = first; k < i; ++k) {
      std::vector<op_result> mine(results.begin() + static_cast<std::ptrdiff_t>(at),
                                  results.begin() + static_cast<std::ptrdiff_t>(at + pending[k].ops.size()));
      at += pending[k].ops.size();
      out.push_back(std::move(mine));
    }
  }
  return out;
}

status database::discard_staged(uint64_t from) {
  auto pending = staged();
  rocksdb::WriteBatch wb;
  uint64_t keep = 0;
  for (auto& e : pending) {
    if (e.seq >= from) {
      wb.Delete(codec::staged_key(e.seq));
    } else {
      keep = e.seq;
    }
  }
  if (wb.Count() == 0) return ok_status();
  rocksdb::WriteOptions wo;
  wo.sync = impl_->opts.sync;
  std::lock_guard lock(impl_->write_mutex);
  auto st = impl_->db->Write(wo, &wb);
  if (!st.ok()) return rocks_error(impl_->dir, "discard", st);
  auto next = std::make_shared<meta_state>(*impl_->current());
  next->last_staged = keep;
  impl_->publish(std::move(next));
  return ok_status();
}

result<uint64_t> database::checkpoint(const std::filesystem::path& dest) const {
  // Holding the write mutex keeps apply() out, so the LSN read below is exactly
  // the state the checkpoint captures.
  std::lock_guard lock(impl_->write_mutex);
  rocksdb::Checkpoint* raw = nullptr;
  auto st = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  if (!st.ok()) return error_info{dest.string(), "", cat("cannot start a checkpoint: ", st.ToString())};
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  // Copy the write-ahead log into the checkpoint rather than flush the
  // memtables first: a flush under the write mutex stalled writes (and the
  // deploy) for up to a second and a half; the WAL is at most a few memtables.
  st = cp->CreateCheckpoint(dest.string(), checkpoint_wal_copy_max);
  if (!st.ok()) return error_info{dest.string(), "", cat("cannot take a checkpoint: ", st.ToString())};
  return impl_->current()->last_lsn;
}

std::vector<log_entry> database::log_since(uint64_t after, size_t limit) const {
  std::vector<log_entry> out;
  if (after == UINT64_MAX) return out;
  limit = std::min(limit, log_entries_max);
  impl_->scan(codec::log_key(after + 1), codec::prefix_end(codec::prefix_log), [&](std::string_view k, std::string_view v) {
    if (out.size() >= limit) return false;
    auto lsn = codec::parse_log_key(k);
    if (!lsn) return true;
    assert(*lsn > after);
    if (auto e = codec::decode_log(*lsn, v)) out.push_back(std::move(*e));
    return true;
  });
  return out;
}

status database::check() const {
  const auto& dir = impl_->dir;
  auto fail = [&](std::string what) -> status { return error_info{dir.string(), "check", std::move(what)}; };
  std::shared_ptr<const meta_state> mem;
  std::optional<snapshot_guard> snap;
  {
    std::lock_guard lock(impl_->write_mutex);
    snap.emplace(impl_->db.get());
    mem = impl_->current();
  }
  rocksdb::ReadOptions ro;
  ro.snapshot = snap->get();
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(ro));

  meta_state disk;
  bool have_format = false, have_lsn = false;
  std::map<int32_t, int64_t> counted;       // records per cluster
  std::map<int32_t, int64_t> max_position;  // per cluster
  uint64_t expect_lsn = 1;
  std::map<uint32_t, int64_t> entries_stored, entries_implied;  // per index id
  // One ordered pass; keys sort as C < I < K < L < M < P < Q < R, so records
  // come last, after every definition they are checked against.
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = it->key().ToStringView();
    auto value = it->value().ToStringView();
    switch (key[0]) {
      case codec::prefix_meta:
        if (key == codec::meta_format_key) {
          have_format = value == format_version;
        } else if (key == codec::meta_last_seq_key && value.size() == 8) {
          disk.last_seq = codec::get_be64(value);
        } else if (key == codec::meta_promised_epoch_key && value.size() == 8) {
          // any value is valid
        } else if (key == codec::meta_last_lsn_key && value.size() == 8) {
          have_lsn = true;
          disk.last_lsn = codec::get_be64(value);
        } else if (key == codec::meta_next_index_key && value.size() == 8) {
          disk.next_index_id = codec::get_be64(value);
        } else if (key.starts_with(codec::meta_index_prefix)) {
          auto d = codec::decode_index(value);
          if (!d || key != codec::index_meta_key(d->info.name)) return fail("damaged index " + std::string(key));
          disk.indexes[codec::lower(d->info.name)] = *d;
        } else if (key.starts_with(codec::meta_property_prefix)) {
          auto p = codec::decode_property(value);
          if (!p || key != codec::property_meta_key(p->class_name, p->name) || !indexing::valid_type(p->type))
            return fail("damaged property " + std::string(key));
          disk.properties[std::string(key)] = *p;
        } else {
          return fail("unknown meta key " + std::string(key));
        }
        break;
      case codec::prefix_cluster: {
        if (key.size() != 3) return fail("damaged cluster key");
        auto id = static_cast<int32_t>(codec::get_be16(key.substr(1)));
        auto c = codec::decode_cluster(id, value);
        if (!c) return fail(cat("damaged cluster ", id));
        disk.clusters[id] = *c;
        break;
      }
      case codec::prefix_class: {
        auto c = codec::decode_class(value);
        if (!c || key.substr(1) != codec::lower(c->name)) return fail("damaged class " + std::string(key.substr(1)));
        disk.classes[codec::lower(c->name)] = *c;
        break;
      }
      case codec::prefix_index: {
        // Compared with what the records imply once they have been read:
        // here only counted, as index definitions sort after their entries.
        if (key.size() < 5) return fail("damaged index entry key");
        uint32_t id = 0;
        for (size_t i = 1; i < 5; ++i) id = (id << 8) | static_cast<uint8_t>(key[i]);
        entries_stored[id] += 1;
        break;
      }
      case codec::prefix_log: {
        auto lsn = codec::parse_log_key(key);
        if (!lsn || *lsn != expect_lsn) return fail(cat("log gap: expected LSN ", expect_lsn));
        if (!codec::decode_log(*lsn, value)) return fail(cat("damaged log entry ", *lsn));
        ++expect_lsn;
        break;
      }
      case codec::prefix_committed: {
        auto seq = codec::parse_committed_key(key);
        if (!seq || !codec::decode_staged(*seq, value)) return fail("damaged committed replication entry");
        disk.last_committed_entry = std::max(disk.last_committed_entry, *seq);
        break;
      }
      case codec::prefix_staged: {
        auto seq = codec::parse_staged_key(key);
        if (!seq || !codec::decode_staged(*seq, value)) return fail("damaged staged entry");
        disk.last_staged = std::max(disk.last_staged, *seq);
        break;
      }
      case codec::prefix_record: {
        auto id = codec::parse_record_key(key);
        if (!id) return fail("damaged record key");
        auto r = codec::decode_record(*id, value);
        if (!r) return fail("damaged record " + id->to_string());
        std::string why;
        auto canon = canonical_fields(r->fields, why);
        if (!canon || *canon != r->fields) return fail("record " + id->to_string() + " fields: " + why);
        // Cluster and class keys sort before record keys, so both are known here.
        if (disk.clusters.count(id->cluster) == 0) return fail("record " + id->to_string() + " in a missing cluster");
        if (disk.class_named(r->class_name) == nullptr)
          return fail("record " + id->to_string() + " of missing class " + r->class_name);
        counted[id->cluster] += 1;
        max_position[id->cluster] = id->position;  // keys ascend within a cluster
        // Every entry the record implies must be stored, naming it.
        auto covering = disk.covering_indexes(r->class_name);
        if (!covering.empty()) {
          boost::json::object fields = boost::json::parse(r->fields).as_object();  // canonical: checked above
          for (auto* d : covering) {
            auto e = indexing::entry_for(*d, *id, fields);
            if (!e) continue;
            entries_implied[d->id] += 1;
            std::string held;
            auto st = impl_->db->Get(ro, e->key, &held);
            if (!st.ok() || held != e->value)
              return fail(cat("index ", d->info.name, " lacks the entry of record ", id->to_string()));
          }
        }
        break;
      }
      default:
        return fail("unknown key prefix");
    }
  }
  if (!it->status().ok()) return fail("reading: " + it->status().ToString());
  if (!have_format || !have_lsn) return fail("format marker or last LSN missing");
  if (expect_lsn - 1 != disk.last_lsn) return fail(cat("log ends at ", expect_lsn - 1, ", last LSN is ", disk.last_lsn));
  for (auto& [id, c] : disk.clusters) {
    if (c.records != counted[id]) return fail(cat("cluster ", c.name, " counts ", c.records, " records, holds ", counted[id]));
    if (max_position.count(id) != 0 && c.next_position <= max_position[id])
      return fail(cat("cluster ", c.name, " next position ", c.next_position, " not past ", max_position[id]));
  }
  for (auto& [low, c] : disk.classes)
    if (disk.clusters.count(c.default_cluster) == 0) return fail("class " + c.name + " has no cluster");
  // Each implied entry was found, so equal counts mean no entry lacks its record.
  std::map<uint32_t, const codec::index_def*> by_id;
  for (auto& [low, d] : disk.indexes) {
    if (disk.class_named(d.info.class_name) == nullptr) return fail("index " + d.info.name + " of a missing class");
    if (d.id >= disk.next_index_id) return fail("index " + d.info.name + " has an id not below the next index id");
    by_id[d.id] = &d;
  }
  for (auto& [id, n] : entries_stored) {
    auto d = by_id.find(id);
    if (d == by_id.end()) return fail(cat(n, " index entries of no index (id ", id, ")"));
    if (n != entries_implied[id])
      return fail(cat("index ", d->second->info.name, " holds ", n, " entries, its records imply ", entries_implied[id]));
  }
  for (auto& [id, n] : entries_implied)
    if (entries_stored[id] != n) return fail(cat("index ", by_id.at(id)->info.name, " lacks entries"));
  for (auto& [key, p] : disk.properties)
    if (disk.class_named(p.class_name) == nullptr) return fail("property " + p.name + " of a missing class");
  // In-memory metadata must be exactly what is stored.
  if (mem->last_lsn != disk.last_lsn) return fail("in-memory last LSN differs from the stored one");
  if (mem->last_seq != disk.last_seq) return fail("in-memory last committed seq differs from the stored one");
  if (disk.last_committed_entry > disk.last_seq)
    return fail(cat("committed replication entry ", disk.last_committed_entry, " is after the last committed seq"));
  if (disk.last_staged != 0 && disk.last_staged <= disk.last_seq)
    return fail(cat("staged entry ", disk.last_staged, " is not after the last committed seq ", disk.last_seq));
  if (mem->clusters.size() != disk.clusters.size() || mem->classes.size() != disk.classes.size())
    return fail("in-memory metadata differs from the stored one");
  if (mem->next_index_id != disk.next_index_id || mem->indexes.size() != disk.indexes.size() ||
      mem->properties.size() != disk.properties.size())
    return fail("in-memory indexes or properties differ from the stored ones");
  for (auto& [low, d] : disk.indexes) {
    auto m = mem->indexes.find(low);
    if (m == mem->indexes.end() || m->second.id != d.id || m->second.info.name != d.info.name ||
        m->second.info.class_name != d.info.class_name || m->second.info.fields != d.info.fields ||
        m->second.info.unique != d.info.unique)
      return fail("in-memory index " + d.info.name + " differs from the stored one");
  }
  for (auto& [key, p] : disk.properties) {
    auto m = mem->properties.find(key);
    if (m == mem->properties.end() || m->second.class_name != p.class_name || m->second.name != p.name ||
        m->second.type != p.type)
      return fail("in-memory property " + p.class_name + "." + p.name + " differs from the stored one");
  }
  for (auto& [id, c] : disk.clusters) {
    auto m = mem->clusters.find(id);
    if (m == mem->clusters.end() || m->second.name != c.name || m->second.records != c.records ||
        m->second.next_position != c.next_position)
      return fail("in-memory cluster " + c.name + " differs from the stored one");
  }
  for (auto& [low, c] : disk.classes) {
    auto m = mem->classes.find(low);
    if (m == mem->classes.end() || m->second.name != c.name || m->second.superclass != c.superclass ||
        m->second.default_cluster != c.default_cluster)
      return fail("in-memory class " + c.name + " differs from the stored one");
  }
  return ok_status();
}

}  // namespace troupe::storage
