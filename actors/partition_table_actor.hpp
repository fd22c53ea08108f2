// partition_table_actor: for every database and cluster, the replica set and
// the owner (the first replica that serves the database: serves_database in
// src/cluster/cluster_model.hpp, the rule replication's owner follows).
//
// Contract
//   owns:       the partition table (published in the cluster_directory for REST
//               and, later, for routing writes)
//   receives:   (repart_atom, state, suspected) from the placement actor after every
//               change of the view, a configuration or a suspicion; recomputes and, when the table
//               changed, logs "Re-partitioning cluster data..." with the owners
//   answers:    (status_atom) with the current table
//   threads:    event-based (pure computation)
#pragma once

#include <memory>

#include "actors/cluster_directory.hpp"
#include "actors/protocol.hpp"
#include "src/util/log.hpp"

namespace troupe {

partition_table_actor spawn_partition_table_actor(caf::actor_system& sys, std::shared_ptr<cluster_directory> directory,
                                                  logger* log);

}  // namespace troupe
