#include "actors/placement_actor.hpp"

#include <algorithm>
#include <set>
#include <utility>

#include "actors/db_config_actor.hpp"
#include "actors/deploy.hpp"
#include "actors/senders.hpp"
#include "src/util/clock.hpp"
#include "src/cluster/deploy_plan.hpp"
#include "src/replication/role.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

namespace {

constexpr const char* component = "OHazelcastPlugin";

struct placement_state {
  placement_options opts;
  logger* log = nullptr;
  cluster_actor cluster;
  std::optional<membership_snapshot> now;  // the membership as last told (nullopt: not yet)
  std::map<std::string, replication::role> roles_sent;  // the last role told to each local database
  deploy_book deploys;  // the databases being received, and the failures backed off from (deploy_plan.hpp)
  std::map<std::string, deploy_receiver_actor> receivers;  // ... their receivers, by database
  std::set<caf::actor_addr> transfers;                     // linked deploy senders and receivers
  uint64_t sends = 0;  // deploys sent: each gets its own scratch folder
};

using self_ptr = placement_actor::stateful_pointer<placement_state>;

bool from_self(self_ptr self) { return sent_here(self); }

const db_config& config_of(const placement_state& st, const std::string& db) {
  auto cfg = st.now->configs.find(db);
  return cfg != st.now->configs.end() ? cfg->second : st.opts.default_db;
}

// Tells each local database actor its replication role when it changed: the
// servers of the database, which of them are online (members, not suspected,
// database ONLINE), the write quorum. Our own entry is taken from `me`, which
// is newer than the view's until the leader has echoed it.
void send_roles(self_ptr self) {
  auto& st = self->state;
  if (!st.now || !st.opts.dbs) return;
  auto view = st.now->view;  // with our own entry as we know it (and each open database ONLINE, below)
  auto* mine = view.find(st.now->me.name);
  if (mine != nullptr) *mine = st.now->me;
  for (auto& db : st.opts.dbs->names()) {
    auto entry = st.opts.dbs->find(db);
    if (!entry) continue;
    // Still receiving a copy: no role yet (its writes wait). Open otherwise,
    // so ONLINE here even before the leader has heard of it.
    auto local = st.now->me.db_status.find(db);
    if (local != st.now->me.db_status.end() && local->second == db_synchronizing) continue;
    if (mine != nullptr) mine->db_status[db] = db_online;
    auto r = replication::role_of(db, config_of(st, db), view, st.now->suspected, st.now->me.name);
    auto& sent = st.roles_sent[db];
    if (sent == r) continue;
    sent = r;
    // In the relay actor's name: a database actor talks to other nodes (and
    // reports) through the sender of its role.
    caf::send_as(st.opts.relay, entry->writer, role_atom::value, std::move(r));
  }
}

// The directory (REST's copy of the cluster and its read quorums), the
// partition table and each local database's stored configuration follow every
// snapshot.
void publish(self_ptr self) {
  auto& st = self->state;
  auto& now = *st.now;
  cluster_snapshot snap;
  snap.local_name = now.me.name;
  snap.local_node_id = now.me.node_id;
  snap.state.view = now.view;
  std::map<std::string, uint32_t> rq;
  for (auto& [db, cfg] : now.configs) {
    auto json = to_json(cfg);
    snap.state.configs.push_back(db_config_msg{db, json, cfg.version, ""});
    // Read quorums for the REST layer, resolved against each database's servers.
    auto r = replication::role_of(db, cfg, now.view, now.suspected, now.me.name);
    auto& star = cfg.effective("*");
    int n = static_cast<int>(r.servers.size());
    int q = star.read_quorum ? star.read_quorum->resolve(n) : 1;
    rq[db] = static_cast<uint32_t>(std::clamp(q, 1, std::max(n, 1)));
    // The configuration actor stores and prints a changed one (databases held
    // here only). anon_send: its answer (whether anything changed) is of no use.
    if (auto a = st.opts.config_actors.find(db); a != st.opts.config_actors.end() && now.store.count(db))
      caf::anon_send(a->second, update_atom::value, db_config_msg{db, std::move(json), cfg.version, ""});
  }
  if (st.opts.partitions) {
    // The partition table names owners by the same rule as replication, so it
    // must not count members suspected here either.
    std::vector<std::string> suspected(now.suspected.begin(), now.suspected.end());
    self->send(st.opts.partitions, repart_atom::value, cluster_state{now.view, snap.state.configs, {}, {}}, suspected);
  }
  st.opts.directory->set_read_quorums(std::move(rq));
  st.opts.directory->set(std::move(snap));
}

// This node's own entry changes here at once (so that the next decisions see
// it) and in the membership, which announces it (the next snapshot agrees).
void set_status(self_ptr self, const std::string& db, const std::optional<std::string>& status) {
  auto& st = self->state;
  if (st.now) {
    if (status) st.now->me.db_status[db] = *status;
    else st.now->me.db_status.erase(db);
  }
  self->send(st.cluster, db_status_atom::value, db, status.value_or(""));
}

// A database held here before a redeploy is open again (the new copy, or the
// old one after a failed attempt), perhaps under a new database actor: ONLINE,
// not catching up, and its role told again.
void redeployed(self_ptr self, const std::string& db) {
  auto& st = self->state;
  st.roles_sent.erase(db);
  if (st.now) std::erase(st.now->me.catching_up, db);
  self->send(st.cluster, catchup_atom::value, db, false);
  set_status(self, db, std::string(db_online));
  send_roles(self);
}

// A deploy attempt ended without the database: forget it, back off, try again
// later (from the first member that holds it then).
void deploy_failed(self_ptr self, const std::string& db, uint64_t attempt, const std::string& why) {
  auto& st = self->state;
  auto f = st.deploys.failed(db, attempt, steady_now_ms());
  if (!f) return;  // an older attempt, already handled
  if (auto r = st.receivers.find(db); r != st.receivers.end()) {
    self->send_exit(r->second, caf::exit_reason::user_shutdown);  // its installer removes the folder
    st.receivers.erase(r);
  }
  st.log->log(log_level::error, component,
              cat("deploy of database ", db, " failed: ", why,
                  f->replace ? "; the copy this node holds stays in use; trying again in " : "; trying again in ",
                  deploy::format_duration_ms(f->retry_in_ms)),
              direction::in, f->source);
  // The copy we held (or the new one, if the swap was done) is open: ONLINE
  // again, behind, and the owner will send us back here.
  if (f->replace && st.opts.dbs->find(db)) return redeployed(self, db);
  set_status(self, db, std::nullopt);
}

// Spawns a receiver for `db` and asks member `source` (connected) to send it.
// `replace`: a redeploy of a database we hold open but that is behind the
// source's replication log; the copy is installed beside ours and swapped in
// (databases actor, replace_atom), so ours stays open until then.
void start_deploy(self_ptr self, const std::string& db, const std::string& source, bool replace) {
  auto& st = self->state;
  auto peer_handle = st.now->connected.at(source);
  deploy_receiver_options ro;
  ro.db = db;
  ro.databases_dir = st.opts.databases_dir;
  ro.directory = st.opts.dbs;
  ro.databases = st.opts.db_opener;
  ro.placement = caf::actor_cast<placement_actor>(self);
  ro.source = peer_handle;
  ro.relay = st.opts.relay;
  ro.local_name = st.now->me.name;
  ro.peer_name = source;
  ro.board = st.opts.deploys;
  ro.test_disk_limit = st.opts.test_deploy_disk_limit;
  ro.replace = replace;
  auto receiver = spawn_deploy_receiver(self->system(), ro, st.log);
  // Linked: when the node stops, a transfer in progress stops with it
  // (otherwise ~actor_system would wait for its requests to time out).
  self->link_to(receiver);
  st.transfers.insert(receiver.address());
  auto id = st.deploys.begin(db, source, replace);
  st.receivers[db] = receiver;
  // No timeout of its own worth the name: a lost sender is noticed by the
  // membership (suspect_atom), a stuck chunk by the sender's chunk timeout,
  // and a transfer may take long.
  self->request(peer_handle, std::chrono::seconds(86400), deploy_atom::value, db, st.now->me.name,
                caf::actor_cast<caf::strong_actor_ptr>(receiver))
      .then(
          [self, db, id](bool) {
            if (self->state.deploys.done(db, id)) self->state.receivers.erase(db);
          },
          [self, db, id](caf::error& e) { deploy_failed(self, db, id, error_text(self->system(), e)); });
  set_status(self, db, std::string(db_synchronizing));
}

// Asks a member for every autoDeploy database the cluster has and we lack, one
// transfer per database at a time (src/cluster/deploy_plan.hpp decides).
void maybe_deploy(self_ptr self) {
  auto& st = self->state;
  if (!st.now || !st.opts.dbs) return;
  deploy_inputs in;
  in.configs = &st.now->configs;
  in.view = &st.now->view;
  in.me = st.now->me.name;
  for (auto& [name, h] : st.now->connected) in.connected.insert(name);
  for (auto& [db, a] : st.deploys.attempts()) in.deploying.insert(db);
  for (auto& [db, cfg] : st.now->configs) {
    if (st.opts.dbs->find(db)) in.open.insert(db);
    else if (fs::exists(st.opts.databases_dir / db)) in.on_disk.insert(db);
  }
  in.retries = &st.deploys.retries();
  in.now_ms = steady_now_ms();
  in.leaving = st.now->leaving;
  for (auto& [db, source] : plan_deploys(in)) start_deploy(self, db, source, false);
}

// A database that appeared on this node (deployed, or the demo created after
// the join wait): a configuration actor, and a place in the view.
void add_local_database(self_ptr self, const std::string& db) {
  auto& st = self->state;
  if (st.opts.config_actors.count(db)) return;
  auto a = spawn_db_config_actor(self->system(), db, st.opts.databases_dir / db, st.opts.default_db, st.log);
  st.opts.config_actors.emplace(db, a);
  self->send(st.cluster, add_db_atom::value, db);
}

placement_actor::behavior_type placement_impl(self_ptr self, placement_options opts, logger* log) {
  self->state.opts = std::move(opts);
  self->state.log = log;
  // Deploy actors are linked to us so that they stop when we do; their own end,
  // whatever its reason, must not take us down.
  self->set_exit_handler([self](caf::exit_msg& m) {
    auto& st = self->state;
    if (st.transfers.erase(m.source) > 0) return;
    // Stop what we spawned: the configuration actors of databases that
    // appeared while we ran (detached: ~actor_system would wait for them), and
    // any transfer (linked, but say it explicitly whatever the reason).
    for (auto& [db, a] : st.opts.config_actors) self->send_exit(a, m.reason);
    for (auto& [db, r] : st.receivers) self->send_exit(r, m.reason);
    self->quit(m.reason);
  });
  return {
      [self](init_atom, cluster_actor& cluster) {
        if (from_self(self)) self->state.cluster = std::move(cluster);
      },
      [self](view_atom, membership_snapshot& s) {
        if (!from_self(self)) return;
        self->state.now = std::move(s);
        send_roles(self);
        publish(self);
        maybe_deploy(self);
      },
      [self](suspect_atom, const std::string& name) {
        if (!from_self(self)) return;
        for (auto& [db, id] : self->state.deploys.from(name))
          deploy_failed(self, db, id, cat("node '", name, "' was lost during the transfer"));
      },
      [self](tick_atom) {
        if (!from_self(self)) return;
        maybe_deploy(self);
        send_roles(self);  // databases opened since (deploys, the demo)
      },
      [self](deploy_atom, const std::string& db, const std::string& requester,
             caf::strong_actor_ptr& receiver_ptr) -> caf::result<bool> {
        auto& st = self->state;
        // Handed over by the cluster actor, which checked the sender; members
        // only here too (by CAF node id), should anyone else learn our handle.
        if (!st.now || sending_member(self, st.now->view) == nullptr)
          return make_troupe_error(errc::not_member, "deploy request from a non-member");
        auto entry = st.opts.dbs ? st.opts.dbs->find(db) : std::nullopt;
        if (!entry) return make_troupe_error(errc::database_not_found, cat("database ", db, " is not here"));
        if (!receiver_ptr) return make_troupe_error(errc::invalid_argument, "no receiver");
        deploy_sender_options so;
        so.db = db;
        so.storage = entry->db;
        so.scratch = st.opts.databases_dir / cat(".deploy-", db, "-", ++st.sends);
        so.receiver = caf::actor_cast<deploy_receiver_actor>(receiver_ptr);
        so.local_name = st.now->me.name;
        so.peer_name = requester;
        so.corrupt_chunk = std::exchange(st.opts.corrupt_first_deploy_chunk, -1);
        so.chunk_delay = st.opts.test_deploy_chunk_delay;
        so.compress_level = st.opts.deploy_compress_level;
        so.board = st.opts.deploys;
        auto sender_actor = spawn_deploy_sender(self->system(), so, st.log);
        self->link_to(sender_actor);
        st.transfers.insert(sender_actor.address());
        return self->delegate(sender_actor, deploy_atom::value);
      },
      [self](deployed_atom, const std::string& db) {
        if (!from_self(self)) return;
        // A redeploy: the database was ours already (its configuration actor
        // too), and a new database actor runs it now: tell it its role. (The
        // old one may have said it was catching up: the new one starts afresh.)
        if (self->state.opts.config_actors.count(db)) redeployed(self, db);
        else add_local_database(self, db);
        self->state.log->warn(component, cat("updated node status to 'ONLINE'"));
      },
      [self](redeploy_atom, const std::string& db, const std::string& source) {
        auto& st = self->state;
        if (!from_self(self) || !st.now || st.now->leaving || !st.opts.dbs || !st.opts.dbs->find(db)) return;
        if (!st.now->connected.count(source) || !st.deploys.may_redeploy(db, steady_now_ms())) return;
        st.log->log(log_level::warn, component,
                    cat("database ", db, " is behind the replication log of ", source,
                        ": receiving a full copy (the copy held now stays in use until the new one is in place)"),
                    direction::in, source);
        start_deploy(self, db, source, true);
      },
      [self](add_db_atom, const std::string& db) {
        if (from_self(self)) add_local_database(self, db);
      },
      // The cluster dropped `db`: a transfer of it ends, its configuration
      // actor stops (its file goes with the folder), the copy is deleted.
      [self](dbdrop_atom, const std::string& db) {
        auto& st = self->state;
        if (!from_self(self)) return;
        if (auto a = st.deploys.attempts().find(db); a != st.deploys.attempts().end())
          deploy_failed(self, db, a->second.id, "the database was dropped from the cluster");
        if (auto c = st.opts.config_actors.find(db); c != st.opts.config_actors.end()) {
          self->send_exit(c->second, caf::exit_reason::user_shutdown);
          st.opts.config_actors.erase(c);
        }
        st.roles_sent.erase(db);
        if (st.opts.db_opener) self->send(st.opts.db_opener, dbdrop_atom::value, db);
      },
      [self](inspect_atom) -> actor_summary {
        auto& st = self->state;
        std::vector<std::string> deploying, roles;
        for (auto& [db, a] : st.deploys.attempts()) deploying.push_back(cat(db, a.replace ? " (redeploy)" : "", " from ", a.source));
        for (auto& [db, r] : st.roles_sent) roles.push_back(cat(db, ": ", r.owner().empty() ? "(no owner)" : r.owner()));
        return actor_summary{"placement", self->id(), self->mailbox().size(),
                             cat(st.roles_sent.size(), " database role(s) told, ", deploying.size(), " deploy(s) in, ",
                                 st.sends, " sent"),
                             cat("{\"deploying\":", json_list(deploying), ",\"owners\":", json_list(roles),
                                 ",\"deploysSent\":", st.sends, "}")};
      },
  };
}

}  // namespace

placement_actor spawn_placement_actor(caf::actor_system& sys, placement_options opts, logger* log) {
  return sys.spawn(placement_impl, std::move(opts), log);
}

}  // namespace troupe
