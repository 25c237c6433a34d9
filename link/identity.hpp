#pragma once
// A node's long-term Ed25519 identity (DESIGN §5): made once by `fusion-node keygen`, kept in
// a key file only its owner may read, and used to sign the link handshake. The file format
// is described in docs/security.md ("Identity file").

#include "link/secret.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace fusion::link {

/// Size of an Ed25519 public key.
inline constexpr std::size_t public_key_size = 32;
/// Size of an Ed25519 signature.
inline constexpr std::size_t signature_size = 64;
/// Largest identity file load() reads; anything bigger is not an identity file.
inline constexpr std::size_t max_identity_file_size = 4096;

/// An Ed25519 public key: how a node is named in trust configurations.
using public_key = std::array<unsigned char, public_key_size>;

/// The text form of a public key: standard base64, 44 characters.
std::string to_text(const public_key& pk);

/// Parses the text form of a public key; nullopt unless it is base64 of exactly 32 bytes.
std::optional<public_key> parse_public_key(std::string_view text);

/// A node's Ed25519 key pair. The secret key stays in this object and is wiped with
/// sodium_memzero when the object dies or is moved from. Not copyable.
class identity {
 public:
  /// A fresh key pair from libsodium's randomness.
  static caf::expected<identity> generate();

  /// Reads a key file written by save(). errc::invalid_config naming the file when it is
  /// missing, not a regular file, not owned by this user, readable or writable by group or
  /// others ("chmod 600 FILE"), or malformed (the line and what is wrong).
  static caf::expected<identity> load(const std::string& path);

  /// Writes the key file at `path`, created with mode 0600. Never overwrites: an existing
  /// file (or symbolic link) is errc::invalid_argument; a write failure errc::storage_failure.
  caf::error save(const std::string& path) const;

  /// The public half.
  const public_key& pk() const noexcept { return pk_; }

  /// The public key as text, for trust configurations: standard base64.
  std::string public_key_text() const { return to_text(pk_); }

  /// Signs `n` bytes at `msg` into `sig` (Ed25519, detached).
  void sign(unsigned char* sig, const unsigned char* msg, std::size_t n) const noexcept;

  /// True if the secret key has been wiped (a moved-from identity).
  bool empty() const noexcept { return sk_.is_zero(); }

  identity(identity&&) noexcept = default;
  identity& operator=(identity&&) noexcept = default;
  identity(const identity&) = delete;
  identity& operator=(const identity&) = delete;
  ~identity() = default;

 private:
  identity() = default;
  /// Derives the key pair from a 32-byte seed.
  static identity from_seed(const unsigned char* seed);

  public_key pk_{};
  secret_bytes<64> sk_;  // libsodium's layout: seed || public key
};

/// True if `sig` is a valid Ed25519 signature of `n` bytes at `msg` by `pk`.
bool verify(const public_key& pk, const unsigned char* sig, const unsigned char* msg,
            std::size_t n) noexcept;

}  // namespace fusion::link
