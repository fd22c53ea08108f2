// The real `console` program against a live 2-node cluster started in this
// process (real loopback TCP, ports 29000-29099): a scripted session checking
// every command's output, the same console through a pseudo-terminal (prompt,
// line editing), bad credentials, an unreachable node and bad input.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include <caf/io/all.hpp>

#include "actors/console_client.hpp"
#include "actors/node.hpp"
#include "actors/protocol.hpp"
#include "src/auth/db_users.hpp"
#include "src/config/password.hpp"
#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/documents.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
using troupe::test::child_process;
using troupe::test::eventually;
using troupe::test::process_options;

namespace {

constexpr const char* root_password = "console-test-pw";
// The user "hashed" is stored as OrientDB 2.2 stores passwords: a PBKDF2 hash.
constexpr const char* hashed_password = "hashed-console-pw";

std::string console_path() {
  const char* p = std::getenv("TROUPE_CONSOLE");
  REQUIRE_MESSAGE(p != nullptr, "TROUPE_CONSOLE is not set (run through meson test)");
  return p;
}

std::chrono::steady_clock::time_point test_start() {
  static const auto start = std::chrono::steady_clock::now();
  return start;
}

// One node of the test cluster: its own home, a database "demo", a known root
// password and every port in 29000-29099.
struct console_node {
  std::string name;
  test::temp_dir home{"troupe-console"};
  std::mutex mtx;
  std::vector<std::string> lines;
  logger log{"?", nullptr};
  std::unique_ptr<node> n;

  // Everything the node logged, for a failure message.
  std::string log_text() {
    std::lock_guard<std::mutex> g(mtx);
    std::string out;
    for (auto& l : lines) out += l + "\n";
    return out;
  }

  bool logged(const std::string& needle) {
    std::lock_guard<std::mutex> g(mtx);
    for (auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }

  // `docs`: that many 1 KiB documents in "demo" (-1: no database at all);
  // `chunk_delay`: the deploy test seam, so a transfer lasts long enough to watch.
  // `users`: "demo" also gets OrientDB's default database users (admin,
  // writer, reader: src/auth/db_users.hpp), as a new database does.
  void start(const std::string& node_name, int docs = 0, std::chrono::milliseconds chunk_delay = 0ms,
             bool users = false) {
    name = node_name;
    test::make_home(home.path());
    fs::create_directories(home / "databases");
    if (docs >= 0) test::fill_documents(home / "databases" / "demo", docs, 7);
    if (docs >= 0 && users) {
      auto db = storage::database::open(home / "databases" / "demo");
      REQUIRE(db.ok());
      for (auto& r : (*db)->apply(auth::default_security_ops(**db))) REQUIRE_MESSAGE(r.code == storage::errc::ok, r.message);
    }
    auto s = prepare_server(test::home_options(home.path(), name));
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
    auto& hz = s->hazelcast;
    hz.group_name = "troupe-console-test";
    hz.group_password = "console-group";
    hz.port = 29034;
    hz.auto_increment = true;
    hz.port_count = 6;
    hz.members = {member_address{"127.0.0.1", {29034, 29039}}};
    // CAF takes the heartbeat interval as the BASP handshake timeout, and a link
    // through the guards (src/link/guard.hpp) first runs its own handshake:
    // 100 ms, then 250 ms, were too tight while deploys load a 2-core machine
    // (a connection that times out leaves a member unheard, then removed).
    hz.heartbeat_interval = 500ms;
    hz.heartbeat_timeout = 2000ms;
    for (auto& l : s->server.listeners) {
      if (l.protocol == "http") l.ports = {29080, 29089};
      if (l.protocol == "binary") l.ports = {29024, 29029};
    }
    bool root = false;
    for (auto& u : s->server.users)
      if (u.name == "root") {
        u.password = root_password;
        root = true;
      }
    if (!root) s->server.users.push_back(user_config{"root", root_password, "*"});
    s->server.users.push_back(user_config{"hashed", hash_password(hashed_password), "*"});
    log.set_node(name);
    // Each captured line starts with the ms since the test began: a failure
    // shows when things happened (a heartbeat gap is a gap in time).
    log.set_tee([this](log_level, std::string_view r) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - test_start())
                    .count();
      std::lock_guard<std::mutex> g(mtx);
      lines.emplace_back(cat("+", ms, "ms ", r));
    });
    node_options no{*s, &log, 2};
    no.create_demo = false;
    no.http_threads = 1;
    no.admin_endpoint = true;
    no.test_deploy_chunk_delay = chunk_delay;
    n = std::make_unique<node>(std::move(no));
    auto st = n->start();
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().render()));
    REQUIRE(n->admin_port() >= 29024);
    REQUIRE(n->admin_port() <= 29029);
  }

  size_t members() {
    auto s = n->cluster(2s);
    return s ? s->view.members.size() : 0;
  }
};

// Runs the console with `script` on its standard input (pipes, not a terminal).
struct run_result {
  int code = -1;
  std::string out;
};
run_result run_console(const std::string& script, std::vector<std::string> args = {}) {
  process_options o;
  o.argv = {console_path()};
  for (auto& a : args) o.argv.push_back(a);
  child_process p(o);
  p.write_input(script);
  p.close_input();
  auto code = p.wait_exit(60s);
  REQUIRE_MESSAGE(code.has_value(), p.output());
  return {*code, p.output()};
}

