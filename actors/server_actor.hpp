// server_actor: owns the node's identity and lifecycle status.
//
// Contract
//   owns:       node_info (name, status, start time, databases held)
//   talks to:   nobody yet; membership (cluster issue) will ask it for the node's
//               status and tell it the databases held
//   invariants: name never changes; status only moves
//               STARTING -> ONLINE -> SHUTTINGDOWN -> OFFLINE (or straight to
//               SHUTTINGDOWN); a backwards move is refused with an error
//   on exit:    nothing pending (it only answers requests synchronously)
#pragma once

#include "actors/protocol.hpp"
#include "src/util/log.hpp"

namespace troupe {

server_actor spawn_server_actor(caf::actor_system& sys, node_info initial, logger* log);

}  // namespace troupe
