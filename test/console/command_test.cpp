// The console's command language without a node: parsing, the table of bad
// inputs, the nearest-command suggestion and completion.
#include <doctest/doctest.h>

#include "src/console/command.hpp"

using namespace troupe;
using namespace troupe::console;

TEST_CASE("console: connect URLs: host, port, database, and the default port 2424") {
  auto u = parse_url("remote:localhost");
  REQUIRE(u.ok());
  CHECK(u->host == "localhost");
  CHECK(u->port == 2424);
  CHECK(u->db.empty());
  u = parse_url("remote:127.0.0.1:2425/GratefulDeadConcerts");
  REQUIRE(u.ok());
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == 2425);
  CHECK(u->db == "GratefulDeadConcerts");
  u = parse_url("REMOTE:db-host.example/demo");
  REQUIRE(u.ok());
  CHECK(u->port == 2424);
  CHECK(u->db == "demo");
}

TEST_CASE("console: a table of bad inputs, each refused with a sentence that names the problem") {
  struct bad {
    const char* line;
    const char* says;
  };
  const bad table[] = {
      // malformed connect URLs
      {"connect localhost root pw", "must start with remote:"},
      {"connect plocal:/tmp/db root pw", "only remote: is supported"},
      {"connect remote: root pw", "no host"},
      {"connect remote:host:0 root pw", "port '0' is not 1-65535"},
      {"connect remote:host:65536 root pw", "port '65536' is not 1-65535"},
      {"connect remote:host:abc root pw", "port 'abc' is not 1-65535"},
      {"connect remote:host/ root pw", "nothing after /"},
      {"connect remote:host/a/b root pw", "more than one /"},
      {"connect remote:ho$t root pw", "has a character hosts do not have"},
      {"connect remote:host root", "takes 3 arguments, got 2"},
      {"connect \"remote:host root pw", "unterminated quote"},
      // bad RIDs
      {"load record 9", "'9' is not a record id"},
      {"load record #9:-1", "'#9:-1' is not a record id"},
      {"load record #x:1", "is not a record id"},
      {"delete record #99999:1", "is not a record id"},
      {"update record #9 {}", "'#9' is not a record id"},
      // unknown commands, with the nearest one
      {"membrs", "unknown command 'membrs'. Did you mean 'members'?"},
      {"lst databases", "Did you mean 'list databases'?"},
      {"list databses", "Did you mean 'list databases'?"},
      {"inspekt cluster", "Did you mean 'inspect'?"},
      {"xyzzy", "unknown command 'xyzzy': type help"},
      // wrong arity
      {"actors now", "'actors' takes 0 arguments, got 1"},
      {"inspect", "'inspect' takes 1 argument, got 0"},
      {"create database", "takes 1 argument, got 0"},
      {"create database a b", "takes 1 argument, got 2"},
      {"load record", "takes 1 argument, got 0: usage: load record <rid>"},
      {"browse cluster", "takes 1-2 arguments"},
      {"browse cluster v 0", "the limit '0' is not 1..1000"},
      {"browse cluster v 1001", "the limit '1001' is not 1..1000"},
      {"create class", "takes 1 argument"},
      {"create class A extends", "takes 1 argument, got 2"},
      {"partitions a b", "takes 0-1 arguments, got 2"},
      // bad JSON
      {"create record", "needs a class"},
      {"create record V {name}", "not valid JSON"},
      {"create record V [1,2]", "a JSON object is required"},
      {"update record #9:0", "a JSON object is required"},
  };
  for (auto& b : table) {
    CAPTURE(b.line);
    auto c = parse_command(b.line);
    REQUIRE_FALSE(c.ok());
    CHECK_MESSAGE(c.error().what.find(b.says) != std::string::npos, c.error().what);
  }
}

TEST_CASE("console: good commands parse into their verb and arguments") {
  auto c = parse_command("CONNECT remote:127.0.0.1:29024/demo root 'pass word'");
  REQUIRE(c.ok());
  CHECK(c->v == verb::connect);
  CHECK(c->url.port == 29024);
  CHECK(c->args[2] == "pass word");
  c = parse_command("list servers");
  REQUIRE(c.ok());
  CHECK(c->v == verb::members);
  c = parse_command("ha status");
  REQUIRE(c.ok());
  CHECK(c->v == verb::ha_status);
  c = parse_command("load record #9:12");
  REQUIRE(c.ok());
  CHECK(c->rid == storage::rid{9, 12});
  c = parse_command("create record Person {\"name\": \"a b\", \"n\": 1}");
  REQUIRE(c.ok());
  CHECK(c->args == std::vector<std::string>{"Person"});
  CHECK(c->json == "{\"name\": \"a b\", \"n\": 1}");
  c = parse_command("create record V");
  REQUIRE(c.ok());
  CHECK(c->json == "{}");
  c = parse_command("update record #5:0 {\"@version\": 1, \"x\": 2}");
  REQUIRE(c.ok());
  CHECK(c->rid == storage::rid{5, 0});
  c = parse_command("browse cluster v 5");
  REQUIRE(c.ok());
  CHECK(c->limit == 5);
  c = parse_command("browse cluster v");
  REQUIRE(c.ok());
  CHECK(c->limit == default_browse_limit);
  c = parse_command("create class Person extends V");
  REQUIRE(c.ok());
  CHECK(c->args == std::vector<std::string>{"Person"});
  CHECK(c->superclass == "V");
  CHECK(is_blank_or_comment("   "));
  CHECK(is_blank_or_comment("# a comment"));
  CHECK(is_blank_or_comment("-- an OrientDB comment"));
  CHECK_FALSE(is_blank_or_comment("info"));
}

TEST_CASE("console: completion offers the next word of the known phrases") {
  CHECK(complete("li") == std::vector<std::string>{"list"});
  CHECK(complete("list ") == std::vector<std::string>{"databases", "servers"});
  CHECK(complete("create ") ==
        std::vector<std::string>{"class", "database", "edge", "index", "property", "record", "vertex"});  // SQL too
  CHECK(complete("create d") == std::vector<std::string>{"database"});
  CHECK(complete("zz").empty());
  CHECK(edit_distance("members", "membrs") == 1);
  CHECK(nearest_command("qwertyuiop").empty());
}
