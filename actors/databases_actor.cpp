#include "actors/databases_actor.hpp"

#include <map>
#include <thread>

#include "actors/database_actor.hpp"
#include "src/auth/db_users.hpp"
#include "src/server/startup.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

namespace {

struct pending_drop {
  std::string name;
  caf::typed_response_promise<bool> promise;
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
      i->second.promise.deliver(make_troupe_error(
          errc::io_error, cat("database ", i->second.name, " is closed but its folder could not be removed: ",
                              rm_ec.message())));
    } else {
      st.log->info("OServer", cat("dropped database '", i->second.name, "'"));
      i->second.promise.deliver(true);
    }
    st.drops.erase(i);
  });
  // In an exit handler, not an attached functor: CAF 0.17 destroys the state
  // before attached functors run.
  self->set_exit_handler([self](caf::exit_msg& m) {
    for (auto& [addr, d] : self->state.drops)
      d.promise.deliver(make_troupe_error(errc::shutting_down, "the node is shutting down"));
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
        if (!valid_database_name(name))
          return make_troupe_error(errc::invalid_argument,
                                   cat("'", name, "' is not a database name (1-128 of A-Z a-z 0-9 _ -)"));
        if (st.directory->find(name) || fs::exists(st.opts.dir / name))
          return make_troupe_error(errc::database_exists, cat("Database '", name, "' already exists"));
        for (auto& [addr, d] : st.drops)
          if (d.name == name)
            return make_troupe_error(errc::database_exists, cat("Database '", name, "' is being dropped"));
        if (auto err = open_one(self, name, true)) return err;
        st.log->info("OServer", cat("created database '", name, "'"));
        return true;
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
        auto e = st.directory->find(name);
        if (!e) return make_troupe_error(errc::database_not_found, cat("Database '", name, "' not found"));
        for (auto& [addr, r] : st.replaces)
          if (r.name == name)
            return make_troupe_error(errc::io_error, cat("Database '", name, "' is being replaced by a redeploy"));
        st.directory->erase(name);
        auto rp = self->make_response_promise<bool>();
        self->unlink_from(e->writer);
        self->monitor(e->writer);
        st.drops.emplace(e->writer.address(), pending_drop{name, rp});
        self->send_exit(e->writer, caf::exit_reason::user_shutdown);
        return rp;
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
