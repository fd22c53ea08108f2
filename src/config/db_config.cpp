#include "src/config/db_config.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;

namespace troupe {

int quorum::resolve(int n) const {
  switch (k) {
    case kind::count: return count;
    case kind::majority: return n / 2 + 1;
    case kind::all: return n;
  }
  return n;
}

std::string quorum::to_string() const {
  switch (k) {
    case kind::count: return std::to_string(count);
    case kind::majority: return "\"majority\"";
    case kind::all: return "\"all\"";
  }
  return "?";
}

const cluster_config* db_config::find_cluster(std::string_view name) const {
  for (auto& [n, c] : clusters)
    if (n == name) return &c;
  return nullptr;
}

const cluster_config& db_config::effective(std::string_view cluster) const {
  if (auto* c = find_cluster(cluster)) return *c;
  auto* star = find_cluster("*");
  assert(star != nullptr);  // parse_db_config guarantees it
  return *star;
}

namespace {

struct ctx {
  std::string file;
  std::vector<std::string>* notices;
  error_info err(const std::string& path, std::string what) const { return {file, path, std::move(what)}; }
};

std::string key_path(const std::string& base, std::string_view key) {
  bool plain = !key.empty();
  for (char ch : key)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')) plain = false;
  if (plain) return cat(base, ".", key);
  return cat(base, "[\"", key, "\"]");
}

const char* kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "?";
}

result<bool> get_bool(const ctx& c, const json::value& v, const std::string& path) {
  if (!v.is_bool()) return c.err(path, cat("expected true or false, got ", kind_name(v)));
  return v.get_bool();
}

result<int64_t> get_int(const ctx& c, const json::value& v, const std::string& path, int64_t lo, int64_t hi) {
  int64_t x = 0;
  if (v.is_int64()) {
    x = v.get_int64();
  } else if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    x = static_cast<int64_t>(v.get_uint64());
  } else {
    return c.err(path, cat("expected an integer, got ", kind_name(v)));
  }
  if (x < lo || x > hi) return c.err(path, cat("must be in ", lo, "..", hi, ", got ", x));
  return x;
}

result<quorum> get_quorum(const ctx& c, const json::value& v, const std::string& path) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (s == "majority") return quorum{quorum::kind::majority, 0};
    if (s == "all") return quorum{quorum::kind::all, 0};
    return c.err(path, cat("expected an integer >= 1, \"majority\" or \"all\", got \"", s, "\""));
  }
  if (!v.is_int64() && !v.is_uint64())
    return c.err(path, cat("expected an integer >= 1, \"majority\" or \"all\", got ", kind_name(v)));
  auto n = get_int(c, v, path, INT64_MIN, INT64_MAX);
  if (!n) return n.error();
  if (*n < 1) return c.err(path, cat("a quorum must be at least 1, got ", *n));
  if (*n > 1000) return c.err(path, cat("a quorum of ", *n, " is more than any cluster can have (1000)"));
  return quorum{quorum::kind::count, static_cast<int>(*n)};
}

