// OrientDB's REST batch body and /command body (src/query/batch.hpp,
// command.hpp): a table of good and bad bodies, and a seeded fuzz pass that
// mutates good ones (every outcome is a batch or an error, never a crash).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "src/query/batch.hpp"
#include "src/query/command.hpp"
#include "src/util/strings.hpp"

using namespace troupe;
using namespace troupe::query;

TEST_CASE("parse_batch: document operations become one write, or one command alone") {
  auto b = parse_batch(R"({"transaction":true,"operations":[
      {"type":"c","record":{"@class":"City","name":"Venice","@type":"d"}},
      {"type":"u","record":{"@rid":"#9:1","@version":2,"name":"Luca"}},
      {"type":"u","record":{"@rid":"#9:3","name":"any version"}},
      {"type":"d","record":{"@rid":"#9:2","@version":"4"}}]})");
  REQUIRE(b);
  CHECK_FALSE(b->cmd);
  REQUIRE(b->ops.size() == 4);
  CHECK(b->ops[0].k == storage::op::kind::create);
  CHECK(b->ops[0].class_name == "City");
  CHECK(b->ops[0].fields == R"({"name":"Venice"})");
  CHECK(b->ops[1].k == storage::op::kind::update);
  CHECK(b->ops[1].id.to_string() == "#9:1");
  CHECK(b->ops[1].expected_version == 2);
  CHECK(b->ops[1].fields == R"({"name":"Luca"})");
  CHECK(b->ops[2].expected_version == -1);
  CHECK(b->ops[3].k == storage::op::kind::remove);
  CHECK(b->ops[3].expected_version == 4);

  auto c = parse_batch(R"({"operations":[{"type":"cmd","language":"SQL","command":"update V set n = ?",
                                          "parameters":[3]}]})");
  REQUIRE(c);
  REQUIRE(c->cmd);
  CHECK(c->cmd->text == "update V set n = ?");
  REQUIRE(c->cmd->ps.positional.size() == 1);
  CHECK(c->cmd->ps.positional[0].as_int64() == 3);
  CHECK(c->ops.empty());
}

