#include "src/console/render.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include <boost/json.hpp>

#include "src/console/sql.hpp"
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
  auto out = cat("Database ", x.name, " (last LSN ", x.last_lsn, ")\n\nCLASSES\n",
                 render_table({"NAME", "SUPERCLASS", "CLUSTERS", "COUNT"}, classes, st), "\nCLUSTERS\n",
                 render_table({"NAME", "ID", "COUNT"}, clusters, st));
  // The cluster's side of the database: its configuration and who holds it.
  if (x.config_json.empty() && x.members.empty()) return out + "\nNot distributed: this node serves it alone.\n";
  if (!x.config_json.empty())
    out += cat("\nDISTRIBUTED CONFIGURATION (version ", x.config_version, ")\n", pretty_json(x.config_json), "\n");
  else
    out += "\nNo distributed configuration for this database.\n";
  std::vector<std::vector<std::string>> members;
  size_t holding = 0;
  for (auto& m : x.members) {
    holding += m.db_status.empty() ? 0 : 1;
    members.push_back({m.name, m.status, m.db_status.empty() ? "-" : m.db_status,
                       m.port != 0 ? cat(m.host, ":", m.port) : "-", m.here ? "(this node)" : ""});
  }
  return cat(out, "\nMEMBERS\n", render_table({"NAME", "STATUS", "DATABASE", "CONSOLE", ""}, members, st),
             holding, " of ", x.members.size(), " member(s) hold ", x.name, "\n");
}

std::string render_record(const storage::record& r) { return pretty_json(r.to_json()) + "\n"; }

std::string render_browse(const std::string& cluster, const std::vector<storage::record>& xs, uint32_t limit) {
  std::string out;
  for (auto& r : xs) out += r.to_json() + "\n";
  out += cat(xs.size(), " record(s) of cluster ", cluster, xs.size() >= limit ? cat(" (limit ", limit, ")") : "", "\n");
  return out;
}


// --- SQL ------------------------------------------------------------------------

namespace {

// Widths count characters (UTF-8 code points), not bytes, so that a name with
// accents lines up and is never cut inside a character.
size_t chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string first_chars(std::string_view s, size_t n) {
  size_t i = 0, seen = 0;
  for (; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == n) break;
      ++seen;
    }
  }
  return std::string(s.substr(0, i));
}

std::string pad(std::string s, size_t width) {
  auto n = chars(s);
  if (n < width) s.append(width - n, ' ');
  return s;
}

std::string one_line(std::string s) {
  for (auto& c : s)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

// A value as a table cell shows it (OTableFormatter.getPrettyFieldValue).
std::string cell_text(const json::value& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return one_line(std::string(v.get_string()));
  if (v.is_array()) {
    auto& a = v.get_array();
    std::string out = "[";
    for (size_t i = 0; i < a.size(); ++i) {
      if (i >= sql_cell_entries_max) {
        out += cat("(size=", a.size(), ")");
        break;
      }
      if (i > 0) out += ",";
      out += cell_text(a[i]);
    }
    return out + "]";
  }
  return one_line(json::serialize(v));
}

// A value as ODocument.toString() shows it inside {...}.
std::string doc_value_text(const json::value& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_array()) return cat("[", v.get_array().size(), "]");
  if (v.is_object()) return cat("[", v.get_object().size(), "]");
  return json::serialize(v);
}

std::vector<json::object> parse_rows(const std::vector<std::string>& rows) {
  std::vector<json::object> out;
  out.reserve(rows.size());
  for (auto& r : rows) {
    auto v = parse_or_null(r);
    out.push_back(v.is_object() ? std::move(v.get_object()) : json::object{});
  }
  return out;
}

bool is_meta(std::string_view key) { return !key.empty() && key.front() == '@'; }

