#include "test/process/cluster_harness.hpp"

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <doctest/doctest.h>

#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/support/base64.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/wait.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace troupe::test {

namespace {
// A connection is closed after this many requests, so that a writer that moved
// to another node while its own was down comes back to it.
constexpr int requests_per_connection_max = 500;
// A write not answered within this is unknown (the server's own write timeout is 5 s).
constexpr auto write_answer_timeout = 10s;
}  // namespace

std::string dserver_path() {
  const char* p = std::getenv("TROUPE_DSERVER");
  REQUIRE_MESSAGE(p != nullptr, "TROUPE_DSERVER is not set (run through meson test)");
  return p;
}

void replace_once(const fs::path& file, const std::string& from, const std::string& to) {
  auto text = read_text(file);
  auto at = text.find(from);
  REQUIRE_MESSAGE(at != std::string::npos, file.string() << " no longer contains " << from);
  text.replace(at, from.size(), to);
  write_text(file, text);
}

std::string field_after(const std::string& out, const std::string& prefix, const char* stops) {
  auto at = out.find(prefix);
  if (at == std::string::npos) return "";
  at += prefix.size();
  return out.substr(at, out.find_first_of(stops, at) - at);
}

std::optional<json::value> json_of(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) return std::nullopt;
  return v;
}

// --- dnode -----------------------------------------------------------------------

void dnode::spawn() {
  if (p) past_output += p->output() + "\n--- restarted ---\n";
  process_options o;
  std::vector<std::string> argv = {dserver_path(), "--home", home.string()};
  o.argv = lab ? lab->in_host(host, argv) : argv;
  o.env = {{"ORIENTDB_NODE_NAME", name}};
  o.unset_env = {"ORIENTDB_HOME"};
  p = std::make_unique<child_process>(o);
}

void dnode::learn_ports() {
  if (root_pw.empty()) root_pw = field_after(p->output(), "generated a password for the server user 'root': ", " \n");
  REQUIRE_MESSAGE(!root_pw.empty(), p->output());
  auto port = field_after(p->output(), "Listening http connections on 0.0.0.0:", " \n");
  auto n = parse_int(port, 1, 65535);
  REQUIRE_MESSAGE(n.has_value(), p->output());
  http_port = static_cast<uint16_t>(*n);
}

void dnode::kill() {
  http_port = 0;
  p->signal(SIGKILL);
  REQUIRE(p->wait_exit(10s).has_value());
}

std::string dnode::auth() const { return basic_auth_header("root", root_pw); }

std::unique_ptr<test_client> dnode::connect() const {
  uint16_t port = http_port;
  if (port == 0) return nullptr;
  auto c = lab ? std::make_unique<test_client>(test_client::adopt_t{}, lab->connect_from_client(address(), port, 2s))
               : std::make_unique<test_client>(port);
  if (!c->connected()) return nullptr;
  return c;
}

std::optional<raw_response> call(const dnode& n, std::string_view method, std::string_view target,
                                 std::string_view body) {
  auto c = n.connect();
  if (!c || !c->send(make_request(method, target, body, n.auth()))) return std::nullopt;
  return c->read_response(5s);
}

bool sees_all_online(const dnode& n, size_t count, const std::string& db) {
  auto r = call(n, "GET", "/distributed/node");
  if (!r || r->status != 200) return false;
  auto v = json_of(r->body);
  if (!v || !v->is_object()) return false;
  auto* members = v->get_object().if_contains("members");
  if (members == nullptr || !members->is_array() || members->get_array().size() != count) return false;
  for (auto& m : members->get_array()) {
    auto* st = m.as_object().if_contains("databasesStatus");
    if (st == nullptr || !st->is_object()) return false;
    auto* s = st->get_object().if_contains(db);
    if (s == nullptr || !s->is_string() || s->get_string() != "ONLINE") return false;
  }
  return true;
}

bool all_online(const dnodes& nodes, const std::string& db) {
  for (auto& n : nodes) n->drain();
  for (auto& n : nodes)
    if (!sees_all_online(*n, nodes.size(), db)) return false;
  return true;
}

bool sees_gone(const dnode& n, const std::string& name) {
  auto r = call(n, "GET", "/distributed/node");
  if (!r || r->status != 200) return false;
  auto v = json_of(r->body);
  if (!v || !v->is_object() || !v->get_object().contains("members")) return false;
  for (auto& m : v->at("members").as_array())
    if (m.at("name").as_string() == name) return false;
  return true;
}

int64_t class_v_records(const dnode& n, const std::string& db) {
  auto r = call(n, "GET", cat("/database/", db));
  if (!r || r->status != 200) return -1;
  auto v = json_of(r->body);
  if (!v || !v->is_object() || !v->get_object().contains("classes")) return -1;
  for (auto& c : v->at("classes").as_array())
    if (c.at("name").as_string() == "V") return c.at("records").to_number<int64_t>();
  return -1;
}

