// storage::database: one troupe database = one folder holding one RocksDB
// instance. Plain C++ (no CAF): the database actor (actors/database_actor.*)
// owns one and is its only writer; readers on other threads may call the const
// read functions concurrently.
//
// Data model (OrientDB's):
//   - clusters: named, numeric id; records live in clusters and are addressed
//     by RID #<cluster>:<position>; positions grow and are never reused.
//   - classes: named, with an optional superclass and a default cluster (the
//     lower-cased class name); "V" and "E" exist in every database.
//   - records: JSON documents. Stored fields exclude the '@' metadata; @rid,
//     @version and @class are kept beside the fields and added on output.
//     @version is 1 on create and +1 on every update.
//
// Durability: apply() commits a whole batch of operations as one RocksDB
// WriteBatch with sync=true (one fsync of the WAL for the batch). When apply()
// returns, every operation it reports as ok is on disk; failed operations
// changed nothing. Operations in one batch are applied in order, each seeing
// the effects of the earlier ones.
//
// Change log: every successful operation gets the next log sequence number
// (LSN, per database, starting at 1) and a log entry with the full operation
// as applied (with the RID it produced), written in the same batch. This is
// what deploy and replication read (log_since) to ship changes in order.
//
// Indexes and properties: index entries live in the same RocksDB keyspace as
// the records and change in the same WriteBatch, so they can never disagree
// with the records after a crash, and a checkpoint (what a deploy ships)
// carries them at the same LSN as the records. Definitions are kept with the
// other metadata; a database written before indexes existed opens with none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "src/storage/rid.hpp"
#include "src/util/result.hpp"

namespace rocksdb {
class Env;
}

namespace troupe::storage {

// Bounds. A caller that needs more asks again (browse from a later position,
// log_since from a later LSN) or splits its batch.
inline constexpr size_t batch_ops_max = 10'000;            // apply(): more is refused whole
inline constexpr size_t fields_bytes_max = 4 * 1024 * 1024;  // one record's JSON text
inline constexpr size_t browse_records_max = 10'000;       // browse_cluster() limit cap
inline constexpr size_t log_entries_max = 10'000;          // log_since() limit cap
inline constexpr uint64_t committed_entries_kept = 100'000;  // the replication log keeps this many committed entries
inline constexpr size_t class_name_chars_max = 128;

// What a caller can react to. (Add a code only if a caller can react to it.)
enum class errc : int {
  ok = 0,
  not_found = 1,          // no such record / class / cluster
  version_conflict = 2,   // expected version differs from the stored one
  already_exists = 3,     // class (or record at an explicit RID) exists
  invalid_argument = 4,   // bad class name, superclass unknown, fields not a JSON object, ...
  io_error = 5,           // RocksDB failed (disk full, corruption, ...)
  duplicate_key = 6,      // a UNIQUE index already maps the key to another record
};
const char* to_string(errc e);

struct record {
  rid id;
  int64_t version = 0;
  std::string class_name;
  std::string fields;  // a JSON object as text, without '@' keys

