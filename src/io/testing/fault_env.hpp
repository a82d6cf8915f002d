// FaultEnv: an in-memory Env for crash tests. It models durability the way a
// power cut behaves, counts operations so a test can stop the "machine" after
// the k-th one, and fails chosen operations with EIO/ENOSPC.
//
// THE DURABILITY MODEL
//
// File data. Every file is an inode with its current bytes (what reads see)
// and its durable bytes (what survives a crash). Writes and truncates change
// the current bytes and are appended to the inode's log of pending
// (unsynced) changes. File::sync() and File::datasync() apply that log, in
// order, to the durable bytes and clear it; the two are identical here (the
// size is always made durable too). Syncing an inode does not make any
// directory entry durable: a new file needs a sync_dir() of its parent.
//
// Directory entries. Every directory has its current entries (name ->
// inode) and its durable entries. open(Create*), lock_file (which creates),
// rename, remove_file, create_dir and remove_dir change only current entries,
// and record each entry change in one global, ordered directory-change log.
// sync_dir(d) makes the current entries of d durable (and drops d's changes
// from the log). A rename across directories is two entry changes: the new
// name becomes durable when the target directory is synced, the old name
// disappears durably when the source directory is synced (so after a crash
// the file can be found under both names, or under neither, which is what
// POSIX permits; once both directories are synced the move is durable).
// After a crash a file or directory exists only if it is reachable from the
// root through durable entries: an fsync'd file whose entry was never synced
// vanishes; a rename without a directory sync is undone; a removed file comes
// back unless its directory was synced.
//
// crash() is the power cut. With default CrashOptions every pending file
// change and every unsynced directory change is dropped. With
// keep_random_unsynced, each pending file change (write or truncate) is
// independently kept with probability keep_probability, and the kept ones are
// applied in their original order; with tear_sectors as well, a kept write
// that spans more than one 512-byte sector (sectors are aligned to absolute
// file offsets) is torn with probability 1/2: each of its sector pieces then
// lands independently with probability 1/2. A write inside one sector is
// atomic. For directories, a random prefix (length uniform in [0, n]) of
// the unsynced directory-change log is kept (metadata journaling keeps order;
// the two halves of a rename count as one entry of the prefix).
// After a crash the current state equals the durable state, every File and
// FileLock obtained before it is dead (calls throw SimulatedCrash, destruction
// is harmless), all locks are released, and the Env is alive again.
// kill_process() is the milder crash of the process alone (nothing dropped).
//
// OPERATION COUNTING
//
// These calls are counted operations, numbered 1, 2, ... over the Env's life
// (op_count() is the number so far): open (every mode), lock_file,
// File::write, File::append, File::truncate, File::sync, File::datasync,
// remove_file, rename, create_dir, remove_dir, sync_dir. An operation counts
// whether it succeeds or throws. Reads (File::read, File::size, exists,
// is_directory, file_size, list_dir) are counted separately (read_count(),
// fail_read_at()); now_micros/sleep_micros are not counted.
//
// File::identity() and File::try_lock()/unlock() are neither counted nor
// faultable. try_lock has flock semantics per File (independent of
// lock_file's locks); crash() and kill_process() release every such lock.
// identity() is {device, inode}, the device number unique in the process
// per Env, copy and crash epoch: a file reopened after a crash, or one of
// another Env, is never "the same open file" as a dead handle's.
//
// crash_after(k): once operation k has completed the Env is dead. With a
// death hook set (on_death), the hook is called at that moment with the
// Env's image (see image()): a crash test runs its workload in a forked
// child whose hook hands the image to the parent and _exits, so the
// machine stops inside the Env call and no code above it ever runs again
// (tests/crash_child.hpp). Without a hook, every later call (counted or
// not) throws SimulatedCrash, which is NOT an h5tx::Error, until crash()
// (or kill_process()); that mode exists for FaultEnv's own tests only:
// h5tx's code has no "dead Env" path, so a workload of h5tx code must
// never see SimulatedCrash.
//
// A crash test typically: prepares a state; for each k forks a child that
// sets crash_after(k) and runs the workload on a copy of that state
// (run_crash_child); the parent rebuilds the Env from the child's image
// (from_image), calls crash() (the power cut), recovers and checks.
// Running once with no crash point and reading op_count() gives the range
// of k. clone() lets each k start from a prepared state.
//
// fail_at(k, err): operation k throws IoError(path, ..., err) once without
// taking effect. For write/append, partial_bytes > 0 first writes that many
// leading bytes (a short write, e.g. then ENOSPC). A failed sync/datasync
// follows Linux "fsyncgate" semantics: the inode's pending changes are
// discarded from the durable path (the page cache marked them clean): the
// current bytes still show them, but no later sync makes them durable, and a
// crash loses them. A failed sync_dir changes nothing (the entries stay
// pending and a later sync_dir can still make them durable).
//
// Paths are '/'-separated; relative paths are taken from the root ("a/b" is
// "/a/b"); "." and ".." components are resolved lexically. The root always
// exists. Locks are whole-file, per handle (like OFD locks), with the real
// clock used for timeouts. The clock is fake: now_micros() starts at the
// real time of construction and advances by 1 per call and by the amount of
// every sleep_micros(), which sleeps for real at most 1 ms.
//
// Thread-safe: one mutex guards everything. Files and locks must not outlive
// their FaultEnv.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/env.hpp"

