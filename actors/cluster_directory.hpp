// cluster_directory: the cluster's latest state as this node sees it, readable
// from any thread (the REST layer's GET /distributed/* read it without asking an
// actor). The placement actor writes the membership's part and the read
// quorums, the partition-table actor the partitions, the relay actor its address.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "actors/protocol.hpp"

namespace troupe {

struct cluster_snapshot {
  std::string local_name;
  std::string local_node_id;
  cluster_state state;
  std::vector<partition_entry> partitions;
};

class cluster_directory {
 public:
  cluster_snapshot get() const {
    std::lock_guard<std::mutex> g(mtx_);
    return snap_;
  }
  // The placement actor's part (everything but the partitions).
  void set(cluster_snapshot s) {
    std::lock_guard<std::mutex> g(mtx_);
    s.partitions = std::move(snap_.partitions);
    snap_ = std::move(s);
  }
  // Each database's read quorum, resolved against its servers (1 when unknown).
  uint32_t read_quorum(const std::string& db) const {
    std::lock_guard<std::mutex> g(mtx_);
    auto i = read_quorums_.find(db);
    return i == read_quorums_.end() ? 1 : i->second;
  }
  void set_read_quorums(std::map<std::string, uint32_t> q) {
    std::lock_guard<std::mutex> g(mtx_);
    read_quorums_ = std::move(q);
  }
  // The relay actor, for quorum reads (weak: the directory outlives it).
  caf::actor_addr actor() const {
    std::lock_guard<std::mutex> g(mtx_);
    return actor_;
  }
  void set_actor(caf::actor_addr a) {
    std::lock_guard<std::mutex> g(mtx_);
    actor_ = std::move(a);
  }
  // The partition-table actor's part.
  void set_partitions(std::vector<partition_entry> p) {
    std::lock_guard<std::mutex> g(mtx_);
    snap_.partitions = std::move(p);
  }

 private:
  mutable std::mutex mtx_;
  cluster_snapshot snap_;
  std::map<std::string, uint32_t> read_quorums_;
  caf::actor_addr actor_;
};

}  // namespace troupe