bool has(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("console: a scripted session against a live 2-node cluster, through a terminal, and bad credentials") {
  console_node a, b;
  a.start("alpha");
  b.start("beta");
  // On a failure, what the nodes said (a member lost under load was seen twice, cause unknown).
  INFO("alpha's log:\n" << a.log_text() << "beta's log:\n" << b.log_text());
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  auto url_a = cat("remote:127.0.0.1:", a.n->admin_port(), "/demo");
  auto url_b = cat("remote:127.0.0.1:", b.n->admin_port());

  // Every command once, each with its result checked. The failures at the end
  // are on purpose: a script goes on after a failed command and exits 1.
  auto script = cat("connect ", url_a, " root ", root_password, "\n",
                    "list databases\n"
                    "actors\n"
                    "inspect cluster\n"
                    "members\n"
                    "list servers\n"
                    "partitions\n"
                    "config demo\n"
                    "deploys\n"
                    "replication\n"
                    "cluster status\n"
                    "ha status\n"
                    "# a comment, then a blank line\n"
                    "\n"
                    "create class Person extends V\n"
                    "create record Person {\"name\": \"Jerry\", \"age\": 53}\n"
                    "load record #5:0\n"
                    "update record #5:0 {\"@version\": 1, \"name\": \"Jerry Garcia\"}\n"
                    "browse cluster person\n"
                    "info\n"
                    "create database fresh\n"
                    "list databases\n"
                    "update record #5:0 {\"@version\": 1, \"name\": \"stale\"}\n"
                    "delete record #5:0\n"
                    "load record #5:0\n"
                    "inspect nosuch\n"
                    "membrs\n");
  auto r = run_console(script);
  INFO(r.out);
  CHECK(r.code == 1);
  auto& out = r.out;
  CHECK(has(out, cat("Connected to 127.0.0.1:", a.n->admin_port(), " as root, database demo\n")));
  CHECK(has(out, "Found 1 database(s):\n* demo (plocal)\n"));
  // actors: name, id, mailbox, state of every actor of the node
  CHECK(has(out, "ID  MAILBOX  STATE\n"));
  for (auto* actor : {"server ", "databases ", "cluster ", "partitions ", "config:demo ", "db:demo ", "admin ",
                      "session:root "})
    CHECK_MESSAGE(has(out, cat("\n", actor)), actor);
  CHECK(has(out, "alpha ONLINE"));
  CHECK(has(out, "view v"));
  // inspect cluster: its full state
  CHECK(has(out, "actor:   cluster\n"));
  CHECK(has(out, "\"heardMsAgo\": {"));
  CHECK(has(out, "\"connected\": [\"beta\"]"));
  // members and list servers: both members, addresses, databases, heartbeat age
  CHECK(has(out, "alpha (*)  ONLINE"));
  CHECK(has(out, cat("cluster 127.0.0.1:", a.n->cluster_port(), ", http 127.0.0.1:", a.n->http_port())));
  CHECK(has(out, cat("cluster 127.0.0.1:", b.n->cluster_port())));
  CHECK(has(out, "demo=ONLINE"));
  CHECK(has(out, " ms ago\n"));
  CHECK(has(out, "2 member(s), view version"));
  // partitions and config
  CHECK(has(out, "Partition table of demo:\nCLUSTER  PARTITION  REPLICAS     OWNER\n"));
  CHECK(has(out, "*        0          alpha, beta  alpha\n"));
  CHECK(has(out, "Distributed configuration of demo (version "));
  CHECK(has(out, "[\"<NEW_NODE>\", \"alpha\", \"beta\"]"));
  CHECK(has(out, "No deploys in flight.\n"));
  // replication: each node's LSN, committed seq and lag (nothing written yet)
  CHECK(has(out, "Replication of demo:\nNODE   STATUS  LAST LSN  SEQ  LAG\n"));
  CHECK(has(out, "\nalpha  ONLINE  0         0    0\n"));
  CHECK(has(out, "\nbeta   ONLINE  0         0    0\n"));
  CHECK(has(out, "LAG: writes the node has yet to commit"));
  CHECK(has(out, "\"localName\": \"alpha\""));
  CHECK(has(out, "SERVERS\n"));
  CHECK(has(out, "DATABASES\n"));
  // database commands
  CHECK(has(out, "Class 'Person' created successfully\n"));
  CHECK(has(out, "Created record:\n{\n  \"@type\": \"d\",\n  \"@rid\": \"#5:0\",\n  \"@version\": 1,\n  \"@class\": "
                 "\"Person\",\n  \"name\": \"Jerry\",\n  \"age\": 53\n}\n"));
  CHECK(has(out, "Updated record:\n"));
  CHECK(has(out, "\"@version\": 2"));
  CHECK(has(out, "\"name\": \"Jerry Garcia\""));
  CHECK(has(out, "{\"@type\":\"d\",\"@rid\":\"#5:0\",\"@version\":2,\"@class\":\"Person\",\"name\":\"Jerry Garcia\""));
  CHECK(has(out, "1 record(s) of cluster person\n"));
  CHECK(has(out, "Database demo (last LSN 3)\n"));
  CHECK(has(out, "person(5)"));
  CHECK(has(out, "Database created successfully: fresh\n"));
  CHECK(has(out, "Found 2 database(s):\n* demo (plocal)\n* fresh (plocal)\n"));
  // failures, each with its own sentence
  CHECK(has(out, "Error: Cannot UPDATE the record #5:0 because the version is not the latest (your=v1)\n"));
  CHECK(has(out, "Deleted record #5:0\n"));
  CHECK(has(out, "Error: Record #5:0 not found\n"));
  CHECK(has(out, "Error: no actor 'nosuch' on this node (actors: server, databases"));
  CHECK(has(out, "Error: unknown command 'membrs'. Did you mean 'members'?\n"));
  CHECK_FALSE(has(out, "orientdb>"));  // no prompt without a terminal
  CHECK_FALSE(has(out, "\x1b["));      // no colours either

  // The other node, through the same cluster: both members and the LSN of each.
  r = run_console(cat("connect ", url_b, " root ", root_password, "\nmembers\nreplication demo\nexit\nactors\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "beta (*)  ONLINE"));
  CHECK(has(r.out, "\nalpha     ONLINE"));
  // alpha's writes above: 5 in the replication order (the refused update too),
  // 4 changes; beta received them (the session asks after they were answered).
  CHECK(has(r.out, "\nalpha  ONLINE  4         5    0\n"));
  CHECK(has(r.out, "\nbeta   ONLINE  4         5    0\n"));
  CHECK_FALSE(has(r.out, "MAILBOX"));  // nothing after exit

  // Bad credentials: a clear error, a line on the node, and nothing shown after.
  r = run_console(cat("connect ", url_a, " root wrong-password\nmembers\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: wrong user name or password\n"), r.out);
  CHECK(has(r.out, "Error: not connected: connect remote:<host>[:<port>] <user> <password> first\n"));
  CHECK_FALSE(has(r.out, "alpha"));
  CHECK(eventually([&] { return a.logged("wrong user name or password from console at 127.0.0.1"); }));
  CHECK(a.logged("(user 'root', 1 failures)"));
  r = run_console(cat("connect ", url_a, " nobody ", root_password, "\n"));
  CHECK(has(r.out, "Error: wrong user name or password\n"));
  // A user whose stored password is a PBKDF2 hash: the node has no password to
  // check against, the console proves the key derived with the node's salt.
  r = run_console(cat("connect ", url_a, " hashed ", hashed_password, "\nlist databases\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, cat("Connected to 127.0.0.1:", a.n->admin_port(), " as hashed, database demo\n")));
  CHECK(has(r.out, "* demo (plocal)"));
  r = run_console(cat("connect ", url_a, " hashed ", root_password, "\nlist databases\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: wrong user name or password\n"), r.out);
  // (Not logged again: wrong logins are logged per address at most every 10 s,
  // and this address was logged above.)
  // A user without server.info may list databases but not inspect the node.
  r = run_console(cat("connect ", url_a, " guest guest\nlist databases\nactors\n"));
  CHECK(r.code == 1);
  CHECK(has(r.out, "* demo (plocal)"));
  CHECK(has(r.out, "Error: User 'guest' has no permission for server.info\n"));

  // The same console through a pseudo-terminal: banner, prompt, line editing.
  test::temp_dir home{"troupe-console-home"};
  process_options o;
  o.argv = {console_path()};
  o.env = {{"HOME", home.path().string()}, {"TERM", "xterm"}};
  o.pty = true;
  child_process p(o);
  REQUIRE_MESSAGE(p.wait_for_output("orientdb> ", 20s), p.output());
  CHECK(has(p.output(), "troupe console v"));
  p.write_input(cat("connect ", url_a, " root ", root_password, "\r"));
  REQUIRE_MESSAGE(p.wait_for_output("orientdb {db=demo}> ", 20s), p.output());
  auto mark = p.output().size();
  // "membersXY", two backspaces, enter: the line edited back to "members".
  p.write_input("membersXY\x7f\x7f\r");
  REQUIRE_MESSAGE(p.wait_for_output("2 member(s), view version", 20s, mark), p.output());
  CHECK(has(p.output().substr(mark), "\x1b[1mNAME"));  // bold headers on a terminal
  CHECK_FALSE(has(p.output().substr(mark), "unknown command"));
  mark = p.output().size();
  p.write_input("exit\r");
  auto code = p.wait_exit(20s);
  REQUIRE_MESSAGE(code.has_value(), p.output());
  CHECK(*code == 0);
  CHECK(fs::exists(home / ".troupe_console_history"));
}

TEST_CASE("console: an unreachable node, a port that is not a console port, bad input and bad arguments") {
  auto r = run_console("connect remote:127.0.0.1:29099 root pw\nlist databases\nlst databases\nload record 12\n");
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: cannot reach a troupe node at 127.0.0.1:29099: connection refused"), r.out);
  CHECK(has(r.out, "Error: not connected"));
  CHECK(has(r.out, "Error: unknown command 'lst databases'. Did you mean 'list databases'?\n"));
  CHECK(has(r.out, "Error: '12' is not a record id"));
  // Only commands that cannot fail: exit 0, from a file and from the arguments.
  test::temp_dir d{"troupe-console-script"};
  test::write_text(d / "script.txt", "help\n# nothing else\n");
  r = run_console("", {"-f", (d / "script.txt").string()});
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "connect remote:<host>[:<port>][/<db>] <user> <password>"));
  r = run_console("", {"help; exit"});
  CHECK(r.code == 0);
  r = run_console("", {"-f", (d / "missing.txt").string()});
  CHECK(r.code == 2);
  CHECK(has(r.out, "cannot read"));
  r = run_console("", {"--bogus"});
  CHECK(r.code == 2);
}

TEST_CASE("console: a logged-in client that sends values the console would never send is refused, and the node serves on") {
  // The console checks what a user types; a client of its own may send
  // anything the protocol can carry. Each value is refused where it enters.
  console_node a;
  a.start("alpha", 3);
  console_client c;
  REQUIRE(c.connect("127.0.0.1", a.n->admin_port(), "root", root_password).ok());
  for (auto bad : {storage::rid{-1, 0}, storage::rid{32768, 0}, storage::rid{0, -1}, storage::rid{-7, -7}}) {
    auto r = c.load("demo", bad);
    REQUIRE_FALSE(r.ok());
    CHECK_MESSAGE(r.error().render().find("invalid RID") != std::string::npos, r.error().render());
    storage::op o;
    o.k = storage::op::kind::update;
    o.id = bad;
    o.fields = "{}";
    auto w = c.write("demo", o);
    CHECK((!w.ok() || w->code != storage::errc::ok));
    o.k = storage::op::kind::remove;
    w = c.write("demo", o);
    CHECK((!w.ok() || w->code != storage::errc::ok));
  }
  for (auto db : {"../demo", "", "demo/../../etc"}) CHECK_FALSE(c.load(db, storage::rid{9, 0}).ok());
  CHECK_FALSE(c.browse("demo", "v", 0).ok());
  CHECK_FALSE(c.browse("demo", "v", 1u << 30).ok());
  // Still serving, the same session and a new one.
  CHECK(c.databases().ok());
  console_client d;
  CHECK(d.connect("127.0.0.1", a.n->admin_port(), "root", root_password).ok());
  CHECK(a.n->info(2s).ok());
}

TEST_CASE("console: login: a challenge tells no user apart; the first protocol serves plaintext users only") {
  console_node a;
  a.start("alpha");
  caf::actor_system_config cfg;
  add_message_types(cfg);
  cfg.load<caf::io::middleman>();
  cfg.set("scheduler.max-threads", size_t{2});
  caf::actor_system sys{cfg};
  auto ep = sys.middleman().remote_actor<admin_actor>("127.0.0.1", a.n->admin_port());
  REQUIRE_MESSAGE(ep, "cannot reach the console port: " << sys.render(ep.error()));
  caf::scoped_actor self{sys};
  auto server = to_string(ep->node());
  auto client = to_string(sys.node());

  auto challenge = [&](const std::string& user) {
    login_challenge out;
    self->request(*ep, 5s, challenge_atom::value, user)
        .receive([&](login_challenge& c) { out = std::move(c); },
                 [&](caf::error& e) { FAIL_CHECK("challenge refused: " << sys.render(e)); });
    return out;
  };
  // Sends the proof for `nonce` keyed with `key`; true when a session comes back.
  auto prove = [&](const std::string& user, const std::string& nonce, const std::string& key) {
    bool in = false;
    auto proof = hmac_proof(key, {"troupe-console", nonce, user, client, server});
    self->request(*ep, 5s, login_atom::value, user, nonce, proof)
        .receive([&](caf::strong_actor_ptr& s) { in = s != nullptr; }, [&](caf::error&) {});
    return in;
  };
  auto first_protocol_nonce = [&](const std::string& user) {
    std::string out;
    self->request(*ep, 5s, login_atom::value, user)
        .receive([&](std::string& n) { out = std::move(n); },
                 [&](caf::error& e) { FAIL_CHECK("nonce refused: " << sys.render(e)); });
    return out;
  };

  // A plaintext-stored user (root) and an unknown one get the same kind of
  // challenge, each the same again apart from its nonce.
  auto root = challenge("root");
  auto nobody = challenge("nobody");
  for (auto* c : {&root, &nobody}) {
    CHECK(c->scheme == "PBKDF2WithHmacSHA256");
    CHECK(c->iterations == password_iterations_default);
    CHECK(c->key_bytes == password_hash_bytes_generated);
    CHECK(c->salt.size() == 2 * password_salt_bytes_generated);
  }
  auto nobody_again = challenge("nobody");
  CHECK(nobody_again.salt == nobody.salt);
  CHECK(nobody_again.nonce != nobody.nonce);
  CHECK(root.salt != nobody.salt);
  // The hashed user's challenge carries its stored salt; its key logs in.
  auto hashed = challenge("hashed");
  CHECK(hashed.scheme == "PBKDF2WithHmacSHA256");
  CHECK(hashed.iterations == password_iterations_default);
  CHECK(prove("hashed", hashed.nonce, *console_login_key(hashed, hashed_password)));
  // Each nonce once: the same proof again is refused.
  CHECK_FALSE(prove("hashed", hashed.nonce, *console_login_key(hashed, hashed_password)));
  CHECK(prove("root", root.nonce, *console_login_key(root, root_password)));
  // Under a challenge, the password itself as the key is refused, and nobody logs in.
  CHECK_FALSE(prove("root", challenge("root").nonce, root_password));
  CHECK_FALSE(prove("nobody", nobody.nonce, *console_login_key(nobody, root_password)));
  // The first protocol (the password as the key) still serves a plaintext-stored
  // user; a hashed one cannot pass it (the node has no password), nor with its key.
  CHECK(prove("root", first_protocol_nonce("root"), root_password));
  CHECK_FALSE(prove("hashed", first_protocol_nonce("hashed"), hashed_password));
  auto hashed_key = *console_login_key(challenge("hashed"), hashed_password);
  CHECK_FALSE(prove("hashed", first_protocol_nonce("hashed"), hashed_key));
}

TEST_CASE("console: wrong logins from one address are answered later and later, whichever console sends them, and "
          "logged without flooding") {
  console_node a;
  a.start("alpha", 0);
  // Each guess from another console (another CAF node id), as a guesser
  // would spread them: the address is what counts.
  std::vector<std::unique_ptr<console_client>> guessers;
  for (int i = 0; i < 5; ++i) guessers.push_back(std::make_unique<console_client>());
  console_client c;
  std::vector<std::chrono::milliseconds> took;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(guessers[static_cast<size_t>(i)]->connect("127.0.0.1", a.n->admin_port(), "root", "guess").ok());
    took.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0));
  }
  // The first three cost nothing; then 250 ms, 500 ms (login_guard's defaults).
  CHECK(took[3] >= 200ms);
  CHECK(took[4] >= 450ms);
  size_t lines = 0;
  {
    std::lock_guard<std::mutex> g(a.mtx);
    for (auto& l : a.lines) lines += l.find("wrong user name or password from console at 127.0.0.1") != std::string::npos;
  }
  CHECK(lines == 1);  // once per source per 10 s, with the count
  // The right password still works at once, and resets the count.
  CHECK(c.connect("127.0.0.1", a.n->admin_port(), "root", root_password).ok());
}

