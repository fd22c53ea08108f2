#include "src/replication/read_quorum.hpp"

#include <algorithm>

#include "src/util/strings.hpp"

namespace troupe::replication {

namespace {

std::string sentence(const std::string& db, uint32_t quorum) {
  return cat("Read quorum ", quorum, " not reached for database ", db);
}

}  // namespace

read_plan plan_read(const std::string& db, uint32_t quorum, const role& r, const std::string& self,
                    const std::set<std::string>& connected) {
  read_plan p;
  if (quorum <= 1) return p;
  for (auto& n : r.online)
    if (n != self && connected.count(n)) p.ask.push_back(n);
  if (p.ask.size() + 1 < quorum) {
    p.what = read_plan::kind::refuse;
    p.refusal = unavailable_body(sentence(db, quorum), quorum, {self}, r.servers, "");
    p.ask.clear();
    return p;
  }
  p.what = read_plan::kind::ask;
  if (auto o = r.owner(); std::find(p.ask.begin(), p.ask.end(), o) != p.ask.end()) p.await_owner = o;
  return p;
}

read_gather::read_gather(std::string db, uint32_t quorum, std::vector<std::string> servers, std::string self,
                         uint64_t own_seq, const read_plan& plan)
    : db_(std::move(db)),
      quorum_(quorum),
      servers_(std::move(servers)),
      answered_{std::move(self)},
      best_seq_(own_seq),
      await_owner_(plan.await_owner),
      left_(plan.ask.size()) {}

read_gather::step read_gather::answered(const std::string& node, uint64_t committed_seq, bool* newest) {
  *newest = false;
  if (left_ > 0) --left_;
  if (decided_) return step::decided;
  answered_.push_back(node);
  if (committed_seq > best_seq_) {
    best_seq_ = committed_seq;
    *newest = true;
  }
  bool owner_in = await_owner_.empty() || std::find(answered_.begin(), answered_.end(), await_owner_) != answered_.end();
  if (answered_.size() >= quorum_ && owner_in) {
    decided_ = true;
    return step::answer;
  }
  return settle();
}

read_gather::step read_gather::failed() {
  if (left_ > 0) --left_;
  if (decided_) return step::decided;
  return settle();
}

// Every answer in without enough of them: refused.
read_gather::step read_gather::settle() {
  if (left_ > 0) return step::wait;
  decided_ = true;
  return step::refuse;
}

std::string read_gather::refusal() const {
  return unavailable_body(sentence(db_, quorum_), quorum_, answered_, servers_, "");
}

}  // namespace troupe::replication
