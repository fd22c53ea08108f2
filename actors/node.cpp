#include "actors/node.hpp"

#include <optional>

#include "actors/protocol.hpp"
#include "actors/server_actor.hpp"
#include "src/util/strings.hpp"

namespace troupe {

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<node_info>("troupe.node_info");
  cfg.add_message_type<std::vector<std::string>>("std::vector<std::string>");
}

struct node::impl {
  node_options opts;
  caf::actor_system_config cfg;
  std::optional<caf::actor_system> sys;
  server_actor server;

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

status node::start() {
  auto& d = *impl_;
  if (d.sys) return error_info{"", "", "node already started"};
  add_message_types(d.cfg);
  d.cfg.set("scheduler.max-threads", static_cast<size_t>(d.opts.scheduler_threads));
  // Published actors would keep ~actor_system waiting forever (CAF-NOTES §7.4);
  // stop() ends every actor explicitly instead.
  d.sys.emplace(d.cfg);
  node_info info;
  info.name = d.opts.settings.name.name;
  info.started_on_ms = impl::now_ms();
  info.databases = scan_databases(d.opts.settings.databases_dir());
  d.server = spawn_server_actor(*d.sys, std::move(info), d.opts.log);
  caf::scoped_actor self{*d.sys};
  std::optional<error_info> failure;
  self->request(d.server, std::chrono::seconds(5), set_status_atom::value, std::string(node_online))
      .receive([](const node_info&) {},
               [&](caf::error& e) { failure = error_info{"", "", cat("cannot start: ", d.sys->render(e))}; });
  if (failure) return *failure;
  return ok_status();
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

void node::stop() {
  auto& d = *impl_;
  if (!d.sys) return;
  {
    caf::scoped_actor self{*d.sys};
    self->request(d.server, std::chrono::seconds(2), set_status_atom::value, std::string(node_shutting_down))
        .receive([](const node_info&) {}, [](caf::error&) {});
    self->send_exit(d.server, caf::exit_reason::user_shutdown);
  }
  d.server = nullptr;
  d.sys.reset();  // waits for every actor to finish
}

}  // namespace troupe
