// What a node says about itself. Plain data: it travels in CAF messages (its
// inspect() is in actors/protocol.hpp) and is shown by REST and the console.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/cluster/cluster_model.hpp"  // the status names

namespace troupe {

struct node_info {
  std::string name;
  std::string status = node_starting;
  int64_t started_on_ms = 0;
  std::vector<std::string> databases;
};

}  // namespace troupe
