#include "actors/protocol.hpp"

#include "src/replication/role.hpp"

namespace troupe {

namespace {
constexpr caf::atom_value troupe_category = caf::atom("troupe");
}

const char* to_string(errc e) {
  switch (e) {
    case errc::none: return "none";
    case errc::database_not_found: return "database_not_found";
    case errc::database_exists: return "database_exists";
    case errc::io_error: return "io_error";
    case errc::invalid_argument: return "invalid_argument";
    case errc::shutting_down: return "shutting_down";
    case errc::join_refused: return "join_refused";
    case errc::not_member: return "not_member";
    case errc::access_denied: return "access_denied";
    case errc::not_found: return "not_found";
    case errc::unavailable: return "unavailable";
    case errc::database_in_use: return "database_in_use";
    case errc::no_leader: return "no_leader";
  }
  return "unknown";
}

caf::error make_troupe_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), troupe_category, caf::make_message(std::move(message))};
}

struct write_callback::slot {
  std::mutex m;
  function f;  // empty once called
  ~slot() {
    if (f)
      // Nobody answered: no quorum to tell, and the write may still be applied.
      f(make_troupe_error(errc::unavailable, replication::unavailable_body(
                                                 "the database stopped before it answered the write", 0, {}, {}, "unknown")));
  }
};

write_callback::write_callback(function f) : slot_(std::make_shared<slot>()) { slot_->f = std::move(f); }

void write_callback::operator()(caf::expected<op_results> r) const {
  if (!slot_) return;
  function f;
  {
    std::lock_guard<std::mutex> g(slot_->m);
    f = std::move(slot_->f);
    slot_->f = nullptr;
  }
  // An exception would otherwise end the database actor that calls this; the
  // responder the callback held answers 500 when it is dropped unanswered.
  try {
    if (f) f(std::move(r));
  } catch (...) {
  }
}

errc troupe_code(const caf::error& e) {
  if (!e || e.category() != troupe_category) return errc::none;
  return static_cast<errc>(e.code());
}

std::string error_text(const caf::actor_system& sys, const caf::error& e) {
  if (e.category() == troupe_category && e.context().match_elements<std::string>())
    return e.context().get_as<std::string>(0);
  return sys.render(e);
}

void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<node_info>("troupe.node_info");
  cfg.add_message_type<std::vector<std::string>>("std::vector<std::string>");
  cfg.add_message_type<storage::rid>("troupe.rid");
  cfg.add_message_type<storage::record>("troupe.record");
  cfg.add_message_type<storage::op>("troupe.op");
  cfg.add_message_type<storage::op_result>("troupe.op_result");
  cfg.add_message_type<op_list>("troupe.op_list");
  cfg.add_message_type<op_results>("troupe.op_results");
  cfg.add_message_type<member_info>("troupe.member_info");
  cfg.add_message_type<std::vector<member_info>>("troupe.member_infos");
  cfg.add_message_type<cluster_view>("troupe.cluster_view");
  cfg.add_message_type<db_config_msg>("troupe.db_config_msg");
  cfg.add_message_type<db_config_msgs>("troupe.db_config_msgs");
  cfg.add_message_type<cluster_state>("troupe.cluster_state");
  cfg.add_message_type<hello_reply>("troupe.hello_reply");
  cfg.add_message_type<partition_entry>("troupe.partition_entry");
  cfg.add_message_type<partition_entries>("troupe.partition_entries");
  cfg.add_message_type<storage::log_entry>("troupe.log_entry");
  cfg.add_message_type<log_entries>("troupe.log_entries");
  cfg.add_message_type<storage::staged_entry>("troupe.staged_entry");
  cfg.add_message_type<std::vector<storage::staged_entry>>("troupe.staged_entries");
  cfg.add_message_type<replication::append_msg>("troupe.append_msg");
  cfg.add_message_type<replication::ack_msg>("troupe.ack_msg");
  cfg.add_message_type<replication::tail_msg>("troupe.tail_msg");
  cfg.add_message_type<replication::fetch_msg>("troupe.fetch_msg");
  cfg.add_message_type<replication::role>("troupe.role");
  cfg.add_message_type<repl_envelope>("troupe.repl_envelope");
  cfg.add_message_type<fwd_reply>("troupe.fwd_reply");
  cfg.add_message_type<fwd_replies>("troupe.fwd_replies");
  cfg.add_message_type<op_lists>("troupe.op_lists");
  cfg.add_message_type<read_reply>("troupe.read_reply");
  cfg.add_message_type<deploy::chunk>("troupe.deploy_chunk");
  cfg.add_message_type<deploy::manifest>("troupe.deploy_manifest");
  cfg.add_message_type<deploy::progress>("troupe.deploy_progress");
  cfg.add_message_type<deploy_progresses>("troupe.deploy_progresses");
  cfg.add_message_type<actor_summary>("troupe.actor_summary");
  cfg.add_message_type<actor_summaries>("troupe.actor_summaries");
  cfg.add_message_type<cluster_report>("troupe.cluster_report");
  cfg.add_message_type<class_row>("troupe.class_row");
  cfg.add_message_type<std::vector<class_row>>("troupe.class_rows");
  cfg.add_message_type<storage::cluster_info>("troupe.cluster_info");
  cfg.add_message_type<std::vector<storage::cluster_info>>("troupe.cluster_infos");
  cfg.add_message_type<db_info>("troupe.db_info");
  cfg.add_message_type<replication_row>("troupe.replication_row");
  cfg.add_message_type<replication_rows>("troupe.replication_rows");
  cfg.add_message_type<records>("troupe.records");
  cfg.add_message_type<login_challenge>("troupe.login_challenge");
  cfg.add_message_type<console_peer>("troupe.console_peer");
  cfg.add_message_type<console_peers>("troupe.console_peers");
  cfg.add_error_category(troupe_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) -> std::string {
    std::string out = "troupe.";
    out += to_string(static_cast<errc>(code));
    if (ctx.match_elements<std::string>()) {
      out += ": ";
      out += ctx.get_as<std::string>(0);
    }
    return out;
  });
}

}  // namespace troupe
