// h5tx::UndoFile: an HDF5 file opened through the h5tx undo driver, with
// nested transactions that commit or abort. The C++ face of
// include/h5tx/sec2j.h.
//
//   auto f = h5tx::UndoFile::create("a.h5");
//   {
//     auto tx = f.begin();
//     H5Gcreate2(f.hid(), "g", ...);     // any HDF5 call
//     tx.commit();                        // durable when it returns
//   }                                     // a transaction neither committed nor
//                                         // aborted aborts when destroyed
//
// Abort reverts the file and reopens it (HDF5's caches are stale): every
// hid_t obtained from the old file id is invalid afterwards, and hid()
// returns the new one. The file is opened with H5F_CLOSE_STRONG so the reopen
// really closes it. A crash inside a transaction is reverted by the next open.
//
// Ownership: an UndoFile owns its HDF5 file id; an UndoTransaction points
// at its UndoFile, which must outlive it (and must not be moved while it
// runs). Thread-safety: none beyond HDF5's own; use a file and its
// transactions from one thread at a time. Errors: h5tx::Error subclasses
// (Hdf5Error with HDF5's message, CorruptionError for a bad journal,
// BusyError when another process holds the file); nothing aborts.
#pragma once

#include "h5tx/export.hpp"

#include <hdf5.h>

#include <cstddef>
#include <string>

#include "h5tx/env.hpp"

namespace h5tx {

struct UndoOptions {
  Env* env = nullptr;              // nullptr: Env::posix()
  std::string journal_path;        // "": "<file>.journal"
  size_t page_size = 4096;         // before-image granularity
  size_t buffer_bytes = 16 << 20;  // write buffer of a transaction
  bool sync_every_write = false;   // the original sec2j behaviour (slow)
  // A path that is a symlink is resolved to the file it names (as sec2
  // would open it), and the default journal sits beside that file. A store
  // sets false for its own files: nothing below HOME is followed.
  bool follow_symlinks = true;
  // UndoFile::open: read-only (no transactions; shows the state before any
  // pending transaction and modifies nothing). UndoFile::create ignores it.
  bool read_only = false;
};

class UndoTransaction;

class H5TX_EXPORT UndoFile {
 public:
  // Creates (or truncates) an HDF5 file.
  static UndoFile create(const std::string& path, const UndoOptions& options = {});
  // Opens an existing file. Read-write reverts a pending journal first;
  // read-only (options.read_only) shows the pre-transaction state and
  // modifies nothing.
  static UndoFile open(const std::string& path, const UndoOptions& options = {});

  UndoFile(UndoFile&& other) noexcept;
  UndoFile& operator=(UndoFile&& other) noexcept;
  UndoFile(const UndoFile&) = delete;
  UndoFile& operator=(const UndoFile&) = delete;
  // Closes the file. Inside an unfinished transaction the transaction stays
  // pending (see sec2j.h): prefer ending it first.
  ~UndoFile();

  hid_t hid() const { return hid_; }
  const std::string& path() const { return path_; }
  bool read_only() const { return options_.read_only; }
  int depth() const;
  // Starts a transaction, nested inside the open one if any.
  UndoTransaction begin();
  // Closes now; throws Hdf5Error if HDF5 fails to close the file.
  void close();

 private:
  friend class UndoTransaction;
  UndoFile(std::string path, const UndoOptions& options, bool create);
  void reopen();

  std::string path_;
  UndoOptions options_;
  hid_t hid_ = H5I_INVALID_HID;
};

class H5TX_EXPORT UndoTransaction {
 public:
  UndoTransaction(UndoTransaction&& other) noexcept;
  UndoTransaction& operator=(UndoTransaction&&) = delete;
  UndoTransaction(const UndoTransaction&) = delete;
  UndoTransaction& operator=(const UndoTransaction&) = delete;
  // Aborts if still active. A failure there cannot be reported; the file is
  // then left unusable and its journal pending, so the next open reverts it.
  ~UndoTransaction();

  // Flushes HDF5 and ends this level: an inner level merges into its parent;
  // the outermost one is durable when commit returns. StateError if an inner
  // transaction is still active.
  void commit();
  // Reverts this level's changes and reopens the file (see UndoFile).
  void abort();
  bool active() const { return file_ != nullptr; }
  int level() const { return level_; }  // 1: outermost

 private:
  friend class UndoFile;
  UndoTransaction(UndoFile* file, int level) : file_(file), level_(level) {}
  void check_innermost(const char* op) const;

  UndoFile* file_;
  int level_;
};

}  // namespace h5tx
