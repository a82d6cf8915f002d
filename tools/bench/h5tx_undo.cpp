// h5tx in undo mode: through the public API (Store in Mode::Undo), and the
// undo driver alone on a plain HDF5 file (src/undo/driver.hpp), once with
// its buffered journal and once forced to sync the journal on every write
// as the original sec2j did (the "per-write fsync" baseline).
#include <hdf5.h>
#include <unistd.h>

#include "bench.hpp"
#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "hdf5_file.hpp"
#include "undo/driver.hpp"

namespace h5tx {
namespace bench {

namespace {

// A slow disk: Env::posix() with `delay_us` added to every sync (fsync,
// fdatasync, directory sync), for W4slow (issue 13: W4 "on a disk whose
// fsync costs at least 1 ms").
class SlowSyncFile : public File {
 public:
  SlowSyncFile(std::unique_ptr<File> f, uint64_t delay_us) : f_(std::move(f)), delay_us_(delay_us) {}
  size_t read(uint64_t offset, void* buf, size_t n) override { return f_->read(offset, buf, n); }
  void write(uint64_t offset, const void* buf, size_t n) override { f_->write(offset, buf, n); }
  void append(const void* buf, size_t n) override { f_->append(buf, n); }
  void truncate(uint64_t size) override { f_->truncate(size); }
  void sync() override {
    f_->sync();
    ::usleep(useconds_t(delay_us_));
  }
  void datasync() override {
    f_->datasync();
    ::usleep(useconds_t(delay_us_));
  }
  void start_writeback(uint64_t offset, uint64_t n) override { f_->start_writeback(offset, n); }
  uint64_t size() override { return f_->size(); }
  const std::string& path() const override { return f_->path(); }
  FileIdentity identity() override { return f_->identity(); }
  bool try_lock(LockKind kind) override { return f_->try_lock(kind); }
  void unlock() override { f_->unlock(); }

 private:
  std::unique_ptr<File> f_;
  uint64_t delay_us_;
};

class SlowSyncEnv : public Env {
 public:
  explicit SlowSyncEnv(uint64_t delay_us) : base_(Env::posix()), delay_us_(delay_us) {}
  std::unique_ptr<File> open(const std::string& path, OpenMode mode) override {
    return std::make_unique<SlowSyncFile>(base_->open(path, mode), delay_us_);
  }
  bool exists(const std::string& path) override { return base_->exists(path); }
  bool is_directory(const std::string& path) override { return base_->is_directory(path); }
  uint64_t file_size(const std::string& path) override { return base_->file_size(path); }
  std::string resolve_symlinks(const std::string& path) override { return base_->resolve_symlinks(path); }
  std::string file_identity(const std::string& path) override { return base_->file_identity(path); }
  void remove_file(const std::string& path) override { base_->remove_file(path); }
  void rename(const std::string& from, const std::string& to) override { base_->rename(from, to); }
  void create_dir(const std::string& path) override { base_->create_dir(path); }
  void remove_dir(const std::string& path) override { base_->remove_dir(path); }
  std::vector<std::string> list_dir(const std::string& path) override { return base_->list_dir(path); }
  void sync_dir(const std::string& path) override {
    base_->sync_dir(path);
    ::usleep(useconds_t(delay_us_));
  }
  std::unique_ptr<FileLock> lock_file(const std::string& path, LockKind kind,
                                      std::chrono::milliseconds timeout) override {
    return base_->lock_file(path, kind, timeout);
  }
  uint64_t now_micros() override { return base_->now_micros(); }
  void sleep_micros(uint64_t micros) override { base_->sleep_micros(micros); }

 private:
  Env* base_;
  uint64_t delay_us_;
};

// An undo-mode store holding kFile:/d with chunks [0, written) present.
std::unique_ptr<Store> make_store(const std::string& home, uint64_t written, uint64_t chunk, uint64_t extent,
                                  uint64_t max_extent, Env* env = nullptr) {
  Options o;
  o.mode = Mode::Undo;
  o.env = env;
  std::unique_ptr<Store> st = Store::create(home, o);
  Transaction tx = st->begin();
  tx.create_file(kFile);
  tx.create_dataset(kFile, kDataset, spec_of(extent, max_extent, chunk));
  Payload p(chunk);
  for (uint64_t i = 0; i < written; i++)
    tx.write_chunk(kFile, kDataset, {i}, p.stamp(~uint64_t(0), i), chunk);
  tx.commit();
  return st;
}

// A file access property list selecting the undo driver.
class UndoFapl {
 public:
  explicit UndoFapl(bool sync_every_write, Env* env = nullptr) {
    fapl_ = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl_ < 0) throw Hdf5Error("", "H5Pcreate(H5P_FILE_ACCESS) failed");
    undo::DriverConfig cfg;
    cfg.sync_every_write = sync_every_write;
    cfg.env = env;
    undo::set_fapl(fapl_, cfg);
  }
  ~UndoFapl() { H5Pclose(fapl_); }
  UndoFapl(const UndoFapl&) = delete;
  UndoFapl& operator=(const UndoFapl&) = delete;
  hid_t get() const { return fapl_; }

