// The snapshots of open redo transactions. A transaction's snapshot is the
// last committed (durable and published) txid when it began; the flusher
// may apply transactions up to the oldest open snapshot only, so no reader
// ever finds a version newer than its snapshot in the HDF5 files.
#pragma once

#include <cstdint>
#include <functional>
#include <set>

#include "util/mutex.hpp"

namespace h5tx {

class SnapshotRegistry {
 public:
  explicit SnapshotRegistry(uint64_t last_committed = 0) : last_(last_committed) {}

  // Registers and returns a snapshot of the last committed txid.
  uint64_t acquire() EXCLUDES(mu_);
  // Unregisters one snapshot; calls on_change (outside the lock) so the
  // flusher can look again.
  void release(uint64_t snapshot) EXCLUDES(mu_);
  // Publishes a commit (txids arrive in increasing order).
  void committed(uint64_t txid) EXCLUDES(mu_);
  uint64_t last_committed() const EXCLUDES(mu_);
  // The highest txid the flusher may apply: the oldest open snapshot, or the
  // last committed txid when none is open.
  uint64_t flush_limit() const EXCLUDES(mu_);
  size_t open_count() const EXCLUDES(mu_);

  void set_on_change(std::function<void()> fn) { on_change_ = std::move(fn); }

 private:
  mutable Mutex mu_;
  std::multiset<uint64_t> open_ GUARDED_BY(mu_);
  uint64_t last_ GUARDED_BY(mu_);
  std::function<void()> on_change_;
};

}  // namespace h5tx
