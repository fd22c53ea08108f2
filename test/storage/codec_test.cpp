// The on-disk encodings: keys sort in the order the layout relies on, values
// round-trip, and every truncation of a value is refused rather than misread.
#include <doctest/doctest.h>

#include "src/storage/codec.hpp"

using namespace troupe::storage;

TEST_CASE("storage: codec: record keys sort by cluster, then position") {
  CHECK(codec::record_key({2, 255}) < codec::record_key({2, 256}));
  CHECK(codec::record_key({2, INT64_MAX}) < codec::record_key({3, 0}));
  CHECK(codec::record_key({255, 0}) < codec::record_key({256, 0}));
  CHECK(codec::record_key({9, 1000}) < codec::record_key_upper(9));
  CHECK(codec::record_key_upper(9) <= codec::record_key({10, 0}));
  CHECK(codec::parse_record_key(codec::record_key({32767, 42})) == rid{32767, 42});
  CHECK_FALSE(codec::parse_record_key("R12").has_value());
}

TEST_CASE("storage: codec: log keys sort by LSN") {
  CHECK(codec::log_key(255) < codec::log_key(256));
  CHECK(codec::log_key(1) < codec::log_key(UINT64_MAX));
  CHECK(codec::parse_log_key(codec::log_key(70000)) == 70000u);
  CHECK(codec::log_key(UINT64_MAX) < codec::prefix_end(codec::prefix_log));
}

TEST_CASE("storage: codec: values round-trip and truncations are refused") {
  record r{{9, 3}, 7, "Person", R"({"name":"ann"})"};
  auto rv = codec::encode_record(r);
  auto r2 = codec::decode_record(r.id, rv);
  REQUIRE(r2);
  CHECK(r2->version == 7);
  CHECK(r2->class_name == "Person");
  CHECK(r2->fields == r.fields);

  cluster_info c{9, "person", 4, 12};
  auto c2 = codec::decode_cluster(9, codec::encode_cluster(c));
  REQUIRE(c2);
  CHECK(c2->name == "person");
  CHECK(c2->records == 4);
  CHECK(c2->next_position == 12);

  class_info k{"Person", "V", 9};
  auto k2 = codec::decode_class(codec::encode_class(k));
  REQUIRE(k2);
  CHECK(k2->name == "Person");
  CHECK(k2->superclass == "V");
  CHECK(k2->default_cluster == 9);

  log_entry e{5, op{op::kind::create_class, "Person", "V", rid{9, -1}, -1, ""}};
  auto ev = codec::encode_log(e);
  auto e2 = codec::decode_log(5, ev);
  REQUIRE(e2);
  CHECK(e2->applied.k == op::kind::create_class);
  CHECK(e2->applied.id == rid{9, -1});
  CHECK(e2->applied.expected_version == -1);
  CHECK(e2->applied.superclass == "V");

  // Cutting a value anywhere inside its fixed part must be detected. (Cuts in
  // the trailing free-length string are undetectable by design, which is why
  // check() also re-parses record fields.)
  for (size_t n = 0; n < 1 + 8 + 1 + r.class_name.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(codec::decode_record(r.id, rv.substr(0, n)).has_value());
  }
  for (size_t n = 0; n < 1 + 1 + 2 + 8 + 8 + 1 + 6 + 1; ++n) {
    CAPTURE(n);
    CHECK_FALSE(codec::decode_log(5, ev.substr(0, n)).has_value());
  }
  // An unknown format byte is refused.
  rv[0] = 2;
  CHECK_FALSE(codec::decode_record(r.id, rv).has_value());
}

TEST_CASE("storage: codec: index and property definitions round-trip; cuts in their fixed part are refused") {
  codec::index_def d{70000, index_info{"Person.full", "Person", {"first", "last"}, true}};
  auto dv = codec::encode_index(d);
  auto d2 = codec::decode_index(dv);
  REQUIRE(d2);
  CHECK(d2->id == 70000u);
  CHECK(d2->info.name == "Person.full");
  CHECK(d2->info.class_name == "Person");
  CHECK(d2->info.fields == std::vector<std::string>{"first", "last"});
  CHECK(d2->info.unique);
  // format, id, unique, count, two fields, class: a cut anywhere there is refused.
  for (size_t n = 0; n < 1 + 4 + 1 + 1 + 6 + 5 + 1 + 6 + 1; ++n) {
    CAPTURE(n);
    CHECK_FALSE(codec::decode_index(dv.substr(0, n)).has_value());
  }
  CHECK(codec::index_meta_key("Person.FULL") == "Mindex/person.full");

  property_info p{"Person", "age", "INTEGER"};
  auto pv = codec::encode_property(p);
  auto p2 = codec::decode_property(pv);
  REQUIRE(p2);
  CHECK(p2->class_name == "Person");
  CHECK(p2->name == "age");
  CHECK(p2->type == "INTEGER");
  for (size_t n = 0; n < 1 + 7 + 4 + 1; ++n) CHECK_FALSE(codec::decode_property(pv.substr(0, n)).has_value());
  CHECK(codec::property_meta_key("Person", "Age") == "Mprop/person/age");

  // Index entry keys: the id prefix bounds an index's entries.
  auto prefix = codec::index_prefix(7);
  CHECK(prefix < codec::index_prefix(8));
  CHECK(codec::prefix_successor(prefix) == codec::index_prefix(8));
  CHECK(codec::prefix_successor(std::string("I\x01\xff\xff", 4)) == std::string("I\x02", 2));
  CHECK(codec::decode_rid(codec::encode_rid({32767, INT64_MAX})) == rid{32767, INT64_MAX});
  CHECK_FALSE(codec::decode_rid("short").has_value());

  // Schema ops travel in the log and in staged entries; unknown kinds do not.
  log_entry e{3, op{op::kind::drop_class, "Person", "", rid{9, -1}, -1, ""}};
  auto ev = codec::encode_log(e);
  REQUIRE(codec::decode_log(3, ev));
  CHECK(codec::decode_log(3, ev)->applied.k == op::kind::drop_class);
  ev[1] = 9;
  CHECK_FALSE(codec::decode_log(3, ev).has_value());
}
