// admin_actor: the node's console endpoint, and the session actors it hands out.
//
// Contract (messages: actors/protocol.hpp, admin_actor and session_actor)
//   published:  by node.cpp on the first free port of the binary listener's
//               port range (OrientDB's console connected to remote:host:2424),
//               when node_options::admin_endpoint is set (dserver sets it).
//   login:      challenge and response, so the password never travels and the
//               node needs only what the config file stores (plaintext or
//               OrientDB 2.2's PBKDF2 hash; src/config/password.hpp, "the
//               console login"): (challenge_atom, user) -> login_challenge (a
//               nonce, and the scheme, salt, iterations and key length); then
//               (login_atom, user, nonce, proof) -> the handle of a new session
//               actor, where key = PBKDF2(password, salt, iterations, length)
//               and proof = hmac_proof(hex(key), {"troupe-console", nonce, user,
//                                      client CAF node id, server CAF node id}).
//               The first protocol stays: (login_atom, user) -> nonce, proof
//               keyed with the password itself; only a plaintext-stored user
//               can pass it.
//               A nonce is single use, bound to the CAF node that asked for it,
//               expires after login_nonce_ttl, and at most pending_logins_max
//               are kept (the oldest is dropped). Unknown users get a nonce and
//               a challenge too, shaped as a plaintext-stored user's and stable
//               (so a challenge tells nothing). A wrong proof is answered with
//               errc::access_denied and one WARN line on the node; no handle.
//               The node derives a plaintext-stored user's key itself, once per
//               user (~15 ms of PBKDF2 in this actor).
//               Naming a database: (challenge_atom, user, db), then
//               (login_atom, db, user, nonce, proof) with db among the proof's
//               parts. A server user of that name comes first (as REST); else
//               db's OUser record (src/auth/db_users.hpp), whose stored value
//               gives the challenge as a server user's would; else the
//               unknown-user challenge. A suspended OUser cannot log in.
//               At most console_sessions_max sessions are open at once.
//   sessions:   one per logged-in console. It serves only the CAF node that
//               logged in, checks the user's resources for each command (as the
//               REST API does: "server.info" for inspection,
//               "server.listDatabases", "database.create", "database" or
//               "database.<db>" for database commands), and ends when the
//               console's actor goes down (connection closed), on (leave_atom),
//               or when the admin actor exits. A database user's session is
//               bound to its database: everything else is refused with a
//               sentence; each database command reads the user again and
//               checks auth::allows for its action (OrientDB's refusal text).
//               (members_atom, db): every member's console endpoint and status,
//               open to every session: the console fails over with it.
//   inspection: a session asks each node actor (inspect_atom) -> actor_summary,
//               so every figure (mailbox length included) is read inside the
//               actor itself; cluster members and partitions come from the
//               cluster_directory, transfers from the deploy progress_board.
//               For `replication <db>` it asks every member's cluster actor (as
//               a member of the same cluster, over the existing connection) for
//               its databases' last LSNs. There is no replication yet, so no lag
//               is computed.
//   database:   reads go to the shared storage::database (no waiting behind
//               writes), writes to the database's writer actor, creation to the
//               databases actor, as the REST API does.
//   sql:        (sql_atom, db, text, rows_max): a SQL statement typed at the
//               console (src/console/sql.hpp says which are reads). A read
//               runs over the shared storage on a detached thread of its own
//               (one at a time per session: never on the database actor, nor
//               on a scheduler thread), at most rows_max rows; a write goes to
//               the database's writer as one statement op (src/query/command.hpp),
//               routed and ordered like any write, and the answer is the
//               statement's (src/replication/intake.hpp). Same permission as
//               the other database commands: "database.<db>".
//   lifecycle:  backup, restore, export, import and drop of a database
//               (protocol.hpp): server users only (a database user's session is
//               refused with a sentence, even for its own database), with REST's
//               permissions: "database.<db>" for backup and export,
//               "database.create" for restore and import, "database.drop" for
//               drop. Archives live in <databases_dir>/../backup/ under plain
//               names (backup::plain_backup_name), as REST's. Restore and
//               import make a NEW database of the cluster and backup and export
//               first catch up with the owner, through the functions REST uses
//               (actors/db_lifecycle.hpp). The file work blocks: it runs on a
//               detached actor of its own per command (lifecycle_job), which
//               the session waits for at most lifecycle_timeout. An export over
//               console_export_bytes_max is refused (as REST's 64 MiB); an
//               import arrives whole in one message (the console port's 16 MiB
//               bound). Drop: the databases actor's (drop_atom), as REST's DELETE.
//   bounds:     browse answers at most console_browse_records_max records and at most
//               console_reply_bytes_max of record text; every request to another
//               actor has a timeout (admin_options::ask_timeout).
//   errors:     caf::error values (errc::access_denied, not_found,
//               invalid_argument, database_not_found, ...); no handler throws.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/cluster_directory.hpp"
#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "src/config/server_config.hpp"
#include "src/console/command.hpp"
#include "src/deploy/progress.hpp"
#include "src/link/guard.hpp"
#include "src/util/log.hpp"

namespace troupe {

inline constexpr size_t console_sessions_max = 16;
inline constexpr size_t pending_logins_max = 64;
inline constexpr std::chrono::seconds login_nonce_ttl{30};
// console_browse_records_max: src/console/command.hpp (the console checks it too).
inline constexpr size_t console_reply_bytes_max = 8 * 1024 * 1024;
inline constexpr size_t console_export_bytes_max = 64u << 20;  // as REST's GET /export
// A restore or import: the name's claim (15 s), the build, the opening (60 s).
inline constexpr std::chrono::seconds lifecycle_timeout{180};

struct admin_options {
  std::string node_name;
  std::vector<user_config> users;
  server_actor server;
  databases_actor databases;
  cluster_actor cluster;                 // null when the node does not run distributed
  partition_table_actor partitions;      // null when the node does not run distributed
  placement_actor placement;             // null when the node does not run distributed
  relay_actor relay;                     // null when the node does not run distributed
  std::vector<db_config_actor> config_actors;
  std::string databases_dir;  // <home>/databases: archives are in its sibling backup/
  std::shared_ptr<db_directory> dbs;                   // REQUIRED
  std::shared_ptr<cluster_directory> cluster_dir;      // REQUIRED
  std::shared_ptr<deploy::progress_board> deploys;     // REQUIRED
  logger* log = nullptr;                               // REQUIRED, outlives the actor
  std::shared_ptr<link::guard> guard;  // REQUIRED when distributed: connections to members go through it
  // The console port guard's book: the address each console's link came from
  // (wrong logins are slowed per address). May be null (then per CAF node id).
  std::shared_ptr<link::peer_book> consoles;
  std::chrono::milliseconds ask_timeout{5000};
  std::chrono::milliseconds command_timeout{30'000};  // one SQL read at the console (command.timeout; 0: none)
};

admin_actor spawn_admin_actor(caf::actor_system& sys, admin_options opts);

}  // namespace troupe
