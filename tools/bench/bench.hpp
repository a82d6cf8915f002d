// Shared pieces of the benchmark driver h5tx-bench: the sizes of every
// workload, the result one measured configuration reports, timing and
// payload helpers, and the entry points of the systems measured
// (baselines in baseline_*.cpp, h5tx modes in h5tx_*.cpp).
//
// Every configuration (a workload run by one system) runs in its own child
// process so its peak RSS is its own; see main.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {
namespace bench {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

// Sizes of every workload. Defaults are the full table; --quick divides
// them by about 16.
struct Sizes {
  uint64_t w1_tx = 2000;  // W1: transactions of one chunk each
  uint64_t w1_chunk = 64 * KiB;
  uint64_t copy_tx = 5;           // W1 copy+rename: transactions measured
  uint64_t copy_file_mib = 1024;  // W1 copy+rename: size of the HDF5 file copied
  uint64_t w2_mib = 512;          // W2: total bytes ingested
  uint64_t w2_chunk = 1 * MiB;
  uint64_t w2_chunks_per_tx = 64;
  uint64_t w3_threads = 8;  // W3: threads, each running w3_tx_per_thread of W1
  uint64_t w3_tx_per_thread = 250;
  uint64_t w4_mib = 64;           // W4: bytes overwritten in place, one transaction
  uint64_t w45_chunk = 64 * KiB;  // W4/W5 chunk size
  uint64_t w5_mib = 64;           // W5: bytes appended ...
  uint64_t w5_tx = 16;            // ... in this many transactions
  uint64_t flush_small_mib = 64;  // flusher backlogs
  uint64_t flush_large_mib = 4096;
  uint64_t open_tx = 10000;  // pending transactions for the open-time row
  // Issue 13: the ingest workloads (ingest.cpp). A uint8 volume of i1_mib
  // MiB, shape (n, 512, 512), 64x64x64 chunks.
  uint64_t i1_mib = 128;           // I1, I1z, I1py and CHECK
  uint64_t dask_mib = 256;         // DASK1, DASK2: the dask array stored
  uint64_t scale_small_mib = 256;  // SCALE: CLI ingest at three sizes
  uint64_t scale_mid_mib = 1024;
  uint64_t scale_large_mib = 4096;
  uint64_t sync_delay_ms = 1;  // W4slow: added to every sync (slow-disk emulation)
  // Issue 15: W6, N writers (1, 2, 4) at once, each running this many
  // transactions: W1-sized (W6) and W2-sized (W6L).
  uint64_t w6_tx = 250;
  uint64_t w6_large_tx = 2;

  static Sizes quick();
};

// What one configuration measured. `metrics` holds the numbers (names in
// main.cpp's report); `error` set means the row was not measured.
struct Result {
  std::map<std::string, double> metrics;
  std::string error;
};

// A steady clock in seconds.
inline double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// Per-transaction latencies (seconds), summarised as p50/p99.
class Latencies {
 public:
  void add(double seconds) { v_.push_back(seconds); }
  void merge(const Latencies& o) { v_.insert(v_.end(), o.v_.begin(), o.v_.end()); }
  size_t count() const { return v_.size(); }
  double percentile(double p) const;  // nearest-rank; 0 if empty
  void report(Result* r) const;       // lat_p50_ms, lat_p99_ms

 private:
  std::vector<double> v_;
};

// Fills `r` with the standard throughput metrics: tx, bytes, seconds,
// tx_per_s, mib_per_s.
void report_throughput(Result* r, uint64_t tx, uint64_t bytes, double seconds);

// The h5tx rows store their chunks in dataset kDataset of file kFile,
// made by spec_of: 1-D u8, `chunk`-byte chunks, no filters (no Fletcher32
// either: the baselines write the same unchecksummed bytes). max_extent 0
// means unlimited.
constexpr const char* kFile = "bench.h5";
constexpr const char* kDataset = "/d";
DatasetSpec spec_of(uint64_t extent, uint64_t max_extent, uint64_t chunk);

// Runs fn(i, &latencies_i) for i in [0, n) on n threads at once; merges
// their latencies into *all and returns the wall seconds. A thread's
// exception is rethrown (as StateError naming `what`) after all joined.
double run_threads(uint64_t n, const std::function<void(uint64_t, Latencies*)>& fn, Latencies* all,
                   const std::string& what);

// The result of a workload that is one transaction of `bytes` taking `secs`.
Result single_tx_result(uint64_t bytes, double secs);

// Pseudo-random chunk contents (incompressible), stamped per (tx, chunk)
// so no two chunks are equal.
class Payload {
 public:
  explicit Payload(size_t bytes);
  const uint8_t* stamp(uint64_t tx, uint64_t chunk);
  const uint8_t* data() const { return buf_.data(); }
  size_t size() const { return buf_.size(); }

