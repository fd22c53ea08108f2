// A hostile CAF client against a real dserver, as an attacker who can reach the
// cluster port would try it: every message type the published cluster actor
// knows, sent anonymously (no sender, as anon_send does) and from a node that
// is not a member, with values chosen to do harm (a made-up member that would
// lead, a view that drops the node, paths as database names, a leave in the
// node's own name). The node must change nothing, reveal nothing, log the
// refusals once per source, and go on serving.
//
// The cluster port is the link guard's (src/link/guard.hpp): a CAF client that
// does not prove the group password gets nothing through, and raw bytes (an
// oversized BASP header, garbage, silence) are closed within the handshake
// deadline without the node growing. The messages above are then sent by an
// insider: a client with its own guard and the group password that never
// joined, which the actors themselves must refuse.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sstream>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/protocol.hpp"
#include "src/link/guard.hpp"
#include "src/util/fs.hpp"
#include "src/util/strings.hpp"
#include "test/process/cluster_harness.hpp"
#include "test/support/sockets.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace troupe::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// Every file under `dir` with its content (databases' RocksDB files excluded:
// they change with the node's own writes), to show nothing was written.
std::map<std::string, std::string> config_files(const fs::path& home) {
  std::map<std::string, std::string> out;
  for (auto& e : fs::recursive_directory_iterator(home)) {
    if (!e.is_regular_file()) continue;
    auto name = e.path().filename().string();
    if (name == "distributed-config.json" || e.path().parent_path().filename() == "config")
      out[fs::relative(e.path(), home).string()] = read_text(e.path());
  }
  return out;
}

// Resident memory of process `pid`, in KiB (VmRSS).
int64_t rss_kib(pid_t pid) {
  auto text = read_text(cat("/proc/", pid, "/status"));
  auto v = field_after(text, "VmRSS:", "k");
  auto n = parse_int(std::string(trim(v)), 0, INT64_MAX);
  return n ? *n : -1;
}

