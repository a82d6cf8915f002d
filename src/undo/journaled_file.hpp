// JournaledFile: the undo driver's file, independent of HDF5. Outside a
// transaction it is a plain file over Env. Inside one it buffers writes,
// records page-granular before-images in the undo journal, and syncs the
// journal before the data file is first overwritten (formats/undo-journal.md
// gives the ordering rules). Nested transactions keep one image map per
// level. Thread-safe: every public method takes the object's mutex.
//
// THE STATE MACHINE (as SQLite's pager.c has one). `state_` is the one
// answer to "what may happen next"; every change goes through transition(),
// which refuses a change not drawn here with a StateError (an internal
// error: h5tx's own logic went wrong; never an abort).
//
//                  tx_start
//       +------+ -------------> +--------+ <--+  nested tx_start/tx_commit,
//       | Idle |                | Active |    |  write, truncate
//       +------+ <------------- +--------+ ---+
//        ^   ^    tx_commit,      |     ^
//        |   |    close(ending)   |     |  write or truncate that changes
//        |   |         tx_prepare v     |  something, nested tx_start
//        |   |                  +----------+
//        |   +----------------- | Prepared |
//        |   tx_commit,         +----------+
//        |   tx_forget, close(ending)
//        | close()                      Active, Prepared --tx_abort--> Discarding
//   +------------+                      Active, Prepared, Discarding
//   | Discarding | --close(), levels         --an error--> Failed (terminal)
//   +------------+   left--> Active
//
// The legal transitions, all of them (legal()):
//   Idle       -> Active      tx_start
//   Active     -> Active      tx_start or tx_commit of a nested level
//   Active     -> Prepared    tx_prepare
//   Active     -> Idle        tx_commit of the outermost level; close() ending it
//   Prepared   -> Active      a write or truncate that changes something; a nested tx_start
//   Prepared   -> Idle        tx_commit, tx_forget, close() ending it
//   Active     -> Discarding  tx_abort (any level)
//   Prepared   -> Discarding  tx_abort
//   Active     -> Failed      an error inside the transaction
//   Prepared   -> Failed      likewise
//   Discarding -> Failed      likewise (a read after an inner abort)
//   Discarding -> Idle        close(), no level left
//   Discarding -> Active      close() with levels left (an inner abort; the file parks)
//   Failed     -> Failed      terminal (close() keeps the journal pending)
// A transaction call not valid in the state (tx_commit in Idle, tx_forget
// unless Prepared, anything but close() after tx_abort) is refused with a
// StateError before anything changes; write/truncate in Discarding and
// Failed are dropped.
//
// Idle: no transaction; writes go to the data file (read-only files stay
//   here). Active: levels_ holds one image map per nesting level; writes
//   are buffered, spilled under before-images. Prepared: one level,
//   everything spilled and synced, no write since (tx_forget is legal).
// Discarding: after tx_abort until close(): HDF5's writes of its stale
//   cache are dropped and no transaction call is accepted. Failed: an error
//   (any exception from the Env or from the work) inside a transaction
//   doomed it: nobody knows what reached the disk; the next open reverts.
// An error outside a transaction (Idle) just propagates, as with sec2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "h5tx/env.hpp"
#include "undo/interval_map.hpp"
#include "undo/journal_format.hpp"
#include "undo/write_arena.hpp"
#include "util/mutex.hpp"

namespace h5tx {
namespace undo {

class PendingJournal;

struct JournaledFileOptions {
  size_t page_size = 4096;
  size_t buffer_bytes = 16 << 20;
  bool sync_every_write = false;
  // A journal at the path given at open is kept between transactions (its
  // header zeroed, its space reused) while it is at most this big; a larger
  // one is truncated to 0 bytes instead.
  uint64_t journal_keep_bytes = 256ull << 20;
};

class JournaledFile {
 public:
  enum class Mode { ReadOnly, ReadWrite, Create, CreateNew, CreateTrunc };

