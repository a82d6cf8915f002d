// Ordering and group commit of redo transactions.
//
// A committer (1) takes a txid with begin_commit(), in the order of the
// calls; (2) writes and syncs its MANIFEST; (3) calls finish(), which waits
// until every smaller txid has renamed its directory or given up, runs the
// committer's rename step (conflict check + rename to _done) under the
// queue lock, and then waits for a journal/ fsync that began after the
// rename. One waiting committer does that fsync for everyone renamed so far
// (the leader); the others wait for it (followers). Before its fsync the
// leader waits up to a millisecond while other committers are between
// begin_commit() and their rename, so that the fsync covers them too. After the fsync the
// leader publishes every newly durable transaction in txid order.
//
// So renames happen in txid order and a transaction is published (visible,
// and commit() returns) only after an fsync that covers it and every
// smaller txid: a crash can drop a txid whose commit had not returned, never
// keep a later one while losing an earlier returned one.
//
// A failed journal/ fsync leaves the renamed directories in an unknown state:
// the queue is then poisoned and every later commit fails with IoError until
// the store is reopened (recovery decides from what reached the disk).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>

#include "h5tx/env.hpp"
#include "util/mutex.hpp"

namespace h5tx {

class CommitQueue {
 public:
  CommitQueue(Env* env, std::string journal_dir, std::function<uint64_t()> allocate_txid);

  // A new txid, larger than every txid handed out before.
  uint64_t begin_commit() EXCLUDES(mu_);
  // The committer of `txid` gives up before finish() (its files failed).
  void abandon(uint64_t txid) EXCLUDES(mu_);
  // Waits for txid's turn, runs rename() (which returns the publish step, run
  // after the fsync, in txid order, under the queue lock), then waits until
  // durable. If rename() throws, the txid is abandoned and the error rethrown.
  void finish(uint64_t txid, const std::function<std::function<void()>()>& rename) EXCLUDES(mu_);

  // Runs fn under the queue lock (an early conflict check before the
  // transaction's files are written; finish() checks again).
  void locked(const std::function<void()>& fn) EXCLUDES(mu_);

  // Several writer processes (Layout::multi_writer): enter() takes the
  // cross-process commit section (procs/commit) before the first rename of
  // a group, under mu_; leave() lets go of it after the journal/ fsync that
  // covers every rename made under it (or when nothing was renamed). While
  // a fsync runs no rename starts, so the section is never held long.
  struct Section {
    std::function<void()> enter;
    std::function<void()> leave;
  };
  void set_section(Section s) EXCLUDES(mu_);
  // True while this process holds the section (other processes cannot
  // commit meanwhile).
  bool in_section() const EXCLUDES(mu_);

  uint64_t dir_syncs() const EXCLUDES(mu_);
  // Non-empty once a journal/ fsync has failed.
  std::string poisoned() const EXCLUDES(mu_);

 private:
  struct Renamed {
    uint64_t seq;
    std::function<void()> publish;
  };

  Env* env_;
  std::string journal_dir_;
  std::function<uint64_t()> allocate_;
  mutable Mutex mu_;
  CondVar turn_cv_;  // inflight_ shrank: a committer's turn to rename may have come
  CondVar sync_cv_;  // a journal/ fsync ended (or the queue was poisoned)
  std::set<uint64_t> inflight_ GUARDED_BY(mu_);  // allocated, neither renamed nor abandoned
  std::deque<Renamed> renamed_ GUARDED_BY(mu_);  // renamed, waiting for the fsync, in txid order
  uint64_t rename_seq_ GUARDED_BY(mu_) = 0;      // renames done
  uint64_t synced_seq_ GUARDED_BY(mu_) = 0;      // renames covered by a completed fsync
  bool syncing_ GUARDED_BY(mu_) = false;
  bool dir_sync_running_ GUARDED_BY(mu_) = false;  // the fsync itself (mu_ dropped)
  Section section_ GUARDED_BY(mu_);
  bool in_section_ GUARDED_BY(mu_) = false;
  void leave_locked() REQUIRES(mu_);
  uint64_t dir_syncs_ GUARDED_BY(mu_) = 0;
  std::string poisoned_ GUARDED_BY(mu_);
};

}  // namespace h5tx
