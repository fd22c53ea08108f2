// console_client: the console's side of the admin endpoint (actors/admin_actor.hpp).
// One actor system with a middleman, one connection, one session at a time.
// Every call blocks the calling thread until the node answers or `timeout`
// passes, and returns the answer or a sentence a person can act on.
//
// This header includes no CAF on purpose (pimpl, as actors/node.hpp): the
// console's plain code and its tests stay cheap to compile.
#pragma once

#include <chrono>
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
};

class console_client {
 public:
  explicit console_client(console_client_options opts = {});
  ~console_client();  // ends the session (if any) and stops the actor system
  console_client(const console_client&) = delete;
  console_client& operator=(const console_client&) = delete;

  // Connects to the admin endpoint at host:port and logs in (challenge and
  // response; the password is never sent: it is stretched with PBKDF2 as the
  // node's challenge says, ~15 ms). Ends an earlier session first.
  // Errors: "cannot reach ...", "... is not a troupe node's console port",
  // "... runs an older troupe ...", "wrong user name or password".
  status connect(const std::string& host, uint16_t port, const std::string& user, const std::string& password);
  void disconnect();
  bool connected() const;
  // "host:port" of the current connection ("" when not connected).
  std::string endpoint() const;

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

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace troupe
