// Every message type and typed actor interface of troupe, in one place.
//
// Type names travel on the wire between nodes (CAF-NOTES §7.6): append new
// types, never rename or reorder the fields of existing ones casually, and
// register each one in add_message_types(), which every node calls before its
// actor system is built.
#pragma once

#include <caf/all.hpp>

#include <functional>
#include <memory>
#include <mutex>

#include "src/cluster/cluster_model.hpp"
#include "src/config/password.hpp"
#include "src/console/report.hpp"
#include "src/deploy/progress.hpp"
#include "src/deploy/transfer.hpp"
#include "src/replication/core.hpp"
#include "src/replication/role.hpp"
#include "src/server/node_info.hpp"
#include "src/storage/database.hpp"

namespace troupe {

// --- atoms (at most 10 characters) -------------------------------------------
using status_atom = caf::atom_constant<caf::atom("status")>;
using set_status_atom = caf::atom_constant<caf::atom("setstatus")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using flush_atom = caf::atom_constant<caf::atom("flush")>;
using create_atom = caf::atom_constant<caf::atom("create")>;
using drop_atom = caf::atom_constant<caf::atom("drop")>;
using list_atom = caf::atom_constant<caf::atom("list")>;
using hello_atom = caf::atom_constant<caf::atom("hello")>;
using auth_atom = caf::atom_constant<caf::atom("auth")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using view_atom = caf::atom_constant<caf::atom("view")>;
using beat_atom = caf::atom_constant<caf::atom("beat")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using suspect_atom = caf::atom_constant<caf::atom("suspect")>;
using agree_atom = caf::atom_constant<caf::atom("agree")>;
using dissolve_atom = caf::atom_constant<caf::atom("dissolve")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using probe_atom = caf::atom_constant<caf::atom("probe")>;
using init_atom = caf::atom_constant<caf::atom("init")>;
using update_atom = caf::atom_constant<caf::atom("update")>;
using repart_atom = caf::atom_constant<caf::atom("repart")>;
using open_atom = caf::atom_constant<caf::atom("open")>;
using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using chunk_atom = caf::atom_constant<caf::atom("chunk")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using log_atom = caf::atom_constant<caf::atom("log")>;
using deployed_atom = caf::atom_constant<caf::atom("deployed")>;
using add_db_atom = caf::atom_constant<caf::atom("adddb")>;
using dbcreate_atom = caf::atom_constant<caf::atom("dbcreate")>;
using dbdrop_atom = caf::atom_constant<caf::atom("dbdrop")>;
using inspect_atom = caf::atom_constant<caf::atom("inspect")>;
using login_atom = caf::atom_constant<caf::atom("login")>;
using deploys_atom = caf::atom_constant<caf::atom("deploys")>;
using lsn_atom = caf::atom_constant<caf::atom("lsn")>;
using dbs_atom = caf::atom_constant<caf::atom("dbs")>;
using info_atom = caf::atom_constant<caf::atom("info")>;
using load_atom = caf::atom_constant<caf::atom("load")>;
using browse_atom = caf::atom_constant<caf::atom("browse")>;
using role_atom = caf::atom_constant<caf::atom("role")>;
using repl_atom = caf::atom_constant<caf::atom("repl")>;
using relay_atom = caf::atom_constant<caf::atom("relay")>;
using fwd_atom = caf::atom_constant<caf::atom("fwd")>;
using tail_atom = caf::atom_constant<caf::atom("tail")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using notify_atom = caf::atom_constant<caf::atom("notify")>;
using read_atom = caf::atom_constant<caf::atom("read")>;
using redeploy_atom = caf::atom_constant<caf::atom("redeploy")>;
using replace_atom = caf::atom_constant<caf::atom("replace")>;
using catchup_atom = caf::atom_constant<caf::atom("catchup")>;
using challenge_atom = caf::atom_constant<caf::atom("challenge")>;
using db_status_atom = caf::atom_constant<caf::atom("dbstatus")>;
using sql_atom = caf::atom_constant<caf::atom("sql")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using backup_atom = caf::atom_constant<caf::atom("backup")>;
using restore_atom = caf::atom_constant<caf::atom("restore")>;
using export_atom = caf::atom_constant<caf::atom("export")>;
using import_atom = caf::atom_constant<caf::atom("import")>;

// --- errors ------------------------------------------------------------------
// troupe's error codes in caf::error values (category atom "troupe"). Add a code
// only if a caller can react to it.
enum class errc : uint8_t {
  none = 0,
  database_not_found = 1,  // no open database of that name
  database_exists = 2,     // create of an existing database
  io_error = 3,            // disk or RocksDB failure
  invalid_argument = 4,    // a request that can never succeed as sent
  shutting_down = 5,       // the node is stopping
  join_refused = 6,        // wrong group name or password, or the node name is taken
  not_member = 7,          // a cluster message from a node that is not (or no longer) a member
  access_denied = 8,       // console: wrong user name or password, or no permission for the command
  not_found = 9,           // console: no such actor, record, cluster or class
  // A replicated write without its quorum (HTTP 503). The error's message is
  // a JSON object: {"content", "quorum", "answered", "missing", "outcome"}
  // with outcome "not applied" (it was never ordered: visible nowhere, ever)
  // or "unknown" (ordered, but the quorum did not confirm it in time).
  unavailable = 10,
  database_in_use = 11,  // a drop of a database a member is receiving (HTTP 409)
  no_leader = 12,        // a create or drop the cluster's leader could not decide (HTTP 503)
};
const char* to_string(errc e);
caf::error make_troupe_error(errc code, std::string message);
// The code of a troupe error, errc::none for any other error.
errc troupe_code(const caf::error& e);
// The message text of `e` without the category framing.
std::string error_text(const caf::actor_system& sys, const caf::error& e);

// --- message types -----------------------------------------------------------
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("troupe.node_info"), x.name, x.status, x.started_on_ms, x.databases);
}

