#pragma once
// The durable store (DESIGN §7): a small key → bytes store on SQLite 3 in WAL mode with
// synchronous=FULL, one table per record kind. A put returns only after its transaction is
// committed, so an acknowledged registration survives a crash. Records are versioned msgpack
// envelopes (protocols/registry.hpp), so a newer binary reads an older store.
//
// Actors do not write on their scheduler thread: a store_writer owns the store and commits
// on its own thread, every batch queued meanwhile in one transaction (group commit); the
// actor answers from the batch's callback, after the commit. recover() is the one way an
// owner reads its records and id counter back at start. docs/registrar.md.

#include "protocols/errc.hpp"
#include "protocols/registry.hpp"
#include "runtime/clock.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace caf {
class actor_system;
}  // namespace caf

struct sqlite3;
struct sqlite3_stmt;

namespace fusion::runtime {

/// One write of a batch: `value` under `key` in `table`, or the key's removal.
struct store_write {
  std::string table;
  std::string key;
  std::vector<char> value;
  bool erase = false;
};

/// Writes that commit together or not at all (one acknowledged change).
using write_batch = std::vector<store_write>;

/// A write of `x` as a versioned msgpack envelope under `key`.
template <class T>
store_write record_write(std::string table, std::string key, const T& x) {
  msgpack::sbuffer buf;
  protocols::encode(x, buf);
  return {std::move(table), std::move(key), std::vector<char>(buf.data(), buf.data() + buf.size()),
          false};
}

/// A write of an id counter: the decimal number `n` under `key` (docs/protocols.md).
store_write counter_write(std::string table, std::string key, uint64_t n);

/// A durable key → bytes map per table. Not thread-safe: one owner (an actor) at a time.
class store {
 public:
  /// Opens (or creates) the database at `path`; "" or ":memory:" is a private in-memory
  /// database. Failures are errc::storage_failure naming the path.
  static caf::expected<std::unique_ptr<store>> open(const std::string& path);

  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Writes `value` under `key` in `table` (created on demand); committed before returning.
  caf::error put(const std::string& table, const std::string& key, const std::vector<char>& value);

  /// Removes `key` from `table`; committed before returning. Absent keys are not an error.
  caf::error erase(const std::string& table, const std::string& key);

  /// Commits `batches` in one transaction; each batch inside its own savepoint, so a batch
  /// that fails (bad table name, full disk on one write) leaves the others committed.
  /// Returns one result per batch; a failed COMMIT fails them all.
  std::vector<caf::error> commit(const std::vector<const write_batch*>& batches);

  /// Every (key, value) of `table`, ordered by key. A missing table is empty.
  caf::expected<std::vector<std::pair<std::string, std::vector<char>>>> load_all(
      const std::string& table);

  /// Encodes `x` as a versioned msgpack envelope and puts it under `key`.
  template <class T>
  caf::error put_record(const std::string& table, const std::string& key, const T& x) {
    msgpack::sbuffer buf;
    protocols::encode(x, buf);
    return put(table, key, std::vector<char>(buf.data(), buf.data() + buf.size()));
  }

  /// Loads and decodes every record of `table`. A record that does not decode is reported
  /// as an error naming table and key: appended to `corrupt` (and skipped) if given, else
  /// the whole load fails with it.
  template <class T>
  caf::expected<std::vector<std::pair<std::string, T>>> load_records(
      const std::string& table, std::vector<caf::error>* corrupt = nullptr) {
    auto rows = load_all(table);
    if (!rows) return rows.error();
    std::vector<std::pair<std::string, T>> out;
    out.reserve(rows->size());
    for (auto& [key, bytes] : *rows) {
      auto x = protocols::decode<T>(bytes.data(), bytes.size());
      if (!x) {
        auto err = make_error(errc::malformed_frame, "store: record '" + key + "' in table '" +
                                                         table + "' cannot be decoded as " +
                                                         T::meta.name + ": " + describe(x.error()));
        if (corrupt == nullptr) return err;
        corrupt->push_back(std::move(err));
        continue;
      }
      out.emplace_back(key, std::move(*x));
    }
    return out;
  }

  /// Where the database lives (":memory:" for in-memory stores).
  const std::string& path() const { return path_; }

