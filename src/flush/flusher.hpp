// The redo flusher: moves committed transactions (journal/working_*_done)
// into the HDF5 files in batches, in txid order, never past the flush limit
// (the oldest open snapshot). Runs on its own thread, or only inside flush()
// when the background flusher is disabled. Also the backpressure point:
// commit() waits in wait_for_room() while too much is unflushed.
//
// The background thread waits for a worthwhile batch (a batch costs about
// the same number of syncs whatever its size): it starts one when the
// pending transactions fill a batch (flush_batch_transactions) or hold 16
// MiB (or flush_batch_bytes if smaller), when the oldest has waited
// options.flush_delay, or
// at once when flush() or close() asks, a committer is blocked by
// backpressure, or the pending transactions or bytes exceed half of
// max_unflushed_*.
//
// A batch: apply_batch (undo-protected, per file), then the hook `flushed`
// (the store drops the batch from its read overlay), then every _done
// directory is renamed to _flushed, journal/ is fsynced, and the directories
// are handed to the hook `retired` (kept for reuse, or deleted) and the
// batch's undo directory is deleted.
//
// A failure stops the flusher; the journal stays as it is (recovery at the
// next open replays it); the error is reported by check(), flush() and
// stats().state.
//
// A data file that another process holds open (HDF5's file lock: an h5py or
// h5dump reader) is not written under it: the batch's other files are
// applied, and the flusher waits for that file only, retrying (10 ms
// doubling to 1 s), says so on stderr once per episode and in
// stats().state ("waiting: ...") and stats().waiting_for; commits blocked
// by backpressure meanwhile say why on stderr. close() does not wait for
// such a file: the batch stays in the journal for the next open.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "flush/batch_apply.hpp"
#include "flush/data_files.hpp"
#include "h5tx/options.hpp"
#include "h5tx/types.hpp"
#include "util/mutex.hpp"

namespace h5tx {

struct FlusherStats {
  uint64_t pending_transactions = 0;
  uint64_t pending_bytes = 0;
  uint64_t flushed_transactions = 0;
  uint64_t flushed_bytes = 0;
  uint64_t batches = 0;
  uint64_t chunks_written = 0;
  uint64_t chunks_coalesced = 0;
  // "running", "idle", "stopped", "failed: <message>", or "waiting: <why>"
  // while a data file is held by another process.
  std::string state;
  std::vector<std::string> waiting_for;  // paths of the data files the flusher waits for
};

class Flusher {
 public:
  struct Hooks {
    std::function<uint64_t()> flush_limit;  // highest txid that may be applied
    std::function<void(const std::vector<journal::Manifest>&)> flushed;
    // A _flushed directory whose rename is durable: the store may keep it
    // for reuse (journal/spare_dirs.hpp). Unset: it is removed.
    std::function<void(const std::string& dir)> retired;
    // Before a batch that drains the queue retires its directories (their
    // renames to _flushed durable): the batch's newest txid, which journal/
    // will then no longer show (HOME/FLUSHED, flush/flushed_mark.hpp).
    // Unset: nothing.
    std::function<void(uint64_t newest)> drained;
    // Background thread, when it has nothing to apply: prepares spare
    // transaction directories ahead of the committers (journal/
    // spare_dirs.hpp); returns true while there is more to do. An error
    // stops the flusher like a failed batch.
    std::function<bool()> replenish;
    // Stores shared with reader processes: re-reads their registrations,
    // which flush_limit then reflects. Called without mu_ before every
    // batch is taken, and every kPollMs while reader processes hold the
    // pending transactions back. An error stops the flusher.
    std::function<void()> poll_limit;
    // Before a batch changes any data file (history recording). Unset: nothing.
    BeforeApply before_apply;
    // Several writer processes: true while this process holds the flusher
    // role (taking it if it is free, which recovers a dead holder's batch).
    // Called without mu_ before every batch; false: another process
    // flushes, and this flusher only polls (poll_limit, every kPollMs).
    // Unset: always this process.
    std::function<bool()> role;
    // Several writer processes: called once, without mu_, when this
    // flusher has failed (it never flushes again), so that the store lets
    // go of the flusher role and another process takes over. Unset: nothing.
    std::function<void()> failed;
    // Several writer processes: the process holding the flusher role if it
    // is another one ("process 1234"), else "" (this process, or nobody).
    // Asked by a committer that backpressure has held for
    // options.lock_timeout (60 s if 0) without any transaction being
    // flushed: it then gives up with BusyError naming that process.
    std::function<std::string()> other_flusher;
  };
  static constexpr int kPollMs = 10;

  Flusher(Env* env, std::string journal_dir, DataFiles* files, const Options& options, Hooks hooks);
  ~Flusher();