  // The whole document as OrientDB shows it:
  // {"@type":"d","@rid":"#9:0","@version":1,"@class":"V", ...fields}
  std::string to_json() const;
};

struct cluster_info {
  int32_t id = -1;
  std::string name;
  int64_t records = 0;       // live records
  int64_t next_position = 0; // next position a create takes
};

struct class_info {
  std::string name;
  std::string superclass;  // "" for none
  int32_t default_cluster = -1;
};

// A property of a class (CREATE PROPERTY): values of the field, when present
// and not null, must have this OrientDB type (upper case: BOOLEAN, INTEGER,
// SHORT, LONG, FLOAT, DOUBLE, STRING, DATE, DATETIME, LINK, LINKLIST, LINKSET,
// LINKMAP, EMBEDDED, EMBEDDEDLIST, EMBEDDEDSET, EMBEDDEDMAP, ANY). Subclasses inherit it.
struct property_info {
  std::string class_name;
  std::string name;
  std::string type;
};

// An index over one or more fields of a class and its subclasses' records.
// Records whose indexed fields are all absent or null are not indexed (as
// OrientDB's default ignoreNullValues); in a composite index a record with
// some of them null is indexed with null there. Only scalar values are keys:
// a record whose indexed field holds an array or object is not indexed (no
// per-element entries, unlike OrientDB's collection indexes).
struct index_info {
  std::string name;        // as created, e.g. "Person.name"; unique ignoring case
  std::string class_name;
  std::vector<std::string> fields;
  bool unique = false;     // UNIQUE: one record per key, else NOTUNIQUE
};

// One operation of a write batch.
//
// Schema operations carry their arguments in `fields` (a JSON object):
//   create_index:    class_name = the class; fields {"name":"Person.name",
//                    "fields":["name"],"type":"UNIQUE"|"NOTUNIQUE"}; built
//                    over the existing records in the same batch (refused with
//                    duplicate_key if a UNIQUE index finds two).
//   drop_index:      fields {"name":"Person.name"}.
//   create_property: class_name = the class; fields {"name":"age","type":"INTEGER"};
//                    refused (invalid_argument) when a stored record of the
//                    class holds a value of another type.
//   drop_class:      class_name; refused while the class has records or
//                    subclasses; its cluster, properties and indexes go with it.
//                    V and E cannot be dropped.
// Rules: index names are 1-128 of [A-Za-z0-9_.-], unique ignoring case; an
// index has 1-8 distinct fields of [A-Za-z0-9_]; property names are 1-128 of
// [A-Za-z0-9_] and types are accepted in any case (stored upper case). A
// missing class is not_found, a taken name already_exists, anything else
// malformed invalid_argument. The create_property refusal names the record.
// Their log entries hold class_name = the class (drop_index: the index's
// class) and fields = the canonical arguments ({"name","fields","type"} for
// create_index, {"name"} for drop_index, {"name","type"} for create_property);
// drop_class logs applied.id = {its removed cluster, -1}.
//   statement:       never reaches storage (apply() refuses it): a SQL write
//                    statement, fields {"command":"...","parameters":[...]|{...}},
//                    that the database's owner expands into the operations
//                    above before it orders them (src/replication/intake.hpp).
struct op {
  enum class kind : uint8_t {
    create = 0,
    update = 1,
    remove = 2,
    create_class = 3,
    create_index = 4,
    drop_index = 5,
    create_property = 6,
    drop_class = 7,
    statement = 8,
  };
  kind k = kind::create;
  std::string class_name;  // create: the record's class (REQUIRED, must exist);
                           // create_class: the new class
  std::string superclass;  // create_class only ("" for none)
  rid id;                  // update/remove: the target; create: cluster -1 = class's default cluster
                           // and next position, else this exact RID (used by replication/import)
  int64_t expected_version = -1;  // update/remove: -1 = any, else must equal the stored version
  std::string fields;      // create/update: JSON object text (replaces all fields on update)
};

struct op_result {
  errc code = errc::ok;
  std::string message;  // human-readable detail when code != ok
  record rec;           // create/update: the stored record; remove: the removed RID in rec.id
  uint64_t lsn = 0;     // the operation's LSN when ok
};

// A change log entry: what one successful operation did.
struct log_entry {
  uint64_t lsn = 0;
  op applied;  // with applied.id the RID it touched, and for create/update
               // expected_version = the version the record got; remove:
               // expected_version = the version removed, class_name = its class;
               // create_class: applied.id = {new default cluster, -1}
};

// A replicated write waiting for its quorum (see "Staged writes" below).
struct staged_entry {
  uint64_t seq = 0;    // the owner's sequence number for the database, from 1
  uint64_t epoch = 0;  // the owner's epoch when it ordered the entry
  std::vector<op> ops;
};

struct open_options {
  bool create_if_missing = true;
  bool sync = true;  // fsync the WAL on every apply(); false only for benchmarks/tests
  // The seam for fault injection: every file access goes through it. nullptr =
  // rocksdb::Env::Default(). Not owned; must outlive the database.
  rocksdb::Env* env = nullptr;
  // How many committed entries the replication log keeps (a replica further
  // behind needs a full deploy). Lowered only by tests, to reach that case
  // without 100k writes.
  uint64_t log_keep = committed_entries_kept;
};

struct meta_state;  // batch.hpp: clusters, classes, indexes, properties, LSN and seq counters

class database {
 public:
  // Opens (or creates) the database in `dir`. A new database gets clusters
  // internal(0), index(1), default(2), v(3), e(4) and classes V (cluster v) and
  // E (cluster e).
  // The error names `dir` and RocksDB's reason (missing folder without
  // create_if_missing, locked by another process, not a troupe database,
  // unsupported format, damaged metadata).
  static result<std::unique_ptr<database>> open(const std::filesystem::path& dir, open_options opts = {});
  // Closes RocksDB. REQUIRES: no call of any other member is running.
  ~database();

