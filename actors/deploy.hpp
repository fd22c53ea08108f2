// Database deploy: a consistent copy of a database streamed from a member to a
// node that lacks it (autoDeploy), as chunked CAF messages with bounded memory.
//
// Both actors are event-based, not detached, though they touch files (a 1 MiB
// read or write per message, a checkpoint of hard links, one fsync at the
// end): with detached ones, a node killed while chunks were in flight
// sometimes left CAF holding the actor object, and ~actor_system then waited
// for its thread forever (seen in the kill tests, 1 run in 8).
//
// Sender (one per outgoing transfer)
//   (deploy_atom) -> bool   takes a checkpoint (and the LSN it stands at),
//                           streams it to the receiver with at most
//                           deploy_chunks_in_flight unacknowledged chunks, then
//                           sends the manifest; answers true once the receiver
//                           reports the database ONLINE. The checkpoint folder is
//                           removed in every case.
// Receiver (one per incoming transfer)
//   writes into databases/<db>.installing, verifies every chunk and the whole,
//   renames into place, asks the databases actor to open it (a redeploy: to
//   swap it for the copy open now, see deploy_receiver_options::replace),
//   catches up with
//   the changes the sender logged after the snapshot, and only then answers the
//   manifest with true (and tells the placement actor). If anything fails, the
//   .installing folder is removed and the error answered; the joiner's
//   placement actor retries from another member. If the receiver is killed (the sender
//   was lost, the node stops), its installer's destructor removes the folder.
// Both sides register on the node's progress board while they run and log a
// progress line at most every deploy::progress_log_interval.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/deploy/progress.hpp"
#include "src/util/log.hpp"

namespace troupe {

inline constexpr size_t deploy_chunks_in_flight = 4;
inline constexpr uint32_t deploy_chunk_bytes = 1u << 20;
inline constexpr std::chrono::seconds deploy_chunk_timeout{60};
inline constexpr size_t deploy_catch_up_batch = 1000;

// (tick_atom): internal, the end of a test-seam pause.
using deploy_sender_actor = caf::typed_actor<caf::replies_to<deploy_atom>::with<bool>, caf::reacts_to<tick_atom>>;

struct deploy_sender_options {
  std::string db;
  std::shared_ptr<storage::database> storage;
  std::filesystem::path scratch;  // where the checkpoint is taken (must not exist)
  deploy_receiver_actor receiver;
  std::string local_name, peer_name;
  int compress_level = 1;
  std::shared_ptr<deploy::progress_board> board;  // REQUIRED: progress for REST and the console
  // Test seam: flip one byte of chunk `corrupt_chunk` after its checksum was
  // taken (-1: never), to prove the receiver notices and the joiner retries.
  int64_t corrupt_chunk = -1;
  // Test seam: at most one chunk per this interval, so that a test can act
  // while a transfer is under way (0: no limit).
  std::chrono::milliseconds chunk_delay{0};
};

deploy_sender_actor spawn_deploy_sender(caf::actor_system& sys, deploy_sender_options opts, logger* log);

struct deploy_receiver_options {
  std::string db;
  std::filesystem::path databases_dir;
  std::shared_ptr<db_directory> directory;
  databases_actor databases;
  placement_actor placement;  // this node's: told when the database is ONLINE (deployed_atom)
  cluster_actor source;  // the sender's cluster actor: chunks come only from its node
  relay_actor relay;     // this node's: the changes after the snapshot are fetched from peer_name through it
  std::string local_name, peer_name;
  std::shared_ptr<deploy::progress_board> board;  // REQUIRED
  uint64_t test_disk_limit = 0;  // test seam: the disk "fills" after this many bytes (0: never)
  // A redeploy: db is open here but behind the sender's replication log. The
  // copy is installed as databases/<db>.installed and swapped in by the
  // databases actor (replace_atom), so the copy held now stays in use until
  // the new one is complete and verified.
  bool replace = false;
};

deploy_receiver_actor spawn_deploy_receiver(caf::actor_system& sys, deploy_receiver_options opts, logger* log);

}  // namespace troupe
