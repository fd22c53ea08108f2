#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "src/config/server_config.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/tls.hpp"

using namespace troupe;
namespace fs = std::filesystem;

namespace {

std::string wrap(const std::string& network, const std::string& rest = "") {
  return "<orient-server>" + network + rest + "</orient-server>";
}
const std::string good_network =
    R"(<network><listeners><listener protocol="http" ip-address="0.0.0.0" port-range="2480-2490"/></listeners></network>)";

}  // namespace

TEST_CASE("server config: the shipped file parses with an http listener and the distributed handler") {
  auto home = fs::path("/srv/troupe");
  auto c = load_server_config(test::shipped_config_dir() / "orientdb-server-config.xml", home);
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  auto* http = c->http_listener();
  REQUIRE(http != nullptr);
  CHECK(http->ports.first == 2480);
  CHECK(http->ports.last == 2490);
  CHECK(http->served);
  REQUIRE(c->listeners.size() == 2);
  CHECK(c->listeners[0].protocol == "binary");
  CHECK(c->listeners[0].served);  // the console's endpoint
  CHECK(c->distributed.handler_present);
  CHECK(c->distributed.enabled);
  CHECK_FALSE(c->distributed.node_name.has_value());
  CHECK(c->distributed.hazelcast_path == home / "config" / "hazelcast.xml");
  CHECK(c->distributed.db_default_path == home / "config" / "default-distributed-db-config.json");
  REQUIRE(c->find_user("guest") != nullptr);
  CHECK(c->find_user("guest")->has_resource("server.listDatabases"));
  CHECK_FALSE(c->find_user("guest")->has_resource("database.create"));
  CHECK(c->property("log.console.level") == "info");
  CHECK(c->notices.empty());
}

TEST_CASE("server config: an OrientDB 2.x server config with extra handlers loads, unknown parts reported once each") {
  const std::string orientdb = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<orient-server>
    <handlers>
        <handler class="com.orientechnologies.orient.graph.handler.OGraphServerHandler">
            <parameters>
                <parameter name="enabled" value="true"/>
                <parameter name="graph.pool.max" value="50"/>
            </parameters>
        </handler>
        <!-- CLUSTER PLUGIN, TO TURN ON SET THE 'ENABLED' PARAMETER TO 'true' -->
        <handler class="com.orientechnologies.orient.server.hazelcast.OHazelcastPlugin">
            <parameters>
                <parameter name="nodeName" value="europe1"/>
                <parameter name="enabled" value="${distributed}"/>
                <parameter name="configuration.db.default" value="${ORIENTDB_HOME}/config/default-distributed-db-config.json"/>
                <parameter name="configuration.hazelcast" value="${ORIENTDB_HOME}/config/hazelcast.xml"/>
                <parameter name="conflict.resolver.impl" value="com.orientechnologies.orient.server.distributed.conflict.ODefaultReplicationConflictResolver"/>
            </parameters>
        </handler>
        <handler class="com.orientechnologies.orient.server.handler.OAutomaticBackup">
            <parameters>
                <parameter name="enabled" value="false"/>
                <parameter name="delay" value="4h"/>
            </parameters>
        </handler>
        <handler class="com.orientechnologies.orient.server.handler.OServerSideScriptInterpreter">
            <parameters><parameter name="enabled" value="true"/></parameters>
        </handler>
    </handlers>
    <network>
        <protocols>
            <protocol name="binary" implementation="com.orientechnologies.orient.server.network.protocol.binary.ONetworkProtocolBinary"/>
            <protocol name="http" implementation="com.orientechnologies.orient.server.network.protocol.http.ONetworkProtocolHttpDb"/>
        </protocols>
        <listeners>
            <listener protocol="binary" ip-address="0.0.0.0" port-range="2424-2430" socket="default"/>
            <listener protocol="http" ip-address="0.0.0.0" port-range="2480-2490" socket="default">
                <parameters>
                    <parameter name="network.http.charset" value="utf-8"/>
                </parameters>
                <commands>
                    <command pattern="GET|www GET|studio/ GET| GET|*.htm" implementation="com.orientechnologies.orient.server.network.protocol.http.command.get.OServerCommandGetStaticContent"/>
                </commands>
            </listener>
        </listeners>
    </network>
    <storages/>
    <users>
        <user resources="*" password="3C8F6A" name="root"/>
        <user resources="connect,server.listDatabases,server.dblist" password="guest" name="guest"/>
    </users>
    <properties>
        <entry name="db.pool.min" value="1"/>
        <entry name="db.pool.max" value="50"/>
        <entry name="profiler.enabled" value="false"/>
        <entry name="log.console.level" value="info"/>
        <entry name="log.file.level" value="fine"/>
    </properties>
    <isAfterFirstTime>true</isAfterFirstTime>
</orient-server>
)";
  auto c = parse_server_config(orientdb, "orientdb-server-config.xml", "/opt/orientdb");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  CHECK(c->distributed.enabled);
  CHECK(c->distributed.node_name == "europe1");
  CHECK(c->find_user("root")->password == "3C8F6A");
  CHECK(c->http_listener()->ports.first == 2480);
  // Three foreign handlers, one foreign parameter, four foreign properties,
  // <storages> and <isAfterFirstTime>: one line each.
  int handlers = 0, params = 0, props = 0, elements = 0;
  for (auto& n : c->notices) {
    handlers += n.rfind("ignored handler", 0) == 0;
    params += n.rfind("ignored distributed handler parameter 'conflict.resolver.impl'", 0) == 0;
    props += n.rfind("ignored property", 0) == 0;
    elements += n.rfind("ignored element", 0) == 0;
  }
  CHECK(handlers == 3);
  CHECK(params == 1);
  CHECK(props == 4);
  CHECK(elements == 2);
  CHECK(c->notices.size() == 10);
  // Each notice says where it is.
  for (auto& n : c->notices) CHECK(n.find("line ") != std::string::npos);
}

