#include "actors/node.hpp"

#include <optional>
#include <thread>

#include <caf/io/all.hpp>

#include "actors/admin_actor.hpp"
#include "actors/cluster_actor.hpp"
#include "actors/cluster_directory.hpp"
#include "actors/databases_actor.hpp"
#include "actors/db_config_actor.hpp"
#include "actors/partition_table_actor.hpp"
#include "actors/placement_actor.hpp"
#include "actors/relay_actor.hpp"
#include "actors/db_directory.hpp"
#include "actors/protocol.hpp"
#include "actors/rest_api.hpp"
#include "actors/server_actor.hpp"
#include "src/cluster/addresses.hpp"
#include "src/graph/demo.hpp"
#include "src/link/guard.hpp"
#include "src/http/server.hpp"
#include "src/cluster/membership.hpp"
#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace troupe {

struct node::impl {
  node_options opts;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  server_actor server;
  databases_actor databases;
  std::shared_ptr<db_directory> directory = std::make_shared<db_directory>();
  std::shared_ptr<cluster_directory> cluster_dir = std::make_shared<cluster_directory>();
  std::shared_ptr<deploy::progress_board> deploys = std::make_shared<deploy::progress_board>();
  cluster_actor cluster;
  partition_table_actor partitions;
  placement_actor placement;
  relay_actor relay;
  std::vector<db_config_actor> config_actors;
  uint16_t cluster_port = 0;
  address_plan addresses;  // what the cluster endpoint binds and what the node tells others
  std::shared_ptr<bound_listeners> listeners;  // what each listener bound, for GET /server
  std::shared_ptr<link::guard> guard;  // the cluster port; CAF's endpoint behind it is on loopback
  std::shared_ptr<link::guard> admin_guard;  // the binary (console) port, bounds only
  std::shared_ptr<link::peer_book> book = std::make_shared<link::peer_book>();  // cluster links: node id -> key
  std::shared_ptr<link::peer_book> consoles = std::make_shared<link::peer_book>(true);  // console links: node id -> address
  uint16_t admin_internal_port = 0;
  uint16_t internal_port = 0;          // CAF's cluster endpoint on 127.0.0.1
  admin_actor admin;
  uint16_t admin_port = 0;
  std::string admin_host;  // the console endpoint's address as members are told it
  std::unique_ptr<http::server> http;

  explicit impl(node_options o) : opts(std::move(o)) {}

  static int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
};

