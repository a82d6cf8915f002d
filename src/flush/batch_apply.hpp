// Applying one flush batch of committed redo transactions to the HDF5 files:
// the catalog operations in txid order, then the newest copy of every chunk
// (H5Dwrite_chunk of the stored bytes, streamed from the journal one chunk
// at a time), each file under its own undo journal in
// journal/undo_<first txid>/<file>.journal, flushed and committed file by
// file. Idempotent: applying a batch again after a crash (and the revert of
// its undo journals) gives the same files.
#pragma once

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "flush/data_files.hpp"
#include "journal/manifest.hpp"

namespace h5tx {

struct BatchTx {
  uint64_t txid = 0;
  std::string dir;  // journal/working_<txid>_done
};

struct BatchStats {
  uint64_t chunks_written = 0;  // after keeping only the newest copy
  uint64_t chunks_skipped = 0;  // older copies of a chunk in the same batch
  uint64_t bytes_written = 0;
};

// A data file another process holds open (HDF5's file lock, e.g. an h5py
// or h5dump reader): the flusher cannot take it for writing.
struct BusyFile {
  std::string path;
  std::string why;
};

// Called when every other file of the batch is applied and `busy` are still
// held by other processes: waits a little and returns true to try them
// again, or false to give up (apply_batch then throws FlushInterrupted).
using WaitForFiles = std::function<bool(const std::vector<BusyFile>& busy)>;

// The batch was left unfinished on purpose (the store is closing while a
// data file is held by another process). The files applied so far are
// committed under their undo journals; the transactions stay _done in the
// journal and the next open applies them again (replay is idempotent).
class FlushInterrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Called with the batch's MANIFESTs (txid order) before any data file
// changes: history recording (flush/history_record.hpp). An error stops the batch.
using BeforeApply =
    std::function<void(const std::vector<BatchTx>& batch, const std::vector<journal::Manifest>& ms)>;

// Reads the batch's MANIFESTs, applies them, and returns them (in txid order).
// The undo directory is left in place (empty of pending journals) for the
// caller to remove after renaming the transaction directories. A file held
// by another process waits (wait_busy) while the batch's other files go on;
// without wait_busy its BusyError is thrown.
std::vector<journal::Manifest> apply_batch(Env& env, DataFiles& files, const std::string& journal_dir,
                                           const std::vector<BatchTx>& batch, BatchStats* stats,
                                           const WaitForFiles& wait_busy = nullptr,
                                           const BeforeApply& before_apply = nullptr);

}  // namespace h5tx
