#include "link/link_broker.hpp"

#include <caf/actor_cast.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>

#include <spdlog/logger.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <utility>

namespace fusion::link {

namespace {

namespace io = caf::io;

// Private self-messages.
using link_flush_atom = caf::atom_constant<caf::atom("lnk_flush")>;
using link_tick_atom = caf::atom_constant<caf::atom("lnk_tick")>;

// Down reasons that are not faults.
constexpr const char* peer_closed = "peer closed";
constexpr const char* peer_silent = "peer silent";
constexpr const char* closed_by_owner = "closed by owner";
constexpr const char* owner_gone = "its owner is gone";
constexpr const char* shut_down = "shut down";

// Bytes read per new_data_msg: every complete frame of one read goes to the owner at once.
constexpr uint32_t read_size = 64 * 1024;

// Largest frame accepted before the handshake completes: the largest handshake message.
constexpr uint32_t max_handshake_frame =
    static_cast<uint32_t>(std::max({m1_size, m2_size, m3_size}));

using clock_duration = caf::actor_clock::duration_type;

clock_duration to_clock(std::chrono::milliseconds d) {
  return std::chrono::duration_cast<clock_duration>(d);
}

// "to host:port (name)" or "from host:port": the link in log lines, with the peer's name
// once the handshake told it.
std::string which(const link_state& st) {
  auto s = std::string{st.info.initiator ? "to " : "from "} + st.info.remote;
  if (!st.info.peer_name.empty()) s += " (" + st.info.peer_name + ")";
  return s;
}

// A broker that quits while a message to itself is pending is never freed (CAF 0.17.6):
// quit only once the tick and the flush have come back.
void quit_if_idle(link_actor* self) {
  if (!self->state.tick_armed && !self->state.flush_pending) self->quit();
}

// Tells the listener (responders only) how the handshake ended, once.
void report_handshake(link_actor* self, const std::string& outcome) {
  auto& st = self->state;
  if (!st.listener) return;
  if (auto l = caf::actor_cast<caf::actor>(st.listener))
    self->send(l, link_handshake_done_atom::value, outcome);
  st.listener = caf::actor_addr{};
}

// Destroys every secret (wiping it) and frees the buffers.
void drop_secrets(link_state& st) {
  st.hs.reset();
  st.tx.reset();
  st.rx.reset();
  st.early.clear();
  st.early_bytes = 0;
  st.decoder = frame_decoder{};
  bytes{}.swap(st.hs_in);
  st.out.clear();
  st.opened.clear();
}

// Closes the connection (graceful: what is written still goes out) and tells the owner if
// it knows this link. `f` is fault::none for closes that are not faults.
void close_link(link_actor* self, std::string reason, fault f = fault::none,
                const std::string& detail = {}) {
  auto& st = self->state;
  if (st.closing) return;
  st.closing = true;
  if (f != fault::none) {
    st.ctx->counters->count(f);
    if (st.ctx->log) st.ctx->log->warn("link {}: {} ({})", which(st), to_string(f), detail);
  } else if (reason == peer_silent) {
    st.ctx->counters->count_silent();
    if (st.ctx->log)
      st.ctx->log->warn("link {}: peer silent (nothing received for {} ms)", which(st),
                        st.ctx->settings.dead_after.count());
  } else if (st.ctx->log) {
    st.ctx->log->info("link {} closed: {}", which(st), reason);
  }
  if (st.hs) report_handshake(self, reason);
  if (st.owner_knows) self->send(st.owner, link_down_atom::value, reason);
  drop_secrets(st);
  self->close(st.hdl);
  quit_if_idle(self);
}

void fail(link_actor* self, fault f, const std::string& detail) {
  close_link(self, std::string{to_string(f)}, f, detail);
}

// Number of frames in a buffer of whole frames.
uint64_t count_frames(const bytes& buf) {
  uint64_t n = 0;
  for (std::size_t at = 0; at + frame_header_size <= buf.size();
       at += frame_header_size + get_be32(buf.data() + at))
    ++n;
  return n;
}

// Moves the sealed frames in `st.out` to the connection's write buffer and flushes.
void write_out(link_actor* self) {
  auto& st = self->state;
  if (st.out.empty()) return;
  st.stats.frames_sent += count_frames(st.out);
  st.stats.bytes_sent += st.out.size();
  auto& buf = self->wr_buf(st.hdl);
  auto at = buf.size();
  buf.resize(at + st.out.size());
  std::memcpy(buf.data() + at, st.out.data(), st.out.size());
  st.out.clear();
  auto queued = buf.size();
  self->flush(st.hdl);
  // An idle CAF stream moves the write buffer into its sending buffer on flush.
  if (queued > 0 && self->wr_buf(st.hdl).empty()) st.sending = queued;
  st.last_tx = self->clock().now();
}

// ---- bounded sending (docs/security.md, "Backpressure")

// Bytes waiting to be sent: CAF's write buffer plus what its stream has taken from it and
// not written yet (learnt from data_transferred_msg). Under the test multiplexer the write
// buffer holds what the peer has not read.
std::size_t waiting_bytes(link_actor* self) {
  return self->wr_buf(self->state.hdl).size() + self->state.sending;
}

// After each socket write: `remaining` counts both of CAF's buffers. When its sending
// buffer is done, CAF moves the write buffer into it right after this notice.
void on_transferred(link_actor* self, const io::data_transferred_msg& m) {
  auto& st = self->state;
  if (st.closing) return;
  auto queued = self->wr_buf(st.hdl).size();
  auto sending = m.remaining > queued ? static_cast<std::size_t>(m.remaining - queued) : 0;
  st.sending = sending > 0 ? sending : queued;
}

// Whether the link takes `msg` now: before the handshake into `early`, afterwards while
// fewer than max_send_buffer bytes wait. Ends an episode of refusals.
bool admit(link_actor* self, std::span<const char> msg) {
  auto& st = self->state;
  const auto& s = st.ctx->settings;
  bool ok = st.hs ? st.early.size() < s.max_early_messages &&
                        st.early_bytes + msg.size() <= s.max_send_buffer
                  : waiting_bytes(self) < s.max_send_buffer;
  if (ok && st.refusing) {
    st.refusing = false;
    if (st.ctx->log)
      st.ctx->log->info("link {} takes messages again ({} refused)", which(st), st.refused_now);
  }
  return ok;
}

// Why a message is refused, for the sender (names the peer and the limit).
std::string refusal(link_actor* self) {
  auto& st = self->state;
  const auto& s = st.ctx->settings;
  auto peer = st.info.peer_name.empty() ? st.info.remote : st.info.peer_name;
  if (st.hs)
    return "link to node '" + peer + "' is not up yet and holds " +
           std::to_string(st.early.size()) + " messages (" + std::to_string(st.early_bytes) +
           " bytes) for it (at most " + std::to_string(s.max_early_messages) + " messages, " +
           std::to_string(s.max_send_buffer) + " bytes: link.max_send_buffer_bytes)";
  return "link to node '" + peer + "' has " + std::to_string(waiting_bytes(self)) +
         " bytes waiting to be sent (link.max_send_buffer_bytes = " +
         std::to_string(s.max_send_buffer) + "): the peer reads too slowly";
}

// Counts refused messages and opens an episode (logged once, not per message).
void count_refused(link_actor* self, std::size_t n) {
  auto& st = self->state;
  st.stats.messages_refused += n;
  for (std::size_t i = 0; i < n; ++i) st.ctx->counters->count_refused();
  if (!st.refusing) {
    st.refusing = true;
    st.refused_now = 0;
    st.ctx->counters->count_congested();
    if (st.ctx->log) st.ctx->log->warn("{}; refusing messages", refusal(self));
  }
  st.refused_now += n;
}

// Sends one handshake message as a frame.
void write_handshake(link_actor* self, const bytes& msg) {
  append_frame(self->state.out, msg);
  write_out(self);
}

// Adds one application message to the sealer; a frame sealed by the batch threshold goes
// out at once, the rest at the end of the burst (one flush message to self).
void add_message(link_actor* self, std::span<const char> msg) {
  auto& st = self->state;
  auto span = byte_span{reinterpret_cast<const unsigned char*>(msg.data()), msg.size()};
  if (!st.tx->add(span, st.out)) {
    st.ctx->counters->count_dropped();
    if (st.ctx->log)
      st.ctx->log->error("link to {}: dropped a message of {} bytes (largest: {})", st.info.remote,
                         msg.size(), st.tx->max_message_size());
    return;
  }
  ++st.stats.messages_sent;
  write_out(self);
  if (st.tx->pending_messages() > 0 && !st.flush_pending) {
    st.flush_pending = true;
    self->send(self, link_flush_atom::value);
  }
}

// Arms the next tick: during the handshake at its deadline (capped by the heartbeat, so
// that a closed link quits soon), afterwards every heartbeat (or dead_after) interval.
void arm_tick(link_actor* self) {
  auto& st = self->state;
  const auto& s = st.ctx->settings;
  auto period = s.heartbeat.count() > 0 ? to_clock(s.heartbeat) : to_clock(s.dead_after);
  clock_duration wait{0};
  if (st.hs) {
    auto left = st.started + to_clock(s.handshake_deadline) - self->clock().now();
    wait = period.count() > 0 ? std::min(period, left) : left;
    wait = std::max(wait, clock_duration{0});
  } else {
    if (period.count() <= 0) return;
    wait = period;
  }
  st.tick_armed = true;
  self->delayed_send(self, wait, link_tick_atom::value);
}

// The handshake completed: take the streams, drop the handshake, tell the owner.
void on_established(link_actor* self) {
  auto& st = self->state;
  auto sess = st.hs->take_session();
  st.hs.reset();
  st.tx.emplace(std::move(sess->tx));
  st.rx.emplace(std::move(sess->rx));
  st.info.peer_key = to_text(sess->peer);
  st.info.peer_name = sess->peer_principal.name;
  st.info.peer_role = sess->peer_principal.role;
  st.last_rx = self->clock().now();
  st.ctx->counters->count_established();
  report_handshake(self, "");
  if (st.ctx->log)
    st.ctx->log->info("link {} {} established: {} ({})", st.info.initiator ? "to" : "from",
                      st.info.remote, st.info.peer_name, st.info.peer_role);
  st.owner_knows = true;
  self->send(st.owner, link_up_atom::value, st.info);
  auto early = std::move(st.early);
  st.early.clear();
  st.early_bytes = 0;
  for (const auto& m : early) add_message(self, m);
}

// Opens one frame after the handshake; false if the link closed.
bool on_frame(link_actor* self, const bytes& frame, link_batch& batch) {
  auto& st = self->state;
  if (!st.rx->open(frame, st.opened)) {
    if (!batch.empty()) self->send(st.owner, link_recv_atom::value, std::move(batch));
    fail(self, st.rx->error(), st.rx->reason());
    return false;
  }
  for (auto m : st.opened) batch.add({reinterpret_cast<const char*>(m.data()), m.size()});
  st.stats.messages_received += st.opened.size();
  if (st.rx->closed_cleanly()) {
    if (!batch.empty()) self->send(st.owner, link_recv_atom::value, std::move(batch));
    batch = {};
    // Answer with our own FINAL, so a peer still reading sees an orderly end too.
    st.tx->close(st.out);
    write_out(self);
    close_link(self, peer_closed);
    return false;
  }
  return true;
}

// Handshake frames, cut out of `st.hs_in` by hand: their lengths are checked against the
// largest handshake message, not max_frame, so an unauthenticated connection never makes
// the broker hold more than one read. Returns false if the link closed; once established,
// what follows the last handshake frame is handed to the session's decoder.
bool on_handshake_data(link_actor* self, byte_span chunk) {
  auto& st = self->state;
  st.hs_in.insert(st.hs_in.end(), chunk.begin(), chunk.end());
  std::size_t at = 0;
  while (st.hs && st.hs_in.size() - at >= frame_header_size) {
    auto n = get_be32(st.hs_in.data() + at);
    if (n > max_handshake_frame) {
      fail(self, fault::frame_too_large,
           "handshake frame of " + std::to_string(n) + " bytes (at most " +
               std::to_string(max_handshake_frame) + ")");
      return false;
    }
    if (st.hs_in.size() - at - frame_header_size < n) break;
    byte_span frame{st.hs_in.data() + at + frame_header_size, n};
    at += frame_header_size + n;
    ++st.stats.frames_received;
    auto reply = st.hs->on_message(frame);
    if (st.hs->failed()) {
      fail(self, st.hs->error(), st.hs->reason());
      return false;
    }
    if (!reply.empty()) write_handshake(self, reply);
    if (st.hs->established()) on_established(self);
    if (st.closing) return false;
  }
  if (st.hs) {
    st.hs_in.erase(st.hs_in.begin(), st.hs_in.begin() + static_cast<std::ptrdiff_t>(at));
    return true;
  }
  bytes rest(st.hs_in.begin() + static_cast<std::ptrdiff_t>(at), st.hs_in.end());
  bytes{}.swap(st.hs_in);
  if (!st.decoder.feed(rest)) {
    fail(self, st.decoder.error(), st.decoder.reason());
    return false;
  }
  return true;
}

void on_data(link_actor* self, const io::new_data_msg& m) {
  auto& st = self->state;
  if (st.closing) return;
  st.stats.bytes_received += m.buf.size();
  st.last_rx = self->clock().now();
  // m.buf is reused by CAF after this handler: whatever is kept is copied.
  auto chunk = byte_span{reinterpret_cast<const unsigned char*>(m.buf.data()), m.buf.size()};
  if (st.hs) {
    if (!on_handshake_data(self, chunk)) return;
  } else if (!st.decoder.feed(chunk)) {
    fail(self, st.decoder.error(), st.decoder.reason());
    return;
  }
  link_batch batch;
  batch.reserve(m.buf.size());  // opened messages are shorter than what was read
  while (auto frame = st.decoder.next()) {
    ++st.stats.frames_received;
    if (!on_frame(self, *frame, batch)) return;
  }
  if (!batch.empty()) self->send(st.owner, link_recv_atom::value, std::move(batch));
}

void on_closed(link_actor* self) {
  auto& st = self->state;
  if (st.closing) return;
  if (st.hs) {
    fail(self, fault::truncated, "the connection ended during the handshake");
  } else if (!st.rx->finish()) {
    fail(self, st.rx->error(), st.rx->reason());
  } else {
    close_link(self, peer_closed);
  }
}

void on_tick(link_actor* self) {
  auto& st = self->state;
  st.tick_armed = false;
  if (st.closing) {
    quit_if_idle(self);
    return;
  }
  const auto& s = st.ctx->settings;
  auto now = self->clock().now();
  if (st.hs) {
    if (now - st.started >= to_clock(s.handshake_deadline)) {
      st.hs->expire();
      fail(self, fault::deadline_exceeded,
           "no handshake within " + std::to_string(s.handshake_deadline.count()) + " ms");
      return;
    }
  } else {
    if (s.dead_after.count() > 0 && now - st.last_rx >= to_clock(s.dead_after)) {
      close_link(self, peer_silent);
      return;
    }
    if (s.heartbeat.count() > 0 && now - st.last_tx >= to_clock(s.heartbeat)) {
      st.tx->heartbeat(st.out);
      ++st.stats.heartbeats_sent;
      write_out(self);
    }
  }
  arm_tick(self);
}

// Takes what the link may send (in order) and hands the rest back to the sender.
// `Messages`: a vector of link_bytes, or a link_batch.
template <class Messages>
void take(link_actor* self, const Messages& ms) {
  auto& st = self->state;
  if (st.closing) return;
  std::vector<link_bytes> refused;
  for (std::size_t i = 0; i < ms.size(); ++i) {
    std::span<const char> m = ms[i];
    if (!refused.empty() || !admit(self, m)) {  // keep the order: none after a refusal
      refused.emplace_back(m.begin(), m.end());
    } else if (st.hs) {
      st.early.emplace_back(m.begin(), m.end());
      st.early_bytes += m.size();
    } else {
      add_message(self, m);
    }
  }
  if (refused.empty()) return;
  count_refused(self, refused.size());
  if (auto to = caf::actor_cast<caf::actor>(self->current_sender()))
    self->send(to, link_refused_atom::value, std::move(refused), refusal(self));
}

// Seals what is pending into the FINAL frame (after the handshake) and closes.
void close_orderly(link_actor* self, const char* reason) {
  auto& st = self->state;
  if (st.closing) return;
  if (st.tx) {
    st.tx->close(st.out);
    write_out(self);
  }
  close_link(self, reason);
}

caf::behavior run_link(link_actor* self) {
  // An exit message (other than kill, which cannot be trapped) closes like link_close_atom
  // and quits once the self-messages are back: quitting at once would leak the broker.
  self->set_exit_handler([=](caf::exit_msg&) { close_orderly(self, shut_down); });
  // An owner that is gone (a router stopped while this link was still in its handshake, so it
  // never knew the link) would leave it open for good, and the actor system waiting for it.
  self->set_down_handler([=](caf::down_msg& m) {
    if (m.source == self->state.owner.address()) close_orderly(self, owner_gone);
  });
  return {
      // ---- socket events (called directly, not through the mailbox)
      [=](const io::new_data_msg& m) { on_data(self, m); },
      [=](const io::connection_closed_msg&) { on_closed(self); },
      [=](const io::data_transferred_msg& m) { on_transferred(self, m); },
      // ---- from the owner (or anyone)
      [=](link_send_atom, const link_bytes& m) {
        take(self, std::span<const link_bytes>{&m, 1});
      },
      [=](link_send_atom, const std::vector<link_bytes>& ms) { take(self, ms); },
      [=](link_send_atom, const link_batch& ms) { take(self, ms); },
      [=](link_close_atom) { close_orderly(self, closed_by_owner); },
      [=](link_stats_atom) { return self->state.stats; },
      // ---- self-messages
      [=](link_flush_atom) {
        auto& st = self->state;
        st.flush_pending = false;
        if (st.closing) {
          quit_if_idle(self);
          return;
        }
        st.tx->flush(st.out);
        write_out(self);
      },
      [=](link_tick_atom) { on_tick(self); },
  };
}

// Common start of both roles.
void init(link_actor* self, io::connection_handle hdl, caf::actor owner,
          std::shared_ptr<const link_context> ctx, role r, std::string remote,
          std::optional<public_key> expected_peer) {
  auto& st = self->state;
  st.ctx = std::move(ctx);
  st.hdl = hdl;
  st.owner = std::move(owner);
  self->monitor(st.owner);
  st.info.remote = std::move(remote);
  st.info.initiator = r == role::initiator;
  st.info.local_key = st.ctx->me.public_key_text();
  st.owner_knows = r == role::initiator;  // the owner dialled: it hears about failures
  st.decoder = frame_decoder{st.ctx->settings.max_frame};
  st.hs = std::make_unique<handshake>(r, st.ctx->me, st.ctx->trusted,
                                      st.ctx->handshake_settings(std::move(expected_peer)));
  st.started = st.last_rx = st.last_tx = self->clock().now();
  self->configure_read(hdl, io::receive_policy::at_most(read_size));
  self->ack_writes(hdl, true);  // data_transferred_msg: how much still waits (backpressure)
  arm_tick(self);
  if (r == role::initiator) write_handshake(self, st.hs->start());
}

}  // namespace

caf::behavior link_responder(link_actor* self, caf::io::connection_handle hdl, caf::actor owner,
                             std::shared_ptr<const link_context> ctx, caf::actor_addr listener) {
  auto remote = self->remote_addr(hdl) + ":" + std::to_string(self->remote_port(hdl));
  self->state.listener = std::move(listener);
  init(self, hdl, std::move(owner), std::move(ctx), role::responder, std::move(remote), {});
  return run_link(self);
}

caf::behavior link_initiator(link_actor* self, caf::io::connection_handle hdl, caf::actor owner,
                             std::shared_ptr<const link_context> ctx, std::string remote,
                             std::optional<public_key> expected_peer) {
  init(self, hdl, std::move(owner), std::move(ctx), role::initiator, std::move(remote),
       std::move(expected_peer));
  return run_link(self);
}

caf::behavior link_initiator_fd(link_actor* self, int fd, caf::actor owner,
                                std::shared_ptr<const link_context> ctx, std::string remote,
                                std::optional<public_key> expected_peer) {
  auto hdl = self->add_scribe(fd);
  return link_initiator(self, hdl, std::move(owner), std::move(ctx), std::move(remote),
                        std::move(expected_peer));
}

}  // namespace fusion::link