TEST_CASE("console: deploys shows a transfer while it runs, with progress, rate and time left") {
  console_node a, c;
  a.start("alpha", 3000, 250ms);  // several 1 MiB chunks, one per 250 ms
  c.start("gamma", -1);           // no database: it receives alpha's
  REQUIRE(eventually([&] { return test::receiving_midway(*c.n); }, 20s));
  auto r = run_console(cat("connect remote:127.0.0.1:", c.n->admin_port(), " root ", root_password,
                           "\ndeploys\nmembers\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(has(r.out, "DATABASE  DIRECTION   PHASE"), r.out);
  CHECK(has(r.out, "demo      from alpha  transfer"));
  CHECK(has(r.out, "MB/s"));
  CHECK(has(r.out, "1 deploy(s) in flight"));
  CHECK(has(r.out, "demo=SYNCHRONIZING"));
  // The sender's side of the same transfer, through the other node.
  r = run_console(cat("connect remote:127.0.0.1:", a.n->admin_port(), " root ", root_password, "\ndeploys\n"));
  CHECK_MESSAGE(has(r.out, "demo      to gamma"), r.out);
  REQUIRE(eventually([&] { return c.logged("database demo is online"); }, 30s));
  r = run_console(cat("connect remote:127.0.0.1:", c.n->admin_port(), " root ", root_password, "\ndeploys\n"));
  CHECK_MESSAGE(has(r.out, "No deploys in flight."), r.out);
}

// SQL at the prompt (src/console/sql.hpp), reads: a record written through one
// node is selected through the other, shown as OrientDB 2.2's console shows a
// result set; a syntax error is answered with its position, and the session
// goes on. The write is the console phrase here, so this runs today; the SQL
// write is the next test.
TEST_CASE("console: SQL at the prompt: a SELECT through node 2 sees a record written through node 1; a syntax error "
          "shows its position and the session goes on") {
  console_node a, b;
  a.start("alpha");
  b.start("beta");
  INFO("alpha's log:\n" << a.log_text() << "beta's log:\n" << b.log_text());
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  auto url_a = cat("remote:127.0.0.1:", a.n->admin_port(), "/demo");
  auto url_b = cat("remote:127.0.0.1:", b.n->admin_port(), "/demo");
  auto r = run_console(cat("connect ", url_a, " root ", root_password, "\ncreate record V {\"node\": 1, \"name\": \"one\"}\n"));
  REQUIRE_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "\"@rid\": \"#3:0\""));

  // Through beta, once beta holds it.
  const std::string row = "|0   |#3:0|V     |1   |one |\n";
  run_result seen;
  CHECK(eventually([&] {
    seen = run_console(cat("connect ", url_b, " root ", root_password, "\nselect from V where node = 1\n"));
    return has(seen.out, row);
  }, 20s));
  INFO(seen.out);
  CHECK(seen.code == 0);
  CHECK(has(seen.out,
            "+----+----+------+----+----+\n"
            "|#   |@RID|@CLASS|node|name|\n"
            "+----+----+------+----+----+\n" +
                row +
                "+----+----+------+----+----+\n"
                "\n"
                "1 item(s) found. Query executed in "));
  CHECK(has(seen.out, " sec(s).\n"));

  // A syntax error: its position and a caret; then the same session answers
  // the next statements (projections: no @RID, no @CLASS), and an empty result.
  r = run_console(cat("connect ", url_b, " root ", root_password,
                      "\nselect from V where\n"
                      "SELECT count(*) AS n FROM V\n"
                      "select from V where node = 99\n"
                      "select from Nope\n"
                      "help\n"));
  INFO(r.out);
  CHECK(r.code == 1);
  CHECK(has(r.out, "Error: Syntax error at position 19: expected "));
  CHECK(has(r.out, "\n  select from V where\n                     ^\n"));
  CHECK(has(r.out, "|#   |n   |\n"));
  CHECK(has(r.out, "|0   |1   |\n"));
  CHECK(has(r.out, "0 item(s) found. Query executed in "));
  CHECK(has(r.out, "Error: ")); // the unknown class, in the executor's words
  CHECK(has(r.out, "Nope"));
  CHECK(has(r.out, "SQL statements, run against the database in use"));
  CHECK(has(r.out, "create vertex [<class>] [set <field> = <value>, ...]"));

  // Without a database, or a connection: said so, nothing sent.
  r = run_console(cat("connect remote:127.0.0.1:", b.n->admin_port(), " root ", root_password,
                      "\nselect from V\ndisconnect\nselect from V\n"));
  CHECK(has(r.out, "Error: no database: choose one with `use <db>`"));
  CHECK(has(r.out, "Error: not connected"));
  // A user without the database's permission is refused, as for the other
  // database commands.
  r = run_console(cat("connect ", url_b, " guest guest\nselect from V\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: User 'guest' has no permission for database.demo"), r.out);
}

