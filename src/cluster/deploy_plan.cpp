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

uint64_t deploy_book::begin(const std::string& db, const std::string& source, bool replace) {
  auto id = ++counter_;
  attempts_[db] = attempt{id, source, replace};
  return id;
}

bool deploy_book::done(const std::string& db, uint64_t id) {
  auto it = attempts_.find(db);
  if (it == attempts_.end() || it->second.id != id) return false;
  attempts_.erase(it);
  retries_.erase(db);
  return true;
}

std::optional<deploy_book::failure> deploy_book::failed(const std::string& db, uint64_t id, int64_t now_ms) {
  auto it = attempts_.find(db);
  if (it == attempts_.end() || it->second.id != id) return std::nullopt;
  failure f{it->second.source, it->second.replace, 0};
  attempts_.erase(it);
  auto& r = retries_[db];
  r.failures += 1;
  f.retry_in_ms = deploy_backoff_ms(r.failures);
  r.not_before_ms = now_ms + f.retry_in_ms;
  return f;
}

std::vector<std::pair<std::string, uint64_t>> deploy_book::from(const std::string& member) const {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (auto& [db, a] : attempts_)
    if (a.source == member) out.emplace_back(db, a.id);
  return out;
}

bool deploy_book::may_redeploy(const std::string& db, int64_t now_ms) const {
  if (attempts_.count(db)) return false;
  auto r = retries_.find(db);
  return r == retries_.end() || now_ms >= r->second.not_before_ms;
}

}  // namespace troupe
