// A directory under /tmp that is removed with everything in it when the object
// goes out of scope (kept when TROUPE_KEEP_TEMP is set, for post-mortems).
#pragma once

#include <filesystem>
#include <string>

#include "src/server/startup.hpp"

namespace troupe::test {

class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix = "troupe-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& s) const { return path_ / s; }

 private:
  std::filesystem::path path_;
};

// The repository's shipped config/ folder.
std::filesystem::path shipped_config_dir();
// Repository root (TROUPE_SOURCE_ROOT, set by meson test).
std::filesystem::path source_root();
// A fresh server home with a copy of the shipped config.
void make_home(const std::filesystem::path& home);
// Start-up options for a test node on `home`, named `name` (through
// ORIENTDB_NODE_NAME), with the shipped config and a fixed clock.
startup_options home_options(const std::filesystem::path& home, const std::string& name);
// Writes a whole file (test helper, not atomic).
void write_text(const std::filesystem::path& p, const std::string& s);
std::string read_text(const std::filesystem::path& p);

}  // namespace troupe::test
