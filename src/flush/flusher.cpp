// The redo flusher.
#include "flush/flusher.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "util/duration_text.hpp"

namespace h5tx {

// Pending bytes that make a batch worth starting before flush_delay.
static constexpr uint64_t kWorthwhileBatchBytes = uint64_t(16) << 20;
// How long a committer held by backpressure waits for another process's
// flusher to flush anything, when Options::lock_timeout is 0.
static constexpr std::chrono::milliseconds kRoomWait{60000};

Flusher::Flusher(Env* env, std::string journal_dir, DataFiles* files, const Options& options, Hooks hooks)
    : env_(env),
      journal_dir_(std::move(journal_dir)),
      files_(files),
      options_(options),
      hooks_(std::move(hooks)) {}

Flusher::~Flusher() {
  stop();
}

void Flusher::start() {
  MutexLock lock(mu_);
  if (started_ || !options_.background_flusher) return;
  started_ = true;
  thread_ = std::thread([this] { run(); });
}

void Flusher::enqueue(const TransactionInfo& info, const std::string& dir) {
  MutexLock lock(mu_);
  pending_.push_back({info, dir, Clock::now()});
  pending_bytes_ += info.bytes;
  replenished_ = false;  // the commit may have used a spare directory
  cv_.notify_all();
}

void Flusher::forget(const std::vector<uint64_t>& txids) {
  MutexLock lock(mu_);
  for (uint64_t t : txids) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
      if (it->info.txid != t) continue;
      pending_bytes_ -= it->info.bytes;
      pending_.erase(it);
      progress_++;
      break;
    }
  }
  cv_.notify_all();
  done_cv_.notify_all();
}

void Flusher::notify() {
  MutexLock lock(mu_);
  cv_.notify_all();
  done_cv_.notify_all();
}

bool Flusher::flushable_locked() {
  return !pending_.empty() && pending_.front().info.txid <= hooks_.flush_limit();
}