TEST_CASE("server config: a file without the distributed handler runs single-node") {
  auto c = parse_server_config(wrap(good_network), "x.xml", "/h");
  REQUIRE(c.ok());
  CHECK_FALSE(c->distributed.handler_present);
}

TEST_CASE("server config: command.timeout bounds one SQL statement; 30 s unless set, 0 for none") {
  auto plain = parse_server_config(wrap(good_network), "x.xml", "/h");
  REQUIRE(plain.ok());
  CHECK(plain->command_timeout_ms == command_timeout_ms_default);
  for (auto [text, ms] : {std::pair{"0", 0}, std::pair{"1500", 1500}}) {
    auto c = parse_server_config(
        wrap(good_network + R"(<properties><entry name="command.timeout" value=")" + text + R"("/></properties>)"),
        "x.xml", "/h");
    REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
    CHECK(c->command_timeout_ms == ms);
  }
}

TEST_CASE("server config: variables expand from home, 'distributed' and the environment") {
  ::setenv("TROUPE_TEST_VAR", "abc", 1);
  CHECK(expand_variables("${ORIENTDB_HOME}/x", "/h").value() == "/h/x");
  CHECK(expand_variables("${distributed}", "/h").value() == "true");
  CHECK(expand_variables("a${TROUPE_TEST_VAR}b", "/h").value() == "aabcb");
  CHECK_FALSE(expand_variables("${TROUPE_SURELY_UNDEFINED_42}", "/h").ok());
  CHECK_FALSE(expand_variables("${ORIENTDB_HOME", "/h").ok());
}

