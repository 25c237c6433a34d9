#pragma once
// The durable store (DESIGN §7): a small key → bytes store on SQLite 3 in WAL mode with
// synchronous=FULL, one table per record kind. A put returns only after its transaction is
// committed, so an acknowledged registration survives a crash. Records are versioned msgpack
// envelopes (protocols/registry.hpp), so a newer binary reads an older store.

#include "protocols/errc.hpp"
#include "protocols/registry.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace fusion::runtime {

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
  caf::error ensure_table(const std::string& table);
  caf::expected<sqlite3_stmt*> statement(const std::string& table, char op);

  sqlite3* db_;
  std::string path_;
  std::set<std::string> tables_;                ///< Tables known to exist.
  std::map<std::string, sqlite3_stmt*> stmts_;  ///< Cached by op + table.
};

}  // namespace fusion::runtime
