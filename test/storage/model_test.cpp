// Model-based test: seeded random batches of creates, updates, removes and
// class creations (many of them meant to fail) are applied both to a database
// and to a plain in-memory model; every result, read and the change log must
// agree, across closes and reopens at random points.
//
// A failure prints the seed; TROUPE_SEED=<n> replays just that seed.
#include <doctest/doctest.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <random>

#include "src/storage/database.hpp"
#include "src/util/strings.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe::storage;
using namespace troupe::storage::testing;
using troupe::cat;
using troupe::test::temp_dir;

namespace {

constexpr uint64_t ci_seeds[] = {1, 2, 3, 42, 20240601};
constexpr int ops_per_seed = 600;
constexpr int batch_ops_random_max = 12;
constexpr int reopen_one_in = 12;  // chance per batch of a close and reopen

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The model: what the database should hold, kept with plain containers and
// the rules of database.hpp written out independently.
struct model {
  struct rec {
    int64_t version;
    std::string cls;
    std::string fields;
  };
  std::map<rid, rec> records;
  std::map<int32_t, cluster_info> clusters;
  std::map<std::string, class_info> classes;  // by lower-case name
  std::vector<log_entry> log;

  model() {
    int32_t id = 0;
    for (const char* n : {"internal", "index", "default", "v", "e"}) {
      clusters[id] = cluster_info{id, n, 0, 0};
      ++id;
    }
    classes["v"] = class_info{"V", "", 3};
    classes["e"] = class_info{"E", "", 4};
  }

  const class_info* cls(const std::string& name) const {
    auto it = classes.find(lower(name));
    return it == classes.end() ? nullptr : &it->second;
  }
  bool cluster_name_taken(const std::string& name) const {
    for (auto& [id, c] : clusters)
      if (c.name == name) return true;
    return false;
  }

  op_result fail(errc e) {
    op_result r;
    r.code = e;
    return r;
  }

  op_result ok(op applied, record rec) {
    op_result r;
    r.lsn = log.size() + 1;
    r.rec = std::move(rec);
    log.push_back(log_entry{r.lsn, std::move(applied)});
    return r;
  }