namespace h5tx {
namespace testing {

// Thrown by every call of a dead FaultEnv, and by Files/FileLocks obtained
// before a crash(). Deliberately not an h5tx::Error: code under test must
// not be able to catch it as an ordinary I/O error.
class SimulatedCrash : public std::exception {
 public:
  explicit SimulatedCrash(std::string message) : message_(std::move(message)) {}
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  std::string message_;
};

struct CrashOptions {
  bool keep_random_unsynced = false;  // keep a random subset instead of nothing
  uint64_t seed = 0;                  // seeds the random choices
  bool tear_sectors = false;          // kept writes may be torn at 512-byte sectors
  double keep_probability = 0.5;      // per pending file change, in random mode
};

// What a crash() did, for tests and traces.
struct CrashStats {
  uint64_t pending_file_changes = 0;  // unsynced writes and truncates at the crash
  uint64_t kept_file_changes = 0;     // of which applied to the durable bytes
  uint64_t torn_writes = 0;           // kept writes of which some sectors landed, some not
  uint64_t dir_changes = 0;           // unsynced directory operations at the crash
  uint64_t kept_dir_changes = 0;      // of which kept (a prefix)
};

class FaultEnv final : public Env {
 public:
  static constexpr uint64_t kSectorSize = 512;

  FaultEnv();
  ~FaultEnv() override;

  // Env
  std::unique_ptr<File> open(const std::string& path, OpenMode mode) override;
  bool exists(const std::string& path) override;
  bool is_directory(const std::string& path) override;
  uint64_t file_size(const std::string& path) override;
  // "0:<inode number>" (stable across crash() and clone()).
  std::string file_identity(const std::string& path) override;
  void remove_file(const std::string& path) override;
  void rename(const std::string& from, const std::string& to) override;
  void create_dir(const std::string& path) override;
  void remove_dir(const std::string& path) override;
  std::vector<std::string> list_dir(const std::string& path) override;
  void sync_dir(const std::string& path) override;
  std::unique_ptr<FileLock> lock_file(const std::string& path, LockKind kind,
                                      std::chrono::milliseconds timeout) override;
  uint64_t now_micros() override;
  void sleep_micros(uint64_t micros) override;

  // The power cut, with the options set by set_crash_options() or given.
  CrashStats crash();
  CrashStats crash(const CrashOptions& options);
  void set_crash_options(const CrashOptions& options);

  // Dies once operation `op` (absolute number) has completed; at once if it
  // already has. Cleared by crash().
  void crash_after(uint64_t op);
  bool dead() const;

  // Called once, when the Env dies (crash_after), with the Env's image,
  // under the Env's lock (the hook must not call the Env). Meant for a
  // forked child, which hands the image to its parent and _exits; if the
  // hook returns, the Env is dead as without one. Not copied by clone().
  void on_death(std::function<void(const std::string& image)> hook);

  // The file system as bytes: current and durable contents, pending file
  // changes, current and durable directory entries, the unsynced
  // directory-change log, and the counters, crash epoch, crash options,
  // capacity, clock and trace. Without open Files, locks, the crash point
  // or injected faults: from_image() gives an alive Env with no handles,
  // which crash() then power-cuts exactly as the original would have been.
  std::string image() const;
  static std::unique_ptr<FaultEnv> from_image(const std::string& image);

  // Operation `op` (absolute number) fails once with `err`. Kept across crashes.
  void fail_at(uint64_t op, int err, size_t partial_bytes = 0);
  // Read call number `read` (as counted by read_count()) throws IoError with
  // `err` once; File::read returns nothing then.
  void fail_read_at(uint64_t read, int err);
  void clear_faults();  // both kinds

  // A full disk: once the files of the current namespace (and open, removed
  // ones) hold `bytes` bytes, a write stores what fits and then throws
  // IoError ENOSPC, a growing truncate throws ENOSPC without effect, until
  // space is freed (remove, truncate) or the capacity raised. 0: unlimited
  // (the default). Directories and names take no space.
  void set_disk_capacity(uint64_t bytes);
  uint64_t used_bytes() const;

  // A process crash (kill -9), not a power cut: Files and locks die and the
  // Env is alive again, but the file system keeps everything, synced or not
  // (the page cache survives); a later crash() can still drop what is unsynced.
  void kill_process();

  // A copy of the whole file system (current and durable bytes, pending
  // changes, the directory log), the counters, crash epoch, faults, crash
  // options, capacity, clock and trace flag; without open Files, locks, the
  // death hook or the trace
  // log. Lets a crash test prepare a state once and run each crash point on
  // a fresh copy.
  std::unique_ptr<FaultEnv> clone() const;

  uint64_t op_count() const;
  uint64_t read_count() const;

  // Inspection (never counted, work while dead). Paths are reported
  // absolute ("/a/b"), sorted. A directory reachable by two paths (possible
  // only after unsynced cross-directory renames of directories) is listed
  // once, under the first path found.
  bool durably_exists(const std::string& path) const;
  // The bytes a crash with default options would leave; NotFoundError if the
  // file would not survive (not reachable through durable entries).
  std::string durable_contents(const std::string& path) const;
  std::vector<std::string> list_files() const;          // regular files, current
  std::vector<std::string> list_durable_files() const;  // regular files, durable
  // Inodes held in memory (files and directories, the root included): those
  // reachable now, after a crash, or through an open File. Removed files are
  // freed lazily (at sync_dir and crash), so this stays bounded.
  size_t inode_count() const;

  // Trace: when on, every counted operation is logged as
  // "#<index> <op> <path> <detail>", plus injected faults and crashes.
  void set_trace(bool on);
  std::vector<std::string> trace() const;
  std::string trace_text() const;  // one line per entry

  struct State;  // implementation, in fault_env.cpp

 private:
  std::unique_ptr<State> s_;
};

}  // namespace testing
}  // namespace h5tx
