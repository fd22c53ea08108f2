// src/auth/db_users: database users and roles over real storage. The default
// security records of a new database; a table of each default role against
// each action; unknown, inactive and two-role users; passwords; which action
// each statement needs; OrientDB's 403 wording.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include <chrono>

#include "src/auth/db_users.hpp"
#include "src/query/command.hpp"
#include "src/query/parser.hpp"
#include "src/query/write.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::auth;
using namespace troupe::storage::testing;
namespace json = boost::json;

namespace {

// A database as storage creates it, with the default security records.
struct secured_db {
  test::temp_dir dir{"troupe-auth"};
  std::unique_ptr<storage::database> db;
  secured_db() {
    auto d = storage::database::open(dir / "db");
    REQUIRE(d.ok());
    db = std::move(*d);
    for (auto& r : db->apply(default_security_ops())) REQUIRE_MESSAGE(r.code == storage::errc::ok, r.message);
  }
  // Replaces the OUser record of `name`'s fields (keeping the others).
  void set_user_field(std::string_view name, std::string_view field, json::value v) {
    auto idx = db->index_find("OUser.name", {json::value(json::string(name))}, 2);
    REQUIRE(idx.size() == 1);
    auto r = db->find(idx[0]);
    REQUIRE(r);
    auto o = json::parse(r->fields).as_object();
    o[field] = std::move(v);
    auto res = db->apply({update_op(idx[0], json::serialize(o))});
    REQUIRE_MESSAGE(res[0].code == storage::errc::ok, res[0].message);
  }
};

query::statement parsed(std::string_view sql) {
  auto p = query::parse(sql);
  REQUIRE_MESSAGE(std::holds_alternative<query::statement>(p), sql);
  return std::get<query::statement>(std::move(p));
}

const db_action all_actions[] = {db_action::read,   db_action::create, db_action::update,
                                 db_action::remove, db_action::schema, db_action::security};

}  // namespace

TEST_CASE("auth: a new database gets ORole, OUser, three roles and three users, as OrientDB 2.2") {
  secured_db s;
  auto& db = *s.db;
  REQUIRE(db.class_by_name("ORole"));
  REQUIRE(db.class_by_name("OUser"));
  CHECK(db.index_by_name("OUser.name")->unique);
  CHECK(db.index_by_name("ORole.name")->unique);
  CHECK(db.check().ok());
  // The plain form's assumption about a fresh database: each class's records in its own cluster.
  CHECK(db.browse_cluster(db.class_by_name("ORole")->default_cluster, 10).size() == 3);
  CHECK(db.browse_cluster(db.class_by_name("OUser")->default_cluster, 10).size() == 3);
  for (auto name : {"admin", "writer", "reader"}) {
    CAPTURE(name);
    auto u = find_user(db, name);
    REQUIRE(u);
    CHECK(u->name == name);
    CHECK(u->active);
    REQUIRE(u->roles.size() == 1);
    CHECK(u->roles[0] == name);  // each default user has the role of its name
    auto stored = parse_stored_password(u->password);
    REQUIRE(stored.ok());
    CHECK(stored->scheme == password_scheme::pbkdf2_sha256);
    CHECK(stored->iterations == password_iterations_default);
    CHECK(verify_password(*stored, name));
    CHECK_FALSE(verify_password(*stored, std::string(name) + "x"));
  }
  // OrientDB's layout: roles are RIDs of ORole records, status ACTIVE.
  auto admin = db.find(db.index_find("OUser.name", {json::value("admin")}, 1).at(0));
  auto o = json::parse(admin->fields).as_object();
  CHECK(o.at("status") == "ACTIVE");
  auto role_rid = storage::rid::parse(o.at("roles").as_array().at(0).as_string());
  REQUIRE(role_rid);
  CHECK(db.find(*role_rid)->class_name == "ORole");
  // Fresh salts: two databases never share a stored value.
  secured_db other;
  CHECK(find_user(*other.db, "admin")->password != find_user(db, "admin")->password);
}

