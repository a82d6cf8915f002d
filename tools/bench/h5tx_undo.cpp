// h5tx in undo mode: through the public API (Store in Mode::Undo), and the
// undo driver alone on a plain HDF5 file (src/undo/driver.hpp), once with
// its buffered journal and once forced to sync the journal on every write
// as the original sec2j did (the "per-write fsync" baseline).
#include <hdf5.h>

#include "bench.hpp"
#include "h5tx/store.hpp"
#include "hdf5_file.hpp"
#include "undo/driver.hpp"

namespace h5tx {
namespace bench {

namespace {

// An undo-mode store holding kFile:/d with chunks [0, written) present.
std::unique_ptr<Store> make_store(const std::string& home, uint64_t written, uint64_t chunk, uint64_t extent,
                                  uint64_t max_extent) {
  Options o;
  o.mode = Mode::Undo;
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
  explicit UndoFapl(bool sync_every_write) {
    fapl_ = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl_ < 0) throw Hdf5Error("", "H5Pcreate(H5P_FILE_ACCESS) failed");
    undo::DriverConfig cfg;
    cfg.sync_every_write = sync_every_write;
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
Result driver_overwrite(const Context& c, bool sync_every_write) {
  const Sizes& s = c.sizes;
  uint64_t n = s.w4_mib * MiB / s.w45_chunk;
  std::string path = c.scratch + "/undo.h5";
  fill_file(path, n, s.w45_chunk, n * s.w45_chunk, n * s.w45_chunk);
  UndoFapl fapl(sync_every_write);
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

Result undo_w4(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t n = s.w4_mib * MiB / s.w45_chunk;
  uint64_t extent = n * s.w45_chunk;
  std::unique_ptr<Store> st = make_store(c.scratch + "/store", n, s.w45_chunk, extent, extent);
  Payload p(s.w45_chunk);
  double t0 = now_seconds();
  Transaction x = st->begin();
  for (uint64_t i = 0; i < n; i++) x.write_chunk(kFile, kDataset, {i}, p.stamp(0, i), s.w45_chunk);
  x.commit();
  double secs = now_seconds() - t0;
  st->close();
  return single_tx_result(extent, secs);
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

}  // namespace bench
}  // namespace h5tx