namespace storage {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rid& x) {
  return f(caf::meta::type_name("troupe.rid"), x.cluster, x.position);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& x) {
  return f(caf::meta::type_name("troupe.record"), x.id, x.version, x.class_name, x.fields);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op& x) {
  return f(caf::meta::type_name("troupe.op"), x.k, x.class_name, x.superclass, x.id, x.expected_version, x.fields);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, op_result& x) {
  return f(caf::meta::type_name("troupe.op_result"), x.code, x.message, x.rec, x.lsn);
}

}  // namespace storage

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("troupe.member_info"), x.name, x.node_id, x.cluster_host, x.cluster_port, x.http_host,
           x.http_port, x.started_on_ms, x.status, x.databases, x.db_status, x.catching_up, x.key, x.console_host,
           x.console_port);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("troupe.cluster_view"), x.version, x.members);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, db_config_msg& x) {
  return f(caf::meta::type_name("troupe.db_config_msg"), x.db, x.json, x.version, x.changed_by);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_state& x) {
  return f(caf::meta::type_name("troupe.cluster_state"), x.view, x.configs, x.proposals, x.dropped);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, partition_entry& x) {
  return f(caf::meta::type_name("troupe.partition_entry"), x.database, x.cluster, x.partition, x.replicas, x.owner);
}

// The acceptor's answer to hello: its challenge and its own proof.
struct hello_reply {
  std::string name;           // the acceptor's node name
  std::string nonce;          // the challenge the joiner must answer
  std::string proof;          // hmac(password, "acceptor", group, joiner's nonce, name)
  int64_t leader_started_on_ms = 0;  // the acceptor's leader, so the younger side joins
  std::string leader_name;
  size_t members = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello_reply& x) {
  return f(caf::meta::type_name("troupe.hello_reply"), x.name, x.nonce, x.proof, x.leader_started_on_ms,
           x.leader_name, x.members);
}

namespace storage {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_entry& x) {
  return f(caf::meta::type_name("troupe.log_entry"), x.lsn, x.applied);
}
}  // namespace storage

namespace deploy {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunk& x) {
  return f(caf::meta::type_name("troupe.deploy_chunk"), x.seq, x.file, x.offset, x.raw_size, x.codec_id, x.checksum,
           x.data, x.total_bytes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest& x) {
  return f(caf::meta::type_name("troupe.deploy_manifest"), x.chunks, x.files, x.raw_bytes, x.wire_bytes, x.digest,
           x.lsn, x.file_names, x.file_sizes);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, progress& x) {
  return f(caf::meta::type_name("troupe.deploy_progress"), x.id, x.db, x.outgoing, x.peer, x.phase, x.bytes_done,
           x.bytes_total, x.wire_bytes, x.started_ms, x.elapsed_ms);
}
}  // namespace deploy
using deploy_progresses = std::vector<deploy::progress>;

// --- replication (src/replication/, actors/database_actor.hpp) --------------
namespace storage {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, staged_entry& x) {
  return f(caf::meta::type_name("troupe.staged_entry"), x.seq, x.epoch, x.ops);
}
}  // namespace storage
namespace replication {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, append_msg& x) {
  return f(caf::meta::type_name("troupe.append_msg"), x.epoch, x.msg, x.prev_seq, x.prev_epoch, x.entries,
           x.commit_seq, x.complete);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack_msg& x) {
  return f(caf::meta::type_name("troupe.ack_msg"), x.epoch, x.ok, x.held_seq, x.commit_seq);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, tail_msg& x) {
  return f(caf::meta::type_name("troupe.tail_msg"), x.ok, x.epoch, x.commit_seq, x.last_seq, x.last_epoch);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_msg& x) {
  return f(caf::meta::type_name("troupe.fetch_msg"), x.commit_seq, x.entries, x.more);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, role& x) {
  return f(caf::meta::type_name("troupe.role"), x.db, x.servers, x.online, x.write_quorum, x.view_version,
           x.resync_every_s);
}
}  // namespace replication

