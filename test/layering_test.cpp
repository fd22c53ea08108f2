// The layers (docs/ARCHITECTURE.md, "Layers"), checked on the source tree:
// src/ is plain code in ranked layers, actors/ wires it with CAF, apps/ holds
// the programs. A file that includes across these lines fails here, naming it.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "test/support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

struct include_line {
  std::string file;  // relative to the source root
  int line = 0;
  std::string target;  // what is included, as written
};

std::vector<include_line> includes_under(const fs::path& root, const std::string& dir) {
  std::vector<include_line> out;
  static const std::regex inc(R"(^\s*#\s*include\s*[<"]([^>"]+)[>"])");
  for (auto& e : fs::recursive_directory_iterator(root / dir)) {
    if (!e.is_regular_file()) continue;
    auto ext = e.path().extension().string();
    if (ext != ".cpp" && ext != ".hpp" && ext != ".h") continue;
    std::ifstream in(e.path());
    std::string text;
    int n = 0;
    while (std::getline(in, text)) {
      ++n;
      std::smatch m;
      if (std::regex_search(text, m, inc)) out.push_back({fs::relative(e.path(), root).string(), n, m[1].str()});
    }
  }
  return out;
}

std::string first_dir_after(const std::string& path, const std::string& prefix) {
  auto rest = path.substr(prefix.size());
  return rest.substr(0, rest.find('/'));
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace

namespace {

// Each folder of src/ by rank: a folder may include its own files and those of
// lower ranks. A new folder must be ranked here.
const std::map<std::string, int> src_rank = {
    {"util", 0},    {"config", 1}, {"storage", 1},     {"http", 1},    {"deploy", 1},  {"cluster", 2},
    {"query", 2},   {"link", 3},   {"replication", 3}, {"console", 3}, {"server", 3},  {"auth", 3},
    {"graph", 4},  // the demo database gets the default users (src/auth)
};

// Every include under root/src that crosses the lines, one line each.
std::vector<std::string> src_violations(const fs::path& root) {
  std::vector<std::string> out;
  for (auto& i : includes_under(root, "src")) {
    auto at = i.file + ":" + std::to_string(i.line) + " includes " + i.target;
    if (starts_with(i.target, "actors/") || starts_with(i.target, "apps/") || starts_with(i.target, "caf/")) {
      out.push_back(at + " (src/ is plain code below actors/ and apps/)");
      continue;
    }
    auto from = first_dir_after(i.file, "src/");
    if (!src_rank.count(from)) {
      out.push_back(at + " (src/" + from + "/ is not ranked in test/layering_test.cpp)");
      continue;
    }
    if (!starts_with(i.target, "src/")) continue;
    auto to = first_dir_after(i.target, "src/");
    if (!src_rank.count(to) || (to != from && src_rank.at(to) >= src_rank.at(from)))
      out.push_back(at + " (src/" + from + " may include only lower layers)");
  }
  return out;
}

}  // namespace

TEST_CASE("layering: src/ never includes actors/, apps/ or CAF, and its layers include only lower ones") {
  auto root = troupe::test::source_root();
  REQUIRE(includes_under(root, "src").size() > 100);  // the walk found the tree
  auto bad = src_violations(root);
  for (auto& b : bad) FAIL_CHECK(b);
  CHECK(bad.empty());
}

TEST_CASE("layering: actors/ never includes apps/, and apps/ holds only programs") {
  auto root = troupe::test::source_root();
  for (auto& i : includes_under(root, "actors")) {
    CAPTURE(i.file);
    CHECK_FALSE(starts_with(i.target, "apps/"));
  }
  size_t mains = 0;
  for (auto& e : fs::directory_iterator(root / "apps")) {
    auto name = e.path().filename().string();
    if (name == "meson.build") continue;
    CAPTURE(name);
    CHECK(name.size() > 9);
    CHECK(name.substr(name.size() - 9) == "_main.cpp");
    ++mains;
  }
  CHECK(mains == 3);
}

TEST_CASE("layering: the check itself sees each kind of violation") {
  // Planted in a copy of src/ (a test that could not fail is no test).
  troupe::test::temp_dir tmp;
  for (auto d : {"util", "cluster", "newdir"}) fs::create_directories(tmp / "src" / d);
  std::ofstream(tmp / "src" / "util" / "a.hpp") << "#pragma once\n  #  include \"actors/node.hpp\"\n";
  std::ofstream(tmp / "src" / "util" / "b.hpp") << "#include \"src/cluster/cluster_model.hpp\"\n#include <caf/all.hpp>\n";
  std::ofstream(tmp / "src" / "cluster" / "c.cpp") << "#include \"src/util/strings.hpp\"\n#include \"src/config/x.hpp\"\n";
  std::ofstream(tmp / "src" / "newdir" / "d.cpp") << "#include <string>\n";
  auto bad = src_violations(tmp.path());
  std::sort(bad.begin(), bad.end());
  REQUIRE(bad.size() == 4);
  CHECK(bad[0].find("src/newdir/d.cpp:1") == 0);
  CHECK(bad[0].find("not ranked") != std::string::npos);
  CHECK(bad[1].find("src/util/a.hpp:2 includes actors/node.hpp") == 0);
  CHECK(bad[2].find("src/util/b.hpp:1 includes src/cluster/cluster_model.hpp") == 0);
  CHECK(bad[3].find("src/util/b.hpp:2 includes caf/all.hpp") == 0);
}
