// Logging: per-component loggers, levels, text and JSON-lines output to a file.

#include "runtime/logging.hpp"
#include "protocols/errc.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace fusion;
using namespace fusion::runtime;
namespace fs = std::filesystem;

namespace {

// A strict parser for the flat objects the JSON formatter writes: {"key":"string",...}.
// Returns nullopt for anything that is not exactly one such object.
class flat_json {
 public:
  static std::optional<std::map<std::string, std::string>> parse(const std::string& s) {
    flat_json p{s};
    std::map<std::string, std::string> out;
    p.ws();
    if (!p.eat('{')) return std::nullopt;
    p.ws();
    if (p.eat('}')) return p.end() ? std::optional{out} : std::nullopt;
    for (;;) {
      std::string k, v;
      p.ws();
      if (!p.str(k)) return std::nullopt;
      p.ws();
      if (!p.eat(':')) return std::nullopt;
      p.ws();
      if (!p.str(v) || !out.emplace(k, v).second) return std::nullopt;
      p.ws();
      if (p.eat('}')) return p.end() ? std::optional{out} : std::nullopt;
      if (!p.eat(',')) return std::nullopt;
    }
  }

 private:
  explicit flat_json(const std::string& s) : s_(s) {}
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t')) ++i_;
  }
  bool end() {
    ws();
    return i_ == s_.size();
  }
  bool str(std::string& out) {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;  // raw control characters are invalid JSON
      if (c != '\\') {
        out += static_cast<char>(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      switch (s_[i_++]) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'u': {
          if (i_ + 4 > s_.size()) return false;
          auto code = std::stoul(s_.substr(i_, 4), nullptr, 16);
          i_ += 4;
          if (code >= 0x80) return false;  // the formatter only escapes ASCII control bytes
          out += static_cast<char>(code);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  const std::string& s_;
  size_t i_ = 0;
};

struct log_fixture {
  fs::path dir;
  fs::path file;
  log_fixture() {
    auto templ = (fs::temp_directory_path() / "fusion-log-test-XXXXXX").string();
    REQUIRE(mkdtemp(templ.data()) != nullptr);
    dir = templ;
    file = dir / "node.log";
  }
  ~log_fixture() {
    // Back to stderr so no logger keeps the file open, then remove the folder.
    CHECK_FALSE(setup_logging(log_config{"info", "text", ""}));
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::vector<std::string> lines() const {
    flush_logs();
    std::ifstream in{file};
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

}  // namespace

TEST_CASE_FIXTURE(log_fixture, "logging: json format writes one valid JSON object per line") {
  REQUIRE_FALSE(setup_logging(log_config{"debug", "json", file.string()}));
  std::string tricky = "quote \" backslash \\ newline\nand tab\t bell\x07 del\x7f utf8 \xc3\xa9";
  logger("registrar")->warn("{}", tricky);
  logger("zone/edge-1")->debug("plain");
  logger("registrar")->error("registered {} services", 3);
  auto ls = lines();
  REQUIRE(ls.size() == 3);
  std::vector<std::map<std::string, std::string>> objs;
  for (const auto& l : ls) {
    auto obj = flat_json::parse(l);
    REQUIRE_MESSAGE(obj, "not a flat JSON object: " << l);
    objs.push_back(*obj);
  }
  CHECK(objs[0]["level"] == "warn");
  CHECK(objs[0]["component"] == "registrar");
  CHECK(objs[0]["msg"] == tricky);
  CHECK(objs[1]["level"] == "debug");
  CHECK(objs[1]["component"] == "zone/edge-1");
  CHECK(objs[1]["msg"] == "plain");
  CHECK(objs[2]["level"] == "error");
  CHECK(objs[2]["msg"] == "registered 3 services");
  for (auto& o : objs) {
    CHECK(o.size() == 4);
    // 2026-11-29T20:30:00.123Z
    const auto& ts = o["ts"];
    REQUIRE(ts.size() == 24);
    CHECK(ts[4] == '-');
    CHECK(ts[10] == 'T');
    CHECK(ts[19] == '.');
    CHECK(ts[23] == 'Z');
  }
}

TEST_CASE_FIXTURE(log_fixture, "logging: messages below the configured level are dropped") {
  auto lg = logger("placement");  // created before setup: must follow the new level too
  REQUIRE_FALSE(setup_logging(log_config{"warn", "text", file.string()}));
  lg->info("hidden");
  lg->warn("shown");
  logger("fresh")->debug("hidden too");
  logger("fresh")->error("also shown");
  auto ls = lines();
  REQUIRE(ls.size() == 2);
  CHECK(ls[0].find(" warn placement: shown") != std::string::npos);
  CHECK(ls[1].find(" error fresh: also shown") != std::string::npos);
  REQUIRE_FALSE(setup_logging(log_config{"off", "text", file.string()}));
  lg->error("silenced");
  CHECK(lines().size() == 2);
}

TEST_CASE_FIXTURE(log_fixture, "logging: a bad level, format or file is refused, old setup kept") {
  REQUIRE_FALSE(setup_logging(log_config{"info", "text", file.string()}));
  auto e1 = setup_logging(log_config{"loud", "text", ""});
  CHECK(is(e1, errc::invalid_config));
  CHECK(reason_of(e1) ==
        "log.level: expected trace, debug, info, warn, error or off, found \"loud\"");
  auto e2 = setup_logging(log_config{"info", "xml", ""});
  CHECK(reason_of(e2) == "log.format: expected \"text\" or \"json\", found \"xml\"");
  auto e3 = setup_logging(log_config{"info", "text", "/dev/null/x.log"});
  CHECK(is(e3, errc::invalid_config));
  CHECK(reason_of(e3).rfind("log.file: cannot open \"", 0) == 0);
  logger("after")->info("still goes to the first file");
  auto ls = lines();
  REQUIRE(ls.size() == 1);
  CHECK(ls[0].find("after: still goes to the first file") != std::string::npos);
}

TEST_CASE("logging: json_escape leaves no raw control character") {
  CHECK(json_escape("a\"b\\c\nd\x01") == "a\\\"b\\\\c\\nd\\u0001");
  CHECK(json_escape("plain") == "plain");
  spdlog::level::level_enum lvl;
  CHECK(parse_log_level("warn", lvl));
  CHECK(lvl == spdlog::level::warn);
  CHECK_FALSE(parse_log_level("warning", lvl));
}
