// Deploy planning as plain code: which databases this node asks the cluster
// for, from whom, and when it tries again after a failure. The placement actor
// (actors/placement_actor) starts the transfers; the rules are here, with their
// table tests (test/cluster/deploy_plan_test.cpp).
//
// Rules:
//   - A database with autoDeploy that the cluster has and this node lacks
//     (not open here, and no folder of that name on disk: a folder that is
//     not open is not ours to replace) is asked for, one transfer per
//     database at a time, not while this node leaves.
//   - The source is the first member in join order, other than this node,
//     that is ONLINE, connected, and holds the database ONLINE (a member
//     still receiving it, SYNCHRONIZING, is no source).
//   - After a failed attempt the next waits 500 ms << failures (at most
//     2^8 steps), capped at deploy_backoff_max_ms; a success forgets the
//     failures. A transfer whose source is lost fails at once (deploy_book::from).
//   - A redeploy (a copy held here is behind the owner's replication log) starts
//     only when no transfer of that database is under way and none failed
//     within its back-off.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/cluster/cluster_model.hpp"

namespace troupe {

inline constexpr int64_t deploy_backoff_max_ms = 30'000;

struct deploy_retry {
  int failures = 0;
  int64_t not_before_ms = 0;
};

// The wait before the next attempt after `failures` failed ones.
int64_t deploy_backoff_ms(int failures);

// The member to ask for `db` ("" when none can send it now).
std::string deploy_source(const cluster_view& view, const std::string& me, const std::set<std::string>& connected,
                          const std::string& db);

struct deploy_inputs {
  const std::map<std::string, db_config>* configs = nullptr;  // the cluster's
  const cluster_view* view = nullptr;
  std::string me;
  std::set<std::string> connected;  // members with a live connection
  std::set<std::string> deploying;  // databases being received now
  std::set<std::string> open;       // databases open here
  std::set<std::string> on_disk;    // database folders here, open or not
  const std::map<std::string, deploy_retry>* retries = nullptr;
  int64_t now_ms = 0;
  bool leaving = false;
};

// The transfers to start now: (database, source member).
std::vector<std::pair<std::string, std::string>> plan_deploys(const deploy_inputs& in);

// The transfers this node receives, one per database, and the failures it
// backs off from. Attempts are numbered: the end of an older attempt of the
// same database (a late answer) changes nothing.
class deploy_book {
 public:
  struct attempt {
    uint64_t id = 0;
    std::string source;    // the member sending it
    bool replace = false;  // a redeploy: the copy held here stays open until the new one is in place
  };
  struct failure {
    std::string source;
    bool replace = false;
    int64_t retry_in_ms = 0;  // the back-off before the next attempt
  };
  // A transfer of `db` from `source` starts; its id.
  uint64_t begin(const std::string& db, const std::string& source, bool replace);
  // Attempt `id` of `db` succeeded: its failures are forgotten. False: not the current attempt.
  bool done(const std::string& db, uint64_t id);
  // Attempt `id` of `db` failed at `now_ms`. nullopt: not the current attempt (handled already).
  std::optional<failure> failed(const std::string& db, uint64_t id, int64_t now_ms);
  // The current attempts whose source is `member`, as (database, id).
  std::vector<std::pair<std::string, uint64_t>> from(const std::string& member) const;
  // Whether a redeploy of `db` may start now.
  bool may_redeploy(const std::string& db, int64_t now_ms) const;
  const std::map<std::string, attempt>& attempts() const { return attempts_; }
  const std::map<std::string, deploy_retry>& retries() const { return retries_; }

 private:
  uint64_t counter_ = 0;
  std::map<std::string, attempt> attempts_;       // by database
  std::map<std::string, deploy_retry> retries_;   // by database, after a failure
};

}  // namespace troupe
