// Node identities: the key file round trip, its mode, and every way a key file can be wrong.

#include "link/identity.hpp"
#include "protocols/errc.hpp"
#include "tests/unit/link/link_test.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

using namespace fusion;
using namespace fusion::link;
using fusion::link::test::make_identity;
using fusion::link::test::temp_dir;

namespace {

/// Writes `text` to a new file at `path` with `mode`.
void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream out{path, std::ios::binary};
  out << text;
  out.close();
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The text of a valid key file for a fresh identity.
std::string valid_key_file(const temp_dir& dir) {
  auto path = dir.file("valid.key");
  REQUIRE(!make_identity().save(path));
  auto text = read_file(path);
  ::unlink(path.c_str());
  return text;
}

/// The error text of loading `text` as a key file.
std::string load_error(const temp_dir& dir, const std::string& text) {
  auto path = dir.file("bad.key");
  ::unlink(path.c_str());
  write_file(path, text);
  auto id = identity::load(path);
  REQUIRE_FALSE(id);
  CHECK(is(id.error(), errc::invalid_config));
  return reason_of(id.error());
}

}  // namespace

TEST_CASE("identity: a saved identity loads back with the same key and signs alike") {
  temp_dir dir;
  auto id = make_identity();
  auto path = dir.file("node.key");
  REQUIRE(!id.save(path));
  auto back = identity::load(path);
  REQUIRE_MESSAGE(back, reason_of(back.error()));
  CHECK(back->pk() == id.pk());
  CHECK(back->public_key_text() == id.public_key_text());
  const unsigned char msg[] = "hello";
  unsigned char sig[signature_size];
  back->sign(sig, msg, sizeof msg);
  CHECK(verify(id.pk(), sig, msg, sizeof msg));
  sig[0] ^= 1;
  CHECK_FALSE(verify(id.pk(), sig, msg, sizeof msg));
}