std::string string_at(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// A stored record's RID ("#9:0"); a projection row has none (OrientDB gives
// those temporary, negative RIDs, which hide the @RID column).
bool stored_rid(const json::object& o) {
  auto rid = string_at(o, "@rid");
  return !rid.empty() && rid.rfind("#-", 0) != 0;
}

// "3" for the one-value answer of UPDATE, DELETE, CREATE PROPERTY, ... (a
// row {"value": x} without a RID), else nothing.
std::optional<std::string> single_value(const std::vector<json::object>& rows) {
  if (rows.size() != 1 || stored_rid(rows[0])) return std::nullopt;
  auto* v = rows[0].if_contains("value");
  if (v == nullptr) return std::nullopt;
  return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
}

std::string records_text(const std::vector<std::string>& rows) {
  if (rows.size() == 1) return document_text(rows[0]);
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); ++i) out += cat(i ? ", " : "", document_text(rows[i]));
  return out + "]";
}

}  // namespace

result<std::vector<std::string>> parse_sql_answer(std::string_view answer) {
  boost::system::error_code ec;
  auto v = json::parse(answer, ec);
  if (ec) return fail(cat("the node's answer is not JSON: ", ec.message()));
  auto* r = v.is_object() ? v.get_object().if_contains("result") : nullptr;
  if (r == nullptr || !r->is_array()) return fail("the node's answer has no \"result\" array");
  std::vector<std::string> out;
  for (auto& x : r->get_array()) {
    if (!x.is_object()) return fail("the node's answer holds a row that is not an object");
    out.push_back(json::serialize(x));
  }
  return out;
}

std::string document_text(std::string_view row_json) {
  auto v = parse_or_null(row_json);
  if (!v.is_object()) return std::string(row_json);
  auto& o = v.get_object();
  std::string out = string_at(o, "@class");
  bool stored = stored_rid(o);
  if (stored) out += string_at(o, "@rid");
  bool first = true;
  for (auto& [k, x] : o) {
    if (is_meta(k)) continue;
    out += cat(first ? "{" : ",", std::string_view(k), ":", doc_value_text(x));
    first = false;
  }
  if (!first) out += "}";
  if (stored) {
    auto* ver = o.if_contains("@version");
    out += cat(" v", ver && ver->is_number() ? json::serialize(*ver) : std::string("?"));
  }
  return out;
}

std::string render_sql_table(const std::vector<std::string>& rows_text, size_t shown, size_t width_max) {
  auto rows = parse_rows(rows_text);
  shown = std::min(shown, rows.size());
  if (shown == 0) return "";
  // Columns: #, @RID, @CLASS, then the fields in order of first appearance.
  bool all_stored = true, any_class = false;
  std::vector<std::string> names = {"#"};
  for (size_t i = 0; i < shown; ++i) {
    all_stored = all_stored && stored_rid(rows[i]);
    any_class = any_class || !string_at(rows[i], "@class").empty();
  }
  if (all_stored) names.push_back("@RID");
  if (any_class) names.push_back("@CLASS");
  size_t fixed = names.size();
  for (size_t i = 0; i < shown; ++i)
    for (auto& [k, x] : rows[i])
      if (!is_meta(k) && std::find(names.begin(), names.end(), std::string_view(k)) == names.end())
        names.emplace_back(k);
  // Every cell's text, and each column as wide as its widest (header included).
  std::vector<std::vector<std::string>> cells(shown);
  std::vector<size_t> width(names.size());
  for (size_t c = 0; c < names.size(); ++c) width[c] = std::max(sql_column_width_min, chars(names[c]));
  for (size_t i = 0; i < shown; ++i) {
    for (size_t c = 0; c < names.size(); ++c) {
      std::string t;
      if (names[c] == "#") t = cat(i);
      else if (c < fixed && names[c] == "@RID") t = string_at(rows[i], "@rid");
      else if (c < fixed && names[c] == "@CLASS") t = string_at(rows[i], "@class");
      else if (auto* x = rows[i].if_contains(names[c])) t = cell_text(*x);
      width[c] = std::max(width[c], chars(t));
      cells[i].push_back(std::move(t));
    }
  }
  // Too wide: the widest columns (as they were) lose a tenth each, in turn,
  // until the columns fit or none can shrink without going below the minimum.
  size_t total = 0;
  for (auto w : width) total += w;
  if (total > width_max) {
    std::vector<size_t> order(width.size());
    for (size_t c = 0; c < order.size(); ++c) order[c] = c;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return width[a] > width[b]; });
    while (total > width_max) {
      size_t before = total;
      for (auto c : order) {
        size_t redux = width[c] / 10;
        if (width[c] - redux < sql_column_width_min) break;
        width[c] -= redux;
        total -= redux;
        if (total <= width_max) break;
      }
      if (total == before) break;
    }
  }
  auto cut = [&](const std::string& t, size_t w) {
    if (chars(t) <= w) return t;
    return w > 3 ? first_chars(t, w - 3) + "..." : first_chars(t, w);
  };
  std::string rule = "+";
  for (size_t c = 0; c < names.size(); ++c) rule += std::string(width[c], '-') + "+";
  rule += "\n";
  std::string out = rule + "|";
  for (size_t c = 0; c < names.size(); ++c) out += pad(first_chars(names[c], width[c]), width[c]) + "|";
  out += "\n" + rule;
  for (auto& r : cells) {
    out += "|";
    for (size_t c = 0; c < names.size(); ++c) out += pad(cut(r[c], width[c]), width[c]) + "|";
    out += "\n";
  }
  return out + rule;
}