dnodes make_cluster(const fs::path& root, int count, const netns_lab* lab,
                    const std::function<void(const fs::path& home)>& edit) {
  dnodes nodes;
  for (int i = 1; i <= count; ++i) {
    auto n = std::make_unique<dnode>();
    n->name = cat(lab ? "host" : "node", i);
    n->home = root / n->name;
    n->lab = lab;
    n->host = i;
    nodes.push_back(std::move(n));
  }
  auto& home = nodes[0]->home;
  make_home(home);
  auto hz = home / "config" / "hazelcast.xml";
  if (lab) {
    // As a user with one machine per node writes it: every host on the cluster port.
    std::string members;
    for (int i = 1; i <= count; ++i) members += cat(i == 1 ? "" : "</member>\n                <member>", lab->address(i), ":2434");
    replace_once(hz, "<member>127.0.0.1:2434-2440</member>", cat("<member>", members, "</member>"));
  } else {
    // The shipped ports and group moved out of the way: another run of the
    // process tests on this machine (2424-2440, 2480-2490, group "orientdb")
    // must neither join this cluster nor take its ports.
    replace_once(hz, "<name>orientdb</name>", "<name>troupe-replication-process</name>");
    replace_once(hz, ">2434</port>", ">30434</port>");
    replace_once(hz, "<member>127.0.0.1:2434-2440</member>", "<member>127.0.0.1:30434-30440</member>");
    auto server = home / "config" / "orientdb-server-config.xml";
    replace_once(server, "port-range=\"2480-2490\"", "port-range=\"30480-30490\"");
    replace_once(server, "port-range=\"2424-2430\"", "port-range=\"30424-30430\"");
  }
  if (edit) edit(home);
  for (int i = 1; i < count; ++i) fs::copy(home, nodes[static_cast<size_t>(i)]->home, fs::copy_options::recursive);
  return nodes;
}

void start_node(dnode& n, const dnodes& all, std::chrono::milliseconds timeout) {
  n.spawn();
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        for (auto& x : all) x->drain();
                        return n.active();
                      },
                      timeout),
                  n.p->output());
  n.learn_ports();
}

// --- the load ----------------------------------------------------------------------

outcome classify(const std::optional<raw_response>& r) {
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

writer::writer(int id, const dnodes& nodes, const std::atomic<bool>& stop, std::atomic<int64_t>& acks)
    : id_(id), nodes_(nodes), stop_(stop), acks_(acks), rng_(static_cast<uint32_t>(id)) {}

void writer::run() {
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
    // Refused (no quorum online) or not answered: pace the next try, as a
    // client told 503 would. Without it 6 writers retried ~5k times a second
    // while a failover settled, starving the 3 nodes on 2 cores of the CPU
    // their heartbeats need, so the cluster took longer to settle.
    if (!log.empty() && log.back().result != outcome::acknowledged) std::this_thread::sleep_for(5ms);
  }
}

// Home node first (writers are spread over the nodes), then the others.
void writer::connect() {
  conn_.reset();
  used_ = 0;
  auto count = static_cast<int>(nodes_.size());
  for (int i = 0; i < count; ++i) {
    auto k = (id_ + i) % count;
    auto& n = *nodes_[static_cast<size_t>(k)];
    auto c = n.connect();
    if (!c) continue;
    conn_ = std::move(c);
    conn_node_ = k;
    auth_ = n.auth();
    return;
  }
}

std::optional<raw_response> writer::send(std::string_view method, const std::string& target, const std::string& body) {
  ++used_;
  std::optional<raw_response> r;
  if (conn_->send(make_request(method, target, body, auth_))) r = conn_->read_response(write_answer_timeout);
  if (!r || r->header("connection") == "close") conn_.reset();
  return r;
}

void writer::create() {
  write_op w;
  w.key = cat("w", id_, "-", ++n_);
  w.value = std::to_string(n_);
  w.version_after = 1;
  w.via = conn_node_;
  w.sent = std::chrono::steady_clock::now();
  auto r = send("POST", cat("/document/", demo_db), cat(R"({"@class":"V","k":")", w.key, R"(","v":)", w.value, "}"));
  record(w, r);
  if (w.result == outcome::acknowledged) live_.push_back({w.key, w.rid, 1});
  append(std::move(w));
}

void writer::update(size_t i) {
  auto d = live_[i];
  write_op w;
  w.update = true;
  w.key = d.key;
  w.rid = d.rid;
  w.value = cat("\"w", id_, "-u", ++n_, "\"");
  w.version_after = d.version + 1;
  w.via = conn_node_;
  w.sent = std::chrono::steady_clock::now();
  auto r = send("PUT", cat("/document/", demo_db, "/", d.rid.substr(1)),
                cat(R"({"@class":"V","@version":)", d.version, R"(,"k":")", d.key, R"(","v":)", w.value, "}"));
  record(w, r);
  if (w.result == outcome::acknowledged) live_[i].version = w.version_after;
  // After an unknown outcome the version is unknown: the document is left alone.
  if (w.result == outcome::unknown) live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
  append(std::move(w));
}

