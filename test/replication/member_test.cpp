// replication::member, the role core the database actor and the failover
// simulation both run: the takeover's rules one at a time, on real RocksDB
// databases, with the messages between nodes carried by hand.
#include <doctest/doctest.h>

#include "src/replication/member.hpp"
#include "src/util/strings.hpp"
#include "test/replication/fixtures.hpp"
#include "test/storage/helpers.hpp"
#include "test/support/temp_dir.hpp"

using namespace troupe;
using namespace troupe::replication;
using namespace troupe::replication::testing;
using storage::testing::open_db;

namespace {

tail_msg tail(uint64_t commit, uint64_t last, uint64_t last_epoch) { return tail_msg{true, 0, commit, last, last_epoch}; }

std::vector<storage::op> create(int n) { return {storage::testing::create_op("V", cat(R"({"n":)", n, "}"))}; }

// `n` writes committed on `db` by an owner of `epoch` that needs only itself.
void fill(storage::database& db, uint64_t epoch, int n) {
  owner o(db, epoch, {}, 1);
  for (int i = 0; i < n; ++i) REQUIRE(o.submit(create(i), 0).ok());
}

bool has_tail_request(const effects& fx, const std::string& to) {
  for (auto& t : fx.tails)
    if (t.to == to) return true;
  return false;
}

}  // namespace

TEST_CASE("takeover_need: enough answers that one holds every acknowledged write") {
  struct row {
    size_t servers;
    uint32_t quorum;
    bool continuing;
    size_t need;
  } rows[] = {{3, 2, false, 2}, {3, 3, false, 1}, {3, 1, false, 3}, {5, 3, false, 3},
              {2, 1, false, 2}, {1, 1, false, 1}, {3, 2, true, 1},   {3, 9, false, 1}};
  for (auto& r : rows) {
    role ro;
    for (size_t i = 0; i < r.servers; ++i) ro.servers.push_back(cat("n", i));
    ro.write_quorum = r.quorum;
    CAPTURE(r.servers);
    CAPTURE(r.quorum);
    CHECK(takeover_need(ro, r.continuing) == r.need);
  }
}

TEST_CASE("choose_tail: the latest epoch, then the highest seq; never a tail short of a commit point") {
  struct row {
    std::map<std::string, tail_msg> answers;
    std::string best;
    const char* why;
  } rows[] = {
      {{{"a", tail(5, 5, 0x100)}, {"b", tail(5, 7, 0x100)}}, "b", "a higher seq, same epoch"},
      {{{"a", tail(5, 9, 0x100)}, {"b", tail(5, 6, 0x200)}}, "b", "a later epoch beats a higher seq"},
      {{{"a", tail(5, 7, 0x100)}, {"b", tail(5, 7, 0x100)}}, "a", "a tie goes to the node itself"},
      {{{"a", tail(3, 3, 0x100)}, {"b", tail(3, 3, 0x100)}, {"c", tail(3, 3, 0x100)}}, "a", "all equal"},
      {{{"a", tail(2, 8, 0x300)}, {"b", tail(6, 6, 0x100)}}, "a", "ahead in epoch and past every commit point"},
      {{{"a", tail(0, 4, 0x300)}, {"b", tail(6, 6, 0x100)}}, "b", "a later epoch that ends before b's commit point"},
      {{{"b", tail(5, 5, 0x100)}, {"c", tail(5, 6, 0x100)}}, "c", "the node itself not among the answers"},
  };
  for (auto& r : rows) {
    CAPTURE(r.why);
    CHECK(choose_tail(r.answers, "a") == r.best);
  }
}