// OrientDB's "Working with Distributed Graphs" tutorial step, at the console:
// a vertex created with SQL through node 1 is selected through node 2. The
// statement is run by the database's owner, wherever the console is connected.
TEST_CASE("console: SQL at the prompt: CREATE VERTEX through node 1, then SELECT through node 2 sees the vertex "
          "(the distributed graphs tutorial)") {
  console_node a, b;
  a.start("alpha");
  b.start("beta");
  INFO("alpha's log:\n" << a.log_text() << "beta's log:\n" << b.log_text());
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  auto url_a = cat("remote:127.0.0.1:", a.n->admin_port(), "/demo");
  auto url_b = cat("remote:127.0.0.1:", b.n->admin_port(), "/demo");
  auto r = run_console(cat("connect ", url_a, " root ", root_password,
                           "\ncreate vertex V set node = 1\n"
                           "insert into V set node = 3\n"
                           "update V set seen = true where node = 1\n"));
  INFO(r.out);
  CHECK(r.code == 0);
  CHECK(has(r.out, "Created vertex 'V#3:0{node:1} v1' in "));
  CHECK(has(r.out, "Inserted record 'V#3:1{node:3} v1' in "));
  CHECK(has(r.out, "Updated record(s) '1' in "));
  CHECK(has(r.out, " sec(s).\n"));
  run_result seen;
  CHECK(eventually([&] {
    seen = run_console(cat("connect ", url_b, " root ", root_password, "\nselect from V where node = 1\n"));
    return has(seen.out, "|0   |#3:0|V     |1   |true|\n");
  }, 20s));
  INFO(seen.out);
  CHECK(has(seen.out, "|#   |@RID|@CLASS|node|seen|\n"));
  CHECK(has(seen.out, "1 item(s) found. Query executed in "));
  // And back through node 2: a delete, counted.
  r = run_console(cat("connect ", url_b, " root ", root_password, "\ndelete vertex V where node = 3\n"));
  CHECK_MESSAGE(has(r.out, "Delete record(s) '1' in "), r.out);
}

