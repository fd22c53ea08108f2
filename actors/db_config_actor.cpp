#include "actors/db_config_actor.hpp"

#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

namespace {

constexpr const char* component = "OHazelcastPlugin";

struct db_config_state {
  std::string db;
  fs::path file;
  db_config cfg;
  bool on_disk = false;
  logger* log = nullptr;
};

void store(db_config_state& st) {
  auto text = to_json(st.cfg);
  if (auto w = write_file_atomic(st.file, text); !w) {
    st.log->error(component, cat("cannot store the distributed configuration of ", st.db, ": ", w.error().render()));
    return;
  }
  st.on_disk = true;
  st.log->info(component, cat("updated distributed configuration for database: ", st.db, ":\n----------\n", text,
                              "----------"));
}

db_config_actor::behavior_type db_config_impl(db_config_actor::stateful_pointer<db_config_state> self, std::string db,
                                              fs::path dir, db_config default_config, logger* log) {
  auto& st = self->state;
  st.db = std::move(db);
  st.file = dir / "distributed-config.json";
  st.log = log;
  if (fs::exists(st.file)) {
    auto loaded = load_db_config(st.file);
    if (loaded) {
      st.cfg = std::move(*loaded);
      st.on_disk = true;
      log->info(component, cat("loaded database configuration from disk: ", st.file.string()));
    } else {
      log->error(component, cat("cannot read ", st.file.string(), ": ", loaded.error().render(),
                                "; using the default configuration"));
      st.cfg = std::move(default_config);
    }
  } else {
    st.cfg = std::move(default_config);
    st.cfg.version = 0;
  }
  st.cfg.notices.clear();
  return {
      [self](inspect_atom) -> actor_summary {
        auto& st = self->state;
        return actor_summary{cat("config:", st.db), self->id(), self->mailbox().size(),
                             cat("distributed configuration of ", st.db, ", version ", st.cfg.version,
                                 st.on_disk ? ", stored" : ", default (not stored yet)"),
                             cat("{\"database\":", json_quote(st.db), ",\"file\":", json_quote(st.file.string()),
                                 ",\"stored\":", st.on_disk ? "true" : "false", ",\"version\":", st.cfg.version,
                                 ",\"config\":", to_json(st.cfg), "}")};
      },
      [self](status_atom) -> db_config_msg {
        auto& st = self->state;
        return db_config_msg{st.db, to_json(st.cfg), st.cfg.version, ""};
      },
      [self](update_atom, const db_config_msg& m) -> bool {
        auto& st = self->state;
        auto parsed = parse_db_config(m.json, cat("distributed configuration of ", st.db));
        if (!parsed) {
          st.log->error(component, cat("ignored a distributed configuration: ", parsed.error().render()));
          return false;
        }
        parsed->version = m.version;
        parsed->notices.clear();
        if (st.on_disk && to_json(*parsed) == to_json(st.cfg)) return false;
        st.cfg = std::move(*parsed);
        store(st);
        return true;
      },
  };
}

}  // namespace

db_config_actor spawn_db_config_actor(caf::actor_system& sys, std::string db, fs::path dir, db_config default_config,
                                      logger* log) {
  return sys.spawn<caf::detached>(db_config_impl, std::move(db), std::move(dir), std::move(default_config), log);
}

}  // namespace troupe