TEST_CASE("auth: each default role against each action") {
  secured_db s;
  struct row {
    const char* user;
    bool read, create, update, remove, schema, security;
  };
  const row table[] = {
      {"admin", true, true, true, true, true, true},
      {"writer", true, true, true, true, false, false},
      {"reader", true, false, false, false, false, false},
  };
  for (auto& r : table) {
    auto u = find_user(*s.db, r.user);
    REQUIRE(u);
    const bool expected[] = {r.read, r.create, r.update, r.remove, r.schema, r.security};
    for (size_t i = 0; i < 6; ++i) {
      CAPTURE(r.user);
      CAPTURE(action_name(all_actions[i]));
      CAPTURE(i);
      CHECK(allows(*s.db, *u, all_actions[i]) == expected[i]);
    }
  }
}

TEST_CASE("auth: unknown users, databases without OUser, inactive users, unknown roles") {
  secured_db s;
  CHECK_FALSE(find_user(*s.db, "nobody"));
  CHECK_FALSE(find_user(*s.db, "Admin"));  // names compare exactly
  CHECK_FALSE(find_user(*s.db, ""));

  test::temp_dir dir{"troupe-auth-bare"};
  auto bare = storage::database::open(dir / "db");
  REQUIRE(bare.ok());
  CHECK_FALSE(find_user(**bare, "admin"));

  s.set_user_field("admin", "status", "SUSPENDED");
  auto admin = find_user(*s.db, "admin");
  REQUIRE(admin);
  CHECK_FALSE(admin->active);
  for (auto a : all_actions) CHECK_FALSE(allows(*s.db, *admin, a));
  password_cache cache;
  CHECK_FALSE(check_password(cache, "db", *admin, "admin"));

  // A role that does not exist grants nothing; a dangling role RID neither.
  db_user ghost{"ghost", "", {"nosuchrole"}, true};
  for (auto a : all_actions) CHECK_FALSE(allows(*s.db, ghost, a));
  s.set_user_field("writer", "roles", json::array{"#5:99"});
  auto writer = find_user(*s.db, "writer");
  REQUIRE(writer);
  CHECK(writer->roles.empty());
  CHECK_FALSE(allows(*s.db, *writer, db_action::read));
}

TEST_CASE("auth: a user with two roles has the union of their permissions") {
  secured_db s;
  // A role that may change the schema but not write records (mode 0 + one rule).
  json::object rules{{"database.schema", permission_all}, {"database.class.*", permission_read}};
  json::object f{{"name", "architect"}, {"mode", 0}, {"rules", rules}};
  auto res = s.db->apply({create_op("ORole", json::serialize(f))});
  REQUIRE(res[0].code == storage::errc::ok);
  // One by RID, one by name (troupe's tolerance for hand-written records).
  s.set_user_field("reader", "roles", json::array{json::string(res[0].rec.id.to_string()), "writer"});
  auto u = find_user(*s.db, "reader");
  REQUIRE(u);
  CHECK(u->roles == std::vector<std::string>{"architect", "writer"});
  CHECK(allows(*s.db, *u, db_action::schema));    // from architect
  CHECK(allows(*s.db, *u, db_action::create));    // from writer
  CHECK_FALSE(allows(*s.db, *u, db_action::security));  // from neither
}

TEST_CASE("auth: passwords are checked against the stored hash, through the cache") {
  secured_db s;
  password_cache cache;
  auto reader = find_user(*s.db, "reader");
  REQUIRE(reader);
  CHECK(check_password(cache, "db", *reader, "reader"));
  CHECK(cache.size() == 1);
  CHECK(check_password(cache, "db", *reader, "reader"));  // remembered
  CHECK(cache.size() == 1);
  CHECK_FALSE(check_password(cache, "db", *reader, "writer"));
  CHECK_FALSE(check_password(cache, "db", *reader, ""));
  // A changed stored value matches no old entry.
  s.set_user_field("reader", "password", json::string(hash_password("new", password_iterations_min)));
  auto changed = find_user(*s.db, "reader");
  CHECK_FALSE(check_password(cache, "db", *changed, "reader"));
  CHECK(check_password(cache, "db", *changed, "new"));
  // A plaintext stored value (OrientDB 1.x, or a hand-written record) works.
  s.set_user_field("writer", "password", "plain");
  CHECK(check_password(cache, "db", *find_user(*s.db, "writer"), "plain"));
  CHECK_FALSE(check_password(cache, "db", *find_user(*s.db, "writer"), "Plain"));
}

TEST_CASE("auth: duplicate user names are refused by the UNIQUE index") {
  secured_db s;
  json::object f{{"name", "reader"}, {"password", "x"}, {"status", "ACTIVE"}, {"roles", json::array{}}};
  auto res = s.db->apply({create_op("OUser", json::serialize(f))});
  CHECK(res[0].code == storage::errc::duplicate_key);
}

