// The store directory of both modes: HOME/h5tx.store (format file), LOCK
// (fcntl lock holding the owner's pid), data/, journal/, and the txid
// allocator whose ids are strictly increasing across restarts.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "h5tx/env.hpp"
#include "flush/procs.hpp"
#include "h5tx/options.hpp"
#include "util/mutex.hpp"

namespace h5tx {

// Parsed h5tx.store. Text, one "key = value" per line; see formats/store-file.md.
// Version 2 added HOME/procs/ (formats/store-procs.md): reader processes
// of a redo store open without the LOCK, so a build that does not know
// procs/ must not write the store. A version 1 store is upgraded by the
// first read-write open.
// Version 3 added several writer processes of a redo store (procs/open,
// procs/commit, procs/flusher; writers share the LOCK).
struct StoreFormat {
  static constexpr int kVersion = 3;
  int version = kVersion;
  Mode mode = Mode::Redo;
  size_t undo_page_size = 4096;
  // "features = history" (formats/history.md): a feature flag rather than a
  // version, so that it combines with other format changes; a build that
  // does not know the key or the feature refuses the store.
  bool history = false;

  std::string encode() const;
  // CorruptionError / UnsupportedError naming `path`.
  static StoreFormat decode(const std::string& text, const std::string& path);
};

class Layout {
 public:
  static constexpr const char* kFormatFile = "h5tx.store";
  static constexpr const char* kLockFile = "LOCK";
  static constexpr const char* kTxidFile = "TXID";
  static constexpr const char* kReplicaFile = "REPLICA";
  static constexpr const char* kPositionFile = "POSITION";
  // txids are reserved in blocks of this size: TXID holds the first txid not
  // yet reserved, rewritten atomically once per block.
  static constexpr uint64_t kTxidBlock = 1 << 16;

  // Creates HOME (missing or empty) with the layout and takes the exclusive lock.
  static std::unique_ptr<Layout> create(Env* env, const std::string& home, const Options& options);
  // Opens an existing store. Undo mode: exclusive lock; BusyError naming
  // the holder's pid when another process has it. Redo mode, read-write:
  // under procs/open, the exclusive lock if no other writer process holds
  // the LOCK (alone(): recovery may run; share() then turns it into the
  // shared lock every writer process holds), else the shared lock
  // (multi_writer() either way once the store is version 3). Read-only: a
  // redo store of version >= 2 takes no lock but registers this process
  // in procs/ (live_reader()); otherwise the lock is shared, as before.
  //
  // Backups and replicas (formats/tx-stream.md): HOME/REPLICA marks a
  // replica, which a read-write open refuses (StateError) unless it is the
  // applier's (`applier`: h5tx replicate, restore, promote); HOME/POSITION
  // (the newest txid received from the source) is removed by any other
  // read-write open, which may diverge the store from its source.
  static std::unique_ptr<Layout> open(Env* env, const std::string& home, const Options& options,
                                      bool applier = false);

  Env* env() const { return env_; }
  const std::string& home() const { return home_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& journal_dir() const { return journal_dir_; }
  std::string data_path(const std::string& file) const;
  Mode mode() const { return format_.mode; }
  const StoreFormat& format() const { return format_; }
  bool read_only() const { return read_only_; }
  const std::string& procs_dir() const { return procs_dir_; }
  std::string history_dir() const { return path_join(home_, "history"); }
  bool history() const { return format_.history; }
  // A read-only open that shares the store with a live writer process
  // (no LOCK): its snapshot registration, else nullptr.
  procs::Registration* live_reader() const { return registration_.get(); }
  // A read-write open of a redo store of version 3: other writer processes
  // may share the store (commits take procs/commit, one process flushes).
  bool multi_writer() const { return multi_; }
  // This read-write open found no other writer process: it holds the LOCK
  // exclusively (and procs/open) until share(), so recovery may run.
  bool alone() const { return alone_; }
  // After recovery: the txid counter (procs/commit) set from TXID, then the
  // exclusive LOCK turned into a shared one while procs/open is still held
  // (no other opener can find itself alone meanwhile), then procs/open let
  // go. No-op unless alone() and multi_writer().
  void share(const Options& options) EXCLUDES(txid_mu_);
  // The name id of a _temp directory: a txid unless multi_writer(); then
  // (owner tag << 32) | n, n counting up from a random start, once
  // set_temp_owner() gave the tag (flush/orphan_temps.hpp: the _temp
  // directories of a dead process are removed by its tag), a random id
  // below 2^32 (never swept) before.
  uint64_t temp_id();
  // The owner tag of this process's _temp names (procs::owner_tag of its
  // writer registration). Call once, before any concurrent temp_id().
  void set_temp_owner(uint64_t tag);
  // multi_writer(): the txid of a commit, under the commit section: the
  // counter's next txid (or TXID's if it holds none), at least `provisional`,
  // reserved in TXID before it is returned; the counter moves past it.
  uint64_t assign_txid(procs::CommitSection& section, uint64_t provisional) EXCLUDES(txid_mu_);

  // Thread-safe; strictly increasing across restarts (a crash may skip ids).
  uint64_t allocate_txid() EXCLUDES(txid_mu_);
  // Recovery reports the largest txid found on disk; later ids exceed it.
  void observe_txid(uint64_t txid) EXCLUDES(txid_mu_);
  // The last txid handed out (0 if none since open).
  uint64_t last_txid() const EXCLUDES(txid_mu_);

  // Validates a data file name: names::check_file_name (util/names.hpp).
  static void check_file_name(const std::string& name);

  // Formats a txid as 16 lowercase hex digits, and parses it back
  // (false if `s` is not exactly that).
  static std::string txid_hex(uint64_t txid);
  static bool parse_txid_hex(const std::string& s, uint64_t* txid);

 private:
  Layout() = default;
  void lock(const Options& options);
  void open_writer(const Options& options);
  void write_pid();
  uint64_t read_txid_file() const;
  void upgrade();
  void ensure_procs();
  void start_history(uint64_t oldest);
  void open_history(const Options& options);
  void reserve_locked(uint64_t needed) REQUIRES(txid_mu_);

  Env* env_ = nullptr;
  std::string home_, data_dir_, journal_dir_, procs_dir_;
  StoreFormat format_;
  bool read_only_ = false;
  std::unique_ptr<FileLock> lock_;
  std::unique_ptr<procs::Registration> registration_;
  std::unique_ptr<FileLock> open_lock_;  // procs/open, while alone_ and not yet shared
  bool multi_ = false;
  bool alone_ = true;
  uint64_t temp_tag_ = 0;               // set_temp_owner
  std::atomic<uint32_t> temp_next_{0};  // n of the next tagged _temp id
  mutable Mutex txid_mu_;
  uint64_t next_txid_ GUARDED_BY(txid_mu_) = 1;     // next id to hand out
  uint64_t reserved_end_ GUARDED_BY(txid_mu_) = 1;  // ids < reserved_end_ are reserved in TXID
};

}  // namespace h5tx