// One replication message between two nodes' database actors, relayed by
// their cluster actors (which check membership and carry the test seam that
// cuts traffic): an append (owner -> replica) or an ack (replica -> owner).
// Anti-entropy rides in the same envelope (`check` not 0): the owner's
// per-cluster digests at its commit seq (owner -> replica), the clusters that
// differ (replica -> owner), and a cluster's records to repair one (owner ->
// replica), each valid only at `at_seq`. behind_log (owner -> replica): the
// replica is behind the owner's replication log (which starts at `at_seq`),
// in the owner's epoch `append.epoch`: it should take a full copy.
// On the wire as one byte, the values below (append, never renumber); an
// unknown value from the network is ignored.
enum class check_kind : uint8_t {
  none = 0,        // an append or an ack
  digests = 1,     // owner -> replica: per-cluster digests at at_seq
  differing = 2,   // replica -> owner: the clusters that differ
  records = 3,     // owner -> replica: one cluster's records, to repair it
  behind_log = 4,  // owner -> replica: take a full copy
};
struct repl_envelope {
  std::string db;
  std::string from;  // the sending node's name (checked against its CAF node by the receiving cluster actor)
  bool is_append = true;
  replication::append_msg append;
  replication::ack_msg ack;
  check_kind check = check_kind::none;
  uint64_t at_seq = 0;
  std::vector<int32_t> ids;  // digest: every cluster; mismatch: those that differ; repair: the one repaired
  std::vector<int64_t> counts;
  std::vector<uint64_t> hashes;
  std::vector<std::string> keys, values;  // repair: the cluster's records as stored
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, repl_envelope& x) {
  return f(caf::meta::type_name("troupe.repl_envelope"), x.db, x.from, x.is_append, x.append, x.ack, x.check,
           x.at_seq, x.ids, x.counts, x.hashes, x.keys, x.values);
}

// The owner's answer to one forwarded write: its seq (so the forwarding node
// can wait until it holds the write itself: readYourWrites) and the results,
// or the error (the errc::unavailable JSON) when it did not commit.
struct fwd_reply {
  uint64_t seq = 0;
  std::vector<storage::op_result> results;
  std::string error;  // empty: committed
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fwd_reply& x) {
  return f(caf::meta::type_name("troupe.fwd_reply"), x.seq, x.results, x.error);
}
using fwd_replies = std::vector<fwd_reply>;

// One server's copy of a record, for a read with readQuorum > 1: the answer of
// the server with the highest committed seq is the newest (every server holds
// a prefix of the same order).
struct read_reply {
  std::string node;
  bool found = false;
  storage::record rec;
  uint64_t committed_seq = 0;
};
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, read_reply& x) {
  return f(caf::meta::type_name("troupe.read_reply"), x.node, x.found, x.rec, x.committed_seq);
}

// --- console (actors/admin_actor.hpp) ---------------------------------------
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, actor_summary& x) {
  return f(caf::meta::type_name("troupe.actor_summary"), x.name, x.id, x.mailbox, x.summary, x.detail_json);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_report& x) {
  return f(caf::meta::type_name("troupe.cluster_report"), x.local_name, x.local_node_id, x.state, x.partitions,
           x.cluster_actor, x.receiving);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, class_row& x) {
  return f(caf::meta::type_name("troupe.class_row"), x.name, x.superclass, x.default_cluster, x.records);
}
namespace storage {
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_info& x) {
  return f(caf::meta::type_name("troupe.cluster_info"), x.id, x.name, x.records, x.next_position);
}
}  // namespace storage
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, db_info& x) {
  return f(caf::meta::type_name("troupe.db_info"), x.name, x.last_lsn, x.classes, x.clusters, x.config_json,
           x.config_version, x.members);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, console_peer& x) {
  return f(caf::meta::type_name("troupe.console_peer"), x.name, x.host, x.port, x.status, x.db_status, x.here);
}
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replication_row& x) {
  return f(caf::meta::type_name("troupe.replication_row"), x.node, x.status, x.has_db, x.last_lsn, x.committed_seq);
}
using actor_summaries = std::vector<actor_summary>;
using replication_rows = std::vector<replication_row>;
using console_peers = std::vector<console_peer>;
using records = std::vector<storage::record>;

using log_entries = std::vector<storage::log_entry>;
using op_list = std::vector<storage::op>;
using op_results = std::vector<storage::op_result>;
using op_lists = std::vector<op_list>;  // several writes, forwarded to the owner as one message

