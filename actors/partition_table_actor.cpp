#include "actors/partition_table_actor.hpp"

#include "src/util/strings.hpp"

namespace troupe {

namespace {

struct partition_table_state {
  std::shared_ptr<cluster_directory> directory;
  logger* log = nullptr;
  partition_entries table;
};

partition_table_actor::behavior_type partition_table_impl(
    partition_table_actor::stateful_pointer<partition_table_state> self, std::shared_ptr<cluster_directory> directory,
    logger* log) {
  self->state.directory = std::move(directory);
  self->state.log = log;
  return {
      [self](repart_atom, const cluster_state& s, const std::vector<std::string>& suspected) {
        auto& st = self->state;
        std::vector<std::pair<std::string, db_config>> cfgs;
        for (auto& c : s.configs) {
          auto parsed = parse_db_config(c.json, c.db);
          if (parsed) cfgs.emplace_back(c.db, std::move(*parsed));
        }
        auto table = compute_partition_table(cfgs, s.view, std::set<std::string>(suspected.begin(), suspected.end()));
        bool same = table == st.table;
        st.table = std::move(table);
        st.directory->set_partitions(st.table);
        if (same) return;
        std::string owners;
        for (auto& e : st.table)
          owners += cat(owners.empty() ? "" : ", ", e.database, ".", e.cluster, ".", e.partition, "=",
                        e.owner.empty() ? "(none online)" : e.owner);
        st.log->info("PartitionService", cat("Re-partitioning cluster data... owners: ", owners));
      },
      [self](status_atom) -> partition_entries { return self->state.table; },
      [self](inspect_atom) -> actor_summary {
        auto& st = self->state;
        std::string rows;
        size_t unowned = 0;
        for (auto& e : st.table) {
          unowned += e.owner.empty();
          rows += cat(rows.empty() ? "" : ",", "{\"database\":", json_quote(e.database), ",\"cluster\":",
                      json_quote(e.cluster), ",\"partition\":", e.partition, ",\"replicas\":", json_list(e.replicas),
                      ",\"owner\":", json_quote(e.owner), "}");
        }
        return actor_summary{"partitions", self->id(), self->mailbox().size(),
                             cat(st.table.size(), " partition(s), ", unowned, " without an online owner"),
                             cat("{\"partitions\":[", rows, "]}")};
      },
  };
}

}  // namespace

partition_table_actor spawn_partition_table_actor(caf::actor_system& sys, std::shared_ptr<cluster_directory> directory,
                                                  logger* log) {
  return sys.spawn(partition_table_impl, std::move(directory), log);
}

}  // namespace troupe