TEST_CASE("server config: bad inputs get one clear error naming the place and the problem") {
  const std::string handler_open =
      R"(<handlers><handler class="com.orientechnologies.orient.server.hazelcast.OHazelcastPlugin"><parameters>)";
  const std::string handler_close = "</parameters></handler></handlers>";
  // Opens <network> and declares one TLS socket; the caller adds <listeners>.
  auto tls_socket = [](const std::string& name, const std::string& params) {
    return R"(<network><sockets><socket name=")" + name + R"(" implementation=")" + tls_socket_class +
           R"("><parameters>)" + params + "</parameters></socket></sockets>";
  };
  const std::string listeners_only = R"(<listeners><listener protocol="http" port-range="1"/></listeners></network>)";
  struct bad {
    const char* name;
    std::string xml;
    const char* expect;  // a substring of the rendered error
  };
  std::vector<bad> table = {
      {"malformed XML", "<orient-server><network>", "malformed XML"},
      {"command.timeout not a number", wrap(good_network + R"(<properties><entry name="command.timeout" value="soon"/></properties>)"),
       "command.timeout must be 0 (no timeout) to 86400000 ms, not 'soon'"},
      {"command.timeout negative", wrap(good_network + R"(<properties><entry name="command.timeout" value="-1"/></properties>)"),
       "command.timeout must be 0"},
      {"command.timeout too long", wrap(good_network + R"(<properties><entry name="command.timeout" value="86400001"/></properties>)"),
       "command.timeout must be 0"},
      {"not XML at all", "hello", "malformed XML"},
      {"empty file", "", "malformed XML"},
      {"wrong root", "<hazelcast/>", "root element must be <orient-server>"},
      {"no network", "<orient-server/>", "missing the required element <network>"},
      {"no listeners", "<orient-server><network/></orient-server>", "missing the required element <listeners>"},
      {"no http listener",
       wrap(R"(<network><listeners><listener protocol="binary" port-range="2424-2430"/></listeners></network>)"),
       "no <listener protocol=\"http\">"},
      {"listener without protocol", wrap(R"(<network><listeners><listener port-range="1-2"/></listeners></network>)"),
       "missing the attribute 'protocol'"},
      {"listener without ports", wrap(R"(<network><listeners><listener protocol="http"/></listeners></network>)"),
       "needs a port-range"},
      {"port range upside down",
       wrap(R"(<network><listeners><listener protocol="http" port-range="2490-2480"/></listeners></network>)"),
       "upside down"},
      {"port not a number",
       wrap(R"(<network><listeners><listener protocol="http" port-range="abc"/></listeners></network>)"),
       "is not a port or a range"},
      {"port out of range",
       wrap(R"(<network><listeners><listener protocol="http" port-range="70000"/></listeners></network>)"),
       "is not a port or a range"},
      {"port zero", wrap(R"(<network><listeners><listener protocol="http" port-range="0-10"/></listeners></network>)"),
       "is not a port or a range"},
      {"two http listeners",
       wrap(R"(<network><listeners><listener protocol="http" port-range="1"/><listener protocol="http" port-range="2"/></listeners></network>)"),
       "more than one http listener"},
      {"user without password", wrap(good_network, R"(<users><user name="root" resources="*"/></users>)"),
       "missing the attribute 'password'"},
      {"user with empty name", wrap(good_network, R"(<users><user name="" password="x"/></users>)"), "empty name"},
      {"user twice",
       wrap(good_network, R"(<users><user name="a" password="x"/><user name="a" password="y"/></users>)"),
       "defined twice"},
      {"enabled not a boolean",
       wrap(good_network, handler_open + R"(<parameter name="enabled" value="yes"/>)" + handler_close),
       "'enabled' must be true or false"},
      {"bad node name",
       wrap(good_network, handler_open + R"(<parameter name="nodeName" value="my node"/>)" + handler_close),
       "nodeName 'my node' is not"},
      {"undefined variable",
       wrap(good_network,
            handler_open + R"(<parameter name="configuration.hazelcast" value="${NO_SUCH_VAR_XYZ}/h.xml"/>)" +
                handler_close),
       "undefined variable ${NO_SUCH_VAR_XYZ}"},
      {"empty hazelcast path",
       wrap(good_network, handler_open + R"(<parameter name="configuration.hazelcast" value=""/>)" + handler_close),
       "'configuration.hazelcast' is empty"},
      {"listener names an undeclared socket",
       wrap(R"(<network><listeners><listener protocol="http" port-range="1" socket="https"/></listeners></network>)"),
       "listener names socket 'https', which is not declared in <network><sockets>"},
      {"listener names a socket of an unknown implementation",
       wrap(R"(<network><sockets><socket name="x" implementation="com.example.MySocketFactory"/></sockets>)"
            R"(<listeners><listener protocol="http" port-range="1" socket="x"/></listeners></network>)"),
       "whose implementation 'com.example.MySocketFactory' troupe does not provide"},
      {"TLS socket without keyStore",
       wrap(tls_socket("https", R"(<parameter name="network.ssl.keyStorePassword" value="pw"/>)") +
            R"(<listeners><listener protocol="http" port-range="1" socket="https"/></listeners></network>)"),
       "socket 'https' needs the parameter 'network.ssl.keyStore'"},
      {"TLS socket with an empty keyStore",
       wrap(tls_socket("https", R"(<parameter name="network.ssl.keyStore" value=""/>)") +
            R"(<listeners><listener protocol="http" port-range="1" socket="https"/></listeners></network>)"),
       "socket 'https' needs the parameter 'network.ssl.keyStore'"},
      {"clientAuth without trustStore",
       wrap(tls_socket("https", R"(<parameter name="network.ssl.keyStore" value="c.pem"/>)"
                                R"(<parameter name="network.ssl.clientAuth" value="true"/>)") +
            R"(<listeners><listener protocol="http" port-range="1" socket="https"/></listeners></network>)"),
       "network.ssl.clientAuth=true but no parameter 'network.ssl.trustStore'"},
      {"clientAuth not a boolean",
       wrap(tls_socket("https", R"(<parameter name="network.ssl.keyStore" value="c.pem"/>)"
                                R"(<parameter name="network.ssl.clientAuth" value="maybe"/>)") +
            R"(<listeners><listener protocol="http" port-range="1" socket="https"/></listeners></network>)"),
       "'network.ssl.clientAuth' must be true or false, not 'maybe'"},
      {"TLS on the binary listener",
       wrap(tls_socket("ssl", R"(<parameter name="network.ssl.keyStore" value="c.pem"/>)") +
            R"(<listeners><listener protocol="binary" port-range="2" socket="ssl"/>)"
            R"(<listener protocol="http" port-range="1"/></listeners></network>)"),
       "the binary listener cannot use socket 'ssl'"},
      {"socket without a name",
       wrap(R"(<network><sockets><socket implementation="x"/></sockets>)" + listeners_only),
       "<socket> is missing the attribute 'name'"},
      {"socket without an implementation",
       wrap(R"(<network><sockets><socket name="x"/></sockets>)" + listeners_only),
       "<socket> is missing the attribute 'implementation'"},
      {"socket named default",
       wrap(tls_socket("default", R"(<parameter name="network.ssl.keyStore" value="c.pem"/>)") + listeners_only),
       "the socket name 'default' is reserved"},
      {"socket twice",
       wrap(R"(<network><sockets><socket name="x" implementation="a"/><socket name="x" implementation="b"/></sockets>)" +
            listeners_only),
       "socket 'x' is defined twice"},
      {"handler twice",
       wrap(good_network, "<handlers><handler class=\"com.orientechnologies.orient.server.hazelcast.OHazelcastPlugin\"/>"
                          "<handler class=\"com.orientechnologies.orient.server.hazelcast.OHazelcastPlugin\"/></handlers>"),
       "configured twice"},
  };
  for (auto& b : table) {
    CAPTURE(b.name);
    auto c = parse_server_config(b.xml, "config/orientdb-server-config.xml", "/h");
    REQUIRE_FALSE(c.ok());
    auto msg = c.error().render();
    CAPTURE(msg);
    CHECK(msg.find(b.expect) != std::string::npos);
    CHECK(msg.rfind("config/orientdb-server-config.xml: ", 0) == 0);
    if (b.xml.size() > 0) CHECK(msg.find("line ") != std::string::npos);
  }
}