// How the REST layer gets a write's answer without a requester actor: it
// sends (write_atom, ops, write_callback) from its Asio thread with anon_send,
// and the database actor calls the callback once, from its own thread. **Why:**
// a requester actor per write cost a spawn and two more thread hand-offs per
// write (Asio -> CAF worker -> database actor -> CAF worker -> Asio), and on
// this VM every hand-off is a wake-up paid in the kernel. Copies share one
// slot; only the first call counts. If the last copy goes away uncalled (the
// message was dropped, the actor stopped without answering), the callback is
// called with a 503 "unknown" error, so a client is never left waiting.
// Local only: it cannot cross the network (and never needs to).
class write_callback {
 public:
  using function = std::function<void(caf::expected<op_results>)>;
  write_callback() = default;
  explicit write_callback(function f);
  void operator()(caf::expected<op_results> r) const;
  explicit operator bool() const { return slot_ != nullptr; }

 private:
  struct slot;
  std::shared_ptr<slot> slot_;
};

// --- actor interfaces --------------------------------------------------------

// The server actor: the node's own identity and lifecycle status.
//   (inspect_atom)                   -> actor_summary   (every node actor answers this: see below)
//   (status_atom)                    -> node_info
//   (set_status_atom, std::string s) -> node_info      s: STARTING|ONLINE|SHUTTINGDOWN|OFFLINE
using server_actor = caf::typed_actor<                                  //
    caf::replies_to<inspect_atom>::with<actor_summary>,                 //
    caf::replies_to<status_atom>::with<node_info>,                      //
    caf::replies_to<set_status_atom, std::string>::with<node_info>>;

// A database actor: the one writer of one open database, and its replicator
// (actors/database_actor.hpp).
//   (write_atom, op_list ops) -> op_results     a client's write (REST, console): ordered by the
//                                               owner, acknowledged once writeQuorum nodes hold it
//   (write_atom, op_list, write_callback)       the same, answered through the callback (REST)
//   (fwd_atom, op_lists ws)   -> fwd_replies    another node's client writes (all it had queued),
//                                               forwarded to this owner; one reply per write
//   (role_atom, role)                           cluster actor: servers, who is online, quorum
//   (repl_atom, repl_envelope)                  an append or ack from a peer (relayed by cluster actors)
//   (tail_atom, epoch)        -> tail_msg       a new owner's takeover: promise `epoch`, report the tail
//   (fetch_atom, after seq)   -> fetch_msg      a page of entries after `after` (takeover, deploy catch-up)
//   (adopt_atom, fetch_msg)   -> bool           deploy catch-up: commit a page of the sender's entries
//   (flush_atom), (tick_atom), (notify_atom)    internal: batch, timers, commit notices
using database_actor = caf::typed_actor<                                //
    caf::replies_to<inspect_atom>::with<actor_summary>,                 //
    caf::replies_to<write_atom, op_list>::with<op_results>,             //
    caf::reacts_to<write_atom, op_list, write_callback>,                //
    caf::replies_to<fwd_atom, op_lists>::with<fwd_replies>,             //
    caf::reacts_to<role_atom, replication::role>,                       //
    caf::reacts_to<repl_atom, repl_envelope>,                           //
    caf::replies_to<tail_atom, uint64_t>::with<replication::tail_msg>,  //
    caf::replies_to<fetch_atom, uint64_t>::with<replication::fetch_msg>,  //
    caf::replies_to<adopt_atom, replication::fetch_msg>::with<bool>,    //
    caf::reacts_to<flush_atom>,                                         //
    caf::reacts_to<tick_atom>,                                          //
    caf::reacts_to<notify_atom>>;

// The databases actor: opens, creates and drops the node's databases
// (actors/databases_actor.hpp).
//   (create_atom, std::string name) -> bool     true: created; error if it exists or fails. In a
//                                               cluster the leader decides first (cluster actor's
//                                               dbcreate): the others receive it by autoDeploy
//   (drop_atom, std::string name)   -> bool     true: dropped; error if unknown. In a cluster: dropped
//                                               by the leader's decision on every member
//   (dbdrop_atom, std::string name)             the placement actor: the cluster dropped it, delete
//                                               this node's copy (open or on disk)
//   (init_atom, cluster, placement)             the node: a cluster exists (create and drop go through it)
//   (dbcreate_atom, std::string name) -> bool   a restore or import claims a new name (in a cluster: the
//                                               leader decides, as for a create); nothing is made
//   (add_db_atom, std::string name)   -> bool   ... then its files are in place: open it, and (in a
//                                               cluster) it becomes the cluster's (the others deploy it)
//   (list_atom)                     -> std::vector<std::string>
//   (open_atom, std::string name)   -> bool     open a database that appeared on disk (deploy, demo)
//   (replace_atom, std::string name) -> bool    swap the open database for the copy installed in
//                                               databases/<name>.installed (a redeploy) and open it
using databases_actor = caf::typed_actor<                               //
    caf::replies_to<inspect_atom>::with<actor_summary>,                 //
    caf::replies_to<open_atom, std::string>::with<bool>,                //
    caf::replies_to<replace_atom, std::string>::with<bool>,             //
    caf::replies_to<create_atom, std::string>::with<bool>,              //
    caf::replies_to<drop_atom, std::string>::with<bool>,                //
    caf::reacts_to<dbdrop_atom, std::string>,                           //
    caf::reacts_to<init_atom, caf::actor, caf::actor>,                  //
    caf::replies_to<dbcreate_atom, std::string>::with<bool>,            //
    caf::replies_to<add_db_atom, std::string>::with<bool>,              //
    caf::replies_to<list_atom>::with<std::vector<std::string>>>;

