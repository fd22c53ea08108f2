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
