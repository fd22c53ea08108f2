#include "test/support/temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "troupe_build_config.hpp"

namespace fs = std::filesystem;

namespace troupe::test {

temp_dir::temp_dir(const std::string& prefix) {
  std::string templ = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = templ;
}

temp_dir::~temp_dir() {
  if (std::getenv("TROUPE_KEEP_TEMP") != nullptr) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path source_root() {
  if (const char* e = std::getenv("TROUPE_SOURCE_ROOT")) return e;
  return TROUPE_SOURCE_ROOT;
}

fs::path shipped_config_dir() { return source_root() / "config"; }

void make_home(const fs::path& home) {
  fs::create_directories(home / "config");
  for (auto& e : fs::directory_iterator(shipped_config_dir()))
    fs::copy_file(e.path(), home / "config" / e.path().filename(), fs::copy_options::overwrite_existing);
}

startup_options home_options(const fs::path& home, const std::string& name) {
  startup_options o;
  o.home = home;
  o.shipped_config_dir = shipped_config_dir();
  o.name_inputs.environment = name;
  o.name_inputs.now_ms = [] { return int64_t{1}; };
  return o;
}

void write_text(const fs::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace troupe::test
