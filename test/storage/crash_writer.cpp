// crash_writer <db-dir> <seed>: a process for the crash test to SIGKILL. It
// opens the database with sync=true and applies random batches of creates and
// updates in a loop; after each apply() returns it prints one ACK line per op
// (see crash_format.hpp) and flushes, so every printed line is an op the
// database acknowledged as durable.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/storage/crash_format.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;

namespace {

// The writer normally dies by SIGKILL long before these bounds.
constexpr int64_t ops_max = 200'000;
constexpr int64_t batch_ops_random_max = 16;
constexpr int64_t pad_chars_max = 300;

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_writer <db-dir> <seed>\n");
    return 2;
  }
  auto seed = troupe::parse_int(argv[2], 0, INT64_MAX);
  if (!seed) {
    std::fprintf(stderr, "crash_writer: bad seed\n");
    return 2;
  }
  open_options opts;
  opts.sync = true;
  auto opened = database::open(argv[1], opts);
  if (!opened) {
    std::fprintf(stderr, "crash_writer: %s\n", opened.error().render().c_str());
    return 2;
  }
  auto& db = *opened.value();
  std::mt19937_64 rng(static_cast<uint64_t>(*seed));
  auto below = [&](int64_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(rng); };

  std::printf("READY\n");
  std::fflush(stdout);

  std::map<rid, int64_t> versions;  // records this run made, with their versions
  std::vector<rid> mine;
  int64_t acked = 0, made = 0;
  while (acked < ops_max) {
    std::vector<op> ops;
    int64_t n = 1 + below(batch_ops_random_max);
    for (int64_t i = 0; i < n; ++i) {
      std::string pad(static_cast<size_t>(below(pad_chars_max)), 'a');
      for (auto& c : pad) c = static_cast<char>('a' + below(26));
      op o;
      int64_t version = 1;
      if (!mine.empty() && below(100) < 40) {
        o.k = op::kind::update;
        o.id = mine[static_cast<size_t>(below(static_cast<int64_t>(mine.size())))];
        version = versions[o.id] + 1;
        // Two updates of one record in a batch: the later one sees the earlier.
        versions[o.id] = version;
      } else {
        o.k = op::kind::create;
        o.class_name = crash_class;
      }
      o.fields = troupe::cat("{\"k\":\"", *seed, '-', made++, "\",\"v\":", version, ",\"pad\":\"", pad,
                             "\",\"sum\":\"", hex64(fnv1a(pad)), "\"}");
      ops.push_back(std::move(o));
    }
    auto results = db.apply(ops);
    std::string out;
    for (auto& r : results) {
      if (r.code != errc::ok) {
        std::fprintf(stderr, "crash_writer: op failed: %s %s\n", to_string(r.code), r.message.c_str());
        return 1;
      }
      if (versions.emplace(r.rec.id, r.rec.version).second) mine.push_back(r.rec.id);
      out += troupe::cat("ACK ", ++acked, ' ', r.rec.id.to_string(), " v", r.rec.version, ' ',
                         hex64(fnv1a(r.rec.fields)), '\n');
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }
  std::printf("DONE\n");
  return 0;
}