TEST_CASE("parse_batch: bad bodies are refused with a sentence naming the problem") {
  struct row {
    std::string body;
    std::string error;  // a fragment of the message
  } rows[] = {
      {"", "the request body is empty"},
      {"   ", "the request body is empty"},
      {"{", "not valid JSON"},
      {"[]", "a JSON object with \"operations\""},
      {R"({"operations":{}})", "\"operations\" must be an array"},
      {R"({})", "\"operations\" must be an array"},
      {R"({"operations":[]})", "\"operations\" is empty"},
      {R"({"transaction":"yes","operations":[]})", "\"transaction\" must be true or false"},
      {R"({"operations":[1]})", "operation 0: must be a JSON object"},
      {R"({"operations":[{"record":{}}]})", "operation 0: \"type\" must be a string"},
      {R"({"operations":[{"type":"x","record":{}}]})", "unknown type 'x'"},
      {R"({"operations":[{"type":"c"}]})", "\"record\" must be a JSON object"},
      {R"({"operations":[{"type":"c","record":[]}]})", "\"record\" must be a JSON object"},
      {R"({"operations":[{"type":"c","record":{"name":"x"}}]})", "has no @class"},
      {R"({"operations":[{"type":"c","record":{"@class":7}}]})", "@class must be a string"},
      {R"({"operations":[{"type":"u","record":{"name":"x"}}]})", "has no @rid"},
      {R"({"operations":[{"type":"u","record":{"@rid":"#nine"}}]})", "invalid record id '#nine'"},
      {R"({"operations":[{"type":"u","record":{"@rid":5}}]})", "@rid must be a string"},
      {R"({"operations":[{"type":"d","record":{"@rid":"#9:1","@version":-1}}]})", "@version must be a non-negative"},
      {R"({"operations":[{"type":"d","record":{"@rid":"#9:1","@version":"x"}}]})", "@version must be a non-negative"},
      {R"({"operations":[{"type":"cmd","language":"gremlin","command":"g.V"}]})", "only the language \"sql\""},
      {R"({"operations":[{"type":"cmd","command":5}]})", "operation 0: the body must be the command's text"},
      {R"({"operations":[{"type":"cmd","command":"select","parameters":5}]})", "parameters must be an array"},
      {R"({"operations":[{"type":"cmd","command":"a"},{"type":"cmd","command":"b"}]})", "at most one command"},
      {R"({"operations":[{"type":"cmd","command":"a"},{"type":"d","record":{"@rid":"#9:1"}}]})",
       "either document operations or one command"},
      {R"({"operations":[{"type":"script","language":"javascript","script":"x"}]})", "scripts are not supported"},
      {std::string(200, '[') + std::string(200, ']'), "not valid JSON"},  // deeper than the bound
  };
  for (auto& r : rows) {
    CAPTURE(r.body);
    auto b = parse_batch(r.body);
    REQUIRE_FALSE(b);
    CHECK(b.error().what.find(r.error) != std::string::npos);
  }
  std::string many = R"({"operations":[)";
  for (size_t i = 0; i <= batch_operations_max; ++i) many += cat(i ? "," : "", R"({"type":"d","record":{"@rid":"#9:1"}})");
  auto b = parse_batch(many + "]}");
  REQUIRE_FALSE(b);
  CHECK(b.error().what == cat("a batch holds ", batch_operations_max + 1, " operations, more than ", batch_operations_max));
}

TEST_CASE("command bodies and the statement op that carries one") {
  auto plain = command_from_body("select from V");
  REQUIRE(plain);
  CHECK(plain->text == "select from V");
  auto named = command_from_body(R"({"command":"select from V where a = :a","parameters":{"a":"x"}})");
  REQUIRE(named);
  CHECK(named->ps.named.at("a").as_string() == "x");
  for (auto bad : {R"({"cmd":"x"})", R"({"command":"x","parameters":"y"})", "{oops"}) {
    CAPTURE(bad);
    CHECK_FALSE(command_from_body(bad));
  }
  // Through the statement op and back: the same text and values.
  for (auto& c : {*plain, *named, command{"update V set n = ?", {{boost::json::value(1.5)}, {}}}}) {
    auto op = statement_op(c);
    CHECK(op.k == storage::op::kind::statement);
    auto back = command_from_op(op);
    REQUIRE(back);
    CHECK(back->text == c.text);
    CHECK(back->ps.positional == c.ps.positional);
    CHECK(back->ps.named == c.ps.named);
  }
  storage::op not_statement;
  CHECK_FALSE(command_from_op(not_statement));
}

TEST_CASE("parse_batch and command_from_body: a seeded fuzz pass over mutated bodies never crashes") {
  unsigned seed = std::getenv("TROUPE_SEED") ? static_cast<unsigned>(std::atoi(std::getenv("TROUPE_SEED"))) : 16;
  INFO("TROUPE_SEED=", seed);
  std::mt19937 rng(seed);
  std::vector<std::string> corpus = {
      R"({"transaction":true,"operations":[{"type":"c","record":{"@class":"City","name":"Venice"}},)"
      R"({"type":"u","record":{"@rid":"#9:1","@version":2,"n":[1,{"a":null}]}},{"type":"d","record":{"@rid":"#9:2"}}]})",
      R"({"operations":[{"type":"cmd","language":"sql","command":"update V set n = :n","parameters":{"n":1}}]})",
  };
  const std::string alphabet = "{}[]\":,#@0123456789.-eEcudtrnfalsxyz \\\x00\xff";
  size_t ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = corpus[rng() % corpus.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits && !s.empty(); ++k) {
      size_t at = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(at, 1 + rng() % 3); break;
        default: s.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
      }
    }
    auto b = parse_batch(s);
    if (b) {
      ++ok;
      CHECK((b->cmd.has_value() != !b->ops.empty()));  // one or the other, never both or neither
    } else {
      CHECK_FALSE(b.error().what.empty());
    }
    (void)command_from_body(s);
  }
  CHECK(ok > 0);  // some mutations stay valid: the pass reaches past the JSON parser
}
