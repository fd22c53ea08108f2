// Replication as processes: three dservers started from one copied home (as in
// the seed) under a concurrent REST write load, one of them SIGKILLed and
// restarted on its home three times (node1, the partition's owner, once), then
// a checker that compares what every client was told with what every node holds.
//
// The contract checked, per write response:
//   2xx                                  acknowledged: on every node afterwards,
//                                        at its version with its fields, or
//                                        raised by a later write of the same document
//   503 with "outcome":"not applied"     failed: visible on no node
//   anything else (503 "unknown", 504,   unknown: present or not, but the same on
//   reset, timeout, 404, 409, ...)       every node
#include <doctest/doctest.h>

#include <sstream>

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include <boost/json.hpp>

#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/http/test_client.hpp"
#include "test/support/base64.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

using namespace troupe;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace json = boost::json;
using test::child_process;

namespace {

constexpr const char* db_name = "GratefulDeadConcerts";
constexpr int node_count = 3;
constexpr int writer_count = 6;
// A connection is closed after this many requests, so that a writer that moved
// to another node while its own was down comes back to it.
constexpr int requests_per_connection_max = 500;
// A write not answered within this is unknown (the server's own write timeout is 30 s).
constexpr auto write_answer_timeout = 10s;
// Acknowledged writes the load must make between two steps of the scenario:
// 0.3 s without replication on the 2-core machine, 2-7 s with the first
// replicator (100-200 acknowledged writes per second from 6 writers).
constexpr int64_t acks_per_step = 500;

std::string dserver_path() {
  const char* p = std::getenv("TROUPE_DSERVER");
  REQUIRE_MESSAGE(p != nullptr, "TROUPE_DSERVER is not set (run through meson test)");
  return p;
}

void replace_once(const fs::path& file, const std::string& from, const std::string& to) {
  auto text = test::read_text(file);
  auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, file.string() << " no longer contains " << from);
  text.replace(at, from.size(), to);
  test::write_text(file, text);
}

// The shipped ports and group moved out of the way: another run of the process
// tests on this machine (2424-2440, 2480-2490, group "orientdb") must neither
// join this cluster nor take its ports. Everything else is the shipped config.
void private_cluster(const fs::path& home) {
  auto hz = home / "config" / "hazelcast.xml";
  replace_once(hz, "<name>orientdb</name>", "<name>troupe-replication-process</name>");
  replace_once(hz, ">2434</port>", ">30434</port>");
  replace_once(hz, "<member>127.0.0.1:2434-2440</member>", "<member>127.0.0.1:30434-30440</member>");
  auto server = home / "config" / "orientdb-server-config.xml";
  replace_once(server, "port-range=\"2480-2490\"", "port-range=\"30480-30490\"");
  replace_once(server, "port-range=\"2424-2430\"", "port-range=\"30424-30430\"");
}

// The text after `prefix` in `out` up to the first of `stops`, or "".
std::string field_after(const std::string& out, const std::string& prefix, const char* stops) {
  auto at = out.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  return out.substr(at, out.find_first_of(stops, at) - at);
}

// One dserver process over its lifetimes on one home.
struct dnode {
  std::string name;
  fs::path home;
  std::unique_ptr<child_process> p;
  std::atomic<uint16_t> http_port{0};  // 0 while it is down; the writers skip it
  std::string root_pw;                 // generated on its first start, printed once
  std::string past_output;             // what its earlier lifetimes printed

  void spawn() {
    if (p) past_output += p->output() + "\n--- restarted ---\n";
    test::process_options o;
    o.argv = {dserver_path(), "--home", home.string()};
    o.env = {{"ORIENTDB_NODE_NAME", name}};
    o.unset_env = {"ORIENTDB_HOME"};
    p = std::make_unique<child_process>(o);
  }
  bool active() const { return p->output().find("is active.") != std::string::npos; }
  // Once active: the password (first start only) and the HTTP port it took.
  void learn_ports() {
    if (root_pw.empty()) root_pw = field_after(p->output(), "generated a password for the server user 'root': ", " \n");
    REQUIRE_MESSAGE(!root_pw.empty(), p->output());
    auto port = field_after(p->output(), "Listening http connections on 0.0.0.0:", " \n");
    auto n = parse_int(port, 1, 65535);
    REQUIRE_MESSAGE(n.has_value(), p->output());
    http_port = static_cast<uint16_t>(*n);
  }
  void kill() {
    http_port = 0;
    p->signal(SIGKILL);
    REQUIRE(p->wait_exit(10s).has_value());
  }
  // Reads what the process printed, so that its pipe never fills and blocks it.
  void drain() {
    if (p) p->drain();
  }
  std::string auth() const { return test::basic_auth_header("root", root_pw); }
  std::string all_output() const { return past_output + (p ? p->output() : ""); }
};

