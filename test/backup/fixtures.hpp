// Shared by the backup tests: a database with classes, properties, indexes,
// links and removed records, and comparisons of two databases.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "test/storage/helpers.hpp"

namespace troupe::backup::testing {

using namespace troupe::storage::testing;

// Person(V) with name STRING and age INTEGER, a UNIQUE index on name and a
// composite NOTUNIQUE one; Employee(Person); Knows(E) edges linking persons;
// `people` persons, every third updated, every seventh removed.
inline void fill(storage::database& db, int people = 300) {
  auto must = [](const std::vector<storage::op_result>& rs) {
    for (auto& r : rs) REQUIRE_MESSAGE(r.code == storage::errc::ok, r.message);
  };
  must(db.apply({class_op("Person", "V"), class_op("Employee", "Person"), class_op("Knows", "E"),
                 property_op("Person", "name", "STRING"), property_op("Person", "age", "INTEGER"),
                 property_op("Employee", "salary", "LONG")}));
  must(db.apply({index_op("Person", "Person.name", {"name"}, true),
                 index_op("Person", "Person.age_city", {"age", "city"}, false)}));
  std::vector<storage::op> ops;
  for (int i = 0; i < people; ++i) {
    std::string cls = i % 5 == 0 ? "Employee" : "Person";
    std::string extra = cls == "Employee" ? ",\"salary\":" + std::to_string(1000 + i) : "";
    ops.push_back(create_op(cls, "{\"name\":\"p" + std::to_string(i) + "\",\"age\":" + std::to_string(20 + i % 50) +
                                     ",\"city\":\"c" + std::to_string(i % 7) + "\",\"bio\":\"" +
                                     std::string(100 + i % 300, 'x') + "\"" + extra + "}"));
  }
  auto created = db.apply(ops);
  must(created);
  ops.clear();
  for (size_t i = 1; i < created.size(); i += 2)
    ops.push_back(create_op("Knows", "{\"out\":\"" + created[i - 1].rec.id.to_string() + "\",\"in\":\"" +
                                         created[i].rec.id.to_string() + "\",\"since\":" + std::to_string(i) + "}"));
  must(db.apply(ops));
  ops.clear();
  for (size_t i = 0; i < created.size(); i += 3)
    ops.push_back(update_op(created[i].rec.id, "{\"name\":\"p" + std::to_string(i) + "\",\"age\":99,\"updated\":true}"));
  for (size_t i = 1; i < created.size(); i += 7) ops.push_back(remove_op(created[i].rec.id));
  must(db.apply(ops));
}

inline std::vector<storage::record> all_records(const storage::database& db) {
  std::vector<storage::record> out;
  for (auto& c : db.clusters()) {
    int64_t from = 0;
    for (;;) {
      auto page = db.browse_cluster(c.id, from, storage::browse_records_max);
      out.insert(out.end(), page.begin(), page.end());
      if (page.size() < storage::browse_records_max) break;
      from = page.back().id.position + 1;
    }
  }
  return out;
}

inline bool security_class(std::string_view n) { return n == "OUser" || n == "ORole" || n == "OIdentity"; }

// Same classes, properties, indexes and records (with versions if `versions`);
// with `skip_security`, OUser/ORole and their records and indexes are left out
// (an import gives a database the default users of its own).
inline void require_same(const storage::database& a, const storage::database& b, bool versions,
                         bool skip_security = false) {
  auto drop = [&](auto v, auto name_of) {
    if (skip_security) std::erase_if(v, [&](auto& x) { return security_class(name_of(x)); });
    return v;
  };
  auto by_name = [](auto& x) -> std::string_view { return x.name; };
  auto by_class = [](auto& x) -> std::string_view { return x.class_name; };
  auto ca = drop(a.classes(), by_name), cb = drop(b.classes(), by_name);
  REQUIRE(ca.size() == cb.size());
  for (size_t i = 0; i < ca.size(); ++i) {
    CHECK(ca[i].name == cb[i].name);
    CHECK(ca[i].superclass == cb[i].superclass);
    CHECK(ca[i].default_cluster == cb[i].default_cluster);
    auto pa = a.properties(ca[i].name), pb = b.properties(cb[i].name);
    REQUIRE(pa.size() == pb.size());
    for (size_t j = 0; j < pa.size(); ++j) {
      CHECK(pa[j].name == pb[j].name);
      CHECK(pa[j].type == pb[j].type);
    }
  }
  auto ia = drop(a.indexes(), by_class), ib = drop(b.indexes(), by_class);
  REQUIRE(ia.size() == ib.size());
  for (size_t i = 0; i < ia.size(); ++i) {
    CHECK(ia[i].name == ib[i].name);
    CHECK(ia[i].class_name == ib[i].class_name);
    CHECK(ia[i].fields == ib[i].fields);
    CHECK(ia[i].unique == ib[i].unique);
  }
  auto ra = drop(all_records(a), by_class), rb = drop(all_records(b), by_class);
  REQUIRE(ra.size() == rb.size());
  for (size_t i = 0; i < ra.size(); ++i) {
    INFO("record " << ra[i].id.to_string());
    CHECK(ra[i].id == rb[i].id);
    CHECK(ra[i].class_name == rb[i].class_name);
    CHECK(ra[i].fields == rb[i].fields);
    if (versions) CHECK(ra[i].version == rb[i].version);
  }
}

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void spit(const std::filesystem::path& p, const std::string& s) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << s;
}

// The fuzz seed: TROUPE_SEED replays one.
inline uint64_t fuzz_seed(uint64_t dflt) {
  if (auto* s = std::getenv("TROUPE_SEED")) return std::strtoull(s, nullptr, 10);
  return dflt;
}

}  // namespace troupe::backup::testing