TEST_CASE("server config: users with OrientDB 2.2's hashed passwords load; a malformed hash names file, line and user") {
  const std::string hashed =
      "{PBKDF2WithHmacSHA256}09CE36D0AC1C259E778B97A75B17CD25FCD70044F433901A:"
      "0102030405060708090A0B0C0D0E0F101112131415161718:65536";
  auto xml = [&](const std::string& root_password) {
    return "<orient-server>\n" + good_network + "\n<users>\n<user name=\"guest\" password=\"guest\"/>\n" +
           "<user name=\"root\" password=\"" + root_password + "\" resources=\"*\"/>\n</users>\n</orient-server>\n";
  };
  auto c = parse_server_config(xml(hashed), "config/orientdb-server-config.xml", "/h");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  CHECK(c->find_user("root")->password == hashed);  // kept as stored
  CHECK(c->find_user("guest")->password == "guest");
  for (auto bad : {std::string("{PBKDF2WithHmacSHA256}09CE:0102:65536"),           // hash and salt too short
                   hashed.substr(0, hashed.size() - 6),                            // no iteration count
                   hashed.substr(0, hashed.size() - 5) + "100",                    // too few iterations
                   std::string("{SHA-256}5E884898DA28047151D0E56F8DC6292773603D0D6AABBDD62A11EF721D1542D8")}) {
    CAPTURE(bad);
    auto e = parse_server_config(xml(bad), "config/orientdb-server-config.xml", "/h");
    REQUIRE_FALSE(e.ok());
    auto msg = e.error().render();
    CAPTURE(msg);
    CHECK(msg.rfind("config/orientdb-server-config.xml: line 5: user 'root': ", 0) == 0);
    CHECK(msg.find(bad) == std::string::npos);  // a hash is not repeated into logs
  }
}

