#include "actors/joiner.hpp"

#include <caf/io/all.hpp>

#include <algorithm>
#include <vector>

#include "src/util/clock.hpp"
#include "src/cluster/handshake.hpp"
#include "src/util/strings.hpp"

namespace troupe {

namespace {

constexpr const char* component = "OHazelcastPlugin";

struct candidate {
  std::string host;
  uint16_t port = 0;
};

struct joiner_state {
  joiner_options opts;
  logger* log = nullptr;
  uint16_t bound_port = 0;
  bool started = false;
  cluster_view view;     // as the cluster actor last told it
  bool leads = false;    // whether this node leads that view
  std::string leader;    // ... and its leader
  std::optional<handshake_acceptor> acceptor;  // hellos waiting for their auth
  bool asking = false;   // our join is being decided: accept no one meanwhile
  std::vector<candidate> candidates;
  size_t probe_index = 0;
  bool probing = false;  // a probe_atom is scheduled
  std::chrono::milliseconds probe_delay{1000};
  std::string last_refusal;
};

using self_ptr = joiner_actor::stateful_pointer<joiner_state>;

// Only this node's actors: the joiner's handle reaches every acceptor it probes.
bool local(self_ptr self) {
  auto sender = self->current_sender();
  return sender && sender->node() == self->node();
}

void schedule_probe(self_ptr self, std::chrono::milliseconds delay) {
  auto& st = self->state;
  if (st.probing) return;
  st.probing = true;
  self->delayed_send(self, delay, probe_atom::value);
}

void refused(self_ptr self, const std::string& where, const std::string& why) {
  auto& st = self->state;
  auto text = cat("cannot join the cluster at ", where, ": ", why, "; running alone");
  if (text != st.last_refusal) st.log->warn(component, text);  // once per reason, not once per probe
  st.last_refusal = text;
}

void handshake(self_ptr self, cluster_actor other, const caf::node_id& nid, const std::string& where);

// A refused hello or auth: logged and answered.
caf::error refuse(self_ptr self, const handshake_refusal& no) {
  if (!no.log.empty()) self->state.log->warn(component, no.log);
  return make_troupe_error(no.code == handshake_error::bad_name ? errc::invalid_argument : errc::join_refused, no.answer);
}

// Tries the next candidate address; continues with the one after it when done.
void probe_next(self_ptr self) {
  auto& st = self->state;
  if (st.candidates.empty()) return;
  if (st.view.members.size() > 1 && !st.leads) {
    st.probe_index = 0;
    schedule_probe(self, st.probe_delay);  // not alone: look again later, in case we are left alone
    return;
  }
  // Alone, or leading: a cluster that formed apart may be out there (a leader
  // of a younger or smaller cluster merges into it: membership::joins).
  if (st.probe_index >= st.candidates.size()) {  // a round without a join: back off
    st.probe_index = 0;
    st.probe_delay = std::min<std::chrono::milliseconds>(st.probe_delay * 2, probe_backoff_max);
    schedule_probe(self, st.probe_delay);
    return;
  }
  auto c = st.candidates[st.probe_index++];
  if (is_own_endpoint(st.opts.addresses, c.host, c.port, st.bound_port)) return probe_next(self);
  // A leader looks for other clusters only: a member's endpoint is one of ours
  // (a second connection to a connected member would only race the first).
  for (auto& m : st.view.members)
    if (m.name != st.opts.name && m.cluster_host == c.host && m.cluster_port == c.port) return probe_next(self);
  auto where = cat("Member [", c.host, "]:", c.port);
  // CAF connects to the guard's local port for host:port; the guard relays it
  // after the link handshake.
  auto port = st.opts.guard->forward(c.host, c.port);
  if (!port) {
    st.log->error(component, port.error().render());
    return probe_next(self);
  }
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, std::chrono::seconds(1), caf::connect_atom::value, std::string("127.0.0.1"), *port)
      .then(
          [self, where](const caf::node_id& nid, caf::strong_actor_ptr& ptr, const std::set<std::string>& ifs) {
            if (!ptr || ifs != self->system().message_types<cluster_actor>()) return probe_next(self);
            handshake(self, caf::actor_cast<cluster_actor>(ptr), nid, where);
          },
          [self](caf::error&) { probe_next(self); });
}

// hello, the acceptor's proof, the cluster actor's decision, auth.
void handshake(self_ptr self, cluster_actor other, const caf::node_id& nid, const std::string& where) {
  auto& st = self->state;
  auto nonce = random_nonce();
  self->request(other, std::chrono::seconds(2), hello_atom::value, st.opts.hazelcast.group_name, st.opts.name, nonce)
      .then(
          [self, other, nid, nonce, where](hello_reply& h) {
            auto& st = self->state;
            auto& hz = st.opts.hazelcast;
            // The acceptor's proof is checked before we send anything of ours.
            // (The link guards in front of CAF have already checked the group
            // password; this proves it again end to end, on the identities CAF reports.)
            auto me_id = to_string(self->node()), other_id = to_string(nid);
            if (!constant_time_equal(acceptor_proof(hz.group_password, hz.group_name, nonce, h.name, me_id, other_id),
                                     h.proof)) {
              refused(self, where, "it does not know this cluster's group password");
              return probe_next(self);
            }
            auto proof = joiner_proof(hz.group_password, hz.group_name, h.nonce, st.opts.name, me_id, other_id);
            // Whether to join is the membership's rule, and the auth goes from
            // the cluster actor (the acceptor then talks back to it over this
            // connection): it answers true once joined, false when not joining.
            st.asking = true;
            self->request(st.opts.cluster, std::chrono::seconds(15), join_atom::value, h, proof,
                          caf::actor_cast<caf::strong_actor_ptr>(other))
                .then(
                    [self](bool joined) {
                      auto& st = self->state;
                      st.asking = false;
                      if (!joined) return probe_next(self);
                      st.last_refusal.clear();
                      st.probe_delay = std::chrono::milliseconds(1000);
                      st.probe_index = 0;
                      schedule_probe(self, st.probe_delay);
                    },
                    [self, where](caf::error& e) {
                      auto& st = self->state;
                      st.asking = false;
                      refused(self, where, error_text(self->system(), e));
                      st.probe_index = st.candidates.size();  // back off
                      probe_next(self);
                    });
          },
          [self, where](caf::error& e) {
            if (troupe_code(e) == errc::join_refused) refused(self, where, error_text(self->system(), e));
            probe_next(self);
          });
}

joiner_actor::behavior_type joiner_impl(self_ptr self, joiner_options opts, logger* log) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.log = log;
  st.acceptor.emplace(st.opts.hazelcast.group_name, st.opts.hazelcast.group_password, pending_hellos_max);
  for (auto& m : st.opts.hazelcast.members)
    for (uint32_t p = m.ports.first; p <= m.ports.last; ++p)
      st.candidates.push_back(candidate{m.host, static_cast<uint16_t>(p)});
  return {
      [self](init_atom, uint16_t bound_port) {
        auto& st = self->state;
        if (!local(self) || st.started) return;
        st.started = true;
        st.bound_port = bound_port;
        schedule_probe(self, std::chrono::milliseconds(0));
      },
      [self](view_atom, cluster_view& v, bool leads, std::string& leader) {
        if (!local(self)) return;
        self->state.view = std::move(v);
        self->state.leads = leads;
        self->state.leader = std::move(leader);
      },
      // --- the acceptor's side ---------------------------------------------------
      [self](hello_atom, const std::string& group, const std::string& name,
             const std::string& nonce) -> caf::result<hello_reply> {
        auto& st = self->state;
        auto sender = self->current_sender();
        if (!sender) return make_troupe_error(errc::invalid_argument, "anonymous hello");
        auto* leader = st.view.find(st.leader);
        if (st.asking || leader == nullptr) return make_troupe_error(errc::shutting_down, "not accepting members now");
        handshake_acceptor::challenge c;
        if (auto no = st.acceptor->hello(group, name, nonce, to_string(sender->node()), st.opts.name,
                                         to_string(self->node()), steady_now_ms(), random_nonce(), &c))
          return refuse(self, *no);
        return hello_reply{st.opts.name, c.nonce, c.proof, leader->started_on_ms, leader->name, st.view.members.size()};
      },
      [self](auth_atom, const std::string& name, const std::string& proof, member_info& m,
             db_config_msgs& cfgs) -> caf::result<cluster_state> {
        auto& st = self->state;
        auto sender = self->current_sender();
        if (!sender) return make_troupe_error(errc::invalid_argument, "anonymous auth");
        auto nid = to_string(sender->node());
        // The key it claims must be the one its link proved (src/link/identity.hpp).
        auto proven = st.opts.book ? st.opts.book->key_of(nid) : std::nullopt;
        if (auto no = st.acceptor->auth(name, proof, m, nid, to_string(self->node()), proven, st.opts.book != nullptr))
          return refuse(self, *no);
        m.node_id = nid;  // what CAF says, not what the joiner claims
        // Admitted by the cluster actor (or its leader); the auth's sender, the
        // joiner's cluster actor, becomes our peer over the connection it opened.
        auto rp = self->make_response_promise<cluster_state>();
        self->request(st.opts.cluster, std::chrono::seconds(10), join_atom::value, std::move(m), std::move(cfgs), sender)
            .then([rp](cluster_state& s) mutable { rp.deliver(std::move(s)); },
                  [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [self](dissolve_atom) {
        auto& st = self->state;
        if (!local(self)) return;
        st.probe_delay = std::chrono::milliseconds(1000);
        st.probe_index = 0;
        schedule_probe(self, std::chrono::milliseconds(0));
      },
      [self](probe_atom) {
        auto& st = self->state;
        if (!local(self)) return;
        st.probing = false;
        probe_next(self);  // (a member that does not lead only looks again later)
      },
  };
}

}  // namespace

joiner_actor spawn_joiner(caf::actor_system& sys, joiner_options opts, logger* log) {
  return sys.spawn(joiner_impl, std::move(opts), log);
}

}  // namespace troupe
