#include "src/replication/member.hpp"

#include <algorithm>
#include <tuple>

#include "src/util/strings.hpp"

namespace troupe::replication {

size_t takeover_need(const role& r, bool continuing) {
  if (continuing) return 1;
  return r.servers.size() - std::min<size_t>(r.write_quorum, r.servers.size()) + 1;
}

std::string choose_tail(const std::map<std::string, tail_msg>& answers, const std::string& self) {
  uint64_t committed = 0;
  for (auto& [n, a] : answers) committed = std::max(committed, a.commit_seq);
  auto key = [](const tail_msg& a) { return std::tie(a.last_epoch, a.last_seq); };
  const std::string* best = nullptr;
  for (auto& [n, a] : answers) {
    if (a.last_seq < committed) continue;
    if (!best || key(a) > key(answers.at(*best))) best = &n;
  }
  if (!best) return self;  // unreachable: the answer with the highest commit point holds at least that much
  if (auto mine = answers.find(self); mine != answers.end() && mine->second.last_seq >= committed &&
                                      key(mine->second) == key(answers.at(*best)))
    return self;  // as up to date as the best: nothing to fetch
  return *best;
}

member::member(storage::database& db, std::string self, member_timing timing)
    : db_(db), self_(std::move(self)), timing_(timing) {}

void member::log(note::level l, std::string text, effects& fx) const { fx.notes.push_back(note{l, std::move(text)}); }

void member::broadcast(const append_msg& m, effects& fx) const {
  if (!role_) return;
  for (auto& n : role_->online)
    if (n != self_) fx.appends.emplace_back(n, m);
}

void member::heartbeat(effects& fx) {
  if (owner_) broadcast(owner_->heartbeat(), fx);
}

void member::ensure_replica() {
  if (!replica_) replica_.emplace(db_, promised_);
}

void member::become_replica(const std::string& why, effects& fx) {
  if (owner_ || takeover_ || continuing_) {
    log(note::level::warn, cat("no longer the owner (", why, ")"), fx);
    fx.stepped_down = why;
  }
  owner_.reset();
  takeover_.reset();
  continuing_ = false;
  ensure_replica();
}

bool member::orders_here() const { return owner_ || takeover_ || !role_ || role_->owner() == self_; }

std::string member::describe() const {
  if (owner_) return cat("owner, epoch ", owner_->epoch());
  if (takeover_) return cat("taking over, epoch ", takeover_->epoch);
  if (replica_) return cat("replica of ", role_ ? role_->owner() : std::string("?"), ", epoch ", replica_->epoch());
  return "waiting for its role";
}

void member::on_role(const role& r, int64_t now_ms, effects& fx) {
  role_ = r;
  if (r.owner() != self_) {
    if (owner_ || takeover_ || continuing_)
      become_replica(r.owner().empty() ? std::string("no server online") : r.owner() + " is the owner now", fx);
    ensure_replica();
    return;
  }
  if (owner_ && (owner_servers_ != r.servers || owner_quorum_ != r.write_quorum)) {
    // Servers or quorum changed: the owner's bookkeeping is per replica set,
    // so take over again (a new epoch; the undecided writes are adopted).
    // The writes waiting for their quorum keep their seqs: the takeover adopts
    // them, and they are answered when the new quorum holds them.
    owner_.reset();
    continuing_ = true;
  }
  if (owner_) return heartbeat(fx);  // servers that came online catch up now
  if (!takeover_) start_takeover(now_ms, fx);
}

void member::start_takeover(int64_t now_ms, effects& fx) {
  auto& r = *role_;
  if (r.online.size() < takeover_need(r, continuing_)) {
    next_takeover_ms_ = now_ms + timing_.takeover_retry_ms;
    return;  // not enough servers to be sure of every acknowledged write; writes are refused meanwhile
  }
  if (replica_) promised_ = std::max(promised_, replica_->epoch());
  // Above every epoch we know of; a server that knows a newer one refuses,
  // and the next attempt starts above that.
  promised_ = std::max({promised_, tail_of(db_, 0).last_epoch, db_.promised_epoch()});
  takeover_t t;
  t.epoch = next_epoch(promised_, r.index_of(self_));
  t.round = ++rounds_;
  t.started_ms = now_ms;
  promised_ = t.epoch;
  (void)db_.promise_epoch(t.epoch);  // kept across a restart (a failure only weakens the fence)
  auto own = tail_of(db_, t.epoch);
  own.ok = true;
  t.answers[self_] = own;
  log(note::level::info,
      cat("taking over with epoch ", t.epoch, " (this node holds seq ", own.last_seq, " of epoch ", own.last_epoch,
          "; ", takeover_need(r, continuing_), " of the ", r.servers.size(), " servers must answer)"),
      fx);
  takeover_ = std::move(t);
  replica_.reset();
  for (auto& n : r.online)
    if (n != self_) fx.tails.push_back(tail_request{n, takeover_->epoch, takeover_->round});
  check_takeover(now_ms, fx);
}

void member::check_takeover(int64_t now_ms, effects& fx) {
  auto& t = *takeover_;
  if (!t.source.empty() || t.answers.size() < takeover_need(*role_, continuing_)) return;
  auto best = choose_tail(t.answers, self_);
  if (best == self_) return finish_takeover(now_ms, fx);
  auto& theirs = t.answers.at(best);
  t.source = best;
  log(note::level::info,
      cat("fetching the most up-to-date tail from ", best, " (seq ", theirs.last_seq, " of epoch ", theirs.last_epoch, ")"),
      fx);
  fx.fetch = fetch_request{best, db_.last_committed_seq(), t.round, true};
}

void member::on_tail_answer(uint64_t round, const std::string& from, const tail_msg& a, int64_t now_ms, effects& fx) {
  if (!takeover_ || takeover_->round != round || !takeover_->source.empty()) return;
  if (!a.ok) {
    promised_ = std::max(promised_, a.epoch);
    return abandon_takeover(cat(from, " follows a newer epoch (", a.epoch, ")"), now_ms, fx);
  }
  takeover_->answers[from] = a;
  check_takeover(now_ms, fx);
}

void member::on_page(uint64_t round, bool first, const fetch_msg& page, int64_t now_ms, effects& fx) {
  if (!takeover_ || takeover_->round != round) return;
  if (auto s = adopt_page(db_, page, first); !s)
    return abandon_takeover(cat("cannot adopt entries: ", s.error().render()), now_ms, fx);
  if (page.more && !page.entries.empty()) {
    fx.fetch = fetch_request{takeover_->source, page.entries.back().seq, round, false};
    return;
  }
  finish_takeover(now_ms, fx);
}

void member::on_fetch_failed(uint64_t round, const std::string& why, int64_t now_ms, effects& fx) {
  if (!takeover_ || takeover_->round != round) return;
  abandon_takeover(cat("fetching from ", takeover_->source, " failed: ", why), now_ms, fx);
}

void member::finish_takeover(int64_t now_ms, effects& fx) {
  auto& t = *takeover_;
  auto& r = *role_;
  std::vector<std::string> replicas;
  for (auto& s : r.servers)
    if (s != self_) replicas.push_back(s);
  owner_.emplace(db_, t.epoch, replicas, r.write_quorum, owner::adopting{}, now_ms + timing_.write_timeout_ms);
  if (!owner_->ok()) {
    log(note::level::error, "cannot take over: the disk failed", fx);
    owner_.reset();
    takeover_.reset();
    continuing_ = false;
    next_takeover_ms_ = now_ms + timing_.disk_retry_ms;
    fx.abandoned = "the disk failed";
    return;
  }
  owner_servers_ = r.servers;
  owner_quorum_ = r.write_quorum;
  continuing_ = false;
  replica_.reset();
  std::string from;
  for (auto& [n, a] : t.answers)
    from += cat(from.empty() ? "" : ", ", n, " (seq ", a.last_seq, " epoch ", a.last_epoch, " commit ", a.commit_seq, ")");
  log(note::level::info,
      cat("this node orders the writes now (epoch ", t.epoch, ", write quorum ", r.write_quorum, ", ",
          owner_->last_seq() - owner_->commit_seq(), " undecided write(s) adopted; tails from ", from, ")"),
      fx);
  takeover_.reset();
  fx.owns_now = true;
  auto settled = owner_->settle();
  fx.ended.insert(fx.ended.end(), std::make_move_iterator(settled.begin()), std::make_move_iterator(settled.end()));
  heartbeat(fx);
}

void member::abandon_takeover(const std::string& why, int64_t now_ms, effects& fx) {
  if (!takeover_) return;
  log(note::level::warn, cat("takeover abandoned: ", why), fx);
  takeover_.reset();
  continuing_ = false;
  next_takeover_ms_ = now_ms + timing_.takeover_retry_ms;
  fx.abandoned = why;
}

tail_msg member::on_tail_request(uint64_t epoch, effects& fx) {
  if (owner_ && epoch <= owner_->epoch()) {
    auto t = tail_of(db_, owner_->epoch());
    t.ok = false;
    return t;
  }
  if (takeover_ && epoch <= takeover_->epoch) {
    auto t = tail_of(db_, takeover_->epoch);
    t.ok = false;
    return t;
  }
  if (owner_ || takeover_ || continuing_) become_replica("another server takes over with a newer epoch", fx);
  ensure_replica();
  auto t = replica_->promise(epoch);
  promised_ = std::max(promised_, replica_->epoch());
  return t;
}

std::optional<ack_msg> member::on_append(const std::string& from, const append_msg& m, effects& fx) {
  if (owner_) {
    if (m.epoch <= owner_->epoch()) {
      // An old owner: tell it our epoch, so it steps down.
      fx.acks.emplace_back(from, ack_msg{owner_->epoch(), false, db_.last_committed_seq(), db_.last_committed_seq()});
      return std::nullopt;
    }
    become_replica(cat(from, " orders with a newer epoch"), fx);
  }
  if (takeover_) {
    if (m.epoch <= takeover_->epoch) return std::nullopt;
    become_replica(cat(from, " took over first"), fx);
  }
  ensure_replica();
  auto ack = replica_->on_append(m);
  promised_ = std::max(promised_, replica_->epoch());
  fx.acks.emplace_back(from, ack);
  return ack;
}

void member::on_ack(const std::string& from, const ack_msg& a, effects& fx) {
  if (!owner_) return;
  if (a.epoch > owner_->epoch()) {
    promised_ = std::max(promised_, a.epoch);
    return become_replica(cat(from, " follows a newer epoch"), fx);
  }
  std::optional<append_msg> resend;
  auto outs = owner_->on_ack(from, a, &resend);
  if (resend) {
    // Behind even the replication log on disk: resending cannot help (the
    // replica refuses to commit over the hole); it needs a full copy.
    if (skips_commit_point(*resend, a.commit_seq))
      fx.behind_log.emplace_back(from, resend->entries.front().seq);
    else
      fx.appends.emplace_back(from, std::move(*resend));
  }
  fx.ended.insert(fx.ended.end(), std::make_move_iterator(outs.begin()), std::make_move_iterator(outs.end()));
}

void member::tick(int64_t now_ms, bool heartbeat_now, effects& fx) {
  if (owner_) {
    auto gone = owner_->expire(now_ms);
    fx.ended.insert(fx.ended.end(), std::make_move_iterator(gone.begin()), std::make_move_iterator(gone.end()));
    if (heartbeat_now) heartbeat(fx);
  } else if (takeover_) {
    if (now_ms - takeover_->started_ms > timing_.takeover_timeout_ms)
      abandon_takeover("the servers did not answer in time", now_ms, fx);
  } else if (role_ && role_->owner() == self_ && now_ms >= next_takeover_ms_) {
    start_takeover(now_ms, fx);
  }
}

}  // namespace troupe::replication
