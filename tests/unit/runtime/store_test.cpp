#include "runtime/store.hpp"

#include "protocols/all_messages.hpp"
#include "tests/support/files.hpp"

#include <doctest/doctest.h>

using namespace fusion;
using namespace fusion::protocols;
using fusion::runtime::store;

namespace {

std::vector<char> bytes(const std::string& s) {
  return {s.begin(), s.end()};
}

service_record sample_record(const std::string& id, const std::string& name) {
  service_record r;
  r.service_id = {id};
  r.owner = protocols::principal{"acme", protocols::role::service_provider};
  r.revision = 3;
  r.manifest_yaml = "general:\n  name: " + name + "\n";
  r.parsed.name = name;
  r.parsed.hardware.gpus = 2;
  r.registered_at = 42;
  return r;
}

}  // namespace

TEST_CASE("store: put, overwrite, erase and load_all in an in-memory store") {
  auto s = store::open("");
  REQUIRE(s);
  auto& db = **s;
  CHECK(db.path() == ":memory:");
  auto empty = db.load_all("things");
  REQUIRE(empty);
  CHECK(empty->empty());
  REQUIRE_FALSE(db.put("things", "b", bytes("2")));
  REQUIRE_FALSE(db.put("things", "a", bytes("1")));
  REQUIRE_FALSE(db.put("things", "b", bytes("22")));
  REQUIRE_FALSE(db.put("other", "a", bytes("x")));
  auto rows = db.load_all("things");
  REQUIRE(rows);
  REQUIRE(rows->size() == 2);
  CHECK((*rows)[0] == std::pair{std::string{"a"}, bytes("1")});
  CHECK((*rows)[1] == std::pair{std::string{"b"}, bytes("22")});
  REQUIRE_FALSE(db.erase("things", "a"));
  REQUIRE_FALSE(db.erase("things", "never-there"));
  rows = db.load_all("things");
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK((*rows)[0].first == "b");
  CHECK(db.load_all("other")->size() == 1);
  REQUIRE_FALSE(db.put("other", "empty", {}));
  auto other = db.load_all("other");
  REQUIRE(other);
  REQUIRE(other->size() == 2);
  CHECK((*other)[1] == std::pair{std::string{"empty"}, std::vector<char>{}});
}

TEST_CASE("store: committed records survive closing and reopening the file") {
  test::temp_dir tmp;
  auto path = tmp.file("state.db");
  {
    auto s = store::open(path);
    REQUIRE(s);
    REQUIRE_FALSE((*s)->put_record("services", "svc-1", sample_record("svc-1", "fusion://a/x")));
    REQUIRE_FALSE((*s)->put_record("services", "svc-2", sample_record("svc-2", "fusion://a/y")));
    REQUIRE_FALSE((*s)->erase("services", "svc-1"));
  }
  auto s = store::open(path);
  REQUIRE(s);
  auto recs = (*s)->load_records<service_record>("services");
  REQUIRE(recs);
  REQUIRE(recs->size() == 1);
  CHECK((*recs)[0].first == "svc-2");
  CHECK((*recs)[0].second == sample_record("svc-2", "fusion://a/y"));
}

TEST_CASE("store: a record that does not decode is reported with table and key") {
  auto s = store::open(":memory:");
  REQUIRE(s);
  auto& db = **s;
  REQUIRE_FALSE(db.put_record("services", "svc-1", sample_record("svc-1", "fusion://a/x")));
  REQUIRE_FALSE(db.put("services", "svc-2", bytes("\xc1 not msgpack")));
  zone_record z;
  z.zone_id = {"zone-1"};
  REQUIRE_FALSE(db.put_record("services", "svc-3", z));  // right format, wrong type
  auto all = db.load_records<service_record>("services");
  REQUIRE_FALSE(all);
  CHECK(is(all.error(), errc::malformed_frame));
  CHECK(reason_of(all.error()).find("record 'svc-2' in table 'services'") != std::string::npos);
  std::vector<caf::error> corrupt;
  auto some = db.load_records<service_record>("services", &corrupt);
  REQUIRE(some);
  REQUIRE(some->size() == 1);
  CHECK((*some)[0].first == "svc-1");
  REQUIRE(corrupt.size() == 2);
  CHECK(reason_of(corrupt[0]).find("'svc-2'") != std::string::npos);
  CHECK(reason_of(corrupt[1]).find("'svc-3'") != std::string::npos);
  CHECK(reason_of(corrupt[1]).find("service_record") != std::string::npos);
}

TEST_CASE("store: bad table names and unopenable paths are errors, not crashes") {
  auto s = store::open("");
  REQUIRE(s);
  auto err = (*s)->put("x; DROP TABLE y", "k", bytes("v"));
  CHECK(is(err, errc::invalid_argument));
  CHECK(is((*s)->load_all("").error(), errc::invalid_argument));
  auto bad = store::open("/nonexistent-dir-for-fusion-tests/sub/state.db");
  REQUIRE_FALSE(bad);
  CHECK(is(bad.error(), errc::storage_failure));
  CHECK(reason_of(bad.error()).find("/nonexistent-dir-for-fusion-tests/sub/state.db") !=
        std::string::npos);
}

TEST_CASE("store: a file that is not a database fails with storage_failure") {
  test::temp_dir tmp;
  auto path = tmp.file("junk.db");
  {
    std::ofstream out{path};
    out << std::string(4096, 'j');
  }
  auto s = store::open(path);
  if (s) {
    auto rows = (*s)->load_all("services");
    REQUIRE_FALSE(rows);
    CHECK(is(rows.error(), errc::storage_failure));
  } else {
    CHECK(is(s.error(), errc::storage_failure));
  }
}