  // Writable modes first revert a pending journal at journal_path. ReadOnly
  // with a pending journal serves the pre-transaction bytes and size without
  // modifying anything. Throws CorruptionError for a garbage journal, or one
  // that belongs to another data file (formats/undo-journal.md, version 3).
  // `data`: the data file already open (read-only for ReadOnly, else
  // read-write, never truncated: CreateTrunc truncates it here after the
  // revert), e.g. holding HDF5's file lock; null: opened here in `mode`.
  JournaledFile(Env* env, std::string data_path, std::string journal_path, Mode mode,
                const JournaledFileOptions& options, std::unique_ptr<File> data = nullptr);
  ~JournaledFile();
  JournaledFile(const JournaledFile&) = delete;
  JournaledFile& operator=(const JournaledFile&) = delete;

  const std::string& data_path() const { return data_path_; }
  const std::string& journal_path() const REQUIRES(mu_) { return journal_path_; }
  bool read_only() const { return read_only_; }

  enum class State { Idle, Active, Prepared, Discarding, Failed };
  static const char* state_name(State s);
  // The transition table drawn above (from == to is legal only for Active,
  // nested levels, and Failed, terminal).
  static bool legal(State from, State to);
  State state() EXCLUDES(mu_);

  // The file as HDF5 sees it: reads past the end return zeros.
  uint64_t size() EXCLUDES(mu_);
  void read(uint64_t addr, void* buf, size_t n) EXCLUDES(mu_);
  // Discarding and Failed: writes and truncates are dropped (the write or
  // truncate that hit an error inside a transaction does not throw either;
  // the transaction calls rethrow it). HDF5 is not told, because an HDF5
  // 1.10 call failing inside its metadata cache can leave the file
  // impossible to close.
  void write(uint64_t addr, const void* buf, size_t n) EXCLUDES(mu_);
  // Sets the size (HDF5's truncate-to-EOA).
  void truncate(uint64_t size) EXCLUDES(mu_);

  // journal_path: this transaction's journal (outermost level only); ""
  // means the one given at open. keep_journal: journal_path replaces the one
  // given at open, for this and later transactions (kept open between them).
  void tx_start(const std::string& journal_path = "", bool keep_journal = false) EXCLUDES(mu_);
  void tx_commit() EXCLUDES(mu_);
  void tx_abort() EXCLUDES(mu_);
  void tx_prepare() EXCLUDES(mu_);
  void tx_forget() EXCLUDES(mu_);
  int depth() EXCLUDES(mu_);
  bool discarding() EXCLUDES(mu_);

  // The data File holds HDF5's file lock (taken by the driver).
  void set_locked(bool locked) EXCLUDES(mu_);
  // Converts that lock (see undo::set_file_lock); no transaction may be open.
  void relock(LockKind kind) EXCLUDES(mu_);

  // Makes close() end the (single-level) transaction after HDF5's last
  // writes: Commit as tx_commit does; Prepare as tx_prepare does, then drops
  // the transaction without touching the journal again (the caller commits
  // by removing it).
  enum class EndOnClose { None, Commit, Prepare };
  void end_on_close(EndOnClose how) EXCLUDES(mu_);

  // HDF5 is closing the file. Returns true if a transaction is still open:
  // the caller keeps the object so a reopen in this process resumes it (the
  // journal is synced and the data written, so a crash reverts it).
  bool close() EXCLUDES(mu_);

 private:
  struct Image {
    uint64_t journal_pos;
    uint32_t length;
  };
  struct Level {
    uint64_t start_size;                         // file size when the level began
    std::unordered_map<uint64_t, Image> images;  // page index -> before-image
  };

  void check_usable(const char* op) const REQUIRES(mu_);
  void check_writable(const char* op) const REQUIRES(mu_);
  void spill() REQUIRES(mu_);
  std::vector<uint64_t> pages_to_save(const Level& level) REQUIRES(mu_);
  void journal_before_images(Level& level, const std::vector<uint64_t>& pages) REQUIRES(mu_);
  void write_buffer() REQUIRES(mu_);
  void open_journal() REQUIRES(mu_);
  void write_journal() REQUIRES(mu_);
  void sync_data_if_dirty() REQUIRES(mu_);
  void invalidate_journal() REQUIRES(mu_);
  void end_transaction_memory() REQUIRES(mu_);
  void close_journal() REQUIRES(mu_);
  void read_disk(uint64_t addr, char* buf, size_t n) REQUIRES(mu_);
  void read_locked(uint64_t addr, char* buf, size_t n) REQUIRES(mu_);
  void write_locked(uint64_t addr, const void* buf, size_t n) REQUIRES(mu_);
  void truncate_locked(uint64_t size) REQUIRES(mu_);
  void mark_failed(const char* what) REQUIRES(mu_);
  // The one way state_ changes; StateError for a change not in the table.
  void transition(State to, const char* why) REQUIRES(mu_);

