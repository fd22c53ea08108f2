#include "src/server/startup.hpp"

#include <algorithm>
#include <random>
#include <system_error>

#include "src/config/password.hpp"
#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

std::vector<std::string> scan_databases(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory()) continue;
    auto name = e.path().filename().string();
    if (valid_database_name(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {
fs::path with_suffix(const fs::path& dir, const std::string& name, const char* suffix) {
  return dir / cat(name, suffix);
}
}  // namespace

status swap_in_installed(const fs::path& dir, const std::string& name) {
  auto cur = dir / name, old = with_suffix(dir, name, ".old"), fresh = with_suffix(dir, name, ".installed");
  std::error_code ec;
  if (!valid_database_name(name)) return error_info{name, "", "not a database name"};
  if (!fs::is_directory(fresh, ec)) return error_info{fresh.string(), "", "no installed copy to swap in"};
  if (!fs::is_directory(cur, ec)) return error_info{cur.string(), "", "no copy in use to swap out"};
  if (fs::exists(old, ec)) return error_info{old.string(), "", "a previous copy is still there"};
  auto cfg = cur / "distributed-config.json";
  if (fs::exists(cfg, ec)) {
    auto content = read_file(cfg);
    if (!content) return content.error();
    if (auto st = write_file_atomic(fresh / "distributed-config.json", *content); !st) return st.error();
  }
  fs::rename(cur, old, ec);
  if (ec) return error_info{cur.string(), "", cat("cannot move the copy in use aside: ", ec.message())};
  fs::rename(fresh, cur, ec);
  if (ec) {
    auto why = ec.message();
    fs::rename(old, cur, ec);  // put the copy in use back
    return error_info{fresh.string(), "", cat("cannot move the new copy into place: ", why)};
  }
  return fsync_dir(dir);
}

status swap_back(const fs::path& dir, const std::string& name) {
  auto cur = dir / name, old = with_suffix(dir, name, ".old");
  std::error_code ec;
  if (!fs::is_directory(old, ec)) return error_info{old.string(), "", "no previous copy to restore"};
  fs::remove_all(cur, ec);
  if (ec) return error_info{cur.string(), "", cat("cannot remove the new copy: ", ec.message())};
  fs::rename(old, cur, ec);
  if (ec) return error_info{old.string(), "", cat("cannot restore the previous copy: ", ec.message())};
  return fsync_dir(dir);
}

status remove_old_copy(const fs::path& dir, const std::string& name) {
  auto old = with_suffix(dir, name, ".old");
  std::error_code ec;
  fs::remove_all(old, ec);
  if (ec) return error_info{old.string(), "", cat("cannot remove the previous copy: ", ec.message())};
  return fsync_dir(dir);
}

std::vector<std::string> recover_swaps(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::vector<std::string> olds, installed;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory()) continue;
    auto f = e.path().filename().string();
    auto ends = [&](std::string_view suf) {
      return f.size() > suf.size() && f.compare(f.size() - suf.size(), suf.size(), suf) == 0 &&
             valid_database_name(std::string_view(f).substr(0, f.size() - suf.size()));
    };
    if (ends(".old")) olds.push_back(f.substr(0, f.size() - 4));
    if (ends(".installed")) installed.push_back(f.substr(0, f.size() - 10));
  }
  std::sort(olds.begin(), olds.end());
  std::sort(installed.begin(), installed.end());
  bool changed = false;
  for (auto& n : olds) {
    auto old = with_suffix(dir, n, ".old");
    std::error_code e2;
    if (fs::exists(dir / n, e2)) {
      fs::remove_all(old, e2);
      out.push_back(e2 ? cat("cannot remove ", old.string(), " (the copy before a redeploy): ", e2.message())
                       : cat("removed the copy of database ", n, " that a redeploy replaced"));
    } else {
      fs::rename(old, dir / n, e2);
      out.push_back(e2 ? cat("cannot restore ", old.string(), ": ", e2.message())
                       : cat("restored database ", n, ": a redeploy stopped between its renames; the copy that was in use is kept"));
    }
    changed = true;
  }
  for (auto& n : installed) {
    auto fresh = with_suffix(dir, n, ".installed");
    std::error_code e2;
    fs::remove_all(fresh, e2);
    out.push_back(e2 ? cat("cannot remove ", fresh.string(), ": ", e2.message())
                     : cat("removed ", n, ".installed: a redeploy stopped before its swap; the copy in use is kept"));
    changed = true;
  }
  if (changed) (void)fsync_dir(dir);
  return out;
}

std::string generate_password(size_t length) {
  // No 0/O, 1/l/I: the password is read off a terminal and typed again.
  static constexpr std::string_view alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::random_device rd;  // /dev/urandom on Linux
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string out;
  for (size_t i = 0; i < length; ++i) out += alphabet[pick(rd)];
  return out;
}

result<server_settings> prepare_server(const startup_options& opts) {
  server_settings s;
  std::error_code ec;
  s.home = fs::absolute(opts.home, ec).lexically_normal();
  if (ec) return error_info{opts.home.string(), "", cat("bad home directory: ", ec.message())};
  if (!fs::is_directory(s.home)) return error_info{s.home.string(), "", "the server home is not a directory"};

  s.config_file = opts.config_file ? fs::absolute(*opts.config_file) : s.home / "config" / "orientdb-server-config.xml";
  if (!opts.config_file && !fs::exists(s.home / "config")) {
    // A fresh home: start it from the shipped configuration, as a copied
    // OrientDB directory would carry it.
    if (auto st = copy_dir_files(opts.shipped_config_dir, s.home / "config", 0600); !st) return st.error();
    s.home_initialised = true;
  }

  auto server = load_server_config(s.config_file, s.home);
  if (!server) return server.error();
  s.server = std::move(*server);
  for (auto& n : s.server.notices) s.notices.push_back(n);
  if (auto lvl = s.server.property("log.console.level")) {
    if (!parse_log_level(*lvl, s.level))
      return error_info{s.config_file.string(), "property log.console.level",
                        cat("unknown level '", *lvl, "' (debug, info, warn, error)")};
  }

  if (s.server.distributed.handler_present && s.server.distributed.enabled) {
    auto hz = load_hazelcast_config(s.server.distributed.hazelcast_path);
    if (!hz) return hz.error();
    s.hazelcast = std::move(*hz);
    for (auto& n : s.hazelcast.notices) s.notices.push_back(n);
    auto db = load_db_config(s.server.distributed.db_default_path);
    if (!db) return db.error();
    s.default_db = std::move(*db);
    for (auto& n : s.default_db.notices) s.notices.push_back(n);
  }

  auto inputs = opts.name_inputs;
  inputs.parameter = s.server.distributed.node_name;
  auto name = choose_node_name(inputs);
  if (!name) {
    auto e = name.error();
    if (e.file.empty()) e.file = e.where == "nodeName" ? s.config_file.string() : "";
    return e;
  }
  s.name = std::move(*name);
  if (s.name.source != node_name_source::parameter && s.server.distributed.handler_present) {
    if (auto st = store_node_name(s.config_file, s.name.name); !st) return st.error();
    s.name_stored = true;
  }
  if (s.server.find_user("root") == nullptr) {
    // As OrientDB does on its first start: a root user with a random password,
    // stored in the server config and shown once. Stored hashed, as OrientDB
    // 2.2 does: the line printed is the only copy of the password.
    auto password = generate_password();
    user_config root{"root", hash_password(password), "*"};
    if (auto st = store_user(s.config_file, root); !st) return st.error();
    s.server.users.push_back(root);
    s.generated_root_password = std::move(password);
  }
  return s;
}

}  // namespace troupe