// One request on a fresh connection; nullopt when the node does not answer.
std::optional<test::raw_response> call(const dnode& n, std::string_view method, std::string_view target) {
  uint16_t port = n.http_port;
  if (port == 0) return std::nullopt;
  test::test_client c(port);
  if (!c.connected() || !c.send(test::make_request(method, target, {}, n.auth()))) return std::nullopt;
  return c.read_response(5s);
}

std::optional<json::value> json_of(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return std::nullopt;
  return v;
}

// True when `n` answers and sees all three members with the database ONLINE.
bool sees_all_online(const dnode& n) {
  auto r = call(n, "GET", "/distributed/node");
  if (!r || r->status != 200) return false;
  auto v = json_of(r->body);
  if (!v || !v->is_object()) return false;
  auto* members = v->get_object().if_contains("members");
  if (members == nullptr || !members->is_array() || members->get_array().size() != node_count) return false;
  for (auto& m : members->get_array()) {
    auto* st = m.as_object().if_contains("databasesStatus");
    if (st == nullptr || !st->is_object()) return false;
    auto* s = st->get_object().if_contains(db_name);
    if (s == nullptr || !s->is_string() || s->get_string() != "ONLINE") return false;
  }
  return true;
}

// True when `n` answers and no longer lists `name` among the members.
bool sees_gone(const dnode& n, const std::string& name) {
  auto r = call(n, "GET", "/distributed/node");
  if (!r || r->status != 200) return false;
  auto v = json_of(r->body);
  if (!v || !v->is_object() || !v->get_object().contains("members")) return false;
  for (auto& m : v->at("members").as_array())
    if (m.at("name").as_string() == name) return false;
  return true;
}

// Records of class V on `n` (GET /database), or -1.
int64_t class_v_records(const dnode& n) {
  auto r = call(n, "GET", cat("/database/", db_name));
  if (!r || r->status != 200) return -1;
  auto v = json_of(r->body);
  if (!v || !v->is_object() || !v->get_object().contains("classes")) return -1;
  for (auto& c : v->at("classes").as_array())
    if (c.at("name").as_string() == "V") return c.at("records").to_number<int64_t>();
  return -1;
}

// --- the load ------------------------------------------------------------------

enum class outcome { acknowledged, failed, unknown };

outcome classify(const std::optional<test::raw_response>& r) {
  if (!r) return outcome::unknown;
  if (r->status >= 200 && r->status < 300) return outcome::acknowledged;
  if (r->status == 503) {
    auto v = json_of(r->body);
    if (v && v->is_object()) {
      auto* o = v->get_object().if_contains("outcome");
      if (o != nullptr && o->is_string() && o->get_string() == "not applied") return outcome::failed;
    }
  }
  return outcome::unknown;
}

// One write as its client saw it.
struct write_op {
  bool update = false;
  outcome result = outcome::unknown;
  int status = 0;             // 0: no answer (refused, reset, timeout)
  std::string key;            // the document's unique "k"
  std::string rid;            // update: the target; create: from the answer when acknowledged
  int64_t version_after = 0;  // the version the document has once this write is applied
  std::string value;          // the "v" it sets, as JSON text; unique over the whole run
};

// A document its writer may still update: every write to it so far has a
// known outcome, so its current version is known.
struct live_doc {
  std::string key, rid;
  int64_t version = 0;
};

class writer {
 public:
  writer(int id, const std::vector<std::unique_ptr<dnode>>& nodes, const std::atomic<bool>& stop,
         std::atomic<int64_t>& acks)
      : id_(id), nodes_(nodes), stop_(stop), acks_(acks), rng_(static_cast<uint32_t>(id)) {}

