#include "src/graph/demo.hpp"

#include "src/util/fs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "src/auth/db_users.hpp"
#include "src/graph/graphml.hpp"
#include "src/storage/database.hpp"
#include "src/util/strings.hpp"

#ifndef TROUPE_DEMO_GRAPHML
#error "TROUPE_DEMO_GRAPHML must name the bundled grateful-dead.xml (set in src/graph/meson.build)"
#endif

namespace fs = std::filesystem;

namespace troupe {


fs::path demo_graphml_path() { return TROUPE_DEMO_GRAPHML; }

result<import_stats> create_demo_database(const fs::path& databases_dir, const fs::path& graphml) {
  const fs::path target = databases_dir / demo_database_name;
  const fs::path staging = databases_dir / (std::string(demo_database_name) + std::string(demo_installing_suffix));
  std::error_code ec;
  if (fs::exists(target, ec)) return error_info{target.string(), "", "the database already exists"};
  fs::create_directories(databases_dir, ec);
  if (ec) return error_info{databases_dir.string(), "", cat("cannot create folder: ", ec.message())};
  // Left by a build that crashed: never complete, never used.
  fs::remove_all(staging, ec);
  if (ec) return error_info{staging.string(), "", cat("cannot remove stale folder: ", ec.message())};

  auto g = load_graphml(graphml);
  if (!g) return g.error();

  auto fail = [&](error_info e) -> result<import_stats> {
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    return e;
  };
  result<import_stats> stats = error_info{};
  {
    auto db = storage::database::open(staging);
    if (!db) return fail(db.error());
    import_options opts;
    opts.source_name = graphml.string();
    // OrientDB's demo database has its admin, writer and reader users (the
    // tutorial connects as admin/admin), first, as in any new database
    // (ORole and OUser take clusters 5 and 6; the import places the graph
    // after them).
    if (auto why = auth::apply_default_security(**db))
      stats = error_info{staging.string(), "", cat("cannot create the default users: ", *why)};
    else
      stats = import_graph(**db, *g, opts);
    // The database closes here, before its folder is renamed.
  }
  if (!stats) return fail(stats.error());
  fs::rename(staging, target, ec);
  if (ec) return fail(error_info{target.string(), "", cat("cannot rename ", staging.string(), " into place: ", ec.message())});
  if (auto s = fsync_dir(databases_dir); !s) return s.error();
  return stats;
}

}  // namespace troupe
