// A seeded, deterministic simulation of the replication protocol core
// (src/replication/core.*): an owner and 1-4 replicas (writeQuorum majority,
// "all" and 1), each on its own real RocksDB database, a simulated network that drops, delays and reorders
// messages, replicas and the owner crashed and restarted (their databases
// closed and reopened; messages in flight to and from them lost, as with a
// broken connection), partitions that heal. A random workload of creates,
// updates and deletes. Checked at the end, after the network heals:
//   - every acknowledged write is on every replica, and the replicas are
//     identical to the owner (same records, versions, LSNs);
//   - no write that failed (no quorum in time) is visible anywhere;
//   - versions only grow.
// A failure prints the seed; TROUPE_SEED=<n> replays one seed,
// TROUPE_SIM_SEEDS=<n> runs that many (CI runs a fixed set).
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <variant>

#include "src/replication/core.hpp"
#include "src/util/strings.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::replication;
namespace fs = std::filesystem;

namespace {

constexpr int nodes_max = 5;  // node 0 owns the database

struct message {
  int64_t at = 0;  // delivery time
  int from = 0, to = 0;
  std::variant<append_msg, ack_msg> body;
};

struct sim_node {
  fs::path dir;
  std::unique_ptr<storage::database> db;
  std::unique_ptr<replica> rep;
  bool up = true;
  int64_t down_until = 0;
};

struct client_write {
  int id = 0;
  storage::op::kind kind = storage::op::kind::create;
  enum class state { pending, acked, failed, unknown } st = state::pending;
  storage::rid rid;  // for an acknowledged create
};

class simulation {
 public:
  // `nodes` nodes (the owner and nodes - 1 replicas); `quorum` counts the owner.
  simulation(uint64_t seed, const fs::path& root, int nodes, size_t quorum)
      : rng_(seed), seed_(seed), node_count(nodes), write_quorum(quorum) {
    REQUIRE(nodes >= 2);
    REQUIRE(nodes <= nodes_max);
    for (int i = 1; i < node_count; ++i) replica_names_.push_back(cat(i));
    for (int i = 0; i < node_count; ++i) {
      nodes_[i].dir = root / cat("n", i);
      open(i);
    }
    owner_ = std::make_unique<owner>(*nodes_[0].db, ++epoch_, replica_names_, write_quorum);
  }

  void run(int steps) {
    for (int step = 0; step < steps; ++step) {
      now_ += 1;
      faults();
      if (nodes_[0].up && chance(0.5)) submit();
      deliver();
      if (nodes_[0].up && now_ % 10 == 0) {
        for (int r = 1; r < node_count; ++r) send(0, r, owner_->heartbeat());
      }
      if (nodes_[0].up) ended(owner_->expire(now_));
    }
  }

  // Heals everything and lets the protocol settle; REQUIREs that it does.
  void settle() {
    partitioned_ = -1;
    drop_rate_ = 0;
    for (int i = 0; i < node_count; ++i)
      if (!nodes_[i].up) restart(i);
    for (int round = 0; round < 2000; ++round) {
      now_ += 1;
      deliver();
      if (now_ % 10 == 0)
        for (int r = 1; r < node_count; ++r) send(0, r, owner_->heartbeat());
      ended(owner_->expire(now_));
      bool done = owner_->pending() == 0 && in_flight_.empty();
      for (int r = 1; done && r < node_count; ++r)
        done = nodes_[r].db->last_committed_seq() == owner_->commit_seq() && nodes_[r].db->staged().empty();
      if (done && now_ % 10 == 9) return;
    }
    FAIL("the cluster did not settle (seed ", seed_, ")");
  }