TEST_CASE("console: database users: admin/admin into its database; reader refused on writes, writer on the schema; "
          "a wrong password; no server-level commands and no other database") {
  console_node a, b;
  a.start("alpha", 0, 0ms, true);
  b.start("beta");
  INFO("alpha's log:\n" << a.log_text() << "beta's log:\n" << b.log_text());
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  auto url_a = cat("remote:127.0.0.1:", a.n->admin_port(), "/demo");

  // The database's admin: reads, writes, the schema; info with the cluster's side.
  auto r = run_console(cat("connect ", url_a, " admin admin\ninfo\ncreate vertex V set node = 7\n"
                           "select from V where node = 7\ncreate class Thing extends V\nlist databases\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, cat("Connected to 127.0.0.1:", a.n->admin_port(), " as admin, database demo\n")));
  CHECK(has(r.out, "Created vertex 'V#"));
  CHECK(has(r.out, "1 item(s) found."));
  CHECK(has(r.out, "Class 'Thing' created successfully"));
  CHECK(has(r.out, "* demo (plocal)"));
  CHECK(has(r.out, "DISTRIBUTED CONFIGURATION (version "));
  CHECK(has(r.out, "MEMBERS\n"));
  CHECK(eventually([&] { return a.logged("console session opened for database 'demo' user 'admin'"); }));

  // reader: reads only, with OrientDB's refusal.
  r = run_console(cat("connect ", url_a, " reader reader\nselect from V where node = 7\ncreate vertex V set node = 8\n"
                      "create record V {\"node\": 8}\nselect from V where node = 8\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "1 item(s) found."), r.out);
  CHECK_MESSAGE(has(r.out, "Error: User 'reader' does not have permission to execute the operation 'Create' against "
                           "the resource: ResourceGeneric [name=CLASS, legacyName=database.class]"),
                r.out);
  CHECK(has(r.out, "0 item(s) found."));  // neither write happened

  // writer: records yes, schema no.
  r = run_console(cat("connect ", url_a, " writer writer\ncreate vertex V set node = 9\ncreate class Other extends V\n"
                      "create class Other2\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Created vertex 'V#"), r.out);
  CHECK_MESSAGE(has(r.out, "Error: User 'writer' does not have permission to execute the operation 'Update' against "
                           "the resource: ResourceGeneric [name=SCHEMA"),
                r.out);
  CHECK_FALSE(has(r.out, "created successfully"));

  // A wrong password, an unknown user, and a database user without its database.
  r = run_console(cat("connect ", url_a, " admin wrong\ninfo\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: wrong user name or password\n"), r.out);
  CHECK_FALSE(has(r.out, "CLASSES"));
  r = run_console(cat("connect ", url_a, " nobody admin\n"));
  CHECK(has(r.out, "Error: wrong user name or password\n"));
  r = run_console(cat("connect remote:127.0.0.1:", a.n->admin_port(), " admin admin\n"));
  CHECK_MESSAGE(has(r.out, "Error: wrong user name or password\n"), r.out);

  // Bound to its database: server commands and other databases are refused, clearly.
  r = run_console(cat("connect ", url_a, " admin admin\nactors\ncreate database other\nmembers\ninfo fresh\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: User 'admin' is a user of database 'demo' only: this command needs a server user "
                           "(server.info)\n"),
                r.out);
  CHECK(has(r.out, "Error: User 'admin' is a user of database 'demo' only: this command needs a server user "
                   "(database.create)\n"));
  CHECK(has(r.out, "Error: User 'admin' is a user of database 'demo' and may not use database 'fresh': connect to it "
                   "with one of its own users\n"));
  CHECK_FALSE(has(r.out, "MAILBOX"));

  // Server users keep working, with or without a database.
  r = run_console(cat("connect ", url_a, " root ", root_password, "\nactors\nselect from V where node = 9\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "1 item(s) found."));

  // The user is read again for every command: suspended by the database's
  // admin, reader's open session is refused from its next command on.
  child_process reader(process_options{{console_path()}, {}, {}, false});
  reader.write_input(cat("connect ", url_a, " reader reader\nselect from V where node = 9\n"));
  REQUIRE_MESSAGE(reader.wait_for_output("1 item(s) found.", 20s), reader.output());
  r = run_console(cat("connect ", url_a, " admin admin\nupdate OUser set status = 'SUSPENDED' where name = 'reader'\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(eventually(
      [&] {
        auto from = reader.output().size();
        reader.write_input("select from V where node = 9\n");
        reader.wait_for_output("\n", 5s, from);
        return reader.wait_for_output("no longer exists or is suspended", 1s, from);
      },
      20s));
  CHECK_MESSAGE(has(reader.output(), "Error: User 'reader' of database 'demo' no longer exists or is suspended: "
                                     "connect again\n"),
                reader.output());
  r = run_console(cat("connect ", url_a, " reader reader\n"));
  CHECK_MESSAGE(has(r.out, "Error: wrong user name or password\n"), r.out);
  reader.close_input();
  CHECK(reader.wait_exit(10s).has_value());
}

namespace {

// Records of class V's cluster in `db` on node `n` (nullopt: no such database there).
std::optional<uint64_t> v_records(console_node& n, const std::string& db) {
  auto d = n.n->test_database(db);
  if (!d) return std::nullopt;
  auto c = d->cluster_by_name("v");
  return c ? c->records : 0;
}

// `db` is ONLINE on every member, as `n` sees the cluster.
bool online_everywhere(console_node& n, const std::string& db) {
  auto s = n.n->cluster(2s);
  if (!s || s->view.members.size() < 2) return false;
  for (auto& m : s->view.members)
    if (m.shown_status(db) != db_online) return false;
  return true;
}

}  // namespace

TEST_CASE("console: backup database then restore database under a new name; export database to a local file then "
          "import database; drop database; bad inputs and database users refused") {
  console_node a, b;
  a.start("alpha", 0, 0ms, true);
  b.start("beta");
  INFO("alpha's log:\n" << a.log_text() << "beta's log:\n" << b.log_text());
  REQUIRE(eventually([&] { return a.members() == 2 && b.members() == 2; }));
  auto url_a = cat("remote:127.0.0.1:", a.n->admin_port(), "/demo");
  auto url_b = cat("remote:127.0.0.1:", b.n->admin_port(), "/demo");
  test::temp_dir here{"troupe-console-export"};
  auto exported = (here / "fresh.json.gz").string();

  auto r = run_console(cat("connect ", url_a, " root ", root_password,
                           "\ncreate vertex V set node = 1\ncreate vertex V set node = 2\ncreate vertex V set node = 3\n"
                           "backup database demo.tbk\nrestore database demo.tbk copy\n"
                           "export database ", exported, "\nimport database ", exported, "\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK_MESSAGE(has(r.out, "Backup of database 'demo' completed in demo.tbk (lsn "), r.out);
  CHECK(fs::exists(a.home / "backup" / "demo.tbk"));
  CHECK(has(r.out, "Database 'copy' restored from demo.tbk (backup of 'demo', lsn "));
  CHECK(has(r.out, cat("Database 'demo' exported to ", exported, " (")));
  CHECK(has(r.out, "Database 'fresh' imported: "));  // the default name: the file's, without .json.gz
  // The export is a gzip file here, on the console's machine.
  {
    std::ifstream in(exported, std::ios::binary);
    char magic[2] = {};
    in.read(magic, 2);
    CHECK(static_cast<unsigned char>(magic[0]) == 0x1f);
    CHECK(static_cast<unsigned char>(magic[1]) == 0x8b);
  }
  CHECK_FALSE(fs::exists(exported + ".tmp"));

  // The restored database is the cluster's: on both nodes, ONLINE, with demo's records.
  auto demo_count = v_records(a, "demo");
  REQUIRE(demo_count.has_value());
  CHECK(*demo_count >= 3);
  CHECK(eventually([&] { return online_everywhere(a, "copy") && online_everywhere(b, "copy"); }, 60s));
  CHECK(eventually([&] { return v_records(a, "copy") == demo_count && v_records(b, "copy") == demo_count; }, 30s));
  // ... and the import too, from the console's local file.
  CHECK(eventually([&] { return online_everywhere(a, "fresh") && online_everywhere(b, "fresh"); }, 60s));
  CHECK(eventually([&] { return v_records(a, "fresh") == demo_count && v_records(b, "fresh") == demo_count; }, 30s));

  // Bad inputs, each with a sentence.
  r = run_console(cat("connect ", url_a, " root ", root_password, "\nbackup database ../escape.tbk\n"
                      "backup database a/b.tbk\nrestore database missing.tbk other\nrestore database demo.tbk\n"
                      "restore database demo.tbk copy\nrestore database /etc/passwd other\n"
                      "import database ", (here / "nothing.gz").string(), " other\n"
                      "import database ", exported, " copy\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: '../escape.tbk' is not a plain file name (1-128 of A-Z a-z 0-9 _ . -, not starting "
                           "with '.'): backups live in the node's <home>/backup/\n"),
                r.out);
  CHECK(has(r.out, "Error: 'a/b.tbk' is not a plain file name"));
  CHECK(has(r.out, "Error: '/etc/passwd' is not a plain file name"));
  CHECK(has(r.out, "missing.tbk"));
  CHECK(has(r.out, "Error: Database 'demo' already exists (the archive's name): restore into a new name (restore "
                   "database <file> <new name>) or drop it first\n"));
  CHECK(has(r.out, "Error: Database 'copy' already exists: restore into a new name"));
  CHECK(has(r.out, cat("Error: cannot read ", (here / "nothing.gz").string())));
  CHECK(has(r.out, "Error: Database 'copy' already exists: import into a new name"));
  CHECK_FALSE(fs::exists(a.home / "escape.tbk"));
  CHECK(a.n->test_database("other") == nullptr);
  CHECK(b.n->test_database("other") == nullptr);

  // A database user is refused all five, even for its own database.
  r = run_console(cat("connect ", url_a, " admin admin\nbackup database u.tbk\nrestore database demo.tbk other\n"
                      "export database ", (here / "u.gz").string(), "\nimport database ", exported, " other\n"
                      "drop database\n"));
  CHECK(r.code == 1);
  for (auto* what : {"backup database", "restore database", "export database", "import database", "drop database"})
    CHECK_MESSAGE(has(r.out, cat("Error: User 'admin' is a user of database 'demo': ", what, " needs a server user (")),
                  what << "\n" << r.out);
  CHECK_FALSE(fs::exists(a.home / "backup" / "u.tbk"));
  CHECK_FALSE(fs::exists(here / "u.gz"));
  CHECK(a.n->test_database("demo") != nullptr);

  // Drop: gone from both nodes.
  r = run_console(cat("connect ", url_b, " root ", root_password, "\ndrop database copy\n"));
  CHECK_MESSAGE(r.code == 0, r.out);
  CHECK(has(r.out, "Database 'copy' dropped\n"));
  CHECK(eventually([&] { return a.n->test_database("copy") == nullptr && b.n->test_database("copy") == nullptr; }, 30s));
  CHECK(a.n->test_database("fresh") != nullptr);  // only that one
  r = run_console(cat("connect ", url_b, " root ", root_password, "\ndrop database copy\n"));
  CHECK(r.code == 1);
  CHECK_MESSAGE(has(r.out, "Error: "), r.out);
}
