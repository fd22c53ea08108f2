// Benchmark (meson benchmark target, not a test): document create and read
// throughput on one node, over HTTP keep-alive connections and straight to the
// database actor / storage, so the cost of HTTP and of storage can be told apart.
//
// Prints one line per figure:  troupe <workload> <metric> <value> <unit>
//
//   TROUPE_BENCH_DOCS  documents per workload (default 4000)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "actors/database_actor.hpp"
#include "actors/node.hpp"
#include "actors/protocol.hpp"
#include "test/bench/http_load.hpp"
#include "src/util/strings.hpp"
#include "test/support/base64.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace std::chrono;
namespace json = boost::json;

using bench::doc_fields;
using bench::print;
using bench::run_http;
using bench::stats;

int main() {
  int docs = 4000;
  if (const char* e = std::getenv("TROUPE_BENCH_DOCS")) docs = std::max(160, std::atoi(e));
  test::temp_dir home("troupe-bench");

  // --- over HTTP -------------------------------------------------------------
  {
    auto o = test::home_options(home.path(), "bench");
    auto s = prepare_server(o);
    if (!s) {
      std::fprintf(stderr, "bench: %s\n", s.error().render().c_str());
      return 1;
    }
    for (auto& l : s->server.listeners)
      if (l.protocol == "http") l.ports = {24480, 24490};
    logger log("bench", nullptr);
    node_options no{*s, &log};
    no.create_demo = false;
    node n(std::move(no));
    if (auto st = n.start(); !st) {
      std::fprintf(stderr, "bench: %s\n", st.error().render().c_str());
      return 1;
    }
    auto auth = "Authorization: Basic " + test::base64("root:" + *s->generated_root_password) + "\r\n";
    auto port = n.http_port();
    {
      test::test_client c(port);
      c.send(test::make_request("POST", "/database/bench/plocal", {}, auth));
      auto r = c.read_response(seconds(30));
      if (!r || r->status != 200) {
        std::fprintf(stderr, "bench: cannot create the database\n");
        return 1;
      }
    }
    for (int clients : {1, 16}) {
      std::vector<std::vector<std::string>> rids(static_cast<size_t>(clients));
      int per = docs / clients;
      auto create = run_http(
          {port}, clients, {per},
          [&](int c, int i) { return test::make_request("POST", "/document/bench", doc_fields(c * per + i), auth); },
          [&](int c, int, const test::raw_response& r) {
            if (r.status != 201) return false;
            boost::system::error_code ec;
            auto v = json::parse(r.body, ec);
            if (ec) return false;
            rids[static_cast<size_t>(c)].emplace_back(v.at("@rid").as_string());
            return true;
          });
      print(cat("http_create_c", clients), create);
      auto read = run_http(
          {port}, clients, {per},
          [&](int c, int i) {
            auto& mine = rids[static_cast<size_t>(c)];
            auto& rid = mine[static_cast<size_t>(i) % mine.size()];
            return test::make_request("GET", "/document/bench/" + rid.substr(1), {}, auth);
          },
          [](int, int, const test::raw_response& r) { return r.status == 200; });
      print(cat("http_read_c", clients), read);
    }
    n.stop();
  }

  // --- straight to the database actor (writes) and storage (reads) ----------
  {
    auto db = storage::database::open(home / "direct");
    if (!db) {
      std::fprintf(stderr, "bench: %s\n", db.error().render().c_str());
      return 1;
    }
    std::shared_ptr<storage::database> shared = std::move(*db);
    caf::actor_system_config cfg;
    add_message_types(cfg);
    cfg.set("scheduler.max-threads", size_t{2});
    caf::actor_system sys{cfg};
    logger log("bench", nullptr);
    database_options dopts;
    dopts.name = "direct";
    dopts.db = shared;
    dopts.log = &log;
    dopts.node_name = "bench";
    auto writer = spawn_database_actor(sys, dopts);
    std::vector<storage::rid> rids;
    for (int in_flight : {1, 16}) {
      stats st;
      std::vector<steady_clock::time_point> started(static_cast<size_t>(docs));
      auto t0 = steady_clock::now();
      caf::scoped_actor self{sys};
      int sent = 0, done = 0;
      auto send_one = [&] {
        storage::op o;
        o.k = storage::op::kind::create;
        o.class_name = "V";
        auto body = json::parse(doc_fields(sent)).as_object();
        body.erase("@class");
        o.fields = json::serialize(body);
        started[static_cast<size_t>(sent)] = steady_clock::now();
        self->send(writer, write_atom::value, op_list{std::move(o)});
        ++sent;
      };
      // Asynchronous sends with `in_flight` outstanding; replies come back as messages.
      while (sent < std::min(in_flight, docs)) send_one();
      while (done < docs) {
        self->receive([&](op_results& r) {
          st.lat_ms.push_back(duration<double, std::milli>(steady_clock::now() - started[static_cast<size_t>(done)]).count());
          if (!r.empty() && r[0].code == storage::errc::ok) rids.push_back(r[0].rec.id);
          ++done;
          if (sent < docs) send_one();
        });
      }
      st.seconds = duration<double>(steady_clock::now() - t0).count();
      print(cat("actor_create_q", in_flight), st);
    }
    for (int threads : {1, 16}) {
      stats st;
      std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
      auto t0 = steady_clock::now();
      std::vector<std::thread> ts;
      int per = docs / threads;
      for (int t = 0; t < threads; ++t)
        ts.emplace_back([&, t] {
          for (int i = 0; i < per; ++i) {
            auto s = steady_clock::now();
            auto r = shared->find(rids[static_cast<size_t>(t * per + i) % rids.size()]);
            if (r) lat[static_cast<size_t>(t)].push_back(duration<double, std::milli>(steady_clock::now() - s).count());
          }
        });
      for (auto& t : ts) t.join();
      st.seconds = duration<double>(steady_clock::now() - t0).count();
      for (auto& v : lat) st.lat_ms.insert(st.lat_ms.end(), v.begin(), v.end());
      print(cat("storage_read_t", threads), st);
    }
    caf::anon_send_exit(writer, caf::exit_reason::user_shutdown);
  }
  return 0;
}
