// The in-process cluster harness: N nodes, each its own actor system, home and
// loopback ports, talking through CAF's real middleman over TCP.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

#include "actors/node.hpp"
#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

namespace troupe::test {

using namespace std::chrono_literals;
namespace fs = std::filesystem;


struct test_node {
  std::string name;
  test::temp_dir home{"troupe-cluster"};
  std::mutex mtx;
  std::vector<std::string> lines;
  logger log{"?", nullptr};
  std::unique_ptr<node> n;
  std::string root_pw;  // generated on the first start

  bool logged(const std::string& needle) {
    std::lock_guard<std::mutex> g(mtx);
    for (auto& l : lines)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
  size_t members() {
    if (!n) return 0;
    auto s = n->cluster(2s);
    return s ? s->view.members.size() : 0;
  }
  std::string config_json(const std::string& db) {
    auto s = n->cluster(2s);
    if (!s) return "";
    for (auto& c : s->configs)
      if (c.db == db) return c.json;
    return "";
  }
};

// A cluster of test nodes on a private port range with fast heartbeats.
struct test_cluster {
  uint16_t base;
  std::string group = "troupe-test";
  std::string password = "s3cret";
  int64_t corrupt_next_deploy = -1;  // handed to the next node started
  std::chrono::milliseconds chunk_delay_next{0};  // ditto: its outgoing deploys pause per chunk
  uint64_t disk_limit_next = 0;                   // ditto: its disk "fills" after this many bytes
  std::optional<quorum> write_quorum;             // every node's default writeQuorum (unset: as shipped)
  std::optional<quorum> read_quorum;              // every node's default readQuorum (unset: as shipped)
  std::optional<int> resync_every_s;              // every node's default resyncEvery (unset: as shipped)
  std::chrono::milliseconds write_timeout{5000};  // every node's replication write timeout
  uint64_t log_keep = 100'000;                    // every node's replication log length (see node_options)
  // Applied to every node's options last, just before it starts (benchmarks set
  // dserver's HTTP threads and the shipped heartbeats here).
  std::function<void(node_options&)> tune;
  std::vector<std::unique_ptr<test_node>> nodes;

  explicit test_cluster(uint16_t base_port) : base(base_port) {}

  test_node& add(const std::string& name, bool with_db = true) {
    auto t = std::make_unique<test_node>();
    t->name = name;
    test::make_home(t->home.path());
    if (with_db) {
      // A small database of its own, so that it has a distributed configuration.
      fs::create_directories(t->home / "databases");
      auto db = storage::database::open(t->home / "databases" / "demo");
      REQUIRE(db.ok());
    }
    nodes.push_back(std::move(t));
    return *nodes.back();
  }

  void start(test_node& t, std::string pw = "", std::string grp = "", std::string name = "") {
    auto o = test::home_options(t.home.path(), name.empty() ? t.name : name);
    auto s = prepare_server(o);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
    if (s->generated_root_password) t.root_pw = *s->generated_root_password;
    auto& hz = s->hazelcast;
    hz.group_name = grp.empty() ? group : grp;
    hz.group_password = pw.empty() ? password : pw;
    hz.port = base;
    hz.auto_increment = true;
    hz.port_count = 6;
    hz.members = {member_address{"127.0.0.1", {base, static_cast<uint16_t>(base + 5)}}};
    // CAF takes the heartbeat interval as the BASP handshake timeout, and a link
    // through the guards (src/link/guard.hpp) first runs its own handshake:
    // 100 ms, then 250 ms, were too tight while deploys load a 2-core machine
    // (a connection that times out leaves a member unheard, then removed).
    hz.heartbeat_interval = 500ms;
    hz.heartbeat_timeout = 2000ms;
    for (auto& l : s->server.listeners)
      if (l.protocol == "http") l.ports = {static_cast<uint16_t>(base + 100), static_cast<uint16_t>(base + 110)};
    t.log.set_node(name.empty() ? t.name : name);
    t.log.set_tee([&t](log_level, std::string_view r) {
      std::lock_guard<std::mutex> g(t.mtx);
      t.lines.emplace_back(r);
    });
    if (resync_every_s) s->default_db.resync_every_s = *resync_every_s;
    for (auto& [name_, cc] : s->default_db.clusters) {
      if (name_ != "*") continue;
      if (write_quorum) cc.write_quorum = *write_quorum;
      if (read_quorum) cc.read_quorum = *read_quorum;
    }
    node_options no{*s, &t.log, 2};
    no.write_timeout = write_timeout;
    no.repl_log_keep = log_keep;
    no.create_demo = false;
    no.http_threads = 1;
    no.test_corrupt_deploy_chunk = std::exchange(corrupt_next_deploy, -1);
    no.test_deploy_chunk_delay = std::exchange(chunk_delay_next, 0ms);
    no.test_deploy_disk_limit = std::exchange(disk_limit_next, 0);
    if (tune) tune(no);
    t.n = std::make_unique<node>(std::move(no));
    auto st = t.n->start();
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().render()));
  }
};


}  // namespace troupe::test
