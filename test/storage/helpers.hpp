// Shorthands for building operations in the storage tests.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "src/storage/database.hpp"

namespace troupe::storage::testing {

inline op create_op(std::string cls, std::string fields, rid id = {}) {
  op o;
  o.k = op::kind::create;
  o.class_name = std::move(cls);
  o.fields = std::move(fields);
  o.id = id;
  return o;
}

inline op update_op(rid id, std::string fields, int64_t expected_version = -1) {
  op o;
  o.k = op::kind::update;
  o.id = id;
  o.fields = std::move(fields);
  o.expected_version = expected_version;
  return o;
}

inline op remove_op(rid id, int64_t expected_version = -1) {
  op o;
  o.k = op::kind::remove;
  o.id = id;
  o.expected_version = expected_version;
  return o;
}

inline op class_op(std::string name, std::string superclass = "") {
  op o;
  o.k = op::kind::create_class;
  o.class_name = std::move(name);
  o.superclass = std::move(superclass);
  return o;
}

inline op schema_op(op::kind k, std::string cls, std::string fields) {
  op o;
  o.k = k;
  o.class_name = std::move(cls);
  o.fields = std::move(fields);
  return o;
}

// CREATE INDEX <name> ON <cls> (<fields>) UNIQUE|NOTUNIQUE
inline op index_op(std::string cls, std::string name, const std::vector<std::string>& fields, bool unique) {
  std::string f = "[";
  for (size_t i = 0; i < fields.size(); ++i) f += (i == 0 ? "\"" : ",\"") + fields[i] + "\"";
  f += "]";
  return schema_op(op::kind::create_index, std::move(cls),
                   "{\"name\":\"" + name + "\",\"fields\":" + f + ",\"type\":\"" + (unique ? "UNIQUE" : "NOTUNIQUE") +
                       "\"}");
}

inline op drop_index_op(std::string name) { return schema_op(op::kind::drop_index, "", "{\"name\":\"" + name + "\"}"); }

inline op property_op(std::string cls, std::string name, std::string type) {
  return schema_op(op::kind::create_property, std::move(cls), "{\"name\":\"" + name + "\",\"type\":\"" + type + "\"}");
}

inline op drop_class_op(std::string cls) { return schema_op(op::kind::drop_class, std::move(cls), ""); }

// Opens (creating) a database with sync off: the tests that need durability
// say so explicitly.
inline std::unique_ptr<database> open_db(const std::filesystem::path& dir, bool sync = false) {
  open_options o;
  o.sync = sync;
  auto r = database::open(dir, o);
  if (!r) FAIL(r.error().render());
  return std::move(r).value();
}

inline op_result apply_one(database& db, op o) {
  auto r = db.apply({std::move(o)});
  REQUIRE(r.size() == 1);
  return r[0];
}

}  // namespace troupe::storage::testing