TEST_CASE("server config: storing the node name keeps comments, order and the other parameters") {
  test::temp_dir dir;
  auto path = dir / "orientdb-server-config.xml";
  fs::copy_file(test::shipped_config_dir() / "orientdb-server-config.xml", path);
  auto before = test::read_text(path);
  REQUIRE(store_node_name(path, "node1384014656983").ok());
  auto after = test::read_text(path);
  CHECK(after.find(R"(<parameter name="nodeName" value="node1384014656983"/>)") != std::string::npos);
  // Every comment survives, in order.
  size_t pos = 0, comments = 0;
  while ((pos = before.find("<!--", pos)) != std::string::npos) {
    auto end = before.find("-->", pos);
    CHECK(after.find(before.substr(pos, end - pos)) != std::string::npos);
    pos = end;
    ++comments;
  }
  CHECK(comments > 5);
  // The file still loads, now with the name; other parameters unchanged.
  auto c = load_server_config(path, "/h");
  REQUIRE(c.ok());
  CHECK(c->distributed.node_name == "node1384014656983");
  CHECK(c->distributed.hazelcast_path == fs::path("/h/config/hazelcast.xml"));
  CHECK(c->notices.empty());
  // The new line is indented like its siblings, on a line of its own.
  CHECK(after.find("\n                <parameter name=\"nodeName\"") != std::string::npos);
  // Storing again replaces rather than adds.
  REQUIRE(store_node_name(path, "other").ok());
  auto again = test::read_text(path);
  CHECK(again.find("name=\"nodeName\"") == again.rfind("name=\"nodeName\""));
  CHECK(load_server_config(path, "/h")->distributed.node_name == "other");
  // No temporary file is left behind.
  int files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir.path())) ++files;
  CHECK(files == 1);
}

TEST_CASE("server config: storing a user adds it to <users> and the file still loads") {
  test::temp_dir dir;
  auto path = dir / "s.xml";
  fs::copy_file(test::shipped_config_dir() / "orientdb-server-config.xml", path);
  REQUIRE(store_user(path, user_config{"root", "S3cret", "*"}).ok());
  auto c = load_server_config(path, "/h");
  REQUIRE(c.ok());
  REQUIRE(c->find_user("root") != nullptr);
  CHECK(c->find_user("root")->password == "S3cret");
  CHECK(c->find_user("guest") != nullptr);
}

TEST_CASE("server config: an http listener on OrientDB 2.2's TLS socket gets PEM paths resolved against the home") {
  // OrientDB 2.2's own shape: two TLS sockets (one unused), a socket of an
  // implementation troupe does not provide, and the listener naming one.
  const std::string xml = R"(<orient-server>
  <network>
    <sockets>
      <socket implementation="com.orientechnologies.orient.server.network.OServerTLSSocketFactory" name="ssl">
        <parameters>
          <parameter value="config/cert/orientdb.ks" name="network.ssl.keyStore"/>
        </parameters>
      </socket>
      <socket implementation="com.orientechnologies.orient.server.network.OServerTLSSocketFactory" name="https">
        <parameters>
          <parameter value="config/cert/orientdb.ks" name="network.ssl.keyStore"/>
          <parameter value="password" name="network.ssl.keyStorePassword"/>
          <parameter value="config/cert/orientdb.ts" name="network.ssl.trustStore"/>
          <parameter value="password" name="network.ssl.trustStorePassword"/>
          <parameter value="false" name="network.ssl.clientAuth"/>
        </parameters>
      </socket>
      <socket implementation="com.example.CustomSocketFactory" name="custom"/>
    </sockets>
    <listeners>
      <listener protocol="binary" ip-address="0.0.0.0" port-range="2424-2430" socket="default"/>
      <listener protocol="http" ip-address="0.0.0.0" port-range="2489-2489" socket="https"/>
    </listeners>
  </network>
</orient-server>
)";
  auto c = parse_server_config(xml, "config/orientdb-server-config.xml", "/opt/orientdb");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  auto* http = c->http_listener();
  REQUIRE(http != nullptr);
  CHECK(http->socket == "https");
  REQUIRE(http->tls.has_value());
  CHECK(http->tls->socket_name == "https");
  CHECK(http->tls->certificate_chain == fs::path("/opt/orientdb/config/cert/orientdb.ks"));
  CHECK(http->tls->private_key == http->tls->certificate_chain);  // no network.ssl.key: one file holds both
  CHECK(http->tls->key_passphrase == "password");
  CHECK_FALSE(http->tls->client_auth);
  CHECK(http->tls->client_ca.empty());
  CHECK(http->tls->line == 9);
  CHECK(c->listeners[0].socket == "default");
  CHECK_FALSE(c->listeners[0].tls.has_value());
  // One line each: the unused trustStore, the store password, the unknown
  // implementation and the socket no listener uses.
  std::vector<std::string> expected = {
      "ignored socket parameter 'network.ssl.trustStore' (used only with network.ssl.clientAuth=true) "
      "(config/orientdb-server-config.xml, line 13)",
      "ignored socket parameter 'network.ssl.trustStorePassword' (troupe reads PEM files, which need no store "
      "type or store password) (config/orientdb-server-config.xml, line 14)",
      "ignored socket 'custom' with implementation 'com.example.CustomSocketFactory' (troupe provides only "
      "com.orientechnologies.orient.server.network.OServerTLSSocketFactory) (config/orientdb-server-config.xml, line 18)",
      "ignored socket 'ssl': no listener uses it (config/orientdb-server-config.xml, line 4)",
  };
  std::sort(expected.begin(), expected.end());
  auto notices = c->notices;
  std::sort(notices.begin(), notices.end());
  CHECK(notices == expected);
}

