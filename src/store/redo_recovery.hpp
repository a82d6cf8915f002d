// Redo-mode recovery: what an open does with journal/ before the store
// serves anything. Both functions verify every committed transaction (its
// MANIFEST and every chunk copy) and check that each of its operations
// applies to the catalog (store/replay_check.hpp) before anything changes,
// so a corrupt committed transaction fails the open (CorruptionError naming
// it) with nothing changed. No committed transaction is ever deleted here.
#pragma once

#include <string>
#include <vector>

#include "flush/data_files.hpp"
#include "journal/manifest.hpp"
#include "store/layout.hpp"

namespace h5tx {

// A committed transaction to queue for the flusher and show in the overlay.
struct CommittedTx {
  journal::Manifest manifest;
  std::string dir;  // its directory in journal/
  bool flushed;     // a _flushed directory replayed again (journal::plan_flushed)
};

// Read-write open: reverts interrupted flush batches (their undo journals),
// renames _flushed transactions newer than a pending one back to _done,
// removes garbage (_temp, applied _flushed, reverted undo directories,
// data/ scratch files). Every step is idempotent: a crash during recovery
// is repaired by the next. Returns the committed transactions in txid order.
std::vector<CommittedTx> recover_redo_journal(Layout& layout, DataFiles& files);

// Several writer processes: the flusher role was free (its holder died or
// closed). Reverts the undo journals of the batch it may have left half
// applied (under the data gate), removes them and the applied _flushed
// directories older than every _done one, and data/ scratch files of an
// unfinished create; the batch's _done directories stay for the taker.
void recover_dead_flusher(Layout& layout, DataFiles& files);

// Read-only open: writes nothing; _temp and applied _flushed directories
// are ignored (_flushed ones newer than a _done one are served from where
// they are), and pending undo journals are read through by DataFiles.
std::vector<CommittedTx> scan_redo_journal(Layout& layout, DataFiles& files);

// Read-only open next to a possibly live writer process (Layout::
// live_reader): as scan_redo_journal, except that a transaction whose
// directory disappears while it is read was flushed meanwhile and is
// skipped, and the data files are read under the data gate. *newest: the
// largest txid of a _done or _flushed directory in the listing.
std::vector<CommittedTx> scan_live_redo_journal(Layout& layout, DataFiles& files, uint64_t* newest);

}  // namespace h5tx
