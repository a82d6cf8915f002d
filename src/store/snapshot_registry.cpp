// Snapshots of open redo transactions.
#include "store/snapshot_registry.hpp"

namespace h5tx {

uint64_t SnapshotRegistry::acquire() {
  MutexLock lock(mu_);
  open_.insert(last_);
  return last_;
}

void SnapshotRegistry::release(uint64_t snapshot) {
  {
    MutexLock lock(mu_);
    auto it = open_.find(snapshot);
    if (it != open_.end()) open_.erase(it);
  }
  if (on_change_) on_change_();
}

void SnapshotRegistry::committed(uint64_t txid) {
  MutexLock lock(mu_);
  if (txid > last_) last_ = txid;
}

uint64_t SnapshotRegistry::last_committed() const {
  MutexLock lock(mu_);
  return last_;
}

uint64_t SnapshotRegistry::flush_limit() const {
  MutexLock lock(mu_);
  return open_.empty() ? last_ : *open_.begin();
}

size_t SnapshotRegistry::open_count() const {
  MutexLock lock(mu_);
  return open_.size();
}

}  // namespace h5tx
