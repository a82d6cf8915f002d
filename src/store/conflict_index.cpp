// First-committer-wins conflict detection of redo mode.
#include "store/conflict_index.hpp"

#include <algorithm>
#include <iterator>

namespace h5tx {

const std::string* ConflictIndex::find_conflict(const std::vector<std::string>& keys,
                                                uint64_t snapshot) const {
  for (const auto& k : keys) {
    auto it = last_write_.find(k);
    if (it != last_write_.end() && it->second > snapshot) return &k;
  }
  return nullptr;
}

void ConflictIndex::record(const std::vector<std::string>& keys, uint64_t txid) {
  for (const auto& k : keys) last_write_[k] = txid;
}

void ConflictIndex::prune(uint64_t oldest_snapshot) {
  if (last_write_.size() < prune_at_) return;
  for (auto it = last_write_.begin(); it != last_write_.end();)
    it = it->second <= oldest_snapshot ? last_write_.erase(it) : std::next(it);
  prune_at_ = std::max<size_t>(4096, 2 * last_write_.size());
}

}  // namespace h5tx