TEST_CASE("auth: default_security_ops(db) fits a database that already has classes") {
  test::temp_dir dir{"troupe-auth-classes"};
  auto d = storage::database::open(dir / "db");
  REQUIRE(d.ok());
  auto& db = **d;
  REQUIRE(db.apply({class_op("Person"), class_op("Song", "V")})[0].code == storage::errc::ok);
  for (auto& r : db.apply(default_security_ops(db))) REQUIRE_MESSAGE(r.code == storage::errc::ok, r.message);
  auto u = find_user(db, "writer");
  REQUIRE(u);
  CHECK(u->roles == std::vector<std::string>{"writer"});
  CHECK(allows(db, *u, db_action::update));
  CHECK_FALSE(allows(db, *u, db_action::schema));
  // Every record lands in its class's own cluster.
  for (auto cls : {"ORole", "OUser"}) {
    auto c = db.class_by_name(cls);
    REQUIRE(c);
    CHECK(db.browse_cluster(c->default_cluster, 10).size() == 3);
  }
}

TEST_CASE("auth: OrientDB's 403 wording") {
  db_user reader{"reader", "", {"reader"}, true};
  CHECK(denied_message(reader, db_action::create) ==
        "User 'reader' does not have permission to execute the operation 'Create' against the resource: "
        "ResourceGeneric [name=CLASS, legacyName=database.class].*");
  CHECK(denied_message(reader, db_action::remove).find("operation 'Delete'") != std::string::npos);
  CHECK(denied_message(reader, db_action::schema).find("legacyName=database.schema") != std::string::npos);
  CHECK(denied_message(reader, db_action::security).find("database.class].ouser") != std::string::npos);
  CHECK(std::string(action_name(db_action::read)) == "Read");
  CHECK(std::string(action_name(db_action::update)) == "Update");
}

TEST_CASE("auth: which action each statement needs") {
  secured_db s;
  auto& db = *s.db;
  REQUIRE(db.apply({class_op("Person"), class_op("Admin2", "OUser")})[0].code == storage::errc::ok);
  auto person = db.apply({create_op("Person", R"({"name":"a"})")})[0].rec.id;
  auto admin_rid = db.index_find("OUser.name", {json::value("admin")}, 1).at(0);
  auto ouser_cluster = db.class_by_name("OUser")->default_cluster;
  struct row {
    std::string sql;
    db_action without_db, with_db;
  };
  const row table[] = {
      {"select from Person", db_action::read, db_action::read},
      {"select from OUser", db_action::read, db_action::read},
      {"traverse out() from #9:0", db_action::read, db_action::read},
      {"explain select from V", db_action::read, db_action::read},
      {"insert into Person set a = 1", db_action::create, db_action::create},
      {"insert into OUser set name = 'x'", db_action::security, db_action::security},
      {"insert into ouser set name = 'x'", db_action::security, db_action::security},
      {"insert into Admin2 set name = 'x'", db_action::create, db_action::security},  // a subclass of OUser
      {"create vertex V set a = 1", db_action::create, db_action::create},
      {"create edge E from #9:0 to #9:1", db_action::create, db_action::create},
      {"update Person set a = 2", db_action::update, db_action::update},
      {"update OUser set password = 'x' where name = 'reader'", db_action::security, db_action::security},
      {"update ORole set mode = 1", db_action::security, db_action::security},
      {cat("update ", person.to_string(), " set a = 2"), db_action::update, db_action::update},
      {cat("update ", admin_rid.to_string(), " set status = 'ACTIVE'"), db_action::update, db_action::security},
      {cat("update cluster:", ouser_cluster, " set a = 1"), db_action::update, db_action::security},
      {"update cluster:ouser set a = 1", db_action::security, db_action::security},
      {"delete from Person", db_action::remove, db_action::remove},
      {"delete from OUser where name = 'reader'", db_action::security, db_action::security},
      {cat("delete from ", admin_rid.to_string()), db_action::remove, db_action::security},
      {"delete vertex V", db_action::remove, db_action::remove},
      {"delete edge E", db_action::remove, db_action::remove},
      {"create class Foo", db_action::schema, db_action::schema},
      {"drop class Person", db_action::schema, db_action::schema},
      {"create property Person.a STRING", db_action::schema, db_action::schema},
      {"create index Person.name UNIQUE", db_action::schema, db_action::schema},
      {"drop index Person.name", db_action::schema, db_action::schema},
  };
  for (auto& r : table) {
    CAPTURE(r.sql);
    auto st = parsed(r.sql);
    CHECK(statement_action(st) == r.without_db);
    CHECK(statement_action(db, st) == r.with_db);
  }
}