  // --- writes: one writer at a time (REQUIRES external serialisation) -------
  // Applies `ops` in order as one atomic, durable batch. Returns one result per op.
  // If the batch cannot be written (I/O error), every result is io_error and
  // nothing changed in memory; RocksDB then refuses further writes until the
  // database is reopened. (As with any store after a failed fsync, a batch whose
  // WAL append succeeded but whose sync failed may reappear after a reopen.)
  // More than batch_ops_max ops: every result is invalid_argument.
  // A failed op (not_found, version_conflict, already_exists, invalid_argument)
  // changes nothing and gets no LSN; checks in order: the op's own arguments
  // (invalid_argument), then the class/cluster/record it names.
  // Record fields: a JSON object text of at most fields_bytes_max bytes; stored
  // canonically serialised, without its top-level '@' keys (metadata).
  // create: version 1; explicit RID: the cluster must exist, the position must
  // be free and < INT64_MAX, and the cluster's next position moves past it.
  // update: version + 1, class unchanged (op.class_name is ignored).
  // create_class: name 1-128 of [A-Za-z0-9_], unique ignoring case; the
  // superclass must exist; its new cluster is lower(name) (or lower(name)_<n>
  // if that cluster name is taken) with the next free cluster id.
  // create/update also check, before anything changes: each present, non-null
  // field with a property on the class or a superclass has its type
  // (invalid_argument: "The field 'Person.age' has been declared as INTEGER
  // but the value is not compatible: <value JSON>"), and each UNIQUE index
  // covering the class is free at the record's key (errc::duplicate_key:
  // "Cannot index record #<rid>: found duplicated key '<key>' in index
  // '<name>' previously assigned to the record #<rid>", as OrientDB words it;
  // a composite key shows as "[a, b]"). create/update/remove keep the entries
  // of every index on the record's class or a superclass; an update rewrites
  // only the entries whose key changed. The schema operations above may scan
  // every record (create_index, create_property, drop_class); the others read
  // one record and one entry per UNIQUE index.
  // Per-op semantics: a failed op does not stop the batch; later ops are
  // applied as if it had not been there. (commit_staged/commit_new apply
  // each staged entry all or nothing instead, see below.)
  // op::kind::statement is refused (invalid_argument, "a SQL statement must
  // be expanded by the database's owner first").
  std::vector<op_result> apply(const std::vector<op>& ops);

