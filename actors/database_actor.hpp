// database_actor: the one writer of one open database, and its replicator.
//
// Contract
//   owns:       the write side of a storage::database (shared with readers, who
//               call its const functions directly and never wait behind writes),
//               and this node's part in the database's replication: owner,
//               replica or taking over, decided by the plain-code core
//               replication::member (src/replication/member.hpp); this actor
//               wires it: it feeds it roles, messages and ticks, and carries out
//               its effects (sends, answers, log lines).
//   role:       the placement actor sends (role_atom, role), in the name of the
//               relay actor (actors/relay_actor.hpp), after every change of
//               view, configuration or suspicion: the configured servers, which of
//               them are online, the write quorum. The owner is the first online
//               server; every node computes the same. A node without a cluster
//               (standalone) is the owner of its databases with quorum 1.
//   writes:     (write_atom, ops) from REST or the console (more than
//               write_ops_max operations: invalid argument), and (fwd_atom, writes)
//               that another node forwarded to this owner through the relay
//               actors (answered together, each with its seq). Refused at once, with
//               outcome "not applied", when fewer servers are online than the
//               quorum (nothing was ordered: the write is visible nowhere; this
//               is how the minority side of a split refuses). On the owner, every
//               write waiting in the mailbox is ordered and staged in one batch
//               (one fsync) and sent to the replicas in one append; it is answered
//               once writeQuorum nodes hold it (then committed). Elsewhere it is
//               forwarded to the owner, and answered when the owner committed it
//               and this node holds it too (readYourWrites; at most 1 s later).
//               No quorum within the timeout: HTTP 503 with outcome "unknown" (the
//               owner discarded it, but a replica may hold it and a later owner
//               may adopt it). Every rule of the intake (routing, batching,
//               forwarding, read-your-writes, what the owner's loss does to
//               waiting writes, the counters) is replication::intake's
//               (src/replication/intake.hpp); this actor maps the intake's tickets
//               to its response promises, REST callbacks and forwarded batches,
//               and sends what the intake decides (flush_atom, notify_atom to
//               itself once the mailbox is drained).
//   takeover:   a node that becomes owner picks an epoch above every one it saw,
//               asks the online servers to promise it and report their tails
//               (replication::replica::promise), and waits for servers -
//               writeQuorum + 1 answers (itself included), so that at least one
//               answer holds every acknowledged write. It adopts the most
//               up-to-date tail (fetching it page by page) and only then orders
//               writes. An old owner's appends are refused by epoch. (All of it
//               is replication::member's; the tail and fetch requests go through
//               the relay actor.)
//   replicas:   apply the owner's appends in order and acknowledge (relayed by
//               the relay actors, actors/relay_actor.hpp, which check membership). A replica behind even the owner's replication log
//               (storage keeps the last log_keep committed entries) refuses to
//               commit over the hole; the owner then tells it so (envelope
//               kind 4, at most once a second), and the replica, if that is the
//               owner it follows in the epoch it promised, asks for a full copy
//               from the owner (redeploy_atom, to the placement actor): installed
//               beside its copy and swapped in by the databases actor. (The
//               pacing and the acceptance are replication::anti_entropy's.)
//   timers:     every replication_tick: expire writes past their deadline,
//               heartbeat appends (commit point, discards), takeover retries;
//               every resyncEvery seconds (owner, no write pending): per-cluster
//               digests to the replicas, which name the clusters that differ and
//               get the owner's records to repair them (anti-entropy: the rules
//               are replication::anti_entropy's, src/replication/anti_entropy.hpp;
//               this actor converts envelopes to its check_msg and back).
//   threads:    spawned detached: fsync blocks this actor's own thread, never one
//               of CAF's scheduler workers.
//   on exit:    answers every request it holds (queued: not applied; ordered but
//               unconfirmed: unknown) before it quits.
#pragma once

#include <chrono>
#include <memory>

#include "actors/protocol.hpp"
#include "src/storage/database.hpp"
#include "src/util/log.hpp"

namespace troupe {

// The intake's bounds (write_ops_max, queued_writes_max, read_your_writes_wait_ms)
// are src/replication/intake.hpp's.
inline constexpr std::chrono::milliseconds replication_tick{100};

struct database_options {
  std::string name;                          // the database
  std::shared_ptr<storage::database> db;
  logger* log = nullptr;
  std::string node_name;                     // this node, as servers lists name it
  bool standalone = true;                    // no cluster: owner of everything, quorum 1
  std::chrono::milliseconds write_timeout{5000};  // a write's quorum must answer within this
  std::chrono::milliseconds command_timeout{30'000};  // planning one SQL write statement (command.timeout; 0: none)
};

database_actor spawn_database_actor(caf::actor_system& sys, database_options opts);

}  // namespace troupe