void writer::append(write_op w) {
  std::lock_guard lock(log_mutex);
  log.push_back(std::move(w));
}

void writer::record(write_op& w, const std::optional<raw_response>& r) {
  w.answered = std::chrono::steady_clock::now();
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

write_load::write_load(const dnodes& nodes, int writers) : nodes_(nodes) {
  for (int i = 0; i < writers; ++i) writers_.push_back(std::make_unique<writer>(i, nodes, stop_, acks_));
  for (auto& w : writers_) threads_.emplace_back([&w] { w->run(); });
}

write_load::~write_load() { stop(); }

void write_load::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  stopped_ = true;
}

bool write_load::grow_by(int64_t n, std::chrono::milliseconds timeout) {
  int64_t from = acks_;
  return eventually(
      [&] {
        for (auto& x : nodes_) x->drain();
        return acks_ >= from + n;
      },
      timeout);
}

int64_t write_load::count_if(const std::function<bool(const write_op&)>& pred) const {
  int64_t n = 0;
  for (auto& w : writers_) {
    std::lock_guard lock(w->log_mutex);
    for (auto& op : w->log)
      if (pred(op)) ++n;
  }
  return n;
}

std::vector<const write_op*> write_load::all() const {
  // While a writer runs, its next append may move its log and free the old
  // array under these pointers (a SIGSEGV in the test once it is unmapped).
  if (!stopped_) throw std::logic_error("write_load::all() while the writers run: stop() first, or use count_if()");
  std::vector<const write_op*> out;
  for (auto& w : writers_)
    for (auto& op : w->log) out.push_back(&op);
  return out;
}

// --- the checker ---------------------------------------------------------------------

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

verdict stop_and_check(const dnodes& nodes, const write_load& load, const fs::path& logs_dir, const std::string& label) {
  for (auto& n : nodes) {
    if (!n->p) continue;
    n->p->signal(SIGTERM);
    CHECK_MESSAGE(n->p->wait_exit(30s) == 0, n->p->output());
    n->http_port = 0;
  }
  // Every lifetime's output beside the homes, for a post-mortem with TROUPE_KEEP_TEMP=1.
  for (auto& n : nodes) write_text(logs_dir / (n->name + ".log"), n->all_output());
  std::vector<node_content> content;
  for (auto& n : nodes) content.push_back(read_content(n->home / "databases" / demo_db));

  auto all = load.all();
  std::map<int, int64_t> unknown_by_status;
  int64_t anomalies = 0, bad_requests = 0, updates_acked = 0;
  for (auto& w : load.writers()) anomalies += w->version_anomalies;
  for (auto* op : all) {
    if (op->result == outcome::unknown) ++unknown_by_status[op->status];
    if (op->status == 400 || op->status == 401 || op->status == 403) ++bad_requests;
    if (op->update && op->result == outcome::acknowledged) ++updates_acked;
  }
  auto v = check(all, content);
  std::string unknowns;
  for (auto& [status, n] : unknown_by_status)
    unknowns += cat(" ", status == 0 ? "no-answer" : std::to_string(status), "=", n);
  std::printf("%s check: acknowledged %lld, failed %lld, unknown %lld, lost %lld, failed-but-visible %lld, divergent %lld\n",
              label.c_str(), static_cast<long long>(v.acknowledged), static_cast<long long>(v.failed),
              static_cast<long long>(v.unknown), static_cast<long long>(v.lost), static_cast<long long>(v.failed_visible),
              static_cast<long long>(v.divergent));
  std::printf("%s check: acknowledged updates %lld; unknown by status:%s; duplicated %lld, version anomalies %lld\n",
              label.c_str(), static_cast<long long>(updates_acked), unknowns.empty() ? " none" : unknowns.c_str(),
              static_cast<long long>(v.duplicated), static_cast<long long>(anomalies));
  std::fflush(stdout);
  CHECK(anomalies == 0);
  CHECK(bad_requests == 0);  // the harness's own requests are well-formed and authorised
  CHECK(updates_acked > 0);  // not vacuous: updates with @version went through too
  return v;
}

std::string membership_story(const dnodes& nodes, size_t max) {
  std::string said;
  for (auto& n : nodes) {
    n->drain();
    std::istringstream lines(n->all_output());
    std::string l;
    std::vector<std::string> keep;
    while (std::getline(lines, l))
      if (l.find("ODistributedDatabase") != std::string::npos || l.find("node ") != std::string::npos ||
          l.find("leader") != std::string::npos || l.find("connection") != std::string::npos ||
          l.find("restarted") != std::string::npos)
        keep.push_back(l);
    said += cat("--- ", n->name, " ---\n");
    for (size_t i = keep.size() > max ? keep.size() - max : 0; i < keep.size(); ++i) said += keep[i] + "\n";
  }
  return said;
}

}  // namespace troupe::test