  void run() {
    while (!stop_) {
      if (!conn_ || used_ >= requests_per_connection_max) connect();
      if (!conn_) {
        // Every node refused (one is down, the others restarting): pace the retries.
        std::this_thread::sleep_for(20ms);
        continue;
      }
      if (!live_.empty() && rng_() % 4 == 0) {
        update(rng_() % live_.size());
      } else {
        create();
      }
      // Refused (no quorum online): pace the next try, as a client told 503
      // would. Without it 6 writers retried ~5k times a second while a
      // failover settled, starving the 3 nodes on 2 cores of the CPU their
      // heartbeats need, so the cluster took longer to settle.
      if (!log.empty() && log.back().result == outcome::failed) std::this_thread::sleep_for(5ms);
    }
  }

  std::vector<write_op> log;
  int64_t version_anomalies = 0;  // an acknowledged write that reported an unexpected version

 private:
  // Home node first (writers are spread over the nodes), then the others.
  void connect() {
    conn_.reset();
    used_ = 0;
    for (int i = 0; i < node_count; ++i) {
      auto& n = *nodes_[static_cast<size_t>((id_ + i) % node_count)];
      uint16_t port = n.http_port;
      if (port == 0) continue;
      auto c = std::make_unique<test::test_client>(port);
      if (!c->connected()) continue;
      conn_ = std::move(c);
      auth_ = n.auth();
      return;
    }
  }

  std::optional<test::raw_response> send(std::string_view method, const std::string& target, const std::string& body) {
    ++used_;
    std::optional<test::raw_response> r;
    if (conn_->send(test::make_request(method, target, body, auth_))) r = conn_->read_response(write_answer_timeout);
    if (!r || r->header("connection") == "close") conn_.reset();
    return r;
  }

  void create() {
    write_op w;
    w.key = cat("w", id_, "-", ++n_);
    w.value = std::to_string(n_);
    w.version_after = 1;
    auto r = send("POST", cat("/document/", db_name), cat(R"({"@class":"V","k":")", w.key, R"(","v":)", w.value, "}"));
    record(w, r);
    if (w.result == outcome::acknowledged) live_.push_back({w.key, w.rid, 1});
    log.push_back(std::move(w));
  }

  void update(size_t i) {
    auto d = live_[i];
    write_op w;
    w.update = true;
    w.key = d.key;
    w.rid = d.rid;
    w.value = cat("\"w", id_, "-u", ++n_, "\"");
    w.version_after = d.version + 1;
    auto r = send("PUT", cat("/document/", db_name, "/", d.rid.substr(1)),
                  cat(R"({"@class":"V","@version":)", d.version, R"(,"k":")", d.key, R"(","v":)", w.value, "}"));
    record(w, r);
    if (w.result == outcome::acknowledged) live_[i].version = w.version_after;
    // After an unknown outcome the version is unknown: the document is left alone.
    if (w.result == outcome::unknown) live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
    log.push_back(std::move(w));
  }

  void record(write_op& w, const std::optional<test::raw_response>& r) {
    w.status = r ? r->status : 0;
    w.result = classify(r);
    if (w.result != outcome::acknowledged) return;
    auto v = json_of(r->body);
    auto* o = v && v->is_object() ? &v->get_object() : nullptr;
    auto* rid = o ? o->if_contains("@rid") : nullptr;
    auto* ver = o ? o->if_contains("@version") : nullptr;
    if (rid == nullptr || !rid->is_string() || ver == nullptr || !ver->is_int64() ||
        (w.update && rid->get_string() != w.rid) || ver->get_int64() != w.version_after) {
      ++version_anomalies;
      w.result = outcome::unknown;  // acknowledged, but not as this write
      return;
    }
    w.rid = std::string(rid->get_string());
    ++acks_;
  }

  int id_;
  const std::vector<std::unique_ptr<dnode>>& nodes_;
  const std::atomic<bool>& stop_;
  std::atomic<int64_t>& acks_;
  std::mt19937 rng_;
  std::unique_ptr<test::test_client> conn_;
  std::string auth_;
  int used_ = 0;
  int64_t n_ = 0;
  std::vector<live_doc> live_;
};

// --- the checker -----------------------------------------------------------------

struct doc_state {
  std::string rid;
  int64_t version = 0;
  std::string value;  // "v" as JSON text
};

// One node's database after it stopped: every record as JSON text by RID, and
// the load's documents by their key (a key held twice is a duplicated create).
struct node_content {
  std::map<std::string, std::string> records;
  std::map<std::string, std::vector<doc_state>> docs;
};

