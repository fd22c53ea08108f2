// Every message type and typed actor interface of troupe, in one place.
//
// Type names travel on the wire between nodes (CAF-NOTES §7.6): append new
// types, never rename or reorder the fields of existing ones casually, and
// register each one in add_message_types(), which every node calls before its
// actor system is built.
#pragma once

#include <caf/all.hpp>

#include "src/server/node_info.hpp"

namespace troupe {

// --- atoms (at most 10 characters) -------------------------------------------
using status_atom = caf::atom_constant<caf::atom("status")>;
using set_status_atom = caf::atom_constant<caf::atom("setstatus")>;

// --- message types -----------------------------------------------------------
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("troupe.node_info"), x.name, x.status, x.started_on_ms, x.databases);
}

// --- actor interfaces --------------------------------------------------------

// The server actor: the node's own identity and lifecycle status.
//   (status_atom)                    -> node_info
//   (set_status_atom, std::string s) -> node_info      s: STARTING|ONLINE|SHUTTINGDOWN|OFFLINE
using server_actor = caf::typed_actor<                                  //
    caf::replies_to<status_atom>::with<node_info>,                      //
    caf::replies_to<set_status_atom, std::string>::with<node_info>>;

// Registers every type above with `cfg`. Call before constructing the system.
void add_message_types(caf::actor_system_config& cfg);

}  // namespace troupe
