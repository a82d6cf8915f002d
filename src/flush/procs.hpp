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
// The registration value of a process with no open snapshot.
constexpr uint64_t kNoSnapshot = ~uint64_t(0);

// The text of a registration file (fixed length, rewritten in place).
std::string encode_registration(uint64_t pid, uint64_t snapshot);
// False if `text` is not a whole registration (a torn read, damage).
bool decode_registration(const std::string& text, uint64_t* pid, uint64_t* snapshot);

// This process's registration (a reader's). Thread-safe.
class Registration {
 public:
  // Creates procs/snap-<random>: made as <name>.tmp, locked, written
  // (kNoSnapshot), renamed into place; IoError etc. from the Env.
  static std::unique_ptr<Registration> create(Env* env, const std::string& procs_dir,
                                              const char* prefix = kSnapPrefix);
  ~Registration();  // removes the file, then lets go of the lock

  // Rewrites the value in place (not synced: a crash ends the process,
  // and with it the lock that makes the value count).
  void set(uint64_t snapshot) EXCLUDES(mu_);
  const std::string& path() const { return path_; }

 private:
  Registration() = default;
  Env* env_ = nullptr;
  std::string path_;
  std::unique_ptr<FileLock> lock_;
  Mutex mu_;
  std::unique_ptr<File> file_ GUARDED_BY(mu_);
};

// The oldest snapshot of any live registration in procs_dir (kNoSnapshot if
// none). Registrations of dead processes (lock free) are removed; a live one
// that cannot be read whole counts as 0 (pins everything until it reads).
// *live, if given, gets the number of live registrations.
// `prefix`: kSnapPrefix (reader snapshots) or kAsOfPrefix (as-of reads).
uint64_t oldest_registered(Env* env, const std::string& procs_dir, size_t* live = nullptr,
                           const char* prefix = kSnapPrefix);

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