node_content read_content(const fs::path& dir) {
  auto db = storage::database::open(dir, {false, true});
  REQUIRE_MESSAGE(db.ok(), (db.ok() ? "" : db.error().render()));
  node_content out;
  for (auto& c : (*db)->clusters()) {
    int64_t from = 0;
    for (;;) {
      auto page = (*db)->browse_cluster(c.id, from, storage::browse_records_max);
      for (auto& r : page) {
        out.records[r.id.to_string()] = r.to_json();
        auto f = json_of(r.fields);
        if (!f || !f->is_object()) continue;
        auto* k = f->get_object().if_contains("k");
        auto* v = f->get_object().if_contains("v");
        if (k == nullptr || !k->is_string() || v == nullptr) continue;
        out.docs[std::string(k->get_string())].push_back({r.id.to_string(), r.version, json::serialize(*v)});
      }
      if (page.size() < storage::browse_records_max) break;
      from = page.back().id.position + 1;
    }
  }
  return out;
}

struct verdict {
  int64_t acknowledged = 0, failed = 0, unknown = 0;
  int64_t lost = 0, failed_visible = 0, divergent = 0, duplicated = 0;
};

// `writes`: every write of the run, each document's writes in the order its
// (single) writer made them.
verdict check(const std::vector<const write_op*>& writes, const std::vector<node_content>& nodes) {
  verdict v;
  std::map<std::string, std::vector<const write_op*>> by_key;
  for (auto* w : writes) {
    by_key[w->key].push_back(w);
    if (w->result == outcome::acknowledged) ++v.acknowledged;
    if (w->result == outcome::failed) ++v.failed;
    if (w->result == outcome::unknown) ++v.unknown;
  }
  for (auto& [key, ws] : by_key) {
    std::vector<bool> lost(ws.size()), visible(ws.size());
    for (auto& n : nodes) {
      auto it = n.docs.find(key);
      const doc_state* d = it == n.docs.end() ? nullptr : &it->second.front();
      // The write whose value the document shows (values are unique), if it
      // also has the version that write gave.
      std::optional<size_t> shown;
      for (size_t j = 0; d != nullptr && j < ws.size(); ++j)
        if (d->value == ws[j]->value) {
          if (d->version == ws[j]->version_after) shown = j;
          // A failed create leaves no document; a failed update leaves no trace of its value.
          if (ws[j]->result == outcome::failed) visible[j] = true;
        }
      if (d != nullptr && ws[0]->result == outcome::failed) visible[0] = true;
      // The acknowledged write a failed one overwrote has lost its fields.
      std::optional<size_t> overwritten;
      if (shown && ws[*shown]->result == outcome::failed)
        for (size_t j = 0; j < *shown; ++j)
          if (ws[j]->result == outcome::acknowledged) overwritten = j;
      // An acknowledged write holds when the document, at the RID its client
      // was given, shows it or a later write.
      for (size_t i = 0; i < ws.size(); ++i)
        if (ws[i]->result == outcome::acknowledged &&
            (d == nullptr || d->rid != ws[i]->rid || !shown || *shown < i || overwritten == i))
          lost[i] = true;
    }
    for (size_t i = 0; i < ws.size(); ++i) {
      v.lost += lost[i] ? 1 : 0;
      v.failed_visible += visible[i] ? 1 : 0;
    }
    bool twice = false;
    for (auto& n : nodes) {
      auto it = n.docs.find(key);
      twice = twice || (it != n.docs.end() && it->second.size() > 1);
    }
    v.duplicated += twice ? 1 : 0;
  }
  // Every record, the load's and the demo's, is the same on every node.
  std::map<std::string, int> seen;
  for (auto& n : nodes)
    for (auto& [rid, text] : n.records) ++seen[rid];
  for (auto& [rid, count] : seen) {
    bool same = count == static_cast<int>(nodes.size());
    for (size_t i = 1; same && i < nodes.size(); ++i) same = nodes[i].records.at(rid) == nodes[0].records.at(rid);
    if (!same) ++v.divergent;
  }
  return v;
}

}  // namespace