// ---- SQL user statements (planned by src/query/write.cpp) --------------------

namespace {

// Plans `sql` and applies it as the owner does (one all-or-nothing entry).
query::write_result run_sql(storage::database& db, std::string_view sql) {
  auto r = query::plan_sql(db, sql);
  if (auto* plan = std::get_if<query::write_plan>(&r); plan && !plan->ops.empty()) {
    auto c = db.commit_new({storage::staged_entry{db.last_committed_seq() + 1, 1, plan->ops}});
    REQUIRE(c.ok());
    for (auto& res : (*c)[0]) REQUIRE_MESSAGE(res.code == storage::errc::ok, res.message);
  }
  return r;
}

query::write_error sql_refused(storage::database& db, std::string_view sql) {
  auto r = query::plan_sql(db, sql);
  REQUIRE_MESSAGE(std::holds_alternative<query::write_error>(r), "planned: " << sql);
  return std::get<query::write_error>(r);
}

}  // namespace

TEST_CASE("auth: CREATE USER, ALTER USER, DROP USER and password updates of OUser, planned and applied") {
  secured_db s;
  auto& db = *s.db;
  password_cache cache;

  // No ROLE: writer, as OrientDB 3.0. The answer shows the stored (hashed) password.
  auto r = run_sql(db, "CREATE USER alice IDENTIFIED BY 'wonder land'");
  REQUIRE(std::holds_alternative<query::write_plan>(r));
  CHECK(std::get<query::write_plan>(r).answer.find("wonder land") == std::string::npos);
  auto alice = find_user(db, "alice");
  REQUIRE(alice);
  CHECK(alice->roles == std::vector<std::string>{"writer"});
  CHECK(alice->active);
  CHECK(parse_stored_password(alice->password)->hashed());
  CHECK(check_password(cache, "db", *alice, "wonder land"));
  CHECK(allows(db, *alice, db_action::create));
  CHECK_FALSE(allows(db, *alice, db_action::schema));

  REQUIRE(std::holds_alternative<query::write_plan>(run_sql(db, "CREATE USER bob IDENTIFIED BY b ROLE [reader, admin]")));
  auto bob = find_user(db, "bob");
  REQUIRE(bob);
  CHECK(bob->roles == std::vector<std::string>{"reader", "admin"});
  CHECK(allows(db, *bob, db_action::security));

  // Refusals: a taken name (OrientDB's duplicate-key message), an unknown role.
  auto dup = sql_refused(db, "CREATE USER alice IDENTIFIED BY x");
  CHECK(dup.kind == query::write_error_kind::duplicate);
  CHECK(dup.message.find("found duplicated key 'alice' in index 'OUser.name'") != std::string::npos);
  auto role = sql_refused(db, "CREATE USER carol IDENTIFIED BY x ROLE [reader, boss]");
  CHECK(role.kind == query::write_error_kind::not_found);
  CHECK(role.message == "Role 'boss' was not found");
  CHECK_FALSE(find_user(db, "carol"));

  // ALTER USER: a new hash; the old password no longer works.
  REQUIRE(std::holds_alternative<query::write_plan>(run_sql(db, "ALTER USER alice IDENTIFIED BY fresh")));
  alice = find_user(db, "alice");
  CHECK(check_password(cache, "db", *alice, "fresh"));
  CHECK_FALSE(check_password(cache, "db", *alice, "wonder land"));
  CHECK(sql_refused(db, "ALTER USER nobody IDENTIFIED BY x").message == "User 'nobody' was not found");

  // OrientDB's hook: a plain password written by UPDATE or INSERT is stored hashed.
  REQUIRE(std::holds_alternative<query::write_plan>(
      run_sql(db, "update OUser set password = 'x' where name = 'reader'")));
  auto reader = find_user(db, "reader");
  CHECK(parse_stored_password(reader->password)->hashed());
  CHECK(check_password(cache, "db", *reader, "x"));
  CHECK_FALSE(check_password(cache, "db", *reader, "reader"));
  auto before = reader->password;
  // Another field changed: the stored hash is kept as it is.
  REQUIRE(std::holds_alternative<query::write_plan>(
      run_sql(db, "update OUser set status = 'ACTIVE' where name = 'reader'")));
  CHECK(find_user(db, "reader")->password == before);
  REQUIRE(std::holds_alternative<query::write_plan>(run_sql(
      db, "insert into OUser set name = 'dave', password = 'pw', status = 'ACTIVE', roles = ['reader']")));
  auto dave = find_user(db, "dave");
  REQUIRE(dave);
  CHECK(parse_stored_password(dave->password)->hashed());
  CHECK(check_password(cache, "db", *dave, "pw"));

  // DROP USER.
  REQUIRE(std::holds_alternative<query::write_plan>(run_sql(db, "DROP USER alice")));
  CHECK_FALSE(find_user(db, "alice"));
  CHECK(sql_refused(db, "DROP USER alice").kind == query::write_error_kind::not_found);
  CHECK(db.check().ok());

  // A database without the security classes.
  test::temp_dir dir{"troupe-auth-nousers"};
  auto bare = storage::database::open(dir / "db");
  REQUIRE(bare.ok());
  CHECK(sql_refused(**bare, "CREATE USER a IDENTIFIED BY b").message == "Class 'OUser' was not found");

  // Which action the user statements need.
  CHECK(statement_action(parsed("CREATE USER a IDENTIFIED BY b")) == db_action::security);
  CHECK(statement_action(parsed("DROP USER a")) == db_action::security);
  CHECK(statement_action(parsed("ALTER USER a IDENTIFIED BY b")) == db_action::security);
}

