// Ordering and group commit of redo transactions.
#include "store/commit_queue.hpp"

#include <chrono>

#include "h5tx/error.hpp"

namespace h5tx {

// How long a group commit leader waits for committers that are writing
// their MANIFEST: about one data sync on a fast disk.
static constexpr std::chrono::microseconds kGroupWait(1000);

CommitQueue::CommitQueue(Env* env, std::string journal_dir, std::function<uint64_t()> allocate)
    : env_(env), journal_dir_(std::move(journal_dir)), allocate_(std::move(allocate)) {}

uint64_t CommitQueue::begin_commit() {
  MutexLock lock(mu_);
  if (!poisoned_.empty()) throw IoError(journal_dir_, poisoned_);
  uint64_t txid = allocate_();
  inflight_.insert(txid);
  return txid;
}

void CommitQueue::abandon(uint64_t txid) {
  MutexLock lock(mu_);
  inflight_.erase(txid);
  turn_cv_.notify_all();
}

void CommitQueue::finish(uint64_t txid, const std::function<std::function<void()>()>& rename) {
  MutexLock lock(mu_);
  turn_cv_.wait(lock, [&]() REQUIRES(mu_) { return *inflight_.begin() == txid || !poisoned_.empty(); });
  if (!poisoned_.empty()) {
    inflight_.erase(txid);
    turn_cv_.notify_all();
    throw IoError(journal_dir_, poisoned_);
  }
  std::function<void()> publish;
  try {
    if (section_.enter) {
      // The section is let go after the fsync covering its renames: no
      // rename while that fsync runs.
      sync_cv_.wait(lock, [&]() REQUIRES(mu_) { return !dir_sync_running_ || !poisoned_.empty(); });
      if (!poisoned_.empty()) throw IoError(journal_dir_, poisoned_);
      if (!in_section_) {
        section_.enter();
        in_section_ = true;
      }
    }
    publish = rename();
  } catch (...) {
    inflight_.erase(txid);
    turn_cv_.notify_all();
    if (renamed_.empty() && !syncing_) leave_locked();
    throw;
  }
  inflight_.erase(txid);
  uint64_t my_seq = ++rename_seq_;
  renamed_.push_back({my_seq, std::move(publish)});
  turn_cv_.notify_all();

  while (synced_seq_ < my_seq) {
    if (!poisoned_.empty()) throw IoError(journal_dir_, poisoned_);
    if (syncing_) {
      sync_cv_.wait(lock);
      continue;
    }
    // Leader: one fsync for every rename done so far. Committers already
    // past begin_commit() (writing and syncing their MANIFEST) are about to
    // rename: wait a moment for them, so that one fsync covers them too
    // (group commit's classic delay; it costs nothing to a lone committer).
    syncing_ = true;
    if (!inflight_.empty()) {
      // Only those in flight now: later ones would keep the wait going.
      const uint64_t last = *inflight_.rbegin();
      turn_cv_.wait_for(lock, kGroupWait, [&]() REQUIRES(mu_) {
        return inflight_.empty() || *inflight_.begin() > last || !poisoned_.empty();
      });
    }
    uint64_t target = rename_seq_;
    dir_sync_running_ = true;
    lock.unlock();
    std::string error;
    try {
      env_->sync_dir(journal_dir_);
    } catch (const std::exception& e) {
      error = e.what();  // whatever failed, the rename may not be durable
    }
    lock.lock();
    syncing_ = false;
    dir_sync_running_ = false;
    dir_syncs_++;
    if (!error.empty()) {
      poisoned_ = "fsync of the journal directory failed (" + error +
                  "); commits are refused until the store is reopened";
      leave_locked();
      turn_cv_.notify_all();
      sync_cv_.notify_all();
      throw IoError(journal_dir_, poisoned_);
    }
    synced_seq_ = target;
    while (!renamed_.empty() && renamed_.front().seq <= target) {
      renamed_.front().publish();
      renamed_.pop_front();
    }
    if (renamed_.empty()) leave_locked();  // every rename under the section is durable and published
    sync_cv_.notify_all();
  }
}

void CommitQueue::locked(const std::function<void()>& fn) {
  MutexLock lock(mu_);
  fn();
}

void CommitQueue::set_section(Section s) {
  MutexLock lock(mu_);
  section_ = std::move(s);
}

bool CommitQueue::in_section() const {
  MutexLock lock(mu_);
  return in_section_;
}

void CommitQueue::leave_locked() {
  if (!in_section_) return;
  in_section_ = false;
  try {
    section_.leave();
  } catch (const std::exception&) {
    // Letting go of a lock: its descriptor is closed whatever happens.
  }
}

uint64_t CommitQueue::dir_syncs() const {
  MutexLock lock(mu_);
  return dir_syncs_;
}

std::string CommitQueue::poisoned() const {
  MutexLock lock(mu_);
  return poisoned_;
}

}  // namespace h5tx
