// node: the composition root. One node is one CAF actor system; this class
// builds the system from validated settings, spawns the node's actors and
// stops them. A test may create several nodes in one process, each with its
// own home and ports.
//
// This header includes no CAF on purpose: dserver's main and most tests stay
// cheap to compile (CAF-NOTES §1).
#pragma once

#include "src/storage/database.hpp"

#include <chrono>
#include <memory>

#include "src/cluster/cluster_model.hpp"
#include "src/deploy/progress.hpp"
#include "src/server/node_info.hpp"
#include "src/server/startup.hpp"
#include "src/util/log.hpp"
#include "src/util/result.hpp"

namespace troupe {

struct node_options {
  server_settings settings;
  logger* log = nullptr;       // REQUIRED, outlives the node
  int scheduler_threads = 2;   // CAF workers; the machine has 2 cores (CAF-NOTES §7.7)
  int http_threads = 2;        // Asio threads of the REST listener
  bool create_demo = true;     // create GratefulDeadConcerts when databases/ is empty
  bool sync_writes = true;     // fsync every write batch (false only in benchmarks)
  int deploy_compress_level = 1;           // zstd level for deploys (0: raw)
  int64_t test_corrupt_deploy_chunk = -1;  // test seam: see cluster_options
  std::chrono::milliseconds test_deploy_chunk_delay{0};  // test seam: see cluster_options
  uint64_t test_deploy_disk_limit = 0;                   // test seam: see cluster_options
  // Publish the console's admin endpoint (actors/admin_actor.hpp) on the first
  // free port of the binary listener's range. dserver sets it; tests that do not
  // need a console leave it off so that they never bind the binary ports.
  bool admin_endpoint = false;
  // A replicated write whose quorum has not answered within this fails (503).
  std::chrono::milliseconds write_timeout{5000};
  // Committed entries the replication log keeps (storage::open_options::log_keep);
  // tests lower it to reach a replica behind the log without 100k writes.
  uint64_t repl_log_keep = storage::committed_entries_kept;
};


class node {
 public:
  explicit node(node_options opts);
  ~node();  // stops the node if it still runs
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // Builds the actor system and spawns the actors; the node is ONLINE after.
  status start();

  // Announces SHUTTINGDOWN (and, in a cluster, leaves it), stops every actor and
  // waits for them. Idempotent.
  void stop(bool graceful = true);
  // Stops without telling anyone: the other nodes see the connections drop, as
  // in a crash (for tests).
  void kill();

  // Test seam: the open database `name` (nullptr if none), to damage a copy
  // behind replication's back (anti-entropy tests).
  std::shared_ptr<storage::database> test_database(const std::string& name) const;

  // The cluster actor's state (view, configurations). Error when not distributed.
  result<cluster_state> cluster(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  uint16_t cluster_port() const;

  // The server actor's view. REQUIRES: started.
  result<node_info> info(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Deploys under way on this node, and the last ones that finished.
  std::vector<deploy::progress> deploys() const;
  std::vector<deploy::progress> recent_deploys() const;

  // The port the REST API listens on; 0 before start().
  uint16_t http_port() const;
  // The port of the console's admin endpoint; 0 when not published.
  uint16_t admin_port() const;

  const server_settings& settings() const;

 private:
  status start_impl();
  status create_demo();
  status demo_for_cluster();
  status start_cluster();
  status start_admin();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe
