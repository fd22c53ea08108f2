// A seeded, deterministic simulation of cluster membership: 3-5 nodes, each
// running the production core the cluster actor runs (src/cluster/membership.*),
// over a simulated network that delays, reorders and drops messages, with
// crashes (a node restarts as a new incarnation and joins again), pauses (a
// frozen process: it neither ticks nor reads, then resumes with its old
// state), partitions that heal, and clocks that run at different rates. The
// test only carries the core's effects (views, heartbeats, reports, joins,
// leaves); every rule is the core's.
//
// Invariants:
//   - at every change that shrinks a database's servers: a majority of the
//     servers it had agreed to that change (their agreement messages reached
//     the leader; a leaver that said it leaves counts);
//   - after every step: no two nodes in different network components both
//     accept writes to the database (each its owner by role_of, with a write
//     quorum of its configured servers reachable);
//   - checked after the network heals and settles: every node is a member of
//     one view, all hold the same view and the same configuration, and there
//     is exactly one leader, on which all agree; every node that ran is a
//     member again (the crashed ones rejoined);
//   - after 20 heartbeat timeouts without a fault: within each component that
//     holds a majority of the nodes, the nodes agree on one leader.
// Partitions cut one node off at a time; lone nodes that find each other may
// still form a second cluster, which merges into the older or larger one
// (membership::joins, dissolve).
// A failure prints the seed; TROUPE_SEED=<n> replays one, TROUPE_SIM_SEEDS=<n>
// runs that many, TROUPE_SIM_TRACE prints every node's notes.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <variant>

#include "src/cluster/membership.hpp"
#include "src/replication/role.hpp"
#include "src/util/strings.hpp"

using namespace troupe;

namespace {

constexpr int nodes_max = 5;
constexpr int64_t timeout_ms = 300;   // heartbeat timeout, in each node's own clock
constexpr int64_t beat_every_ms = 50;  // heartbeat interval
constexpr int64_t step_ms = 10;        // simulated time per step

struct view_msg {
  cluster_state s;
};
struct beat_msg {
  std::string name;
  uint64_t version = 0;
};
struct report_msg {
  std::string lost;
};
struct update_msg {
  member_info m;
};
struct leave_msg {
  std::string name;
};
// A join: hello (the acceptor's cluster size and leader), then the join
// itself, which a non-leader passes to its leader; the answer is the state.
struct hello_req {};
struct hello_resp {
  size_t members = 0;
  int64_t leader_started = 0;
  std::string leader;
};
struct join_req {
  member_info m;
  std::vector<db_config_msg> cfgs;
  int joiner = 0;
};
struct join_resp {
  std::optional<cluster_state> s;
  std::string refusal;
};
struct dissolve_msg {};
struct agree_msg {
  std::string db;
  int64_t version = 0;
};
using body_t = std::variant<view_msg, beat_msg, report_msg, update_msg, leave_msg, hello_req, hello_resp, join_req,
                            join_resp, agree_msg, dissolve_msg>;

struct message {
  int64_t at = 0;
  int from = 0, to = 0;
  uint64_t from_incarnation = 0, to_incarnation = 0;  // a connection belongs to two incarnations
  body_t body;
};

struct sim_node {
  membership mem;
  bool up = true;
  int64_t down_until = 0;
  int64_t paused_until = 0;
  uint64_t incarnation = 0;
  double rate = 1.0;   // its clock runs this fast
  int64_t offset = 0;  // and starts here
  int64_t next_beat = 0;
  int64_t next_probe = 0;
  bool joining = false;
  bool leaving = false;
};

const char* demo_config = R"({"replication": true, "autoDeploy": true, "hotAlignment": false,
  "clusters": {"*": {"writeQuorum": "majority", "readQuorum": 1,
  "partitioning": {"strategy": "round-robin", "default": 0, "partitions": [["<NEW_NODE>"]]}}}})";

std::vector<std::string> servers_of(const db_config& c) {
  std::vector<std::string> out;
  auto& star = c.effective("*");
  if (!star.partitioning || star.partitioning->partitions.empty()) return out;
  for (auto& s : star.partitioning->partitions[0])
    if (s != "<NEW_NODE>") out.push_back(s);
  return out;
}

class simulation {
 public:
  simulation(uint64_t seed, int nodes) : rng_(seed), seed_(seed), n_(nodes) {
    trace_ = std::getenv("TROUPE_SIM_TRACE") != nullptr;
    for (int i = 0; i < n_; ++i) {
      nodes_[i].rate = 0.9 + 0.2 * uniform();  // clocks drift up to 10 % apart
      nodes_[i].offset = pick(100000);
      if (i == 0) start(0);
      else nodes_[i].up = false;  // started one after the other (below), as the tutorial does
    }
  }

  void run(int steps) {
    for (int s = 0; s < steps; ++s) {
      now_ += step_ms;
      faults();
      deliver();
      for (int i = 0; i < n_; ++i) tick(i);
      if (split_brains_ < 3) check_owners();
      if (now_ - quiet_since_ > 20 * timeout_ms && now_ - last_agree_check_ > timeout_ms) {
        last_agree_check_ = now_;
        check_components_agree();
      }
    }
  }

  // Heals everything; REQUIREs that the cluster comes together.
  void settle() {
    group_.fill(0);
    partition_since_ = -1;
    drop_rate_ = 0;
    settling_ = true;
    for (int i = 0; i < n_; ++i) {
      if (!nodes_[i].up) restart(i);
      nodes_[i].paused_until = 0;
    }
    for (int s = 0; s < 3000; ++s) {
      now_ += step_ms;
      for (int i = 0; i < n_; ++i)
        if (!nodes_[i].up && now_ >= nodes_[i].down_until) restart(i);
      deliver();
      for (int i = 0; i < n_; ++i) tick(i);
      if (s > 100 && together()) return;
    }
    std::string views;
    for (int i = 0; i < n_; ++i) views += cat("\n  n", i, ": ", describe(i));
    FAIL("the cluster did not come together (seed ", seed_, "):", views);
  }

  void check() {
    auto& first = nodes_[0].mem;
    auto* leader = first.leader();
    REQUIRE(leader != nullptr);
    for (int i = 0; i < n_; ++i) {
      auto& m = nodes_[i].mem;
      CHECK_MESSAGE(m.view == first.view, "n", i, " holds another view (seed ", seed_, ")");
      CHECK_MESSAGE(m.leader() != nullptr, "n", i, " has no leader");
      if (m.leader()) CHECK(m.leader()->name == leader->name);
      CHECK(m.view.members.size() == static_cast<size_t>(n_));
      CHECK(m.leads() == (m.me.name == leader->name));
      CHECK(m.config_msgs().size() == first.config_msgs().size());
      if (!m.config_msgs().empty()) CHECK(m.config_msgs()[0].json == first.config_msgs()[0].json);
    }
    MESSAGE("seed ", seed_, ", ", n_, " nodes: ", crashes_, " crashes, ", pauses_, " pauses, ", partitions_,
            " partitions, ", joins_, " joins, ", changes_, " agreed changes of the database's servers, ", kept_,
            " waited for agreement, ", merges_, " merges, leader ", leader->name);
    CHECK(joins_ >= static_cast<size_t>(n_ - 1));
  }

