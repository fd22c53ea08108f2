#include "src/cluster/deploy_plan.hpp"

#include <algorithm>

namespace troupe {

int64_t deploy_backoff_ms(int failures) {
  return std::min<int64_t>(int64_t{500} << std::clamp(failures, 0, 8), deploy_backoff_max_ms);
}

std::string deploy_source(const cluster_view& view, const std::string& me, const std::set<std::string>& connected,
                          const std::string& db) {
  for (auto& m : view.members) {
    if (m.name == me || m.status != node_online || !connected.count(m.name)) continue;
    if (std::find(m.databases.begin(), m.databases.end(), db) == m.databases.end()) continue;
    if (auto ds = m.db_status.find(db); ds != m.db_status.end() && ds->second != db_online) continue;
    return m.name;
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> plan_deploys(const deploy_inputs& in) {
  std::vector<std::pair<std::string, std::string>> out;
  if (in.leaving || in.configs == nullptr || in.view == nullptr) return out;
  for (auto& [db, cfg] : *in.configs) {
    if (!cfg.auto_deploy || in.deploying.count(db) || in.open.count(db) || in.on_disk.count(db)) continue;
    if (in.retries != nullptr)
      if (auto r = in.retries->find(db); r != in.retries->end() && in.now_ms < r->second.not_before_ms) continue;
    auto source = deploy_source(*in.view, in.me, in.connected, db);
    if (!source.empty()) out.emplace_back(db, source);
  }
  return out;
}

}  // namespace troupe