  // --- staged writes (replication) ------------------------------------------
  // The replication log's pending part: a write the owner ordered but whose
  // quorum has not answered yet. A staged entry is durable (synced) but
  // invisible: no read, log_since or last_lsn sees it until commit_staged()
  // applies it, and discard_staged() removes it without a trace. So a write
  // that never reaches its quorum is visible nowhere, on the owner or on any
  // replica, and one that did survives a crash of any of them.
  // Seqs: stage() takes a seq greater than every staged and committed one
  // (gaps allowed: the owner may have discarded some); commit_staged(upto)
  // applies every staged entry with seq <= upto in seq order, removes them and
  // records upto as last_committed_seq (and keeps the entries in the
  // replication log, see committed_since), all in one atomic batch per at most
  // batch_ops_max ops. Errors: invalid_argument for a bad seq or a batch over
  // batch_ops_max, io_error when the disk fails.
  // Each entry is all or nothing (one client write): if any of its ops
  // fails, none of its ops changes anything and none gets an LSN; the failing
  // op keeps its result, and every other op of the entry gets the same code
  // with the message "not applied: operation <k> of this write failed:
  // <message>" (k counts from 1). The entry's seq is committed all the same,
  // and later entries are applied as if it had not been there. The outcome
  // depends only on the entries and the state before them, so every replica
  // that commits the same entries reaches the same state.
  // REQUIRES external serialisation with apply() (the one writer).
  status stage(const staged_entry& e);
  // In one synced batch: removes the staged entries with seq >= from and
  // stages `entries` (increasing seqs, each >= from and after every committed
  // one). What the replication core uses: one fsync for a whole batch of
  // writes, and no state in between where a crash could leave half of it.
  status replace_staged(uint64_t from, const std::vector<staged_entry>& entries);
  // Results of every applied entry, in seq order (one op_result per op).
  // `sync` false: the commit is not fsynced on its own (the next synced write
  // carries it). Safe for replication: the entries stay staged (durable) until
  // the commit is on disk, so a crash before that leaves them staged, and they
  // are committed again.
  result<std::vector<std::vector<op_result>>> commit_staged(uint64_t upto, bool sync = true);
  // Stages and commits at once (one batch, one fsync): for writes decided as
  // soon as they are ordered (writeQuorum 1). Seqs after every staged and
  // committed one.
  result<std::vector<std::vector<op_result>>> commit_new(const std::vector<staged_entry>& entries);
  // Removes staged entries with seq >= from.
  status discard_staged(uint64_t from);
  // Staged entries in seq order (after a restart: what was pending).
  std::vector<staged_entry> staged() const;
  // Committed entries with seq > after, in seq order, at most min(limit,
  // log_entries_max): what a replica that fell behind receives. The last
  // committed_entries_kept are kept; an older seq is gone (then: a deploy).
  std::vector<staged_entry> committed_since(uint64_t after, size_t limit) const;
  // The last committed entry with seq <= `seq` still in the log, if any.
  std::optional<staged_entry> committed_at_or_before(uint64_t seq) const;
  uint64_t last_committed_seq() const;
  // The highest staged seq (0: none); the epoch of staged entry `seq`, if
  // staged. Cheap (memory, one point read), unlike staged().
  uint64_t last_staged_seq() const;
  std::optional<uint64_t> staged_epoch(uint64_t seq) const;
  // The highest owner epoch this node promised to follow (replication's
  // fence against an old owner), kept across restarts; promise_epoch() only
  // raises it (synced).
  uint64_t promised_epoch() const;
  // The open_options::log_keep this database was opened with.
  uint64_t log_keep() const;
  status promise_epoch(uint64_t epoch);

  // --- anti-entropy (replication's resyncEvery) ---------------------------
  // Per cluster, from one consistent point in time: the live record count and
  // an order-independent hash of every record key and stored value. Two
  // copies at the same committed seq must have equal digests. Records only:
  // index entries are derived from the records (check() verifies that), and
  // repair_cluster rewrites them with the records it changes.
  struct cluster_digest {
    int32_t id = -1;
    int64_t records = 0;
    uint64_t hash = 0;
  };
  std::vector<cluster_digest> digest() const;
  // A cluster's records as stored (keys and values), to repair another copy.
  void cluster_raw(int32_t id, std::vector<std::string>* keys, std::vector<std::string>* values) const;
  // Makes cluster `id` hold exactly these records (as cluster_raw gave them),
  // in one synced batch; `changed` receives how many records differed.
  // Outside the replication order: only for a copy that diverged. The index
  // entries of every record it deletes, rewrites or adds change in the same
  // batch; UNIQUE keys are not enforced here (the records given are the
  // truth): a key taken over from another record moves to the new one.
  status repair_cluster(int32_t id, const std::vector<std::string>& keys, const std::vector<std::string>& values,
                        size_t* changed);