TEST_CASE("auth: a request's check (find_user, a cached password, allows) costs microseconds, not a PBKDF2") {
  secured_db s;
  password_cache cache;
  REQUIRE(check_password(cache, "db", *find_user(*s.db, "writer"), "writer"));  // the one PBKDF2
  constexpr int n = 2000;
  auto start = std::chrono::steady_clock::now();
  int ok = 0;
  for (int i = 0; i < n; ++i) {
    auto u = find_user(*s.db, "writer");
    ok += u && check_password(cache, "db", *u, "writer") && allows(*s.db, *u, db_action::update);
  }
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  CHECK(ok == n);
  MESSAGE("per request: " << us / n << " us (" << n << " checks)");
  // One PBKDF2 of 65536 rounds takes ~20-60 ms here: a check must stay far below it.
  CHECK(us / n < 2000);
}

TEST_CASE("auth: what each record or schema op needs (REST's document routes and the console's record commands)") {
  secured_db s;
  auto& db = *s.db;
  auto made = db.apply({create_op("V", R"({"a":1})")});
  REQUIRE(made[0].code == storage::errc::ok);
  auto v = made[0].rec.id;
  auto admin = db.index_find("OUser.name", {json::value(json::string("admin"))}, 2);
  REQUIRE(admin.size() == 1);
  auto stmt = [](std::string text) { return query::statement_op(query::command{std::move(text), {}}); };
  storage::op garbled = stmt("x");
  garbled.fields = "{not json";
  struct row {
    const char* what;
    storage::op o;
    db_action needs;
  } rows[] = {
      {"create in V", create_op("V", "{}"), db_action::create},
      {"create in OUser", create_op("OUser", R"({"name":"x"})"), db_action::security},
      {"create in ORole", create_op("ORole", R"({"name":"x"})"), db_action::security},
      {"update of a V record", update_op(v, "{}"), db_action::update},
      {"remove of a V record", remove_op(v), db_action::remove},
      {"update of admin's OUser record by RID", update_op(admin[0], "{}"), db_action::security},
      {"remove of admin's OUser record by RID", remove_op(admin[0]), db_action::security},
      {"create class", class_op("Thing"), db_action::schema},
      {"a statement op: insert", stmt("insert into V set a = 1"), db_action::create},
      {"a statement op: create class", stmt("create class Thing"), db_action::schema},
      {"a statement op: drop user", stmt("drop user reader"), db_action::security},
      {"a statement op that does not parse", stmt("selec nothing"), db_action::security},
      {"a statement op that cannot be read", garbled, db_action::security},
  };
  for (auto& r : rows) {
    CAPTURE(r.what);
    CHECK(op_action(db, r.o) == r.needs);
  }
}
