#include <doctest/doctest.h>

#include <chrono>

#include "src/storage/database.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

#ifndef TROUPE_IMPORT_EXE
#error "TROUPE_IMPORT_EXE must name the troupe-import executable (set in test/graph/meson.build)"
#endif

using namespace troupe;
using namespace std::chrono_literals;

namespace {

storage::open_options existing_only() {
  storage::open_options o;
  o.create_if_missing = false;
  return o;
}

// Generous: the tool itself takes milliseconds, the machine is shared.
constexpr auto exit_wait = 60s;

struct run_result {
  int status = -1;
  std::string output;
};

run_result run_import(std::vector<std::string> args) {
  test::process_options o;
  o.argv = {TROUPE_IMPORT_EXE};
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  test::child_process p(o);
  auto st = p.wait_exit(exit_wait);
  REQUIRE_MESSAGE(st.has_value(), "troupe-import did not exit; output: " << p.output());
  return {*st, p.output()};
}

bool has(const std::string& s, std::string_view needle) { return s.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("troupe-import: imports a small GraphML file and prints the counts") {
  test::temp_dir tmp;
  test::write_text(tmp / "g.graphml",
                   "<graphml><key id=\"l\" for=\"edge\" attr.name=\"labelE\"/><graph>"
                   "<node id=\"a\"/><node id=\"b\"/><node id=\"c\"/>"
                   "<edge source=\"a\" target=\"b\"><data key=\"l\">writtenBy</data></edge>"
                   "<edge source=\"b\" target=\"c\"><data key=\"l\">writtenBy</data></edge></graph></graphml>");
  auto r = run_import({"--db", (tmp / "db").string(), (tmp / "g.graphml").string()});
  CAPTURE(r.output);
  CHECK(r.status == 0);
  CHECK(has(r.output, "imported 3 vertices and 2 edges into"));
  CHECK(has(r.output, "written_by: 2 edges"));
  auto db = storage::database::open(tmp / "db", existing_only());
  REQUIRE(db.ok());
  CHECK((*db)->cluster_by_name("written_by")->records == 2);
}

TEST_CASE("troupe-import: help, bad arguments and bad input") {
  test::temp_dir tmp;
  auto help = run_import({"--help"});
  CHECK(help.status == 0);
  CHECK(has(help.output, "usage: troupe-import --db DIR"));

  auto no_db = run_import({(tmp / "g.graphml").string()});
  CHECK(no_db.status == 2);
  CHECK(has(no_db.output, "--db DIR is required"));

  auto unknown = run_import({"--frobnicate"});
  CHECK(unknown.status == 2);
  CHECK(has(unknown.output, "unknown option '--frobnicate'"));

  auto missing = run_import({"--db", (tmp / "db").string(), (tmp / "missing.graphml").string()});
  CHECK(missing.status == 2);
  CHECK(has(missing.output, "missing.graphml"));

  test::write_text(tmp / "bad.graphml", "<graphml>\n<graph>\n<node id=\"1\"/>\n<edge source=\"1\" target=\"2\"/>\n"
                                        "</graph></graphml>");
  auto bad = run_import({"--db", (tmp / "db").string(), (tmp / "bad.graphml").string()});
  CAPTURE(bad.output);
  CHECK(bad.status == 2);
  CHECK(has(bad.output, "bad.graphml: line 4: edge: target '2' is not a node of the graph"));
  CHECK_FALSE(std::filesystem::exists(tmp / "db"));  // bad input is refused before the database is opened

  auto bad_batch = run_import({"--db", (tmp / "db").string(), "--batch", "0", (tmp / "bad.graphml").string()});
  CHECK(bad_batch.status == 2);
  CHECK(has(bad_batch.output, "--batch must be"));
}