// A database's distributed configuration actor (actors/db_config_actor.hpp):
// the owner of databases/<db>/distributed-config.json.
//   (status_atom)                 -> db_config_msg   the configuration held (file, else the default)
//   (update_atom, db_config_msg)  -> bool            store and print it if its version is newer
//                                                    (or its content differs at the same version);
//                                                    false when nothing changed
using db_config_actor = caf::typed_actor<                                  //
    caf::replies_to<inspect_atom>::with<actor_summary>,                    //
    caf::replies_to<status_atom>::with<db_config_msg>,                     //
    caf::replies_to<update_atom, db_config_msg>::with<bool>>;

// The partition-table actor (actors/partition_table_actor.hpp): replica sets
// and owners for every database and cluster.
//   (repart_atom, cluster_state, suspected)  recompute from a new view, configuration or suspicion
//   (status_atom) -> std::vector<partition_entry>
using partition_entries = std::vector<partition_entry>;
using partition_table_actor = caf::typed_actor<                             //
    caf::replies_to<inspect_atom>::with<actor_summary>,                     //
    caf::reacts_to<repart_atom, cluster_state, std::vector<std::string>>,  //
    caf::replies_to<status_atom>::with<partition_entries>>;

// A deploy receiver (actors/deploy.hpp): one per incoming database transfer.
//   (chunk_atom, chunk)                      -> uint64_t   the acknowledged seq (credit for one more)
//   (done_atom, manifest)                    -> bool       verify, install, open, catch up; true when ONLINE
using deploy_receiver_actor = caf::typed_actor<                                      //
    caf::replies_to<chunk_atom, deploy::chunk>::with<uint64_t>,                      //
    caf::replies_to<done_atom, deploy::manifest>::with<bool>>;

