// Recycled transaction directories. A new directory and a new MANIFEST cost
// two inode allocations per commit, and a new file's fdatasync always
// commits the file system's journal; a flushed directory renamed back into
// use as the next transaction's _temp directory, its MANIFEST overwritten in
// place, costs neither; a recycled spill file is overwritten in place too
// (no block allocation, no discard of freed blocks when it is deleted). The
// flusher offers each directory once its rename to _flushed is durable (so
// recovery would only delete it); committers take them. At most max_count
// directories holding at most max_bytes in all are kept; the rest are
// removed at once, as before.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5tx/env.hpp"
#include "util/mutex.hpp"

namespace h5tx {
namespace journal {

class SpareDirs {
 public:
  SpareDirs(Env* env, size_t max_count, uint64_t max_bytes);

  // Keeps `dir` (a journal/working_<txid>_flushed directory whose rename is
  // durable, holding a MANIFEST and perhaps a spill file and staged part
  // files) for reuse, without its part files, or removes it.
  void offer(const std::string& dir) EXCLUDES(mu_);
  // Keeps a directory made ahead of use: a journal/working_<id>_temp
  // directory holding an empty MANIFEST, both synced (so, like a flushed
  // one, its entries are durable).
  void add_fresh(const std::string& dir) EXCLUDES(mu_);
  // Makes one such directory named by `temp_id` under journal_dir.
  void make_fresh(const std::string& journal_dir, uint64_t temp_id) EXCLUDES(mu_);
  // A directory to rename into place as a _temp directory, or "" if none.
  std::string take() EXCLUDES(mu_);
  // Removes the directories still kept (the store is closing).
  void clear() EXCLUDES(mu_);
  size_t size() const EXCLUDES(mu_);

 private:
  Env* env_;
  size_t max_count_;
  uint64_t max_bytes_;
  mutable Mutex mu_;
  struct Spare {
    std::string dir;
    uint64_t bytes;
  };
  std::vector<Spare> dirs_ GUARDED_BY(mu_);
  uint64_t bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace journal
}  // namespace h5tx