 private:
  hid_t fapl_ = -1;
};

// W4 on the undo driver alone: one transaction overwriting every chunk.
Result driver_overwrite(const Context& c, bool sync_every_write, Env* env = nullptr) {
  const Sizes& s = c.sizes;
  uint64_t n = s.w4_mib * MiB / s.w45_chunk;
  std::string path = c.scratch + "/undo.h5";
  fill_file(path, n, s.w45_chunk, n * s.w45_chunk, n * s.w45_chunk);
  UndoFapl fapl(sync_every_write, env);
  PlainFile f(path, fapl.get());
  Payload p(s.w45_chunk);
  double t0 = now_seconds();
  undo::tx_start(f.file());
  for (uint64_t i = 0; i < n; i++) f.write_chunk(i, s.w45_chunk, p.stamp(0, i));
  undo::tx_commit(f.file());
  double secs = now_seconds() - t0;
  f.close();
  return single_tx_result(n * s.w45_chunk, secs);
}

// W5 on the undo driver alone: transactions that grow the dataset.
Result driver_append(const Context& c, bool sync_every_write) {
  const Sizes& s = c.sizes;
  uint64_t existing = s.w5_mib * MiB / s.w45_chunk;
  uint64_t per_tx = existing / s.w5_tx;
  std::string path = c.scratch + "/undo.h5";
  fill_file(path, existing, s.w45_chunk, existing * s.w45_chunk, 0);
  UndoFapl fapl(sync_every_write);
  PlainFile f(path, fapl.get());
  Payload p(s.w45_chunk);
  Latencies lat;
  uint64_t next = existing;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < s.w5_tx; t++) {
    double a = now_seconds();
    undo::tx_start(f.file());
    f.set_extent((next + per_tx) * s.w45_chunk);
    for (uint64_t i = 0; i < per_tx; i++) f.write_chunk(next + i, s.w45_chunk, p.stamp(t, i));
    next += per_tx;
    undo::tx_commit(f.file());
    lat.add(now_seconds() - a);
  }
  double secs = now_seconds() - t0;
  f.close();
  Result r;
  report_throughput(&r, s.w5_tx, s.w5_tx * per_tx * s.w45_chunk, secs);
  lat.report(&r);
  return r;
}

}  // namespace

Result undo_w1(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t extent = s.w1_tx * s.w1_chunk;
  std::unique_ptr<Store> st = make_store(c.scratch + "/store", 0, s.w1_chunk, extent, extent);
  Payload p(s.w1_chunk);
  Latencies lat;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < s.w1_tx; t++) {
    double a = now_seconds();
    Transaction x = st->begin();
    x.write_chunk(kFile, kDataset, {t}, p.stamp(t, 0), s.w1_chunk);
    x.commit();
    lat.add(now_seconds() - a);
  }
  Result r;
  report_throughput(&r, s.w1_tx, extent, now_seconds() - t0);
  lat.report(&r);
  st->close();
  return r;
}

static Result undo_overwrite(const Context& c, Env* env) {
  const Sizes& s = c.sizes;
  uint64_t n = s.w4_mib * MiB / s.w45_chunk;
  uint64_t extent = n * s.w45_chunk;
  std::unique_ptr<Store> st = make_store(c.scratch + "/store", n, s.w45_chunk, extent, extent, env);
  Payload p(s.w45_chunk);
  double t0 = now_seconds();
  Transaction x = st->begin();
  for (uint64_t i = 0; i < n; i++) x.write_chunk(kFile, kDataset, {i}, p.stamp(0, i), s.w45_chunk);
  x.commit();
  double secs = now_seconds() - t0;
  st->close();
  return single_tx_result(extent, secs);
}

Result undo_w4(const Context& c) {
  return undo_overwrite(c, nullptr);
}

Result undo_w5(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t existing = s.w5_mib * MiB / s.w45_chunk;
  uint64_t per_tx = existing / s.w5_tx;
  std::unique_ptr<Store> st =
      make_store(c.scratch + "/store", existing, s.w45_chunk, existing * s.w45_chunk, 0);
  Payload p(s.w45_chunk);
  Latencies lat;
  uint64_t next = existing;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < s.w5_tx; t++) {
    double a = now_seconds();
    Transaction x = st->begin();
    x.extend_dataset(kFile, kDataset, {(next + per_tx) * s.w45_chunk});
    for (uint64_t i = 0; i < per_tx; i++)
      x.write_chunk(kFile, kDataset, {next + i}, p.stamp(t, i), s.w45_chunk);
    next += per_tx;
    x.commit();
    lat.add(now_seconds() - a);
  }
  Result r;
  report_throughput(&r, s.w5_tx, s.w5_tx * per_tx * s.w45_chunk, now_seconds() - t0);
  lat.report(&r);
  st->close();
  return r;
}

Result driver_w4(const Context& c) {
  return driver_overwrite(c, false);
}
Result driver_w5(const Context& c) {
  return driver_append(c, false);
}
Result driver_fsync_w4(const Context& c) {
  return driver_overwrite(c, true);
}
Result driver_fsync_w5(const Context& c) {
  return driver_append(c, true);
}

Result undo_w4_slow(const Context& c) {
  SlowSyncEnv env(c.sizes.sync_delay_ms * 1000);
  return undo_overwrite(c, &env);
}
Result driver_w4_slow(const Context& c) {
  SlowSyncEnv env(c.sizes.sync_delay_ms * 1000);
  return driver_overwrite(c, false, &env);
}
Result driver_fsync_w4_slow(const Context& c) {
  SlowSyncEnv env(c.sizes.sync_delay_ms * 1000);
  return driver_overwrite(c, true, &env);
}

}  // namespace bench
}  // namespace h5tx
