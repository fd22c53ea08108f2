// RESTORE DATABASE / IMPORT DATABASE on a node: building a database folder
// from a backup archive (archive.hpp) or an export (import.hpp) the way a
// deploy installs a received copy (src/deploy/transfer.hpp, actors/deploy.cpp):
// everything is written under databases/<db>.installing and renamed to
// databases/<db> only when it is complete and checked, so a crash or a
// failure at any point leaves either no database <db> or the whole one.
//
// Contract (for the actors; plain code, blocking: run it off the actor and
// I/O threads, e.g. on a detached actor):
//   - REQUIRES: `db` is a valid database name and no database <db> is open
//     on this node. databases/<db> must not exist (else errc-like refusal:
//     install_error::exists); a stale databases/<db>.installing (an attempt
//     that crashed) is removed first.
//   - restore_database: verifies the whole archive BEFORE creating anything
//     (a truncated, corrupt or foreign file changes nothing), extracts it,
//     opens the copy, drops its staged (never acknowledged) replication
//     entries, runs storage::database::check(), closes it, renames it into
//     place and fsyncs databases/. The restored database keeps its records,
//     schema, indexes, LSN and committed replication seq.
//   - import_database: creates a new database under .installing with
//     OrientDB's default users admin, writer and reader, as a created database
//     gets them (auth::apply_default_security, first, so ORole and OUser take
//     the cluster ids they have on a created database and a troupe export's
//     classes get theirs back; the export's own OUser/ORole records are
//     skipped by the import), loads the export (import_export), runs check(),
//     closes, renames.
//   - Afterwards the caller opens it: (open_atom, db) to the databases actor,
//     which publishes it like a deployed copy. Then the cluster-wide
//     registration follows (the lead's: see the TODO at
//     register_restored_database in actors/rest_api.cpp).
#pragma once

#include <filesystem>
#include <string>

#include "src/backup/archive.hpp"
#include "src/backup/import.hpp"
#include "src/util/result.hpp"

namespace troupe::backup {

// The suffix of the folder a restore or import builds in.
inline constexpr std::string_view installing_suffix = ".installing";

result<backup_info> restore_database(const std::filesystem::path& databases_dir, const std::string& db,
                                     const std::filesystem::path& archive);

result<import_summary> import_database(const std::filesystem::path& databases_dir, const std::string& db,
                                       std::string_view export_text);

// True for a file name under <home>/backup/ that REST may name: 1-128 of
// [A-Za-z0-9_.-], not starting with '.', so no path, no traversal, no hidden file.
bool plain_backup_name(std::string_view name);

}  // namespace troupe::backup