TEST_CASE("identity: the key file is created with mode 0600 even under umask 000") {
  temp_dir dir;
  auto old = ::umask(0);
  auto err = make_identity().save(dir.file("node.key"));
  ::umask(old);
  REQUIRE(!err);
  struct stat st {};
  REQUIRE(::stat(dir.file("node.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("identity: the key file names the public key and holds the secret as base64") {
  temp_dir dir;
  auto id = make_identity();
  REQUIRE(!id.save(dir.file("node.key")));
  auto text = read_file(dir.file("node.key"));
  CHECK(text.find("public = " + id.public_key_text() + "\n") != std::string::npos);
  CHECK(text.find("\nsecret = ") != std::string::npos);
  CHECK(id.public_key_text().size() == 44);
}

TEST_CASE("identity: save refuses to overwrite an existing file") {
  temp_dir dir;
  auto path = dir.file("node.key");
  REQUIRE(!make_identity().save(path));
  auto before = read_file(path);
  auto err = make_identity().save(path);
  REQUIRE(err);
  CHECK(is(err, errc::invalid_argument));
  CHECK(reason_of(err).find("already exists") != std::string::npos);
  CHECK(read_file(path) == before);
  SUBCASE("nor a symbolic link") {
    auto link_path = dir.file("link.key");
    REQUIRE(::symlink(dir.file("elsewhere").c_str(), link_path.c_str()) == 0);
    CHECK(make_identity().save(link_path));
    CHECK(::access(dir.file("elsewhere").c_str(), F_OK) != 0);
  }
}

TEST_CASE("identity: load refuses a key file that group or others may read or write") {
  temp_dir dir;
  auto path = dir.file("node.key");
  REQUIRE(!make_identity().save(path));
  for (mode_t mode : {0640, 0604, 0620, 0602, 0610, 0601, 0644, 0666}) {
    CAPTURE(mode);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
    auto id = identity::load(path);
    REQUIRE_FALSE(id);
    auto why = reason_of(id.error());
    CHECK(why.find(path) != std::string::npos);
    CHECK(why.find("chmod 600 " + path) != std::string::npos);
  }
  REQUIRE(::chmod(path.c_str(), 0400) == 0);
  CHECK(identity::load(path));  // owner-only read is fine
}

TEST_CASE("identity: load names the line and what is wrong in a malformed key file") {
  temp_dir dir;
  auto good = valid_key_file(dir);
  auto pub_line = good.substr(good.find("public = "));
  pub_line = pub_line.substr(0, pub_line.find('\n') + 1);
  auto sec_line = good.substr(good.find("secret = "));
  sec_line = sec_line.substr(0, sec_line.find('\n') + 1);
  auto other = valid_key_file(dir);
  auto other_pub = other.substr(other.find("public = "));
  other_pub = other_pub.substr(0, other_pub.find('\n') + 1);

  CHECK(load_error(dir, "hello\n" + pub_line + sec_line).find("bad.key:1: expected") !=
        std::string::npos);
  CHECK(load_error(dir, "public = AAAA\n" + sec_line)
            .find("bad.key:1: 'public' is not base64 of a 32-byte") != std::string::npos);
  CHECK(load_error(dir, pub_line + "secret = !!!not-base64!!!\n")
            .find("bad.key:2: 'secret' is not base64 of a 32-byte") != std::string::npos);
  // base64 of 31 bytes: right alphabet, wrong length
  CHECK(load_error(dir, pub_line + "secret = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n")
            .find("bad.key:2: 'secret' is not base64") != std::string::npos);
  CHECK(load_error(dir, "# comment\n\n" + pub_line + pub_line + sec_line)
            .find("bad.key:4: 'public' is given twice") != std::string::npos);
  CHECK(
      load_error(dir, pub_line + sec_line + sec_line).find("bad.key:3: 'secret' is given twice") !=
      std::string::npos);
  CHECK(load_error(dir, pub_line + "colour = blue\n" + sec_line)
            .find("bad.key:2: unknown key 'colour'") != std::string::npos);
  CHECK(load_error(dir, pub_line).find("no 'secret = BASE64' line") != std::string::npos);
  CHECK(load_error(dir, sec_line).find("no 'public = BASE64' line") != std::string::npos);
  CHECK(load_error(dir, "").find("no 'public = BASE64' line") != std::string::npos);
  CHECK(load_error(dir, other_pub + sec_line)
            .find("bad.key:1: 'public' does not match the secret key") != std::string::npos);
  CHECK(load_error(dir, std::string("\x01\xff\x00garbage\n", 11)).find("bad.key:1:") !=
        std::string::npos);
  // the valid file itself, and with comments, blank lines and spaces, loads
  auto path = dir.file("ok.key");
  write_file(path, "# mine\n\n  " + sec_line + "\t" + pub_line);
  CHECK(identity::load(path));
}

TEST_CASE("identity: load refuses a missing file, a directory, a symbolic link, a huge file") {
  temp_dir dir;
  CHECK_FALSE(identity::load(dir.file("missing.key")));
  CHECK_FALSE(identity::load(dir.path));
  auto path = dir.file("node.key");
  REQUIRE(!make_identity().save(path));
  auto link_path = dir.file("link.key");
  REQUIRE(::symlink(path.c_str(), link_path.c_str()) == 0);
  auto id = identity::load(link_path);
  REQUIRE_FALSE(id);
  CHECK(reason_of(id.error()).find("symbolic link") != std::string::npos);
  auto big = dir.file("big.key");
  write_file(big, std::string(max_identity_file_size + 1, '#'));
  id = identity::load(big);
  REQUIRE_FALSE(id);
  CHECK(reason_of(id.error()).find("at most 4096") != std::string::npos);
}

TEST_CASE("identity: a moved-from identity holds no secret") {
  auto a = make_identity();
  CHECK_FALSE(a.empty());
  auto pk = a.pk();
  identity b = std::move(a);
  CHECK(a.empty());  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK_FALSE(b.empty());
  CHECK(b.pk() == pk);
}

TEST_CASE("identity: public keys round-trip through text, and bad text is refused") {
  auto id = make_identity();
  auto pk = parse_public_key(id.public_key_text());
  REQUIRE(pk);
  CHECK(*pk == id.pk());
  CHECK_FALSE(parse_public_key(""));
  CHECK_FALSE(parse_public_key("AAAA"));
  CHECK_FALSE(parse_public_key(id.public_key_text() + "AAAA"));
  CHECK_FALSE(parse_public_key(id.public_key_text().substr(1)));
  CHECK_FALSE(parse_public_key(id.public_key_text() + " "));
}
