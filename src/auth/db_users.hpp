// Database users and roles, stored in the database as records the way
// OrientDB 2.2 stores them, so they replicate, deploy and export with the data.
//
// Layout (classes created by default_security_ops):
//   ORole {name: "writer", mode: 0|1, rules: {"<resource>": <bits>, ...}}
//     mode 1 (OrientDB's ALLOW_ALL_BUT): everything not limited by a rule;
//     mode 0 (DENY_ALL_BUT): only what a rule grants. Bits as OrientDB's
//     ORole: Create 1, Read 2, Update 4, Delete 8 (All 15).
//   OUser {name, password: "{PBKDF2WithHmacSHA256}HASH:SALT:ITERATIONS",
//          status: "ACTIVE"|"SUSPENDED", roles: ["#5:0", ...]}
//     roles are RIDs of ORole records (as OrientDB); a plain role name is
//     read as that role too (troupe's tolerance for hand-written records).
//   UNIQUE indexes OUser.name and ORole.name (duplicate names are refused by
//   storage, in the cluster's one write order).
//
// What each action checks (resource, bit); a resource "database.class.X"
// without its own rule falls back to "database.class.*", then to the mode:
//   read, create, update, remove  database.class.*     Read/Create/Update/Delete
//   schema (create/drop class, property, index)  database.schema  Update
//   security (users, roles, OUser/ORole records) database.class.ouser  Update
// Default roles (as OrientDB 2.2 creates them, except that writer may not
// change the schema, which OrientDB's writer may):
//   admin  mode 1, {"database.bypassRestricted": 15}: everything.
//   writer mode 0, {"database": 2, "database.schema": 2, "database.class.*": 15,
//          "database.class.ouser": 2, "database.class.orole": 2, ...}: read
//          and write records; no schema, no users.
//   reader mode 0, {"database": 2, "database.schema": 2, "database.class.*": 2, ...}:
//          read only.
// A user is allowed an action when any of its roles allows it (OrientDB's
// union). An unknown role name allows nothing.
//
// Plain C++ (no CAF). Reads go through storage::database's const, thread-safe
// reads; nothing here writes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "src/config/password.hpp"
#include "src/query/ast.hpp"
#include "src/storage/database.hpp"

namespace troupe::auth {

enum class db_action : uint8_t { read, create, update, remove, schema, security };

// OrientDB's permission words (ORole.permissionToString): "Read", "Create",
// "Update", "Delete"; schema and security changes are checked as "Update".
const char* action_name(db_action a);

struct db_user {
  std::string name;
  std::string password;            // stored form, parse_stored_password() reads it
  std::vector<std::string> roles;  // role names
  bool active = true;              // status "ACTIVE" (any other status: false)
};

// The OUser record named `name` (nullopt: none, or the database has no OUser
// class). Names compare exactly (case-sensitive). Reads at most one index
// entry plus the user's and its roles' records when OUser.name is indexed,
// else scans the OUser cluster (bounded by storage's browse pages).
std::optional<db_user> find_user(const storage::database& db, std::string_view name);

// Whether the user's roles allow `a` in `db`. An inactive user is allowed nothing.
bool allows(const storage::database& db, const db_user& u, db_action a);

// OrientDB's 403 text (OSecurityAccessException), e.g.
// "User 'reader' does not have permission to execute the operation 'Create'
// against the resource: ResourceGeneric [name=CLASS, legacyName=database.class].*"
// (schema: "... [name=SCHEMA, legacyName=database.schema].null", as OrientDB
// prints a check without a specific resource; security: "....ouser").
std::string denied_message(const db_user& u, db_action a);

// The storage ops that create ORole, OUser (properties name/password/status
// STRING, UNIQUE indexes OUser.name and ORole.name), the three roles and the
// three users admin/admin, writer/writer, reader/reader, with fresh salts.
// Records are created at explicit RIDs so that users can name their roles'
// RIDs in the same batch: this form assumes a database as storage creates it
// (clusters 0-4, so ORole gets cluster 5 and OUser cluster 6). Call once, on
// the one node that creates the database; replicas get the records by
// replication or deploy. Costs three PBKDF2 runs (~50 ms).
std::vector<storage::op> default_security_ops();
// The same for a database that may already hold other classes: ORole and
// OUser get the cluster ids storage will give them after `db`'s last cluster.
std::vector<storage::op> default_security_ops(const storage::database& db);

// Applies default_security_ops(db) to a database just created (plain
// apply(): outside the replication order, as the creation itself is). The
// first refusal's message, or nullopt when every op was applied.
std::optional<std::string> apply_default_security(storage::database& db);

// Which action a parsed SQL statement needs: select/traverse/explain read;
// insert/create vertex/create edge create; update update; delete/delete
// vertex/delete edge remove; create/drop class, property, index schema; user
// statements and any write naming OUser/ORole (or a subclass) security.
// Without a database a write whose target is RIDs or a cluster cannot be
// told apart from a write to OUser: the overload with `db` resolves them.
db_action statement_action(const query::statement& s);
db_action statement_action(const storage::database& db, const query::statement& s);

// ---- helpers, exposed for the REST layer and tests -------------------------

// Whether `class_name` is OUser or ORole or a subclass of either (in `db`;
// case-insensitive). Writes to such records need db_action::security.
bool is_security_class(const storage::database& db, std::string_view class_name);
// What one record or schema op needs from a database user (REST's document
// routes and the console's record commands alike): a write to an OUser/ORole
// record (by class or by the RID's record) is security; a statement op is
// judged as the statement it holds (unreadable: security); schema ops are schema.
db_action op_action(const storage::database& db, const storage::op& o);

// Password check for a database user: verify_password on the stored form,
// through `cache` (entries keyed by "<db>/<user>", so a password changed in
// the database, i.e. a new stored value, matches no old entry).
bool check_password(password_cache& cache, std::string_view db_name, const db_user& u, std::string_view candidate);

// OrientDB 2.2's permission bits.
inline constexpr int permission_create = 1;
inline constexpr int permission_read = 2;
inline constexpr int permission_update = 4;
inline constexpr int permission_delete = 8;
inline constexpr int permission_all = 15;

}  // namespace troupe::auth
