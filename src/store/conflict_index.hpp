// First-committer-wins conflict detection of redo mode: the txid of the last
// commit that wrote each key (a chunk or a catalog object). A committing
// transaction conflicts if any key it checks was written by a commit newer
// than its snapshot. The keys a transaction checks and those it records may
// differ (a dataset create records its parent groups and checks that none of
// them was created as a dataset meanwhile). Used only inside CommitQueue's
// rename step (serialized there).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace h5tx {

class ConflictIndex {
 public:
  // The first key of `keys` written after `snapshot`, or nullptr.
  const std::string* find_conflict(const std::vector<std::string>& keys, uint64_t snapshot) const;
  void record(const std::vector<std::string>& keys, uint64_t txid);
  // Forgets writes no open or future transaction can conflict with
  // (txid <= the oldest open snapshot).
  void prune(uint64_t oldest_snapshot);
  size_t size() const { return last_write_.size(); }

 private:
  std::unordered_map<std::string, uint64_t> last_write_;
  size_t prune_at_ = 4096;
};

}  // namespace h5tx
