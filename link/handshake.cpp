#include "link/handshake.hpp"

#include <cstring>

namespace fusion::link {

namespace {

constexpr std::size_t kx_size = crypto_kx_PUBLICKEYBYTES;
constexpr std::size_t header_size = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t hash_size = 32;
constexpr std::size_t nonce_size = 32;
constexpr std::size_t confirm_size = hash_size + seal_overhead;
constexpr unsigned char magic[8] = {'f', 'u', 's', 'i', 'o', 'n', 'L', protocol_version};
constexpr std::size_t magic_prefix = 7;  // "fusionL": the version byte follows

// Offsets inside the messages.
constexpr std::size_t m1_eph = sizeof magic;
constexpr std::size_t m1_id = m1_eph + kx_size;
constexpr std::size_t m1_nonce = m1_id + public_key_size;
constexpr std::size_t m2_id = kx_size;
constexpr std::size_t m2_header = m2_id + public_key_size;
constexpr std::size_t m2_sig = m2_header + header_size;
constexpr std::size_t m2_confirm = m2_sig + signature_size;
constexpr std::size_t m3_sig = header_size;
constexpr std::size_t m3_confirm = m3_sig + signature_size;

static_assert(m1_size == m1_nonce + nonce_size);
static_assert(m2_size == m2_confirm + confirm_size);
static_assert(m3_size == m3_confirm + confirm_size);
static_assert(crypto_kx_SESSIONKEYBYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES);

constexpr const char* responder_label = "fusion-link/1 responder";
constexpr const char* initiator_label = "fusion-link/1 initiator";

using hash = std::array<unsigned char, hash_size>;

/// BLAKE2b-256 of a label and two byte ranges.
hash transcript_hash(const char* label, byte_span a, byte_span b) {
  hash out{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, out.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(label), std::strlen(label));
  crypto_generichash_update(&st, a.data(), a.size());
  crypto_generichash_update(&st, b.data(), b.size());
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

public_key key_at(const unsigned char* p) {
  public_key pk{};
  std::memcpy(pk.data(), p, pk.size());
  return pk;
}

/// Seals the key confirmation record (the transcript hash) as a stream's first record.
void push_confirm(stream_state& st, const hash& th, unsigned char* out) {
  crypto_secretstream_xchacha20poly1305_push(&st.get(), out, nullptr, th.data(), th.size(), nullptr,
                                             0, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

/// Opens the peer's confirmation record; true if it authenticates and names `th`.
bool pull_confirm(stream_state& st, const hash& th, const unsigned char* in) {
  hash got{};
  unsigned long long len = 0;
  unsigned char tag = 0;
  bool ok = crypto_secretstream_xchacha20poly1305_pull(&st.get(), got.data(), &len, &tag, in,
                                                       confirm_size, nullptr, 0) == 0 &&
            len == got.size() && tag == crypto_secretstream_xchacha20poly1305_TAG_MESSAGE &&
            sodium_memcmp(got.data(), th.data(), th.size()) == 0;
  return ok;
}

std::string size_error(const char* what, std::size_t got, std::size_t want) {
  return std::string{what} + " is " + std::to_string(got) + " bytes, expected " +
         std::to_string(want);
}

}  // namespace

std::string_view to_string(handshake_state x) noexcept {
  switch (x) {
    case handshake_state::start:
      return "start";
    case handshake_state::awaiting_m2:
      return "awaiting_m2";
    case handshake_state::awaiting_m3:
      return "awaiting_m3";
    case handshake_state::established:
      return "established";
    case handshake_state::failed:
      return "failed";
  }
  return "unknown";
}

handshake::handshake(role r, const identity& me, const trust& trusted, handshake_config cfg)
    : role_(r), me_(me), trust_(trusted), cfg_(std::move(cfg)) {
  if (!sodium_ready()) fail(fault::bad_key_exchange, "libsodium cannot be initialised");
}

void handshake::wipe_all() noexcept {
  kx_secret_.wipe();
  rx_key_.wipe();
  push_.wipe();
  pull_.wipe();
}

bool handshake::holds_secrets() const noexcept {
  return !kx_secret_.is_zero() || !rx_key_.is_zero() || !push_.is_zero() || !pull_.is_zero();
}

bytes handshake::fail(fault f, std::string why) {
  if (state_ != handshake_state::failed) {
    fault_ = f;
    reason_ = std::move(why);
    state_ = handshake_state::failed;
  }
  wipe_all();
  return {};
}

void handshake::expire() {
  if (state_ == handshake_state::established || state_ == handshake_state::failed) return;
  fail(fault::deadline_exceeded, "the handshake did not complete within " +
                                     std::to_string(cfg_.deadline.count()) + " ms (state " +
                                     std::string{to_string(state_)} + ")");
}

bytes handshake::start() {
  if (role_ != role::initiator || state_ != handshake_state::start)
    return fail(fault::wrong_state,
                "start() called on a " +
                    std::string{role_ == role::initiator ? "initiator" : "responder"} +
                    " in state " + std::string{to_string(state_)});
  crypto_kx_keypair(kx_public_.data(), kx_secret_.data());
  bytes m1(m1_size);
  std::memcpy(m1.data(), magic, sizeof magic);
  std::memcpy(m1.data() + m1_eph, kx_public_.data(), kx_size);
  std::memcpy(m1.data() + m1_id, me_.pk().data(), public_key_size);
  randombytes_buf(m1.data() + m1_nonce, nonce_size);
  transcript_ = m1;
  state_ = handshake_state::awaiting_m2;
  return m1;
}

bytes handshake::on_message(byte_span message) {
  if (role_ == role::responder && state_ == handshake_state::start) return on_m1(message);
  if (role_ == role::initiator && state_ == handshake_state::awaiting_m2) return on_m2(message);
  if (role_ == role::responder && state_ == handshake_state::awaiting_m3) return on_m3(message);
  return fail(fault::wrong_state, "a handshake message of " + std::to_string(message.size()) +
                                      " bytes arrived in state " + std::string{to_string(state_)});
}

bytes handshake::on_m1(byte_span m1) {
  if (m1.size() != m1_size)
    return fail(fault::malformed_message, size_error("M1", m1.size(), m1_size));
  if (std::memcmp(m1.data(), magic, magic_prefix) != 0)
    return fail(fault::malformed_message, "M1 is not a fusion link handshake");
  if (m1[magic_prefix] != protocol_version)
    return fail(fault::malformed_message,
                "M1 asks for protocol version " + std::to_string(m1[magic_prefix]) +
                    "; this node speaks " + std::to_string(protocol_version));
  auto peer = key_at(m1.data() + m1_id);
  peer_ = peer;
  // Refused before any key exchange or signature: an unknown node costs us nothing.
  if (!trust_.allows(peer))
    return fail(fault::untrusted_peer, "initiator key " + to_text(peer) + " is not trusted");
  public_key eph{};
  secret_bytes<32> eph_secret;
  crypto_kx_keypair(eph.data(), eph_secret.data());
  secret_bytes<32> tx_key;
  int rc = crypto_kx_server_session_keys(rx_key_.data(), tx_key.data(), eph.data(),
                                         eph_secret.data(), m1.data() + m1_eph);
  eph_secret.wipe();  // forward secrecy: the ephemeral secret is gone
  if (rc != 0) return fail(fault::bad_key_exchange, "the initiator's ephemeral key is unusable");
  bytes m2(m2_size);
  std::memcpy(m2.data(), eph.data(), kx_size);
  std::memcpy(m2.data() + m2_id, me_.pk().data(), public_key_size);
  crypto_secretstream_xchacha20poly1305_init_push(&push_.get(), m2.data() + m2_header,
                                                  tx_key.data());
  tx_key.wipe();
  auto th2 = transcript_hash(responder_label, m1, byte_span{m2.data(), m2_sig});
  me_.sign(m2.data() + m2_sig, th2.data(), th2.size());
  push_confirm(push_, th2, m2.data() + m2_confirm);
  transcript_.assign(m1.begin(), m1.end());
  transcript_.insert(transcript_.end(), m2.begin(), m2.end());
  state_ = handshake_state::awaiting_m3;
  return m2;
}

bytes handshake::on_m2(byte_span m2) {
  if (m2.size() != m2_size)
    return fail(fault::malformed_message, size_error("M2", m2.size(), m2_size));
  auto peer = key_at(m2.data() + m2_id);
  peer_ = peer;
  if (cfg_.expected_peer && *cfg_.expected_peer != peer)
    return fail(fault::untrusted_peer, "responder key " + to_text(peer) + " is not the expected " +
                                           to_text(*cfg_.expected_peer));
  if (!trust_.allows(peer))
    return fail(fault::untrusted_peer, "responder key " + to_text(peer) + " is not trusted");
  auto th2 = transcript_hash(responder_label, transcript_, byte_span{m2.data(), m2_sig});
  if (!verify(peer, m2.data() + m2_sig, th2.data(), th2.size()))
    return fail(fault::bad_signature, "the responder's signature over the transcript is invalid");
  secret_bytes<32> rx_key, tx_key;
  int rc = crypto_kx_client_session_keys(rx_key.data(), tx_key.data(), kx_public_.data(),
                                         kx_secret_.data(), m2.data());
  kx_secret_.wipe();  // forward secrecy: the ephemeral secret is gone
  if (rc != 0) return fail(fault::bad_key_exchange, "the responder's ephemeral key is unusable");
  if (crypto_secretstream_xchacha20poly1305_init_pull(&pull_.get(), m2.data() + m2_header,
                                                      rx_key.data()) != 0 ||
      !pull_confirm(pull_, th2, m2.data() + m2_confirm))
    return fail(fault::not_confirmed, "the responder's key confirmation does not authenticate");
  rx_key.wipe();
  transcript_.insert(transcript_.end(), m2.begin(), m2.end());
  bytes m3(m3_size);
  crypto_secretstream_xchacha20poly1305_init_push(&push_.get(), m3.data(), tx_key.data());
  tx_key.wipe();
  auto th3 = transcript_hash(initiator_label, transcript_, byte_span{m3.data(), header_size});
  me_.sign(m3.data() + m3_sig, th3.data(), th3.size());
  push_confirm(push_, th3, m3.data() + m3_confirm);
  transcript_.clear();
  state_ = handshake_state::established;
  return m3;
}

bytes handshake::on_m3(byte_span m3) {
  if (m3.size() != m3_size)
    return fail(fault::malformed_message, size_error("M3", m3.size(), m3_size));
  auto th3 = transcript_hash(initiator_label, transcript_, byte_span{m3.data(), header_size});
  if (!verify(*peer_, m3.data() + m3_sig, th3.data(), th3.size()))
    return fail(fault::bad_signature, "the initiator's signature over the transcript is invalid");
  int rc = crypto_secretstream_xchacha20poly1305_init_pull(&pull_.get(), m3.data(), rx_key_.data());
  rx_key_.wipe();
  if (rc != 0 || !pull_confirm(pull_, th3, m3.data() + m3_confirm))
    return fail(fault::not_confirmed, "the initiator's key confirmation does not authenticate");
  transcript_.clear();
  state_ = handshake_state::established;
  return {};
}

std::optional<session> handshake::take_session() {
  if (!established() || session_taken_) return std::nullopt;
  session_taken_ = true;
  session s;
  s.tx = sealer{std::move(push_), cfg_.max_frame, cfg_.batch_bytes};
  s.rx = opener{std::move(pull_)};
  s.peer = *peer_;
  if (const auto* who = trust_.lookup(*peer_)) s.peer_principal = *who;
  return s;
}

}  // namespace fusion::link