result<partitioning_config> get_partitioning(const ctx& c, const json::value& v, const std::string& path) {
  if (!v.is_object()) return c.err(path, cat("expected an object, got ", kind_name(v)));
  partitioning_config p;
  bool have_partitions = false;
  for (auto& [k, val] : v.get_object()) {
    auto kp = key_path(path, k);
    if (k == "strategy") {
      if (!val.is_string()) return c.err(kp, cat("expected a string, got ", kind_name(val)));
      p.strategy = std::string(val.get_string());
      if (p.strategy != "round-robin")
        return c.err(kp, cat("unknown partitioning strategy \"", p.strategy, "\" (troupe knows \"round-robin\")"));
    } else if (k == "default") {
      auto d = get_int(c, val, kp, 0, 1000);
      if (!d) return d.error();
      p.default_partition = static_cast<int>(*d);
    } else if (k == "partitions") {
      have_partitions = true;
      if (!val.is_array()) return c.err(kp, cat("expected an array of arrays of node names, got ", kind_name(val)));
      size_t i = 0;
      for (auto& part : val.get_array()) {
        auto pp = cat(kp, "[", i, "]");
        if (!part.is_array()) return c.err(pp, cat("expected an array of node names, got ", kind_name(part)));
        std::vector<std::string> nodes;
        size_t j = 0;
        for (auto& n : part.get_array()) {
          auto np = cat(pp, "[", j++, "]");
          if (!n.is_string()) return c.err(np, cat("expected a node name, got ", kind_name(n)));
          std::string name(n.get_string());
          if (name != new_node_tag && !valid_node_name(name))
            return c.err(np, cat("\"", name, "\" is not a node name (1-64 of A-Z a-z 0-9 . _ -) nor \"<NEW_NODE>\""));
          for (auto& seen : nodes)
            if (seen == name) return c.err(np, cat("\"", name, "\" is listed twice in one partition"));
          nodes.push_back(std::move(name));
        }
        p.partitions.push_back(std::move(nodes));
        ++i;
      }
      if (p.partitions.empty()) return c.err(kp, "there must be at least one partition");
    } else {
      c.notices->push_back(cat("ignored unknown key ", kp, " (", c.file, ")"));
    }
  }
  if (!have_partitions) return c.err(path, "missing \"partitions\"");
  if (static_cast<size_t>(p.default_partition) >= p.partitions.size())
    return c.err(key_path(path, "default"), cat("partition ", p.default_partition, " does not exist (there are ",
                                                p.partitions.size(), ")"));
  return p;
}

result<cluster_config> get_cluster(const ctx& c, const json::value& v, const std::string& path) {
  if (!v.is_object()) return c.err(path, cat("expected an object, got ", kind_name(v)));
  cluster_config cc;
  for (auto& [k, val] : v.get_object()) {
    auto kp = key_path(path, k);
    if (k == "replication") {
      auto b = get_bool(c, val, kp);
      if (!b) return b.error();
      cc.replication = *b;
    } else if (k == "readQuorum") {
      auto q = get_quorum(c, val, kp);
      if (!q) return q.error();
      cc.read_quorum = *q;
    } else if (k == "writeQuorum") {
      auto q = get_quorum(c, val, kp);
      if (!q) return q.error();
      cc.write_quorum = *q;
    } else if (k == "failureAvailableNodesLessQuorum") {
      auto b = get_bool(c, val, kp);
      if (!b) return b.error();
      cc.failure_available_nodes_less_quorum = *b;
    } else if (k == "readYourWrites") {
      auto b = get_bool(c, val, kp);
      if (!b) return b.error();
      cc.read_your_writes = *b;
    } else if (k == "partitioning") {
      auto p = get_partitioning(c, val, kp);
      if (!p) return p.error();
      cc.partitioning = std::move(*p);
    } else {
      c.notices->push_back(cat("ignored unknown key ", kp, " (", c.file, ")"));
    }
  }
  return cc;
}

}  // namespace

bool valid_database_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

