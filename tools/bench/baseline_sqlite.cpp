// Baseline "sqlite": chunks as BLOBs in one SQLite table, WAL mode,
// synchronous=FULL (the WAL is fsynced at every commit), one SQL
// transaction per h5tx transaction. W2 ends with a checkpoint so its data
// is in the main database, as h5tx's W2 ends with a flush.
#include <sqlite3.h>

#include "bench.hpp"
#include "h5tx/error.hpp"

namespace h5tx {
namespace bench {

namespace {

class Db {
 public:
  explicit Db(const std::string& path) : path_(path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
      fail("sqlite3_open_v2");
    sqlite3_busy_timeout(db_, 600000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE IF NOT EXISTS chunks(idx INTEGER PRIMARY KEY, data BLOB NOT NULL)");
    if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO chunks(idx, data) VALUES(?, ?)", -1, &put_,
                           nullptr) != SQLITE_OK)
      fail("prepare");
  }
  ~Db() {
    sqlite3_finalize(put_);
    sqlite3_close(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "?";
      sqlite3_free(msg);
      throw IoError(path_, std::string("sqlite: ") + sql + ": " + m);
    }
  }
  void put(uint64_t idx, const void* data, size_t n) {
    sqlite3_bind_int64(put_, 1, sqlite3_int64(idx));
    sqlite3_bind_blob64(put_, 2, data, n, SQLITE_STATIC);
    if (sqlite3_step(put_) != SQLITE_DONE) fail("insert");
    sqlite3_reset(put_);
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw IoError(path_, std::string("sqlite ") + what + ": " + (db_ ? sqlite3_errmsg(db_) : "?"));
  }
  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* put_ = nullptr;
};

// `tx` transactions of `per_tx` chunks; chunk indices start at first.
void run_sqlite(Db* db, uint64_t first_tx, uint64_t tx, uint64_t per_tx, uint64_t chunk, Latencies* lat) {
  Payload p(chunk);
  for (uint64_t t = first_tx; t < first_tx + tx; t++) {
    double a = now_seconds();
    db->exec("BEGIN IMMEDIATE");
    for (uint64_t i = 0; i < per_tx; i++) db->put(t * per_tx + i, p.stamp(t, i), chunk);
    db->exec("COMMIT");
    lat->add(now_seconds() - a);
  }
}

}  // namespace

Result sqlite_w1(const Context& c) {
  Db db(c.scratch + "/bench.sqlite");
  Latencies lat;
  double t0 = now_seconds();
  run_sqlite(&db, 0, c.sizes.w1_tx, 1, c.sizes.w1_chunk, &lat);
  Result r;
  report_throughput(&r, c.sizes.w1_tx, c.sizes.w1_tx * c.sizes.w1_chunk, now_seconds() - t0);
  lat.report(&r);
  return r;
}

Result sqlite_w2(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t per_tx = s.w2_chunks_per_tx;
  uint64_t tx = s.w2_mib * MiB / (per_tx * s.w2_chunk);
  Db db(c.scratch + "/bench.sqlite");
  Latencies lat;
  double t0 = now_seconds();
  run_sqlite(&db, 0, tx, per_tx, s.w2_chunk, &lat);
  double commit = now_seconds() - t0;
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  Result r;
  uint64_t bytes = tx * per_tx * s.w2_chunk;
  report_throughput(&r, tx, bytes, now_seconds() - t0);
  r.metrics["commit_mib_per_s"] = double(bytes) / double(MiB) / commit;
  lat.report(&r);
  return r;
}

// Eight connections, one per thread, to one database (SQLite serialises
// the writers; BEGIN IMMEDIATE waits for the write lock).
Result sqlite_w3(const Context& c) {
  const Sizes& s = c.sizes;
  std::string path = c.scratch + "/bench.sqlite";
  { Db init(path); }
  Latencies all;
  double secs = run_threads(
      s.w3_threads,
      [&](uint64_t i, Latencies* lat) {
        Db db(path);
        run_sqlite(&db, i * s.w3_tx_per_thread, s.w3_tx_per_thread, 1, s.w1_chunk, lat);
      },
      &all, path);
  uint64_t tx = s.w3_threads * s.w3_tx_per_thread;
  Result r;
  report_throughput(&r, tx, tx * s.w1_chunk, secs);
  all.report(&r);
  return r;
}

}  // namespace bench
}  // namespace h5tx
