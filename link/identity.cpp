#include "link/identity.hpp"

#include "protocols/errc.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace fusion::link {

bool sodium_ready() noexcept {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

namespace {

constexpr int b64_variant = sodium_base64_VARIANT_ORIGINAL;
constexpr std::size_t seed_size = crypto_sign_SEEDBYTES;
static_assert(public_key_size == crypto_sign_PUBLICKEYBYTES);
static_assert(signature_size == crypto_sign_BYTES);

/// Base64 of `n` bytes; the caller wipes the result if the bytes were secret.
std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, b64_variant), '\0');
  sodium_bin2base64(out.data(), out.size(), p, n, b64_variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

/// Decodes base64 that must hold exactly `n` bytes into `out`.
bool unbase64(std::string_view text, unsigned char* out, std::size_t n) {
  std::size_t len = 0;
  const char* end = nullptr;
  return sodium_base642bin(out, n, text.data(), text.size(), nullptr, &len, &end, b64_variant) ==
             0 &&
         end == text.data() + text.size() && len == n;
}

/// Zeroes a string's characters (it held secret text).
void wipe(std::string& s) noexcept {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
}

/// Closes a file descriptor when it goes out of scope.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

caf::error bad_file(const std::string& path, const std::string& what) {
  return make_error(errc::invalid_config, "identity file " + path + ": " + what);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::string to_text(const public_key& pk) {
  return base64(pk.data(), pk.size());
}

std::optional<public_key> parse_public_key(std::string_view text) {
  if (!sodium_ready()) return std::nullopt;
  public_key pk{};
  if (!unbase64(text, pk.data(), pk.size())) return std::nullopt;
  return pk;
}

identity identity::from_seed(const unsigned char* seed) {
  identity id;
  crypto_sign_seed_keypair(id.pk_.data(), id.sk_.data(), seed);
  return id;
}

caf::expected<identity> identity::generate() {
  if (!sodium_ready())
    return make_error(errc::storage_failure, "libsodium cannot be initialised (no randomness?)");
  identity id;
  crypto_sign_keypair(id.pk_.data(), id.sk_.data());
  return id;
}

void identity::sign(unsigned char* sig, const unsigned char* msg, std::size_t n) const noexcept {
  crypto_sign_detached(sig, nullptr, msg, n, sk_.data());
}

bool verify(const public_key& pk, const unsigned char* sig, const unsigned char* msg,
            std::size_t n) noexcept {
  return crypto_sign_verify_detached(sig, msg, n, pk.data()) == 0;
}

caf::error identity::save(const std::string& path) const {
  // O_EXCL: never replace an identity; O_NOFOLLOW: never write through a planted link.
  // The mode is 0600 from the start (a umask can only remove bits).
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    auto err = errno;
    if (err == EEXIST)
      return make_error(errc::invalid_argument,
                        path + ": already exists; refusing to overwrite an identity");
    return make_error(errc::storage_failure,
                      path + ": cannot create the identity file: " + std::strerror(err));
  }
  fd_guard guard{fd};
  secret_bytes<seed_size> seed;
  crypto_sign_ed25519_sk_to_seed(seed.data(), sk_.data());
  auto secret = base64(seed.data(), seed.size());
  std::string text =
      "# fusion-node identity (Ed25519). Secret: keep mode 0600.\npublic = " + to_text(pk_) +
      "\nsecret = " + secret + "\n";
  wipe(secret);
  const char* p = text.data();
  std::size_t left = text.size();
  bool ok = true;
  while (ok && left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) {
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  auto err = errno;
  wipe(text);
  ok = ok && ::fsync(fd) == 0;
  if (!ok) err = errno;
  guard.fd = -1;
  ok = (::close(fd) == 0) && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return make_error(errc::storage_failure,
                      path + ": cannot write the identity file: " + std::strerror(err));
  }
  return {};
}

caf::expected<identity> identity::load(const std::string& path) {
  if (!sodium_ready())
    return make_error(errc::storage_failure, "libsodium cannot be initialised (no randomness?)");
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    auto err = errno;
    if (err == ELOOP) return bad_file(path, "is a symbolic link; give the file itself");
    return bad_file(path, std::strerror(err));
  }
  fd_guard guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return bad_file(path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return bad_file(path, "is not a regular file");
  if (st.st_uid != ::geteuid())
    return bad_file(path, "is owned by another user (uid " + std::to_string(st.st_uid) +
                              "); it must belong to the user running the node");
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return bad_file(path, std::string{"permissions "} + mode +
                              " let others read or change the secret key; run: chmod 600 " + path);
  }
  if (st.st_size > static_cast<off_t>(max_identity_file_size))
    return bad_file(path, "is " + std::to_string(st.st_size) +
                              " bytes; an identity file has at most " +
                              std::to_string(max_identity_file_size));
  std::string text(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  // Parse: `public = BASE64` and `secret = BASE64` once each; blank lines and # comments.
  std::optional<public_key> pk;
  secret_bytes<seed_size> seed;
  bool have_seed = false;
  int pk_line = 0;
  caf::error err;
  std::size_t pos = 0;
  for (int line_no = 1; !err && pos < text.size(); ++line_no) {
    auto eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    auto line = trim(std::string_view{text}.substr(pos, eol - pos));
    pos = eol + 1;
    if (line.empty() || line.front() == '#') continue;
    auto where = path + ":" + std::to_string(line_no) + ": ";
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      err = make_error(errc::invalid_config, where +
                                                 "expected 'public = BASE64' or "
                                                 "'secret = BASE64'");
      break;
    }
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (key == "public") {
      if (pk) {
        err = make_error(errc::invalid_config, where + "'public' is given twice");
      } else if (!(pk = parse_public_key(value))) {
        err = make_error(errc::invalid_config,
                         where + "'public' is not base64 of a 32-byte Ed25519 public key");
      }
      pk_line = line_no;
    } else if (key == "secret") {
      if (have_seed)
        err = make_error(errc::invalid_config, where + "'secret' is given twice");
      else if (!unbase64(value, seed.data(), seed.size()))
        err = make_error(errc::invalid_config,
                         where + "'secret' is not base64 of a 32-byte Ed25519 seed");
      have_seed = true;
    } else {
      auto shown = std::string{key.substr(0, 40)};
      err = make_error(errc::invalid_config,
                       where + "unknown key '" + shown + "' (expected 'public' or 'secret')");
    }
  }
  wipe(text);
  if (err) return err;
  if (!pk) return bad_file(path, "no 'public = BASE64' line");
  if (!have_seed) return bad_file(path, "no 'secret = BASE64' line");
  auto id = from_seed(seed.data());
  if (sodium_memcmp(id.pk_.data(), pk->data(), pk->size()) != 0)
    return make_error(errc::invalid_config,
                      path + ":" + std::to_string(pk_line) +
                          ": 'public' does not match the secret key (the file was altered)");
  return id;
}

}  // namespace fusion::link