TEST_CASE("replication: 3 dservers under concurrent REST writes, one SIGKILLed and restarted 3 times, lose nothing") {
  test::temp_dir root;
  std::vector<std::unique_ptr<dnode>> nodes;
  for (int i = 1; i <= node_count; ++i) {
    auto n = std::make_unique<dnode>();
    n->name = cat("node", i);
    n->home = root / n->name;
    nodes.push_back(std::move(n));
  }
  test::make_home(nodes[0]->home);
  private_cluster(nodes[0]->home);
  // The seed's way: one server directory copied to the other nodes.
  for (int i = 1; i < node_count; ++i) fs::copy(nodes[0]->home, nodes[static_cast<size_t>(i)]->home, fs::copy_options::recursive);
  auto drain_all = [&] {
    for (auto& n : nodes) n->drain();
  };
  auto all_online = [&] {
    drain_all();
    for (auto& n : nodes)
      if (!sees_all_online(*n)) return false;
    return true;
  };

  // Starts `n` and waits until it serves, reading every node's output meanwhile.
  auto start = [&](dnode& n) {
    n.spawn();
    REQUIRE_MESSAGE(test::eventually(
                        [&] {
                          drain_all();
                          return n.active();
                        },
                        60s),
                    n.p->output());
    n.learn_ports();
  };

  // node1 alone creates the demo database; node2 and node3 receive it by deploy.
  for (auto& n : nodes) start(*n);
  REQUIRE_MESSAGE(test::eventually(all_online, 90s), nodes[0]->p->output() << nodes[2]->p->output());
  auto t_online = std::chrono::steady_clock::now();

  std::atomic<bool> stop{false};
  std::atomic<int64_t> acks{0};
  std::vector<std::unique_ptr<writer>> writers;
  std::vector<std::thread> threads;
  for (int i = 0; i < writer_count; ++i) writers.push_back(std::make_unique<writer>(i, nodes, stop, acks));
  for (auto& w : writers) threads.emplace_back([&w] { w->run(); });
  // A failed REQUIRE below leaves the scope with the writers running: stop them first.
  struct stop_load {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~stop_load() {
      stop = true;
      for (auto& t : threads)
        if (t.joinable()) t.join();
    }
  } stop_load_on_exit{stop, threads};
  auto acks_grow_by = [&](int64_t n, std::chrono::milliseconds timeout) {
    int64_t from = acks;
    return test::eventually(
        [&] {
          drain_all();
          return acks >= from + n;
        },
        timeout);
  };
  // Each phase with its seconds and acknowledged writes, for the closing line.
  std::string timeline;
  auto t_mark = std::chrono::steady_clock::now();
  int64_t acks_mark = 0;
  auto mark = [&](const std::string& phase) {
    auto now = std::chrono::steady_clock::now();
    char secs[32];
    std::snprintf(secs, sizeof secs, "%.1f", std::chrono::duration<double>(now - t_mark).count());
    timeline += cat(timeline.empty() ? "" : ", ", phase, " ", secs, "/", acks - acks_mark);
    t_mark = now;
    acks_mark = acks;
  };
  REQUIRE_MESSAGE(acks_grow_by(acks_per_step, 30s), "the load makes no progress; acknowledged " << acks.load());
  mark("all up");

  // node2 (a replica), then node1 (the owner: its writes move to another node),
  // then node3. Each is down while the load goes on, so it comes back behind.
  for (int victim : {1, 0, 2}) {
    auto& n = *nodes[static_cast<size_t>(victim)];
    n.kill();
    // It comes back only after the others removed it, so that it rejoins (and
    // catches up) rather than reconnects; the load meanwhile goes on.
    REQUIRE_MESSAGE(test::eventually(
                        [&] {
                          drain_all();
                          for (auto& other : nodes)
                            if (other.get() != &n && !sees_gone(*other, n.name)) return false;
                          return true;
                        },
                        10s),
                    "the others still list " << n.name);
    int64_t before = acks;
    acks_grow_by(acks_per_step, 15s);
    // Two of three nodes hold a quorum: the cluster must go on taking writes,
    // after a failover when the owner (node1) is the one down.
    if (acks <= before) {
      // Say what the survivors did about membership and replication meanwhile.
      std::string said;
      for (auto& other : nodes) {
        if (other.get() == &n) continue;
        other->drain();
        auto out = other->p->output();
        std::istringstream lines(out);
        std::string l;
        std::vector<std::string> keep;
        while (std::getline(lines, l))
          if (l.find("ODistributedDatabase") != std::string::npos || l.find("node ") != std::string::npos ||
              l.find("leader") != std::string::npos || l.find("connection") != std::string::npos)
            keep.push_back(l);
        for (size_t i = keep.size() > 60 ? keep.size() - 60 : 0; i < keep.size(); ++i) said += keep[i] + "\n";
      }
      FAIL_CHECK("no write was acknowledged in the 15 s " << n.name << " was down\n" << said);
    }
    mark(n.name + " down");
    start(n);
    REQUIRE_MESSAGE(test::eventually(all_online, 60s),
                    n.name << " did not come back ONLINE; " << timeline << "\n" << n.p->output());
    mark(n.name + " back to ONLINE");
    REQUIRE_MESSAGE(acks_grow_by(acks_per_step, 30s),
                    "no progress after " << n.name << " came back: " << acks - acks_mark << " in 30 s; " << timeline);
    mark("all up");
  }
  stop = true;
  for (auto& t : threads) t.join();
  auto load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_online).count();

  // Replicas may still be catching up: wait for the same count everywhere.
  bool converged = test::eventually(
      [&] {
        if (!all_online()) return false;
        auto c0 = class_v_records(*nodes[0]);
        return c0 >= 0 && class_v_records(*nodes[1]) == c0 && class_v_records(*nodes[2]) == c0;
      },
      20s);
  std::string counts;
  for (auto& n : nodes) counts += cat(" ", n->name, "=", class_v_records(*n));

  for (auto& n : nodes) {
    n->p->signal(SIGTERM);
    CHECK_MESSAGE(n->p->wait_exit(30s) == 0, n->p->output());
  }
  // Every lifetime's output beside the homes, for a post-mortem with TROUPE_KEEP_TEMP=1.
  for (auto& n : nodes) test::write_text(root / (n->name + ".log"), n->all_output());
  std::vector<node_content> content;
  for (auto& n : nodes) content.push_back(read_content(n->home / "databases" / db_name));

  std::vector<const write_op*> all;
  std::map<int, int64_t> unknown_by_status;
  int64_t anomalies = 0, bad_requests = 0, updates_acked = 0;
  for (auto& w : writers) {
    anomalies += w->version_anomalies;
    for (auto& op : w->log) {
      all.push_back(&op);
      if (op.result == outcome::unknown) ++unknown_by_status[op.status];
      if (op.status == 400 || op.status == 401 || op.status == 403) ++bad_requests;
      if (op.update && op.result == outcome::acknowledged) ++updates_acked;
    }
  }
  auto v = check(all, content);
  std::string unknowns;
  for (auto& [status, n] : unknown_by_status) unknowns += cat(" ", status == 0 ? "no-answer" : std::to_string(status), "=", n);
  // The checker's line, then what explains it.
  std::printf("replication check: acknowledged %lld, failed %lld, unknown %lld, lost %lld, failed-but-visible %lld, "
              "divergent %lld\n",
              static_cast<long long>(v.acknowledged), static_cast<long long>(v.failed), static_cast<long long>(v.unknown),
              static_cast<long long>(v.lost), static_cast<long long>(v.failed_visible),
              static_cast<long long>(v.divergent));
  std::printf("replication check: load %.0f s (phase seconds/acknowledged: %s), acknowledged updates %lld; unknown by status:%s; "
              "duplicated %lld, version anomalies %lld; class V records%s%s\n",
              load_s, timeline.c_str(), static_cast<long long>(updates_acked),
              unknowns.empty() ? " none" : unknowns.c_str(), static_cast<long long>(v.duplicated),
              static_cast<long long>(anomalies), counts.c_str(),
              converged ? " (converged)" : " (did not converge within 20 s)");
  std::fflush(stdout);
  CHECK(v.lost == 0);
  CHECK(v.failed_visible == 0);
  CHECK(v.divergent == 0);
  CHECK(v.duplicated == 0);
  CHECK(anomalies == 0);
  CHECK(bad_requests == 0);  // the harness's own requests are well-formed and authorised
  // Not vacuous: the load ran through every restart, updates included.
  CHECK(v.acknowledged >= 4 * acks_per_step);
  CHECK(updates_acked >= acks_per_step / 4);
}