 private:
  std::vector<uint8_t> buf_;
};

// Small POSIX helpers that throw h5tx::IoError.
int open_or_throw(const std::string& path, int flags);
// Owns a file descriptor.
class Fd {
 public:
  Fd(const std::string& path, int flags) : fd_(open_or_throw(path, flags)) {}
  ~Fd();
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};
void pwrite_all(int fd, const void* buf, size_t n, uint64_t off, const std::string& path);
void fsync_dir(const std::string& dir);
void remove_tree(const std::string& path);
void make_dirs(const std::string& path);

// The context a configuration runs in: its sizes and a fresh scratch dir.
struct Context {
  Sizes sizes;
  std::string scratch;  // empty directory owned by this configuration
};

using RunFn = std::function<Result(const Context&)>;

// Baselines (baseline_raw.cpp, baseline_hdf5.cpp, baseline_sqlite.cpp).
Result raw_w1(const Context& c);
Result raw_w2(const Context& c);
Result raw_w3(const Context& c);
Result plain_w1(const Context& c);
Result plain_w2(const Context& c);
Result plain_w4(const Context& c);
Result plain_w5(const Context& c);
Result copy_rename_w1(const Context& c);
Result sqlite_w1(const Context& c);
Result sqlite_w2(const Context& c);
Result sqlite_w3(const Context& c);

// h5tx (h5tx_redo.cpp, h5tx_undo.cpp).
Result redo_w1(const Context& c);
Result redo_w1_no_flusher(const Context& c);
Result redo_w2(const Context& c);
Result redo_w2_history(const Context& c);  // W2 in a store with history
Result redo_w3(const Context& c);
Result redo_w3_no_flusher(const Context& c);
Result redo_flush_small(const Context& c);
Result redo_flush_large(const Context& c);
Result redo_open(const Context& c);
Result undo_w1(const Context& c);
Result undo_w4(const Context& c);
Result undo_w5(const Context& c);
Result driver_w4(const Context& c);
Result driver_w5(const Context& c);
Result driver_fsync_w4(const Context& c);
Result driver_fsync_w5(const Context& c);
// W4 on a disk whose every sync costs sync_delay_ms more (h5tx_undo.cpp).
Result undo_w4_slow(const Context& c);
Result driver_w4_slow(const Context& c);
Result driver_fsync_w4_slow(const Context& c);

// Issue 13 ingest workloads (ingest.cpp).
Result cli_redo_i1(const Context& c);
Result cli_undo_i1(const Context& c);
Result cli_redo_i1z(const Context& c);
Result cli_undo_i1z(const Context& c);
Result h5py_i1(const Context& c);
Result h5py_i1z(const Context& c);
Result hdf5_i1(const Context& c);
Result hdf5_i1z(const Context& c);
Result python_i1py(const Context& c);
Result cpp_i1py(const Context& c);
Result scale_small(const Context& c);
Result scale_mid(const Context& c);
Result scale_large(const Context& c);
Result check_vs_h5py(const Context& c);
// W6/W6L (multi_writer.cpp): `system` is h5tx-procs-N, h5tx-threads-N or plain-procs-N.
Result w6_row(const Context& c, const std::string& workload, const std::string& system);
// Issue 17: a dask store (ingest.cpp) of `variant` ("h5py-lock",
// "h5tx-resumable", "h5tx-atomic") from `workers` worker processes.
Result dask_store(const Context& c, const char* variant, int workers);

}  // namespace bench
}  // namespace h5tx