bool Flusher::poll_limit() {
  std::string error;
  try {
    hooks_.poll_limit();
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (error.empty()) return true;
  MutexLock lock(mu_);
  if (failed_.empty()) failed_ = "reading the reader processes' snapshots: " + error;
  done_cv_.notify_all();
  return false;
}

bool Flusher::take_role() {
  std::string error;
  try {
    return hooks_.role();
  } catch (const std::exception& e) {
    error = e.what();
  }
  MutexLock lock(mu_);
  if (failed_.empty()) failed_ = "taking over the flusher role: " + error;
  done_cv_.notify_all();
  return false;
}

void Flusher::throw_failed_locked() {
  throw IoError(journal_dir_, "the flusher has failed and stopped (" + failed_ +
                                  "); every committed transaction is kept in the journal and is "
                                  "applied when the store is opened again");
}

void Flusher::report_failure() {
  {
    MutexLock lock(mu_);
    if (failed_.empty() || failure_reported_ || !hooks_.failed) return;
    failure_reported_ = true;
  }
  hooks_.failed();
}

void Flusher::check() {
  MutexLock lock(mu_);
  if (!failed_.empty()) throw_failed_locked();
}

std::string Flusher::waiting_text_locked() const {
  std::string out;
  for (const BusyFile& b : waiting_) {
    if (!out.empty()) out += "; ";
    out += b.path + " is open in another process (HDF5's file lock: " + b.why + ")";
  }
  return out;
}

bool Flusher::wait_for_held_files(const std::vector<BusyFile>& busy, bool give_up, uint64_t* pause_ms) {
  MutexLock lock(mu_);
  bool changed = waiting_.size() != busy.size();
  for (size_t i = 0; !changed && i < busy.size(); i++) changed = waiting_[i].path != busy[i].path;
  waiting_ = busy;
  if (changed) {
    std::fprintf(stderr,
                 "h5tx: flusher waits (%zu committed transactions pending): %s; the other data files go on\n",
                 pending_.size(), waiting_text_locked().c_str());
    told_committers_ = false;
  }
  if (urgent_ > 0 && !told_committers_) {
    std::fprintf(stderr,
                 "h5tx: commits are blocked by backpressure (%zu transactions, %" PRIu64
                 " bytes unflushed; limits %zu and %" PRIu64 ") until the flusher can write %s\n",
                 pending_.size(), pending_bytes_, options_.max_unflushed_transactions,
                 static_cast<uint64_t>(options_.max_unflushed_bytes), busy.front().path.c_str());
    told_committers_ = true;
  }
  done_cv_.notify_all();  // flush(false) does not wait for these files
  if (give_up || stopping_) return false;
  cv_.wait_for(lock, std::chrono::milliseconds(*pause_ms));
  *pause_ms = std::min<uint64_t>(*pause_ms * 2, 1000);
  return !stopping_;
}

void Flusher::wait_for_room() {
  MutexLock lock(mu_);
  if (!failed_.empty()) throw_failed_locked();
  if (!started_) return;  // no background flusher: commit never blocks
  auto over = [&]() REQUIRES(mu_) {
    return pending_.size() > options_.max_unflushed_transactions ||
           pending_bytes_ > options_.max_unflushed_bytes;
  };
  if (over() && hooks_.poll_limit) {
    // The limit reader processes allow is refreshed by polls; refresh it
    // now, so that what is committed counts as flushable below (else a
    // committer would not wait for a flusher that is about to make room).
    lock.unlock();
    poll_limit();  // a failure is in failed_, thrown below
    lock.lock();
    if (!failed_.empty()) throw_failed_locked();
  }
  if (over()) {
    urgent_++;
    cv_.notify_all();
    if (!waiting_.empty() && !told_committers_) {
      std::fprintf(stderr,
                   "h5tx: commit waits: %zu transactions, %" PRIu64
                   " bytes unflushed (limits %zu and %" PRIu64 "); the flusher waits for %s\n",
                   pending_.size(), pending_bytes_, options_.max_unflushed_transactions,
                   static_cast<uint64_t>(options_.max_unflushed_bytes), waiting_text_locked().c_str());
      told_committers_ = true;
    }
    // Another process's flusher may stop making progress (stopped, stuck
    // on a file system, or waiting for a data file held open): give up
    // after a bound in which nothing was flushed, naming it.
    const auto bound = options_.lock_timeout.count() > 0 ? options_.lock_timeout : kRoomWait;
    uint64_t seen = progress_;
    Clock::time_point deadline = Clock::now() + bound;
    std::string stuck;
    while (over() && failed_.empty() && !stopping_ && (busy_ || flushable_locked())) {
      if (!hooks_.other_flusher) {
        done_cv_.wait(lock);
        continue;
      }
      done_cv_.wait_until(lock, std::min(deadline, Clock::now() + std::chrono::milliseconds(kPollMs * 10)));
      if (progress_ != seen) {
        seen = progress_;
        deadline = Clock::now() + bound;
        continue;
      }
      if (Clock::now() < deadline || busy_) continue;
      lock.unlock();
      std::string who;
      try {
        who = hooks_.other_flusher();
      } catch (const Error& e) {
        who = std::string("another process (") + e.what() + ")";
      }
      lock.lock();
      if (!who.empty() && progress_ == seen && over()) {
        stuck = who;
        break;
      }
      deadline = Clock::now() + bound;  // this process flushes now, or nobody: go on waiting
    }
    urgent_--;
    if (!stuck.empty() && failed_.empty())
      throw BusyError(
          journal_dir_,
          "commit waited " + duration_text(bound) + " for room (" + std::to_string(pending_.size()) +
              " transactions, " + std::to_string(pending_bytes_) + " bytes unflushed; limits " +
              std::to_string(options_.max_unflushed_transactions) + " and " +
              std::to_string(options_.max_unflushed_bytes) + ") while the flusher role is held by " + stuck +
              ", which flushed nothing meanwhile (stopped or stuck?); the transaction is not "
              "committed");
  }
  if (!failed_.empty()) throw_failed_locked();
}

bool Flusher::batch_due_locked(Clock::time_point now, Clock::time_point* deadline) {
  if (!flushable_locked()) return false;
  if (urgent_ > 0 || options_.flush_delay.count() <= 0) return true;
  if (pending_.size() > options_.max_unflushed_transactions / 2 ||
      pending_bytes_ > options_.max_unflushed_bytes / 2)
    return true;
  // A full batch counts every pending transaction, flushable or not: with
  // many concurrent writers their open snapshots pin the newest few, and
  // waiting for those would only let the queue grow.
  // So does a worthwhile amount of bytes: a batch's fixed cost (its
  // syncs, the HDF5 open) is small against a few MiB, and starting early
  // lets a bulk ingest's flush overlap its commits.
  size_t n = 0;
  uint64_t bytes = 0;
  const uint64_t worthwhile = std::min<uint64_t>(options_.flush_batch_bytes, kWorthwhileBatchBytes);
  for (const auto& p : pending_) {
    n++;
    bytes += p.info.bytes;
    if (n >= options_.flush_batch_transactions || bytes >= worthwhile) return true;
  }
  // Beyond ~35 years there is no deadline at all (and no overflow).
  const std::chrono::milliseconds kForever = std::chrono::hours(24 * 365 * 35);
  if (options_.flush_delay >= kForever) {
    *deadline = Clock::time_point::max();
    return false;
  }
  *deadline = pending_.front().queued + options_.flush_delay;
  return now >= *deadline;
}

std::vector<BatchTx> Flusher::take_batch_locked() {
  std::vector<BatchTx> batch;
  uint64_t limit = hooks_.flush_limit();
  uint64_t bytes = 0;
  // A flusher that has fallen behind catches up with fewer, larger batches
  // (a batch's fixed cost, its syncs and the HDF5 open, is then shared by
  // more transactions); flush_batch_bytes still bounds each batch.
  size_t max_tx = std::max(options_.flush_batch_transactions, pending_.size() / 2);
  for (const auto& p : pending_) {
    if (p.info.txid > limit) break;
    if (!batch.empty() && (batch.size() >= max_tx || bytes + p.info.bytes > options_.flush_batch_bytes))
      break;
    batch.push_back({p.info.txid, p.dir});
    bytes += p.info.bytes;
  }
  return batch;
}

void Flusher::flush_batch(const std::vector<BatchTx>& batch, bool give_up_when_held) {
  BatchStats bs;
  uint64_t pause_ms = 10;
  std::vector<journal::Manifest> manifests;
  try {
    manifests = apply_batch(
        *env_, *files_, journal_dir_, batch, &bs,
        [&](const std::vector<BusyFile>& busy) {
          return wait_for_held_files(busy, give_up_when_held, &pause_ms);
        },
        hooks_.before_apply);
  } catch (...) {
    MutexLock lock(mu_);
    waiting_.clear();
    throw;
  }
  {
    MutexLock lock(mu_);
    if (!waiting_.empty()) {
      std::fprintf(stderr, "h5tx: flusher: %s released; flushing goes on\n", waiting_.front().path.c_str());
      waiting_.clear();
    }
  }
  // Readers now find these versions in the HDF5 files.
  hooks_.flushed(manifests);
  std::vector<std::string> flushed_dirs;
  for (const auto& t : batch) {
    std::string to = path_join(journal_dir_, journal::tx_dir_name(t.txid, journal::TxState::Flushed));
    env_->rename(t.dir, to);
    flushed_dirs.push_back(to);
  }
  env_->sync_dir(journal_dir_);
  if (hooks_.drained) {
    bool drains;
    {
      MutexLock lock(mu_);
      drains = pending_.size() <= batch.size();
    }
    if (drains) hooks_.drained(batch.back().txid);
  }
  for (const auto& d : flushed_dirs) {
    if (hooks_.retired)
      hooks_.retired(d);
    else
      env_->remove_flat_dir(d);
  }
  env_->remove_flat_dir(path_join(journal_dir_, journal::undo_dir_name(batch.front().txid)));

  MutexLock lock(mu_);
  for (size_t i = 0; i < batch.size(); i++) {
    totals_.flushed_bytes += pending_.front().info.bytes;
    pending_bytes_ -= pending_.front().info.bytes;
    pending_.pop_front();
  }
  totals_.flushed_transactions += batch.size();
  progress_ += batch.size();
  totals_.batches++;
  totals_.chunks_written += bs.chunks_written;
  totals_.chunks_coalesced += bs.chunks_skipped;
}

void Flusher::run() {
  MutexLock lock(mu_);
  Clock::time_point last_poll;
  for (;;) {
    if (stopping_) break;
    if (!failed_.empty() && !failure_reported_ && hooks_.failed) {
      lock.unlock();
      report_failure();  // lets go of the flusher role
      lock.lock();
      continue;
    }
    if (hooks_.poll_limit && failed_.empty() && (!pending_.empty() || hooks_.role) &&
        Clock::now() - last_poll >= std::chrono::milliseconds(kPollMs)) {
      last_poll = Clock::now();
      lock.unlock();
      bool ok = poll_limit();
      lock.lock();
      if (!ok) continue;
      if (stopping_) break;
    }
    Clock::time_point deadline;
    if (!failed_.empty() || !batch_due_locked(Clock::now(), &deadline)) {
      if (failed_.empty() && hooks_.replenish && !replenished_) {
        lock.unlock();
        bool more = false;
        std::string error;
        try {
          more = hooks_.replenish();
        } catch (const std::exception& e) {
          error = e.what();
        }
        lock.lock();
        if (!error.empty()) failed_ = error;
        if (!more) replenished_ = true;
        continue;
      }
      // Nothing flushable: wait for work; else wait for the batch to fill
      // or for the oldest transaction's delay to run out.
      if (hooks_.poll_limit && failed_.empty() && (hooks_.role || (!pending_.empty() && !flushable_locked())))
        cv_.wait_for(lock, std::chrono::milliseconds(kPollMs));  // a reader process may let go
      else if (!failed_.empty() || !flushable_locked() || deadline == Clock::time_point::max())
        cv_.wait(lock);
      else
        cv_.wait_until(lock, deadline);
      continue;
    }
    // The newest registrations, so the batch is as large as they allow.
    if (hooks_.poll_limit) {
      last_poll = Clock::now();
      lock.unlock();
      bool ok = poll_limit();
      lock.lock();
      if (!ok) continue;
      if (stopping_) break;
      if (!flushable_locked()) continue;
    }
    if (hooks_.role) {
      lock.unlock();
      bool mine = take_role();
      lock.lock();
      if (!mine) {
        if (failed_.empty() && !stopping_) cv_.wait_for(lock, std::chrono::milliseconds(kPollMs));
        continue;
      }
      if (stopping_) break;
      if (!flushable_locked()) continue;
    }
    std::vector<BatchTx> batch = take_batch_locked();
    busy_ = true;
    lock.unlock();
    std::string error;
    try {
      flush_batch(batch);
    } catch (const FlushInterrupted&) {
      // Stopping while a data file is held by another process: the batch
      // stays in the journal for the next open. Not a failure.
    } catch (const std::exception& e) {
      // Any failure stops the flusher; the journal is untouched beyond what
      // recovery repairs.
      error = e.what();
    }
    lock.lock();
    busy_ = false;
    if (!error.empty()) failed_ = error;
    done_cv_.notify_all();
  }
}

void Flusher::flush(bool wait_for_snapshots) {
  try {
    flush_unreported(wait_for_snapshots);
  } catch (...) {
    report_failure();  // no-op unless the flusher failed
    throw;
  }
}

void Flusher::flush_unreported(bool wait_for_snapshots) {
  if (hooks_.poll_limit) poll_limit();  // a failure is in failed_, thrown below
  MutexLock lock(mu_);
  if (!failed_.empty()) throw_failed_locked();
  if (started_) {
    urgent_++;  // the thread starts batches at once, without waiting for the delay
    cv_.notify_all();
    // close() (!wait_for_snapshots) does not wait for a data file held by
    // another process either: those transactions stay for the next open.
    while (!pending_.empty() && failed_.empty() && !stopping_ &&
           (wait_for_snapshots || ((busy_ || flushable_locked()) && waiting_.empty())))
      done_cv_.wait(lock);
    urgent_--;
    if (!failed_.empty()) throw_failed_locked();
    return;
  }
  for (;;) {
    if (!failed_.empty()) throw_failed_locked();
    if (pending_.empty()) return;
    if (hooks_.poll_limit) {
      lock.unlock();
      bool ok = poll_limit();
      lock.lock();
      if (!ok) continue;
    }
    if (hooks_.role) {
      lock.unlock();
      bool mine = take_role();
      lock.lock();
      if (!failed_.empty()) throw_failed_locked();
      if (!mine) return;  // another process flushes them
    }
    std::vector<BatchTx> batch = take_batch_locked();
    if (batch.empty()) {
      if (!wait_for_snapshots) return;
      throw StateError(journal_dir_, "cannot flush transaction " +
                                         journal::txid_hex(pending_.front().info.txid) +
                                         ": it is newer than the snapshot of an open transaction");
    }
    busy_ = true;
    lock.unlock();
    try {
      flush_batch(batch, !wait_for_snapshots);
    } catch (const FlushInterrupted&) {
      lock.lock();
      busy_ = false;
      return;  // close(): the batch stays in the journal for the next open
    } catch (const std::exception& e) {
      lock.lock();
      busy_ = false;
      failed_ = e.what();
      throw;
    }
    lock.lock();
    busy_ = false;
  }
}

void Flusher::stop() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.notify_all();
    done_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

FlusherStats Flusher::stats() {
  MutexLock lock(mu_);
  FlusherStats s = totals_;
  s.pending_transactions = pending_.size();
  s.pending_bytes = pending_bytes_;
  for (const BusyFile& b : waiting_) s.waiting_for.push_back(b.path);
  if (!failed_.empty())
    s.state = "failed: " + failed_;
  else if (stopping_ || (!started_ && options_.background_flusher))
    s.state = "stopped";
  else if (!waiting_.empty())
    s.state = "waiting: " + waiting_text_locked();
  else if (busy_)
    s.state = "running";
  else
    s.state = "idle";
  return s;
}

std::vector<TransactionInfo> Flusher::pending() {
  MutexLock lock(mu_);
  std::vector<TransactionInfo> out;
  for (const auto& p : pending_) out.push_back(p.info);
  return out;
}

}  // namespace h5tx