std::string render_result_set(std::string_view verb, const std::vector<std::string>& rows, size_t display_max,
                              double seconds, size_t width_max) {
  size_t shown = std::min(rows.size(), display_max);
  std::string out = render_sql_table(rows, shown, width_max);
  if (rows.size() > display_max)
    out += cat("LIMIT EXCEEDED: resultset contains more items not displayed (limit=", display_max, ")\n");
  if (!out.empty()) out += "\n";
  return out + cat(shown, " item(s) found. ", verb == "traverse" ? "Traverse" : "Query", " executed in ",
                   seconds_short(seconds), " sec(s).\n");
}

std::string render_write_answer(std::string_view verb, const std::vector<std::string>& rows, double seconds,
                                std::optional<size_t> classes_now) {
  auto parsed = parse_rows(rows);
  auto value = single_value(parsed);
  auto what = value ? *value : records_text(rows);
  auto in = cat(" in ", seconds_fixed(seconds), " sec(s).\n");
  if (verb == "create vertex") return cat("Created vertex '", what, "'", in);
  if (verb == "insert") return cat("Inserted record '", what, "'", in);
  if (verb == "update") return cat("Updated record(s) '", what, "'", in);
  if (verb == "delete") return cat("Delete record(s) '", what, "'", in);
  if (verb == "create edge")
    return cat(render_sql_table(rows, sql_display_rows_default), "Created '", rows.size(), "' edges", in);
  if (verb == "create class")
    return classes_now ? cat("Class created successfully. Total classes in database now: ", *classes_now, ".\n")
                       : std::string("Class created successfully.\n");
  if (verb == "create property") return cat("Property created successfully with id=", what, ".\n");
  if (verb == "create index")
    return cat("Created index successfully with ", what, " entries", in, "Index created successfully\n");
  if (verb == "drop class") return cat("Removed class", in);
  if (verb == "drop index") return cat("Dropped index", in, "Index removed successfully\n");
  if (verb == "drop property") return cat("Removed class property", in);
  return cat("Executed '", what, "'", in);
}

std::string seconds_short(double seconds) {
  // Java's Float.toString of a millisecond count / 1000: the shortest
  // decimals, at least one.
  auto ms = static_cast<int64_t>(seconds * 1000.0 + 0.5);
  if (ms < 0) ms = 0;
  std::string frac = cat(1000 + ms % 1000).substr(1);
  while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
  return cat(ms / 1000, ".", frac);
}

std::string seconds_fixed(double seconds) {
  auto ms = static_cast<int64_t>(seconds * 1000.0 + 0.5);
  if (ms < 0) ms = 0;
  return cat(ms / 1000, ".", cat(1000 + ms % 1000).substr(1), "000");
}

}  // namespace troupe::console