  // `canonical` is the fields text the database must store, nullopt if the
  // op's fields are invalid.
  op_result apply(const op& o, const std::optional<std::string>& canonical) {
    switch (o.k) {
      case op::kind::create: {
        if (!canonical) return fail(errc::invalid_argument);
        bool explicit_rid = o.id.cluster != -1;
        if (explicit_rid && (o.id.cluster < 0 || o.id.cluster > 32767 || o.id.position < 0 ||
                             o.id.position == INT64_MAX))
          return fail(errc::invalid_argument);
        auto* k = cls(o.class_name);
        if (k == nullptr) return fail(errc::not_found);
        rid id;
        if (explicit_rid) {
          if (clusters.count(o.id.cluster) == 0) return fail(errc::not_found);
          if (records.count(o.id) != 0) return fail(errc::already_exists);
          id = o.id;
        } else {
          id = rid{k->default_cluster, clusters[k->default_cluster].next_position};
        }
        auto& c = clusters[id.cluster];
        c.records++;
        c.next_position = std::max(c.next_position, id.position + 1);
        records[id] = rec{1, k->name, *canonical};
        return ok(op{op::kind::create, k->name, "", id, 1, *canonical}, record{id, 1, k->name, *canonical});
      }
      case op::kind::update: {
        if (!canonical) return fail(errc::invalid_argument);
        if (o.id.cluster < 0 || o.id.position < 0) return fail(errc::invalid_argument);
        auto it = records.find(o.id);
        if (it == records.end()) return fail(errc::not_found);
        if (o.expected_version != -1 && o.expected_version != it->second.version) return fail(errc::version_conflict);
        it->second.version++;
        it->second.fields = *canonical;
        auto& r = it->second;
        return ok(op{op::kind::update, r.cls, "", o.id, r.version, r.fields}, record{o.id, r.version, r.cls, r.fields});
      }
      case op::kind::remove: {
        if (o.id.cluster < 0 || o.id.position < 0) return fail(errc::invalid_argument);
        auto it = records.find(o.id);
        if (it == records.end()) return fail(errc::not_found);
        if (o.expected_version != -1 && o.expected_version != it->second.version) return fail(errc::version_conflict);
        auto r = it->second;
        records.erase(it);
        clusters[o.id.cluster].records--;
        return ok(op{op::kind::remove, r.cls, "", o.id, r.version, ""}, record{o.id, r.version, r.cls, ""});
      }
      case op::kind::create_class: {
        bool good = !o.class_name.empty() && o.class_name.size() <= 128;
        for (char ch : o.class_name) good = good && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_');
        if (!good) return fail(errc::invalid_argument);
        if (cls(o.class_name) != nullptr) return fail(errc::already_exists);
        std::string super;
        if (!o.superclass.empty()) {
          auto* s = cls(o.superclass);
          if (s == nullptr) return fail(errc::invalid_argument);
          super = s->name;
        }
        int32_t id = clusters.rbegin()->first + 1;
        std::string name = lower(o.class_name);
        for (int n = 2; cluster_name_taken(name); ++n) name = lower(o.class_name) + "_" + std::to_string(n);
        clusters[id] = cluster_info{id, name, 0, 0};
        classes[lower(o.class_name)] = class_info{o.class_name, super, id};
        return ok(op{op::kind::create_class, o.class_name, super, rid{id, -1}, -1, ""},
                  record{rid{id, -1}, 0, o.class_name, ""});
      }
      // The generator makes none of these: index_test.cpp models them.
      case op::kind::create_index:
      case op::kind::drop_index:
      case op::kind::create_property:
      case op::kind::drop_class:
      case op::kind::statement:
        break;
    }
    return fail(errc::invalid_argument);
  }
};

// Random operations and the canonical text the database should store.
struct generator {
  std::mt19937_64 rng;
  explicit generator(uint64_t seed) : rng(seed) {}

  int64_t below(int64_t n) { return std::uniform_int_distribution<int64_t>(0, n - 1)(rng); }
  bool chance(int percent) { return below(100) < percent; }
  std::string spaces() { return std::string(static_cast<size_t>(below(3)), ' '); }

  // A JSON object text with random spacing, and its canonical form without
  // '@' keys. Keys are distinct and appear in a fixed order.
  std::pair<std::string, std::optional<std::string>> fields() {
    static const char* bad[] = {"", "[1]", "\"s\"", "7", "{", "{\"a\":}", "{\"a\":1", "nope", "{\"a\":1,}"};
    if (chance(8)) return {bad[below(std::size(bad))], std::nullopt};
    std::string in = "{", canon = "{";
    bool first_in = true, first_canon = true;
    for (const char* key : {"@class", "a", "b", "@version", "c"}) {
      if (!chance(55)) continue;
      std::string value;
      switch (below(3)) {
        case 0: value = std::to_string(below(100000)); break;
        case 1: value = "\"s" + std::to_string(below(1000)) + "\""; break;
        default: value = "{\"x\":" + std::to_string(below(10)) + "}"; break;
      }
      in += (first_in ? "" : ",") + spaces() + "\"" + key + "\"" + spaces() + ":" + spaces() + value + spaces();
      first_in = false;
      if (key[0] != '@') {
        canon += std::string(first_canon ? "" : ",") + "\"" + key + "\":" + value;
        first_canon = false;
      }
    }
    return {in + "}", canon + "}"};
  }

  template <class Map>
  auto pick(const Map& m) {
    auto it = m.begin();
    std::advance(it, below(static_cast<int64_t>(m.size())));
    return it;
  }

  rid some_rid(const model& m) {
    if (!m.records.empty() && chance(80)) return pick(m.records)->first;
    auto c = pick(m.clusters);
    return rid{c->first, below(c->second.next_position + 3)};
  }

