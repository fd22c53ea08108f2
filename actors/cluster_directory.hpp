// cluster_directory: the cluster actor's latest state, readable from any thread
// (the REST layer's GET /distributed/* read it without asking an actor).
#pragma once

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
  void set(cluster_snapshot s) {
    std::lock_guard<std::mutex> g(mtx_);
    snap_ = std::move(s);
  }

 private:
  mutable std::mutex mtx_;
  cluster_snapshot snap_;
};

}  // namespace troupe
