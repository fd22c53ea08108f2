// The cluster's membership on one node, as plain code: who is a member, who
// leads, whom this node suspects, and the cluster's copy of every database's
// distributed configuration; the rules that change them (admitting a joiner,
// suspecting a silent member, removing a lost one, adopting the leader's
// view). No CAF, no clock, no network: inputs in (messages from members, the
// time in ms), effects out (what to tell whom, connections to drop,
// configurations to store, lines to log). The cluster actor
// (actors/cluster_actor) carries the effects out; the seeded membership
// simulation (test/cluster/membership_simulation_test.cpp) carries them over a
// simulated network with crashes, pauses and partitions. Both run this code.
//
// The rules (docs/ARCHITECTURE.md, "Membership"):
//   - The leader is the oldest member not suspected here (cluster_view::leader).
//     Only the leader changes the view: it admits joiners, removes lost
//     members, and sends its state to every member, which adopts it when its
//     version is newer (or on joining: the leader's word is final).
//   - A member not heard from for heartbeat_timeout_ms is suspected. The
//     leader removes every suspected member; anyone else reports it to the
//     leader, which acts only if it has not heard from it itself lately.
//   - A suspected member heard again (a heartbeat) is no longer suspected.
//   - A member's name stays with its node key while it is in the view; a live
//     member's name cannot be taken.
//   - The servers of a database with hotAlignment false change (a member
//     added where <NEW_NODE> stands, a lost one removed) only once a majority
//     of every partition's servers agreed: a change of who must agree to a
//     write is agreed like a write. The leader proposes the configuration it
//     wants (in its state), each server holding the same configuration
//     (version and content) answers agree, and the leader commits it when a
//     majority of each partition's current servers agreed (itself, and a
//     leaver that said it leaves, included). One proposal per database at a
//     time. A minority leader never gathers one, so the quorum its side needs
//     stays; nor can it add servers to gather one. (hotAlignment true
//     configurations only grow, at once.)
//     Members lost together are all suspected before any is removed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/cluster/cluster_model.hpp"
#include "src/util/result.hpp"

namespace troupe {

struct membership_note {
  enum class level { info, warn, error } lvl = level::info;
  std::string text;
};

// What the caller carries out after an input.
struct membership_effects {
  std::vector<membership_note> notes;
  // Members gone from this node's view, or restarted as a new incarnation:
  // their connection, the deploys they were sending, end here.
  std::vector<std::string> dropped;
  std::set<std::string> configs_changed;  // to store (and print)
  bool view_changed = false;   // the members or their keys changed
  bool roles_changed = false;  // view, suspicion or configuration: recompute roles and partitions
  bool broadcast = false;      // leader: send the state to every connected member but broadcast_except
  std::string broadcast_except;
  std::vector<std::pair<std::string, std::string>> reports;  // (leader, suspected member): tell the leader
  // (leader, database, configuration version): agree to the leader's proposal
  // to shrink that database's servers.
  struct agree {
    std::string leader, db;
    int64_t version = 0;
  };
  std::vector<agree> agrees;
  bool tell_leader_me = false;  // the leader's view lacks this node's latest databases: send them
  std::vector<std::string> catch_up;  // members behind the view: send them the state
  std::vector<std::string> dissolve;  // members to tell that the cluster dissolves (it merges into another)
  // Databases the cluster dropped that this node may hold a copy of (open, on
  // disk, or arriving by a deploy): delete it, stop its deploy.
  std::vector<std::string> drop_local;
  bool dropped_changed = false;  // the tombstones changed: store them (they outlive a restart)
};

// The tombstones' file, databases/dropped-databases.json: {"db": version, ...}.
inline constexpr const char* dropped_file_name = "dropped-databases.json";
// Reads it: every name valid, every version >= 0, at most membership::dropped_max
// entries; errors say what is wrong (the caller names the file).
result<std::vector<db_config_msg>> parse_tombstones(std::string_view json);
std::string tombstones_json(const std::map<std::string, int64_t>& dropped);

class membership {
 public:
  membership() = default;
  membership(member_info me, int64_t heartbeat_timeout_ms) : timeout_ms(heartbeat_timeout_ms), me(std::move(me)) {}

  int64_t timeout_ms = 10'000;  // silence after which a member is suspected (heartbeat timeout)
  int64_t tick_every_ms = 1'000;  // how often tick() is called (the heartbeat interval)

