// Internal to src/storage: index entries and property types, the rules that
// database.cpp's apply() calls for every record change, and the schema
// operations (create/drop index, create property, drop class).
//
// Why index entries live in the records' keyspace (codec::prefix_index):
// a record and its entries change in one WriteBatch, so a crash can never
// leave an index that disagrees with the records, and a RocksDB snapshot or
// Checkpoint (what a deploy ships) holds both from the same moment.
#pragma once

#include <rocksdb/db.h>

#include <optional>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "src/storage/batch.hpp"

namespace troupe::storage::indexing {

// Bounds of a definition.
inline constexpr size_t index_fields_max = 8;
inline constexpr size_t name_chars_max = 128;  // index, field and property names

// An index entry as a record implies it.
struct entry {
  std::string key;    // codec::prefix_index layout
  std::string value;  // the RID (UNIQUE) or "" (NOTUNIQUE)
};

// The entry record `id` with top-level `fields` has in index `d`: nullopt when
// the record is not indexed there (every indexed field absent or null, or one
// of them an array or object: only scalars are indexed).
std::optional<entry> entry_for(const codec::index_def& d, rid id, const boost::json::object& fields);

// The key values of a lookup, encoded as in an entry; nullopt if one is not a
// scalar (nothing can match it).
std::optional<std::string> encode_key(const std::vector<boost::json::value>& values);

// Changes the entries of every index covering the record's class from what
// `before` implies to what `after` implies (either may be null: create,
// remove). Entries whose key did not change are not touched. With
// `enforce_unique`, a UNIQUE key held by another record is refused with
// errc::duplicate_key (one point read: the batch's overlay, then disk) and
// nothing changes. Without it (anti-entropy repair, where the records are
// the truth), the new entry replaces the old, and an old entry is deleted
// only while it still names this record.
// Returns the failure, or nullopt when done.
std::optional<op_result> maintain(rocksdb::DB* db, batch_context& ctx, const record* before, const record* after,
                                  bool enforce_unique);

// Whether `r`'s fields agree with the properties of its class and
// superclasses; the failure (invalid_argument) names the first field that does not.
std::optional<op_result> check_types(const meta_state& meta, const record& r);

// Whether `v` has OrientDB type `type` (upper case, one of the property types).
bool type_accepts(std::string_view type, const boost::json::value& v);
bool valid_type(std::string_view type);

// Schema operations, as apply() calls them: the result, and `applied` (the
// change log's copy of the op) when it succeeded. A failure changes nothing.
op_result apply_create_index(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied);
op_result apply_drop_index(batch_context& ctx, const op& o, op& applied);
op_result apply_create_property(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied);
op_result apply_drop_class(rocksdb::DB* db, batch_context& ctx, const op& o, op& applied);

// The key text OrientDB shows in a duplicate-key message: a string as it is,
// other scalars as JSON, a composite key as "[a, b]".
std::string key_text(const std::vector<boost::json::value>& values);

}  // namespace troupe::storage::indexing
