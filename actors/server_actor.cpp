#include "actors/server_actor.hpp"

#include "src/util/strings.hpp"

namespace troupe {

namespace {

struct server_state {
  node_info info;
  logger* log = nullptr;
};

int rank(const std::string& s) {
  if (s == node_starting) return 0;
  if (s == node_online) return 1;
  if (s == node_shutting_down) return 2;
  if (s == node_offline) return 3;
  return -1;
}

server_actor::behavior_type server_impl(server_actor::stateful_pointer<server_state> self, node_info initial,
                                        logger* log) {
  self->state.info = std::move(initial);
  self->state.log = log;
  return {
      [self](inspect_atom) -> actor_summary {
        auto& i = self->state.info;
        return actor_summary{"server", self->id(), self->mailbox().size(),
                             cat(i.name, " ", i.status, ", ", i.databases.size(), " database(s) at start"),
                             cat("{\"name\":", json_quote(i.name), ",\"status\":", json_quote(i.status),
                                 ",\"startedOn\":", i.started_on_ms, ",\"databases\":", json_list(i.databases), "}")};
      },
      [self](status_atom) -> node_info { return self->state.info; },
      [self](set_status_atom, const std::string& s) -> caf::result<node_info> {
        auto& st = self->state;
        int from = rank(st.info.status), to = rank(s);
        if (to < 0) return caf::make_error(caf::sec::invalid_argument, cat("unknown node status '", s, "'"));
        if (to < from)
          return caf::make_error(caf::sec::invalid_argument,
                                 cat("node status cannot go back from ", st.info.status, " to ", s));
        if (to != from) {
          st.info.status = s;
          if (st.log) st.log->warn("OHazelcastPlugin", cat("updated node status to '", s, "'"));
        }
        return st.info;
      },
  };
}

}  // namespace

server_actor spawn_server_actor(caf::actor_system& sys, node_info initial, logger* log) {
  return sys.spawn(server_impl, std::move(initial), log);
}

}  // namespace troupe
