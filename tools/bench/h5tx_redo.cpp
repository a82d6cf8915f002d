// h5tx in redo mode (the default) through the public API: W1-W3, the
// flusher's memory with a small and a large backlog, and the time to open
// a store with many pending transactions.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "bench.hpp"
#include "h5tx/env.hpp"
#include "h5tx/store.hpp"

namespace h5tx {
namespace bench {

namespace {

// A fresh redo store holding kFile:/d, created and flushed.
std::unique_ptr<Store> make_store(const std::string& home, const Options& o, uint64_t extent,
                                  uint64_t chunk) {
  std::unique_ptr<Store> st = Store::create(home, o);
  Transaction tx = st->begin();
  tx.create_file(kFile);
  tx.create_dataset(kFile, kDataset, spec_of(extent, extent, chunk));
  tx.commit();
  st->flush();
  return st;
}

// `tx` transactions of one chunk each, chunk indices first.. (W1, one W3 thread).
void run_small(Store* st, uint64_t first, uint64_t tx, uint64_t chunk, Latencies* lat) {
  Payload p(chunk);
  for (uint64_t t = first; t < first + tx; t++) {
    double a = now_seconds();
    Transaction x = st->begin();
    x.write_chunk(kFile, kDataset, {t}, p.stamp(t, 0), chunk);
    x.commit();
    lat->add(now_seconds() - a);
  }
}

// How the background flusher batched the transactions of a run.
void report_batches(Store* st, Result* r) {
  StoreStats s = st->stats();
  r->metrics["flush_batches"] = double(s.flush_batches);
  if (s.flush_batches)
    r->metrics["tx_per_flush_batch"] = double(s.flushed_transactions) / double(s.flush_batches);
}

// Options for building a backlog: no background flusher and no
// backpressure (nothing would ever drain it).
Options backlog_options() {
  Options o;
  o.background_flusher = false;
  o.max_unflushed_transactions = size_t(1) << 30;
  o.max_unflushed_bytes = uint64_t(1) << 50;
  return o;
}

// Runs `fn` in a forked process (so its memory is not counted in this
// one's peak RSS) that ends with _exit: stores `fn` leaves open are not
// closed (closing would flush their backlog). Returns what `fn` returned.
std::string in_grandchild(const std::string& out, const std::function<std::string()>& fn) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw IoError(out, "fork failed", errno);
  if (pid == 0) {
    std::string msg;
    try {
      msg = "ok " + fn();
    } catch (const std::exception& e) {
      msg = std::string("error ") + e.what();
    }
    std::ofstream(out) << msg;
    std::fflush(nullptr);
    ::_exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ifstream in(out);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string msg = ss.str();
  if (msg.rfind("ok ", 0) != 0)
    throw IoError(out, "backlog process failed: " + (msg.empty() ? "no output" : msg));
  return msg.substr(3);
}

// Creates a store with kFile:/d of n chunks, flushed, and no background
// flusher. Released on purpose: the caller runs in in_grandchild, which
// _exits without closing it.
Store* create_backlog_store(const std::string& home, uint64_t n, uint64_t chunk) {
  std::unique_ptr<Store> st = Store::create(home, backlog_options());
  Transaction setup = st->begin();
  setup.create_file(kFile);
  setup.create_dataset(kFile, kDataset, spec_of(n * chunk, n * chunk, chunk));
  setup.commit();
  st->flush();
  return st.release();
}

// Commits `mib` MiB as transactions of up to per_tx_max chunks into a
// store without flushing it, in a separate process. Returns the commit seconds.
double commit_backlog(const std::string& home, const std::string& scratch, uint64_t mib, uint64_t chunk,
                      uint64_t per_tx_max) {
  std::string out = in_grandchild(scratch + "/backlog.out", [&] {
    uint64_t n = mib * MiB / chunk;
    Store* st = create_backlog_store(home, n, chunk);
    Payload p(chunk);
    double t0 = now_seconds();
    for (uint64_t i = 0; i < n;) {
      Transaction tx = st->begin();
      for (uint64_t k = 0; k < per_tx_max && i < n; k++, i++)
        tx.write_chunk(kFile, kDataset, {i}, p.stamp(i, k), chunk);
      tx.commit();
    }
    return std::to_string(now_seconds() - t0);
  });
  return std::stod(out);
}

Result flush_backlog(const Context& c, uint64_t mib) {
  std::string home = c.scratch + "/store";
  double commit_s = commit_backlog(home, c.scratch, mib, MiB, 64);
  double t0 = now_seconds();
  std::unique_ptr<Store> st = Store::open(home, backlog_options());
  double open_s = now_seconds() - t0;
  StoreStats before = st->stats();
  double t1 = now_seconds();
  st->flush();
  double flush_s = now_seconds() - t1;
  StoreStats after = st->stats();
  st->close();
  if (after.pending_transactions != 0)
    throw StateError(home, "flush() returned with transactions still pending");
  Result r;
  r.metrics["backlog_mib"] = double(mib);
  r.metrics["pending_tx"] = double(before.pending_transactions);
  r.metrics["commit_seconds"] = commit_s;
  r.metrics["open_seconds"] = open_s;
  r.metrics["flush_seconds"] = flush_s;
  r.metrics["flush_mib_per_s"] = double(mib) / flush_s;
  return r;
}

// Reads every MANIFEST of the committed transactions in journal/.
uint64_t read_manifests(const std::string& journal) {
  Env* env = Env::posix();
  uint64_t bytes = 0, n = 0;
  for (const std::string& name : env->list_dir(journal)) {
    std::string dir = path_join(journal, name);
    if (name.size() < 5 || name.compare(name.size() - 5, 5, "_done") != 0) continue;
    bytes += env->read_all(path_join(dir, "MANIFEST"), UINT64_MAX).size();
    n++;
  }
  if (bytes == 0) throw NotFoundError(journal, "no MANIFEST files found");
  return n;
}

}  // namespace

// W1; with_flusher=false: the commit path alone (no background flusher,
// no backpressure), the flush afterwards.
Result small_transactions(const Context& c, bool with_flusher) {
  const Sizes& s = c.sizes;
  Options o = with_flusher ? Options() : backlog_options();
  std::unique_ptr<Store> st = make_store(c.scratch + "/store", o, s.w1_tx * s.w1_chunk, s.w1_chunk);
  Latencies lat;
  double t0 = now_seconds();
  run_small(st.get(), 0, s.w1_tx, s.w1_chunk, &lat);
  double commit = now_seconds() - t0;
  st->flush();
  double total = now_seconds() - t0;
  Result r;
  report_batches(st.get(), &r);
  st->close();
  report_throughput(&r, s.w1_tx, s.w1_tx * s.w1_chunk, commit);
  r.metrics["e2e_seconds"] = total;
  lat.report(&r);
  return r;
}

Result redo_w1(const Context& c) {
  return small_transactions(c, true);
}
Result redo_w1_no_flusher(const Context& c) {
  return small_transactions(c, false);
}

// W2; history: with Options::history (an append-only ingest: the history
// it keeps is one record per chunk), its size reported.
Result bulk_ingest(const Context& c, bool history) {
  const Sizes& s = c.sizes;
  uint64_t per_tx = s.w2_chunks_per_tx;
  uint64_t tx = s.w2_mib * MiB / (per_tx * s.w2_chunk);
  uint64_t total = tx * per_tx * s.w2_chunk;
  Options o;
  if (history) o.history = true;
  std::unique_ptr<Store> st = make_store(c.scratch + "/store", o, total, s.w2_chunk);
  Payload p(s.w2_chunk);
  Latencies lat;
  double t0 = now_seconds();
  for (uint64_t t = 0; t < tx; t++) {
    double a = now_seconds();
    Transaction x = st->begin();
    for (uint64_t i = 0; i < per_tx; i++)
      x.write_chunk(kFile, kDataset, {t * per_tx + i}, p.stamp(t, i), s.w2_chunk);
    x.commit();
    lat.add(now_seconds() - a);
  }
  double commit = now_seconds() - t0;
  st->flush();
  double secs = now_seconds() - t0;
  Result r;
  report_batches(st.get(), &r);
  if (history) {
    StoreStats hs = st->stats();
    r.metrics["history_bytes"] = double(hs.history_bytes);
    r.metrics["history_per_data"] = double(hs.history_bytes) / double(total);
  }
  st->close();
  report_throughput(&r, tx, total, secs);
  r.metrics["commit_seconds"] = commit;
  r.metrics["commit_mib_per_s"] = double(total) / double(MiB) / commit;
  lat.report(&r);
  return r;
}

Result redo_w2(const Context& c) {
  return bulk_ingest(c, false);
}
Result redo_w2_history(const Context& c) {
  return bulk_ingest(c, true);
}

// W3; with_flusher=false as in small_transactions.
Result concurrent_transactions(const Context& c, bool with_flusher) {
  const Sizes& s = c.sizes;
  uint64_t n = s.w3_threads * s.w3_tx_per_thread;
  Options o = with_flusher ? Options() : backlog_options();
  std::unique_ptr<Store> st = make_store(c.scratch + "/store", o, n * s.w1_chunk, s.w1_chunk);
  Latencies all;
  double commit = run_threads(
      s.w3_threads,
      [&](uint64_t i, Latencies* lat) {
        run_small(st.get(), i * s.w3_tx_per_thread, s.w3_tx_per_thread, s.w1_chunk, lat);
      },
      &all, c.scratch);
  double t1 = now_seconds();
  st->flush();
  double total = commit + (now_seconds() - t1);
  Result r;
  report_batches(st.get(), &r);
  st->close();
  report_throughput(&r, n, n * s.w1_chunk, commit);
  r.metrics["e2e_seconds"] = total;
  all.report(&r);
  return r;
}

Result redo_w3(const Context& c) {
  return concurrent_transactions(c, true);
}
Result redo_w3_no_flusher(const Context& c) {
  return concurrent_transactions(c, false);
}

Result redo_flush_small(const Context& c) {
  return flush_backlog(c, c.sizes.flush_small_mib);
}
Result redo_flush_large(const Context& c) {
  return flush_backlog(c, c.sizes.flush_large_mib);
}

Result redo_open(const Context& c) {
  const Sizes& s = c.sizes;
  std::string home = c.scratch + "/store";
  std::string journal = home + "/journal";
  uint64_t chunk = s.w1_chunk;
  in_grandchild(c.scratch + "/backlog.out", [&] {
    Store* st = create_backlog_store(home, s.open_tx, chunk);
    Latencies ignored;
    run_small(st, 0, s.open_tx, chunk, &ignored);
    return std::string("done");
  });
  read_manifests(journal);  // warm the page cache for both measurements
  double t0 = now_seconds();
  uint64_t found = read_manifests(journal);
  double read_s = now_seconds() - t0;
  double t1 = now_seconds();
  std::unique_ptr<Store> st = Store::open(home, backlog_options());
  double open_s = now_seconds() - t1;
  uint64_t pending = st->stats().pending_transactions;
  st->flush();
  st->close();
  if (found != s.open_tx || pending != s.open_tx)
    throw StateError(home, "expected " + std::to_string(s.open_tx) + " pending transactions, found " +
                               std::to_string(found) + " MANIFESTs and " + std::to_string(pending) +
                               " pending after open");
  Result r;
  r.metrics["pending_tx"] = double(pending);
  r.metrics["open_ms"] = open_s * 1e3;
  r.metrics["manifest_read_ms"] = read_s * 1e3;
  r.metrics["open_over_read"] = read_s > 0 ? open_s / read_s : 0;
  return r;
}

}  // namespace bench
}  // namespace h5tx
