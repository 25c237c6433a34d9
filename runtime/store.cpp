#include "runtime/store.hpp"

#include "runtime/clock.hpp"
#include "runtime/logging.hpp"

#include <caf/actor_system.hpp>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

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
  // Reads the schema, so a file that is not a database fails here, not at the first write.
  if (auto err = s->exec("SELECT count(*) FROM sqlite_master")) return err;
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

void store::forget_schema() {
  for (auto& kv : stmts_) sqlite3_finalize(kv.second);
  stmts_.clear();
  tables_.clear();
}

caf::error store::write(const store_write& w) {
  if (w.erase) return erase(w.table, w.key);
  return put(w.table, w.key, w.value);
}

std::vector<caf::error> store::commit(const std::vector<const write_batch*>& batches) {
  std::vector<caf::error> out(batches.size());
  if (auto err = exec("BEGIN IMMEDIATE")) {
    std::fill(out.begin(), out.end(), err);
    return out;
  }
  for (size_t i = 0; i < batches.size(); ++i) {
    if (batches[i]->empty()) continue;
    if (auto err = exec("SAVEPOINT b")) {
      out[i] = err;
      continue;
    }
    for (const auto& w : *batches[i]) {
      if (auto err = write(w)) {
        out[i] = std::move(err);
        break;
      }
    }
    if (out[i]) {
      static_cast<void>(exec("ROLLBACK TO b"));
      forget_schema();  // a table it created is gone again
    }
    static_cast<void>(exec("RELEASE b"));
  }
  if (auto err = exec("COMMIT")) {
    static_cast<void>(exec("ROLLBACK"));
    forget_schema();
    for (auto& e : out)
      if (!e) e = err;
  }
  return out;
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

store_write counter_write(std::string table, std::string key, uint64_t n) {
  auto text = std::to_string(n);
  return {std::move(table), std::move(key), std::vector<char>(text.begin(), text.end()), false};
}

uint64_t parse_counter(const std::vector<char>& value) {
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  return ec == std::errc{} && end == value.data() + value.size() ? n : 0;
}

// --- store_writer ---

store_writer::store_writer(std::unique_ptr<store> db, bool threaded)
    : db_(std::move(db)), threaded_(threaded) {
  if (threaded_) thread_ = std::thread{[this] { run(); }};
}

store_writer::~store_writer() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
    held_ = false;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void store_writer::submit(write_batch batch, callback done) {
  if (!threaded_) {
    std::vector<job> jobs;
    jobs.push_back(job{std::move(batch), std::move(done)});
    commit_jobs(jobs);
    return;
  }
  {
    std::lock_guard<std::mutex> guard{mtx_};
    queue_.push_back(job{std::move(batch), std::move(done)});
  }
  cv_.notify_one();
}

uint64_t store_writer::transactions() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return transactions_;
}

uint64_t store_writer::batches() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return batches_;
}

void store_writer::hold(bool on) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    held_ = on;
  }
  cv_.notify_all();
}

void store_writer::run() {
  std::vector<job> jobs;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock{mtx_};
      cv_.wait(lock, [this] { return stop_ || (!held_ && !queue_.empty()); });
      if (queue_.empty()) return;  // stopping, nothing left
      // Everything queued while the previous transaction was committing goes in this one.
      jobs.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
      queue_.clear();
    }
    commit_jobs(jobs);
    jobs.clear();
  }
}

void store_writer::commit_jobs(std::vector<job>& jobs) {
  std::vector<const write_batch*> writes;
  for (const auto& j : jobs)
    if (!j.batch.empty()) writes.push_back(&j.batch);
  std::vector<caf::error> results;
  if (!writes.empty()) results = db_->commit(writes);
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!writes.empty()) ++transactions_;
    batches_ += writes.size();
  }
  size_t r = 0;
  for (auto& j : jobs) {
    caf::error err;
    if (!j.batch.empty()) err = std::move(results[r++]);
    if (j.done) j.done(std::move(err));
  }
}

caf::expected<std::shared_ptr<store_writer>> open_writer(caf::actor_system& sys,
                                                         const std::string& path) {
  auto db = store::open(path);
  if (!db) return db.error();
  bool in_memory = (*db)->path() == ":memory:";
  return std::make_shared<store_writer>(std::move(*db), !in_memory && !simulated_time(sys));
}

caf::error prepare_data_dir(const std::string& dir) {
  if (dir.empty()) return {};
  auto fail = [&](const std::string& what) {
    return make_error(errc::storage_failure, "node.data_dir \"" + dir + "\" " + what);
  };
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return fail(std::string{"cannot be read: "} + std::strerror(errno));
    // Create missing parents too; each new folder is private to this user.
    for (size_t pos = 0; pos != std::string::npos;) {
      pos = dir.find('/', pos + 1);
      auto part = dir.substr(0, pos);
      if (::mkdir(part.c_str(), 0700) != 0 && errno != EEXIST)
        return fail("does not exist and cannot be created (" + part + ": " + std::strerror(errno) +
                    "); create it or fix node.data_dir");
    }
    logger("node")->info("created data_dir {} (mode 0700)", dir);
    return {};
  }
  if (!S_ISDIR(st.st_mode)) return fail("is not a directory; point node.data_dir at a folder");
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    return fail("is not writable by this user; fix its permissions or choose another folder");
  return {};
}

}  // namespace fusion::runtime