result<db_config> parse_db_config(std::string_view text, const fs::path& path) {
  db_config out;
  ctx c{path.string(), &out.notices};
  json::parse_options opts;
  opts.allow_comments = true;
  opts.allow_trailing_commas = true;
  opts.max_depth = 32;
  json::stream_parser p({}, opts);
  boost::system::error_code ec;
  size_t used = p.write_some(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    return error_info{c.file, cat("line ", line_of(text, used)), cat("malformed JSON: ", ec.message())};
  }
  json::value root = p.release();
  if (!root.is_object()) return c.err("$", cat("expected an object, got ", kind_name(root)));
  bool have_clusters = false;
  for (auto& [k, val] : root.get_object()) {
    auto kp = key_path("$", k);
    if (k == "replication" || k == "autoDeploy" || k == "hotAlignment") {
      auto b = get_bool(c, val, kp);
      if (!b) return b.error();
      (k == "replication" ? out.replication : k == "autoDeploy" ? out.auto_deploy : out.hot_alignment) = *b;
    } else if (k == "resyncEvery") {
      auto n = get_int(c, val, kp, 0, 86400);
      if (!n) return n.error();
      out.resync_every_s = static_cast<int>(*n);
    } else if (k == "version") {
      auto n = get_int(c, val, kp, 0, INT64_MAX);
      if (!n) return n.error();
      out.version = *n;
    } else if (k == "clusters") {
      have_clusters = true;
      if (!val.is_object()) return c.err(kp, cat("expected an object, got ", kind_name(val)));
      for (auto& [name, cv] : val.get_object()) {
        auto cc = get_cluster(c, cv, key_path(kp, name));
        if (!cc) return cc.error();
        out.clusters.emplace_back(std::string(name), std::move(*cc));
      }
    } else {
      c.notices->push_back(cat("ignored unknown key ", kp, " (", c.file, ")"));
    }
  }
  if (!have_clusters) return c.err("$", "missing \"clusters\"");
  auto* star = out.find_cluster("*");
  if (star == nullptr) return c.err("$.clusters", "missing the \"*\" entry that applies to every other cluster");
  if (!star->partitioning && star->replication.value_or(out.replication))
    return c.err("$.clusters[\"*\"]", "missing \"partitioning\" (which nodes hold the replicated clusters)");
  return out;
}

result<db_config> load_db_config(const fs::path& path) {
  auto text = read_file(path);
  if (!text) return text.error();
  return parse_db_config(*text, path);
}

namespace {

void put_bool(std::string& o, const std::string& ind, const char* key, bool v, bool& first) {
  o += first ? "" : ",\n";
  first = false;
  o += cat(ind, "\"", key, "\": ", v ? "true" : "false");
}

}  // namespace

std::string to_json(const db_config& c) {
  std::string o = "{\n";
  bool first = true;
  put_bool(o, "  ", "replication", c.replication, first);
  put_bool(o, "  ", "autoDeploy", c.auto_deploy, first);
  put_bool(o, "  ", "hotAlignment", c.hot_alignment, first);
  o += cat(",\n  \"resyncEvery\": ", c.resync_every_s, ",\n  \"clusters\": {");
  bool first_cluster = true;
  for (auto& [name, cc] : c.clusters) {
    o += first_cluster ? "\n" : ",\n";
    first_cluster = false;
    o += cat("    ", json::serialize(json::value(name)), ": {");
    bool f = true;
    const std::string ind = "\n      ";
    auto sep = [&] {
      o += f ? "" : ",";
      f = false;
    };
    if (cc.replication) sep(), o += cat(ind, "\"replication\": ", *cc.replication ? "true" : "false");
    if (cc.read_quorum) sep(), o += cat(ind, "\"readQuorum\": ", cc.read_quorum->to_string());
    if (cc.write_quorum) sep(), o += cat(ind, "\"writeQuorum\": ", cc.write_quorum->to_string());
    if (cc.failure_available_nodes_less_quorum)
      sep(), o += cat(ind, "\"failureAvailableNodesLessQuorum\": ",
                      *cc.failure_available_nodes_less_quorum ? "true" : "false");
    if (cc.read_your_writes) sep(), o += cat(ind, "\"readYourWrites\": ", *cc.read_your_writes ? "true" : "false");
    if (cc.partitioning) {
      auto& p = *cc.partitioning;
      sep();
      o += cat(ind, "\"partitioning\": {", ind, "  \"strategy\": ", json::serialize(json::value(p.strategy)), ",",
               ind, "  \"default\": ", p.default_partition, ",", ind, "  \"partitions\": [");
      for (size_t i = 0; i < p.partitions.size(); ++i) {
        o += i ? ", [" : "[";
        for (size_t j = 0; j < p.partitions[i].size(); ++j)
          o += cat(j ? ", " : "", json::serialize(json::value(p.partitions[i][j])));
        o += "]";
      }
      o += cat("]", ind, "}");
    }
    o += "\n    }";
  }
  o += "\n  }";
  if (c.version > 0) o += cat(",\n  \"version\": ", c.version);
  o += "\n}\n";
  return o;
}

}  // namespace troupe
