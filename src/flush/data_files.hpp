// Access to the HDF5 files in data/ for redo mode. Every open goes through a
// file access property list made by undo::set_fapl, so every byte goes
// through the store's Env. Readers share one cached read-only handle per
// file (read-only handles never write, so they are harmless whatever
// happens); the flusher closes it and opens the file read-write for the
// length of one batch, as an undo transaction. Callers hold mutex() around
// any use, so a reader never sees a file in the middle of a flush batch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "flush/procs.hpp"
#include "h5tx/env.hpp"
#include "hdf5/handle.hpp"
#include "util/mutex.hpp"

namespace h5tx {

class DataFiles {
 public:
  // read_only: handles are opened read-only, and a pending undo journal in
  // journal/undo_*/<file>.journal is read through (the bytes from before the
  // interrupted batch), never reverted.
  DataFiles(Env* env, std::string data_dir, std::string journal_dir, size_t page_size, bool read_only);
  ~DataFiles();

  // Stores shared between processes (formats/store-procs.md): the data
  // gate. A writer's flusher takes it exclusively per file (apply_file); a
  // reader process (live_reader) takes it shared around each read and
  // opens its handles without HDF5's file lock, which would hold the
  // flusher off for as long as a handle is cached: the gate's generation
  // says when the cached handles are stale instead. Set before use.
  void set_gate(std::unique_ptr<procs::Gate> gate, std::chrono::milliseconds timeout, bool live_reader);
  procs::Gate* gate() const { return gate_.get(); }
  std::chrono::milliseconds gate_timeout() const { return gate_timeout_; }
  // How long a read waits for the gate (a writer process of a store with
  // several writers reads like a reader process: gate_timeout() is then
  // its flusher's wait, this its readers').
  std::chrono::milliseconds gate_read_timeout() const {
    return gate_read_timeout_.count() ? gate_read_timeout_ : gate_timeout_;
  }
  void set_gate_read_timeout(std::chrono::milliseconds t) { gate_read_timeout_ = t; }
  bool live_reader() const { return live_reader_; }
  // A reader's hold: closes the cached handles if the flusher changed any
  // data file since they were opened. Call with the hold taken.
  void check_generation(const std::string& generation) REQUIRES(mu_);

  // Held (MutexLock) around the calls marked REQUIRES(mu_) below.
  Mutex& mutex() RETURN_CAPABILITY(mu_) { return mu_; }

  std::string path(const std::string& file) const;
  bool exists(const std::string& file) REQUIRES(mu_);
  // Names of the data files: every entry of data/ that is a valid data file
  // name (so not the store's own scratch files, names::kReservedPrefix) and
  // not a directory.
  std::vector<std::string> list();

  // The cached read-only handle of `file`.
  hid_t handle(const std::string& file) REQUIRES(mu_);
  // Closes the cached handle of `file`.
  void close(const std::string& file) REQUIRES(mu_);
  void close_all() REQUIRES(mu_);
  // Closes the cached handle and opens `file` read-write.
  hdf5::Handle open_for_update(const std::string& file) REQUIRES(mu_);

  // Creates an empty HDF5 file atomically: builds data/.h5tx.new.<file>,
  // syncs it, renames it into place and syncs data/. No-op if the file exists.
  void create_file(const std::string& file) REQUIRES(mu_);
  // Removes an unfinished create's leftovers from data/ (recovery): only
  // names beginning with ".h5tx.new.".
  void remove_temporaries();

 private:
  // for_update: the flusher's read-write opens (and creates), which keep
  // HDF5's file lock.
  hdf5::Handle make_fapl(const std::string& journal_path, bool for_update = false);
  // data/<kReservedPrefix><kind><file>: the store's scratch names.
  std::string scratch_path(const char* kind, const std::string& file) const;
  std::string pending_journal(const std::string& file);

  Env* env_;
  std::string data_dir_;
  std::string journal_dir_;
  size_t page_size_;
  bool read_only_;
  std::unique_ptr<procs::Gate> gate_;
  std::chrono::milliseconds gate_timeout_{1000};
  std::chrono::milliseconds gate_read_timeout_{0};
  bool live_reader_ = false;
  Mutex mu_;
  std::string generation_ GUARDED_BY(mu_);  // of the data gate, when the cached handles were opened
  std::map<std::string, hdf5::Handle> handles_ GUARDED_BY(mu_);
};

}  // namespace h5tx