 private:
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }
  bool chance(double p) { return uniform() < p; }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  static std::string name(int i) { return cat("n", i); }
  int64_t clock(int i) const { return nodes_[i].offset + static_cast<int64_t>(static_cast<double>(now_) * nodes_[i].rate); }

  template <class... T>
  void trace(const T&... parts) {
    if (trace_) std::fprintf(stderr, "%s\n", cat("[", now_, "] ", parts...).c_str());
  }

  std::string describe(int i) const {
    auto& m = nodes_[i].mem;
    std::string out = cat("v", m.view.version, " [");
    for (auto& x : m.view.members) out += cat(" ", x.name, m.suspected.count(x.name) ? "?" : "");
    out += cat(" ] leader ", m.leader() ? m.leader()->name : "-");
    for (auto& [db, c] : m.configs) {
      out += cat(" ", db, " v", c.version, " servers");
      for (auto& s : servers_of(c)) out += cat(" ", s);
    }
    return out + (nodes_[i].up ? "" : " (down)");
  }

  void start(int i) {
    auto& n = nodes_[i];
    quiet_since_ = now_;
    n.incarnation += 1;
    member_info me;
    me.name = name(i);
    me.node_id = cat(name(i), "#", n.incarnation);
    me.key = cat("key-", i);
    me.started_on_ms = now_ * 1000 + i;  // younger when restarted later
    me.status = node_online;
    me.databases = {"demo"};
    me.db_status["demo"] = db_online;
    n.mem = membership(me, timeout_ms);
    n.mem.tick_every_ms = step_ms;
    n.mem.view.members = {me};
    n.mem.view.version = 1;
    // Its database's configuration as on its disk: the shipped one on first
    // start, what it last had after a restart (kept across the crash).
    auto parsed = parse_db_config(disk_config_[i].empty() ? demo_config : disk_config_[i], "demo");
    REQUIRE(parsed.ok());
    parsed->version = disk_version_[i];
    n.mem.configs["demo"] = std::move(*parsed);
    membership_effects fx;
    n.mem.expand_new_node(me.name, fx);
    carry(i, fx);
    n.up = true;
    n.joining = false;
    n.leaving = false;
    n.next_beat = 0;
    n.next_probe = clock(i) + pick(200);
  }

  void crash(int i) {
    auto& n = nodes_[i];
    trace("n", i, " crashes");
    ++crashes_;
    quiet_since_ = now_;
    n.up = false;
    n.down_until = now_ + 200 + pick(2000);
    std::erase_if(in_flight_, [i](const message& m) { return m.to == i || m.from == i; });
  }

  void restart(int i) {
    trace("n", i, " restarts");
    quiet_since_ = now_;
    start(i);
  }

  // One partition at a time: one node cut off from the others. (Two groups of
  // several nodes each form a cluster of their own, and merging two clusters
  // is not built yet: a larger side would never rejoin.)
  void faults() {
    // Faults start once the cluster has formed (as the tutorial forms it): a
    // node that crashed before it ever joined would restart as a cluster of
    // its own, with a database of its own.
    if (!formed_) {
      // The next node starts once the ones before it have formed one cluster.
      int started = 0;
      while (started < n_ && nodes_[started].incarnation > 0) ++started;
      if (started < n_) {
        if (nodes_[0].mem.view.members.size() == static_cast<size_t>(started)) start(started);
        return;
      }
      formed_ = together();
      if (!formed_) return;
      trace("the cluster has formed");
    }
    for (int i = 0; i < n_; ++i)
      if (!nodes_[i].up && now_ >= nodes_[i].down_until) restart(i);
    if (chance(0.002)) {
      int i = pick(n_);
      if (nodes_[i].up) crash(i);
    }
    if (chance(0.002)) {
      int i = pick(n_);
      if (nodes_[i].up && nodes_[i].paused_until <= now_) {
        ++pauses_;
        quiet_since_ = now_;
        nodes_[i].paused_until = now_ + 100 + pick(3 * static_cast<int>(timeout_ms));
        trace("n", i, " pauses until ", nodes_[i].paused_until);
      }
    }
    if (partition_since_ < 0 && chance(0.002)) {
      ++partitions_;
      partition_since_ = now_;
      partition_until_ = now_ + 1000 + pick(4000);
      int side = 1;
      std::vector<int> order;
      for (int i = 0; i < n_; ++i) order.push_back(i);
      std::shuffle(order.begin(), order.end(), rng_);
      group_.fill(0);
      quiet_since_ = now_;
      for (int k = 0; k < side; ++k) group_[static_cast<size_t>(order[static_cast<size_t>(k)])] = 1;
      std::string who;
      for (int i = 0; i < n_; ++i) who += group_[static_cast<size_t>(i)] ? cat(" n", i) : "";
      trace("partition:", who, " apart");
    }
    if (partition_since_ >= 0 && now_ >= partition_until_) {
      trace("the partition heals");
      quiet_since_ = now_;
      group_.fill(0);
      partition_since_ = -1;
    }
  }

  bool linked(int a, int b) const { return group_[static_cast<size_t>(a)] == group_[static_cast<size_t>(b)]; }
  bool reachable(int a, int b) const { return nodes_[a].up && nodes_[b].up && linked(a, b); }
  bool paused(int i) const { return nodes_[i].paused_until > now_; }

  void send(int from, int to, body_t b) {
    if (from == to || chance(drop_rate_)) return;
    in_flight_.push_back(message{now_ + step_ms * (1 + pick(4)), from, to, nodes_[from].incarnation,
                                 nodes_[to].incarnation, std::move(b)});
  }
  void send_name(int from, const std::string& to, body_t b) { send(from, std::stoi(to.substr(1)), std::move(b)); }

  void carry(int i, membership_effects& fx) {
    auto& n = nodes_[i];
    for (auto& note : fx.notes) {
      trace("n", i, ": ", note.text);
      if (note.text.find("keeping node") != std::string::npos) ++kept_;  // a proposal waiting for agreement
      if (note.text.rfind("configuration of '", 0) == 0) check_change(i, note.text);
    }
    for (auto& db : fx.configs_changed) {
      disk_config_[i] = to_json(n.mem.configs.at(db));
      disk_version_[i] = n.mem.configs.at(db).version;
    }
    for (auto& [leader, lost] : fx.reports) send_name(i, leader, report_msg{lost});
    for (auto& a : fx.agrees) send_name(i, a.leader, agree_msg{a.db, a.version});
    for (auto& d : fx.dissolve) send_name(i, d, dissolve_msg{});
    if (fx.tell_leader_me)
      if (auto* l = n.mem.leader(); l && l->name != n.mem.me.name) send_name(i, l->name, update_msg{n.mem.me});
    for (auto& c : fx.catch_up) send_name(i, c, view_msg{n.mem.state()});
    if (fx.broadcast) {
      auto s = n.mem.state();
      for (auto& m : n.mem.view.members)
        if (m.name != n.mem.me.name && m.name != fx.broadcast_except) send_name(i, m.name, view_msg{s});
    }
  }

  // The safety invariant, at each change of a database's servers ("configuration
  // of 'db' vV -> vW agreed by [a,b] of servers [a,b,c]"): the agreeing servers
  // are a majority of the servers it had, and each of them really agreed to
  // version V: it is the leader itself, or its agreement message or its leave
  // (sent while the leader held version V) reached the leader (counted here
  // from the messages the simulation delivered).
  static std::set<std::string> names_in(const std::string& text, size_t from) {
    std::set<std::string> out;
    auto a = text.find('[', from), b = text.find(']', a);
    std::string inner = text.substr(a + 1, b - a - 1);
    for (size_t p = 0; p < inner.size();) {
      auto q = inner.find(',', p);
      if (q == std::string::npos) q = inner.size();
      if (q > p) out.insert(inner.substr(p, q - p));
      p = q + 1;
    }
    return out;
  }
  void check_change(int i, const std::string& note) {
    ++changes_;
    auto db = note.substr(18, note.find('\'', 18) - 18);
    auto v = std::stoll(note.substr(note.find(" v", 18) + 2));
    auto agreed = names_in(note, note.find("agreed by"));
    auto servers = names_in(note, note.find("of servers"));
    auto& delivered = agreed_[i][{db, v}];
    size_t real = 0;
    for (auto& s : agreed) {
      int j = std::stoi(s.substr(1));
      bool ok = j == i || delivered.count(s);
      (void)j;
      CHECK_MESSAGE(ok, "n", i, " counted ", s, "'s agreement to ", db, " v", v, ", which never reached it (seed ", seed_, ")");
      real += ok && servers.count(s) ? 1 : 0;
    }
    CHECK_MESSAGE((servers.empty() || real * 2 > servers.size()), "n", i, " changed ", db, " v", v, " with ", real,
                  " of its ", servers.size(), " servers agreeing (seed ", seed_, ")");
  }

  // The split-brain invariant, after every step: no two nodes in different
  // network components can both accept writes to the database: each believes
  // it owns it (role_of, the rule replication runs) and can reach a write
  // quorum of the servers its configuration names.
  void check_owners() {
    std::vector<int> accepting;
    for (int i = 0; i < n_; ++i) {
      auto& n = nodes_[i];
      if (!n.up || paused(i) || !n.mem.configs.count("demo")) continue;
      auto r = replication::role_of("demo", n.mem.configs.at("demo"), n.mem.view, n.mem.suspected, n.mem.me.name);
      if (r.owner() != n.mem.me.name || r.online.size() < r.write_quorum) continue;
      size_t reach = 0;
      for (auto& s : r.servers) {
        int j = std::stoi(s.substr(1));
        reach += (j == i || reachable(i, j)) ? 1 : 0;
      }
      if (reach >= r.write_quorum) accepting.push_back(i);
    }
    for (size_t a = 0; a < accepting.size(); ++a)
      for (size_t b = a + 1; b < accepting.size(); ++b)
        if (!linked(accepting[a], accepting[b])) {
          ++split_brains_;
          FAIL_CHECK("n", accepting[a], " and n", accepting[b], " both accept writes to demo from two sides of a split (seed ",
                     seed_, ")\n  n", accepting[a], ": ", describe(accepting[a]), "\n  n", accepting[b], ": ",
                     describe(accepting[b]));
        }
  }

  void tick(int i) {
    auto& n = nodes_[i];
    if (!n.up || paused(i)) return;
    auto t = clock(i);
    if (t >= n.next_beat) {
      n.next_beat = t + beat_every_ms;
      for (auto& m : n.mem.view.members)
        if (m.name != n.mem.me.name) send_name(i, m.name, beat_msg{n.mem.me.name, n.mem.view.version});
    }
    membership_effects fx;
    n.mem.tick(t, fx);
    carry(i, fx);
    // A node alone probes the others (the configured addresses) now and then.
    if (n.joining && now_ > join_deadline_[i]) n.joining = false;  // the answer was lost
    // A leader of several probes too, less often: another cluster may have formed apart.
    bool alone = n.mem.view.members.size() == 1;
    if ((alone || n.mem.leads()) && !n.joining && t >= n.next_probe) {
      n.next_probe = t + (alone ? 200 : 1000) + pick(200);
      for (int j = 0; j < n_; ++j) send(i, j, hello_req{});  // a round over the configured addresses
    }
    // Now and then a node leaves cleanly and comes back (a restart by the
    // operator). A fault like the others: only once the cluster has formed (a
    // node that left during formation was never restarted, and 3 of 10
    // five-node seeds never reached the fault phase).
    if (formed_ && !settling_ && chance(0.0003) && !n.leaving && n.mem.view.members.size() > 1) {
      trace("n", i, " leaves cleanly");
      quiet_since_ = now_;
      n.leaving = true;
      for (auto& m : n.mem.view.members)
        if (m.name != n.mem.me.name) send_name(i, m.name, leave_msg{n.mem.me.name});
      n.up = false;
      n.down_until = now_ + 100 + pick(500);
      // what it sent is on its way: the connection closes after the leave messages
    }
  }

  void deliver() {
    std::vector<message> due;
    for (auto it = in_flight_.begin(); it != in_flight_.end();) {
      // A paused node reads nothing; its messages wait (TCP keeps them).
      if (it->at <= now_ && !paused(it->to)) {
        due.push_back(std::move(*it));
        it = in_flight_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& m : due) {
      if (!linked(m.from, m.to) || !nodes_[m.to].up || nodes_[m.to].incarnation != m.to_incarnation) continue;
      on_message(m);
    }
  }

  // Who sent it, as the cluster actor checks: a member's message must come
  // from the incarnation the view names (by node id).
  bool from_member(int to, const message& m) const {
    auto* x = nodes_[to].mem.view.find(name(m.from));
    return x != nullptr && x->node_id == cat(name(m.from), "#", m.from_incarnation);
  }

  void on_message(const message& msg) {
    int i = msg.to;
    auto& n = nodes_[i];
    auto t = clock(i);
    membership_effects fx;
    if (auto* v = std::get_if<view_msg>(&msg.body)) {
      if (!from_member(i, msg)) return;
      if (n.mem.leads() && v->s.view.version <= n.mem.view.version) return;
      n.mem.adopt(v->s, false, t, fx);
    } else if (auto* b = std::get_if<beat_msg>(&msg.body)) {
      if (!from_member(i, msg) || b->name != name(msg.from)) return;
      n.mem.heard(b->name, b->version, t, fx);
    } else if (auto* r = std::get_if<report_msg>(&msg.body)) {
      if (!from_member(i, msg)) return;
      n.mem.reported(r->lost, t, fx);
    } else if (auto* u = std::get_if<update_msg>(&msg.body)) {
      if (!from_member(i, msg) || u->m.name != name(msg.from)) return;
      n.mem.update(u->m, fx);
    } else if (auto* l = std::get_if<leave_msg>(&msg.body)) {
      if (!from_member(i, msg) || l->name != name(msg.from)) return;
      // A leave is the leaver's agreement to go from the configuration this node holds.
      for (auto& [db, c] : n.mem.configs) agreed_[i][{db, c.version}].insert(l->name);
      n.mem.leaves(l->name, fx);
    } else if (std::get_if<hello_req>(&msg.body)) {
      auto* leader = n.mem.leader();
      if (leader == nullptr) return;
      send(i, msg.from, hello_resp{n.mem.view.members.size(), leader->started_on_ms, leader->name});
    } else if (auto* h = std::get_if<hello_resp>(&msg.body)) {
      if (n.joining || !n.mem.joins(h->members, h->leader_started, h->leader)) return;
      if (n.mem.view.members.size() > 1) {
        ++merges_;
        trace("n", i, " dissolves its cluster to join ", h->leader, "'s (", h->members, " members)");
        membership_effects dx;
        n.mem.dissolve(dx);
        carry(i, dx);
      }
      n.joining = true;
      join_deadline_[i] = now_ + 2000;
      send(i, msg.from, join_req{n.mem.me, n.mem.config_msgs(), i});
    } else if (auto* j = std::get_if<join_req>(&msg.body)) {
      if (!n.mem.leads()) {
        if (auto* l = n.mem.leader(); l != nullptr) send_name(i, l->name, *j);  // the actor asks its leader
        return;
      }
      auto refusal = n.mem.admit(j->m, j->cfgs, t, fx);
      join_resp resp;
      if (refusal) resp.refusal = *refusal;
      else resp.s = n.mem.state();
      // The answer travels back to the joiner (through the acceptor in the actor).
      send(i, j->joiner, std::move(resp));
    } else if (std::get_if<dissolve_msg>(&msg.body)) {
      if (!from_member(i, msg)) return;
      n.mem.dissolved_by(name(msg.from), fx);
      n.next_probe = t;
    } else if (auto* g = std::get_if<agree_msg>(&msg.body)) {
      if (!from_member(i, msg)) return;
      agreed_[i][{g->db, g->version}].insert(name(msg.from));
      n.mem.agreed(name(msg.from), g->db, g->version, fx);
    } else if (auto* a = std::get_if<join_resp>(&msg.body)) {
      if (!n.joining) return;
      n.joining = false;
      if (!a->s) return;
      // Joined only if it is still alone (else it formed its own cluster meanwhile).
      if (n.mem.view.members.size() > 1) return;
      ++joins_;
      trace("n", i, " joins through n", msg.from, " (", a->s->view.members.size(), " members)");
      n.mem.adopt(*a->s, true, t, fx);
    }
    carry(i, fx);
  }

  // After a long quiet spell (no crash, pause, leave or partition change for
  // 20 timeouts): the nodes of each component that is a majority agree on
  // one leader.
  void check_components_agree() {
    for (int g = 0; g < 2; ++g) {
      std::vector<int> in;
      for (int i = 0; i < n_; ++i)
        if (group_[static_cast<size_t>(i)] == g && nodes_[i].up && !paused(i)) in.push_back(i);
      if (in.size() * 2 <= static_cast<size_t>(n_)) continue;
      std::set<std::string> leaders;
      for (int i : in)
        if (auto* l = nodes_[i].mem.leader()) leaders.insert(l->name);
      if (leaders.size() > 1) {
        std::string views;
        for (int i : in) views += cat("\n  n", i, ": ", describe(i));
        FAIL_CHECK("a majority component has ", leaders.size(), " leaders (seed ", seed_, ")", views);
      }
    }
  }

  bool together() const {
    auto& v = nodes_[0].mem.view;
    if (v.members.size() != static_cast<size_t>(n_)) return false;
    for (int i = 0; i < n_; ++i) {
      auto& m = nodes_[i].mem;
      if (!nodes_[i].up || m.view != v || !m.suspected.empty() || nodes_[i].joining) return false;
      if (m.configs != nodes_[0].mem.configs || !m.state().proposals.empty()) return false;
    }
    return true;
  }

  std::mt19937_64 rng_;
  uint64_t seed_;
  int n_;
  bool trace_ = false;
  int64_t now_ = 0;
  double drop_rate_ = 0.02;
  std::array<int, nodes_max> group_{};
  int64_t partition_since_ = -1, partition_until_ = 0, quiet_since_ = 0;
  int64_t last_agree_check_ = 0;
  bool settling_ = false;  // no more faults
  bool formed_ = false;    // every node joined once
  sim_node nodes_[nodes_max];
  std::string disk_config_[nodes_max];
  int64_t disk_version_[nodes_max] = {};
  std::map<int, int64_t> join_deadline_;
  std::map<std::pair<std::string, int64_t>, std::set<std::string>> agreed_[nodes_max];  // delivered agreements, per leader
  std::vector<message> in_flight_;
  size_t split_brains_ = 0;
  size_t merges_ = 0;
  size_t crashes_ = 0, pauses_ = 0, partitions_ = 0, joins_ = 0, changes_ = 0, kept_ = 0;
};

std::vector<uint64_t> seeds(size_t n) {
  if (const char* s = std::getenv("TROUPE_SEED")) return {std::strtoull(s, nullptr, 10)};
  if (const char* s = std::getenv("TROUPE_SIM_SEEDS")) n = std::strtoull(s, nullptr, 10);
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n; ++i) out.push_back(2000 + i);
  return out;
}

}  // namespace

TEST_CASE("membership simulation: one view and one leader after healing; no shrink without a majority") {
  for (int nodes : {3, 5}) {
    CAPTURE(nodes);
    for (auto seed : seeds(nodes == 3 ? 20 : 10)) {
      CAPTURE(seed);
      simulation sim(seed, nodes);
      sim.run(6000);
      sim.settle();
      sim.check();
    }
  }
}
