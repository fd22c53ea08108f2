// Test data for deploys: documents that RocksDB's own compression cannot
// shrink to nothing, so that a database spans several 1 MiB chunks.
#pragma once

#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "actors/node.hpp"
#include "src/storage/database.hpp"
#include "src/util/strings.hpp"

namespace troupe::test {

// Writes `n` documents of about 1 KiB (class V, {"n":i,"text":...}) into the
// database at `dir`, their letters from a fixed pseudo-random sequence.
inline void fill_documents(const std::filesystem::path& dir, int n, uint64_t seed) {
  auto db = storage::database::open(dir);
  REQUIRE(db.ok());
  std::vector<storage::op> ops;
  for (int i = 0; i < n; ++i) {
    std::string text(1000, 'a');
    for (auto& ch : text)
      ch = static_cast<char>('a' + (seed = seed * 6364136223846793005ull + 1442695040888963407ull) % 26);
    storage::op o;
    o.k = storage::op::kind::create;
    o.class_name = "V";
    o.fields = cat(R"({"n":)", i, R"(,"text":")", text, R"("})");
    ops.push_back(std::move(o));
  }
  if (!ops.empty())
    for (auto& r : (*db)->apply(ops)) REQUIRE(r.code == storage::errc::ok);
}

// True while `n` receives a database and some, not all, of it has arrived.
inline bool receiving_midway(const node& n) {
  for (auto& p : n.deploys())
    if (!p.outgoing && p.phase == "transfer" && p.bytes_done > 0 && p.bytes_done < p.bytes_total) return true;
  return false;
}

}  // namespace troupe::test
