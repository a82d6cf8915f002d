// HOME/procs/: the files through which h5tx processes sharing one store
// see each other without sharing the store's LOCK (formats/store-procs.md).
//
// - Snapshot registrations, one file per reader process
//   (procs/snap-<16 hex>): the oldest snapshot that process may still read,
//   under an exclusive OFD lock held while it lives. The flusher applies no
//   transaction newer than the oldest live registration; a file whose lock
//   is free belongs to a dead process and is removed at once.
// - The data gate (procs/gate-intent, procs/gate-files): a reader holds
//   gate-files shared around one read of the data files; the flusher holds
//   it exclusively around applying a batch to one data file (taking
//   gate-intent first, so readers arriving meanwhile wait for it instead of
//   starving it). gate-files holds a generation the flusher changes after
//   every file it touched: a reader whose cached HDF5 handles were opened at
//   another generation closes them.
//
// Every lock here is polled (never a blocking wait in the kernel) with a
// bounded timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "h5tx/env.hpp"
#include "util/mutex.hpp"

namespace h5tx {
namespace procs {

constexpr const char* kDirName = "procs";
constexpr const char* kSnapPrefix = "snap-";
// As-of registrations (formats/history.md): the oldest txid a process's
// as-of transactions read; pack drops no history they need. The same file
// format as snap-; the flusher ignores them.
constexpr const char* kAsOfPrefix = "asof-";
constexpr const char* kTmpSuffix = ".tmp";
constexpr const char* kGateIntent = "gate-intent";
constexpr const char* kGateFiles = "gate-files";
// Store format 3 (several writer processes of a redo store):
// - open: held exclusively by a read-write open while it finds out whether
//   it is alone (LOCK exclusive with a zero timeout) and, if it is, until
//   its recovery is done and it holds LOCK shared like every other writer;
// - commit: the commit section (txid assignment, the cross-process
//   conflict check, the rename to _done and the journal/ fsync), and the
//   txid counter; commit-intent: taken before it, so that a process
//   cannot take the section again and again while another waits;
// - flusher: held by the one process that flushes.
constexpr const char* kOpenLock = "open";
constexpr const char* kCommitLock = "commit";
constexpr const char* kCommitIntent = "commit-intent";
constexpr const char* kFlusherLock = "flusher";
// The registration value of a process with no open snapshot.
constexpr uint64_t kNoSnapshot = ~uint64_t(0);

// A random 64-bit value (names of registrations, _temp directories).
uint64_t random_id(Env* env);

// The text of procs/commit: the next txid to assign (fixed length,
// rewritten in place, the value twice like a registration's).
std::string encode_counter(uint64_t next_txid);
// False if `text` is not a whole counter (new, torn, damaged).
bool decode_counter(const std::string& text, uint64_t* next_txid);

// The commit section of a store shared by writer processes: held around
// txid assignment, the cross-process conflict check, the rename to _done
// and the journal/ fsync; never around writing chunk data. Not
// thread-safe (the holder's CommitQueue serializes its use).
class CommitSection {
 public:
  // Waits up to `timeout` (BusyError naming the file after).
  static std::unique_ptr<CommitSection> enter(Env* env, const std::string& procs_dir,
                                              std::chrono::milliseconds timeout);
  // The next txid to assign as the counter says, 0 if it does not hold one
  // (made by an older build, torn by a crash: the caller falls back on TXID).
  uint64_t next();
  // Rewrites the counter in place (not synced: after a crash, recovery
  // rewrites it from TXID).
  void set_next(uint64_t next_txid);

