#pragma once
// What every link broker of a node shares (docs/security.md, "Link broker"): the node's
// identity, its trust allowlist, the link settings, the "link" logger and process-wide
// fault counters. Made once by the node, immutable afterwards, handed to the listener, the
// dialer and every link as std::shared_ptr<const link_context>.

#include "link/fault.hpp"
#include "link/frames.hpp"
#include "link/handshake.hpp"
#include "link/identity.hpp"
#include "runtime/config.hpp"
#include "runtime/defaults.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace fusion::link {

/// Limits and timers of node-to-node links. The defaults are the [link] config table's
/// (runtime/defaults.hpp, documented in docs/operations.md); a node builds its settings from
/// its config with settings_of. A zero duration turns that timer off (tests only).
struct link_settings {
  /// Largest frame body, handshake messages included (link.max_frame_bytes).
  uint32_t max_frame = default_max_frame;
  /// A batch of outgoing messages is sealed into a frame once it holds this many plaintext
  /// bytes (16 KiB); smaller batches are sealed at the end of the current burst.
  std::size_t batch_bytes = default_batch_bytes;
  /// A heartbeat (sealed empty record) goes out when nothing was sent for this long.
  std::chrono::milliseconds heartbeat{defaults::link::heartbeat_ms};
  /// A link on which nothing arrived for this long is closed ("peer silent").
  std::chrono::milliseconds dead_after{defaults::link::dead_after_ms};
  /// Time from connection to an established handshake; past it: deadline_exceeded.
  std::chrono::milliseconds handshake_deadline = default_handshake_deadline;
  /// Time a dial may take to connect (name resolution excluded).
  std::chrono::milliseconds dial_timeout{defaults::link::dial_timeout_ms};
  /// A listener refuses (closes at once) connections beyond this many unfinished handshakes.
  std::size_t max_pending_handshakes = 256;
  /// Bytes that may wait to be sent on one link (link.max_send_buffer_bytes): sealed frames
  /// CAF has not written to the socket yet, or messages held before the handshake. While
  /// this many wait, the link refuses what it is asked to send (link_refused_atom).
  std::size_t max_send_buffer = static_cast<std::size_t>(defaults::link::max_send_buffer_bytes);
  /// Messages held before the handshake completes; more are refused.
  std::size_t max_early_messages = static_cast<std::size_t>(defaults::link::max_early_messages);
};

// The frame codec (fusion_link, which cannot see runtime/) keeps its own defaults: they
// must be the config table's.
static_assert(default_max_frame == defaults::link::max_frame_bytes);
static_assert(default_handshake_deadline.count() == defaults::link::handshake_timeout_ms);

/// The link settings a node's [link] table gives (every other field at its default).
link_settings settings_of(const runtime::link_config& lc);

/// Process-wide link counters, updated from the multiplexer and dialer threads.
class link_counters {
 public:
  /// Number of distinct fault values.
  static constexpr std::size_t fault_count = static_cast<std::size_t>(fault::cannot_seal) + 1;

  /// Counts one link closed by `f`.
  void count(fault f) noexcept { faults_[static_cast<std::size_t>(f)].fetch_add(1); }
  /// Links closed by `f` so far.
  uint64_t faults(fault f) const noexcept { return faults_[static_cast<std::size_t>(f)].load(); }
  /// Counts one handshake that completed.
  void count_established() noexcept { established_.fetch_add(1); }
  /// Handshakes completed so far.
  uint64_t established() const noexcept { return established_.load(); }
  /// Counts one link closed because the peer went silent.
  void count_silent() noexcept { silent_.fetch_add(1); }
  /// Links closed as "peer silent" so far.
  uint64_t silent() const noexcept { return silent_.load(); }
  /// Counts one dial that could not connect.
  void count_dial_failure() noexcept { dial_failures_.fetch_add(1); }
  /// Dials that could not connect so far.
  uint64_t dial_failures() const noexcept { return dial_failures_.load(); }
  /// Counts one outgoing message dropped because it can never fit in a frame.
  void count_dropped() noexcept { dropped_.fetch_add(1); }
  /// Outgoing messages dropped so far.
  uint64_t dropped() const noexcept { return dropped_.load(); }
  /// Counts one message a link refused to send: max_send_buffer bytes were waiting, or
  /// (before its handshake) max_early_messages messages.
  void count_refused() noexcept { refused_.fetch_add(1); }
  /// Messages refused so far.
  uint64_t refused() const noexcept { return refused_.load(); }
  /// Counts one episode of refusals on one link (from the first refusal until the link
  /// takes a message again); each is logged once.
  void count_congested() noexcept { congested_.fetch_add(1); }
  /// Episodes of refusals so far.
  uint64_t congested() const noexcept { return congested_.load(); }

 private:
  std::array<std::atomic<uint64_t>, fault_count> faults_{};
  std::atomic<uint64_t> established_{0};
  std::atomic<uint64_t> silent_{0};
  std::atomic<uint64_t> dial_failures_{0};
  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> congested_{0};
};

/// Everything a link needs besides its connection. Immutable once made (the counters and
/// the logger are internally synchronised).
struct link_context {
  /// This node's identity (signs handshakes).
  identity me;
  /// Whom this node talks to.
  trust trusted;
  /// Limits and timers.
  link_settings settings;
  /// The "link" logger (runtime::logger).
  std::shared_ptr<spdlog::logger> log;
  /// Fault and handshake counters of every link made with this context.
  std::shared_ptr<link_counters> counters;

  /// The handshake settings that follow from `settings` (plus a pinned peer key, if any).
  handshake_config handshake_settings(std::optional<public_key> expected_peer = {}) const;
};

/// Makes the shared context of a node's links (takes the "link" logger).
std::shared_ptr<const link_context> make_link_context(identity me, trust trusted,
                                                      link_settings settings = {});

}  // namespace fusion::link
