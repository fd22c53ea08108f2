// The connections of this node to the other members, as plain code: which
// members it is connected to (and which incarnation, by node id), which it is
// connecting to, which it is connecting to again after a dropped connection,
// and what each event means. The cluster actor (actors/cluster_actor) opens
// and watches the connections; the rules are here, with a table test
// (test/cluster/links_test.cpp).
//
// The rules:
// - One attempt per member at a time; never to this node itself.
// - An attempt counts only if it reached the incarnation the view names (by
//   node id); anything else is a failure.
// - A dropped connection of a member still in the view is opened again at once
//   rather than suspected: two members that connect to each other at the same
//   moment make CAF close one of the two connections, and through the link
//   guards that race is common. A member that is really gone refuses the new
//   connection at once (a killed process) or lets it time out (a frozen one):
//   only then is it suspected, and the heartbeat timeout still holds.
// - A connection to an earlier incarnation of a member is dropped before the
//   view's incarnation is connected to.
//
// `Handle` is what the caller talks to a member through (a CAF actor handle in
// the actor; anything copyable in the tests).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "src/cluster/cluster_model.hpp"

namespace troupe {

template <class Handle>
class links {
 public:
  struct peer {
    Handle handle;
    std::string node_id;
  };

  // Connected members, by name.
  const std::map<std::string, peer>& peers() const { return peers_; }
  const peer* find(const std::string& name) const {
    auto p = peers_.find(name);
    return p == peers_.end() ? nullptr : &p->second;
  }
  bool connecting(const std::string& name) const { return connecting_.count(name) > 0; }

  // Whether to open a connection to `name` now; if so, it is being connected to.
  bool start(const std::string& name, const std::string& me) {
    if (name == me || peers_.count(name) || connecting_.count(name)) return false;
    connecting_.insert(name);
    return true;
  }

  // An attempt reached node `node_id` with `h`: true (connected) if that is
  // the incarnation `view` names; false is a failure (see failed).
  bool reached(const std::string& name, const std::string& node_id, Handle h, const cluster_view& view) {
    connecting_.erase(name);
    auto* m = view.find(name);
    if (m == nullptr || m->node_id != node_id) return false;
    reconnecting_.erase(name);
    peers_[name] = peer{std::move(h), node_id};
    return true;
  }

  // An attempt failed (or could not start): true if the member is to be
  // suspected now, because it was being connected to again after a drop.
  bool failed(const std::string& name) {
    connecting_.erase(name);
    return reconnecting_.erase(name) > 0;
  }

  // A member opened the connection itself (it joined through us): connected,
  // replacing any connection we had to it.
  void accepted(const std::string& name, const std::string& node_id, Handle h) {
    connecting_.erase(name);
    peers_[name] = peer{std::move(h), node_id};
  }

  // Forgets our connection to `name` (false: there was none).
  bool forget(const std::string& name) { return peers_.erase(name) > 0; }

  // The connection to `name` dropped: true to connect again at once (it is
  // still in the view and this node is not leaving), false to suspect it.
  bool dropped(const std::string& name, bool in_view, bool leaving) {
    forget(name);
    if (!in_view || leaving) return false;
    reconnecting_.insert(name);
    return true;
  }

  // Members of `view` (not `me`) whose connection is to another incarnation
  // than the view's: drop them first (then they count as not connected).
  std::vector<std::string> stale(const cluster_view& view, const std::string& me) const {
    std::vector<std::string> out;
    for (auto& m : view.members)
      if (auto p = peers_.find(m.name); m.name != me && p != peers_.end() && p->second.node_id != m.node_id)
        out.push_back(m.name);
    return out;
  }

  // Members of `view` (not `me`) with no connection: connect to them.
  std::vector<member_info> missing(const cluster_view& view, const std::string& me) const {
    std::vector<member_info> out;
    for (auto& m : view.members)
      if (m.name != me && !peers_.count(m.name)) out.push_back(m);
    return out;
  }

 private:
  std::map<std::string, peer> peers_;
  std::set<std::string> connecting_;
  std::set<std::string> reconnecting_;
};

}  // namespace troupe
