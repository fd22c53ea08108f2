#include "actors/deploy.hpp"

#include "src/util/strings.hpp"

namespace fs = std::filesystem;

namespace troupe {

namespace {

constexpr const char* sender_component = "ODeployDatabaseTask";
constexpr const char* receiver_component = "OHazelcastPlugin";

// --- sender ---------------------------------------------------------------------

struct sender_state {
  deploy_sender_options opts;
  logger* log = nullptr;
  std::unique_ptr<deploy::reader> reader;
  uint64_t lsn = 0;
  size_t in_flight = 0;
  bool exhausted = false;
  bool finished = false;
  caf::typed_response_promise<bool> promise;
  bool asked = false;  // deploy_atom came (it is served once)
  uint64_t board_id = 0;
  uint64_t acked_raw = 0, acked_wire = 0;
  deploy::progress_throttle throttle;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point first_sent;
  std::chrono::steady_clock::time_point next_send;  // test seam: chunk_delay
  bool pausing = false;
  bool link_measured = false;
};

// The link rate is measured on the first chunks, which travel raw; it decides
// whether the rest are compressed (deploy::compression_pays).
constexpr uint64_t link_probe_bytes = 4u << 20;

using sender_ptr = deploy_sender_actor::stateful_pointer<sender_state>;

void cleanup(sender_state& st) {
  std::error_code ec;
  fs::remove_all(st.opts.scratch, ec);
}

uint64_t total_of(const sender_state& st) { return st.reader ? st.reader->summary().raw_bytes : 0; }

void sender_progress(sender_state& st, const char* phase) {
  st.opts.board->update(st.board_id, phase, st.acked_raw, total_of(st), st.acked_wire);
}

void fail(sender_ptr self, std::string why) {
  auto& st = self->state;
  if (st.finished) return;
  st.finished = true;
  st.log->log(log_level::error, sender_component, cat("deploy of database ", st.opts.db, " failed: ", why),
              direction::out, st.opts.peer_name);
  cleanup(st);
  st.promise.deliver(make_troupe_error(errc::io_error, std::move(why)));
  self->quit();
}

void pump(sender_ptr self);

void send_manifest(sender_ptr self) {
  auto& st = self->state;
  auto m = st.reader->summary();
  m.lsn = st.lsn;  // the receiver asks for what came after the snapshot
  // The receiver opens the database and catches up before it answers: allow time.
  self->request(st.opts.receiver, std::chrono::minutes(10), done_atom::value, m)
      .then(
          [self](bool) {
            auto& st = self->state;
            st.finished = true;
            auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.started).count();
            auto& m = st.reader->summary();
            st.log->log(log_level::info, sender_component,
                        cat("sent database ", st.opts.db, ": ", deploy::orientdb_size(m.raw_bytes), " in ", m.files,
                            " files, ", deploy::orientdb_size(m.wire_bytes), " on the wire, online after ",
                            deploy::format_duration_ms(static_cast<int64_t>(secs * 1000)), " (",
                            deploy::format_rate(secs > 0 ? static_cast<double>(m.raw_bytes) / secs : 0.0), ")"),
                        direction::out, st.opts.peer_name);
            st.opts.board->update(st.board_id, "done", m.raw_bytes, m.raw_bytes, m.wire_bytes);
            st.opts.board->end(st.board_id, true);
            cleanup(st);
            st.promise.deliver(true);
            self->quit();
          },
          [self](caf::error& e) { fail(self, error_text(self->system(), e)); });
}

// Sends chunks while there is credit; the manifest once all are acknowledged.
void pump(sender_ptr self) {
  auto& st = self->state;
  while (!st.finished && !st.exhausted && st.in_flight < deploy_chunks_in_flight) {
    if (st.opts.chunk_delay.count() > 0) {
      // Test seam: one chunk per pause, resumed by a timer (never a sleep: this
      // actor runs on the scheduler's threads).
      auto now = std::chrono::steady_clock::now();
      if (now < st.next_send) {
        if (!st.pausing) {
          st.pausing = true;
          self->delayed_send(self, st.next_send - now, tick_atom::value);
        }
        return;
      }
      st.next_send = now + st.opts.chunk_delay;
    }
    auto c = st.reader->next();
    if (!c) return fail(self, c.error().render());
    if (!c->has_value()) {
      st.exhausted = true;
      break;
    }
    ++st.in_flight;
    if (static_cast<int64_t>((*c)->seq) == st.opts.corrupt_chunk && !(*c)->data.empty()) (*c)->data[0] ^= 0x5a;
    uint64_t raw = (*c)->raw_size, wire = (*c)->data.size();
    if ((*c)->seq == 0) st.first_sent = std::chrono::steady_clock::now();
    self->request(st.opts.receiver, deploy_chunk_timeout, chunk_atom::value, std::move(**c))
        .then(
            [self, raw, wire](uint64_t) {
              auto& st = self->state;
              --st.in_flight;
              st.acked_raw += raw;
              st.acked_wire += wire;
              if (!st.link_measured && (st.acked_raw >= link_probe_bytes || st.exhausted)) {
                st.link_measured = true;
                auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.first_sent).count();
                st.reader->set_link_rate(static_cast<double>(st.acked_raw) / std::max(secs, 1e-6));
              }
              sender_progress(st, "transfer");
              if (st.throttle.due()) {
                auto snap = st.opts.board->snapshot();
                for (auto& p : snap)
                  if (p.id == st.board_id)
                    st.log->log(log_level::info, sender_component,
                                cat("deploying database ", st.opts.db, ": ", p.describe()), direction::out,
                                st.opts.peer_name);
              }
              pump(self);
            },
            [self](caf::error& e) { fail(self, error_text(self->system(), e)); });
  }
  if (!st.finished && st.exhausted && st.in_flight == 0) {
    sender_progress(st, "install");
    send_manifest(self);
  }
}