  member_info me;  // this node as it knows itself (newer than the view's entry until the leader echoes it)
  cluster_view view;
  std::set<std::string> suspected;  // lost members not yet removed
  // When each member was last heard from, by name. A member enters with the
  // time it joined the view, so one never heard is suspected after the timeout.
  std::map<std::string, int64_t> heard_ms;
  std::map<std::string, db_config> configs;       // by database
  std::map<std::string, std::string> changed_by;  // last change's origin, by database

  const member_info* leader() const { return view.leader(suspected); }
  bool leads() const;
  // Whether `name` is our leader and its view lacks this node's latest
  // databases or their status (tell it: a new connection may be the leader's).
  bool leader_behind_me(const std::string& name) const;
  // Every member's node key, by node id (the link guard's book learns them).
  std::map<std::string, std::string> member_keys() const;
  std::vector<db_config_msg> config_msgs() const;
  std::vector<db_config_msg> proposal_msgs() const;
  // Tombstones: each database the cluster dropped, with the highest
  // configuration version it had then. A copy whose configuration is not
  // newer belongs to the dropped database (an earlier life of the name): it
  // is deleted wherever it is found, never deployed, never readmitted. The
  // name itself is free: a database created again under it starts at a
  // version above its tombstone.
  std::map<std::string, int64_t> dropped;
  static constexpr size_t dropped_max = 4096;  // tombstones kept (the oldest versions go first)

  cluster_state state() const { return cluster_state{view, config_msgs(), proposal_msgs(), dropped_msgs()}; }
  std::vector<db_config_msg> dropped_msgs() const;
  // The cluster actor's inspection: a one-line summary and the detail JSON
  // (the console reads "heardMsAgo"); `connected`: members with a connection
  // now; `databases_json`: this node's databases, the members of a JSON object.
  std::pair<std::string, std::string> report(int64_t now_ms, const std::vector<std::string>& connected,
                                             const std::string& databases_json) const;

  // Leader: an authenticated joiner (its link proved m.key). Returns why it is
  // refused, or nullopt: it is a member (perhaps already).
  std::optional<std::string> admit(member_info m, const std::vector<db_config_msg>& cfgs, int64_t now_ms,
                                   membership_effects& fx);
  // Leader: removes a member; partitions of hotAlignment=false databases shrink
  // when a majority of their servers agree.
  void remove(const std::string& name, membership_effects& fx);
  // This node lost a member (silence, a dropped connection), or several at once.
  void suspect(const std::string& name, membership_effects& fx);
  void suspect_all(const std::vector<std::string>& names, membership_effects& fx);
  // Non-leaders and a joiner: the leader's state. `authoritative`: the answer
  // to our join (taken whatever its version).
  void adopt(const cluster_state& s, bool authoritative, int64_t now_ms, membership_effects& fx);
  // A heartbeat from member `name` (the caller checked who sent it) at view
  // version `their_version`.
  void heard(const std::string& name, uint64_t their_version, int64_t now_ms, membership_effects& fx);
  // Member `name` says it leaves. False: not a member.
  bool leaves(const std::string& name, membership_effects& fx);
  // Another member reports `name` lost (acted on by the leader only, and only
  // if it has not heard from `name` itself within half the timeout).
  void reported(const std::string& name, int64_t now_ms, membership_effects& fx);
  // Leader: a member's news about itself (its databases and their status).
  void update(const member_info& m, membership_effects& fx);
  // Leader: a server agrees to the proposal that changes `db`'s configuration `version`.
  void agreed(const std::string& from, const std::string& db, int64_t version, membership_effects& fx);
  // Time passes: members silent for the timeout are suspected; the leader
  // proposes (again) what shrinks wait for. A tick that comes late (more than
  // paused_tick_ms() after the last one) means this node itself was paused
  // (stopped, starved of CPU): the members' heartbeats may still wait in its
  // mailbox behind the tick, so it suspects no one on that tick, and says so;
  // never two ticks in a row (an overloaded node still suspects the dead).
  void tick(int64_t now_ms, membership_effects& fx);
  int64_t paused_tick_ms() const;
  // Which side joins: this node joins a cluster it found (reporting
  // `their_members` members and its leader) when that one is larger than its
  // own, or as large with an older leader (start time, then name). Alone, it
  // just joins; a leader of several first dissolves its cluster (each member
  // goes alone, and finds the larger cluster itself): two clusters that
  // formed apart merge. A member that does not lead never joins another.
  bool joins(size_t their_members, int64_t their_leader_started_on_ms, const std::string& their_leader) const;
  // Leader: its cluster merges into another: every member is told to go
  // alone (fx.dissolve), then this node goes alone.
  void dissolve(membership_effects& fx);
  // Member: its leader `from` dissolved the cluster: go alone.
  void dissolved_by(const std::string& from, membership_effects& fx);
  // --- databases created and dropped at runtime --------------------------
  // Leader: member `requester` asks to create `db`. Decided here, once: the
  // first ask wins, a name the cluster has is refused ("Database 'x' already
  // exists"). The configuration is `defaults` with every member where
  // <NEW_NODE> stands (the requester holds the data; the others receive it by
  // autoDeploy and show SYNCHRONIZING meanwhile), at a version above the
  // name's tombstone. nullopt: created; else why not.
  std::optional<std::string> create_database(const std::string& db, const std::string& requester,
                                             const db_config& defaults, membership_effects& fx);
  // Leader: drops `db` everywhere: its configuration goes, a tombstone stays,
  // every member deletes its copy (fx.drop_local here, adopt elsewhere).
  // Refused while a member is receiving it (a deploy in flight would bring it
  // back under the old name) and for a name the cluster does not have.
  std::optional<std::string> drop_database(const std::string& db, membership_effects& fx);
  // Whether a copy of `db` whose configuration has `version` belongs to a dropped database.
  bool is_dropped(const std::string& db, int64_t version) const;
  // Tombstones from a state (or this node's file at start): the newer ones
  // are kept, copies they cover are dropped here.
  void take_dropped(const std::vector<db_config_msg>& tombs, membership_effects& fx);

