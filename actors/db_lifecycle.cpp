#include "actors/db_lifecycle.hpp"

#include <chrono>
#include <thread>

#include "src/util/strings.hpp"

namespace troupe {

std::optional<lifecycle_error> claim_build_announce(caf::actor_system& sys, const databases_actor& databases,
                                                    logger* log, const std::string& db,
                                                    const std::function<std::optional<lifecycle_error>()>& build) {
  caf::scoped_actor s{sys};
  std::optional<lifecycle_error> failed;
  auto fail = [&](caf::error& e) { failed = lifecycle_error{e, 500, {}}; };
  s->request(databases, std::chrono::seconds(15), dbcreate_atom::value, db).receive([](bool) {}, fail);
  if (failed) return failed;
  if (auto bad = build()) {
    s->request(databases, std::chrono::seconds(15), drop_atom::value, db).receive([](bool) {}, [](caf::error&) {});
    return bad;
  }
  s->request(databases, std::chrono::seconds(60), add_db_atom::value, db).receive([](bool) {}, fail);
  if (failed) return failed;
  if (log) log->info("OServer", cat("database '", db, "' restored or imported here: it is the cluster's"));
  return std::nullopt;
}

std::optional<lifecycle_error> catch_up_to_owner(caf::actor_system& sys, const cluster_directory* cluster,
                                                 const std::string& db, const storage::database& live) {
  if (cluster == nullptr) return std::nullopt;
  auto snap = cluster->get();
  std::string owner;
  for (auto& p : snap.partitions)
    if (p.database == db && p.cluster == "*") owner = p.owner;
  if (owner.empty() || owner == snap.local_name) return std::nullopt;
  auto relay = caf::actor_cast<caf::actor>(cluster->actor());
  if (!relay) return std::nullopt;
  caf::scoped_actor s{sys};
  std::optional<uint64_t> target;
  std::string why;
  s->request(relay, std::chrono::seconds(10), fetch_atom::value, owner, db, live.last_committed_seq())
      .receive([&](const replication::fetch_msg& m) { target = m.commit_seq; },
               [&](caf::error& e) { why = error_text(sys, e); });
  if (!target)
    return lifecycle_error{std::nullopt, 503,
                           cat("cannot learn the commit point of the owner '", owner, "' of ", db, ": ", why,
                               "; no backup was taken")};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (live.last_committed_seq() < *target) {  // bounded: a condition, not a fixed sleep
    if (std::chrono::steady_clock::now() >= deadline)
      return lifecycle_error{std::nullopt, 503,
                             cat("this node's copy of ", db, " did not reach the owner's commit point ", *target,
                                 " (at ", live.last_committed_seq(), ") within 30 s; no backup was taken: "
                                 "back it up on the owner '", owner, "'")};
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

}  // namespace troupe
