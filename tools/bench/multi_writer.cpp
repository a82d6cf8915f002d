// W6 (issue 15): N writer processes committing into one redo store, against
// N threads of one process committing into one store and N processes each
// writing its own plain HDF5 file (H5Dwrite_chunk + flush + fsync per
// transaction). Two transaction sizes: W6 is W1-sized (one w1_chunk chunk
// per transaction), W6L W2-sized (w2_chunks_per_tx chunks of w2_chunk).
// Every writer runs the same number of transactions, so throughput over
// all writers shows the scaling. Timed from the first writer's start to
// the last one's end, including opening and closing the store (so the
// h5tx rows end durable and flushed).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "hdf5_file.hpp"
#include "report.hpp"

namespace h5tx {
namespace bench {

namespace {

struct Work {
  uint64_t tx;             // per writer
  uint64_t chunks_per_tx;  // chunks of `chunk` bytes each
  uint64_t chunk;
  uint64_t chunks_per_writer() const { return tx * chunks_per_tx; }
};

Work small_work(const Sizes& s) {
  return {s.w6_tx, 1, s.w1_chunk};
}
Work large_work(const Sizes& s) {
  return {s.w6_large_tx, s.w2_chunks_per_tx, s.w2_chunk};
}

// Runs fn(i) in n forked processes at once: the wall seconds until all
// exited. A child that fails prints its error and exits 1; then this throws.
template <class Fn>
double run_processes(uint64_t n, const Fn& fn) {
  std::fflush(nullptr);
  std::vector<pid_t> pids;
  const double t0 = now_seconds();
  for (uint64_t i = 0; i < n; i++) {
    pid_t pid = ::fork();
    if (pid < 0) throw IoError("fork", "fork failed");
    if (pid == 0) {
      int status = 0;
      try {
        fn(i);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "W6 writer %llu: %s\n", (unsigned long long)i, e.what());
        status = 1;
      }
      std::fflush(nullptr);
      ::_exit(status);
    }
    pids.push_back(pid);
  }
  int failed = 0;
  for (pid_t p : pids) {
    int st = 0;
    ::waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) failed++;
  }
  const double secs = now_seconds() - t0;
  if (failed) throw StateError("W6", std::to_string(failed) + " writer process(es) failed");
  return secs;
}

// Writer i's transactions into an open store: its own range of chunks.
void write_store(Store* st, uint64_t i, const Work& w) {
  Payload p(w.chunk);
  for (uint64_t t = 0; t < w.tx; t++) {
    Transaction x = st->begin();
    for (uint64_t k = 0; k < w.chunks_per_tx; k++) {
      const uint64_t c = i * w.chunks_per_writer() + t * w.chunks_per_tx + k;
      x.write_chunk(kFile, kDataset, {c}, p.stamp(i * w.tx + t, k), w.chunk);
    }
    x.commit();
  }
}

// A fresh redo store holding kFile:/d with room for n writers, flushed and closed.
std::string make_store(const Context& c, uint64_t n, const Work& w) {
  const std::string home = c.scratch + "/store";
  const uint64_t extent = n * w.chunks_per_writer() * w.chunk;
  std::unique_ptr<Store> st = Store::create(home, Options());
  Transaction tx = st->begin();
  tx.create_file(kFile);
  tx.create_dataset(kFile, kDataset, spec_of(extent, extent, w.chunk));
  tx.commit();
  st->close();
  return home;
}

Result finish(uint64_t n, const Work& w, double secs) {
  Result r;
  report_throughput(&r, n * w.tx, n * w.chunks_per_writer() * w.chunk, secs);
  r.metrics["writers"] = double(n);
  return r;
}

Result h5tx_processes(const Context& c, uint64_t n, const Work& w) {
  const std::string home = make_store(c, n, w);
  double secs = run_processes(n, [&](uint64_t i) {
    Options o;
    o.lock_timeout = std::chrono::seconds(60);
    std::unique_ptr<Store> st = Store::open(home, o);
    write_store(st.get(), i, w);
    st->close();
  });
  return finish(n, w, secs);
}

Result h5tx_threads(const Context& c, uint64_t n, const Work& w) {
  const std::string home = make_store(c, n, w);
  const double t0 = now_seconds();
  std::unique_ptr<Store> st = Store::open(home, Options());
  Latencies lat;
  run_threads(
      n, [&](uint64_t i, Latencies*) { write_store(st.get(), i, w); }, &lat, "W6 threads");
  st->close();
  return finish(n, w, now_seconds() - t0);
}

Result plain_processes(const Context& c, uint64_t n, const Work& w) {
  const uint64_t extent = w.chunks_per_writer() * w.chunk;
  for (uint64_t i = 0; i < n; i++)
    create_file(c.scratch + "/plain" + std::to_string(i) + ".h5", extent, extent, w.chunk);
  double secs = run_processes(n, [&](uint64_t i) {
    PlainFile f(c.scratch + "/plain" + std::to_string(i) + ".h5");
    Payload p(w.chunk);
    for (uint64_t t = 0; t < w.tx; t++) {
      for (uint64_t k = 0; k < w.chunks_per_tx; k++)
        f.write_chunk(t * w.chunks_per_tx + k, w.chunk, p.stamp(i * w.tx + t, k));
      f.sync();
    }
    f.close();
  });
  return finish(n, w, secs);
}

}  // namespace

Result w6_row(const Context& c, const std::string& workload, const std::string& system) {
  const Work w = workload == "W6" ? small_work(c.sizes) : large_work(c.sizes);
  const size_t dash = system.rfind('-');
  const uint64_t n = std::stoull(system.substr(dash + 1));
  const std::string kind = system.substr(0, dash);
  if (kind == "h5tx-procs") return h5tx_processes(c, n, w);
  if (kind == "h5tx-threads") return h5tx_threads(c, n, w);
  return plain_processes(c, n, w);
}

}  // namespace bench
}  // namespace h5tx
