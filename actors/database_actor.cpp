#include "actors/database_actor.hpp"

#include "src/util/strings.hpp"

namespace troupe {

namespace {

struct pending_write {
  op_list ops;
  caf::typed_response_promise<op_results> promise;
};

struct database_state {
  std::string name;
  std::shared_ptr<storage::database> db;
  logger* log = nullptr;
  std::vector<pending_write> pending;
  size_t pending_ops = 0;
  bool flush_scheduled = false;
};

// Commits every pending write as one storage batch and answers each request
// with its slice of the results.
void commit(database_state& st) {
  if (st.pending.empty()) return;
  op_list all;
  all.reserve(st.pending_ops);
  for (auto& p : st.pending)
    for (auto& o : p.ops) all.push_back(std::move(o));
  auto results = st.db->apply(all);
  assert(results.size() == all.size());
  size_t at = 0;
  for (auto& p : st.pending) {
    op_results mine(std::make_move_iterator(results.begin() + static_cast<ptrdiff_t>(at)),
                    std::make_move_iterator(results.begin() + static_cast<ptrdiff_t>(at + p.ops.size())));
    at += p.ops.size();
    p.promise.deliver(std::move(mine));
  }
  assert(at == all.size());
  st.pending.clear();
  st.pending_ops = 0;
}

database_actor::behavior_type database_impl(database_actor::stateful_pointer<database_state> self, std::string name,
                                            std::shared_ptr<storage::database> db, logger* log) {
  self->state.name = std::move(name);
  self->state.db = std::move(db);
  self->state.log = log;
  // A write that arrived after the exit message was queued would have its
  // flush queued behind the exit: commit whatever is pending before leaving,
  // so that no request is left unanswered.
  self->set_exit_handler([self](caf::exit_msg& m) {
    commit(self->state);
    self->quit(m.reason);
  });
  return {
      [self](inspect_atom) -> actor_summary {
        auto& st = self->state;
        auto lsn = st.db->last_lsn();
        return actor_summary{cat("db:", st.name), self->id(), self->mailbox().size(),
                             cat("writer of ", st.name, ", last LSN ", lsn, ", ", st.pending.size(),
                                 " write(s) pending"),
                             cat("{\"database\":", json_quote(st.name), ",\"lastLsn\":", lsn,
                                 ",\"pendingWrites\":", st.pending.size(), ",\"pendingOps\":", st.pending_ops,
                                 ",\"path\":", json_quote(st.db->dir().string()), "}")};
      },
      [self](write_atom, op_list& ops) -> caf::result<op_results> {
        auto& st = self->state;
        if (ops.empty()) return op_results{};
        if (ops.size() > max_batch_ops)
          return make_troupe_error(errc::invalid_argument,
                                   cat("a write holds ", ops.size(), " operations, more than ", max_batch_ops));
        if (st.pending_ops + ops.size() > max_batch_ops) commit(st);
        auto rp = self->make_response_promise<op_results>();
        st.pending_ops += ops.size();
        st.pending.push_back(pending_write{std::move(ops), rp});
        if (!st.flush_scheduled) {
          st.flush_scheduled = true;
          self->send(self, flush_atom::value);
        }
        return rp;
      },
      [self](flush_atom) {
        self->state.flush_scheduled = false;
        commit(self->state);
      },
  };
}

}  // namespace

database_actor spawn_database_actor(caf::actor_system& sys, std::string name, std::shared_ptr<storage::database> db,
                                    logger* log) {
  return sys.spawn<caf::detached>(database_impl, std::move(name), std::move(db), log);
}

}  // namespace troupe