std::vector<std::string> top_level(const fs::path& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("trust: a non-member's and anonymous messages of every kind change nothing on a dserver, reveal nothing, "
          "and it serves on") {
  temp_dir root;
  auto nodes = make_cluster(root.path(), 1, nullptr);
  auto& n = *nodes[0];
  start_node(n, nodes);
  REQUIRE(eventually([&] { return sees_all_online(n, 1); }, 30s));
  auto port_text = field_after(n.p->output(), "cluster endpoint listening on 127.0.0.1:", " \n");
  auto cluster_port = parse_int(port_text, 1, 65535);
  REQUIRE_MESSAGE(cluster_port.has_value(), n.p->output());

  auto files_before = config_files(n.home);
  auto dirs_before = top_level(n.home.parent_path());
  auto dbs_before = top_level(n.home / "databases");
  auto view_before = call(n, "GET", "/distributed/node");
  REQUIRE(view_before.has_value());

  {
    caf::actor_system_config cfg;
    add_message_types(cfg);
    cfg.load<caf::io::middleman>();
    cfg.set("scheduler.max-threads", size_t{2});
    // Without the group password a CAF client does not get through the guard.
    cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
    caf::actor_system sys{cfg};
    auto direct = sys.middleman().remote_actor<cluster_actor>("127.0.0.1", static_cast<uint16_t>(*cluster_port));
    CHECK_FALSE(direct);
    // An insider: the group password, a guard of its own, never a member.
    link::guard_options go;
    go.group_name = "troupe-replication-process";  // make_cluster's private group
    go.group_key = link::derive_group_key(go.group_name, "orientdb");
    go.local_name = "intruder";
    go.bind_host = "127.0.0.1";
    go.port_first = go.port_last = 0;
    link::guard insider(go, nullptr);
    REQUIRE(insider.start().ok());
    auto via = insider.forward("127.0.0.1", static_cast<uint16_t>(*cluster_port));
    REQUIRE(via.ok());
    auto h = sys.middleman().remote_actor<cluster_actor>("127.0.0.1", *via);
    REQUIRE_MESSAGE(h, "cannot reach the cluster port through a guard: " << sys.render(h.error()));
    auto node = *h;
    caf::scoped_actor self{sys};

    // The made-up member an attacker wants in: oldest start time, so it would lead.
    member_info intruder;
    intruder.name = "intruder";
    intruder.node_id = to_string(self->node());
    intruder.cluster_host = "127.0.0.1";
    intruder.cluster_port = 1;
    intruder.started_on_ms = 1;
    intruder.status = node_online;
    intruder.databases = {demo_db};
    cluster_state hostile;
    hostile.view.version = 1'000'000;
    hostile.view.members = {intruder};
    hostile.configs = {db_config_msg{demo_db, R"({"replication":true,"clusters":{"*":{"writeQuorum":1}}})", 1'000'000, "intruder"},
                       db_config_msg{"../escaped", "{}", 1, "intruder"}};
    repl_envelope env;
    env.db = demo_db;
    env.from = n.name;
    env.check = check_kind::behind_log;  // "behind the log: take a full copy"
    op_list ops;
    storage::op o;
    o.k = storage::op::kind::create;
    o.class_name = "V";
    o.fields = R"({"planted":"by the intruder"})";
    ops.push_back(o);
    auto receiver = caf::actor_cast<caf::strong_actor_ptr>(self);

    // Each message twice: with no sender, then as a request from a non-member
    // (whose answer must never carry the node's state or data).
    std::vector<std::string> leaks;
    auto probe = [&](const char* what, auto... xs) {
      caf::anon_send(caf::actor_cast<caf::actor>(node), xs...);
      self->request(caf::actor_cast<caf::actor>(node), 500ms, xs...)
          .receive(
              [&](caf::message& m) {
                // A reply that is not an error: only "false" is harmless.
                if (!(m.match_elements<bool>() && !m.get_as<bool>(0))) leaks.push_back(cat(what, ": ", to_string(m)));
              },
              [&](caf::error&) {});
    };
    probe("hello", hello_atom::value, std::string("orientdb"), std::string("intruder"), std::string("nonce"));
    probe("auth", auth_atom::value, std::string("intruder"), std::string("proof"), intruder, db_config_msgs{});
    probe("join", join_atom::value, intruder, hostile.configs);
    probe("view", view_atom::value, hostile);
    probe("beat", beat_atom::value, n.name, uint64_t{1'000'000});
    probe("leave in the node's name", leave_atom::value, n.name);
    probe("suspect", suspect_atom::value, n.name);
    probe("local leave", leave_atom::value);
    probe("status", status_atom::value);
    probe("init", init_atom::value, uint16_t{1}, uint16_t{2});
    probe("init with a console", init_atom::value, uint16_t{1}, uint16_t{2}, std::string("10.6.6.6"), uint16_t{3});
    probe("deploy", deploy_atom::value, std::string(demo_db), std::string("intruder"), receiver);
    probe("fetch", fetch_atom::value, std::string(demo_db), uint64_t{0});
    probe("relayed fetch", fetch_atom::value, n.name, std::string(demo_db), uint64_t{0});
    probe("tail", tail_atom::value, std::string(demo_db), uint64_t{1} << 40);
    probe("relayed tail", tail_atom::value, n.name, std::string(demo_db), uint64_t{1} << 40);
    probe("fwd", fwd_atom::value, std::string(demo_db), op_lists{ops});
    probe("relayed fwd", fwd_atom::value, n.name, std::string(demo_db), op_lists{ops});
    probe("repl", repl_atom::value, env);
    probe("relay", relay_atom::value, n.name, env);
    probe("relay handle", relay_atom::value);
    probe("read", read_atom::value, std::string(demo_db), storage::rid{9, 0});
    probe("quorum read", read_atom::value, std::string(demo_db), storage::rid{9, 0}, uint32_t{1});
    probe("deployed", deployed_atom::value, std::string("../escaped"));
    probe("redeploy", redeploy_atom::value, std::string(demo_db), std::string("intruder"));
    probe("catchup", catchup_atom::value, std::string(demo_db), true);
    probe("update", update_atom::value, intruder);
    probe("add_db", add_db_atom::value, std::string(".."));
    probe("add_db path", add_db_atom::value, std::string("../../escaped"));
    probe("tick", tick_atom::value);
    probe("probe", probe_atom::value);
    probe("inspect", inspect_atom::value);
    CHECK_MESSAGE(leaks.empty(), "answered a non-member: " << leaks.front());
    // The console port answers a stranger's CAF messages with refusals only.
    auto console_port = parse_int(field_after(n.p->output(), "Listening binary connections on 0.0.0.0:", " \n"), 1, 65535);
    REQUIRE(console_port.has_value());
    auto admin = sys.middleman().remote_actor<admin_actor>("127.0.0.1", static_cast<uint16_t>(*console_port));
    REQUIRE_MESSAGE(admin, sys.render(admin.error()));
    bool inspected = false;
    self->request(*admin, 2s, inspect_atom::value).receive([&](actor_summary&) { inspected = true; }, [](caf::error&) {});
    CHECK_FALSE(inspected);
    bool logged_in = false;
    self->request(*admin, 2s, login_atom::value, std::string("root"), std::string("forged-nonce"), std::string("proof"))
        .receive([&](caf::strong_actor_ptr&) { logged_in = true; }, [](caf::error&) {});
    CHECK_FALSE(logged_in);
    self->request(*admin, 2s, login_atom::value, std::string(demo_db), std::string("admin"), std::string("forged-nonce"),
                  std::string("proof"))
        .receive([&](caf::strong_actor_ptr&) { logged_in = true; }, [](caf::error&) {});
    CHECK_FALSE(logged_in);
    // Our connection delivers in order: once a last request is answered, every
    // probe before it was handled.
    self->request(caf::actor_cast<caf::actor>(node), 5s, inspect_atom::value).receive([](caf::message&) {}, [](caf::error&) {});
    self->send_exit(self, caf::exit_reason::user_shutdown);
  }

  // A raw insider (the group password and a node key of its own) speaks BASP
  // itself, to do what a CAF client cannot: announce the node's own CAF node
  // id (the one its server handshake just told), or name it as the source of
  // a down message. No link may announce the node's own id, and a source
  // must be the link's own: closed before CAF reads a byte of it.
  {
    link::guard_options go;
    go.group_name = "troupe-replication-process";
    go.group_key = link::derive_group_key(go.group_name, "orientdb");
    go.local_name = "raw-insider";
    go.bind_host = "127.0.0.1";
    go.port_first = go.port_last = 0;
    link::guard insider(go, nullptr);
    REQUIRE(insider.start().ok());
    auto basp = [](uint8_t op, const std::string& payload) {
      std::string h(32, '\0');
      h[0] = static_cast<char>(op);
      auto len = static_cast<uint32_t>(payload.size());
      for (int i = 0; i < 4; ++i) h[static_cast<size_t>(4 + i)] = static_cast<char>((len >> (8 * (3 - i))) & 0xff);
      return h + payload;
    };
    // Connects through our guard; returns the socket and the node id bytes the node announced.
    auto open = [&](std::string& node_id) {
      auto via = insider.forward("127.0.0.1", static_cast<uint16_t>(*cluster_port));
      REQUIRE(via.ok());
      int fd = connect_loopback(*via);
      REQUIRE(fd >= 0);
      // The server handshake: a 32-byte header, then the payload, which starts with the node id.
      auto got = read_some(fd, 64, 5s);
      REQUIRE(got.size() >= 64);
      REQUIRE(got[0] == 0);
      node_id = got.substr(32, 32);
      return fd;
    };
    std::string theirs;
    int fd = open(theirs);
    auto claim = basp(1, theirs);
    CHECK(::write(fd, claim.data(), claim.size()) == static_cast<ssize_t>(claim.size()));
    CHECK(closed_within(fd, 5s));
    ::close(fd);
    CHECK(n.p->wait_for_output("announces this node's own node id", 5s));
    // Its own node id, then a down message in the node's name.
    fd = open(theirs);
    std::string mine = theirs;
    mine[31] = static_cast<char>(mine[31] ^ 0x5a);  // another host id: not a member
    auto hs = basp(1, mine);
    auto down = basp(5, theirs + mine + std::string(16, '\0'));
    CHECK(::write(fd, hs.data(), hs.size()) == static_cast<ssize_t>(hs.size()));
    CHECK(::write(fd, down.data(), down.size()) == static_cast<ssize_t>(down.size()));
    CHECK(closed_within(fd, 5s));
    ::close(fd);
    CHECK(n.p->wait_for_output("a down message naming another node", 5s));
  }

  // Raw attacks on the cluster port: memory does not grow, and each
  // connection is closed within the handshake deadline (5 s).
  auto rss_before = rss_kib(n.p->pid());
  std::string oversized(32, '\0');
  oversized[4] = 0x10;  // a BASP header announcing 256 MiB
  std::vector<std::pair<const char*, std::string>> raw = {
      {"an oversized BASP header", oversized}, {"another one", oversized},
      {"garbage", std::string(4096, '\x07')}, {"HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n"}, {"silence", ""}};
  auto attack = [&](int64_t port, const char* which) {
    for (auto& [what, bytes] : raw) {
      CAPTURE(which);
      CAPTURE(what);
      int fd = connect_loopback(static_cast<uint16_t>(port));
      REQUIRE(fd >= 0);
      if (!bytes.empty()) CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
      CHECK(closed_within(fd, 7s));
      ::close(fd);
    }
  };
  attack(*cluster_port, "cluster port");
  // The same on the console (binary) port: a bounds-only guard in front of CAF.
  auto console_port = parse_int(field_after(n.p->output(), "Listening binary connections on 0.0.0.0:", " \n"), 1, 65535);
  REQUIRE_MESSAGE(console_port.has_value(), n.p->output());
  attack(*console_port, "console port");
  auto rss_after = rss_kib(n.p->pid());
  CHECK_MESSAGE(rss_after - rss_before < 16 * 1024, "RSS grew from " << rss_before << " to " << rss_after << " KiB");
  CHECK(n.p->wait_for_output("cluster link from 127.0.0.1", 5s));

  // Nothing changed: members, configurations, files, folders.
  n.drain();
  auto view_after = call(n, "GET", "/distributed/node");
  REQUIRE(view_after.has_value());
  CHECK(view_after->body == view_before->body);
  CHECK(config_files(n.home) == files_before);
  CHECK(top_level(n.home.parent_path()) == dirs_before);
  CHECK(top_level(n.home / "databases") == dbs_before);
  // "intruder" appears only where a refusal names it.
  std::istringstream said(n.p->output());
  for (std::string line; std::getline(said, line);)
    if (line.find("intruder") != std::string::npos) CHECK_MESSAGE(line.find("refused") != std::string::npos, line);
  CHECK(n.p->output().find("planted") == std::string::npos);
  // Refusals are logged, once per source: the anonymous one and our node.
  CHECK(n.p->output().find("from a sender that gave none") != std::string::npos);
  size_t lines = 0;
  for (auto at = n.p->output().find("refused a "); at != std::string::npos; at = n.p->output().find("refused a ", at + 1))
    ++lines;
  CHECK(lines <= 2);
  // It serves on: a write is acknowledged and readable.
  auto w = call(n, "POST", cat("/document/", demo_db), R"({"@class":"V","after":"the probes"})");
  REQUIRE(w.has_value());
  CHECK_MESSAGE(w->status == 201, w->body);
  CHECK(sees_all_online(n, 1));
  n.p->signal(SIGTERM);
  CHECK_MESSAGE(n.p->wait_exit(30s) == 0, n.p->output());
}
