// The undo virtual file driver for HDF5 1.10 (the h5tx successor of
// H5FD_sec2j): its registration, its file access property, and the
// transaction calls that the undo-mode store, the redo flusher and the C API
// (include/h5tx/sec2j.h) make on an open HDF5 file. Semantics and ordering:
// formats/undo-journal.md.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <exception>
#include <string>

#include "h5tx/env.hpp"

namespace h5tx {
namespace undo {

struct DriverConfig {
  Env* env = nullptr;              // nullptr => Env::posix()
  std::string journal_path;        // "" => "<file>.journal"
  size_t page_size = 4096;         // before-image granularity (512 B .. 64 MiB)
  size_t buffer_bytes = 16 << 20;  // write buffer; beyond it: sync journal, then write through
  bool sync_every_write = false;   // original sec2j behaviour (benchmark baseline)
  bool follow_symlinks = true;     // resolve a symlinked path first (false: refuse it; stores)
};

hid_t driver_id();                                   // registers the class once (thread-safe)
void unregister_driver();                            // H5FDunregister if registered
void set_fapl(hid_t fapl, const DriverConfig& cfg);  // H5Pset_driver

// Every call below throws an h5tx::Error: StateError if the file does not
// use this driver or the call is out of order; the I/O error itself (IoError)
// if one happened in the transaction, also in an earlier HDF5 write, which the
// driver does not fail (HDF5 1.10 cannot always close a file after a write
// error inside its cache). After such an error every transaction call
// rethrows it and the data file is left alone: close it, and the next open
// (or recover()) reverts the transaction from its journal.
// tx_start, tx_commit and tx_prepare call H5Fflush(file) first.
// Closing a file inside a transaction does not end it: a read-write reopen
// in this process resumes it (abort an inner level, close, reopen: the
// outer level goes on); if the process ends first, the next open reverts.
void tx_start(hid_t file);  // nested allowed
// Outermost level only: the journal of this transaction lives at
// journal_path instead of the one given in the file access property list.
void tx_start(hid_t file, const std::string& journal_path);
// As tx_start(file, journal_path), and journal_path becomes the file's
// journal for later transactions too: kept open between them (invalidated by
// zeroing its header, formats/undo-journal.md) and removed at close.
void tx_start_kept(hid_t file, const std::string& journal_path);
void tx_commit(hid_t file);  // inner: merge into parent. outer: sync data, invalidate journal durably
void tx_abort(hid_t file);   // inner: restore inner before-images. outer: restore + truncate;
                             // then discard writes until close (close and reopen the file)
// HDF5's file lock of a file open read-write, between transactions only:
// Shared lets other processes' readers (h5py, h5dump) open it while nothing
// is written; Exclusive takes it back, BusyError if such a reader has it
// open (the file then keeps a shared lock if it can). No-op for a file
// opened without a lock (HDF5_USE_FILE_LOCKING=FALSE).
void set_file_lock(hid_t file, LockKind kind);
void tx_prepare(hid_t file);  // outer only: all data written+synced, journal still valid
void tx_forget(hid_t file);   // after prepare, once the caller removed the journal durably
int tx_depth(hid_t file);

// Closes the file (H5Fclose) and ends its outermost transaction after
// HDF5's own closing writes (superblock, free-space release, truncate), which
// a tx_commit before H5Fclose would leave outside any transaction:
//   close_commit:  as tx_commit;
//   close_prepare: as tx_prepare, then forget at once (the caller commits by
//                  removing the journal; the driver never touches it again).
// The file id is released even if ending fails; the error is thrown after
// (the journal then stays pending: the next open or recover() reverts).
// StateError, without closing, unless the transaction has one level and
// `file` is the only open id of the file (no other file id or object).
void close_commit(hid_t file);
void close_prepare(hid_t file);

// True if the journal holds an unfinished transaction (throws
// CorruptionError if it is garbage).
bool has_pending_journal(Env& env, const std::string& journal_path);
// Reverts a pending journal (ours or legacy sec2j) of a closed file, then
// invalidates it. Idempotent; true if it reverted something.
bool recover(Env& env, const std::string& data_path, const std::string& journal_path);

std::string default_journal_path(const std::string& data_path);

// The h5tx::Error behind the last failed callback of this driver on this
// thread (e.g. the CorruptionError that made H5Fopen fail), and clears it;
// null if none.
std::exception_ptr take_last_error();

}  // namespace undo
}  // namespace h5tx
