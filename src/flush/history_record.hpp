// Recording history (formats/history.md): before a flush batch changes any
// data file, the versions it is about to replace are written durably into
// one segment of HOME/history/: each chunk the batch overwrites (its stored
// bytes as HDF5 holds them, read with H5Dread_chunk, or from the journal for
// a copy an older transaction of the same batch wrote), or "absent" for a
// chunk written for the first time (no bytes: appends cost a record, not a
// copy); and the catalog versions it changes (file and dataset existence,
// dataset specs, attributes). Each record names the txid that replaced the
// version. The segment is the flush's history commit point: it is durable
// before the first data file's undo transaction starts, so a crash anywhere
// after leaves it right. Replay is idempotent: transactions at or below
// recorded_through() (already in a segment) are not recorded again, since
// the data files may already hold their changes.
//
// Used by the flusher thread only (not thread-safe).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flush/batch_apply.hpp"
#include "flush/data_files.hpp"
#include "journal/manifest.hpp"

namespace h5tx {

class HistoryRecorder {
 public:
  // Lists history_dir: recorded_through() is the newest txid of its
  // segments; leftover temporary files of an unfinished segment are removed.
  HistoryRecorder(Env* env, std::string history_dir);

  // The batch's MANIFESTs (txid order) with their directories.
  void record(DataFiles& files, const std::vector<BatchTx>& batch,
              const std::vector<journal::Manifest>& manifests);

  uint64_t recorded_through() const { return recorded_through_; }
  uint64_t bytes_recorded() const { return bytes_recorded_; }  // chunk bytes copied since open

 private:
  Env* env_;
  std::string dir_;
  uint64_t recorded_through_ = 0;
  uint64_t bytes_recorded_ = 0;
};

}  // namespace h5tx
