// Who sent the current message: the one rule every actor that other nodes can
// reach uses before it trusts a message.
//
// CAF tells the sender's node id as the peer announced it; the node's link
// guard (src/link/identity.hpp) refuses a link whose node id is not the one its
// node key proved, so the node id of a member's message is that member's.
// A message without a sender (anon_send), which anyone who reaches the
// published port can deliver, is never local and never a member's.
#pragma once

#include <caf/all.hpp>

#include <set>
#include <string>

#include "src/cluster/cluster_model.hpp"
#include "src/util/log.hpp"
#include "src/util/strings.hpp"

namespace troupe {

inline constexpr size_t refused_sources_max = 256;

// From an actor of this node.
template <class Self>
bool sent_here(Self* self) {
  auto sender = self->current_sender();
  return sender && sender->node() == self->node();
}

// The member of `view` that sent the current message, by its CAF node id
// (nullptr: not a member, no sender, or this node).
template <class Self>
const member_info* sending_member(Self* self, const cluster_view& view) {
  auto sender = self->current_sender();
  if (!sender || sender->node() == self->node()) return nullptr;
  auto id = to_string(sender->node());
  for (auto& m : view.members)
    if (m.node_id == id) return &m;
  return nullptr;
}

// Logs a refused message once per source (a node id, or "anonymous"): a probe
// or a stray peer must not flood the log. Bounded.
class refusal_log {
 public:
  template <class Self>
  void refused(Self* self, logger* log, const char* component, const char* what) {
    auto sender = self->current_sender();
    auto source = sender ? to_string(sender->node()) : std::string("anonymous");
    if (seen_.size() >= refused_sources_max || !seen_.insert(source).second) return;
    log->warn(component, cat("refused ", what, " from ", sender ? cat("node ", source) : "a sender that gave none",
                             " (not this node, not a member); further ones from it are not logged"));
  }

 private:
  std::set<std::string> seen_;
};

}  // namespace troupe
