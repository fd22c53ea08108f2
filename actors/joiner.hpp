// joiner: both sides of the cluster handshake, a helper actor of the cluster
// actor (which spawns it at init, links it and kills it when the node leaves).
//
// Contract
//   accepts:    hellos and auths that the cluster actor hands it (delegate):
//               src/cluster/handshake.hpp's acceptor (a challenge/response in
//               both directions over fresh nonces and both CAF node ids, at most
//               pending_hellos_max hellos waiting for their auth; the password
//               never travels; the key a joiner claims must be the one its link
//               proved, src/link/identity.hpp). A proven joiner goes to the
//               cluster actor to be admitted (join_atom with its entry, its
//               configurations and its cluster actor, the auth's sender, which
//               becomes the peer: one connection per pair of nodes).
//   probes:     while this node is alone, or while it leads, the tcp-ip members
//               of hazelcast.xml one at a time (its own endpoint and its
//               members' addresses skipped; a leader looks for clusters that
//               formed apart); a round without a join backs off, 1 s doubling to
//               probe_backoff_max. Every connection goes through the link guard.
//   handshake:  src/cluster/handshake.hpp's joiner side: hello with a fresh
//               nonce, the acceptor's proof checked before anything of ours is
//               sent, then our proof over the acceptor's nonce (the auth with it,
//               our member entry and configurations goes from the cluster actor).
//   asks:       the cluster actor to join behind a proven hello (join_atom with
//               the hello, our proof and the acceptor): membership::joins
//               decides there (false: not joining; a leader of several
//               dissolves its own cluster first), and the cluster actor sends
//               the auth itself, so that the acceptor talks back to it over the
//               connection opened here (a second connection between two nodes
//               would race the first: CAF keeps one and drops what was sent on
//               the other).
//   told:       (view_atom, view, leads, leader) at every change of the view or
//               its leader (a hello's answer names the leader), (dissolve_atom)
//               when alone again after a dissolve: probe now, from the start.
//   trust:      hello and auth are the handshake's own checks (anyone may send
//               them: its handle travels to the acceptors it probes); every other
//               message only from this node.
//   logs:       "cannot join the cluster at ...: ...; running alone" once per reason.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "actors/protocol.hpp"
#include "src/cluster/addresses.hpp"
#include "src/config/hazelcast_config.hpp"
#include "src/link/guard.hpp"
#include "src/link/identity.hpp"
#include "src/util/log.hpp"

namespace troupe {

inline constexpr std::chrono::seconds probe_backoff_max{30};
inline constexpr size_t pending_hellos_max = 64;

//   (init_atom, bound cluster port)             start probing
//   (view_atom, view, this node leads, leader)  the cluster as it is now
//   (dissolve_atom)                             alone again: probe now, from the first address
//   (probe_atom)                                internal: the next probe
//   (hello_atom, group, name, nonce)            -> hello_reply     a joiner's, handed over by the cluster actor
//   (auth_atom, name, proof, member_info, cfgs) -> cluster_state   the same
using joiner_actor = caf::typed_actor<                                                          //
    caf::reacts_to<init_atom, uint16_t>,                                                        //
    caf::reacts_to<view_atom, cluster_view, bool, std::string>,                                 //
    caf::reacts_to<dissolve_atom>,                                                              //
    caf::reacts_to<probe_atom>,                                                                 //
    caf::replies_to<hello_atom, std::string, std::string, std::string>::with<hello_reply>,      //
    caf::replies_to<auth_atom, std::string, std::string, member_info, db_config_msgs>::with<cluster_state>>;

struct joiner_options {
  std::string name;  // this node's
  hazelcast_config hazelcast;
  address_plan addresses;
  std::shared_ptr<link::guard> guard;  // REQUIRED
  // The guard's book (src/link/identity.hpp): an auth's key must be the one
  // its link proved (null: no guard book, as in tests without links).
  std::shared_ptr<link::peer_book> book;
  cluster_actor cluster;               // REQUIRED: the local cluster actor
};

joiner_actor spawn_joiner(caf::actor_system& sys, joiner_options opts, logger* log);

}  // namespace troupe