node::node(node_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {
  assert(impl_->opts.log != nullptr);
}

node::~node() { stop(); }

const server_settings& node::settings() const { return impl_->opts.settings; }

std::vector<deploy::progress> node::deploys() const { return impl_->deploys->snapshot(); }
std::vector<deploy::progress> node::recent_deploys() const { return impl_->deploys->recent(); }

uint16_t node::http_port() const { return impl_->http ? impl_->http->port() : 0; }

status node::start() {
  // On failure, stop what was started; only after start_impl() returned, so that
  // none of its scoped actors keeps ~actor_system waiting.
  auto st = start_impl();
  if (!st) stop(false);
  return st;
}

status node::start_impl() {
  auto& d = *impl_;
  auto& log = *d.opts.log;
  if (d.sys) return error_info{"", "", "node already started"};
  const auto& s = d.opts.settings;
  auto dir = s.databases_dir();

  // The demo database, as OrientDB ships one, when there is nothing else.
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return error_info{dir.string(), "", cat("cannot create the databases folder: ", ec.message())};
  bool distributed = s.server.distributed.handler_present && s.server.distributed.enabled;
  // A node with no databases that finds a cluster receives the cluster's
  // databases (autoDeploy) instead of creating the demo database: in a cluster
  // the decision waits until the join wait has passed.
  bool want_demo = d.opts.create_demo && scan_databases(dir).empty();
  if (want_demo && !distributed) {
    if (auto st = create_demo(); !st) return st;
  }
  auto dbs = scan_databases(dir);
  if (dbs.empty()) {
    log.info("OServer", cat("no databases found in ", dir.string()));
  } else {
    std::string names;
    for (auto& db : dbs) names += cat(names.empty() ? "" : ", ", db);
    log.info("OServer", cat("found ", dbs.size(), " database(s) in ", dir.string(), ": ", names));
  }

  if (distributed) {
    // Before any listener opens: an address that is not on this host is a
    // configuration error, said in one line naming the file.
    auto* l = s.server.http_listener();
    auto plan = plan_addresses(s.hazelcast, l != nullptr ? l->ip_address : "", s.config_file.string(), system_network());
    if (!plan) return plan.error();
    d.addresses = std::move(*plan);
    for (auto& w : d.addresses.warnings) log.warn("OHazelcastPlugin", w);
  }

  add_message_types(d.cfg);
  d.cfg.set("scheduler.max-threads", static_cast<size_t>(d.opts.scheduler_threads));
  // Work stealing's idle workers poll, then poll with 50 us sleeps for 500
  // rounds, and only then wait on a condition variable. On this 2-core VM every
  // such wake-up is paid in the kernel and took CPU from the HTTP threads; one
  // round instead of 500 (repl_bench, 3 nodes in one process): reads 25k ->
  // 40k/s, writes 1.7k -> 1.9k/s (CAF's "sharing" policy measured about the
  // same; the default policy is kept).
  d.cfg.set("work-stealing.moderate-poll-attempts", size_t{1});
  if (distributed || d.opts.admin_endpoint) d.cfg.load<caf::io::middleman>();
  if (distributed) {
    // Without the middleman heartbeat a frozen peer is never noticed, and the
    // heartbeat interval is also the connection handshake timeout (CAF-NOTES §3).
    d.cfg.set("middleman.heartbeat-interval", caf::timespan{s.hazelcast.heartbeat_interval});
    d.cfg.set("middleman.connection-timeout", caf::timespan{s.hazelcast.heartbeat_timeout});
  }
  d.sys.emplace(d.cfg);
  node_info info;
  info.name = s.name.name;
  info.started_on_ms = impl::now_ms();
  info.databases = dbs;
  d.server = spawn_server_actor(*d.sys, std::move(info), d.opts.log);
  databases_options dbo;
  dbo.dir = dir;
  dbo.sync = d.opts.sync_writes;
  dbo.node_name = s.name.name;
  dbo.standalone = !distributed;
  dbo.write_timeout = d.opts.write_timeout;
  dbo.command_timeout = std::chrono::milliseconds(s.server.command_timeout_ms);
  dbo.log_keep = d.opts.repl_log_keep;
  d.databases = spawn_databases_actor(*d.sys, dbo, d.directory, d.opts.log);
  caf::scoped_actor self{*d.sys};
  std::optional<error_info> failure;
  // The databases actor opens the databases before it takes its first message:
  // its answer means they are all open, so the REST API starts with them.
  self->request(d.databases, std::chrono::minutes(5), list_atom::value)
      .receive([](const std::vector<std::string>&) {},
               [&](caf::error& e) { failure = error_info{"", "", cat("cannot open the databases: ", d.sys->render(e))}; });
  if (failure) return *failure;

  // The REST API on the first free port of the http listener's range.
  auto* listener = s.server.http_listener();
  assert(listener != nullptr);  // the server config parser requires one
  auto ctx = std::make_shared<rest_context>();
  ctx->sys = &*d.sys;
  ctx->dbs = d.directory;
  ctx->databases = d.databases;
  ctx->users = s.server.users;
  ctx->command_timeout = std::chrono::milliseconds(s.server.command_timeout_ms);
  ctx->node_name = s.name.name;
  ctx->databases_dir = dir.string();
  ctx->log = d.opts.log;
  ctx->cluster = d.cluster_dir;
  d.listeners = ctx->listeners;
  http::server_options ho;
  ho.ip = listener->ip_address;
  ho.port_first = listener->ports.first;
  ho.port_last = listener->ports.last;
  ho.io_threads = d.opts.http_threads;
  // Credentials are checked from the headers, before a body is read (401 at once).
  ho.check_header = make_rest_header_check(ctx);
  if (listener->tls) {
    // HTTPS (<socket implementation="...OServerTLSSocketFactory">): the server
    // loads the PEM files at start; its errors name this file and the socket.
    auto& t = *listener->tls;
    http::tls_options to;
    to.certificate_chain_file = t.certificate_chain;
    to.private_key_file = t.private_key;
    to.key_passphrase = t.key_passphrase;
    to.require_client_certificate = t.client_auth;
    to.client_ca_file = t.client_ca;
    to.socket_name = t.socket_name;
    to.config_file = s.config_file.string();
    to.config_where = cat("line ", t.line, ": socket '", t.socket_name, "'");
    ho.tls = std::move(to);
  }
  d.http = std::make_unique<http::server>(ho, make_rest_handler(ctx), d.opts.log);
  auto port = d.http->start();
  if (!port) {
    // A TLS file problem already names the config file, its line and the file.
    if (!port.error().file.empty()) return port.error();
    return error_info{"", "", cat("cannot listen for http: ", port.error().render())};
  }
  d.listeners->add({"http", cat(ho.ip, ":", *port), distributed ? cat(d.addresses.http_host, ":", *port) : ""});

  if (distributed) {
    if (auto st = start_cluster(); !st) return st.error();
    if (want_demo) {
      if (auto st = demo_for_cluster(); !st) return st;
    }
  }

  if (d.opts.admin_endpoint && !distributed) {  // distributed: start_cluster started it
    if (auto st = start_admin(); !st) return st;
  }

  self->request(d.server, std::chrono::seconds(5), set_status_atom::value, std::string(node_online))
      .receive([](const node_info&) {},
               [&](caf::error& e) { failure = error_info{"", "", cat("cannot start: ", d.sys->render(e))}; });
  if (failure) return *failure;
  return ok_status();
}

status node::create_demo() {
  auto& d = *impl_;
  auto dir = d.opts.settings.databases_dir();
  d.opts.log->info("OServer", cat("no databases found: creating the demo database ", demo_database_name, "..."));
  auto stats = create_demo_database(dir);
  if (!stats) return error_info{"", "", cat("cannot create the demo database: ", stats.error().render())};
  d.opts.log->info("OServer", cat("created the demo database ", demo_database_name, ": ", stats->vertices,
                                  " vertices, ", stats->edges, " edges"));
  return ok_status();
}

status node::demo_for_cluster() {
  auto& d = *impl_;
  auto wait = d.opts.settings.hazelcast.join_wait;
  auto deadline = std::chrono::steady_clock::now() + wait;
  // A bounded wait for a condition: joined, or the join wait is over.
  bool joined = false;
  for (;;) {
    auto c = cluster(std::chrono::seconds(2));
    if (c && c->view.members.size() > 1) {
      joined = true;
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (!joined) d.opts.log->info("OServer", cat("no cluster answered within ", wait.count(), " ms"));
  // The demo database is the cluster's, decided once by its leader: nodes
  // that started together each ask, the first one creates it, the others
  // receive it by autoDeploy. Never two, never none; and never again once
  // the users dropped it.
  std::string name(demo_database_name);
  if (auto c = cluster(std::chrono::seconds(5)); c) {
    for (auto& t : c->dropped)
      if (t.db == name) {
        d.opts.log->info("OServer", cat("the demo database ", name, " was dropped from the cluster: not creating it"));
        return ok_status();
      }
  }
  caf::scoped_actor self{*d.sys};
  std::optional<error_info> failure;
  bool create = false;
  self->request(d.cluster, std::chrono::seconds(15), dbcreate_atom::value, name)
      .receive([&](bool) { create = true; },
               [&](caf::error& e) {
                 if (troupe_code(e) == errc::database_exists)
                   d.opts.log->info("OServer", cat("the cluster has the demo database ", name,
                                                   ": it will be deployed here (autoDeploy)"));
                 else
                   failure = error_info{"", "", cat("cannot create the demo database: ", error_text(*d.sys, e))};
               });
  if (failure) {
    // Not fatal: the node serves the cluster's other databases; the demo
    // comes from whichever node creates it.
    d.opts.log->warn("OServer", failure->what);
    return ok_status();
  }
  if (!create) return ok_status();
  auto made = create_demo();
  if (made) {
    self->request(d.databases, std::chrono::minutes(5), open_atom::value, name)
        .receive([](bool) {}, [&](caf::error& e) { failure = error_info{"", "", d.sys->render(e)}; });
  }
  if (!made || failure) {
    self->send(d.cluster, dbdrop_atom::value, name);  // the name is free again for another node
    if (!made) return made;
    return *failure;
  }
  self->send(d.placement, add_db_atom::value, name);
  return ok_status();
}

status node::start_cluster() {
  auto& d = *impl_;
  const auto& s = d.opts.settings;
  auto& hz = s.hazelcast;
  cluster_options co;
  co.name = s.name.name;
  co.hazelcast = hz;
  co.default_db = s.default_db;
  placement_options po;
  po.default_db = s.default_db;
  po.databases_dir = s.databases_dir();
  co.addresses = d.addresses;
  {
    link::guard_options go;
    go.group_name = hz.group_name;
    // ~100k HMACs, once per start: what makes each offline guess at the
    // group password costly (src/link/crypto.hpp).
    go.group_key = link::derive_group_key(hz.group_name, hz.group_password);
    go.encrypt = hz.encrypt_links;
    go.local_name = s.name.name;
    // This node's own key: which member it is (src/link/identity.hpp).
    auto me = link::load_or_create_node_key(s.config_file.parent_path(), s.name.name);
    if (!me) return me.error();
    go.me = *me;
    d.book->own(to_string(d.sys->node()));
    go.book = d.book;
    co.book = d.book;
    co.key = link::key_text(me->pub);
    go.bind_host = d.addresses.cluster_bind;
    go.port_first = hz.port;
    go.port_last = static_cast<uint16_t>(hz.auto_increment ? std::min<uint32_t>(65535, hz.port + hz.port_count - 1u) : hz.port);
    d.guard = std::make_shared<link::guard>(go, d.opts.log);
  }
  co.guard = d.guard;
  co.started_on_ms = impl::now_ms();
  co.databases = scan_databases(po.databases_dir);
  d.partitions = spawn_partition_table_actor(*d.sys, d.cluster_dir, d.opts.log);
  po.partitions = d.partitions;
  po.directory = d.cluster_dir;
  co.dbs = po.dbs = d.directory;
  po.db_opener = d.databases;
  po.corrupt_first_deploy_chunk = d.opts.test_corrupt_deploy_chunk;
  po.test_deploy_chunk_delay = d.opts.test_deploy_chunk_delay;
  po.test_deploy_disk_limit = d.opts.test_deploy_disk_limit;
  po.deploy_compress_level = d.opts.deploy_compress_level;
  po.deploys = d.deploys;
  {
    // One configuration actor per local database; what they loaded seeds the
    // cluster actor's copy.
    caf::scoped_actor self{*d.sys};
    for (auto& db : co.databases) {
      auto a = spawn_db_config_actor(*d.sys, db, po.databases_dir / db, s.default_db, d.opts.log);
      d.config_actors.push_back(a);
      po.config_actors.emplace(db, a);
      std::optional<error_info> failure;
      self->request(a, std::chrono::seconds(30), status_atom::value)
          .receive([&](db_config_msg& m) { co.initial_configs.push_back(std::move(m)); },
                   [&](caf::error& e) { failure = error_info{"", "", d.sys->render(e)}; });
      if (failure) return *failure;
    }
  }
  d.relay = spawn_relay_actor(*d.sys, relay_options{d.directory, d.cluster_dir, s.default_db}, d.opts.log);
  co.relay = po.relay = d.relay;
  d.placement = spawn_placement_actor(*d.sys, std::move(po), d.opts.log);
  co.placement = d.placement;
  co.dropped_file = po.databases_dir / dropped_file_name;
  if (std::error_code ec; std::filesystem::exists(co.dropped_file, ec)) {
    auto text = read_file(co.dropped_file);
    auto tombs = text ? parse_tombstones(*text) : result<std::vector<db_config_msg>>(text.error());
    if (!tombs) return error_info{co.dropped_file.string(), "", tombs.error().what};
    co.initial_dropped = std::move(*tombs);
  }
  d.cluster = spawn_cluster_actor(*d.sys, co, d.opts.log);
  // CAF's endpoint listens on loopback only; the cluster port is the guard's
  // (src/link/guard.hpp), which lets a connection through to CAF only once the
  // other side proved the group password, and then seals every frame.
  auto internal = caf::io::publish(d.cluster, 0, "127.0.0.1", true);
  if (!internal) return error_info{"", "", cat("cannot publish the cluster endpoint: ", d.sys->render(internal.error()))};
  d.internal_port = *internal;
  d.guard->set_internal_port(d.internal_port);
  // The cluster port, or the next free one with auto-increment, as Hazelcast does.
  auto port = d.guard->start();
  if (!port) return port.error();
  d.cluster_port = *port;
  d.listeners->add({"cluster", cat(d.addresses.cluster_bind, ":", d.cluster_port),
                    cat(d.addresses.cluster_host, ":", d.addresses.cluster_port != 0 ? d.addresses.cluster_port : d.cluster_port)});
  auto& a = d.addresses;
  d.opts.log->info("OHazelcastPlugin",
                   cat("cluster endpoint listening on ", a.cluster_bind, ":", d.cluster_port, " (", a.why,
                       "), advertised as ", a.cluster_host, ":", a.cluster_port != 0 ? a.cluster_port : d.cluster_port,
                       ", http advertised as ", a.http_host, ":", http_port(), " (group '", hz.group_name, "', links ",
                       hz.encrypt_links ? "encrypted" : "authenticated, not encrypted", ")"));
  // The console endpoint before the member entry is made, so that the entry
  // carries its address (consoles fail over to the members' endpoints).
  if (d.opts.admin_endpoint) {
    if (auto st = start_admin(); !st) return st;
  }
  caf::scoped_actor self{*d.sys};
  // Creates and drops are the cluster's from now on (decided by its leader).
  self->send(d.databases, init_atom::value, caf::actor_cast<caf::actor>(d.cluster), caf::actor_cast<caf::actor>(d.placement));
  std::optional<error_info> failure;
  self->request(d.cluster, std::chrono::seconds(30), init_atom::value, d.cluster_port, http_port(), d.admin_host,
                d.admin_port)
      .receive([](bool) {}, [&](caf::error& e) { failure = error_info{"", "", d.sys->render(e)}; });
  if (failure) return *failure;
  return ok_status();
}

// The console's endpoint on the binary listener's port range, as OrientDB's
// console connected to remote:host:2424 (actors/admin_actor.hpp).
status node::start_admin() {
  auto& d = *impl_;
  const auto& s = d.opts.settings;
  const listener_config* binary = nullptr;
  for (auto& l : s.server.listeners)
    if (l.protocol == "binary") binary = &l;
  if (binary == nullptr) {
    d.opts.log->info("OServerNetworkListener", "no binary listener is configured: the console cannot connect");
    return ok_status();
  }
  admin_options ao;
  ao.node_name = s.name.name;
  ao.users = s.server.users;
  ao.command_timeout = std::chrono::milliseconds(s.server.command_timeout_ms);
  ao.server = d.server;
  ao.databases = d.databases;
  ao.cluster = d.cluster;
  ao.partitions = d.partitions;
  ao.placement = d.placement;
  ao.relay = d.relay;
  ao.config_actors = d.config_actors;
  ao.dbs = d.directory;
  ao.cluster_dir = d.cluster_dir;
  ao.deploys = d.deploys;
  ao.log = d.opts.log;
  ao.databases_dir = s.databases_dir().string();
  ao.guard = d.guard;
  ao.consoles = d.consoles;
  d.admin = spawn_admin_actor(*d.sys, std::move(ao));
  // CAF's endpoint on loopback; the binary port is a bounds-only guard
  // (src/link/guard.hpp): consoles do not know the group password, but what
  // they send is bounded before CAF allocates it, and a connection that does
  // not complete its first message within 5 s is closed.
  auto internal = caf::io::publish(d.admin, 0, "127.0.0.1", true);
  if (!internal) return error_info{"", "", cat("cannot publish the console endpoint: ", d.sys->render(internal.error()))};
  d.admin_internal_port = *internal;
  link::guard_options go;
  go.sealed = false;
  d.consoles->own(to_string(d.sys->node()));
  go.book = d.consoles;
  go.local_name = s.name.name;
  go.bind_host = binary->ip_address.empty() ? "0.0.0.0" : binary->ip_address;
  go.port_first = binary->ports.first;
  go.port_last = binary->ports.last;
  go.internal_port = d.admin_internal_port;
  // The largest thing a console sends is a record (REST takes 16 MiB bodies);
  // before it could have logged in, 64 KiB per message.
  go.payload_bytes_max = 16u << 20;
  d.admin_guard = std::make_shared<link::guard>(go, d.opts.log);
  auto port = d.admin_guard->start();
  if (!port) return error_info{"", "", cat("cannot listen for the console: ", port.error().render())};
  d.admin_port = *port;
  // What the members are told: the bound address, or the address clients are
  // told for REST when it binds every interface.
  d.admin_host = go.bind_host == "0.0.0.0" ? d.addresses.http_host : go.bind_host;
  d.listeners->add({"binary", cat(go.bind_host, ":", d.admin_port), ""});
  d.opts.log->info("OServerNetworkListener", cat("Listening binary connections on ", binary->ip_address, ":",
                                                 d.admin_port, " (protocol troupe console)"));
  return ok_status();
}

uint16_t node::admin_port() const { return impl_->admin_port; }

uint16_t node::cluster_port() const { return impl_->cluster_port; }

result<cluster_state> node::cluster(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.sys || !d.cluster) return error_info{"", "", "the node is not in distributed mode"};
  caf::scoped_actor self{*d.sys};
  std::optional<result<cluster_state>> out;
  self->request(d.cluster, timeout, status_atom::value)
      .receive([&](cluster_state& s) { out.emplace(std::move(s)); },
               [&](caf::error& e) { out.emplace(error_info{"", "", d.sys->render(e)}); });
  return std::move(*out);
}

result<node_info> node::info(std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.sys) return error_info{"", "", "node not started"};
  caf::scoped_actor self{*d.sys};
  std::optional<result<node_info>> out;
  self->request(d.server, timeout, status_atom::value)
      .receive([&](node_info& i) { out.emplace(std::move(i)); },
               [&](caf::error& e) { out.emplace(error_info{"", "", d.sys->render(e)}); });
  return std::move(*out);
}

void node::kill() { stop(false); }

std::shared_ptr<storage::database> node::test_database(const std::string& name) const {
  auto e = impl_->directory->find(name);
  return e ? e->db : nullptr;
}

void node::stop(bool graceful) {
  auto& d = *impl_;
  if (!d.sys) return;
  if (d.admin) {
    if (d.admin_guard) d.admin_guard->stop();
    if (d.admin_internal_port != 0) caf::io::unpublish(d.admin, d.admin_internal_port);
    d.admin_internal_port = 0;
    caf::scoped_actor self{*d.sys};
    self->send_exit(d.admin, caf::exit_reason::user_shutdown);
    d.admin = nullptr;
    d.admin_port = 0;
  }
  if (d.cluster) {
    caf::scoped_actor self{*d.sys};
    if (graceful) {
      // Tell the other members first, so that a clean stop is not taken for a crash.
      self->request(d.cluster, std::chrono::seconds(3), leave_atom::value).receive([](bool) {}, [](caf::error&) {});
    }
    if (d.guard) d.guard->stop();  // closes every link: the other nodes see this one go
    if (d.internal_port != 0) caf::io::unpublish(d.cluster, d.internal_port);
    d.internal_port = 0;
    self->send_exit(d.cluster, caf::exit_reason::user_shutdown);
    d.cluster = nullptr;
    d.cluster_port = 0;
  }
  {
    caf::scoped_actor self{*d.sys};
    if (d.partitions) self->send_exit(d.partitions, caf::exit_reason::user_shutdown);
    if (d.placement) self->send_exit(d.placement, caf::exit_reason::user_shutdown);
    if (d.relay) self->send_exit(d.relay, caf::exit_reason::user_shutdown);
    for (auto& a : d.config_actors) self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  d.partitions = nullptr;
  d.placement = nullptr;
  d.relay = nullptr;
  d.config_actors.clear();
  // Stop taking requests first, so nothing new reaches the actors. The REST
  // handler holds actor handles: it must be gone before ~actor_system waits for
  // the actors to be released.
  if (d.http) d.http->stop();
  d.http.reset();
  {
    caf::scoped_actor self{*d.sys};
    self->request(d.server, std::chrono::seconds(2), set_status_atom::value, std::string(node_shutting_down))
        .receive([](const node_info&) {}, [](caf::error&) {});
    self->send_exit(d.databases, caf::exit_reason::user_shutdown);
    self->send_exit(d.server, caf::exit_reason::user_shutdown);
  }
  d.server = nullptr;
  d.databases = nullptr;
  d.directory->clear();
  d.sys.reset();  // waits for every actor to finish
}

}  // namespace troupe