TEST_CASE("member: a takeover asks the online servers, fetches the most up-to-date tail and owns with a new epoch") {
  test::temp_dir dir;
  auto a_db = open_db(dir / "a");
  auto b_db = open_db(dir / "b");
  fill(*b_db, 0x001, 1500);  // an earlier owner's epoch (round 0, b's place); more than one page
  member a(*a_db, "a", timing);
  effects fx;
  a.on_role(three({"a", "b"}), 0, fx);
  REQUIRE(a.taking_over());
  CHECK(a.takeover_epoch() == 0x100);  // above everything known, in a's place (0)
  CHECK(a_db->promised_epoch() == 0x100);  // promised on disk before anyone is asked
  CHECK(has_tail_request(fx, "b"));
  CHECK_FALSE(has_tail_request(fx, "c"));  // not online
  CHECK_FALSE(fx.fetch);
  auto round = fx.tails.at(0).round;

  replica b(*b_db);
  auto answer = b.promise(0x100);  // what b's member answers the tail request
  REQUIRE(answer.ok);
  effects fx2;
  a.on_tail_answer(round + 1, "b", answer, 1, fx2);  // another round's answer: ignored
  CHECK_FALSE(fx2.fetch);
  a.on_tail_answer(round, "b", answer, 1, fx2);
  REQUIRE(fx2.fetch);
  CHECK(fx2.fetch->from == "b");
  CHECK(fx2.fetch->first);
  auto page = fetch_after(*b_db, fx2.fetch->after);
  int pages = 0;
  effects fx3;
  for (;;) {
    ++pages;
    effects step;
    a.on_page(round, pages == 1, page, 2, step);
    if (!step.fetch) {
      fx3 = std::move(step);
      break;
    }
    CHECK_FALSE(step.fetch->first);
    page = fetch_after(*b_db, step.fetch->after);
  }
  CHECK(pages == 2);
  CHECK(fx3.owns_now);
  REQUIRE(a.owning());
  CHECK(a.owning()->epoch() == 0x100);
  CHECK(a_db->last_committed_seq() == 1500);
  CHECK(a.owning()->commit_seq() == 1500);
  // It tells the online servers its commit point at once.
  REQUIRE(fx3.appends.size() == 1);
  CHECK(fx3.appends[0].first == "b");
  CHECK(a.describe() == "owner, epoch 256");
}

TEST_CASE("member: too few servers online, no takeover; a refusal abandons it and the next one goes above") {
  test::temp_dir dir;
  auto db = open_db(dir / "a");
  member a(*db, "a", timing);
  effects fx;
  a.on_role(three({"a"}), 0, fx);  // 1 online, 2 needed
  CHECK_FALSE(a.taking_over());
  CHECK(fx.tails.empty());
  CHECK(a.orders_here());  // writes wait here for the owner to come
  effects t1;
  a.tick(10, true, t1);
  CHECK_FALSE(a.taking_over());
  effects fx2;
  a.on_role(three({"a", "b", "c"}), 20, fx2);
  REQUIRE(a.taking_over());
  auto round = fx2.tails.at(0).round;
  effects fx3;
  a.on_tail_answer(round, "b", tail_msg{false, 0x502, 0, 0, 0}, 21, fx3);
  CHECK_FALSE(a.taking_over());
  REQUIRE(fx3.abandoned);
  CHECK(fx3.abandoned->find("b follows a newer epoch") != std::string::npos);
  effects early;
  a.tick(21 + timing.takeover_retry_ms - 1, true, early);  // waits before trying again
  CHECK_FALSE(a.taking_over());
  effects again;
  a.tick(21 + timing.takeover_retry_ms, true, again);
  REQUIRE(a.taking_over());
  CHECK(a.takeover_epoch() == 0x600);  // the next round above 0x502, in a's place
}

TEST_CASE("member: a takeover the servers do not answer is abandoned after its timeout") {
  test::temp_dir dir;
  auto db = open_db(dir / "a");
  member a(*db, "a", timing);
  effects fx;
  a.on_role(three({"a", "b", "c"}), 0, fx);
  REQUIRE(a.taking_over());
  effects t1;
  a.tick(timing.takeover_timeout_ms, true, t1);
  CHECK(a.taking_over());
  effects t2;
  a.tick(timing.takeover_timeout_ms + 1, true, t2);
  CHECK_FALSE(a.taking_over());
  CHECK(t2.abandoned);
}