deploy_sender_actor::behavior_type sender_impl(sender_ptr self, deploy_sender_options opts, logger* log) {
  self->state.opts = std::move(opts);
  self->state.log = log;
  return {
      [self](tick_atom) {
        // Our handle crossed the network (the receiver learns it): only our own
        // delayed tick ends a pause.
        auto from = self->current_sender();
        if (!from || from->node() != self->node() || from->id() != self->id()) return;
        self->state.pausing = false;
        if (self->state.reader) pump(self);
      },
      [self](deploy_atom) -> caf::result<bool> {
        auto& st = self->state;
        // Once, for the joiner that asked (our cluster and placement actors
        // delegate its request, so the sender is the joiner's placement actor,
        // on the receiver's node); anyone else naming our id is refused.
        auto from = self->current_sender();
        if (st.asked || !from || from->node() != st.opts.receiver.node())
          return make_troupe_error(errc::access_denied, "a deploy is started only by the member that asked for it");
        st.asked = true;
        st.promise = self->make_response_promise<bool>();
        // A request to a node that died fails only at its own timeout (CAF-NOTES
        // §3): watch the receiver, so that a joiner that vanished ends the
        // transfer (and frees the checkpoint) at once.
        self->monitor(st.opts.receiver);
        self->set_down_handler([self](caf::down_msg& dm) {
          fail(self, cat("the receiver on node '", self->state.opts.peer_name, "' is gone (",
                         self->system().render(dm.reason), ")"));
        });
        st.board_id = st.opts.board->begin(st.opts.db, true, st.opts.peer_name);
        self->attach_functor([board = st.opts.board, id = st.board_id] { board->end(id); });
        st.started = std::chrono::steady_clock::now();
        st.log->log(log_level::warn, sender_component, cat("deploying database ", st.opts.db, "..."), direction::out,
                    st.opts.peer_name);
        std::error_code ec;
        fs::remove_all(st.opts.scratch, ec);
        auto lsn = st.opts.storage->checkpoint(st.opts.scratch);
        if (!lsn) {
          fail(self, lsn.error().render());
          return st.promise;
        }
        auto r = deploy::reader::open(st.opts.scratch, deploy_chunk_bytes, st.opts.compress_level);
        if (!r) {
          fail(self, r.error().render());
          return st.promise;
        }
        st.reader = std::move(*r);
        st.log->log(log_level::warn, sender_component,
                    cat("sending the compressed database ", st.opts.db, " over the network, total ",
                        deploy::orientdb_size(st.reader->summary().raw_bytes)),
                    direction::out, st.opts.peer_name);
        st.lsn = *lsn;
        sender_progress(st, "transfer");
        pump(self);
        return st.promise;
      },
  };
}

