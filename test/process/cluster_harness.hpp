// Real dserver processes for cluster tests: one node per home, on loopback or,
// as users run them, one per host of a netns_lab (test/support/netns.hpp); a
// REST write load; and the checker that compares what every client was told
// with what every node holds once stopped.
//
// The checker's contract, per write response:
//   2xx                                  acknowledged: on every node afterwards,
//                                        at its version with its fields, or
//                                        raised by a later write of the same document
//   503 with "outcome":"not applied"     failed: visible on no node
//   anything else (503 "unknown", 504,   unknown: present or not, but the same on
//   reset, timeout, 404, 409, ...)       every node
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <thread>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "test/http/test_client.hpp"
#include "test/support/netns.hpp"
#include "test/support/process.hpp"

// Ends a test case that needs network namespaces (one dserver per host) where
// they cannot be made, saying why.
#define SKIP_WITHOUT_NAMESPACES()                                                              \
  if (auto why = netns_lab::unavailable_reason(); !why.empty()) {                             \
    MESSAGE("skipped: one dserver per host needs network namespaces: " << why);               \
    return;                                                                                    \
  }

namespace troupe::test {

inline constexpr const char* demo_db = "GratefulDeadConcerts";

std::string dserver_path();
void replace_once(const std::filesystem::path& file, const std::string& from, const std::string& to);
// The text after `prefix` in `out` up to the first of `stops`, or "".
std::string field_after(const std::string& out, const std::string& prefix, const char* stops);
std::optional<boost::json::value> json_of(const std::string& body);

// One dserver process over its lifetimes on one home; on host `host` of `lab`
// when a lab is given, else on this host's loopback.
struct dnode {
  std::string name;
  std::filesystem::path home;
  const netns_lab* lab = nullptr;
  int host = 0;  // 1-based, with a lab
  std::unique_ptr<child_process> p;
  std::atomic<uint16_t> http_port{0};  // 0 while it is down; the writers skip it
  std::string root_pw;                 // generated on its first start, printed once
  std::string past_output;             // what its earlier lifetimes printed

  std::string address() const { return lab ? lab->address(host) : "127.0.0.1"; }
  void spawn();
  bool active() const { return p && p->output().find("is active.") != std::string::npos; }
  // Once active: the password (first start only) and the HTTP port it took.
  void learn_ports();
  void kill();  // SIGKILL, and wait for the process to end
  // Reads what the process printed, so that its pipe never fills and blocks it.
  void drain() {
    if (p) p->drain();
  }
  std::string auth() const;
  std::string all_output() const { return past_output + (p ? p->output() : ""); }
  // A keep-alive connection to its REST port (from the lab's client namespace
  // with a lab); nullptr when it is down or does not accept.
  std::unique_ptr<test_client> connect() const;
};

using dnodes = std::vector<std::unique_ptr<dnode>>;

// One request on a fresh connection; nullopt when the node does not answer.
std::optional<raw_response> call(const dnode& n, std::string_view method, std::string_view target,
                                 std::string_view body = {});
// True when `n` answers and sees `count` members with the database ONLINE.
bool sees_all_online(const dnode& n, size_t count, const std::string& db = demo_db);
// True when every node of `nodes` answers and sees them all with `db` ONLINE
// (reading every node's output meanwhile).
bool all_online(const dnodes& nodes, const std::string& db = demo_db);
// True when `n` answers and no longer lists `name` among the members.
bool sees_gone(const dnode& n, const std::string& name);
// Records of class V on `n` (GET /database), or -1.
int64_t class_v_records(const dnode& n, const std::string& db = demo_db);
// `count` nodes "node1".. (with a lab: "host1".., one per host) with homes under
// `root`: the shipped configuration in node 1's home, its tcp-ip members set to
// every host's address on the cluster port (with a lab) or moved to private
// loopback ports and group (without), then copied to the others as the seed does.
// `edit` may change node 1's home before it is copied.
dnodes make_cluster(const std::filesystem::path& root, int count, const netns_lab* lab,
                    const std::function<void(const std::filesystem::path& home)>& edit = {});

// Starts `n` and waits (bounded) until it serves, reading every node's output meanwhile.
void start_node(dnode& n, const dnodes& all, std::chrono::milliseconds timeout = std::chrono::seconds(60));

// --- the load ----------------------------------------------------------------

enum class outcome { acknowledged, failed, unknown };
outcome classify(const std::optional<raw_response>& r);

// One write as its client saw it.
struct write_op {
  bool update = false;
  outcome result = outcome::unknown;
  int status = 0;             // 0: no answer (refused, reset, timeout)
  std::string key;            // the document's unique "k"
  std::string rid;            // update: the target; create: from the answer when acknowledged
  int64_t version_after = 0;  // the version the document has once this write is applied
  std::string value;          // the "v" it sets, as JSON text; unique over the whole run
  int via = -1;               // the node (index) that answered
  std::chrono::steady_clock::time_point sent, answered;
};

// A writer thread's loop: creates, and updates of its own documents with
// @version, through its home node (id % nodes) first, then the others.
class writer {
 public:
  writer(int id, const dnodes& nodes, const std::atomic<bool>& stop, std::atomic<int64_t>& acks);
  void run();

