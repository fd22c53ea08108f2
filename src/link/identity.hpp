// Which member is which: node keys and the book that binds CAF node ids to them.
//
// Every node signs its link handshakes with its own Ed25519 key
// (src/link/crypto.hpp), made at its first start and kept in
// <home>/config/node-<name>.key (0600). The guard learns from each link the key
// the peer proved and the CAF node id it then announced in BASP, and records
// the pair in a peer_book; the cluster actor admits a joiner with the key its
// link proved (member_info::key) and gives the book every member's pair
// (admit). From then on:
// - a link that announces a member's node id under another key is refused
//   before CAF reads its handshake, and links already open under another key
//   are closed when the view names the member;
// - two live links may announce one node id only under one key;
// - so a message CAF delivers from a member's node id came over a link signed
//   by that member's key: a member (who knows the group password) cannot pose
//   as another one.
// - no link may announce this node's own node id (own()): CAF takes messages
//   from a connection that announced it as sent by this node's own actors,
//   and "sent by an actor of this node" is what local commands rely on.
// On the console port (bounds only, no keys) the book holds each console's
// address, and at most one live link per node id: a second link announcing a
// logged-in console's node id would otherwise share its session.
//
// Thread-safe: the guard's io thread binds and unbinds, the cluster actor admits
// and asks. Closers are called without the lock held.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "src/link/crypto.hpp"
#include "src/util/result.hpp"

namespace troupe::link {

// <dir>/node-<name>.key: loaded, or made and written 0600 if missing. A file
// that is there but not a key stops the start (error names it); it is never
// replaced, since the cluster knows the node by it.
result<node_key> load_or_create_node_key(const std::filesystem::path& dir, const std::string& node_name);

class peer_book {
 public:
  using closer = std::function<void()>;
  explicit peer_book(bool one_link_per_node = false) : one_link_(one_link_per_node) {}

  // A link (its guard's id) whose peer proved `key_text` (empty on the console
  // port) and announced `node_id`, from `address`. False and `why`: refuse it.
  bool bind(uint64_t link, const std::string& node_id, const std::string& key, const std::string& address,
            closer close, std::string& why);
  void unbind(uint64_t link);
  // This node's own CAF node id, refused to every link. Set before the port opens.
  void own(const std::string& node_id);

  // The key a live link proved for node_id.
  std::optional<std::string> key_of(const std::string& node_id) const;
  // The address of a live link that announced node_id.
  std::optional<std::string> address_of(const std::string& node_id) const;
  // The cluster's members: node id -> key. Replaces the previous set; live
  // links that announced one of these node ids under another key are closed.
  void admit(std::map<std::string, std::string> keys);
  size_t links() const;

 private:
  struct entry {
    std::string node_id, key, address;
    closer close;
  };
  bool one_link_;
  mutable std::mutex mtx_;
  std::map<uint64_t, entry> links_;
  std::map<std::string, std::string> admitted_;
  std::string own_;
};

}  // namespace troupe::link