// --- receiver -------------------------------------------------------------------

struct receiver_state {
  deploy_receiver_options opts;
  logger* log = nullptr;
  std::unique_ptr<deploy::installer> installer;
  uint64_t board_id = 0;
  uint64_t raw = 0, wire = 0, total = 0;
  deploy::progress_throttle throttle;
};

using receiver_ptr = deploy_receiver_actor::stateful_pointer<receiver_state>;

std::string db_path(const receiver_state& st) { return cat("databases/", st.opts.db); }

// Whether the current message comes from the node we asked for the database
// (its deploy sender lives beside its cluster actor).
bool from_source(receiver_ptr self) {
  auto from = self->current_sender();
  return from && from->node() == self->state.opts.source.node();
}

// Commits the sender's committed writes after ours (its replication log, by
// seq) until there are none left, then reports the database online. From then
// on replication keeps it current.
void catch_up(receiver_ptr self, caf::typed_response_promise<bool> rp) {
  auto& st0 = self->state;
  auto entry = st0.opts.directory->find(st0.opts.db);
  if (!entry) {
    rp.deliver(make_troupe_error(errc::database_not_found, "the installed database is not open"));
    return self->quit();
  }
  uint64_t after = entry->db->last_committed_seq();
  self->request(st0.opts.relay, std::chrono::seconds(30), fetch_atom::value, st0.opts.peer_name, st0.opts.db, after)
      .then(
          [self, after, rp, writer = entry->writer](replication::fetch_msg& page) mutable {
            auto& st = self->state;
            st.opts.board->update(st.board_id, "catch-up", st.raw, st.total, st.wire);
            bool news = std::any_of(page.entries.begin(), page.entries.end(),
                                    [&](auto& e) { return e.seq > after && e.seq <= page.commit_seq; });
            if (!news) {
              st.opts.board->end(st.board_id, true);
              st.log->warn(receiver_component, cat("database ", st.opts.db, " is online"));
              self->send(st.opts.placement, deployed_atom::value, st.opts.db);
              rp.deliver(true);
              self->quit();
              return;
            }
            self->request(writer, std::chrono::seconds(30), adopt_atom::value, std::move(page))
                .then([self, rp](bool) mutable { catch_up(self, rp); },
                      [self, rp](caf::error& e) mutable {
                        rp.deliver(e);
                        self->quit();
                      });
          },
          [self, rp](caf::error& e) mutable {
            rp.deliver(e);
            self->quit();
          });
}