  // --- reads: thread-safe, each from one consistent point in time -----------
  std::optional<record> find(rid id) const;                    // nullopt if absent (or unreadable: see check())
  // Records of `cluster` in position order, from `from_position` on, at most
  // min(limit, browse_records_max). Empty for an unknown cluster.
  std::vector<record> browse_cluster(int32_t cluster, size_t limit) const;
  std::vector<record> browse_cluster(int32_t cluster, int64_t from_position, size_t limit) const;
  std::vector<cluster_info> clusters() const;                  // id order
  std::vector<class_info> classes() const;                     // name order
  std::optional<cluster_info> cluster_by_name(std::string_view name) const;
  std::optional<class_info> class_by_name(std::string_view name) const;
  uint64_t last_lsn() const;

  // Schema beyond classes: indexes (name order) and properties (of the class
  // and its superclasses, the class's own first, each class's in name order;
  // empty for an unknown class).
  std::vector<index_info> indexes() const;
  std::optional<index_info> index_by_name(std::string_view name) const;
  std::vector<property_info> properties(std::string_view class_name) const;
  // Index reads, from one consistent point in time, at most min(limit,
  // browse_records_max) RIDs in key order (then RID order). `key`: one value
  // per indexed field, or a prefix of them (a composite index looked up by
  // its first fields; an empty key gives every entry). Values compare as the
  // query engine compares them: numbers by value (1 = 1.0), strings by
  // bytes, and a value only equals one of its kind ("1" is not 1). Integers
  // compare exactly, even where doubles cannot tell them apart (2^53 + 1).
  // A null in `key` matches null (or absent) fields of composite entries.
  // Unknown index, or an array/object in `key`: empty.
  std::vector<rid> index_find(std::string_view index, const std::vector<boost::json::value>& key,
                              size_t limit) const;
  // The RIDs whose first indexed field lies between `lo` and `hi` (nullopt:
  // unbounded), same-kind values only (a numeric range holds numbers, a
  // string range strings, a boolean range booleans); bounds of two kinds, or
  // a null/array/object bound: empty. Both nullopt: every entry. Same limit
  // and order as index_find.
  struct index_bound {
    boost::json::value value;
    bool inclusive = true;
  };
  std::vector<rid> index_range(std::string_view index, const std::optional<index_bound>& lo,
                               const std::optional<index_bound>& hi, size_t limit) const;

  // Log entries with lsn > after, in LSN order, at most min(limit, log_entries_max).
  std::vector<log_entry> log_since(uint64_t after, size_t limit) const;

  // Reads everything from one snapshot and checks the invariants: every key
  // and value decodes; every record's cluster and class exist; each cluster's
  // stored count equals its records and its next position is past them; the
  // log holds LSNs 1..last_lsn without gaps; in-memory metadata equals the
  // stored one; every index and property names an existing class; each index
  // holds exactly the entries its records imply (each found, with the right
  // value, and no other). The error names the first violation. Costs a full
  // scan plus one point read per index entry: for tests, recovery checks and tools.
  status check() const;

  const std::filesystem::path& dir() const;

  // A consistent copy of the whole database in `dest` (which must not exist),
  // taken between write batches (RocksDB Checkpoint: hard links where it can),
  // and the LSN it stands at: every change with a higher LSN is not in it.
  // Thread-safe; waits for a running apply() to finish.
  result<uint64_t> checkpoint(const std::filesystem::path& dest) const;

 private:
  struct impl;
  // apply() plus more puts in the same atomic batch: `extra(batch, next)` gets
  // the rocksdb::WriteBatch (as void*) and the metadata about to be published.
  using batch_extra = std::function<void(void*, meta_state&)>;
  // `groups`: sizes of consecutive all-or-nothing groups covering `ops` (a
  // staged entry each); empty: every op on its own, as apply() promises.
  std::vector<op_result> apply_with(const std::vector<op>& ops, const std::vector<size_t>& groups,
                                    const batch_extra& extra, bool sync = true);
  result<std::vector<std::vector<op_result>>> commit_entries(const std::vector<staged_entry>& entries,
                                                             bool were_staged, bool sync);
  explicit database(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe::storage