  void check() {
    auto want = content(*nodes_[0].db);
    for (int r = 1; r < node_count; ++r) {
      auto got = content(*nodes_[r].db);
      CHECK_MESSAGE(got == want, "replica ", r, " differs from the owner (seed ", seed_, ")");
      if (got != want && std::getenv("TROUPE_SIM_DUMP")) {
        test::write_text(cat("/tmp/sim-owner.txt"), want);
        test::write_text(cat("/tmp/sim-replica", r, ".txt"), got);
        std::string log;
        for (auto& e : nodes_[r].db->log_since(0, 10000)) log += cat(e.lsn, " ", static_cast<int>(e.applied.k), " ", e.applied.id.to_string(), " ", e.applied.fields, "\n");
        test::write_text(cat("/tmp/sim-replica", r, "-log.txt"), log);
        log.clear();
        for (auto& e : nodes_[0].db->log_since(0, 10000)) log += cat(e.lsn, " ", static_cast<int>(e.applied.k), " ", e.applied.id.to_string(), " ", e.applied.fields, "\n");
        test::write_text("/tmp/sim-owner-log.txt", log);
        std::string ws;
        for (auto& [id, w] : writes_) ws += cat(id, " ", static_cast<int>(w.st), "\n");
        test::write_text("/tmp/sim-writes.txt", ws);
      }
      CHECK(nodes_[r].db->last_lsn() == nodes_[0].db->last_lsn());
      CHECK(nodes_[r].db->check().ok());
    }
    CHECK(nodes_[0].db->check().ok());
    size_t acked = 0, failed = 0;
    for (auto& [id, w] : writes_) {
      auto marker = cat("\"w\":", id, ",");
      bool visible = want.find(marker) != std::string::npos || ever_seen_.count(id) > 0;
      if (w.st == client_write::state::failed) {
        ++failed;
        CHECK_MESSAGE(!visible, "failed write ", id, " is visible (seed ", seed_, ")");
      }
      if (w.st == client_write::state::acked) ++acked;
    }
    // Every acknowledged create or update is on the owner (and so, by the
    // comparison above, everywhere), at its version or a later one, unless an
    // acknowledged delete removed it.
    for (auto& [id, w] : writes_) {
      if (w.st != client_write::state::acked || w.kind == storage::op::kind::remove || w.rid.cluster < 0) continue;
      auto key = w.rid.to_string();
      if (deleted_.count(key)) continue;
      auto rec = nodes_[0].db->find(w.rid);
      CHECK_MESSAGE(rec.has_value(), "acknowledged write ", id, " on ", key, " is lost (seed ", seed_, ")");
      if (rec) CHECK(rec->version >= versions_[key]);
    }
    MESSAGE("seed ", seed_, ", ", node_count, " nodes, write quorum ", write_quorum, ": ", acked, " acknowledged, ", failed, " failed, ", writes_.size() - acked - failed,
            " unknown (the owner crashed first)");
    CHECK(acked > 0);
  }

 private:
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