// The cluster actor: the node's one published endpoint; membership, join
// handshake, heartbeats and the cluster's copy of every database's distributed
// configuration (actors/cluster_actor.hpp). What follows from them for the
// databases held here is the placement actor's (below).
//   (hello_atom, group, name, nonce)            -> hello_reply    joiner -> any member (handed to its joiner)
//   (auth_atom, name, proof, member_info, cfgs) -> cluster_state  joiner's cluster actor -> the member it said
//                                                                 hello to (handed to its joiner; the leader takes
//                                                                 the sender as its peer)
//   (join_atom, member_info, cfgs)              -> cluster_state  member -> leader, for an authenticated joiner
//   (join_atom, member_info, cfgs, joiner's cluster actor) -> cluster_state  local (the joiner, which
//                                                                 authenticated it): admit it, or ask the leader
//   (view_atom, cluster_state)                                    leader -> every member
//   (beat_atom, name, view version)                               every member -> every member
//   (leave_atom, name)                          -> bool           a member stopping cleanly -> every member
//   (suspect_atom, name)                                          member -> leader: `name` stopped answering
//   (agree_atom, db, config version)                              server -> leader: agrees to its proposal to
//                                                                 change db's servers (cluster_state::proposals)
//   (dissolve_atom)                                               leader -> every member: our cluster merges into
//                                                                 an older or larger one; go alone and join it
//   (leave_atom)                                -> bool           local: announce our leave, answer when done
//   (status_atom)                               -> cluster_state  local: the current state
//   (init_atom, cluster port, http port)        -> bool           local: start (after publish)
//   (deploy_atom, db, requester, receiver)      -> bool           joiner -> a member holding db: stream it
//                                                                 (handed to the placement actor)
//   (relay_atom)                                -> strong_actor_ptr  a member's relay actor: this node's relay
//   (catchup_atom, db, bool)                                      local: our replica of db is (not) receiving
//                                                                 writes it missed (shown as SYNCHRONIZING)
//   (redeploy_atom, db, source)                                   local: our copy of db is behind source's
//                                                                 replication log (handed to the placement actor)
//   (update_atom, member_info)                                    member -> leader: its databases and their status
//   (dbcreate_atom, db)                         -> bool           local (databases actor): may this node create db?
//                                                                 the leader decides (first ask wins)
//   (dbcreate_atom, db, requester)              -> bool           member -> leader: the same for `requester`
//   (dbdrop_atom, db)                           -> bool           local (databases actor): drop db everywhere
//   (dbdrop_atom, db, requester)                -> bool           member -> leader: the same
//   (add_db_atom, db)                                             local (placement actor): a database appeared
//                                                                 here (demo, REST, deploy): put it in the view
//   (db_status_atom, db, status)                                  local (placement actor): db's status in this
//                                                                 node's entry of the view ("": none)
//   (join_atom, hello_reply, proof, acceptor)   -> bool           local (the joiner, actors/joiner.hpp): join
//                                                                 behind this proven hello? sends the auth; false:
//                                                                 not joining
//   (tick_atom)                                                   local timer
//   (inspect_atom)                              -> actor_summary  local or a member: members, heartbeat ages,
//                                                                 local databases' last LSNs (detail_json)
using db_config_msgs = std::vector<db_config_msg>;
using cluster_actor = caf::typed_actor<                                                         //
    caf::replies_to<hello_atom, std::string, std::string, std::string>::with<hello_reply>,      //
    caf::replies_to<auth_atom, std::string, std::string, member_info, db_config_msgs>::with<cluster_state>,  //
    caf::replies_to<join_atom, member_info, db_config_msgs>::with<cluster_state>,               //
    caf::replies_to<join_atom, member_info, db_config_msgs, caf::strong_actor_ptr>::with<cluster_state>,  //
    caf::reacts_to<view_atom, cluster_state>,                                                   //
    caf::reacts_to<beat_atom, std::string, uint64_t>,                                           //
    caf::replies_to<leave_atom, std::string>::with<bool>,                                       //
    caf::reacts_to<suspect_atom, std::string>,                                                  //
    caf::reacts_to<agree_atom, std::string, int64_t>,                                           //
    caf::reacts_to<dissolve_atom>,                                                              //
    caf::replies_to<leave_atom>::with<bool>,                                                    //
    caf::replies_to<status_atom>::with<cluster_state>,                                          //
    caf::replies_to<init_atom, uint16_t, uint16_t>::with<bool>,                                 //
    caf::replies_to<init_atom, uint16_t, uint16_t, std::string, uint16_t>::with<bool>,          //
    caf::replies_to<deploy_atom, std::string, std::string, caf::strong_actor_ptr>::with<bool>,  //
    caf::replies_to<relay_atom>::with<caf::strong_actor_ptr>,                                   //
    caf::reacts_to<redeploy_atom, std::string, std::string>,                                    //
    caf::reacts_to<catchup_atom, std::string, bool>,                                            //
    caf::reacts_to<update_atom, member_info>,                                                   //
    caf::reacts_to<add_db_atom, std::string>,                                                   //
    caf::replies_to<dbcreate_atom, std::string>::with<bool>,                                    //
    caf::replies_to<dbcreate_atom, std::string, std::string>::with<bool>,                       //
    caf::replies_to<dbdrop_atom, std::string>::with<bool>,                                      //
    caf::replies_to<dbdrop_atom, std::string, std::string>::with<bool>,                         //
    caf::reacts_to<db_status_atom, std::string, std::string>,                                   //
    caf::reacts_to<tick_atom>,                                                                  //
    caf::replies_to<inspect_atom>::with<actor_summary>,                                         //
    caf::replies_to<join_atom, hello_reply, std::string, caf::strong_actor_ptr>::with<bool>>;

// What the placement actor needs of the membership (local only: it never
// crosses the network, so it is not registered; see the end of this file).
struct membership_snapshot {
  member_info me;  // this node as it knows itself (newer than its entry in the view)
  cluster_view view;
  std::set<std::string> suspected;
  std::map<std::string, db_config> configs;     // by database
  // Configurations changed since the last snapshot (membership_effects::
  // configs_changed): each local one goes to its db_config_actor to be stored.
  std::set<std::string> store;
  std::map<std::string, cluster_actor> connected;  // members with a connection now, by name
  bool leaving = false;                          // this node is stopping: no new deploys
};

// The placement actor (actors/placement_actor.hpp): this node's databases in
// the cluster (roles, stored configurations, partitions, the directory,
// deploys received and sent). Local: never published.
//   (init_atom, cluster_actor)                         the node's cluster actor: tell it of local changes
//   (view_atom, membership_snapshot)                   cluster actor: the membership as of now
//   (suspect_atom, name)                               cluster actor: member `name` left the view
//   (tick_atom)                                        cluster actor, every heartbeat interval
//   (deploy_atom, db, requester, receiver) -> bool     a member, handed over by the cluster actor: stream db
//   (deployed_atom, db)                                a deploy receiver: db is installed and caught up
//   (redeploy_atom, db, source)                        our copy of db is behind source's log: take a full copy
//   (add_db_atom, db)                                  the node: a database appeared (demo, REST)
//   (dbdrop_atom, db)                                  cluster actor: the cluster dropped db: delete our copy
//   (inspect_atom)                         -> actor_summary
using placement_actor = caf::typed_actor<                                                       //
    caf::replies_to<inspect_atom>::with<actor_summary>,                                        //
    caf::reacts_to<init_atom, cluster_actor>,                                                  //
    caf::reacts_to<view_atom, membership_snapshot>,                                            //
    caf::reacts_to<suspect_atom, std::string>,                                                 //
    caf::reacts_to<tick_atom>,                                                                 //
    caf::replies_to<deploy_atom, std::string, std::string, caf::strong_actor_ptr>::with<bool>,  //
    caf::reacts_to<deployed_atom, std::string>,                                                //
    caf::reacts_to<redeploy_atom, std::string, std::string>,                                   //
    caf::reacts_to<dbdrop_atom, std::string>,                                                  //
    caf::reacts_to<add_db_atom, std::string>>;