  // A database this node holds: the cluster configuration grows, as the leader decides.
  void expand_new_node(const std::string& node, membership_effects& fx);

  // This node alone, at start: `me` ONLINE with each of its databases ONLINE,
  // a view of itself (version 1), and the configurations it held (load).
  // `tombs`: the tombstones this node stored (copies they cover are deleted).
  void start(member_info me, const std::vector<db_config_msg>& held, membership_effects& fx,
             const std::vector<db_config_msg>& tombs = {});

  // --- this node's own databases ------------------------------------------
  // They go into this node's entry of the view: the leader changes its view
  // itself (and broadcasts it), anyone else tells the leader (tell_leader_me).
  // The configurations this node held at start (its db_config actors parsed
  // them): the cluster's copy, grown where <NEW_NODE> takes this node, every
  // one stored (configs_changed).
  void load(const std::vector<db_config_msg>& held, membership_effects& fx);
  // A database that appeared here (deployed, created): ONLINE in this node's
  // entry, a configuration (`defaults`, version 0) if the cluster has none.
  // A copy of a dropped database (a deploy that ended after the drop, a
  // folder left from before it) is not added: fx.drop_local deletes it.
  void add_database(const std::string& db, const db_config& defaults, membership_effects& fx);
  // A local database's status (db_online, db_synchronizing; nullopt: none).
  // False: unchanged, nothing to tell.
  bool set_db_status(const std::string& db, const std::optional<std::string>& status, membership_effects& fx);
  // A local database is catching up (a replica behind its owner), or no longer.
  bool set_catching_up(const std::string& db, bool on, membership_effects& fx);

 private:
  void log(membership_note::level l, std::string text, membership_effects& fx) const {
    fx.notes.push_back(membership_note{l, std::move(text)});
  }
  // Leader: proposes what each hotAlignment=false configuration should become
  // (members in, lost servers out; one proposal per database at a time), and
  // commits it once a majority of every partition's servers agreed.
  void propose_changes(membership_effects& fx);
  void go_alone(membership_effects& fx);
  void announce_me(membership_effects& fx);
  void forget_local(const std::string& db, membership_effects& fx);
  bool try_commit(const std::string& db, membership_effects& fx);

  struct proposal {
    int64_t version = 0;    // the configuration version it changes
    std::string base_json;  // ... and that configuration
    db_config next;         // what it becomes
    std::string changed_by;
    std::vector<std::pair<std::string, std::string>> added, removed;  // (node, "db.cluster.partition")
    std::set<std::string> agreed;
  };
  proposal desired(const std::string& db, const db_config& cfg) const;
  std::map<std::string, proposal> proposals_;  // the leader's, by database
  // Members that said they leave, by the configuration (database, version)
  // this node held then: they agree to go from that configuration, and only
  // from that one (a later incarnation may have been added back since).
  std::map<std::pair<std::string, int64_t>, std::set<std::string>> leavers_;
  void left_at_versions(const std::string& name);
  int64_t last_tick_ms_ = -1;
  bool skipped_last_tick_ = false;
};

}  // namespace troupe
