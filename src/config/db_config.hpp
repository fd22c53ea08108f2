// A database's distributed configuration: config/default-distributed-db-config.json
// and databases/<db>/distributed-config.json (same shape, the latter with
// "version"). Meanings are OrientDB 1.6's, with 2.2's "majority"/"all" quorums
// added; see docs/distributed-config.md.
//
// Parsing validates every field troupe uses and reports the first problem with
// the file, the line (for syntax errors) or JSON path, and what is wrong.
// Unknown keys are kept out of the struct and reported in `notices`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/util/result.hpp"

namespace troupe {

inline constexpr const char* new_node_tag = "<NEW_NODE>";

struct quorum {
  enum class kind { count, majority, all };
  kind k = kind::count;
  int count = 1;  // for kind::count, >= 1

  // How many acknowledgements are needed with `n` configured replicas.
  int resolve(int n) const;
  std::string to_string() const;
  friend bool operator==(const quorum&, const quorum&) = default;
};

struct partitioning_config {
  std::string strategy = "round-robin";
  int default_partition = 0;
  std::vector<std::vector<std::string>> partitions;  // each: a replica set of node names
  friend bool operator==(const partitioning_config&, const partitioning_config&) = default;
};

// Per-cluster settings; unset fields fall back to the "*" entry, then to the
// database-level value, then to the built-in default.
struct cluster_config {
  std::optional<bool> replication;
  std::optional<quorum> read_quorum;
  std::optional<quorum> write_quorum;
  std::optional<bool> failure_available_nodes_less_quorum;
  std::optional<bool> read_your_writes;
  std::optional<partitioning_config> partitioning;
  friend bool operator==(const cluster_config&, const cluster_config&) = default;
};

struct db_config {
  bool replication = true;
  bool auto_deploy = true;
  bool hot_alignment = true;
  int resync_every_s = 15;  // 0: off
  std::vector<std::pair<std::string, cluster_config>> clusters;  // file order, "*" required
  int64_t version = 0;  // 0: never persisted from the cluster (the default file has none)
  std::vector<std::string> notices;

  const cluster_config* find_cluster(std::string_view name) const;
  // The effective settings for a cluster: exact name, else "*".
  const cluster_config& effective(std::string_view cluster) const;

  friend bool operator==(const db_config& a, const db_config& b) {
    return a.replication == b.replication && a.auto_deploy == b.auto_deploy && a.hot_alignment == b.hot_alignment &&
           a.resync_every_s == b.resync_every_s && a.clusters == b.clusters && a.version == b.version;
  }
};

// A database name: 1-128 characters of [A-Za-z0-9_-], not starting with '-'.
// Names become paths and travel between nodes: check them where they enter.
bool valid_database_name(std::string_view s);

result<db_config> parse_db_config(std::string_view json, const std::filesystem::path& path);
result<db_config> load_db_config(const std::filesystem::path& path);

// Pretty JSON, two-space indent, keys in OrientDB's order; "version" last when > 0.
std::string to_json(const db_config& c);

}  // namespace troupe