// The relay actor (actors/relay_actor.hpp): replication between the database
// actors of different nodes, and quorum reads. Local: fed by the cluster actor;
// the other nodes' relays learn its handle from our cluster actor (relay_atom).
//   (init_atom, cluster_actor)                          the node's cluster actor
//   (view_atom, membership_snapshot)                    cluster actor: the membership as of now
//   (tick_atom)                                         cluster actor, every heartbeat interval
//   (fetch_atom, db, after seq)        -> fetch_msg     a member's relay: our entries after a seq (deploy
//                                                       catch-up, takeover)
//   (tail_atom, db, epoch)             -> tail_msg      a member's relay (a new owner): promise, tail
//   (fwd_atom, db, writes)             -> fwd_replies   a member's relay -> the owner's: clients' writes
//   (repl_atom, repl_envelope)                          a member's relay: for one of our database actors
//   (read_atom, db, rid)               -> read_reply    a member's relay: our copy of a record
//   (fwd_atom|tail_atom|fetch_atom, to, db, ...)        local: the same, to member `to`
//   (relay_atom, to, repl_envelope)                     local: an envelope for member `to`
//   (read_atom, db, rid, quorum)       -> read_reply    local (REST): the newest of `quorum` servers' copies
//   (catchup_atom, db, bool), (redeploy_atom, db, source)   local (a database actor): to the cluster actor
//   (inspect_atom)                     -> actor_summary
using relay_actor = caf::typed_actor<                                                            //
    caf::replies_to<inspect_atom>::with<actor_summary>,                                         //
    caf::reacts_to<init_atom, cluster_actor>,                                                   //
    caf::reacts_to<view_atom, membership_snapshot>,                                             //
    caf::reacts_to<tick_atom>,                                                                  //
    caf::replies_to<fetch_atom, std::string, uint64_t>::with<replication::fetch_msg>,           //
    caf::replies_to<fetch_atom, std::string, std::string, uint64_t>::with<replication::fetch_msg>,  //
    caf::replies_to<tail_atom, std::string, uint64_t>::with<replication::tail_msg>,             //
    caf::replies_to<tail_atom, std::string, std::string, uint64_t>::with<replication::tail_msg>,  //
    caf::replies_to<fwd_atom, std::string, op_lists>::with<fwd_replies>,                        //
    caf::replies_to<fwd_atom, std::string, std::string, op_lists>::with<fwd_replies>,           //
    caf::reacts_to<repl_atom, repl_envelope>,                                                   //
    caf::reacts_to<relay_atom, std::string, repl_envelope>,                                     //
    caf::replies_to<read_atom, std::string, storage::rid>::with<read_reply>,                    //
    caf::replies_to<read_atom, std::string, storage::rid, uint32_t>::with<read_reply>,          //
    caf::reacts_to<catchup_atom, std::string, bool>,                                            //
    caf::reacts_to<redeploy_atom, std::string, std::string>>;

// --- console: the admin endpoint and its sessions (actors/admin_actor.hpp) ---
//
// Every node actor (server, databases, database writer, db config, partition
// table, cluster) answers (inspect_atom) -> actor_summary from inside itself:
// its name, id, mailbox length, a one-line summary and its state as JSON.

