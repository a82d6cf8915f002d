// Baseline "raw": the same chunk bytes appended to a plain file with one
// fdatasync per transaction. No format, no atomicity beyond the disk's:
// the floor of any durable scheme.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "bench.hpp"
#include "h5tx/error.hpp"

namespace h5tx {
namespace bench {

namespace {

// Runs `tx` transactions of `per_tx` chunks of `chunk` bytes into `path`.
void run_raw(const std::string& path, uint64_t tx, uint64_t per_tx, uint64_t chunk, Latencies* lat) {
  Fd fd(path, O_WRONLY | O_CREAT | O_TRUNC);
  Payload payload(chunk);
  uint64_t off = 0;
  for (uint64_t t = 0; t < tx; t++) {
    double t0 = now_seconds();
    for (uint64_t c = 0; c < per_tx; c++) {
      pwrite_all(fd.get(), payload.stamp(t, c), chunk, off, path);
      off += chunk;
    }
    if (::fdatasync(fd.get()) != 0) throw IoError(path, "fdatasync failed", errno);
    lat->add(now_seconds() - t0);
  }
}

}  // namespace

Result raw_w1(const Context& c) {
  Result r;
  Latencies lat;
  double t0 = now_seconds();
  run_raw(c.scratch + "/raw.bin", c.sizes.w1_tx, 1, c.sizes.w1_chunk, &lat);
  report_throughput(&r, c.sizes.w1_tx, c.sizes.w1_tx * c.sizes.w1_chunk, now_seconds() - t0);
  lat.report(&r);
  return r;
}

Result raw_w2(const Context& c) {
  Result r;
  Latencies lat;
  uint64_t per_tx = c.sizes.w2_chunks_per_tx;
  uint64_t tx = c.sizes.w2_mib * MiB / (per_tx * c.sizes.w2_chunk);
  double t0 = now_seconds();
  run_raw(c.scratch + "/raw.bin", tx, per_tx, c.sizes.w2_chunk, &lat);
  double s = now_seconds() - t0;
  report_throughput(&r, tx, tx * per_tx * c.sizes.w2_chunk, s);
  r.metrics["commit_mib_per_s"] = r.metrics["mib_per_s"];
  lat.report(&r);
  return r;
}

// Eight writers, each with its own file (independent workers).
Result raw_w3(const Context& c) {
  const Sizes& s = c.sizes;
  Latencies all;
  double secs = run_threads(
      s.w3_threads,
      [&](uint64_t i, Latencies* lat) {
        run_raw(c.scratch + "/raw" + std::to_string(i) + ".bin", s.w3_tx_per_thread, 1, s.w1_chunk, lat);
      },
      &all, c.scratch);
  uint64_t tx = s.w3_threads * s.w3_tx_per_thread;
  Result r;
  report_throughput(&r, tx, tx * s.w1_chunk, secs);
  all.report(&r);
  return r;
}

}  // namespace bench
}  // namespace h5tx
