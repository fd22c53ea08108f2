#include "src/link/identity.hpp"

#include <vector>

#include "src/util/fs.hpp"
#include "src/util/strings.hpp"

namespace troupe::link {

namespace {
constexpr std::string_view key_file_head = "troupe node key v1\n";
}  // namespace

result<node_key> load_or_create_node_key(const std::filesystem::path& dir, const std::string& node_name) {
  auto path = dir / cat("node-", node_name, ".key");
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) {
    auto text = read_file(path);
    if (!text) return text.error();
    std::string_view t = *text;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.remove_suffix(1);
    std::optional<node_key> k;
    if (t.substr(0, key_file_head.size()) == key_file_head)
      if (auto secret = unhex(t.substr(key_file_head.size()))) k = node_key_from_secret(*secret);
    if (!k)
      return error_info{path.string(), "",
                        "not a troupe node key (the cluster knows this node by it: restore it, or remove it to make "
                        "a new one and restart every member)"};
    return *k;
  }
  auto k = generate_node_key();
  if (auto st = write_file_atomic(path, cat(key_file_head, key_text(k.secret), "\n"), 0600); !st) return st.error();
  return k;
}

bool peer_book::bind(uint64_t link, const std::string& node_id, const std::string& key, const std::string& address,
                     closer close, std::string& why) {
  std::lock_guard<std::mutex> g(mtx_);
  if (!own_.empty() && node_id == own_) {
    why = cat("the link announces this node's own node id (", node_id, ")");
    return false;
  }
  if (auto a = admitted_.find(node_id); a != admitted_.end() && a->second != key) {
    why = cat("the link announces the node id of a member (", node_id, ") but proved another node key (",
              key.substr(0, 16), "...)");
    return false;
  }
  for (auto& [id, e] : links_) {
    if (id == link || e.node_id != node_id) continue;
    if (one_link_ || e.key != key) {
      why = cat("another link already announced node id ", node_id, one_link_ ? "" : " under another node key");
      return false;
    }
  }
  links_[link] = entry{node_id, key, address, std::move(close)};
  return true;
}

void peer_book::own(const std::string& node_id) {
  std::lock_guard<std::mutex> g(mtx_);
  own_ = node_id;
}

void peer_book::unbind(uint64_t link) {
  std::lock_guard<std::mutex> g(mtx_);
  links_.erase(link);
}

std::optional<std::string> peer_book::key_of(const std::string& node_id) const {
  std::lock_guard<std::mutex> g(mtx_);
  for (auto& [id, e] : links_)
    if (e.node_id == node_id) return e.key;
  return std::nullopt;
}

std::optional<std::string> peer_book::address_of(const std::string& node_id) const {
  std::lock_guard<std::mutex> g(mtx_);
  for (auto& [id, e] : links_)
    if (e.node_id == node_id) return e.address;
  return std::nullopt;
}

void peer_book::admit(std::map<std::string, std::string> keys) {
  std::vector<closer> to_close;
  {
    std::lock_guard<std::mutex> g(mtx_);
    admitted_ = std::move(keys);
    for (auto i = links_.begin(); i != links_.end();) {
      auto a = admitted_.find(i->second.node_id);
      if (a != admitted_.end() && a->second != i->second.key) {
        if (i->second.close) to_close.push_back(std::move(i->second.close));
        i = links_.erase(i);
      } else {
        ++i;
      }
    }
  }
  for (auto& c : to_close) c();
}

size_t peer_book::links() const {
  std::lock_guard<std::mutex> g(mtx_);
  return links_.size();
}

}  // namespace troupe::link