TEST_CASE("member: an owner refuses an older epoch and steps down for a newer one") {
  test::temp_dir dir;
  auto db = open_db(dir / "a");
  member a(*db, "a", timing);
  effects fx;
  a.on_role(three({"a"}, 1), 0, fx);  // writeQuorum 1 of 3: need 3... so all online
  effects fx1;
  a.on_role(three({"a", "b", "c"}, 3), 0, fx1);  // writeQuorum all: its own tail is enough
  REQUIRE(a.owning());
  auto epoch = a.owning()->epoch();

  SUBCASE("tail requests") {
    effects f;
    auto t = a.on_tail_request(epoch, f);
    CHECK_FALSE(t.ok);
    CHECK(t.epoch == epoch);
    CHECK(a.owning());
    CHECK_FALSE(f.stepped_down);
    auto t2 = a.on_tail_request(epoch + 0x100, f);
    CHECK(t2.ok);
    CHECK_FALSE(a.owning());
    CHECK(f.stepped_down);
    REQUIRE(a.following());
    CHECK(a.following()->epoch() == epoch + 0x100);
  }
  SUBCASE("appends") {
    effects f;
    CHECK_FALSE(a.on_append("b", append_msg{epoch, 1, 0, 0, {}, 0, true}, f));  // an old owner's
    REQUIRE(f.acks.size() == 1);
    CHECK(f.acks[0].first == "b");
    CHECK(f.acks[0].second.epoch == epoch);  // so that it steps down
    CHECK_FALSE(f.acks[0].second.ok);
    CHECK(a.owning());
    effects g;
    auto ack = a.on_append("b", append_msg{epoch + 0x101, 1, 0, 0, {}, 0, true}, g);
    REQUIRE(ack);
    CHECK(ack->ok);
    CHECK(g.stepped_down);
    CHECK_FALSE(a.owning());
  }
  SUBCASE("acks") {
    effects f;
    a.on_ack("b", ack_msg{epoch + 0x100, false, 0}, f);
    CHECK(f.stepped_down);
    CHECK_FALSE(a.owning());
  }
  SUBCASE("another owner in the role") {
    effects f;
    a.on_role([] {
      auto r = three({"b", "c"}, 3);
      return r;
    }(), 5, f);
    CHECK(f.stepped_down);
    CHECK(a.following());
    CHECK_FALSE(a.orders_here());
  }
}

TEST_CASE("member: an owner whose servers change takes over again from its own tail, keeping its undecided writes") {
  test::temp_dir dir;
  auto db = open_db(dir / "a");
  member a(*db, "a", timing);
  effects fx;
  a.on_role(three({"a", "b", "c"}, 2), 0, fx);
  REQUIRE(a.taking_over());
  auto round = fx.tails.at(0).round;
  effects fx2;
  a.on_tail_answer(round, "b", tail(0, 0, 0), 1, fx2);
  REQUIRE(a.owning());
  auto first_epoch = a.owning()->epoch();
  auto s = a.owning()->submit(create(1), 1000);
  REQUIRE(s.ok());
  CHECK(s->ended.empty());  // waits for b or c
  role r = three({"a", "b"}, 2);
  r.servers = {"a", "b"};  // c was removed
  effects fx3;
  a.on_role(r, 2, fx3);
  REQUIRE(a.owning());  // at once, from its own tail: nobody else ordered writes
  CHECK_FALSE(fx3.stepped_down);
  CHECK(a.owning()->epoch() > first_epoch);
  CHECK(a.owning()->pending() == 1);  // the write kept its seq, adopted
  effects fx4;
  a.on_ack("b", ack_msg{a.owning()->epoch(), true, s->seq}, fx4);
  REQUIRE(fx4.ended.size() == 1);
  CHECK(fx4.ended[0].committed);
  CHECK(fx4.ended[0].seq == s->seq);
}