  // Every write so far. The writer's own thread appends under log_mutex, so
  // another thread reads it only under that lock while the writer runs (an
  // append may reallocate the vector: a pointer or iterator into it taken
  // before is left dangling), or freely once the writer has stopped.
  std::vector<write_op> log;
  mutable std::mutex log_mutex;
  int64_t version_anomalies = 0;  // an acknowledged write that reported an unexpected version

 private:
  struct live_doc {
    std::string key, rid;
    int64_t version = 0;
  };
  void connect();
  std::optional<raw_response> send(std::string_view method, const std::string& target, const std::string& body);
  void create();
  void update(size_t i);
  void record(write_op& w, const std::optional<raw_response>& r);
  void append(write_op w);  // to `log`, under log_mutex

  int id_;
  const dnodes& nodes_;
  const std::atomic<bool>& stop_;
  std::atomic<int64_t>& acks_;
  std::mt19937 rng_;
  std::unique_ptr<test_client> conn_;
  int conn_node_ = -1;
  std::string auth_;
  int used_ = 0;
  int64_t n_ = 0;
  std::vector<live_doc> live_;
};

// Writer threads over `nodes` until stopped (also on scope exit, so a failed
// REQUIRE never leaves threads running).
class write_load {
 public:
  write_load(const dnodes& nodes, int writers);
  ~write_load();
  void stop();
  int64_t acks() const { return acks_; }
  // Waits (bounded, draining the nodes' output) until `n` more writes are acknowledged.
  bool grow_by(int64_t n, std::chrono::milliseconds timeout);
  // The writes so far for which `pred` holds, read under each writer's lock:
  // the way to look at the writes while the load runs.
  int64_t count_if(const std::function<bool(const write_op&)>& pred) const;
  // Every write, as pointers into the writers' logs: only once stop() has
  // returned (throws std::logic_error before), since a running writer's log
  // reallocates as it grows and would leave the pointers dangling.
  std::vector<const write_op*> all() const;
  // Their logs as all() says: only once stopped.
  const std::vector<std::unique_ptr<writer>>& writers() const { return writers_; }

 private:
  const dnodes& nodes_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> acks_{0};
  bool stopped_ = false;  // every writer thread joined (set and read by the test's thread)
  std::vector<std::unique_ptr<writer>> writers_;
  std::vector<std::thread> threads_;
};

// --- the checker ---------------------------------------------------------------

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

node_content read_content(const std::filesystem::path& db_dir);

struct verdict {
  int64_t acknowledged = 0, failed = 0, unknown = 0;
  int64_t lost = 0, failed_visible = 0, divergent = 0, duplicated = 0;
};

// `writes`: every write of the run, each document's writes in the order its
// (single) writer made them.
verdict check(const std::vector<const write_op*>& writes, const std::vector<node_content>& nodes);

// Stops every node (SIGTERM, clean exit expected), keeps their output beside
// the homes, reads every node's database and checks the load against it. The
// checker's line is printed; the caller checks the verdict.
verdict stop_and_check(const dnodes& nodes, const write_load& load, const std::filesystem::path& logs_dir,
                       const std::string& label);

// The lines of every node's output that say something about membership and
// replication (the last `max` of each), for a failure message.
std::string membership_story(const dnodes& nodes, size_t max = 60);

}  // namespace troupe::test