  void open(int i) {
    auto db = storage::database::open(nodes_[i].dir, {true, false});
    REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().render()));
    nodes_[i].db = std::move(*db);
    if (i != 0) nodes_[i].rep = std::make_unique<replica>(*nodes_[i].db);
  }

  void crash(int i) {
    nodes_[i].up = false;
    nodes_[i].down_until = now_ + 20 + pick(60);
    // The connection breaks: what was in flight to or from it is lost.
    std::erase_if(in_flight_, [i](const message& m) { return m.to == i || m.from == i; });
    if (i == 0) {
      owner_.reset();
      // Writes the owner had not answered are unknown to their clients.
      for (auto& [id, w] : writes_)
        if (w.st == client_write::state::pending) w.st = client_write::state::unknown;
      by_seq_.clear();
    }
    nodes_[i].rep.reset();
    nodes_[i].db.reset();
  }

  void restart(int i) {
    open(i);
    nodes_[i].up = true;
    if (i == 0)
      owner_ = std::make_unique<owner>(*nodes_[0].db, ++epoch_, replica_names_, write_quorum);
  }

  void faults() {
    for (int i = 0; i < node_count; ++i)
      if (!nodes_[i].up && now_ >= nodes_[i].down_until) restart(i);
    if (chance(0.004)) {
      int i = crash_owner_ ? pick(node_count) : 1 + pick(node_count - 1);
      if (nodes_[i].up) crash(i);
    }
    if (partitioned_ < 0 && chance(0.003)) {
      partitioned_ = pick(node_count);
      partition_until_ = now_ + 30 + pick(100);
    }
    if (partitioned_ >= 0 && now_ >= partition_until_) partitioned_ = -1;
  }

  void send(int from, int to, std::variant<append_msg, ack_msg> body) {
    if (chance(drop_rate_)) return;
    in_flight_.push_back(message{now_ + 1 + pick(8), from, to, std::move(body)});  // delays reorder
  }

  void deliver() {
    std::vector<message> due;
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      if (it->at <= now_) {
        due.push_back(std::move(*it));
        it = in_flight_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& m : due) {
      if (!nodes_[m.to].up || !nodes_[m.from].up) continue;
      if (partitioned_ >= 0 && (m.to == partitioned_ || m.from == partitioned_)) continue;
      if (auto* a = std::get_if<append_msg>(&m.body)) {
        auto ack = nodes_[m.to].rep->on_append(*a);
        send(m.to, m.from, ack);
      } else if (auto* k = std::get_if<ack_msg>(&m.body)) {
        std::optional<append_msg> resend;
        ended(owner_->on_ack(cat(m.from), *k, &resend));
        if (resend) send(0, m.from, *resend);
      }
    }
  }

  void submit() {
    storage::op o;
    int id = ++next_write_;
    // Creates, and updates or deletes of records acknowledged earlier.
    std::vector<storage::rid> known;
    for (auto& [rid_text, rid] : live_) known.push_back(rid);
    int kind = known.empty() ? 0 : pick(10);
    if (kind < 6) {
      o.k = storage::op::kind::create;
      o.class_name = "V";
      o.fields = cat(R"({"w":)", id, R"(,"v":0})");
    } else if (kind < 9) {
      o.k = storage::op::kind::update;
      o.id = known[static_cast<size_t>(pick(static_cast<int>(known.size())))];
      o.fields = cat(R"({"w":)", id, R"(,"v":1})");
    } else {
      o.k = storage::op::kind::remove;
      o.id = known[static_cast<size_t>(pick(static_cast<int>(known.size())))];
    }
    auto s = owner_->submit({o}, now_ + 40);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().render()));
    client_write w;
    w.id = id;
    w.kind = o.k;
    writes_[id] = w;
    by_seq_[s->seq] = id;
    for (int r = 1; r < node_count; ++r) send(0, r, s->append);
    ended(s->ended);
  }

  void ended(const std::vector<outcome>& outs) {
    for (auto& o : outs) {
      auto it = by_seq_.find(o.seq);
      REQUIRE_MESSAGE(it != by_seq_.end(), "an outcome for an unknown seq ", o.seq, " (seed ", seed_, ")");
      auto& w = writes_.at(it->second);
      by_seq_.erase(it);
      REQUIRE(w.st == client_write::state::pending);
      if (!o.committed) {
        w.st = client_write::state::failed;
        continue;
      }
      w.st = client_write::state::acked;
      // Acknowledged only once durable on the quorum: the owner and enough
      // replicas hold it now (unless a replica that may hold it is down).
      size_t holders = 1;
      bool unsure = false;
      for (int r = 1; r < node_count; ++r) {
        if (!nodes_[r].up) {
          unsure = true;
          continue;
        }
        bool has = nodes_[r].db->last_committed_seq() >= o.seq;
        for (auto& e : nodes_[r].db->staged()) has = has || e.seq == o.seq;
        if (has) ++holders;
      }
      if (!unsure && holders < write_quorum) {
        std::string st;
        for (int r = 1; r < node_count; ++r) {
          st += cat(" r", r, ": committed ", nodes_[r].db->last_committed_seq(), " epoch ", nodes_[r].rep->epoch(), " staged");
          for (auto& e : nodes_[r].db->staged()) st += cat(" ", e.seq, "/", e.epoch);
        }
        FAIL_CHECK("write ", w.id, " seq ", o.seq, " acknowledged on ", holders, " node(s) at ", now_, " (seed ", seed_, ")", st);
      }
      REQUIRE(o.results.size() == 1);
      auto& r = o.results[0];
      if (r.code != storage::errc::ok) continue;  // e.g. the record was deleted first: fails alike everywhere
      ever_seen_.insert(w.id);
      auto key = r.rec.id.to_string();
      if (w.kind == storage::op::kind::remove) {
        live_.erase(key);
        deleted_.insert(key);
        continue;
      }
      w.rid = r.rec.id;
      CHECK_MESSAGE(r.rec.version > versions_[key], "version went back (seed ", seed_, ")");
      versions_[key] = r.rec.version;
      live_[key] = r.rec.id;
    }
  }

  static std::string content(const storage::database& db) {
    std::string out;
    for (auto& c : db.clusters()) {
      out += cat(c.name, ":", c.records, ":", c.next_position, "\n");
      for (auto& r : db.browse_cluster(c.id, 1'000'000)) out += r.to_json() + "\n";
    }
    return out;
  }

  std::mt19937_64 rng_;
  uint64_t seed_;
  int node_count;
  size_t write_quorum;
  std::vector<std::string> replica_names_;
  int64_t now_ = 0;
  uint64_t epoch_ = 0;
  double drop_rate_ = 0.1;
  bool crash_owner_ = true;
  int partitioned_ = -1;
  int64_t partition_until_ = 0;
  sim_node nodes_[nodes_max];
  std::unique_ptr<owner> owner_;
  std::vector<message> in_flight_;
  int next_write_ = 0;
  std::map<int, client_write> writes_;
  std::map<uint64_t, int> by_seq_;
  std::map<std::string, storage::rid> live_;
  std::map<std::string, int64_t> versions_;
  std::set<int> ever_seen_;
  std::set<std::string> deleted_;
};

