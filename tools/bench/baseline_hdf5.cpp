// Baselines on plain HDF5 (sec2 driver, no h5tx):
//   plain        H5Dwrite_chunk + H5Fflush + fsync per transaction. Fast,
//                not crash-safe (a crash mid-flush can corrupt the file).
//   copy+rename  the usual "atomic save": copy the whole file, modify the
//                copy, fsync it, rename it over the original, fsync the
//                directory; per transaction.
// The files are made by hdf5_file.hpp.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "bench.hpp"
#include "h5tx/error.hpp"
#include "hdf5_file.hpp"

namespace h5tx {
namespace bench {

namespace {

// Copies src to dst with read/write (no reflinks: a real copy of every byte).
void copy_file(const std::string& src, const std::string& dst, std::vector<uint8_t>* buf) {
  Fd in(src, O_RDONLY);
  Fd out(dst, O_WRONLY | O_CREAT | O_TRUNC);
  uint64_t off = 0;
  for (;;) {
    ssize_t n = ::pread(in.get(), buf->data(), buf->size(), off_t(off));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError(src, "read failed", errno);
    }
    if (n == 0) break;
    pwrite_all(out.get(), buf->data(), size_t(n), off, dst);
    off += uint64_t(n);
  }
}

}  // namespace

Result plain_w1(const Context& c) {
  const Sizes& s = c.sizes;
  std::string path = c.scratch + "/plain.h5";
  create_file(path, s.w1_tx * s.w1_chunk, s.w1_tx * s.w1_chunk, s.w1_chunk);
  PlainFile f(path);
  Payload p(s.w1_chunk);
  Latencies lat;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < s.w1_tx; t++) {
    double a = now_seconds();
    f.write_chunk(t, s.w1_chunk, p.stamp(t, 0));
    f.sync();
    lat.add(now_seconds() - a);
  }
  Result r;
  report_throughput(&r, s.w1_tx, s.w1_tx * s.w1_chunk, now_seconds() - t0);
  lat.report(&r);
  f.close();
  return r;
}

Result plain_w2(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t per_tx = s.w2_chunks_per_tx;
  uint64_t tx = s.w2_mib * MiB / (per_tx * s.w2_chunk);
  uint64_t total = tx * per_tx * s.w2_chunk;
  std::string path = c.scratch + "/plain.h5";
  create_file(path, total, total, s.w2_chunk);
  PlainFile f(path);
  Payload p(s.w2_chunk);
  Latencies lat;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < tx; t++) {
    double a = now_seconds();
    for (uint64_t i = 0; i < per_tx; i++) f.write_chunk(t * per_tx + i, s.w2_chunk, p.stamp(t, i));
    f.sync();
    lat.add(now_seconds() - a);
  }
  Result r;
  report_throughput(&r, tx, total, now_seconds() - t0);
  r.metrics["commit_mib_per_s"] = r.metrics["mib_per_s"];
  lat.report(&r);
  f.close();
  return r;
}

// One transaction overwriting every existing chunk in place.
Result plain_w4(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t n = s.w4_mib * MiB / s.w45_chunk;
  std::string path = c.scratch + "/plain.h5";
  fill_file(path, n, s.w45_chunk, n * s.w45_chunk, n * s.w45_chunk);
  PlainFile f(path);
  Payload p(s.w45_chunk);
  double t0 = now_seconds();
  for (uint64_t i = 0; i < n; i++) f.write_chunk(i, s.w45_chunk, p.stamp(0, i));
  f.sync();
  double secs = now_seconds() - t0;
  f.close();
  return single_tx_result(n * s.w45_chunk, secs);
}

// Transactions that each grow the dataset and write the new chunks; the
// file starts with w5_mib of existing chunks.
Result plain_w5(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t existing = s.w5_mib * MiB / s.w45_chunk;
  uint64_t per_tx = existing / s.w5_tx;
  std::string path = c.scratch + "/plain.h5";
  fill_file(path, existing, s.w45_chunk, existing * s.w45_chunk, 0);
  PlainFile f(path);
  Payload p(s.w45_chunk);
  Latencies lat;
  uint64_t next = existing;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < s.w5_tx; t++) {
    double a = now_seconds();
    f.set_extent((next + per_tx) * s.w45_chunk);
    for (uint64_t i = 0; i < per_tx; i++) f.write_chunk(next + i, s.w45_chunk, p.stamp(t, i));
    next += per_tx;
    f.sync();
    lat.add(now_seconds() - a);
  }
  Result r;
  report_throughput(&r, s.w5_tx, s.w5_tx * per_tx * s.w45_chunk, now_seconds() - t0);
  lat.report(&r);
  f.close();
  return r;
}

Result copy_rename_w1(const Context& c) {
  const Sizes& s = c.sizes;
  uint64_t base = s.copy_file_mib * MiB / s.w1_chunk;
  uint64_t extent = (base + s.copy_tx) * s.w1_chunk;
  std::string path = c.scratch + "/file.h5";
  std::string tmp = path + ".tmp";
  fill_file(path, base, s.w1_chunk, extent, extent);
  std::vector<uint8_t> buf(4 * MiB);
  Payload p(s.w1_chunk);
  Latencies lat;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < s.copy_tx; t++) {
    double a = now_seconds();
    copy_file(path, tmp, &buf);
    {
      PlainFile f(tmp);
      f.write_chunk(base + t, s.w1_chunk, p.stamp(t, 0));
      f.close();
    }
    {
      Fd fd(tmp, O_RDWR);
      if (::fsync(fd.get()) != 0) throw IoError(tmp, "fsync failed", errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw IoError(tmp, "rename failed", errno);
    fsync_dir(c.scratch);
    lat.add(now_seconds() - a);
  }
  Result r;
  report_throughput(&r, s.copy_tx, s.copy_tx * s.w1_chunk, now_seconds() - t0);
  r.metrics["file_mib"] = double(s.copy_file_mib);
  lat.report(&r);
  return r;
}

}  // namespace bench
}  // namespace h5tx