 private:
  CommitSection() = default;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<File> file_;
};

// The flusher role: the lock on procs/flusher if no other process holds it
// (zero timeout), else nullptr. The taker then writes its pid into the
// file (write_flusher_pid), for messages that name the holder.
std::unique_ptr<FileLock> try_flusher_role(Env* env, const std::string& procs_dir);
// procs/flusher's text: "h5tx-flusher 1 pid PPPPPPPPPP\n" (fixed length).
std::string encode_flusher(uint64_t pid);
bool decode_flusher(const std::string& text, uint64_t* pid);
void write_flusher_pid(Env* env, const std::string& procs_dir);
// "process <pid>" if another process (or another handle) holds the
// flusher role, "" if nobody does (probed with a zero timeout).
std::string flusher_holder(Env* env, const std::string& procs_dir);

// Owner tags of _temp directories (store format 3): a writer process's
// _temp ids are (tag << 32) | n, tag = owner_tag(its registration's id),
// in 1..2^30-1; an id below 2^32 has no owner tag (never swept).
uint64_t owner_tag(uint64_t registration_id);
uint64_t tag_of_temp(uint64_t temp_id);

// The text of a registration file (fixed length, rewritten in place).
std::string encode_registration(uint64_t pid, uint64_t snapshot);
// False if `text` is not a whole registration (a torn read, damage).
bool decode_registration(const std::string& text, uint64_t* pid, uint64_t* snapshot);

// The id of a registration's name "<prefix><16 hex>" or
// "<prefix><16 hex>.tmp"; false for any other name.
bool parse_registration_name(const std::string& name, const char* prefix, uint64_t* id);

// This process's registration (a reader's). Thread-safe.
class Registration {
 public:
  // Creates procs/snap-<random>: made as <name>.tmp, locked, written
  // (kNoSnapshot), renamed into place; IoError etc. from the Env.
  static std::unique_ptr<Registration> create(Env* env, const std::string& procs_dir,
                                              const char* prefix = kSnapPrefix);
  ~Registration();  // removes the file (unless close() did), then lets go of the lock
  // Removes the file (still locked); throws the Env's error (the file is
  // then left, unlocked once this object dies: the next sweep removes it).
  void close() EXCLUDES(mu_);

  // Rewrites the value in place (not synced: a crash ends the process,
  // and with it the lock that makes the value count).
  void set(uint64_t snapshot) EXCLUDES(mu_);
  const std::string& path() const { return path_; }
  uint64_t id() const { return id_; }  // the <16 hex> of its name

 private:
  Registration() = default;
  Env* env_ = nullptr;
  std::string path_;
  uint64_t id_ = 0;
  std::unique_ptr<FileLock> lock_;
  Mutex mu_;
  std::unique_ptr<File> file_ GUARDED_BY(mu_);
  bool removed_ GUARDED_BY(mu_) = false;
};

// The oldest snapshot of any live registration in procs_dir (kNoSnapshot if
// none). Registrations of dead processes (lock free) are removed; a live one
// that cannot be read whole counts as 0 (pins everything until it reads).
// *live, if given, gets the number of live registrations.
// `prefix`: kSnapPrefix (reader and writer snapshots) or kAsOfPrefix (as-of
// reads). `skip`: the caller's own registration (its snapshots are known in
// memory).
// *dead, if given, gets the number of dead registrations removed.
uint64_t oldest_registered(Env* env, const std::string& procs_dir, size_t* live = nullptr,
                           const char* prefix = kSnapPrefix, const std::string& skip = std::string(),
                           size_t* dead = nullptr);

// The data gate. Cheap to construct (no I/O).
class Gate {
 public:
  Gate(Env* env, const std::string& procs_dir);

  // A reader's hold on gate-files (shared), for one read of the data files.
  // Waits up to `timeout` while the flusher holds it (BusyError after).
  struct ReadHold {
    std::unique_ptr<FileLock> lock;
    std::string generation;  // gate-files' content when taken
  };
  ReadHold read(std::chrono::milliseconds timeout);

  // The flusher's hold on one data file's worth of the gate (exclusive).
  // BusyError (EWOULDBLOCK) if readers keep it past `timeout`.
  class WriteHold {
   public:
    // Changes the generation (readers then reopen their handles); throws
    // on an I/O error. Call before letting go when the data files changed.
    void bump();

   private:
    friend class Gate;
    Env* env_ = nullptr;
    std::string files_path_;
    std::unique_ptr<FileLock> intent_, files_;
  };
  std::unique_ptr<WriteHold> write(std::chrono::milliseconds timeout);

 private:
  Env* env_;
  std::string intent_path_, files_path_;
};

}  // namespace procs
}  // namespace h5tx
