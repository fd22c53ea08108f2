// src/cluster/deploy_plan: which databases a node asks for, from whom, and when.
#include <doctest/doctest.h>

#include "src/cluster/deploy_plan.hpp"

using namespace troupe;

namespace {

member_info holder(const std::string& name, const char* status = db_online, const char* node_status = node_online) {
  member_info m;
  m.name = name;
  m.status = node_status;
  m.databases = {"demo"};
  m.db_status["demo"] = status;
  return m;
}

}  // namespace

TEST_CASE("deploy_backoff_ms: 500 ms doubling per failure, capped") {
  CHECK(deploy_backoff_ms(0) == 500);
  CHECK(deploy_backoff_ms(1) == 1000);
  CHECK(deploy_backoff_ms(5) == 16'000);
  CHECK(deploy_backoff_ms(6) == deploy_backoff_max_ms);
  CHECK(deploy_backoff_ms(1000) == deploy_backoff_max_ms);  // no overflow
  CHECK(deploy_backoff_ms(-3) == 500);
}

TEST_CASE("deploy_source: the first member in join order that can send it now") {
  cluster_view v;
  v.members = {holder("me"), holder("syncing", db_synchronizing), holder("leaving", db_online, node_shutting_down),
               holder("far"), holder("good"), holder("later")};
  std::set<std::string> connected{"me", "syncing", "leaving", "good", "later"};  // "far" is not connected
  CHECK(deploy_source(v, "me", connected, "demo") == "good");
  CHECK(deploy_source(v, "me", {}, "demo").empty());
  CHECK(deploy_source(v, "me", connected, "other").empty());
}

TEST_CASE("plan_deploys: what this node lacks, one transfer per database, after the back-off") {
  cluster_view v;
  v.members = {holder("me"), holder("src")};
  auto cfg = [](bool auto_deploy) {
    db_config c;
    c.auto_deploy = auto_deploy;
    return c;
  };
  std::map<std::string, db_config> configs{{"demo", cfg(true)}, {"manual", cfg(false)}};
  std::map<std::string, deploy_retry> retries;
  deploy_inputs in;
  in.configs = &configs;
  in.view = &v;
  in.me = "me";
  in.connected = {"src"};
  in.retries = &retries;
  in.now_ms = 1000;
  using plan = std::vector<std::pair<std::string, std::string>>;
  CHECK(plan_deploys(in) == plan{{"demo", "src"}});  // "manual" has no autoDeploy
  SUBCASE("already open, being received, or a folder that is not open: not asked for") {
    in.open = {"demo"};
    CHECK(plan_deploys(in).empty());
    in.open.clear();
    in.deploying = {"demo"};
    CHECK(plan_deploys(in).empty());
    in.deploying.clear();
    in.on_disk = {"demo"};
    CHECK(plan_deploys(in).empty());
  }
  SUBCASE("after a failure, not before its back-off") {
    retries["demo"] = deploy_retry{1, 1500};
    CHECK(plan_deploys(in).empty());
    in.now_ms = 1500;
    CHECK(plan_deploys(in) == plan{{"demo", "src"}});
  }
  SUBCASE("not while leaving") {
    in.leaving = true;
    CHECK(plan_deploys(in).empty());
  }
}

TEST_CASE("deploy_book: attempts, late answers, back-off, a lost source, redeploys") {
  deploy_book b;
  auto a1 = b.begin("demo", "n2", false);
  CHECK_FALSE(b.may_redeploy("demo", 0));  // one transfer per database
  CHECK(b.from("n2") == std::vector<std::pair<std::string, uint64_t>>{{"demo", a1}});
  CHECK(b.from("n3").empty());

  // It fails: back off 1 s (500 ms << 1 failure), then 2 s after the next one.
  auto f = b.failed("demo", a1, 1000);
  REQUIRE(f);
  CHECK(f->source == "n2");
  CHECK(f->retry_in_ms == 1000);
  CHECK(b.retries().at("demo").not_before_ms == 2000);
  CHECK_FALSE(b.failed("demo", a1, 1100));  // the same attempt again (a late answer): nothing
  CHECK_FALSE(b.may_redeploy("demo", 1999));
  CHECK(b.may_redeploy("demo", 2000));

  auto a2 = b.begin("demo", "n3", true);
  CHECK(a2 != a1);
  CHECK_FALSE(b.done("demo", a1));  // an older attempt's success changes nothing
  CHECK(b.attempts().count("demo"));
  auto f2 = b.failed("demo", a2, 2000);
  REQUIRE(f2);
  CHECK(f2->replace);
  CHECK(f2->retry_in_ms == 2000);

  // Success forgets the failures.
  auto a3 = b.begin("demo", "n3", false);
  CHECK(b.done("demo", a3));
  CHECK(b.retries().empty());
  CHECK(b.attempts().empty());
  CHECK(b.may_redeploy("demo", 0));

  // Two databases from one source: both named when it is lost.
  auto x = b.begin("x", "n4", false), y = b.begin("y", "n4", false);
  b.begin("z", "n5", false);
  CHECK(b.from("n4") == std::vector<std::pair<std::string, uint64_t>>{{"x", x}, {"y", y}});
}
