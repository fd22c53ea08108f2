// console_client: the console's side of the admin endpoint (actors/admin_actor.hpp).
// One actor system with a middleman, one connection, one session at a time.
// Every call blocks the calling thread until the node answers or `timeout`
// passes, and returns the answer or a sentence a person can act on. When the
// node is gone, a call moves to another member first (on_moved).
//
// This header includes no CAF on purpose (pimpl, as actors/node.hpp): the
// console's plain code and its tests stay cheap to compile.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/console/report.hpp"
#include "src/deploy/progress.hpp"
#include "src/storage/database.hpp"
#include "src/util/result.hpp"

namespace troupe {

struct console_client_options {
  std::chrono::milliseconds timeout{10'000};        // one command's answer
  std::chrono::milliseconds connect_timeout{5'000}; // TCP connect and CAF handshake
  // backup, restore, export, import, drop: the node waits up to 180 s
  // (admin_actor.hpp, lifecycle_timeout); the console a little longer.
  std::chrono::milliseconds lifecycle_timeout{190'000};
};

class console_client {
 public:
  explicit console_client(console_client_options opts = {});
  ~console_client();  // ends the session (if any) and stops the actor system
  console_client(const console_client&) = delete;
  console_client& operator=(const console_client&) = delete;

  // Connects to the admin endpoint at host:port and logs in (challenge and
  // response; the password is never sent: it is stretched with PBKDF2 as the
  // node's challenge says, ~15 ms). With `db`, the login names that database:
  // the node accepts its database user (OUser) or a server user. Ends an
  // earlier session first. Then asks the node for the cluster's members and
  // their console addresses (for failover).
  // Errors: "cannot reach ...", "... is not a troupe node's console port",
  // "... runs an older troupe ...", "wrong user name or password".
  status connect(const std::string& host, uint16_t port, const std::string& user, const std::string& password,
                 const std::string& db = {});
  void disconnect();
  bool connected() const;
  // "host:port" of the current connection ("" when not connected).
  std::string endpoint() const;
  // The name of the member the session is on ("" when unknown).
  std::string node_name() const;
  // The database commands go to now (failover prefers members holding it).
  void use_database(const std::string& db);
  // Failover (src/console/failover.hpp): when the connection's node is gone,
  // the next command reconnects to the next live member with the same user,
  // password and database, calls `notice` with one line saying so, and sends
  // the command once more if the rules allow (reads always; writes only when
  // the first attempt provably did nothing). The member list comes from the
  // node on connect and is refreshed after commands, at most once a second.
  void on_moved(std::function<void(const std::string&)> notice);
  std::vector<console_peer> members() const;

  result<std::vector<actor_summary>> actors();
  result<actor_summary> inspect(const std::string& name_or_id);
  result<cluster_report> cluster();
  result<std::vector<deploy::progress>> deploys();
  result<std::vector<replication_row>> replication(const std::string& db);
  result<std::vector<std::string>> databases();
  status create_database(const std::string& name);
  result<db_info> info(const std::string& db);
  result<storage::record> load(const std::string& db, storage::rid id);
  result<storage::op_result> write(const std::string& db, storage::op o);
  result<std::vector<storage::record>> browse(const std::string& db, const std::string& cluster, uint32_t limit);
  // A SQL statement (src/console/sql.hpp): the node's answer {"result":[...]};
  // a read returns at most rows_max rows. Errors: the node's sentence (a syntax
  // error with its position), or "not connected", or no answer in time.
  result<std::string> sql(const std::string& db, const std::string& text, uint32_t rows_max);
  // The database's lifecycle (actors/admin_actor.hpp, "lifecycle"); server
  // users only. `file` names an archive in the node's <home>/backup/ (a plain
  // name). The answers are the node's one-line summaries.
  result<std::string> backup(const std::string& db, const std::string& file);
  // `name` "": the archive's own database name. The database must be new.
  result<std::string> restore(const std::string& file, const std::string& name);
  // The gzip export's bytes (at most 64 MiB).
  result<std::string> export_database(const std::string& db);
  // `bytes`: an export (plain or gzip) into the NEW database `name`.
  result<std::string> import_database(const std::string& name, std::string bytes);
  // Drops `name` on every member.
  status drop_database(const std::string& name);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe
