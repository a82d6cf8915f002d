// Applying one flush batch of committed redo transactions to the HDF5 files:
// the catalog operations in txid order, then the newest copy of every chunk
// (H5Dwrite_chunk of the stored bytes, streamed from the journal one chunk
// at a time), each file under its own undo journal in
// journal/undo_<first txid>/<file>.journal, flushed and committed file by
// file. Idempotent: applying a batch again after a crash (and the revert of
// its undo journals) gives the same files.
#pragma once

#include <cstdint>
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
  uint64_t chunks_written = 0;   // after keeping only the newest copy
  uint64_t chunks_skipped = 0;   // older copies of a chunk in the same batch
  uint64_t bytes_written = 0;
};

// Reads the batch's MANIFESTs, applies them, and returns them (in txid order).
// The undo directory is left in place (empty of pending journals) for the
// caller to remove after renaming the transaction directories.
std::vector<journal::Manifest> apply_batch(Env& env, DataFiles& files,
                                           const std::string& journal_dir,
                                           const std::vector<BatchTx>& batch, BatchStats* stats);

}  // namespace h5tx
