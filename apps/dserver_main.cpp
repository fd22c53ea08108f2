// dserver: starts one troupe node on a server home, runs until SIGINT/SIGTERM.
//
//   dserver [--home DIR] [--config FILE]
//   dserver --help | --version
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "actors/node.hpp"
#include "src/server/startup.hpp"
#include "src/util/strings.hpp"
#include "troupe_build_config.hpp"

namespace fs = std::filesystem;
using namespace troupe;

namespace {

constexpr const char* usage =
    "usage: dserver [--home DIR] [--config FILE]\n"
    "       dserver --help | --version\n"
    "\n"
    "Starts a troupe node (an OrientDB-compatible distributed document database).\n"
    "\n"
    "  --home DIR     the server home, holding config/ and databases/\n"
    "                 (default: $ORIENTDB_HOME, else the current directory).\n"
    "                 A home without config/ is initialised from the shipped one.\n"
    "  --config FILE  the server configuration (default: DIR/config/orientdb-server-config.xml)\n"
    "  --help         this text\n"
    "  --version      the version\n"
    "\n"
    "Environment: ORIENTDB_NODE_NAME names the node on its first start.\n"
    "SIGINT and SIGTERM stop the node cleanly (exit status 0).\n";

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string describe(const port_range& r) {
  return r.first == r.last ? std::to_string(r.first) : cat(r.first, "-", r.last);
}

}  // namespace

int main(int argc, char** argv) {
  startup_options opts;
  std::optional<fs::path> home;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::cerr << "dserver: " << flag << " needs a value\n" << usage;
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    if (a == "--help" || a == "-h") {
      std::cout << usage;
      return 0;
    } else if (a == "--version") {
      std::cout << "troupe dserver " << TROUPE_VERSION << " (CAF 0.17.6)\n";
      return 0;
    } else if (a == "--home") {
      auto v = value("--home");
      if (!v) return 2;
      home = *v;
    } else if (a == "--config") {
      auto v = value("--config");
      if (!v) return 2;
      opts.config_file = *v;
    } else {
      std::cerr << "dserver: unknown argument '" << a << "'\n" << usage;
      return 2;
    }
  }
  if (!home) {
    const char* env = std::getenv("ORIENTDB_HOME");
    home = env != nullptr && *env != '\0' ? fs::path(env) : fs::current_path();
  }
  opts.home = *home;
  opts.shipped_config_dir = TROUPE_SHIPPED_CONFIG_DIR;
  if (const char* env = std::getenv("ORIENTDB_NODE_NAME")) opts.name_inputs.environment = env;
  opts.name_inputs.interactive = ::isatty(STDIN_FILENO) == 1;
  opts.name_inputs.in = &std::cin;
  opts.name_inputs.out = &std::cout;
  opts.name_inputs.now_ms = now_ms;

  auto prepared = prepare_server(opts);
  if (!prepared) {
    std::cerr << "dserver: configuration error: " << prepared.error().render() << "\n";
    return 2;
  }
  auto& s = *prepared;
  logger log(s.name.name, logger::console_sink(), s.level);
  log.info("OServer", cat("troupe Server v", TROUPE_VERSION, " is starting up... (home ", s.home.string(), ")"));
  if (s.home_initialised) log.info("OServer", cat("initialised the server home from ", TROUPE_SHIPPED_CONFIG_DIR));
  if (s.name_stored)
    log.info("OHazelcastPlugin", cat("assigned node name '", s.name.name, "' (", to_string(s.name.source),
                                     "), stored in ", s.config_file.string()));
  for (auto& n : s.notices) log.info("OServerConfiguration", n);
  if (s.generated_root_password)
    log.warn("OServer", cat("generated a password for the server user 'root': ", *s.generated_root_password,
                            " (stored hashed in ", s.config_file.string(), "; it is not shown again)"));
  for (auto& l : s.server.listeners) {
    if (!l.served)
      log.info("OServerNetworkListener", cat("listener protocol=", l.protocol, " ip-address=", l.ip_address,
                                             " port-range=", describe(l.ports), " is not served by troupe"));
  }
  auto& d = s.server.distributed;
  if (d.handler_present && d.enabled) {
    log.info("OHazelcastPlugin", cat("Starting distributed server '", s.name.name, "'..."));
    std::string members;
    for (auto& m : s.hazelcast.members) members += cat(members.empty() ? "" : ",", m.host, ":", describe(m.ports));
    log.info("OHazelcastPlugin", cat("cluster group '", s.hazelcast.group_name, "' port ", s.hazelcast.port,
                                     s.hazelcast.auto_increment ? " (auto-increment)" : "", " members ", members));
  } else {
    log.info("OServer", "distributed handler absent or disabled: running as a single node");
  }

  // Block the stop signals before any thread exists, so that every CAF thread
  // inherits the mask and only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  node_options no{s, &log, 2};
  no.admin_endpoint = true;  // the console's endpoint on the binary listener's port
  // Test seam for the process tests (deploy faults): outgoing deploys send at
  // most one chunk per this many milliseconds. Not for production use.
  if (const char* env = std::getenv("TROUPE_TEST_DEPLOY_CHUNK_DELAY_MS")) {
    if (auto ms = parse_int(env, 1, 60'000)) no.test_deploy_chunk_delay = std::chrono::milliseconds(*ms);
  }
  node n(std::move(no));
  if (auto st = n.start(); !st) {
    log.error("OServer", st.error().render());
    return 1;
  }
  log.info("OServer", cat("troupe Server v", TROUPE_VERSION, " is active."));

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log.warn("OServer", cat("received ", sig == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down..."));
  n.stop();
  log.info("OServer", "troupe Server shutdown complete");
  return 0;
}