 private:
  store(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

  caf::error fail(const std::string& what) const;
  caf::error exec(const char* sql);
  caf::error write(const store_write& w);
  void forget_schema();  ///< Drops cached statements and tables (after a rollback).
  caf::error ensure_table(const std::string& table);
  caf::expected<sqlite3_stmt*> statement(const std::string& table, char op);

  sqlite3* db_;
  std::string path_;
  std::set<std::string> tables_;                ///< Tables known to exist.
  std::map<std::string, sqlite3_stmt*> stmts_;  ///< Cached by op + table.
};

/// What an owner reads back from its table at start: the records whose key is their id,
/// and the highest id number ever issued (from the keys, readable or not, and the counter).
template <class T>
struct recovered {
  std::vector<std::pair<std::string, T>> records;  ///< Ordered by key.
  uint64_t highest_id = 0;
  std::vector<caf::error> corrupt;  ///< Records that do not decode (they stay on disk).
};

/// Reads `table` once and the counter `counter_key` of `counters_table`; ids are
/// "`prefix`-N". The one recovery path of every store owner.
template <class T>
caf::expected<recovered<T>> recover(store& db, const std::string& table,
                                    const std::string& counters_table, std::string_view prefix,
                                    const std::string& counter_key);

/// Parses a stored counter value (decimal digits); 0 if it has another shape.
uint64_t parse_counter(const std::vector<char>& value);

template <class T>
caf::expected<recovered<T>> recover(store& db, const std::string& table,
                                    const std::string& counters_table, std::string_view prefix,
                                    const std::string& counter_key) {
  auto rows = db.load_all(table);
  if (!rows) return rows.error();
  auto counters = db.load_all(counters_table);
  if (!counters) return counters.error();
  recovered<T> out;
  for (const auto& [key, value] : *counters)
    if (key == counter_key) out.highest_id = std::max(out.highest_id, parse_counter(value));
  out.records.reserve(rows->size());
  for (auto& [key, bytes] : *rows) {
    // Every stored key reserves its number, even one whose record no longer decodes.
    out.highest_id = std::max(out.highest_id, id_number(key, prefix));
    auto x = protocols::decode<T>(bytes.data(), bytes.size());
    if (!x) {
      out.corrupt.push_back(
          make_error(errc::malformed_frame, "store: record '" + key + "' in table '" + table +
                                                "' cannot be decoded as " + T::meta.name + ": " +
                                                describe(x.error())));
      continue;
    }
    out.records.emplace_back(std::move(key), std::move(*x));
  }
  return out;
}

/// Owns a store and commits batches off the caller's thread (group commit). Callbacks run
/// on the writer thread, in submission order, each after its batch is durable; they must be
/// short (an actor's callback sends itself a message). Thread-safe.
class store_writer {
 public:
  /// Called with the batch's result once it is committed (or failed).
  using callback = std::function<void(caf::error)>;

  /// `threaded` false: submit() commits on the caller's thread before returning (for
  /// in-memory stores, and under CAF's deterministic test coordinator, which has no other
  /// thread to run in lockstep).
  store_writer(std::unique_ptr<store> db, bool threaded);

  /// Commits what is queued, then stops the thread.
  ~store_writer();
  store_writer(const store_writer&) = delete;
  store_writer& operator=(const store_writer&) = delete;

  /// Queues `batch`; `done` runs after it commits. An empty batch commits nothing and
  /// runs `done` after every batch queued before it (a barrier for readers).
  void submit(write_batch batch, callback done);

  /// The store, for recovery reads before the first submit().
  store& db() { return *db_; }

  /// Transactions committed and non-empty batches in them (batches / transactions is the
  /// group size).
  uint64_t transactions() const;
  uint64_t batches() const;

  /// Tests: while held, batches queue up and nothing commits.
  void hold(bool on);

 private:
  struct job {
    write_batch batch;
    callback done;
  };
  void run();
  void commit_jobs(std::vector<job>& jobs);

  std::unique_ptr<store> db_;
  bool threaded_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<job> queue_;
  bool stop_ = false;
  bool held_ = false;
  uint64_t transactions_ = 0;
  uint64_t batches_ = 0;
  std::thread thread_;
};

/// Opens the store at `path` behind a writer: threaded for a file, inline for an in-memory
/// store or under the deterministic test coordinator (runtime::simulated_time).
caf::expected<std::shared_ptr<store_writer>> open_writer(caf::actor_system& sys,
                                                         const std::string& path);

/// Prepares a node's data_dir: creates it (and missing parents) with mode 0700 if absent;
/// a path that is not a directory or not writable is errc::storage_failure naming it.
/// "" (in-memory state) needs nothing.
caf::error prepare_data_dir(const std::string& dir);

}  // namespace fusion::runtime