// A console session: one per logged-in console connection. Serves only the
// CAF node that logged in.
//   (list_atom)                           -> actor_summaries    every actor of the node
//   (inspect_atom, name or id)            -> actor_summary
//   (status_atom)                         -> cluster_report     error when not distributed
//   (deploys_atom)                        -> deploy_progresses
//   (lsn_atom, db)                        -> replication_rows   one row per member
//   (dbs_atom)                            -> std::vector<std::string>   open databases
//   (create_atom, name)                   -> bool               create a database
//   (info_atom, db)                       -> db_info
//   (load_atom, db, rid)                  -> storage::record
//   (write_atom, db, op)                  -> storage::op_result create/update/delete record, create class
//   (browse_atom, db, cluster, limit)     -> records            limit 1..console_browse_records_max
//   (leave_atom)                          -> bool               end the session
//   (sql_atom, db, text, rows_max)        -> std::string        a SQL statement (src/console/sql.hpp):
//        {"result":[...]} in OrientDB's shape; a read returns at most rows_max rows
//        (1..console::sql_rows_max + 1), a write the statement's answer; errors are sentences
//        (a syntax error with its position and a caret under it)
//   (members_atom, db)                    -> console_peers      every member with its console address, its
//        status and db's status there ("" db: none); open to every session (the console fails over with it)
//   (backup_atom, db, file)               -> std::string        BACKUP DATABASE into <home>/backup/<file>: a summary
//   (restore_atom, file, name)            -> std::string        RESTORE DATABASE <file> into the NEW database
//        name ("": the archive's own name): a summary
//   (export_atom, db)                     -> std::string        EXPORT DATABASE: the gzip export's bytes
//   (import_atom, name, bytes)            -> std::string        IMPORT DATABASE (an export, plain or gzip) into
//        the NEW database name: a summary
//   (drop_atom, name)                     -> bool               DROP DATABASE, cluster-wide
//        These five: server users only (actors/admin_actor.hpp, "lifecycle").
using session_actor = caf::typed_actor<                                                        //
    caf::replies_to<list_atom>::with<actor_summaries>,                                         //
    caf::replies_to<inspect_atom, std::string>::with<actor_summary>,                           //
    caf::replies_to<status_atom>::with<cluster_report>,                                        //
    caf::replies_to<deploys_atom>::with<deploy_progresses>,                                    //
    caf::replies_to<lsn_atom, std::string>::with<replication_rows>,                            //
    caf::replies_to<dbs_atom>::with<std::vector<std::string>>,                                 //
    caf::replies_to<create_atom, std::string>::with<bool>,                                     //
    caf::replies_to<info_atom, std::string>::with<db_info>,                                    //
    caf::replies_to<load_atom, std::string, storage::rid>::with<storage::record>,              //
    caf::replies_to<write_atom, std::string, storage::op>::with<storage::op_result>,           //
    caf::replies_to<browse_atom, std::string, std::string, uint32_t>::with<records>,          //
    caf::replies_to<leave_atom>::with<bool>,                                                   //
    caf::replies_to<sql_atom, std::string, std::string, uint32_t>::with<std::string>,          //
    caf::replies_to<members_atom, std::string>::with<console_peers>,                           //
    caf::replies_to<backup_atom, std::string, std::string>::with<std::string>,                 //
    caf::replies_to<restore_atom, std::string, std::string>::with<std::string>,                //
    caf::replies_to<export_atom, std::string>::with<std::string>,                              //
    caf::replies_to<import_atom, std::string, std::string>::with<std::string>,                 //
    caf::replies_to<drop_atom, std::string>::with<bool>>;

// The console login challenge (src/config/password.hpp, "the console login").
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, login_challenge& x) {
  return f(caf::meta::type_name("troupe.login_challenge"), x.nonce, x.scheme, x.salt, x.iterations, x.key_bytes);
}

// The admin endpoint, published on the binary listener's port. Challenge and
// response: the password never travels, and the node need not know it.
//   (challenge_atom, user)                   -> login_challenge        nonce (single use, expires), and the
//        scheme, salt, iterations and key length to derive key = PBKDF2(password, ...) with; then
//   (login_atom, user, nonce, proof)         -> caf::strong_actor_ptr  a session_actor
//        proof = hmac_proof(hex(key), {"troupe-console", nonce, user, client node id, server node id})
//   (login_atom, user)                       -> std::string nonce      the first protocol, kept for old
//        clients: then proof = hmac_proof(password, {...}), which only a plaintext-stored user can pass
//   (challenge_atom, user, db)               -> login_challenge        the same for a login into database db:
//        db's own user (OUser) when it has one of that name, else the server user
//   (login_atom, db, user, nonce, proof)     -> caf::strong_actor_ptr  a session_actor; a database user's
//        session serves only db. proof = hmac_proof(hex(key), {"troupe-console", nonce, user, client node
//        id, server node id, db})
//   (inspect_atom)                           -> actor_summary
using admin_actor = caf::typed_actor<                                                          //
    caf::replies_to<login_atom, std::string>::with<std::string>,                               //
    caf::replies_to<login_atom, std::string, std::string, std::string>::with<caf::strong_actor_ptr>,  //
    caf::replies_to<inspect_atom>::with<actor_summary>,                                        //
    caf::replies_to<challenge_atom, std::string>::with<login_challenge>,                       //
    caf::replies_to<challenge_atom, std::string, std::string>::with<login_challenge>,          //
    caf::replies_to<login_atom, std::string, std::string, std::string, std::string>::with<caf::strong_actor_ptr>>;

// Registers every type above with `cfg`. Call before constructing the system.
void add_message_types(caf::actor_system_config& cfg);

}  // namespace troupe

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::write_callback)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(troupe::membership_snapshot)
