// Internal to src/storage: the in-memory metadata (meta_state) and the state
// of one write batch (batch_context), shared by database.cpp and index.cpp.
#pragma once

#include <rocksdb/write_batch.h>

#include <cassert>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/storage/codec.hpp"
#include "src/storage/database.hpp"

namespace troupe::storage {

struct meta_state {
  std::map<int32_t, cluster_info> clusters;  // by id
  std::map<std::string, class_info> classes;  // by lower-case name
  std::map<std::string, codec::index_def> indexes;  // by lower-case index name
  std::map<std::string, property_info> properties;  // by codec::property_meta_key(class, name)
  uint64_t next_index_id = 1;  // ids are never reused (see codec::index_def)
  uint64_t last_lsn = 0;
  uint64_t last_seq = 0;     // last committed staged entry (replication)
  uint64_t last_staged = 0;  // highest staged seq still pending (0: none)
  uint64_t promised_epoch = 0;  // replication: the highest owner epoch this node promised to follow
  uint64_t last_committed_entry = 0;  // check() only: the highest 'Q' key seen

  const cluster_info* cluster_named(std::string_view name) const {
    auto low = codec::lower(name);
    for (auto& [id, c] : clusters)
      if (codec::lower(c.name) == low) return &c;
    return nullptr;
  }
  const class_info* class_named(std::string_view name) const {
    auto it = classes.find(codec::lower(name));
    return it == classes.end() ? nullptr : &it->second;
  }
  // Lower-case names of `name` and its superclasses, the class first. The
  // walk stops after as many steps as there are classes, so damaged metadata
  // with a cycle cannot loop forever.
  std::vector<std::string> lineage(std::string_view name) const {
    std::vector<std::string> out;
    auto* c = class_named(name);
    while (c != nullptr && out.size() <= classes.size()) {
      out.push_back(codec::lower(c->name));
      c = c->superclass.empty() ? nullptr : class_named(c->superclass);
    }
    return out;
  }
  // Whether a record of class `record_class` belongs to class `cls` (is it or a subclass).
  bool is_a(std::string_view record_class, std::string_view cls) const {
    auto low = codec::lower(cls);
    for (auto& l : lineage(record_class))
      if (l == low) return true;
    return false;
  }
  // The indexes that cover records of `cls`: those on it or a superclass.
  std::vector<const codec::index_def*> covering_indexes(std::string_view cls) const {
    std::vector<const codec::index_def*> out;
    if (indexes.empty()) return out;
    auto line = lineage(cls);
    for (auto& [low, d] : indexes)
      for (auto& l : line)
        if (codec::lower(d.info.class_name) == l) out.push_back(&d);
    return out;
  }
  // The properties that constrain records of `cls`: its own, then its
  // superclasses', nearest first.
  std::vector<const property_info*> properties_of(std::string_view cls) const {
    std::vector<const property_info*> out;
    if (properties.empty()) return out;
    for (auto& l : lineage(cls)) {
      std::string from = std::string(codec::meta_property_prefix) + l + '/';
      for (auto it = properties.lower_bound(from); it != properties.end() && it->first.starts_with(from); ++it)
        out.push_back(&it->second);
    }
    return out;
  }
};

// The state of one apply() call: a private copy of the metadata plus what
// this batch has written so far (records and index entries), so each op sees
// the earlier ones.
//
// All-or-nothing groups (one staged entry): begin_group() takes a RocksDB
// save point, copies the metadata and starts journaling the overlays;
// rollback_group() restores all three. The touched sets are not rolled back:
// what they cause at the end of the batch is derived from `next` (a touched
// key is written from the restored state, or deleted if absent from it), so a
// stale member only rewrites a value as it already is on disk.
struct batch_context {
  meta_state next;
  std::map<rid, std::optional<record>> records;  // nullopt = removed in this batch
  std::map<std::string, std::optional<std::string>> index_entries;  // key -> value; nullopt = deleted
  std::set<int32_t> clusters_touched;
  std::set<std::string> classes_touched;  // lower-case names; written if present in next, else deleted
  std::set<std::string> indexes_touched;  // lower-case index names, likewise
  std::set<std::string> properties_touched;  // property meta keys, likewise
  rocksdb::WriteBatch wb;

  void set_record(const rid& id, std::optional<record> r) {
    if (grouping_) {
      auto it = records.find(id);
      std::optional<std::optional<record>> was;  // spelled out: CTAD would collapse the two levels
      if (it != records.end()) was.emplace(it->second);
      record_undo_.emplace_back(id, std::move(was));
    }
    records[id] = std::move(r);
  }
  // Writes (or deletes, for nullopt) an index entry into the batch and the overlay.
  void set_entry(const std::string& key, std::optional<std::string> value) {
    if (grouping_) {
      auto it = index_entries.find(key);
      std::optional<std::optional<std::string>> was;
      if (it != index_entries.end()) was.emplace(it->second);
      entry_undo_.emplace_back(key, std::move(was));
    }
    if (value)
      wb.Put(key, *value);
    else
      wb.Delete(key);
    index_entries[key] = std::move(value);
  }

  void begin_group() {
    assert(!grouping_);
    wb.SetSavePoint();
    saved_ = next;
    grouping_ = true;
  }
  void end_group() {
    assert(grouping_);
    auto st = wb.PopSavePoint();
    assert(st.ok());
    (void)st;
    clear_group();
  }
  void rollback_group() {
    assert(grouping_);
    auto st = wb.RollbackToSavePoint();
    assert(st.ok());
    (void)st;
    next = std::move(saved_);
    // Newest first, so a key changed twice gets its oldest value back.
    for (auto it = record_undo_.rbegin(); it != record_undo_.rend(); ++it) {
      if (it->second)
        records[it->first] = std::move(*it->second);
      else
        records.erase(it->first);
    }
    for (auto it = entry_undo_.rbegin(); it != entry_undo_.rend(); ++it) {
      if (it->second)
        index_entries[it->first] = std::move(*it->second);
      else
        index_entries.erase(it->first);
    }
    clear_group();
  }

 private:
  void clear_group() {
    grouping_ = false;
    saved_ = meta_state{};
    record_undo_.clear();
    entry_undo_.clear();
  }
  bool grouping_ = false;
  meta_state saved_;
  // (key, what the overlay held before: nullopt = no overlay entry)
  std::vector<std::pair<rid, std::optional<std::optional<record>>>> record_undo_;
  std::vector<std::pair<std::string, std::optional<std::optional<std::string>>>> entry_undo_;
};

inline op_result failure(errc code, std::string message) {
  assert(code != errc::ok);
  op_result r;
  r.code = code;
  r.message = std::move(message);
  return r;
}

}  // namespace troupe::storage