namespace {

// A node's content built by hand: the document `key` at `rid`.
void put(node_content& n, const std::string& rid, const std::string& key, int64_t version, const std::string& value) {
  n.records[rid] = cat(R"({"@rid":")", rid, R"(","@version":)", version, R"(,"k":")", key, R"(","v":)", value, "}");
  n.docs[key].push_back({rid, version, value});
}

void drop(node_content& n, const std::string& rid, const std::string& key) {
  n.records.erase(rid);
  n.docs.erase(key);
}

write_op op(bool update, outcome o, const std::string& key, const std::string& rid, int64_t version,
            const std::string& value) {
  return write_op{update, o, 0, key, rid, version, value};
}

}  // namespace

// The checker itself, on made-up outcomes and node contents: it passes what
// the contract allows and counts each kind of violation, so the process test
// above can fail only for what it is meant to catch.
TEST_CASE("replication check: counts lost, failed-but-visible and divergent writes, and accepts what the contract allows") {
  // w0-1: created, updated twice (acknowledged), a third update failed.
  // w0-2: created, updated with an unknown outcome that was applied.
  // w0-3: created with an unknown outcome, applied.   w0-4: create failed.
  std::vector<write_op> ops = {
      op(false, outcome::acknowledged, "w0-1", "#9:1", 1, "1"),
      op(true, outcome::acknowledged, "w0-1", "#9:1", 2, R"("u1")"),
      op(true, outcome::acknowledged, "w0-1", "#9:1", 3, R"("u2")"),
      op(true, outcome::failed, "w0-1", "#9:1", 4, R"("u3")"),
      op(false, outcome::acknowledged, "w0-2", "#9:2", 1, "2"),
      op(true, outcome::unknown, "w0-2", "#9:2", 2, R"("u4")"),
      op(false, outcome::unknown, "w0-3", "", 1, "3"),
      op(false, outcome::failed, "w0-4", "", 1, "4"),
  };
  std::vector<const write_op*> writes;
  for (auto& w : ops) writes.push_back(&w);
  node_content good;
  put(good, "#9:0", "demo", 1, "0");  // not the load's: compared, never counted as a write
  put(good, "#9:1", "w0-1", 3, R"("u2")");
  put(good, "#9:2", "w0-2", 2, R"("u4")");
  put(good, "#9:3", "w0-3", 1, "3");

  auto v = check(writes, {good, good, good});
  CHECK(v.acknowledged == 4);
  CHECK(v.failed == 2);
  CHECK(v.unknown == 2);
  CHECK(v.lost == 0);
  CHECK(v.failed_visible == 0);
  CHECK(v.divergent == 0);
  CHECK(v.duplicated == 0);

  SUBCASE("an unknown write that is nowhere is fine too") {
    node_content n = good;
    drop(n, "#9:3", "w0-3");
    drop(n, "#9:2", "w0-2");
    put(n, "#9:2", "w0-2", 1, "2");
    auto x = check(writes, {n, n, n});
    CHECK(x.lost == 0);
    CHECK(x.divergent == 0);
  }
  SUBCASE("a node without the last acknowledged update lost it, and diverges") {
    node_content stale = good;
    stale.docs.erase("w0-1");
    put(stale, "#9:1", "w0-1", 2, R"("u1")");
    auto x = check(writes, {good, stale, good});
    CHECK(x.lost == 1);
    CHECK(x.divergent == 1);
  }
  SUBCASE("a node without an acknowledged create lost the create and its updates") {
    node_content missing = good;
    drop(missing, "#9:1", "w0-1");
    CHECK(check(writes, {good, good, missing}).lost == 3);
  }
  SUBCASE("an acknowledged document under another RID is lost there") {
    node_content moved = good;
    drop(moved, "#9:1", "w0-1");
    put(moved, "#9:7", "w0-1", 3, R"("u2")");
    CHECK(check(writes, {good, moved, good}).lost == 3);
  }
  SUBCASE("a failed create or update that shows is failed-but-visible") {
    node_content n = good;
    n.docs.erase("w0-1");
    put(n, "#9:1", "w0-1", 4, R"("u3")");
    put(n, "#9:4", "w0-4", 1, "4");
    auto x = check(writes, {n, n, n});
    CHECK(x.failed_visible == 2);
    CHECK(x.lost == 1);  // the acknowledged "u2" was overwritten by the failed update
  }
  SUBCASE("an unknown write applied on one node only diverges") {
    node_content n = good;
    drop(n, "#9:3", "w0-3");
    auto x = check(writes, {good, n, good});
    CHECK(x.divergent == 1);
    CHECK(x.lost == 0);
  }
  SUBCASE("a create applied twice is a duplicate") {
    node_content n = good;
    put(n, "#9:5", "w0-3", 1, "3");
    CHECK(check(writes, {n, n, n}).duplicated == 1);
  }
}
