#include "actors/databases_actor.hpp"

#include <map>

#include "actors/database_actor.hpp"
#include "src/server/startup.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

namespace {

struct pending_drop {
  std::string name;
  caf::typed_response_promise<bool> promise;
};

struct databases_state {
  databases_options opts;
  std::shared_ptr<db_directory> directory;
  logger* log = nullptr;
  std::map<caf::actor_addr, pending_drop> drops;  // by the address of the writer being stopped
};

caf::error open_one(databases_actor::stateful_pointer<databases_state> self, const std::string& name,
                    bool create) {
  auto& st = self->state;
  auto path = st.opts.dir / name;
  auto db = storage::database::open(path, storage::open_options{create, st.opts.sync});
  if (!db) return make_troupe_error(errc::io_error, cat("cannot open database ", name, ": ", db.error().render()));
  std::shared_ptr<storage::database> shared = std::move(*db);
  database_options o;
  o.name = name;
  o.db = shared;
  o.log = st.log;
  o.node_name = st.opts.node_name;
  o.standalone = st.opts.standalone;
  o.write_timeout = st.opts.write_timeout;
  auto writer = spawn_database_actor(self->system(), o);
  self->link_to(writer);
  st.directory->put(name, db_entry{shared, writer});
  return caf::none;
}

databases_actor::behavior_type databases_impl(databases_actor::stateful_pointer<databases_state> self,
                                              databases_options opts, std::shared_ptr<db_directory> directory,
                                              logger* log) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.directory = std::move(directory);
  st.log = log;
  std::error_code ec;
  fs::create_directories(st.opts.dir, ec);
  for (auto& name : scan_databases(st.opts.dir)) {
    if (auto err = open_one(self, name, false)) {
      st.log->error("OServer", error_text(self->system(), err));
    } else {
      st.log->info("OServer", cat("opened database '", name, "'"));
    }
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
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
      [self](drop_atom, const std::string& name) -> caf::result<bool> {
        auto& st = self->state;
        auto e = st.directory->find(name);
        if (!e) return make_troupe_error(errc::database_not_found, cat("Database '", name, "' not found"));
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
