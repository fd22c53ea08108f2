#include "src/console/render.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include <boost/json.hpp>

#include "src/util/strings.hpp"

namespace json = boost::json;

namespace troupe::console {

namespace {

error_info fail(std::string what) { return error_info{"", "", std::move(what)}; }

void pretty(const json::value& v, std::string& out, int depth) {
  auto indent = [&](int d) { out.append(static_cast<size_t>(d) * 2, ' '); };
  if (v.is_object()) {
    auto& o = v.get_object();
    if (o.empty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    size_t i = 0;
    for (auto& [k, x] : o) {
      indent(depth + 1);
      out += json::serialize(json::value(k));
      out += ": ";
      pretty(x, out, depth + 1);
      out += ++i < o.size() ? ",\n" : "\n";
    }
    indent(depth);
    out += "}";
  } else if (v.is_array()) {
    auto& a = v.get_array();
    // Short arrays of scalars stay on one line: partition lists read better so.
    bool flat = std::all_of(a.begin(), a.end(), [](auto& x) { return !x.is_object() && !x.is_array(); });
    if (flat && json::serialize(a).size() <= 80) {
      out += "[";
      for (size_t i = 0; i < a.size(); ++i) out += (i ? ", " : "") + json::serialize(a[i]);
      out += "]";
      return;
    }
    out += "[\n";
    for (size_t i = 0; i < a.size(); ++i) {
      indent(depth + 1);
      pretty(a[i], out, depth + 1);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    indent(depth);
    out += "]";
  } else {
    out += json::serialize(v);
  }
}

std::string cut(std::string s) {
  if (s.size() > cell_chars_max) s = s.substr(0, cell_chars_max - 3) + "...";
  return s;
}

const json::object* object_at(const json::value& v, std::string_view key) {
  if (!v.is_object()) return nullptr;
  auto* x = v.get_object().if_contains(key);
  return x && x->is_object() ? &x->get_object() : nullptr;
}

json::value parse_or_null(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? json::value() : v;
}

std::string heartbeat_age(const cluster_report& r, const std::string& member) {
  if (member == r.local_name) return "- (this node)";
  auto detail = parse_or_null(r.cluster_actor.detail_json);
  auto* heard = object_at(detail, "heardMsAgo");
  if (heard == nullptr) return "unknown";
  auto* ms = heard->if_contains(member);
  if (ms == nullptr || !ms->is_number()) return "never";
  return cat(ms->to_number<int64_t>(), " ms ago");
}

// Each database of the member with its status: the member's own report
// (db_status, carried in the view), and for this node also the transfers it
// receives right now (shown before the view has caught up).
std::string member_databases(const cluster_report& r, const member_info& m) {
  std::vector<std::string> names = m.databases;
  for (auto& [db, st] : m.db_status)
    if (std::count(names.begin(), names.end(), db) == 0) names.push_back(db);
  if (m.name == r.local_name)
    for (auto& db : r.receiving)
      if (std::count(names.begin(), names.end(), db) == 0) names.push_back(db);
  std::string out;
  for (auto& db : names) {
    bool syncing = m.name == r.local_name && std::count(r.receiving.begin(), r.receiving.end(), db) > 0;
    auto shown = m.shown_status(db);
    std::string status = syncing ? "SYNCHRONIZING" : !shown.empty() ? shown : m.status;
    out += cat(out.empty() ? "" : ", ", db, "=", status);
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace

std::string render_table(const std::vector<std::string>& headers, const std::vector<std::vector<std::string>>& rows,
                         style st) {
  std::vector<size_t> width(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) width[i] = headers[i].size();
  std::vector<std::vector<std::string>> cells;
  for (auto& r : rows) {
    std::vector<std::string> row;
    for (size_t i = 0; i < headers.size(); ++i) {
      row.push_back(cut(i < r.size() ? r[i] : ""));
      width[i] = std::max(width[i], row.back().size());
    }
    cells.push_back(std::move(row));
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out.append(width[i] - r[i].size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out;
  auto head = line(headers);
  out += st.color ? cat("\x1b[1m", head.substr(0, head.size() - 1), "\x1b[0m\n") : head;
  size_t total = 0;
  for (size_t i = 0; i < width.size(); ++i) total += width[i] + (i + 1 < width.size() ? 2 : 0);
  out += std::string(total, '-') + "\n";
  for (auto& r : cells) out += line(r);
  return out;
}

std::string pretty_json(std::string_view text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) return std::string(text);
  std::string out;
  pretty(v, out, 0);
  return out;
}

std::string progress_bar(double fraction, size_t width) {
  fraction = std::clamp(fraction, 0.0, 1.0);
  auto done = static_cast<size_t>(fraction * static_cast<double>(width) + 0.5);
  return "[" + std::string(done, '#') + std::string(width - done, '.') + "]";
}

std::string format_time_ms(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string render_actors(const std::vector<actor_summary>& xs, style st) {
  std::vector<std::vector<std::string>> rows;
  for (auto& x : xs) rows.push_back({x.name, cat(x.id), cat(x.mailbox), x.summary});
  return render_table({"NAME", "ID", "MAILBOX", "STATE"}, rows, st) + cat(xs.size(), " actor(s)\n");
}

std::string render_inspect(const actor_summary& x) {
  return cat("actor:   ", x.name, "\nid:      ", x.id, "\nmailbox: ", x.mailbox, "\nstate:   ", x.summary, "\n",
             pretty_json(x.detail_json), "\n");
}

std::string render_members(const cluster_report& r, style st) {
  std::vector<std::vector<std::string>> rows;
  for (auto& m : r.state.view.members)
    rows.push_back({m.name + (m.name == r.local_name ? " (*)" : ""), m.status,
                    cat("cluster ", m.cluster_host, ":", m.cluster_port, ", http ", m.http_host, ":", m.http_port),
                    format_time_ms(m.started_on_ms), member_databases(r, m), heartbeat_age(r, m.name)});
  return render_table({"NAME", "STATUS", "ADDRESSES", "STARTED ON (UTC)", "DATABASES", "HEARTBEAT"}, rows, st) +
         cat(r.state.view.members.size(), " member(s), view version ", r.state.view.version, "; (*) = the node ",
             "connected to\n");
}

result<std::string> render_partitions(const cluster_report& r, const std::string& db, style st) {
  std::vector<std::vector<std::string>> rows;
  for (auto& p : r.partitions) {
    if (p.database != db) continue;
    std::string replicas;
    for (auto& x : p.replicas) replicas += cat(replicas.empty() ? "" : ", ", x);
    rows.push_back({p.cluster, cat(p.partition), replicas, p.owner.empty() ? "(none online)" : p.owner});
  }
  if (rows.empty()) return fail(cat("no partition table for database '", db, "' (not a database of the cluster?)"));
  return cat("Partition table of ", db, ":\n", render_table({"CLUSTER", "PARTITION", "REPLICAS", "OWNER"}, rows, st));
}

result<std::string> render_config(const cluster_report& r, const std::string& db) {
  for (auto& c : r.state.configs)
    if (c.db == db)
      return cat("Distributed configuration of ", db, " (version ", c.version, "):\n", pretty_json(c.json), "\n");
  return fail(cat("no distributed configuration for database '", db, "'"));
}

std::string render_deploys(const std::vector<deploy::progress>& xs, style st) {
  if (xs.empty()) return "No deploys in flight.\n";
  std::vector<std::vector<std::string>> rows;
  for (auto& p : xs) {
    double fraction = p.bytes_total ? static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total) : 0.0;
    auto left = p.ms_left();
    rows.push_back({p.db, p.outgoing ? cat("to ", p.peer) : cat("from ", p.peer), p.phase,
                    cat(progress_bar(fraction), " ", p.bytes_total ? cat(static_cast<int>(fraction * 100), "%") : "?"),
                    deploy::format_rate(p.bytes_per_second()), left ? deploy::format_duration_ms(*left) : "unknown"});
  }
  return render_table({"DATABASE", "DIRECTION", "PHASE", "PROGRESS", "RATE", "LEFT"}, rows, st) +
         cat(xs.size(), " deploy(s) in flight\n");
}

std::string render_replication(const std::string& db, const std::vector<replication_row>& rows, style st) {
  uint64_t top = 0;
  for (auto& r : rows)
    if (r.has_db) top = std::max(top, r.committed_seq);
  std::vector<std::vector<std::string>> cells;
  for (auto& r : rows) {
    if (!r.has_db) {
      cells.push_back({r.node, r.status, "(no such database)", "-", "-"});
      continue;
    }
    cells.push_back({r.node, r.status, cat(r.last_lsn), cat(r.committed_seq), cat(top - r.committed_seq)});
  }
  return cat("Replication of ", db, ":\n", render_table({"NODE", "STATUS", "LAST LSN", "SEQ", "LAG"}, cells, st),
             "SEQ: the last write committed in the database's replication order; LAG: writes the node has yet to "
             "commit, against the most advanced node. LSNs are each node's own change log.\n");
}

std::string render_cluster_status(const cluster_report& r) {
  json::object o;
  o["localName"] = r.local_name;
  o["localId"] = r.local_node_id;
  o["viewVersion"] = r.state.view.version;
  json::array members;
  for (auto& m : r.state.view.members) {
    json::object mo;
    mo["name"] = m.name;
    mo["id"] = m.node_id;
    mo["status"] = m.status;
    mo["startedOn"] = format_time_ms(m.started_on_ms);
    json::array ls;
    ls.emplace_back(json::object{{"protocol", "cluster"}, {"listen", cat(m.cluster_host, ":", m.cluster_port)}});
    ls.emplace_back(json::object{{"protocol", "ONetworkProtocolHttpDb"}, {"listen", cat(m.http_host, ":", m.http_port)}});
    mo["listeners"] = std::move(ls);
    json::array dbs;
    for (auto& d : m.databases) dbs.emplace_back(d);
    mo["databases"] = std::move(dbs);
    members.emplace_back(std::move(mo));
  }
  o["members"] = std::move(members);
  json::object dbs;
  for (auto& c : r.state.configs) dbs[c.db] = json::object{{"configVersion", c.version}};
  o["databases"] = std::move(dbs);
  return pretty_json(json::serialize(o)) + "\n";
}

std::string render_ha_status(const cluster_report& r, style st) {
  std::vector<std::vector<std::string>> servers;
  for (auto& m : r.state.view.members)
    servers.push_back({m.name, m.status, cat(m.cluster_host, ":", m.cluster_port), format_time_ms(m.started_on_ms),
                       member_databases(r, m)});
  std::vector<std::vector<std::string>> dbs;
  for (auto& c : r.state.configs) {
    std::set<std::string> replicas, owners;
    for (auto& p : r.partitions) {
      if (p.database != c.db) continue;
      replicas.insert(p.replicas.begin(), p.replicas.end());
      if (!p.owner.empty()) owners.insert(p.owner);
    }
    auto join = [](const std::set<std::string>& s) {
      std::string out;
      for (auto& x : s) out += cat(out.empty() ? "" : ", ", x);
      return out.empty() ? std::string("(none)") : out;
    };
    dbs.push_back({c.db, cat(c.version), join(replicas), join(owners)});
  }
  return cat("SERVERS\n", render_table({"NAME", "STATUS", "CLUSTER ADDRESS", "STARTED ON (UTC)", "DATABASES"}, servers, st),
             "\nDATABASES\n", render_table({"DATABASE", "CONFIG VERSION", "REPLICAS", "OWNERS"}, dbs, st));
}

std::string render_databases(const std::vector<std::string>& names) {
  std::string out = cat("Found ", names.size(), " database(s):\n");
  for (auto& n : names) out += cat("* ", n, " (plocal)\n");
  return out;
}

std::string render_info(const db_info& x, style st) {
  std::map<int32_t, std::string> cluster_names;
  for (auto& c : x.clusters) cluster_names[c.id] = c.name;
  std::vector<std::vector<std::string>> classes, clusters;
  int64_t class_total = 0, cluster_total = 0;
  for (auto& c : x.classes) {
    classes.push_back({c.name, c.superclass, cat(cluster_names[c.default_cluster], "(", c.default_cluster, ")"),
                       cat(c.records)});
    class_total += c.records;
  }
  for (auto& c : x.clusters) {
    clusters.push_back({c.name, cat(c.id), cat(c.records)});
    cluster_total += c.records;
  }
  classes.push_back({"TOTAL", "", "", cat(class_total)});
  clusters.push_back({"TOTAL", "", cat(cluster_total)});
  return cat("Database ", x.name, " (last LSN ", x.last_lsn, ")\n\nCLASSES\n",
             render_table({"NAME", "SUPERCLASS", "CLUSTERS", "COUNT"}, classes, st), "\nCLUSTERS\n",
             render_table({"NAME", "ID", "COUNT"}, clusters, st));
}

std::string render_record(const storage::record& r) { return pretty_json(r.to_json()) + "\n"; }

std::string render_browse(const std::string& cluster, const std::vector<storage::record>& xs, uint32_t limit) {
  std::string out;
  for (auto& r : xs) out += r.to_json() + "\n";
  out += cat(xs.size(), " record(s) of cluster ", cluster, xs.size() >= limit ? cat(" (limit ", limit, ")") : "", "\n");
  return out;
}

}  // namespace troupe::console