deploy_receiver_actor::behavior_type receiver_impl(receiver_ptr self, deploy_receiver_options opts, logger* log) {
  self->state.opts = std::move(opts);
  self->state.log = log;
  // Registered from spawn to exit: the database is SYNCHRONIZING meanwhile.
  auto board = self->state.opts.board;
  auto id = board->begin(self->state.opts.db, false, self->state.opts.peer_name);
  self->state.board_id = id;
  self->attach_functor([board, id] { board->end(id); });
  return {
      [self](chunk_atom, const deploy::chunk& c) -> caf::result<uint64_t> {
        auto& st = self->state;
        // Our handle crossed the network: only the member we asked may feed us.
        if (!from_source(self)) return make_troupe_error(errc::access_denied, "chunks come only from the deploy's source");
        if (!st.installer) {
          auto dir = st.opts.databases_dir / cat(st.opts.db, ".installing");
          auto final_dir = st.opts.databases_dir / cat(st.opts.db, st.opts.replace ? ".installed" : "");
          if (st.opts.replace) {
            std::error_code ec;
            fs::remove_all(final_dir, ec);  // a stale copy from an attempt that never swapped
          }
          auto inst = deploy::installer::open(dir, final_dir);
          if (!inst) return make_troupe_error(errc::io_error, inst.error().render());
          st.installer = std::move(*inst);
          if (st.opts.test_disk_limit > 0) st.installer->set_disk_limit(st.opts.test_disk_limit);
          st.log->log(log_level::warn, receiver_component,
                      cat("installing database ", st.opts.db, " in ", db_path(st), "..."), direction::in,
                      st.opts.peer_name);
        }
        if (auto s = st.installer->add(c); !s) {
          st.installer.reset();  // removes the .installing folder
          auto why = s.error().render();
          st.log->log(log_level::error, receiver_component,
                      cat("cannot install database ", st.opts.db, ": ", why), direction::in, st.opts.peer_name);
          return make_troupe_error(errc::io_error, std::move(why));
        }
        st.raw += c.raw_size;
        st.wire += c.data.size();
        st.total = c.total_bytes;
        st.opts.board->update(st.board_id, "transfer", st.raw, st.total, st.wire);
        if (st.throttle.due()) {
          for (auto& p : st.opts.board->snapshot())
            if (p.id == st.board_id)
              st.log->log(log_level::info, receiver_component, cat("receiving database ", st.opts.db, ": ", p.describe()),
                          direction::in, st.opts.peer_name);
        }
        return c.seq;
      },
      [self](done_atom, const deploy::manifest& m) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_source(self)) return make_troupe_error(errc::access_denied, "the manifest comes only from the deploy's source");
        if (!st.installer) return make_troupe_error(errc::io_error, "no chunk arrived");
        st.opts.board->update(st.board_id, "install", st.raw, m.raw_bytes, st.wire);
        if (auto s = st.installer->finish(m); !s) {
          st.installer.reset();
          auto why = s.error().render();
          st.log->log(log_level::error, receiver_component,
                      cat("cannot install database ", st.opts.db, ": ", why), direction::in, st.opts.peer_name);
          return make_troupe_error(errc::io_error, std::move(why));
        }
        auto rp = self->make_response_promise<bool>();
        auto opened = [self, rp](bool) mutable { catch_up(self, rp); };
        auto failed = [self, rp](caf::error& e) mutable {
          rp.deliver(e);
          self->quit();
        };
        if (st.opts.replace) {
          st.log->warn(receiver_component, cat("installed a new copy of database ", st.opts.db, " in ", db_path(st),
                                               ".installed, swapping it for the copy in use..."));
          self->request(st.opts.databases, std::chrono::minutes(5), replace_atom::value, st.opts.db)
              .then(std::move(opened), std::move(failed));
        } else {
          st.log->warn(receiver_component,
                       cat("installed database ", st.opts.db, " in ", db_path(st), ", setting it online..."));
          self->request(st.opts.databases, std::chrono::minutes(5), open_atom::value, st.opts.db)
              .then(std::move(opened), std::move(failed));
        }
        return rp;
      },
  };
}

}  // namespace

deploy_sender_actor spawn_deploy_sender(caf::actor_system& sys, deploy_sender_options opts, logger* log) {
  return sys.spawn(sender_impl, std::move(opts), log);
}

deploy_receiver_actor spawn_deploy_receiver(caf::actor_system& sys, deploy_receiver_options opts, logger* log) {
  return sys.spawn(receiver_impl, std::move(opts), log);
}

}  // namespace troupe
