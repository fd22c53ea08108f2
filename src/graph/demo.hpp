// The GratefulDeadConcerts demo database, as OrientDB shipped one: built from
// the bundled GraphML copy of TinkerPop's Grateful Dead graph (demo/NOTICE.md)
// in OrientDB's layout (import.hpp).
#pragma once

#include <filesystem>
#include <string_view>

#include "src/graph/import.hpp"
#include "src/util/result.hpp"

namespace troupe {

inline constexpr std::string_view demo_database_name = "GratefulDeadConcerts";
// Suffix of the folder the database is built in before it is renamed into place.
inline constexpr std::string_view demo_installing_suffix = ".installing";

// The bundled grateful-dead.xml (a path fixed at build time, in the source tree).
std::filesystem::path demo_graphml_path();

// Creates databases_dir/GratefulDeadConcerts (and databases_dir if missing).
// The database is built in databases_dir/GratefulDeadConcerts.installing and
// renamed into place only when the import succeeded, so a crash never leaves a
// half-built database under the real name; a stale .installing folder from an
// earlier crash is removed first, and a failed build removes its own.
// Errors: the database already exists; the GraphML cannot be read or parsed;
// storage or file system errors.
result<import_stats> create_demo_database(const std::filesystem::path& databases_dir,
                                          const std::filesystem::path& graphml = demo_graphml_path());

}  // namespace troupe