  // Starts the thread (if options.background_flusher).
  void start() EXCLUDES(mu_);
  // Queues a committed transaction; txids must arrive in increasing order.
  void enqueue(const TransactionInfo& info, const std::string& dir) EXCLUDES(mu_);
  // Several writer processes: these pending transactions were applied by
  // another process's flusher (gone from journal/): they stop counting.
  void forget(const std::vector<uint64_t>& txids) EXCLUDES(mu_);
  // The flush limit may have moved (a snapshot was released).
  void notify() EXCLUDES(mu_);
  // Backpressure: blocks while more than the configured transactions or
  // bytes are pending and the flusher can make progress on them. Throws the
  // flusher's failure; with several writer processes, BusyError naming the
  // flusher process after options.lock_timeout (60 s if 0) in which it
  // applied nothing.
  void wait_for_room() EXCLUDES(mu_);
  // Applies every pending transaction: waits for the background thread, or
  // applies batches here (no background thread). Throws the flusher's
  // failure. Transactions newer than an open snapshot cannot be applied
  // until it is released: with wait_for_snapshots the call waits for that
  // (background) or throws StateError (no background thread; waiting would
  // deadlock); without it, it returns leaving them pending (close()).
  void flush(bool wait_for_snapshots = true) EXCLUDES(mu_);
  // Throws IoError if the flusher has failed.
  void check() EXCLUDES(mu_);
  // Stops the thread (does not flush).
  void stop() EXCLUDES(mu_);

  FlusherStats stats() EXCLUDES(mu_);
  std::vector<TransactionInfo> pending() EXCLUDES(mu_);

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {
    TransactionInfo info;
    std::string dir;
    Clock::time_point queued;
  };

  void run() EXCLUDES(mu_);
  // Takes the next batch (under mu_); empty if nothing may be applied.
  std::vector<BatchTx> take_batch_locked() REQUIRES(mu_);
  // Applies a batch (mu_ not held). Throws on failure; FlushInterrupted if
  // it gave up waiting for a data file held by another process (when
  // stopping, or at once with give_up_when_held).
  void flush_batch(const std::vector<BatchTx>& batch, bool give_up_when_held = false) EXCLUDES(mu_);
  // apply_batch's WaitForFiles (mu_ not held).
  bool wait_for_held_files(const std::vector<BusyFile>& busy, bool give_up, uint64_t* pause_ms) EXCLUDES(mu_);
  std::string waiting_text_locked() const REQUIRES(mu_);
  bool flushable_locked() REQUIRES(mu_);
  // Calls hooks_.poll_limit (set); false if it failed (failed_ is then set).
  bool poll_limit() EXCLUDES(mu_);
  // Calls hooks_.role (set); false if it failed (failed_ is then set).
  bool take_role() EXCLUDES(mu_);
  // True if a batch should start now; else sets *deadline to when the
  // oldest flushable transaction's delay runs out.
  bool batch_due_locked(Clock::time_point now, Clock::time_point* deadline) REQUIRES(mu_);
  [[noreturn]] void throw_failed_locked() REQUIRES(mu_);
  // Calls hooks_.failed once, if the flusher has failed.
  void report_failure() EXCLUDES(mu_);
  void flush_unreported(bool wait_for_snapshots) EXCLUDES(mu_);

  Env* env_;
  std::string journal_dir_;
  DataFiles* files_;
  Options options_;
  Hooks hooks_;
  bool replenished_ GUARDED_BY(mu_) = false;  // replenish() had nothing left to do since the last commit

  Mutex mu_;
  CondVar cv_;       // work arrived / state changed
  CondVar done_cv_;  // a batch finished
  std::deque<Pending> pending_ GUARDED_BY(mu_);
  uint64_t pending_bytes_ GUARDED_BY(mu_) = 0;
  bool busy_ GUARDED_BY(mu_) = false;  // a batch is being applied
  int urgent_ GUARDED_BY(mu_) = 0;     // flush()/close() calls and blocked committers waiting
  bool stopping_ GUARDED_BY(mu_) = false;
  bool started_ GUARDED_BY(mu_) = false;
  std::string failed_ GUARDED_BY(mu_);
  // The data files held by other processes, while waiting for them.
  std::vector<BusyFile> waiting_ GUARDED_BY(mu_);
  bool told_committers_ GUARDED_BY(mu_) = false;  // the waiting was explained to blocked committers
  FlusherStats totals_ GUARDED_BY(mu_);
  bool failure_reported_ GUARDED_BY(mu_) = false;  // hooks_.failed was called
  // Pending transactions flushed here or forgotten (flushed elsewhere) so
  // far: what a committer held by backpressure calls progress.
  uint64_t progress_ GUARDED_BY(mu_) = 0;
  std::thread thread_;  // not guarded: only the owner calls start() and stop()
};

}  // namespace h5tx
