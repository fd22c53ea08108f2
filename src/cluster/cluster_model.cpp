#include "src/cluster/cluster_model.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <random>
#include <tuple>

#include "src/util/strings.hpp"

namespace troupe {

std::string member_info::shown_status(const std::string& db) const {
  auto it = db_status.find(db);
  if (it == db_status.end()) return "";
  if (it->second == db_online && std::find(catching_up.begin(), catching_up.end(), db) != catching_up.end())
    return db_synchronizing;
  return it->second;
}

std::string member_info::member_id() const { return cat("Member [", cluster_host, "]:", cluster_port); }

const member_info* cluster_view::find(std::string_view name) const {
  for (auto& m : members)
    if (m.name == name) return &m;
  return nullptr;
}

member_info* cluster_view::find(std::string_view name) {
  for (auto& m : members)
    if (m.name == name) return &m;
  return nullptr;
}

const member_info* cluster_view::leader(const std::set<std::string>& suspected) const {
  const member_info* best = nullptr;
  for (auto& m : members)
    if (suspected.count(m.name) == 0 && (best == nullptr || std::tie(m.started_on_ms, m.name) < std::tie(best->started_on_ms, best->name))) best = &m;
  return best;
}

bool serves_database(const cluster_view& view, const std::set<std::string>& suspected, const std::string& node,
                     const std::string& db) {
  if (suspected.count(node)) return false;
  auto* m = view.find(node);
  if (m == nullptr || m->status != node_online) return false;
  auto st = m->db_status.find(db);
  return st != m->db_status.end() && st->second == db_online;
}

bool add_node_to_partitions(db_config& c, const std::string& node, std::vector<std::string>* added) {
  bool changed = false;
  for (auto& [cluster, cc] : c.clusters) {
    if (!cc.partitioning) continue;
    int index = 0;
    for (auto& part : cc.partitioning->partitions) {
      bool has_tag = std::find(part.begin(), part.end(), new_node_tag) != part.end();
      bool has_node = std::find(part.begin(), part.end(), node) != part.end();
      if (has_tag && !has_node) {
        part.push_back(node);
        changed = true;
        if (added) added->push_back(cat(cluster, ".", index));
      }
      ++index;
    }
  }
  return changed;
}

bool remove_node_from_partitions(db_config& c, const std::string& node, const std::set<std::string>& agree,
                                 std::vector<std::string>* removed, std::vector<std::string>* kept) {
  bool changed = false;
  for (auto& [cluster, cc] : c.clusters) {
    if (!cc.partitioning) continue;
    int index = 0;
    for (auto& part : cc.partitioning->partitions) {
      auto i = std::find(part.begin(), part.end(), node);
      if (i != part.end()) {
        std::set<std::string> servers;
        for (auto& n : part)
          if (n != new_node_tag) servers.insert(n);
        size_t agreeing = 0;
        for (auto& n : servers) agreeing += agree.count(n) > 0;
        if (2 * agreeing > servers.size()) {
          part.erase(i);
          changed = true;
          if (removed) removed->push_back(cat(cluster, ".", index));
        } else if (kept) {
          kept->push_back(cat(cluster, ".", index));
        }
      }
      ++index;
    }
  }
  return changed;
}

std::vector<partition_entry> compute_partition_table(const std::vector<std::pair<std::string, db_config>>& configs,
                                                     const cluster_view& view,
                                                     const std::set<std::string>& suspected) {
  std::vector<partition_entry> out;
  for (auto& [db, cfg] : configs) {
    for (auto& [cluster, cc] : cfg.clusters) {
      if (!cc.partitioning || !cc.replication.value_or(cfg.replication)) continue;
      int index = 0;
      for (auto& part : cc.partitioning->partitions) {
        partition_entry e;
        e.database = db;
        e.cluster = cluster;
        e.partition = index++;
        for (auto& n : part)
          if (n != new_node_tag && std::find(e.replicas.begin(), e.replicas.end(), n) == e.replicas.end())
            e.replicas.push_back(n);
        for (auto& n : e.replicas) {
          if (serves_database(view, suspected, n, db)) {
            e.owner = n;
            break;
          }
        }
        out.push_back(std::move(e));
      }
    }
  }
  return out;
}

namespace {

std::string to_hex(const unsigned char* data, size_t n) { return hex(std::string_view(reinterpret_cast<const char*>(data), n)); }

}  // namespace

std::string hmac_proof(const std::string& password, const std::vector<std::string>& parts) {
  std::string msg;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) msg += '\n';
    msg += parts[i];
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), password.data(), static_cast<int>(password.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), out, &len);
  return to_hex(out, len);
}

std::string random_nonce() {
  unsigned char buf[32];
  if (RAND_bytes(buf, sizeof buf) != 1) {
    // RAND_bytes only fails without an entropy source; fall back to the OS device.
    std::random_device rd;
    for (auto& b : buf) b = static_cast<unsigned char>(rd());
  }
  return to_hex(buf, sizeof buf);
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace troupe
