#include "src/backup/install.hpp"

#include <algorithm>
#include <mutex>
#include <set>

#include "src/auth/db_users.hpp"
#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe::backup {

namespace {

// The databases/<db> folders a restore or import is building in this process:
// two requests for one name must not share one .installing folder.
std::mutex busy_mutex;
std::set<std::string> busy;

struct busy_claim {
  std::string key;
  bool held = false;
  ~busy_claim() {
    if (!held) return;
    std::lock_guard lock(busy_mutex);
    busy.erase(key);
  }
};

// Removes the .installing folder unless disarmed.
struct installing_guard {
  fs::path p;
  bool keep = false;
  ~installing_guard() {
    if (keep) return;
    std::error_code ec;
    fs::remove_all(p, ec);
  }
};

result<fs::path> prepare(const fs::path& databases_dir, const std::string& db, busy_claim& claim) {
  if (db.empty() || db.find('/') != std::string::npos || db == "." || db == "..")
    return error_info{"", "", cat("'", db, "' is not a database name")};
  {
    std::lock_guard lock(busy_mutex);
    claim.key = (databases_dir / db).lexically_normal().string();
    if (!busy.insert(claim.key).second)
      return error_info{"", "", cat("a restore or import of database '", db, "' is under way")};
    claim.held = true;
  }
  std::error_code ec;
  auto final_dir = databases_dir / db;
  if (fs::exists(final_dir, ec)) return error_info{final_dir.string(), "", cat("database '", db, "' exists already")};
  auto dir = databases_dir / cat(db, installing_suffix);
  fs::remove_all(dir, ec);  // a stale attempt
  if (ec) return error_info{dir.string(), "", cat("cannot remove a stale install: ", ec.message())};
  return dir;
}

// Opens the built copy, lets `fix` adjust it, checks it, closes it, renames it into place.
status finish(const fs::path& dir, const fs::path& final_dir, const std::function<status(storage::database&)>& fix) {
  {
    storage::open_options o;
    o.create_if_missing = false;
    auto d = storage::database::open(dir, o);
    if (!d) return d.error();
    if (fix)
      if (auto s = fix(**d); !s) return s;
    if (auto s = (*d)->check(); !s) return s;
  }
  std::error_code ec;
  if (fs::exists(final_dir, ec)) return error_info{final_dir.string(), "", "a database of that name appeared meanwhile"};
  fs::rename(dir, final_dir, ec);
  if (ec) return error_info{final_dir.string(), "", cat("cannot rename into place: ", ec.message())};
  return fsync_dir(final_dir.parent_path());
}

}  // namespace

bool plain_backup_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
           c == '-';
  });
}

result<backup_info> restore_database(const fs::path& databases_dir, const std::string& db, const fs::path& archive) {
  busy_claim claim;
  auto dir = prepare(databases_dir, db, claim);
  if (!dir) return dir.error();
  installing_guard g{*dir};
  auto info = extract_backup(archive, *dir);  // verifies the whole file first
  if (!info) return info;
  auto s = finish(*dir, databases_dir / db, [](storage::database& d) -> status {
    // Staged entries were never acknowledged to a client: a restored copy
    // starts without them (seq 0 removes every one).
    return d.discard_staged(0);
  });
  if (!s) return s.error();
  g.keep = true;
  return info;
}

result<import_summary> import_database(const fs::path& databases_dir, const std::string& db,
                                       std::string_view export_text) {
  busy_claim claim;
  auto dir = prepare(databases_dir, db, claim);
  if (!dir) return dir.error();
  installing_guard g{*dir};
  result<import_summary> sum = error_info{};
  {
    auto d = storage::database::open(*dir);
    if (!d) return d.error();
    // Like a created database: OrientDB's admin, writer and reader users
    // (the export's own OUser/ORole records are not carried: import.hpp).
    // First, as on a created database, so that ORole and OUser take the
    // cluster ids they have there and a troupe export's classes get theirs back.
    if (auto why = auth::apply_default_security(**d))
      return error_info{dir->string(), "", cat("cannot create the database's users: ", *why)};
    sum = import_export(export_text, **d);
    if (!sum) return sum;
  }
  if (auto s = finish(*dir, databases_dir / db, {}); !s) return s.error();
  g.keep = true;
  return sum;
}

}  // namespace troupe::backup
