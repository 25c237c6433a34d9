#include "runtime/store.hpp"

#include <sqlite3.h>

namespace fusion::runtime {

namespace {

/// Table names become SQL identifiers: allow only [a-z0-9_], starting with a letter.
bool valid_table_name(const std::string& t) {
  if (t.empty() || t.size() > 64 || !(t[0] >= 'a' && t[0] <= 'z')) return false;
  for (auto c : t)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

/// Resets a cached statement when leaving scope, so it never holds a read transaction open.
struct stmt_guard {
  sqlite3_stmt* s;
  ~stmt_guard() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
};

}  // namespace

caf::expected<std::unique_ptr<store>> store::open(const std::string& path) {
  auto name = path.empty() ? std::string{":memory:"} : path;
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      name.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return make_error(errc::storage_failure,
                      "store: cannot open database '" + name + "': " + why +
                          " (check that the directory exists and is writable)");
  }
  std::unique_ptr<store> s{new store(db, name)};
  sqlite3_busy_timeout(db, 2000);
  if (auto err = s->exec("PRAGMA journal_mode=WAL")) return err;
  if (auto err = s->exec("PRAGMA synchronous=FULL")) return err;
  return s;
}

store::~store() {
  for (auto& kv : stmts_) sqlite3_finalize(kv.second);
  sqlite3_close(db_);
}

caf::error store::fail(const std::string& what) const {
  return make_error(errc::storage_failure,
                    "store '" + path_ + "': " + what + ": " + sqlite3_errmsg(db_));
}

caf::error store::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string why = msg != nullptr ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return make_error(errc::storage_failure, "store '" + path_ + "': " + sql + ": " + why);
  }
  return {};
}

caf::error store::ensure_table(const std::string& table) {
  if (tables_.count(table) != 0) return {};
  if (!valid_table_name(table))
    return make_error(errc::invalid_argument, "store: table name '" + table +
                                                  "' must be 1-64 characters of [a-z0-9_] "
                                                  "starting with a letter");
  auto sql = "CREATE TABLE IF NOT EXISTS " + table +
             " (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL) WITHOUT ROWID";
  if (auto err = exec(sql.c_str())) return err;
  tables_.insert(table);
  return {};
}

caf::expected<sqlite3_stmt*> store::statement(const std::string& table, char op) {
  auto id = std::string(1, op) + table;
  if (auto i = stmts_.find(id); i != stmts_.end()) return i->second;
  if (auto err = ensure_table(table)) return err;
  std::string sql;
  switch (op) {
    case 'p':
      sql = "INSERT OR REPLACE INTO " + table + " (key, value) VALUES (?1, ?2)";
      break;
    case 'e':
      sql = "DELETE FROM " + table + " WHERE key = ?1";
      break;
    default:
      sql = "SELECT key, value FROM " + table + " ORDER BY key";
      break;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
    return fail("cannot prepare '" + sql + "'");
  stmts_.emplace(id, s);
  return s;
}

caf::error store::put(const std::string& table, const std::string& key,
                      const std::vector<char>& value) {
  auto s = statement(table, 'p');
  if (!s) return s.error();
  stmt_guard guard{*s};
  sqlite3_bind_text(*s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  // An empty vector may have no buffer; SQLite would store NULL for a null pointer.
  static const char empty = 0;
  sqlite3_bind_blob(*s, 2, value.empty() ? &empty : value.data(), static_cast<int>(value.size()),
                    SQLITE_STATIC);
  if (sqlite3_step(*s) != SQLITE_DONE)
    return fail("cannot write '" + key + "' to table '" + table + "'");
  return {};
}

caf::error store::erase(const std::string& table, const std::string& key) {
  auto s = statement(table, 'e');
  if (!s) return s.error();
  stmt_guard guard{*s};
  sqlite3_bind_text(*s, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  if (sqlite3_step(*s) != SQLITE_DONE)
    return fail("cannot erase '" + key + "' from table '" + table + "'");
  return {};
}

caf::expected<std::vector<std::pair<std::string, std::vector<char>>>> store::load_all(
    const std::string& table) {
  auto s = statement(table, 'l');
  if (!s) return s.error();
  stmt_guard guard{*s};
  std::vector<std::pair<std::string, std::vector<char>>> out;
  for (;;) {
    int rc = sqlite3_step(*s);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return fail("cannot read table '" + table + "'");
    auto key = reinterpret_cast<const char*>(sqlite3_column_text(*s, 0));
    auto key_len = static_cast<size_t>(sqlite3_column_bytes(*s, 0));
    auto blob = static_cast<const char*>(sqlite3_column_blob(*s, 1));
    auto blob_len = static_cast<size_t>(sqlite3_column_bytes(*s, 1));
    out.emplace_back(
        std::string(key != nullptr ? key : "", key_len),
        blob != nullptr ? std::vector<char>(blob, blob + blob_len) : std::vector<char>{});
  }
  return out;
}

}  // namespace fusion::runtime