  int64_t version_for(const model& m, rid id) {
    auto it = m.records.find(id);
    int64_t actual = it == m.records.end() ? 1 : it->second.version;
    switch (below(5)) {
      case 0:
      case 1: return -1;
      case 2:
      case 3: return actual;
      default: return actual + 1 + below(2);
    }
  }

  std::string class_name(const model& m) {
    static const char* pool[] = {"Person", "City", "Car", "Likes", "Owns", "Road", "person", "CITY"};
    if (chance(5)) return "bad name";
    if (chance(40)) return pick(m.classes)->second.name;
    return pool[below(std::size(pool))];
  }

  // One operation and the canonical fields the model should expect.
  std::pair<op, std::optional<std::string>> next(const model& m) {
    auto roll = below(100);
    if (roll < 35) {
      auto [in, canon] = fields();
      op o = create_op(chance(90) ? pick(m.classes)->second.name : "Ghost", in);
      if (chance(12)) {
        auto c = pick(m.clusters);
        o.id = chance(30) && !m.records.empty() ? pick(m.records)->first
                                                : rid{c->first, c->second.next_position + below(4)};
        if (chance(10)) o.id = rid{c->first + 100, 0};  // no such cluster
      }
      return {o, canon};
    }
    if (roll < 65) {
      auto [in, canon] = fields();
      rid id = some_rid(m);
      return {update_op(id, in, version_for(m, id)), canon};
    }
    if (roll < 85) {
      rid id = some_rid(m);
      return {remove_op(id, version_for(m, id)), std::nullopt};
    }
    std::string super;
    if (chance(50)) super = chance(90) ? pick(m.classes)->second.name : "Unknown";
    return {class_op(class_name(m), super), std::nullopt};
  }
};

void check_result(const op& o, const op_result& got, const op_result& want) {
  CAPTURE(static_cast<int>(o.k));
  CAPTURE(got.message);
  REQUIRE(to_string(got.code) == std::string(to_string(want.code)));
  if (want.code != errc::ok) {
    REQUIRE(got.lsn == 0);
    return;
  }
  REQUIRE(got.lsn == want.lsn);
  REQUIRE(got.rec.id == want.rec.id);
  REQUIRE(got.rec.class_name == want.rec.class_name);
  if (o.k == op::kind::create || o.k == op::kind::update) {
    REQUIRE(got.rec.version == want.rec.version);
    REQUIRE(got.rec.fields == want.rec.fields);
  }
}

void check_log_entry(const log_entry& got, const log_entry& want) {
  REQUIRE(got.lsn == want.lsn);
  REQUIRE(got.applied.k == want.applied.k);
  REQUIRE(got.applied.id == want.applied.id);
  REQUIRE(got.applied.class_name == want.applied.class_name);
  REQUIRE(got.applied.superclass == want.applied.superclass);
  REQUIRE(got.applied.expected_version == want.applied.expected_version);
  REQUIRE(got.applied.fields == want.applied.fields);
}

// Random reads compared with the model.
void check_reads(const database& db, const model& m, generator& g) {
  REQUIRE(db.last_lsn() == m.log.size());
  auto clusters = db.clusters();
  REQUIRE(clusters.size() == m.clusters.size());
  for (auto& c : clusters) {
    auto& want = m.clusters.at(c.id);
    REQUIRE(c.name == want.name);
    REQUIRE(c.records == want.records);
    REQUIRE(c.next_position == want.next_position);
  }
  auto classes = db.classes();
  REQUIRE(classes.size() == m.classes.size());
  for (auto& k : classes) {
    auto* want = m.cls(k.name);
    REQUIRE(want != nullptr);
    REQUIRE(k.name == want->name);
    REQUIRE(k.superclass == want->superclass);
    REQUIRE(k.default_cluster == want->default_cluster);
  }
  for (int i = 0; i < 5; ++i) {
    rid id = g.some_rid(m);
    auto got = db.find(id);
    auto it = m.records.find(id);
    REQUIRE(got.has_value() == (it != m.records.end()));
    if (got) {
      REQUIRE(got->version == it->second.version);
      REQUIRE(got->class_name == it->second.cls);
      REQUIRE(got->fields == it->second.fields);
    }
  }
  auto c = g.pick(m.clusters)->second;
  int64_t from = g.below(c.next_position + 1);
  size_t limit = static_cast<size_t>(1 + g.below(30));
  auto page = db.browse_cluster(c.id, from, limit);
  std::vector<rid> want;
  for (auto it = m.records.lower_bound(rid{c.id, from}); it != m.records.end() && it->first.cluster == c.id &&
                                                         want.size() < limit;
       ++it)
    want.push_back(it->first);
  REQUIRE(page.size() == want.size());
  for (size_t i = 0; i < page.size(); ++i) REQUIRE(page[i].id == want[i]);

  uint64_t after = static_cast<uint64_t>(g.below(static_cast<int64_t>(m.log.size()) + 2));
  size_t log_limit = static_cast<size_t>(1 + g.below(20));
  auto log = db.log_since(after, log_limit);
  size_t expect = after >= m.log.size() ? 0 : std::min(log_limit, m.log.size() - after);
  REQUIRE(log.size() == expect);
  for (size_t i = 0; i < log.size(); ++i) check_log_entry(log[i], m.log[after + i]);
}

void run_seed(uint64_t seed) {
  INFO("seed=" << seed << " (replay with TROUPE_SEED=" << seed << ")");
  temp_dir t("troupe-model");
  generator g(seed);
  model m;
  auto db = open_db(t / "db");
  int done = 0, failed = 0, reopens = 0;
  for (int batch = 0; done < ops_per_seed; ++batch) {
    CAPTURE(batch);
    std::vector<op> ops;
    std::vector<op_result> want;
    int n = static_cast<int>(1 + g.below(batch_ops_random_max));
    for (int i = 0; i < n; ++i) {
      auto [o, canon] = g.next(m);
      want.push_back(m.apply(o, canon));
      ops.push_back(std::move(o));
    }
    auto got = db->apply(ops);
    REQUIRE(got.size() == ops.size());
    for (size_t i = 0; i < ops.size(); ++i) {
      CAPTURE(i);
      check_result(ops[i], got[i], want[i]);
      if (want[i].code != errc::ok) ++failed;
    }
    done += n;
    check_reads(*db, m, g);
    if (g.below(reopen_one_in) == 0) {
      db.reset();
      db = open_db(t / "db");
      ++reopens;
      auto st = db->check();
      REQUIRE_MESSAGE(st.ok(), st.error().render());
      check_reads(*db, m, g);
    }
  }
  // End-of-run invariants: the whole log and every record.
  auto st = db->check();
  REQUIRE_MESSAGE(st.ok(), st.error().render());
  auto log = db->log_since(0, log_entries_max);
  REQUIRE(log.size() == m.log.size());
  for (size_t i = 0; i < log.size(); ++i) check_log_entry(log[i], m.log[i]);
  size_t records = 0;
  for (auto& c : db->clusters()) records += db->browse_cluster(c.id, browse_records_max).size();
  REQUIRE(records == m.records.size());
  // The run must have exercised failures, reopens and class creation.
  CHECK(failed > ops_per_seed / 20);
  CHECK(reopens > 0);
  CHECK(m.classes.size() > 2);
  MESSAGE("seed=" << seed << " ops=" << done << " failed=" << failed << " reopens=" << reopens
                  << " records=" << m.records.size() << " classes=" << m.classes.size());
}

}  // namespace

TEST_CASE("storage: model: random batches agree with an in-memory model, across reopens") {
  if (const char* s = std::getenv("TROUPE_SEED")) {
    auto seed = troupe::parse_int(s, 0, INT64_MAX);
    REQUIRE_MESSAGE(seed.has_value(), "TROUPE_SEED must be a non-negative integer");
    run_seed(static_cast<uint64_t>(*seed));
    return;
  }
  for (uint64_t seed : ci_seeds) run_seed(seed);
}