  Mutex mu_;
  Env* env_;
  std::string data_path_;
  std::string journal_path_ GUARDED_BY(mu_);          // of the current (or last) transaction
  std::string default_journal_path_ GUARDED_BY(mu_);  // given at open
  JournaledFileOptions opt_;
  State state_ GUARDED_BY(mu_) = State::Idle;
  // Independent facts, not states: the open mode; whether the data file has
  // unsynced writes; whether it holds HDF5's file lock (any state).
  bool read_only_;
  std::unique_ptr<File> data_ GUARDED_BY(mu_);
  bool data_dirty_ GUARDED_BY(mu_) = false;
  bool locked_ GUARDED_BY(mu_) = false;  // data_ holds HDF5's file lock

  // Read-only view of a file with a pending journal.
  std::unique_ptr<PendingJournal> pending_ GUARDED_BY(mu_);
  IntervalMap<FilePos> pending_overlay_ GUARDED_BY(mu_);
  uint64_t pending_size_ GUARDED_BY(mu_) = 0;
  // The pre-transaction superblock with HDF5's "open for write" flags
  // cleared (a version 3 superblock; see undo/superblock.hpp), served over
  // the overlay so HDF5 opens the read-only view; empty if none.
  uint64_t pending_sb_offset_ GUARDED_BY(mu_) = 0;
  std::string pending_sb_ GUARDED_BY(mu_);

  // Sizes: disk_size_ is the data file's size; bytes at or past disk_valid_
  // read as zeros (a shrink not yet applied); logical_size_ is HDF5's size.
  uint64_t disk_size_ GUARDED_BY(mu_) = 0;
  uint64_t disk_valid_ GUARDED_BY(mu_) = 0;
  uint64_t logical_size_ GUARDED_BY(mu_) = 0;

  std::vector<Level> levels_
      GUARDED_BY(mu_);  // non-empty in Active and Prepared (and kept in Discarding/Failed)
  IntervalMap<BufferedBytes> buffer_ GUARDED_BY(mu_);
  WriteArena arena_ GUARDED_BY(mu_);  // the bytes of buffer_
  // A spill's journal bytes before they are written: allocated once per
  // transaction, not zero-filled (before-images are read straight into it).
  struct Staging {
    std::unique_ptr<char[]> mem;
    size_t capacity = 0;
    size_t size = 0;
    char* grow(size_t n);  // n more bytes at the end (capacity must suffice)
  };
  Staging staging_ GUARDED_BY(mu_);
  // Facts about the journal file, not states: whether its directory entry
  // still needs a sync; whether it holds this transaction's header.
  std::unique_ptr<File> journal_ GUARDED_BY(mu_);
  bool journal_needs_dir_sync_ GUARDED_BY(mu_) = false;
  uint64_t journal_size_ GUARDED_BY(mu_) = 0;     // bytes of the current transaction's journal
  uint64_t journal_extent_ GUARDED_BY(mu_) = 0;   // the journal file's size (stale bytes past journal_size_)
  bool journal_pending_ GUARDED_BY(mu_) = false;  // holds this transaction's header (not invalidated)
  JournalHeader header_ GUARDED_BY(mu_);
  // What the next close() does to the open transaction (Active or
  // Prepared): an argument of that close, given ahead, not a state.
  EndOnClose end_on_close_ GUARDED_BY(mu_) = EndOnClose::None;
  // Failed's data: why, and the first error, rethrown by the transaction calls.
  std::string broken_ GUARDED_BY(mu_);
  std::exception_ptr failure_ GUARDED_BY(mu_);
};

}  // namespace undo
}  // namespace h5tx
