// db_directory: the node's open databases by name, readable from any thread.
//
// The databases actor is its only writer; the REST layer looks databases up
// here on its own threads, so a lookup never waits for an actor. Entries are
// shared: a reader that found a database keeps it usable (the storage object
// stays open) even if the database is dropped meanwhile.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/protocol.hpp"

namespace troupe {

struct db_entry {
  std::shared_ptr<storage::database> db;
  database_actor writer;
};

class db_directory {
 public:
  std::optional<db_entry> find(const std::string& name) const {
    std::lock_guard<std::mutex> g(mtx_);
    auto i = map_.find(name);
    if (i == map_.end()) return std::nullopt;
    return i->second;
  }
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> g(mtx_);
    std::vector<std::string> out;
    for (auto& [k, v] : map_) out.push_back(k);
    return out;
  }
  void put(const std::string& name, db_entry e) {
    std::lock_guard<std::mutex> g(mtx_);
    map_[name] = std::move(e);
  }
  void erase(const std::string& name) {
    std::lock_guard<std::mutex> g(mtx_);
    map_.erase(name);
  }
  void clear() {
    std::lock_guard<std::mutex> g(mtx_);
    map_.clear();
  }

 private:
  mutable std::mutex mtx_;
  std::map<std::string, db_entry> map_;
};

}  // namespace troupe
