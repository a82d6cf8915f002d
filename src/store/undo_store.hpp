// The undo-mode store (the sec2j model): transactions write straight into the
// HDF5 files in data/ through the undo driver, each file's before-images in
// journal/undo_<txid>/<file>.journal. Commit point: one rename of that
// directory to undo_<txid>_committed. Recovery on open reverts every file of
// a directory not renamed, and removes the files the transaction created
// (listed in its CREATED file). Directory format: formats/undo-store.md.
//
// One writer or many readers (AtomicFile's rule): in-process with a mutex and
// condition variable (begin waits up to TxOptions::timeout, then
// BusyError); across processes by the store LOCK (Layout): a read-write
// store holds it exclusively, read-only stores share it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "h5tx/undo.hpp"
#include "journal/tx_dir.hpp"
#include "journal/undo_created.hpp"
#include "store/impl.hpp"
#include "store/layout.hpp"
#include "util/mutex.hpp"

namespace h5tx {

// State shared by the store and its transactions (a transaction may outlive
// its Store object).
struct UndoState {
  Mutex mu;
  // Reset (the LOCK released) under mu once the store is closed and no
  // transaction holds a slot; read through open_layout() until then.
  std::unique_ptr<Layout> layout GUARDED_BY(mu);
  Env* env = nullptr;
  std::string home;
  size_t page_size = 4096;
  bool read_only = false;
  // Read-only store: what an unfinished transaction of a crashed writer left
  // (recovery cannot run read-only). Its journals serve the pre-transaction
  // bytes; the files it created are hidden.
  std::map<std::string, std::string> pending_journals;  // file -> journal path
  std::set<std::string> hidden_files;

  CondVar cv;  // with mu
  int readers GUARDED_BY(mu) = 0;
  bool writer GUARDED_BY(mu) = false;
  int writers_waiting GUARDED_BY(mu) = 0;
  bool closed GUARDED_BY(mu) = false;
  std::string failed GUARDED_BY(mu);  // why the store must be reopened ("" if healthy)
  uint64_t committed GUARDED_BY(mu) = 0;
  uint64_t last_committed_txid GUARDED_BY(mu) = 0;

  // Waits for the writer slot (Write) or a reader slot (Read) up to
  // `timeout` (< 0: forever). BusyError on timeout; StateError if the
  // store is closed or read-only (Write); IoError if it failed.
  void acquire(Access access, std::chrono::milliseconds timeout) EXCLUDES(mu);
  void release(Access access) EXCLUDES(mu, kept_mu);
  void mark_failed(const std::string& why) EXCLUDES(mu);

  // Data files that committed write transactions left open for the next one
  // (no H5Fopen/H5Fclose, and a warm HDF5 cache, per transaction). Outside
  // a write transaction they are open with no undo transaction and nothing
  // unflushed. Only the writer uses them; a read transaction closes them
  // first (a read-only open would share the read-write file), and they are
  // closed before the LOCK is released.
  Mutex kept_mu;
  std::map<std::string, std::unique_ptr<UndoFile>> kept GUARDED_BY(kept_mu);
  std::unique_ptr<UndoFile> take_kept(const std::string& file) EXCLUDES(kept_mu);
  void keep(const std::string& file, std::unique_ptr<UndoFile> f) EXCLUDES(kept_mu);
  // Closes every kept file; the first close error is thrown after all closed.
  void close_kept() EXCLUDES(kept_mu);

  // A journal/undo_<txid> directory left by an earlier single-file commit
  // (formats/undo-store.md): durable, with no CREATED and no journal holding
  // a transaction. The next write transaction uses it instead of creating
  // its own; it is removed when the store closes. Only the writer and
  // close() use it.
  std::string spare_dir GUARDED_BY(mu);
  std::string take_spare_dir() EXCLUDES(mu);
  // Removes the spare directory, if any (not synced: it holds nothing).
  void remove_spare_dir() EXCLUDES(mu);

  // The Layout without mu. Safe for the store before close() and for a
  // transaction between acquire() and release(): layout is reset only when
  // the store is closed and no transaction holds a slot.
  Layout& open_layout() const NO_THREAD_SAFETY_ANALYSIS { return *layout; }
  std::string data_path(const std::string& file) const { return open_layout().data_path(file); }
  std::string undo_dir(uint64_t txid) const;
};

class UndoStore : public StoreImpl {
 public:
  // Runs recovery (read-write) or scans for unfinished transactions (read-only).
  UndoStore(std::unique_ptr<Layout> layout, const Options& options);
  ~UndoStore() override;

  Mode mode() const override { return Mode::Undo; }
  const std::string& home() const override { return state_->home; }
  std::unique_ptr<TransactionImpl> begin(const TxOptions& options) override;
  void flush() override {}  // undo mode: commit already wrote the files
  // Releases the LOCK. StateError if transactions are still active (the lock
  // is then released when the last one ends).
  void close() override;
  StoreStats stats() override;
  std::vector<TransactionInfo> pending() override { return {}; }  // no journal backlog

 private:
  std::shared_ptr<UndoState> state_;
};

// Names inside journal/: undo_<16 hex>, and undo_<16 hex>_committed for a
// committed transaction whose journals are garbage.
constexpr const char* kCommittedSuffix = journal::kCommittedSuffix;  // journal/tx_dir.hpp
constexpr const char* kCreatedFile = journal::kCreatedFile;          // journal/undo_created.hpp
constexpr const char* kJournalSuffix = ".journal";

// Parses a journal/ entry name; false if it is not an undo directory.
bool parse_undo_dir_name(const std::string& name, uint64_t* txid, bool* committed);

// Reverts or discards every undo directory in journal/ (read-write open).
// Idempotent: a crash during it is repaired by running it again.
void recover_undo_store(UndoState& st);

std::unique_ptr<StoreImpl> open_undo_store(std::unique_ptr<Layout> layout, const Options& options);

}  // namespace h5tx
