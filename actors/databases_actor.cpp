#include "actors/databases_actor.hpp"

#include <map>
#include <thread>

#include "actors/database_actor.hpp"
#include "actors/senders.hpp"
#include "src/auth/db_users.hpp"
#include "src/server/startup.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

namespace {

struct pending_drop {
  std::string name;
  std::optional<caf::typed_response_promise<bool>> promise;  // none: the cluster dropped it (dbdrop_atom)
};

struct pending_replace {
  std::string name;
  caf::typed_response_promise<bool> promise;
  std::weak_ptr<storage::database> old;  // closed once every reader has let go
};

struct databases_state {
  databases_options opts;
  std::shared_ptr<db_directory> directory;
  logger* log = nullptr;
  std::map<caf::actor_addr, pending_drop> drops;  // by the address of the writer being stopped
  std::map<caf::actor_addr, pending_replace> replaces;  // ditto
  // In a cluster (init_atom): creates and drops are decided by its leader.
  cluster_actor cluster;
  placement_actor placement;
};

using self_ptr = databases_actor::stateful_pointer<databases_state>;

void start_writer(self_ptr self, const std::string& name, std::shared_ptr<storage::database> shared);

caf::error open_one(self_ptr self, const std::string& name, bool create) {
  auto& st = self->state;
  auto path = st.opts.dir / name;
  storage::open_options oo;
  oo.create_if_missing = create;
  oo.sync = st.opts.sync;
  oo.log_keep = st.opts.log_keep;
  auto db = storage::database::open(path, oo);
  if (!db) return make_troupe_error(errc::io_error, cat("cannot open database ", name, ": ", db.error().render()));
  if (create)  // OrientDB's admin, writer and reader users (src/auth/db_users.hpp); replicas get them by deploy
    if (auto why = auth::apply_default_security(**db))
      return make_troupe_error(errc::io_error, cat("cannot create the users of database ", name, ": ", *why));
  start_writer(self, name, std::move(*db));
  return caf::none;
}

void start_writer(self_ptr self, const std::string& name, std::shared_ptr<storage::database> shared) {
  auto& st = self->state;
  database_options o;
  o.name = name;
  o.db = shared;
  o.log = st.log;
  o.node_name = st.opts.node_name;
  o.standalone = st.opts.standalone;
  o.write_timeout = st.opts.write_timeout;
  o.command_timeout = st.opts.command_timeout;
  auto writer = spawn_database_actor(self->system(), o);
  self->link_to(writer);
  st.directory->put(name, db_entry{shared, writer});
}

// The second half of a replace (see the header): the old writer is gone.
void finish_replace(self_ptr self, pending_replace r) {
  auto& st = self->state;
  auto& name = r.name;
  auto fail = [&](std::string why) {
    std::error_code ec;
    fs::remove_all(st.opts.dir / cat(name, ".installed"), ec);
    st.log->error("OServer", cat("cannot replace database '", name, "': ", why, "; the copy in use stays"));
    r.promise.deliver(make_troupe_error(errc::io_error, cat("cannot replace database ", name, ": ", why)));
  };
  // RocksDB must be closed before its folder moves: closing may write files
  // by path, which after the rename would land in the new copy. Readers on
  // other threads hold the database only for one request, so this wait is
  // short; a deploy being sent from this copy holds it longer, and then the
  // replace is abandoned (the cluster actor tries again later).
  st.directory->erase(name);
  auto deadline = std::chrono::steady_clock::now() + replace_close_wait;
  while (!r.old.expired() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  if (auto still = r.old.lock()) {
    start_writer(self, name, std::move(still));
    return fail(cat("it is still in use after ", replace_close_wait.count(), " s"));
  }
  auto reopen_old = [&] {
    if (auto err = open_one(self, name, false))
      st.log->error("OServer", cat("cannot reopen database '", name, "': ", error_text(self->system(), err)));
  };
  if (auto s = swap_in_installed(st.opts.dir, name); !s) {
    reopen_old();
    return fail(s.error().render());
  }
  if (auto err = open_one(self, name, false)) {
    auto why = error_text(self->system(), err);
    if (auto s = swap_back(st.opts.dir, name); !s)
      st.log->error("OServer", cat("cannot restore database '", name, "': ", s.error().render()));
    reopen_old();
    return fail(why);
  }
  if (auto s = remove_old_copy(st.opts.dir, name); !s) st.log->warn("OServer", s.error().render());
  st.log->info("OServer", cat("replaced database '", name, "' with the copy received"));
  r.promise.deliver(true);
}

// Creates `name` here (empty). REQUIRES: checked by create_checks.
caf::error create_here(self_ptr self, const std::string& name) {
  auto& st = self->state;
  if (auto err = open_one(self, name, true)) return err;
  st.log->info("OServer", cat("created database '", name, "'"));
  return caf::none;
}

caf::error create_checks(self_ptr self, const std::string& name) {
  auto& st = self->state;
  if (!valid_database_name(name))
    return make_troupe_error(errc::invalid_argument, cat("'", name, "' is not a database name (1-128 of A-Z a-z 0-9 _ -)"));
  std::error_code ec;
  if (st.directory->find(name) || fs::exists(st.opts.dir / name, ec))
    return make_troupe_error(errc::database_exists, cat("Database '", name, "' already exists"));
  for (auto& [addr, d] : st.drops)
    if (d.name == name) return make_troupe_error(errc::database_exists, cat("Database '", name, "' is being dropped"));
  return caf::none;
}

// Stops `name`'s writer and deletes its folder once it is gone (the down
// handler); a copy that is not open (left on disk) is deleted at once.
// `promise` (if any) is answered then.
void drop_here(self_ptr self, const std::string& name, std::optional<caf::typed_response_promise<bool>> promise) {
  auto& st = self->state;
  for (auto& [addr, d] : st.drops)
    if (d.name == name) {  // already on its way: answer when it is gone
      if (promise) promise->deliver(true);
      return;
    }
  auto e = st.directory->find(name);
  if (!e) {
    std::error_code ec;
    if (valid_database_name(name) && fs::exists(st.opts.dir / name, ec)) {
      fs::remove_all(st.opts.dir / name, ec);
      st.log->info("OServer", cat("deleted the copy of database '", name, "' left on disk"));
    }
    if (promise) promise->deliver(true);
    return;
  }
  st.directory->erase(name);
  self->unlink_from(e->writer);
  self->monitor(e->writer);
  st.drops.emplace(e->writer.address(), pending_drop{name, std::move(promise)});
  self->send_exit(e->writer, caf::exit_reason::user_shutdown);
}

databases_actor::behavior_type databases_impl(self_ptr self, databases_options opts, std::shared_ptr<db_directory> directory,
                                              logger* log) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.directory = std::move(directory);
  st.log = log;
  std::error_code ec;
  fs::create_directories(st.opts.dir, ec);
  for (auto& line : recover_swaps(st.opts.dir)) st.log->warn("OServer", line);
  for (auto& name : scan_databases(st.opts.dir)) {
    if (auto err = open_one(self, name, false)) {
      st.log->error("OServer", error_text(self->system(), err));
    } else {
      st.log->info("OServer", cat("opened database '", name, "'"));
    }
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    if (auto r = st.replaces.find(dm.source); r != st.replaces.end()) {
      auto pr = std::move(r->second);
      st.replaces.erase(r);
      return finish_replace(self, std::move(pr));
    }
    auto i = st.drops.find(dm.source);
    if (i == st.drops.end()) return;
    auto path = st.opts.dir / i->second.name;
    std::error_code rm_ec;
    fs::remove_all(path, rm_ec);
    if (rm_ec) {
      auto why = cat("database ", i->second.name, " is closed but its folder could not be removed: ", rm_ec.message());
      st.log->error("OServer", why);
      if (i->second.promise) i->second.promise->deliver(make_troupe_error(errc::io_error, why));
    } else {
      st.log->info("OServer", cat("dropped database '", i->second.name, "'"));
      if (i->second.promise) i->second.promise->deliver(true);
    }
    st.drops.erase(i);
  });
  // In an exit handler, not an attached functor: CAF 0.17 destroys the state
  // before attached functors run.
  self->set_exit_handler([self](caf::exit_msg& m) {
    for (auto& [addr, d] : self->state.drops)
      if (d.promise) d.promise->deliver(make_troupe_error(errc::shutting_down, "the node is shutting down"));
    self->state.drops.clear();
    for (auto& [addr, r] : self->state.replaces)
      r.promise.deliver(make_troupe_error(errc::shutting_down, "the node is shutting down"));
    self->state.replaces.clear();
    self->state.directory->clear();
    self->quit(m.reason);
  });
  return {
      [self](inspect_atom) -> actor_summary {
        auto& st = self->state;
        auto names = st.directory->names();
        std::vector<std::string> dropping;
        for (auto& [addr, d] : st.drops) dropping.push_back(d.name);
        return actor_summary{"databases", self->id(), self->mailbox().size(),
                             cat(names.size(), " open database(s), ", dropping.size(), " being dropped"),
                             cat("{\"folder\":", json_quote(st.opts.dir.string()), ",\"open\":", json_list(names),
                                 ",\"dropping\":", json_list(dropping), "}")};
      },
      [self](create_atom, const std::string& name) -> caf::result<bool> {
        auto& st = self->state;
        if (auto err = create_checks(self, name)) return err;
        if (!st.cluster) {
          if (auto err = create_here(self, name)) return err;
          return true;
        }
        // The leader decides (the first ask for a name wins); then the data
        // is made here, and the other members receive it by autoDeploy.
        auto rp = self->make_response_promise<bool>();
        self->request(st.cluster, std::chrono::seconds(10), dbcreate_atom::value, name)
            .then(
                [self, rp, name](bool) mutable {
                  auto& st = self->state;
                  caf::error err = create_checks(self, name);
                  if (!err) err = create_here(self, name);
                  if (err) {
                    // Nothing made here: the cluster forgets the name again.
                    st.log->error("OServer", cat("cannot create database '", name, "' the cluster decided: ",
                                                 error_text(self->system(), err), "; dropping it from the cluster"));
                    self->request(st.cluster, std::chrono::seconds(10), dbdrop_atom::value, name)
                        .then([](bool) {}, [](caf::error&) {});
                    rp.deliver(std::move(err));
                    return;
                  }
                  self->send(st.placement, add_db_atom::value, name);
                  rp.deliver(true);
                },
                [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [self](open_atom, const std::string& name) -> caf::result<bool> {
        auto& st = self->state;
        if (!valid_database_name(name)) return make_troupe_error(errc::invalid_argument, "bad database name");
        if (st.directory->find(name)) return true;
        if (auto err = open_one(self, name, false)) return err;
        st.log->info("OServer", cat("opened database '", name, "'"));
        return true;
      },
      [self](replace_atom, const std::string& name) -> caf::result<bool> {
        auto& st = self->state;
        auto e = st.directory->find(name);
        if (!e) return make_troupe_error(errc::database_not_found, cat("Database '", name, "' not found"));
        std::error_code ec;
        if (!fs::is_directory(st.opts.dir / cat(name, ".installed"), ec))
          return make_troupe_error(errc::io_error, cat("no new copy of database ", name, " is installed"));
        for (auto& [addr, r] : st.replaces)
          if (r.name == name) return make_troupe_error(errc::io_error, cat("database ", name, " is being replaced"));
        auto rp = self->make_response_promise<bool>();
        // The entry stays in the directory (reads go on from the copy in use)
        // until the writer is gone; then the swap (finish_replace).
        self->unlink_from(e->writer);
        self->monitor(e->writer);
        st.replaces.emplace(e->writer.address(), pending_replace{name, rp, e->db});
        self->send_exit(e->writer, caf::exit_reason::user_shutdown);
        return rp;
      },
      [self](drop_atom, const std::string& name) -> caf::result<bool> {
        auto& st = self->state;
        for (auto& [addr, r] : st.replaces)
          if (r.name == name)
            return make_troupe_error(errc::io_error, cat("Database '", name, "' is being replaced by a redeploy"));
        auto rp = self->make_response_promise<bool>();
        if (!st.cluster) {
          if (!st.directory->find(name))
            return make_troupe_error(errc::database_not_found, cat("Database '", name, "' not found"));
          drop_here(self, name, rp);
          return rp;
        }
        // Dropped by the leader's decision on every member (each deletes its
        // copy as the new state reaches it); answered once ours is gone.
        self->request(st.cluster, std::chrono::seconds(10), dbdrop_atom::value, name)
            .then([self, rp, name](bool) mutable { drop_here(self, name, rp); },
                  [rp](caf::error& e) mutable { rp.deliver(std::move(e)); });
        return rp;
      },
      [self](dbdrop_atom, const std::string& name) {
        if (!sent_here(self) || !valid_database_name(name)) return;
        for (auto& [addr, r] : self->state.replaces)
          if (r.name == name) return;  // the swap ends first; the next state drops it again
        drop_here(self, name, std::nullopt);
      },
      [self](init_atom, caf::actor& cluster, caf::actor& placement) {
        if (!sent_here(self)) return;
        self->state.cluster = caf::actor_cast<cluster_actor>(cluster);
        self->state.placement = caf::actor_cast<placement_actor>(placement);
      },
      [self](list_atom) -> std::vector<std::string> { return self->state.directory->names(); },
  };
}

}  // namespace

databases_actor spawn_databases_actor(caf::actor_system& sys, databases_options opts,
                                      std::shared_ptr<db_directory> directory, logger* log) {
  return sys.spawn<caf::detached>(databases_impl, std::move(opts), std::move(directory), log);
}

}  // namespace troupe
