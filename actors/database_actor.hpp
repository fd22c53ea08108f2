// database_actor: the one writer of one open database.
//
// Contract
//   owns:       the write side of a storage::database (shared with readers, who
//               call its const functions directly and never wait behind writes)
//   receives:   (write_atom, ops) from the REST layer (later: the replicator)
//   batching:   every write arriving while earlier ones wait in the mailbox is
//               committed in the same storage batch (one WAL fsync): a write
//               schedules a flush message behind itself, so the flush runs after
//               everything queued up to then. A batch holds at most
//               max_batch_ops operations; a larger backlog is committed in
//               several batches.
//   replies:    each write request gets its op_results only after the batch that
//               holds it is durable; nothing is acknowledged earlier.
//   threads:    spawned detached: fsync blocks this actor's own thread, never one
//               of CAF's scheduler workers.
//   on exit:    the exit handler commits the pending batch and answers it before
//               the actor quits; requests arriving later are not served (their
//               requesters see the actor down).
#pragma once

#include <memory>

#include "actors/protocol.hpp"
#include "src/storage/database.hpp"
#include "src/util/log.hpp"

namespace troupe {

inline constexpr size_t max_batch_ops = 4096;

database_actor spawn_database_actor(caf::actor_system& sys, std::string name,
                                    std::shared_ptr<storage::database> db, logger* log);

}  // namespace troupe
