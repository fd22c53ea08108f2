// troupe-import: imports a GraphML file into a troupe database folder in
// OrientDB's graph layout (src/graph/import.hpp).
//
//   troupe-import --db DIR [--batch N] FILE.graphml
//   troupe-import --help
//
// Exit status: 0 imported; 2 bad arguments or bad input (the file cannot be
// read or is not valid GraphML, or its names do not fit the layout); 1 the
// database could not be opened or written.
#include <iostream>
#include <optional>
#include <string>

#include "src/graph/graphml.hpp"
#include "src/graph/import.hpp"
#include "src/storage/database.hpp"
#include "src/util/strings.hpp"

namespace fs = std::filesystem;
using namespace troupe;

namespace {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1;
constexpr int exit_bad_input = 2;

constexpr const char* usage =
    "usage: troupe-import --db DIR [--batch N] FILE.graphml\n"
    "       troupe-import --help\n"
    "\n"
    "Imports a GraphML graph into the troupe database in DIR (created if missing),\n"
    "in OrientDB's layout: vertices are documents of class V with a 'type' field\n"
    "(the label), edges documents of a subclass of E named after the edge label in\n"
    "snake_case, linked through out/in and out_<class>/in_<class> fields.\n"
    "\n"
    "  --db DIR     the database folder\n"
    "  --batch N    operations per write batch (default 1000)\n"
    "  --help       this text\n"
    "\n"
    "Exit status: 0 imported, 2 bad arguments or input, 1 storage failure.\n";

}  // namespace

int main(int argc, char** argv) {
  std::optional<fs::path> db_dir;
  std::optional<fs::path> file;
  import_options opts;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return exit_ok;
    }
    if (a == "--db" || a == "--batch") {
      if (i + 1 >= argc) {
        std::cerr << "troupe-import: " << a << " needs a value\n" << usage;
        return exit_bad_input;
      }
      std::string v = argv[++i];
      if (a == "--db") {
        db_dir = v;
      } else {
        auto n = parse_int(v, 1, static_cast<int64_t>(import_batch_ops_max));
        if (!n) {
          std::cerr << "troupe-import: --batch must be a whole number in 1.." << import_batch_ops_max << ", not '"
                    << v << "'\n";
          return exit_bad_input;
        }
        opts.batch_ops = static_cast<size_t>(*n);
      }
    } else if (a.starts_with("-") && a != "-") {
      std::cerr << "troupe-import: unknown option '" << a << "'\n" << usage;
      return exit_bad_input;
    } else if (file) {
      std::cerr << "troupe-import: one GraphML file at a time ('" << file->string() << "' and '" << a << "')\n";
      return exit_bad_input;
    } else {
      file = a;
    }
  }
  if (!db_dir || db_dir->empty()) {
    std::cerr << "troupe-import: --db DIR is required\n" << usage;
    return exit_bad_input;
  }
  if (!file) {
    std::cerr << "troupe-import: no GraphML file given\n" << usage;
    return exit_bad_input;
  }

  auto g = load_graphml(*file);
  if (!g) {
    std::cerr << "troupe-import: " << g.error().render() << "\n";
    return exit_bad_input;
  }
  opts.source_name = file->string();
  if (auto s = validate_for_import(*g, opts); !s) {
    std::cerr << "troupe-import: " << s.error().render() << "\n";
    return exit_bad_input;
  }
  auto db = storage::database::open(*db_dir);
  if (!db) {
    std::cerr << "troupe-import: cannot open the database: " << db.error().render() << "\n";
    return exit_failed;
  }
  auto stats = import_graph(**db, *g, opts);
  if (!stats) {
    std::cerr << "troupe-import: import failed: " << stats.error().render() << "\n";
    return exit_failed;
  }
  std::cout << "imported " << stats->vertices << " vertices and " << stats->edges << " edges into "
            << db_dir->string() << " in " << stats->elapsed.count() << " ms\n";
  for (const auto& [cls, n] : stats->edges_by_class) std::cout << "  " << cls << ": " << n << " edges\n";
  return exit_ok;
}