std::vector<uint64_t> seeds(size_t n) {
  if (const char* s = std::getenv("TROUPE_SEED")) return {std::strtoull(s, nullptr, 10)};
  if (const char* s = std::getenv("TROUPE_SIM_SEEDS")) n = std::strtoull(s, nullptr, 10);
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n; ++i) out.push_back(1000 + i);
  return out;
}

}  // namespace

TEST_CASE("replication simulation: acknowledged writes everywhere, failed ones nowhere, replicas identical") {
  struct setup {
    int nodes;
    size_t quorum;
    size_t seeds;
    const char* what;
  };
  for (auto c : std::vector<setup>{{3, 2, 6, "3 nodes, writeQuorum majority"},
                                   {5, 3, 3, "5 nodes, writeQuorum majority"},
                                   {3, 3, 3, "3 nodes, writeQuorum all"},
                                   {2, 1, 2, "2 nodes, writeQuorum 1"}}) {
    CAPTURE(c.what);
    for (auto seed : seeds(c.seeds)) {
      CAPTURE(seed);
      test::temp_dir root;
      simulation sim(seed, root.path(), c.nodes, c.quorum);
      sim.run(1500);
      sim.settle();
      sim.check();
    }
  }
}

TEST_CASE("replication core: a replica refuses an append that skips past its commit point (a trimmed log)") {
  test::temp_dir dir;
  auto db = storage::database::open(dir.path() / "r", {true, false});
  REQUIRE(db.ok());
  auto entry = [](uint64_t seq) {
    storage::op o;
    o.k = storage::op::kind::create;
    o.class_name = "V";
    o.fields = cat(R"({"n":)", seq, "}");
    return storage::staged_entry{seq, 256, {o}};
  };
  replication::replica r(**db);
  replication::append_msg m{256, 1, 0, 0, {}, 10, true};
  for (uint64_t s = 1; s <= 10; ++s) m.entries.push_back(entry(s));
  auto a = r.on_append(m);
  REQUIRE(a.ok);
  REQUIRE((*db)->last_committed_seq() == 10);
  // The owner's log now starts at 50: nothing anchors seqs 11-49.
  replication::append_msg gap{256, 2, 0, 0, {entry(50), entry(51)}, 51, false};
  a = r.on_append(gap);
  CHECK_FALSE(a.ok);
  CHECK(a.held_seq == 10);
  CHECK((*db)->last_committed_seq() == 10);
  CHECK((*db)->last_staged_seq() == 0);
  // An append anchored on what it holds is taken as before.
  replication::append_msg next{256, 3, 10, 256, {entry(11)}, 11, true};
  CHECK(r.on_append(next).ok);
  CHECK((*db)->last_committed_seq() == 11);
}

TEST_CASE("replication core: a promised epoch survives a restart, so the old owner stays fenced") {
  test::temp_dir dir;
  {
    auto db = storage::database::open(dir.path() / "r", {true, true});
    REQUIRE(db.ok());
    replication::replica r(**db);
    auto t = r.promise(0x300);
    CHECK(t.ok);
    CHECK((*db)->promised_epoch() == 0x300);
    CHECK_FALSE(r.promise(0x200).ok);  // an older takeover
  }
  auto db = storage::database::open(dir.path() / "r", {false, true});
  REQUIRE(db.ok());
  REQUIRE((*db)->check().ok());
  replication::replica r(**db);
  CHECK(r.epoch() == 0x300);
  replication::append_msg old{0x100, 1, 0, 0, {}, 0, true};  // the old owner's heartbeat
  auto a = r.on_append(old);
  CHECK_FALSE(a.ok);
  CHECK(a.epoch == 0x300);
}
