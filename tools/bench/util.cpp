// Helpers of the benchmark driver: sizes, percentiles, payloads, and the
// few POSIX calls the baselines make directly.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <thread>

#include "bench.hpp"
#include "h5tx/error.hpp"

namespace h5tx {
namespace bench {

Sizes Sizes::quick() {
  Sizes s;
  s.w1_tx = 125;
  s.copy_tx = 2;
  s.copy_file_mib = 64;
  s.w2_mib = 32;
  s.w2_chunks_per_tx = 8;
  s.w3_tx_per_thread = 16;
  s.w4_mib = 4;
  s.w5_mib = 4;
  s.w5_tx = 4;
  s.flush_small_mib = 4;
  s.flush_large_mib = 256;
  s.open_tx = 64;
  s.i1_mib = 16;
  s.dask_mib = 16;
  s.scale_small_mib = 16;
  s.scale_mid_mib = 32;
  s.scale_large_mib = 64;
  s.w6_tx = 16;
  s.w6_large_tx = 1;
  return s;
}

double Latencies::percentile(double p) const {
  if (v_.empty()) return 0;
  std::vector<double> s = v_;
  std::sort(s.begin(), s.end());
  size_t rank = size_t(std::ceil(p / 100.0 * double(s.size())));
  if (rank < 1) rank = 1;
  return s[std::min(rank, s.size()) - 1];
}

void Latencies::report(Result* r) const {
  r->metrics["lat_p50_ms"] = percentile(50) * 1e3;
  r->metrics["lat_p99_ms"] = percentile(99) * 1e3;
}

void report_throughput(Result* r, uint64_t tx, uint64_t bytes, double seconds) {
  r->metrics["tx"] = double(tx);
  r->metrics["bytes"] = double(bytes);
  r->metrics["seconds"] = seconds;
  r->metrics["tx_per_s"] = seconds > 0 ? double(tx) / seconds : 0;
  r->metrics["mib_per_s"] = seconds > 0 ? double(bytes) / double(MiB) / seconds : 0;
}

double run_threads(uint64_t n, const std::function<void(uint64_t, Latencies*)>& fn, Latencies* all,
                   const std::string& what) {
  std::vector<Latencies> lats(n);
  std::vector<std::string> errors(n);
  std::vector<std::thread> threads;
  double t0 = now_seconds();
  for (uint64_t i = 0; i < n; i++) {
    threads.emplace_back([&, i] {
      try {
        fn(i, &lats[i]);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  double secs = now_seconds() - t0;
  for (auto& e : errors)
    if (!e.empty()) throw StateError(what, "writer thread failed: " + e);
  for (auto& l : lats) all->merge(l);
  return secs;
}

Result single_tx_result(uint64_t bytes, double secs) {
  Result r;
  report_throughput(&r, 1, bytes, secs);
  Latencies lat;
  lat.add(secs);
  lat.report(&r);
  return r;
}

DatasetSpec spec_of(uint64_t extent, uint64_t max_extent, uint64_t chunk) {
  DatasetSpec s;
  s.dtype = DType::U8;
  s.shape = {extent};
  s.max_shape = {max_extent ? max_extent : kUnlimited};
  s.chunk = {chunk};
  s.fill_value = 0;
  s.compression = Compression::None;
  s.fletcher32 = false;
  return s;
}

Payload::Payload(size_t bytes) : buf_(bytes) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < bytes; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    buf_[i] = uint8_t(x);
  }
}

const uint8_t* Payload::stamp(uint64_t tx, uint64_t chunk) {
  if (buf_.size() >= 16) {
    std::memcpy(buf_.data(), &tx, 8);
    std::memcpy(buf_.data() + 8, &chunk, 8);
  }
  return buf_.data();
}

int open_or_throw(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw IoError(path, "open failed", errno);
  return fd;
}

Fd::~Fd() {
  ::close(fd_);
}

void pwrite_all(int fd, const void* buf, size_t n, uint64_t off, const std::string& path) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off_t(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw IoError(path, "pwrite failed", errno);
    }
    p += w;
    n -= size_t(w);
    off += uint64_t(w);
  }
}

void fsync_dir(const std::string& dir) {
  int fd = open_or_throw(dir, O_RDONLY | O_DIRECTORY);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw IoError(dir, "fsync of directory failed", err);
}

void remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    DIR* d = ::opendir(path.c_str());
    if (!d) throw IoError(path, "opendir failed", errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
    for (const auto& n : names) remove_tree(path + "/" + n);
    if (::rmdir(path.c_str()) != 0) throw IoError(path, "rmdir failed", errno);
  } else if (::unlink(path.c_str()) != 0) {
    throw IoError(path, "unlink failed", errno);
  }
}

void make_dirs(const std::string& path) {
  for (size_t i = 1; i <= path.size(); i++) {
    if (i == path.size() || path[i] == '/') {
      std::string p = path.substr(0, i);
      if (::mkdir(p.c_str(), 0755) != 0 && errno != EEXIST) throw IoError(p, "mkdir failed", errno);
    }
  }
}

}  // namespace bench
}  // namespace h5tx
