#pragma once
// What a link broker (one per TCP connection, link/link_broker.hpp) and its owner say to
// each other. The owner is the node's peer router (link/peers.hpp): it gets every link's
// messages and events and tells links what to send. Application messages cross the link as
// opaque byte strings (the router's msgpack frames); the link seals, batches and frames them.
//
//   link -> owner   (link_up_atom, link_info)                   authenticated: usable now
//                   (link_recv_atom, link_batch)                messages, in order, grouped
//                   (link_down_atom, std::string reason)        closed; the link quits
//   link -> sender  (link_refused_atom, std::vector<link_bytes>, std::string why)
//                                                    messages it did not take: too many bytes
//                                                    wait to be sent (link_settings::
//                                                    max_send_buffer) or, before the handshake,
//                                                    too many messages; `why` names the peer
//                                                    and the limit. Nothing is queued beyond.
//   any -> link     (link_send_atom, link_bytes)                one message
//                   (link_send_atom, std::vector<link_bytes>)   many, in order
//                   (link_send_atom, link_batch)                many, in one buffer
//                   (link_close_atom)                           orderly close (FINAL frame)
//                   (link_stats_atom) -> link_stats
//
// Every message to the owner has the link as its sender. Nothing reaches the owner from a
// connection before its handshake succeeded, except one link_down_atom if it was set up by
// a dial the owner asked for (so the dialler learns why it failed).

#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace fusion::link {

using link_up_atom = caf::atom_constant<caf::atom("lnk_up")>;
using link_recv_atom = caf::atom_constant<caf::atom("lnk_recv")>;
using link_down_atom = caf::atom_constant<caf::atom("lnk_down")>;
using link_send_atom = caf::atom_constant<caf::atom("lnk_send")>;
using link_close_atom = caf::atom_constant<caf::atom("lnk_close")>;
using link_stats_atom = caf::atom_constant<caf::atom("lnk_stats")>;
using link_refused_atom = caf::atom_constant<caf::atom("lnk_refuse")>;

/// One application message as it crosses a link.
using link_bytes = std::vector<char>;

/// The messages a link opened from one read, in order, in one buffer: one allocation per
/// read instead of one per message (docs/benchmarks.md, "Link").
class link_batch {
 public:
  link_batch() = default;

  /// A batch of copies of `messages` (tests, and owners that hold messages as link_bytes).
  static link_batch of(const std::vector<link_bytes>& messages) {
    link_batch b;
    for (const auto& m : messages) b.add(m);
    return b;
  }

  /// Appends one message.
  void add(std::span<const char> m) {
    data_.insert(data_.end(), m.begin(), m.end());
    ends_.push_back(data_.size());
  }

  /// Room for `bytes` bytes of messages.
  void reserve(std::size_t bytes) { data_.reserve(bytes); }

  std::size_t size() const { return ends_.size(); }
  bool empty() const { return ends_.empty(); }

  /// Message `i` (< size()), valid while the batch lives.
  std::span<const char> operator[](std::size_t i) const {
    auto begin = i == 0 ? 0 : ends_[i - 1];
    return {data_.data() + begin, ends_[i] - begin};
  }

  /// Every message, copied out.
  std::vector<link_bytes> copies() const {
    std::vector<link_bytes> out;
    out.reserve(size());
    for (std::size_t i = 0; i < size(); ++i) out.emplace_back((*this)[i].begin(), (*this)[i].end());
    return out;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, link_batch& x) {
    return f(caf::meta::type_name("link_batch"), x.data_, x.ends_);
  }

 private:
  link_bytes data_;                // the messages, back to back
  std::vector<std::size_t> ends_;  // where each one ends in data_
};

/// Who is at the other end of an authenticated link.
struct link_info {
  std::string peer_name;   ///< The principal name the trust configuration gives its key.
  std::string peer_role;   ///< The principal's role (trust configuration).
  std::string peer_key;    ///< Its Ed25519 public key, base64 (as in configs).
  std::string remote;      ///< "host:port" of the other end, for logs.
  bool initiator = false;  ///< True if this node dialled.
  std::string local_key;   ///< This node's public key, base64: with peer_key, it tells which
                           ///< of two links between the same nodes both ends keep.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_info& x) {
  return f(caf::meta::type_name("link_info"), x.peer_name, x.peer_role, x.peer_key, x.remote,
           x.initiator, x.local_key);
}

/// Counters of one link, for logs, the bench and tests.
struct link_stats {
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t frames_sent = 0;
  uint64_t frames_received = 0;
  uint64_t bytes_sent = 0;      ///< On the wire, headers included.
  uint64_t bytes_received = 0;  ///< On the wire, headers included.
  uint64_t heartbeats_sent = 0;
  uint64_t messages_refused = 0;  ///< Not taken: the send buffer or early queue was full.
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_stats& x) {
  return f(caf::meta::type_name("link_stats"), x.messages_sent, x.messages_received, x.frames_sent,
           x.frames_received, x.bytes_sent, x.bytes_received, x.heartbeats_sent,
           x.messages_refused);
}

}  // namespace fusion::link
