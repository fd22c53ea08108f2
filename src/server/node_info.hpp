// What a node says about itself. Plain data: it travels in CAF messages (its
// inspect() is in actors/protocol.hpp) and is shown by REST and the console.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace troupe {

// Node status names are OrientDB's (1.7-2.1 spelling).
inline constexpr const char* node_starting = "STARTING";
inline constexpr const char* node_online = "ONLINE";
inline constexpr const char* node_shutting_down = "SHUTTINGDOWN";
inline constexpr const char* node_offline = "OFFLINE";
// Database status names on a member (OrientDB 1.7-2.1: OFFLINE, SYNCHRONIZING, ONLINE).
inline constexpr const char* db_synchronizing = "SYNCHRONIZING";
inline constexpr const char* db_online = "ONLINE";
inline constexpr const char* db_offline = "OFFLINE";

struct node_info {
  std::string name;
  std::string status = node_starting;
  int64_t started_on_ms = 0;
  std::vector<std::string> databases;
};

}  // namespace troupe
