#include "src/cluster/membership.hpp"

#include <algorithm>
#include <tuple>

#include <boost/json.hpp>

#include "src/util/json_text.hpp"
#include "src/util/strings.hpp"

namespace troupe {

using lvl = membership_note::level;

result<std::vector<db_config_msg>> parse_tombstones(std::string_view text) {
  auto bad = [](std::string what) { return error_info{"", "", std::move(what)}; };
  if (text.size() > (1u << 20)) return bad("the dropped databases' file is larger than 1 MiB");
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  if (ec) return bad(cat("the dropped databases' file is not JSON: ", ec.message()));
  auto* o = v.if_object();
  if (o == nullptr) return bad("the dropped databases' file must hold a JSON object {\"database\": version}");
  if (o->size() > membership::dropped_max) return bad(cat("more than ", membership::dropped_max, " dropped databases"));
  std::vector<db_config_msg> out;
  for (auto& [k, val] : *o) {
    std::string db(k);
    if (!valid_database_name(db)) return bad(cat("'", db, "' is not a database name"));
    if (!val.is_int64() || val.as_int64() < 0)
      return bad(cat("the version of '", db, "' must be a whole number >= 0"));
    out.push_back(db_config_msg{db, "", val.as_int64(), ""});
  }
  return out;
}

std::string tombstones_json(const std::map<std::string, int64_t>& dropped) {
  std::string text = "{";
  for (auto& [db, v] : dropped) text += cat(text.size() > 1 ? ",\n " : "\n ", json_quote(db), ": ", v);
  return text + "\n}\n";
}

bool membership::leads() const {
  auto* l = leader();
  return l != nullptr && l->name == me.name;
}

std::vector<db_config_msg> membership::proposal_msgs() const {
  std::vector<db_config_msg> out;
  for (auto& [db, p] : proposals_) out.push_back(db_config_msg{db, p.base_json, p.version, p.changed_by});
  return out;
}

namespace {

std::set<std::string> servers_in(const std::vector<std::string>& part) {
  std::set<std::string> out;
  for (auto& n : part)
    if (n != new_node_tag) out.insert(n);
  return out;
}

std::set<std::string> all_servers(const db_config& c) {
  std::set<std::string> out;
  for (auto& [cluster, cc] : c.clusters)
    if (cc.partitioning)
      for (auto& part : cc.partitioning->partitions) out.merge(servers_in(part));
  return out;
}

std::string list(const std::set<std::string>& names) {
  std::string out;
  for (auto& n : names) out += cat(out.empty() ? "" : ",", n);
  return cat("[", out, "]");
}

}  // namespace

// What a hotAlignment=false configuration should become: every member in the
// partitions that hold <NEW_NODE>, every server that is not a member out.
membership::proposal membership::desired(const std::string& db, const db_config& cfg) const {
  proposal p;
  p.version = cfg.version;
  p.next = cfg;
  for (auto& m : view.members) {
    std::vector<std::string> added;
    if (add_node_to_partitions(p.next, m.name, &added))
      for (auto& a : added) p.added.emplace_back(m.name, cat(db, ".", a));
  }
  auto everyone = all_servers(cfg);
  for (auto& s : everyone) {
    if (view.find(s) != nullptr) continue;
    std::vector<std::string> removed;
    if (remove_node_from_partitions(p.next, s, everyone, &removed))
      for (auto& r : removed) p.removed.emplace_back(s, cat(db, ".", r));
  }
  p.changed_by = !p.added.empty() ? p.added.front().first : !p.removed.empty() ? p.removed.front().first : "";
  return p;
}

void membership::propose_changes(membership_effects& fx) {
  if (!leads()) {
    proposals_.clear();
    return;
  }
  for (auto& [db, cfg] : configs) {
    if (cfg.hot_alignment) continue;
    for (int round = 0; round < 4; ++round) {  // a lone leader may commit a few changes at once
      auto want = desired(db, cfg);
      if (want.added.empty() && want.removed.empty()) {
        proposals_.erase(db);
        break;
      }
      auto cur = proposals_.find(db);
      if (cur != proposals_.end() && cur->second.version == cfg.version && cur->second.next == want.next)
        break;  // still waiting for the servers
      want.base_json = to_json(cfg);  // only now: this runs every tick, mostly to find nothing to do
      want.agreed.insert(me.name);
      for (auto& [name, where] : want.removed)
        if (auto l = leavers_.find({db, cfg.version}); l != leavers_.end() && l->second.count(name))
          want.agreed.insert(name);
      proposals_[db] = want;
      fx.broadcast = true;
      if (try_commit(db, fx)) continue;
      for (auto& [name, where] : want.removed)
        log(lvl::warn,
            cat("keeping node '", name, "' in partition: ", where,
                " (hotAlignment=false) until a majority of the partition's servers agree to remove it: shrinking "
                "it on fewer could let both sides of a split accept writes"),
            fx);
      break;
    }
  }
}

bool membership::try_commit(const std::string& db, membership_effects& fx) {
  auto p = proposals_.find(db);
  auto c = configs.find(db);
  if (p == proposals_.end() || c == configs.end()) return false;
  if (c->second.version != p->second.version) {
    proposals_.erase(p);
    return false;
  }
  // A majority of every partition's servers, as the configuration has them
  // now, agreed (a partition without servers has nothing to protect).
  for (auto& [cluster, cc] : c->second.clusters) {
    if (!cc.partitioning) continue;
    for (auto& part : cc.partitioning->partitions) {
      auto servers = servers_in(part);
      size_t agreeing = 0;
      for (auto& n : servers) agreeing += p->second.agreed.count(n);
      if (!servers.empty() && 2 * agreeing <= servers.size()) return false;
    }
  }
  auto& pr = p->second;
  for (auto& [name, where] : pr.added) log(lvl::info, cat("adding node '", name, "' in partition: ", where), fx);
  for (auto& [name, where] : pr.removed) log(lvl::info, cat("removing node '", name, "' in partition: ", where), fx);
  auto servers = all_servers(c->second);
  std::set<std::string> agreed;
  for (auto& n : pr.agreed)
    if (servers.count(n)) agreed.insert(n);
  log(lvl::info,
      cat("configuration of '", db, "' v", pr.version, " -> v", pr.version + 1, " agreed by ", list(agreed),
          " of servers ", list(servers)),
      fx);
  auto next = std::move(pr.next);
  next.version = pr.version + 1;
  c->second = std::move(next);
  changed_by[db] = pr.changed_by;
  proposals_.erase(p);
  // A new state: a member that misses this one says so in its heartbeats
  // (their view version) and is sent it again.
  view.version += 1;
  fx.configs_changed.insert(db);
  fx.roles_changed = true;
  fx.broadcast = true;
  return true;
}

void membership::agreed(const std::string& from, const std::string& db, int64_t version, membership_effects& fx) {
  if (!leads()) return;
  auto p = proposals_.find(db);
  if (p == proposals_.end() || p->second.version != version) return;
  p->second.agreed.insert(from);
  if (try_commit(db, fx)) propose_changes(fx);
}

std::vector<db_config_msg> membership::config_msgs() const {
  std::vector<db_config_msg> out;
  for (auto& [db, cfg] : configs) {
    auto i = changed_by.find(db);
    out.push_back(db_config_msg{db, to_json(cfg), cfg.version, i == changed_by.end() ? "" : i->second});
  }
  return out;
}

void membership::expand_new_node(const std::string& node, membership_effects& fx) {
  for (auto& [db, cfg] : configs) {
    if (!cfg.hot_alignment) continue;  // changed only as a majority of its servers agree: propose_changes
    std::vector<std::string> added;
    if (!add_node_to_partitions(cfg, node, &added)) continue;
    for (auto& a : added) log(lvl::info, cat("adding node '", node, "' in partition: ", db, ".", a), fx);
    cfg.version += 1;
    changed_by[db] = node;
    if (node != me.name) log(lvl::info, cat("update configuration db=", db, " from=", node), fx);
    fx.configs_changed.insert(db);
    fx.roles_changed = true;
    if (leads()) view.version += 1;  // as in try_commit
  }
  propose_changes(fx);
}

void membership::announce_me(membership_effects& fx) {
  if (auto* m = view.find(me.name)) {
    m->databases = me.databases;
    m->db_status = me.db_status;
    m->catching_up = me.catching_up;
  }
  if (leads()) {
    view.version += 1;
    fx.broadcast = true;
  } else {
    fx.tell_leader_me = true;
  }
  fx.roles_changed = true;
}

bool membership::leader_behind_me(const std::string& name) const {
  auto* l = leader();
  auto* mine = view.find(me.name);
  return l != nullptr && l->name == name && l->name != me.name && mine != nullptr &&
         (mine->databases != me.databases || mine->db_status != me.db_status || mine->catching_up != me.catching_up);
}

std::map<std::string, std::string> membership::member_keys() const {
  std::map<std::string, std::string> keys;
  for (auto& m : view.members)
    if (!m.key.empty()) keys[m.node_id] = m.key;
  return keys;
}

void membership::start(member_info m, const std::vector<db_config_msg>& held, membership_effects& fx,
                       const std::vector<db_config_msg>& tombs) {
  me = std::move(m);
  me.status = node_online;
  for (auto& db : me.databases) me.db_status[db] = db_online;
  view.members = {me};
  view.version = 1;
  fx.view_changed = true;
  load(held, fx);
  take_dropped(tombs, fx);
  fx.dropped_changed = false;  // read from the file just now
}

std::pair<std::string, std::string> membership::report(int64_t now_ms, const std::vector<std::string>& connected,
                                                       const std::string& databases_json) const {
  std::string heard;
  for (auto& [name, t] : heard_ms) heard += cat(heard.empty() ? "" : ",", json_quote(name), ":", now_ms - t);
  std::vector<std::string> lost(suspected.begin(), suspected.end());
  auto* l = leader();
  std::string leader_name = l ? l->name : "";
  return {cat("view v", view.version, ", ", view.members.size(), " member(s), leader ", leader_name, ", ",
              connected.size(), " connected, ", lost.size(), " suspected"),
          cat("{\"name\":", json_quote(me.name), ",\"leader\":", json_quote(leader_name), ",\"viewVersion\":",
              view.version, ",\"members\":", view.members.size(), ",\"connected\":", json_list(connected),
              ",\"suspected\":", json_list(lost), ",\"heardMsAgo\":{", heard, "},\"databases\":{", databases_json,
              "}}")};
}

void membership::load(const std::vector<db_config_msg>& held, membership_effects& fx) {
  for (auto& m : held) {
    auto parsed = parse_db_config(m.json, cat("distributed configuration of ", m.db));
    if (!parsed) {
      log(lvl::error, cat("distributed configuration of ", m.db, " left out: ", parsed.error().render()), fx);
      continue;
    }
    parsed->version = m.version;
    parsed->notices.clear();
    configs[m.db] = std::move(*parsed);
  }
  expand_new_node(me.name, fx);
  for (auto& [db, cfg] : configs) fx.configs_changed.insert(db);
}

void membership::add_database(const std::string& db, const db_config& defaults, membership_effects& fx) {
  if (!configs.count(db) && dropped.count(db)) {
    log(lvl::warn, cat("database '", db, "' was dropped from the cluster: deleting the copy found here"), fx);
    fx.drop_local.push_back(db);
    return;
  }
  if (std::find(me.databases.begin(), me.databases.end(), db) == me.databases.end()) me.databases.push_back(db);
  me.db_status[db] = db_online;
  if (!configs.count(db)) {
    auto cfg = defaults;
    cfg.version = 0;
    cfg.notices.clear();
    configs[db] = std::move(cfg);
  }
  expand_new_node(me.name, fx);
  fx.configs_changed.insert(db);
  announce_me(fx);
}

bool membership::set_db_status(const std::string& db, const std::optional<std::string>& status,
                               membership_effects& fx) {
  if (!status) {
    if (me.db_status.erase(db) == 0) return false;
  } else {
    auto& cur = me.db_status[db];
    if (cur == *status) return false;
    cur = *status;
  }
  announce_me(fx);
  return true;
}

bool membership::set_catching_up(const std::string& db, bool on, membership_effects& fx) {
  auto& v = me.catching_up;
  auto it = std::find(v.begin(), v.end(), db);
  if (on == (it != v.end())) return false;
  if (on) {
    v.push_back(db);
  } else {
    v.erase(it);
  }
  announce_me(fx);
  return true;
}

std::vector<db_config_msg> membership::dropped_msgs() const {
  std::vector<db_config_msg> out;
  for (auto& [db, v] : dropped) out.push_back(db_config_msg{db, "", v, ""});
  return out;
}

bool membership::is_dropped(const std::string& db, int64_t version) const {
  auto t = dropped.find(db);
  return t != dropped.end() && version <= t->second;
}

// Forgets `db` as this node's own (its copy is being deleted).
void membership::forget_local(const std::string& db, membership_effects& fx) {
  auto& v = me.databases;
  bool held = std::find(v.begin(), v.end(), db) != v.end() || me.db_status.count(db) > 0;
  v.erase(std::remove(v.begin(), v.end(), db), v.end());
  me.db_status.erase(db);
  auto& c = me.catching_up;
  c.erase(std::remove(c.begin(), c.end(), db), c.end());
  fx.drop_local.push_back(db);
  if (held) announce_me(fx);
}

void membership::take_dropped(const std::vector<db_config_msg>& tombs, membership_effects& fx) {
  for (auto& t : tombs) {
    if (!valid_database_name(t.db) || t.version < 0) continue;  // names become paths: never trust them
    auto cur = dropped.find(t.db);
    if (cur != dropped.end() && cur->second >= t.version) continue;
    if (cur == dropped.end() && dropped.size() >= dropped_max) {
      // Full: the tombstone with the lowest version goes (the oldest drop,
      // most likely long settled everywhere), never the new one: a drop
      // must always take effect.
      auto oldest = std::min_element(dropped.begin(), dropped.end(),
                                     [](auto& a, auto& b) { return a.second < b.second; });
      dropped.erase(oldest);
    }
    dropped[t.db] = t.version;
    fx.dropped_changed = true;
    auto c = configs.find(t.db);
    if (c == configs.end() || c->second.version > t.version) {
      // No configuration (or a newer life of the name): a stale copy may
      // still lie on disk or be arriving; the placement deletes it if so.
      if (c == configs.end()) forget_local(t.db, fx);
      continue;
    }
    log(lvl::info, cat("database '", t.db, "' was dropped from the cluster: deleting it here"), fx);
    configs.erase(c);
    changed_by.erase(t.db);
    proposals_.erase(t.db);
    fx.configs_changed.erase(t.db);
    fx.roles_changed = true;
    forget_local(t.db, fx);
  }
}

std::optional<std::string> membership::create_database(const std::string& db, const std::string& requester,
                                                       const db_config& defaults, membership_effects& fx) {
  if (!leads()) return std::string("this node does not lead the cluster");
  if (!valid_database_name(db)) return cat("'", db, "' is not a database name (1-128 of A-Z a-z 0-9 _ -)");
  if (view.find(requester) == nullptr) return cat("'", requester, "' is not a member");
  if (configs.count(db)) return cat("Database '", db, "' already exists");
  auto cfg = defaults;
  cfg.notices.clear();
  auto t = dropped.find(db);
  cfg.version = (t == dropped.end() ? 0 : t->second) + 1;
  // The requester holds the data; every other member where <NEW_NODE> stands
  // (as a joiner would be), so the quorums count them from the start.
  std::vector<std::string> added;
  add_node_to_partitions(cfg, requester, &added);
  for (auto& m : view.members)
    if (m.name != requester) add_node_to_partitions(cfg, m.name, &added);
  configs[db] = std::move(cfg);
  changed_by[db] = requester;
  log(lvl::info, cat("created database '", db, "' for node '", requester, "' (configuration v", configs[db].version, ")"), fx);
  view.version += 1;
  fx.configs_changed.insert(db);
  fx.roles_changed = true;
  fx.broadcast = true;
  return std::nullopt;
}

std::optional<std::string> membership::drop_database(const std::string& db, membership_effects& fx) {
  if (!leads()) return std::string("this node does not lead the cluster");
  auto c = configs.find(db);
  if (c == configs.end()) return cat("Database '", db, "' not found");
  for (auto& m : view.members)
    if (auto s = m.db_status.find(db); s != m.db_status.end() && s->second == db_synchronizing)
      return cat("Database '", db, "' is in use: node '", m.name,
                 "' is receiving it (a deploy is under way); drop it once it is ONLINE there");
  auto version = c->second.version;
  log(lvl::info, cat("dropped database '", db, "' from the cluster (configuration v", version, ")"), fx);
  take_dropped({db_config_msg{db, "", version, ""}}, fx);
  for (auto& m : view.members) {  // its holders say so themselves too; the view is right at once
    auto& v = m.databases;
    v.erase(std::remove(v.begin(), v.end(), db), v.end());
    m.db_status.erase(db);
    m.catching_up.erase(std::remove(m.catching_up.begin(), m.catching_up.end(), db), m.catching_up.end());
  }
  view.version += 1;
  fx.view_changed = fx.roles_changed = true;
  fx.broadcast = true;
  return std::nullopt;
}

std::optional<std::string> membership::admit(member_info m, const std::vector<db_config_msg>& cfgs, int64_t now_ms,
                                             membership_effects& fx) {
  if (auto* existing = view.find(m.name)) {
    // A member's name stays with its node key while it is in the view, alive
    // or not: another member (it knows the group password) cannot take it over.
    if (existing->key != m.key) {
      log(lvl::warn, cat("refused node '", m.name, "' (", m.member_id(), "): the name belongs to a member with another node key"), fx);
      return cat("the node name '", m.name, "' belongs to a member with another node key");
    }
    if (existing->node_id == m.node_id) return std::nullopt;  // a member already
    auto h = heard_ms.find(m.name);
    bool alive = m.name == me.name || (h != heard_ms.end() && now_ms - h->second < timeout_ms);
    if (alive) {
      log(lvl::warn, cat("refused node '", m.name, "' (", m.member_id(), "): the name is taken by a live member"), fx);
      return cat("the node name '", m.name, "' is taken by a live member");
    }
    remove(m.name, fx);  // an earlier incarnation that died unnoticed
  }
  // The joiner's copies of dropped databases are not the cluster's (it
  // deletes them when it adopts our state and its tombstones).
  std::map<std::string, int64_t> joiner_versions;
  for (auto& c : cfgs) joiner_versions[c.db] = c.version;
  auto stale = [&](const std::string& db) {
    auto v = joiner_versions.find(db);
    return !configs.count(db) && is_dropped(db, v == joiner_versions.end() ? 0 : v->second);
  };
  std::erase_if(m.databases, stale);
  std::erase_if(m.db_status, [&](auto& kv) { return stale(kv.first); });
  std::erase_if(m.catching_up, stale);
  for (auto& c : cfgs) {
    if (!valid_database_name(c.db) || is_dropped(c.db, c.version)) continue;
    auto parsed = parse_db_config(c.json, cat("distributed configuration of ", c.db, " from ", m.name));
    if (!parsed) continue;
    parsed->version = c.version;
    parsed->notices.clear();
    // The cluster keeps its own configuration unless the joiner's is newer: a
    // node that was cut off may lead a cluster of one with a configuration the
    // majority changed since (agreed by a majority of the servers), and the
    // node joining it may be the one that knows the change. Going back to the
    // older one would undo an agreed change (and let a shrunk-away server
    // count again). A fork the cut-off side made can only have grown (it
    // cannot shrink without a majority), so taking it costs availability at
    // worst, never a second owner.
    if (auto mine = configs.find(c.db); mine != configs.end() && mine->second.version >= c.version) continue;
    fx.roles_changed = true;
    configs[c.db] = std::move(*parsed);
    changed_by[c.db] = m.name;
    log(lvl::info, cat("update configuration db=", c.db, " from=", m.name), fx);
    fx.configs_changed.insert(c.db);
  }
  m.status = node_online;
  heard_ms[m.name] = now_ms;
  view.members.push_back(m);
  view.version += 1;
  fx.view_changed = fx.roles_changed = true;
  log(lvl::warn, cat("added new node id=", m.member_id(), " name=", m.name), fx);
  log(lvl::info, cat("added node configuration id=", m.member_id(), " name=", m.name, ", now ", view.members.size(),
                     " nodes are configured"),
      fx);
  expand_new_node(m.name, fx);
  fx.broadcast = true;
  fx.broadcast_except = m.name;  // it gets the state as its answer
  return std::nullopt;
}

void membership::remove(const std::string& name, membership_effects& fx) {
  auto it = std::find_if(view.members.begin(), view.members.end(), [&](const member_info& m) { return m.name == name; });
  if (it == view.members.end()) return;
  log(lvl::warn, cat("node removed id=", it->member_id(), " name=", name), fx);
  view.members.erase(it);
  view.version += 1;
  suspected.erase(name);
  heard_ms.erase(name);
  fx.dropped.push_back(name);
  fx.view_changed = fx.roles_changed = true;
  propose_changes(fx);
  fx.broadcast = true;
}

void membership::left_at_versions(const std::string& name) {
  for (auto& [db, cfg] : configs) leavers_[{db, cfg.version}].insert(name);
  while (leavers_.size() > 1000) leavers_.erase(leavers_.begin());  // bounded: old versions go first (by name)
}

void membership::suspect(const std::string& name, membership_effects& fx) { suspect_all({name}, fx); }

void membership::suspect_all(const std::vector<std::string>& names, membership_effects& fx) {
  std::vector<std::string> now_lost;
  for (auto& name : names) {
    if (name == me.name || view.find(name) == nullptr) continue;
    suspected.insert(name);
    fx.dropped.push_back(name);
    now_lost.push_back(name);
  }
  if (now_lost.empty()) return;
  fx.roles_changed = true;
  // All of them suspected before any is removed: removing one while another
  // lost one still counts as reachable would shrink partitions on the word of
  // a member that is gone.
  if (leads()) {
    // Remove every lost member now that we lead (the old leader may be among them).
    std::vector<std::string> lost(suspected.begin(), suspected.end());
    for (auto& n : lost) remove(n, fx);
  } else if (auto* l = leader(); l != nullptr) {
    for (auto& name : now_lost) fx.reports.emplace_back(l->name, name);
  }
}

void membership::adopt(const cluster_state& s, bool authoritative, int64_t now_ms, membership_effects& fx) {
  if (authoritative || s.view.version > view.version || view.members.size() <= 1) {
    for (auto& m : s.view.members) {
      if (m.name == me.name || view.find(m.name) != nullptr) continue;
      log(lvl::warn, cat("added new node id=", m.member_id(), " name=", m.name), fx);
      log(lvl::info, cat("added node configuration id=", m.member_id(), " name=", m.name, ", now ",
                         s.view.members.size(), " nodes are configured"),
          fx);
    }
    for (auto& m : s.view.members) {
      // The same name, another incarnation (it restarted, and we missed the
      // view without it): our connection, suspicion and silence were about
      // the old one. A suspicion kept by name would leave the new one out of
      // every role here for good, and the old handle would swallow our traffic.
      auto* cur = view.find(m.name);
      if (m.name == me.name || cur == nullptr || cur->node_id == m.node_id) continue;
      log(lvl::info, cat("node '", m.name, "' restarted (", m.member_id(), ")"), fx);
      fx.dropped.push_back(m.name);
      suspected.erase(m.name);
      heard_ms.erase(m.name);
    }
    for (auto& m : view.members) {
      if (m.name == me.name || s.view.find(m.name) != nullptr) continue;
      log(lvl::warn, cat("node removed id=", m.member_id(), " name=", m.name), fx);
      fx.dropped.push_back(m.name);
    }
    view = s.view;
    fx.view_changed = fx.roles_changed = true;
    for (auto i = suspected.begin(); i != suspected.end();) i = view.find(*i) == nullptr ? suspected.erase(i) : std::next(i);
    for (auto i = heard_ms.begin(); i != heard_ms.end();) i = view.find(i->first) == nullptr ? heard_ms.erase(i) : std::next(i);
    for (auto& m : view.members)
      if (m.name != me.name) heard_ms.emplace(m.name, now_ms);
    // The leader may not have our latest databases yet: say them again.
    if (auto* mine = view.find(me.name); mine != nullptr && (mine->databases != me.databases ||
                                                             mine->db_status != me.db_status ||
                                                             mine->catching_up != me.catching_up)) {
      mine->databases = me.databases;
      mine->db_status = me.db_status;
      mine->catching_up = me.catching_up;
      if (auto* l = leader(); l != nullptr && l->name != me.name) fx.tell_leader_me = true;
    }
  }
  take_dropped(s.dropped, fx);
  for (auto& c : s.configs) {
    if (!valid_database_name(c.db) || is_dropped(c.db, c.version)) continue;  // names become paths: never trust them
    auto parsed = parse_db_config(c.json, cat("distributed configuration of ", c.db, " from the cluster"));
    if (!parsed) {
      log(lvl::error, cat("ignored a distributed configuration: ", parsed.error().render()), fx);
      continue;
    }
    parsed->version = c.version;
    if (auto mine = configs.find(c.db); mine != configs.end()) {
      // The leader's word is final when we join (our counter may have run ahead
      // while we were alone); afterwards only newer versions are taken.
      bool same = mine->second.version == c.version && to_json(mine->second) == to_json(*parsed);
      if (same || (!authoritative && mine->second.version >= c.version)) continue;
    }
    parsed->notices.clear();
    configs[c.db] = std::move(*parsed);
    changed_by[c.db] = c.changed_by;
    log(lvl::info, cat("update configuration db=", c.db, " from=", c.changed_by.empty() ? "cluster" : c.changed_by), fx);
    fx.configs_changed.insert(c.db);
    fx.roles_changed = true;
  }
  // The leader's proposals to shrink a database's servers: a server that holds
  // the configuration version a proposal changes agrees (the leader counts only servers).
  auto* l = leader();
  if (l == nullptr || l->name == me.name) return;
  for (auto& p : s.proposals) {
    auto c = configs.find(p.db);
    // The same version is not enough: two leaders on two sides of a split
    // may each have made a version with that number. The same configuration is.
    if (c == configs.end() || c->second.version != p.version || to_json(c->second) != p.json) continue;
    fx.agrees.push_back(membership_effects::agree{l->name, p.db, p.version});
  }
}

void membership::heard(const std::string& name, uint64_t their_version, int64_t now_ms, membership_effects& fx) {
  if (view.find(name) == nullptr) return;
  heard_ms[name] = now_ms;
  // Suspected, yet still in the leader's view and heard again: it was slow,
  // not gone (the leader, who decides, heard it). Without this a member that
  // suspected another for one long pause would leave it out of every role for good.
  if (suspected.erase(name) > 0) {
    log(lvl::info, cat("node '", name, "' is heard again"), fx);
    fx.roles_changed = true;
  }
  // A member that missed a change (it was still being connected) catches up.
  if (their_version < view.version && leads()) fx.catch_up.push_back(name);
}

bool membership::leaves(const std::string& name, membership_effects& fx) {
  auto* leaver = view.find(name);
  if (leaver == nullptr) return false;
  leaver->status = node_shutting_down;
  left_at_versions(name);  // its agreement to go from the configurations held now
  log(lvl::info, cat("node '", name, "' is leaving the cluster"), fx);
  // The leaver tells every member itself: only the leader (or the next one,
  // when the leader leaves) acts on it; the others wait for its new view.
  auto* l = leader();
  if (leads() || (l != nullptr && l->name == name)) suspect(name, fx);
  return true;
}

void membership::reported(const std::string& name, int64_t now_ms, membership_effects& fx) {
  // Only the leader acts on a report, and only if it has not heard from the
  // node itself lately: one member's broken link must not eject a healthy node.
  if (!leads()) return;
  if (auto h = heard_ms.find(name); h != heard_ms.end() && now_ms - h->second < timeout_ms / 2) return;
  suspect(name, fx);
}

void membership::update(const member_info& m, membership_effects& fx) {
  auto* cur = view.find(m.name);
  if (cur == nullptr || !leads()) return;  // it will tell the next leader when it connects
  std::vector<std::string> dbs;
  // (A copy of a dropped database it still reports is on its way out there.)
  auto gone = [&](const std::string& d) { return !configs.count(d) && dropped.count(d); };
  for (auto& d : m.databases)
    if (valid_database_name(d) && !gone(d)) dbs.push_back(d);
  std::map<std::string, std::string> status;
  for (auto& [d, s] : m.db_status)
    if (valid_database_name(d) && !gone(d) && (s == db_online || s == db_synchronizing || s == db_offline)) status[d] = s;
  std::vector<std::string> catching;
  for (auto& d : m.catching_up)
    if (valid_database_name(d) && status.count(d) && catching.size() < dbs.size()) catching.push_back(d);
  if (cur->databases == dbs && cur->db_status == status && cur->catching_up == catching) return;
  cur->databases = std::move(dbs);
  cur->db_status = std::move(status);
  cur->catching_up = std::move(catching);
  view.version += 1;
  fx.roles_changed = true;
  fx.broadcast = true;
}

bool membership::joins(size_t their_members, int64_t their_leader_started_on_ms,
                       const std::string& their_leader) const {
  size_t mine = view.members.size();
  auto* l = leader();
  if (l == nullptr) return true;
  if (mine > 1 && !leads()) return false;  // only a leader decides for its cluster
  // Our own cluster, seen by a member with another opinion of who leads (it
  // suspects someone we do not, or the reverse): not another cluster.
  // (By start time too: another node may claim our leader's name, and must be
  // let in far enough to be refused.)
  bool ours = their_leader == l->name && their_leader_started_on_ms == l->started_on_ms;
  if (ours || (mine > 1 && view.find(their_leader) != nullptr)) return false;
  return their_members > mine ||
         (their_members == mine && std::tie(their_leader_started_on_ms, their_leader) < std::tie(l->started_on_ms, l->name));
}

void membership::go_alone(membership_effects& fx) {
  for (auto& m : view.members)
    if (m.name != me.name) fx.dropped.push_back(m.name);
  auto mine = me;
  if (auto* cur = view.find(me.name)) mine.status = cur->status;
  view.members = {mine};
  view.version += 1;
  suspected.clear();
  heard_ms.clear();
  proposals_.clear();
  fx.view_changed = fx.roles_changed = true;
}

void membership::dissolve(membership_effects& fx) {
  if (!leads() || view.members.size() <= 1) return;
  log(lvl::warn, cat("this cluster of ", view.members.size(),
                     " nodes merges into an older or larger one: every member leaves it and joins that one"),
      fx);
  for (auto& m : view.members)
    if (m.name != me.name) fx.dissolve.push_back(m.name);
  go_alone(fx);
}

void membership::dissolved_by(const std::string& from, membership_effects& fx) {
  auto* l = leader();
  if (l == nullptr || l->name != from || from == me.name) return;  // only our leader may
  log(lvl::warn, cat("the leader '", from, "' merges this cluster into another: leaving it to join that one"), fx);
  go_alone(fx);
}

int64_t membership::paused_tick_ms() const { return std::max(2 * tick_every_ms, timeout_ms / 2); }

void membership::tick(int64_t now_ms, membership_effects& fx) {
  auto gap = last_tick_ms_ < 0 ? 0 : now_ms - last_tick_ms_;
  last_tick_ms_ = now_ms;
  bool paused = gap > paused_tick_ms() && !skipped_last_tick_;
  skipped_last_tick_ = paused;
  std::vector<std::string> lost;
  for (auto& m : view.members) {
    if (m.name == me.name) continue;
    auto h = heard_ms.emplace(m.name, now_ms).first;
    if (now_ms - h->second > timeout_ms && !suspected.count(m.name)) lost.push_back(m.name);
  }
  if (paused && !lost.empty()) {
    // (Cassandra's failure detector skips a local pause the same way.)
    log(lvl::warn, cat("this node was paused for ", gap, " ms (its heartbeat timer came late): suspecting no one before it has read what arrived meanwhile"), fx);
    lost.clear();
  }
  for (auto& n : lost)
    log(lvl::warn, cat("no heartbeat from node '", n, "' for more than ", timeout_ms, " ms (last heard ",
                       now_ms - heard_ms[n], " ms ago)"), fx);
  suspect_all(lost, fx);
  // Proposals waiting for agreement go out again with the state (a lost
  // message must not stall a shrink); a leader that stepped down drops them.
  propose_changes(fx);
  if (!proposals_.empty()) fx.broadcast = true;
}

}  // namespace troupe