TEST_CASE("server config: a TLS socket takes a separate key file, client authentication and variables") {
  ::setenv("TROUPE_TEST_CERTS", "/etc/certs", 1);
  const std::string xml = std::string(R"(<orient-server><network><sockets>)") +
                          R"(<socket name="tls" implementation=")" + tls_socket_class + R"("><parameters>)" +
                          R"(<parameter name="network.ssl.keyStore" value="${TROUPE_TEST_CERTS}/fullchain.pem"/>)" +
                          R"(<parameter name="network.ssl.key" value="config/privkey.pem"/>)" +
                          R"(<parameter name="network.ssl.clientAuth" value="true"/>)" +
                          R"(<parameter name="network.ssl.trustStore" value="${ORIENTDB_HOME}/config/clients-ca.pem"/>)" +
                          R"(</parameters></socket></sockets><listeners>)" +
                          R"(<listener protocol="http" port-range="2480" socket="tls"/>)" +
                          R"(</listeners></network></orient-server>)";
  auto c = parse_server_config(xml, "s.xml", "/h");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()));
  auto& t = c->http_listener()->tls;
  REQUIRE(t.has_value());
  CHECK(t->certificate_chain == fs::path("/etc/certs/fullchain.pem"));
  CHECK(t->private_key == fs::path("/h/config/privkey.pem"));
  CHECK(t->key_passphrase.empty());
  CHECK(t->client_auth);
  CHECK(t->client_ca == fs::path("/h/config/clients-ca.pem"));
  CHECK(c->notices.empty());
}

TEST_CASE("server config: the shipped file's commented-out https example parses once uncommented") {
  auto text = test::enable_https_example(test::read_text(test::shipped_config_dir() / "orientdb-server-config.xml"));
  auto c = parse_server_config(text, "orientdb-server-config.xml", "/srv/troupe");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().render()) << "\n" << text);
  auto* http = c->http_listener();
  REQUIRE(http != nullptr);
  CHECK(http->socket == "https");
  CHECK(http->ports.first == 2480);
  REQUIRE(http->tls.has_value());
  CHECK(http->tls->certificate_chain == fs::path("/srv/troupe/config/cert/server-chain.pem"));
  CHECK(http->tls->private_key == fs::path("/srv/troupe/config/cert/server-key.pem"));
  CHECK_FALSE(http->tls->client_auth);
  CHECK(c->notices.empty());
}

TEST_CASE("server config: the one permission rule: a resource, or \"database\" for every database but create and drop") {
  struct row {
    const char* resources;
    const char* asked;
    bool may;
  };
  std::vector<row> table = {
      {"*", "database.create", true},
      {"database", "database.demo", true},
      {"database", "database.create", false},
      {"database", "database.drop", false},
      {"database", "server.info", false},
      {"database.demo", "database.demo", true},
      {"database.demo", "database.other", false},
      {"server.info, database", "server.info", true},
      {"database.create", "database.create", true},
      {"", "database.demo", false},
      {"databases", "database.demo", false},
  };
  for (auto& r : table) {
    CAPTURE(r.resources);
    CAPTURE(r.asked);
    user_config u{"u", "pw", r.resources};
    CHECK(u.may(r.asked) == r.may);
  }
}
