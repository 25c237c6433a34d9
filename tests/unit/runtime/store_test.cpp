#include "runtime/store.hpp"

#include "protocols/all_messages.hpp"
#include "tests/support/files.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

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

TEST_CASE("store: a batch commits all its writes or none, and only its own") {
  auto s = store::open("");
  REQUIRE(s);
  runtime::write_batch good{{"things", "a", bytes("1")}, {"counters", "n", bytes("1")}};
  runtime::write_batch bad{{"things", "b", bytes("2")}, {"bad name", "x", bytes("3")}};
  runtime::write_batch erase{{"things", "a", {}, true}};
  auto res = (*s)->commit({&good, &bad});
  REQUIRE(res.size() == 2);
  CHECK_FALSE(res[0]);
  CHECK(is(res[1], errc::invalid_argument));
  auto rows = (*s)->load_all("things");
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);  // "b" went with its failed batch
  CHECK(rows->front().first == "a");
  CHECK((*s)->load_all("counters")->size() == 1);
  REQUIRE((*s)->commit({&erase}).front() == caf::error{});
  CHECK((*s)->load_all("things")->empty());
}

TEST_CASE("store: batches queued while the writer is busy share one transaction") {
  test::temp_dir tmp;
  auto path = tmp.file("group.db");
  constexpr size_t n = 64;
  std::mutex mtx;
  std::condition_variable cv;
  size_t done = 0;
  std::vector<caf::error> results(n);
  {
    auto db = store::open(path);
    REQUIRE(db);
    runtime::store_writer writer{std::move(*db), true};
    writer.hold(true);  // the writer is "busy": everything below queues up
    std::vector<std::thread> providers;
    for (size_t t = 0; t < 4; ++t)
      providers.emplace_back([&, t] {
        for (size_t i = t; i < n; i += 4)
          writer.submit({{"things", "k" + std::to_string(i), bytes(std::to_string(i))}},
                        [&, i](caf::error err) {
                          std::lock_guard<std::mutex> guard{mtx};
                          results[i] = std::move(err);
                          ++done;
                          cv.notify_all();
                        });
      });
    for (auto& t : providers) t.join();
    {
      std::lock_guard<std::mutex> guard{mtx};
      CHECK(done == 0);  // nothing is acknowledged before its commit
    }
    writer.hold(false);
    std::unique_lock<std::mutex> lock{mtx};
    cv.wait(lock, [&] { return done == n; });
    CHECK(writer.transactions() == 1);
    CHECK(writer.batches() == n);
  }
  for (const auto& e : results) CHECK_FALSE(e);
  auto again = store::open(path);
  REQUIRE(again);
  auto rows = (*again)->load_all("things");
  REQUIRE(rows);
  CHECK(rows->size() == n);
}

TEST_CASE("store: an empty batch is a barrier behind the batches queued before it") {
  auto db = store::open("");
  REQUIRE(db);
  runtime::store_writer writer{std::move(*db), false};
  std::vector<std::string> order;
  writer.submit({{"things", "a", bytes("1")}}, [&](caf::error) { order.push_back("write"); });
  writer.submit({}, [&](caf::error err) {
    CHECK_FALSE(err);
    order.push_back("barrier");
  });
  CHECK(order == std::vector<std::string>{"write", "barrier"});
  CHECK(writer.transactions() == 1);  // the barrier committed nothing
}

TEST_CASE("store: recover reads every record and the highest id ever issued") {
  auto s = store::open("");
  REQUIRE(s);
  auto& db = **s;
  REQUIRE_FALSE(db.put_record("services", "svc-2", sample_record("svc-2", "fusion://acme/a")));
  REQUIRE_FALSE(db.put("services", "svc-9", bytes("not msgpack")));
  REQUIRE_FALSE(db.put("services", "other", bytes("x")));
  runtime::write_batch counter{runtime::counter_write("ctr", "svc", 12)};
  REQUIRE(db.commit({&counter}).front() == caf::error{});
  auto rec = runtime::recover<service_record>(db, "services", "ctr", "svc", "svc");
  REQUIRE(rec);
  CHECK(rec->highest_id == 12);  // the counter is above every key
  REQUIRE(rec->records.size() == 1);
  CHECK(rec->records[0].first == "svc-2");
  CHECK(rec->corrupt.size() == 2);
  REQUIRE_FALSE(db.erase("ctr", "svc"));
  auto without = runtime::recover<service_record>(db, "services", "ctr", "svc", "svc");
  REQUIRE(without);
  CHECK(without->highest_id == 9);  // a key that no longer decodes still reserves its id
}

TEST_CASE("store: a missing data_dir is created private; a file or unwritable one is refused") {
  test::temp_dir tmp;
  CHECK_FALSE(runtime::prepare_data_dir(""));
  auto nested = tmp.file("a/b/state");
  REQUIRE_FALSE(runtime::prepare_data_dir(nested));
  struct stat st {};
  REQUIRE(::stat(nested.c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 0777) == 0700);
  CHECK_FALSE(runtime::prepare_data_dir(nested));  // existing: fine
  auto file = tmp.file("plain");
  std::ofstream{file} << "x";
  auto not_dir = runtime::prepare_data_dir(file);
  CHECK(is(not_dir, errc::storage_failure));
  CHECK(reason_of(not_dir).find("is not a directory") != std::string::npos);
  auto under_file = runtime::prepare_data_dir(file + "/sub");
  CHECK(is(under_file, errc::storage_failure));
  CHECK(reason_of(under_file).find(file + "/sub") != std::string::npos);
}
