// Env: the only door from h5tx to the operating system. Every byte h5tx
// writes, the HDF5 files included, goes through an Env, so tests can swap in
// a fault-injecting one (src/io/testing/fault_env.hpp). Errors are thrown as
// h5tx::IoError (or NotFoundError / AlreadyExistsError / BusyError) carrying
// the path and errno.
#pragma once

#include "h5tx/export.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace h5tx {

enum class LockKind { Shared, Exclusive };

// What names a file whatever path reached it: st_dev and st_ino. `known` is
// false for an Env (or a wrapping File) that cannot tell.
struct FileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool known = false;
  bool operator==(const FileIdentity& o) const {
    return known && o.known && device == o.device && inode == o.inode;
  }
  bool operator!=(const FileIdentity& o) const { return !(*this == o); }
};

// An open file. Not thread-safe for concurrent writes to overlapping ranges;
// read/write at explicit offsets may be called from several threads.
class H5TX_EXPORT File {
 public:
  virtual ~File() = default;
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Reads up to n bytes at offset; returns the number read (short only at EOF).
  virtual size_t read(uint64_t offset, void* buf, size_t n) = 0;
  // Writes all n bytes at offset (the file grows as needed).
  virtual void write(uint64_t offset, const void* buf, size_t n) = 0;
  // Writes all n bytes at the current end of the file.
  virtual void append(const void* buf, size_t n) = 0;
  virtual void truncate(uint64_t size) = 0;
  // fsync: data and metadata (size) durable.
  virtual void sync() = 0;
  // fdatasync: data durable (and size, if it changed).
  virtual void datasync() = 0;
  // A hint, no durability meaning: start writing [offset, offset + n) back
  // now, so a later sync has less to wait for. The default does nothing.
  virtual void start_writeback(uint64_t offset, uint64_t n) {
    (void)offset;
    (void)n;
  }
  virtual uint64_t size() = 0;
  virtual const std::string& path() const = 0;
  // The open file's identity (device and inode). Default: unknown.
  virtual FileIdentity identity() { return FileIdentity{}; }
  // HDF5's own file lock, with flock(2) semantics: whole file, held by this
  // File until unlock() or its destruction; Shared and Exclusive locks of
  // two Files (two open file descriptions) conflict, in one process too;
  // independent of Env::lock_file's locks. Never waits: false if another
  // File holds a conflicting lock; IoError for any other failure (errno
  // ENOSYS or ENOLCK: the file system does not support locks). Taking a
  // lock again converts it. Default: no locking (true).
  virtual bool try_lock(LockKind kind) {
    (void)kind;
    return true;
  }
  virtual void unlock() {}
};

enum class OpenMode {
  ReadOnly,     // must exist
  ReadWrite,    // must exist
  Create,       // read-write; created empty if missing
  CreateNew,    // read-write; AlreadyExistsError if it exists
  CreateTrunc,  // read-write; created or truncated to zero
};

// An advisory lock held on a file; released when destroyed.
class H5TX_EXPORT FileLock {
 public:
  virtual ~FileLock() = default;
};

class H5TX_EXPORT Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never destroyed.
  static Env* posix();

  // Symbolic links: an Env never follows one in the last component of a
  // path. open() fails with IoError on a symlink and on anything that is not
  // a regular file (a FIFO, a socket, a device: never blocks on them);
  // exists() sees the link itself; is_directory() is false for a link to a
  // directory; list_dir/sync_dir refuse a link. A store's own entries are
  // thereby never followed out of HOME.
  virtual std::unique_ptr<File> open(const std::string& path, OpenMode mode) = 0;
  virtual bool exists(const std::string& path) = 0;
  virtual bool is_directory(const std::string& path) = 0;
  virtual uint64_t file_size(const std::string& path) = 0;
  // A path the caller was given by the user (a store's HOME, a bare HDF5
  // file) with the symlinks in it resolved, so it can then be used with the
  // no-follow calls above; the path unchanged if it is not a symlink or does
  // not exist. The default (Envs without symlinks) returns `path`.
  virtual std::string resolve_symlinks(const std::string& path) { return path; }
  // What identifies the file itself rather than its name (POSIX: device and
  // inode, "dev:ino"), for records that must still name the same file after a
  // crash; not followed through a symlink. NotFoundError if missing. The
  // default, for Envs that cannot tell, is "" (callers then have no such
  // evidence).
  virtual std::string file_identity(const std::string& path) {
    (void)path;
    return "";
  }
  virtual void remove_file(const std::string& path) = 0;
  virtual void rename(const std::string& from, const std::string& to) = 0;

  // Directories. create_dir fails with AlreadyExistsError if it exists.
  virtual void create_dir(const std::string& path) = 0;
  virtual void remove_dir(const std::string& path) = 0;  // must be empty
  // Entry names (no "." or ".."), sorted.
  virtual std::vector<std::string> list_dir(const std::string& path) = 0;
  // fsync of the directory itself: makes creates, renames and removes of
  // its entries durable.
  virtual void sync_dir(const std::string& path) = 0;

  // Advisory lock (fcntl, open-file-description locks: they also exclude
  // other locks of the same process). Creates the file if missing. Waits up
  // up to `timeout` (0 or less: try once); BusyError on timeout.
  virtual std::unique_ptr<FileLock> lock_file(const std::string& path, LockKind kind,
                                              std::chrono::milliseconds timeout) = 0;

  virtual uint64_t now_micros() = 0;  // wall clock, microseconds since the epoch
  virtual void sleep_micros(uint64_t micros) = 0;

  // list_dir() with, for each entry, whether it is a directory (a link to
  // one is not): what is_directory() would say of it, without a stat per
  // entry where the Env can tell from the listing (PosixEnv: the entry type
  // readdir returns, an lstat only where the file system does not give it).
  // The default calls list_dir() and is_directory().
  struct DirEntry {
    std::string name;
    bool directory = false;
  };
  virtual std::vector<DirEntry> list_dir_entries(const std::string& path);

  // Helpers built on the primitives above.
  void create_dir_if_missing(const std::string& path);
  // Removes a directory and the files directly inside it (flat directories only).
  void remove_flat_dir(const std::string& path);
  // The whole file; IoError (EFBIG) if it is larger than max_bytes, checked
  // before anything is allocated (files read whole are small by design: a
  // huge or sparse one is damage, not data).
  std::string read_all(const std::string& path, uint64_t max_bytes = uint64_t(1) << 20);
  // Writes path.tmp, syncs it, renames it over path, syncs the parent directory.
  void write_file_atomic(const std::string& path, const std::string& contents);
};

// Path helpers (string-based, '/' separated).
H5TX_EXPORT std::string path_join(const std::string& a, const std::string& b);
H5TX_EXPORT std::string path_dirname(const std::string& path);
H5TX_EXPORT std::string path_basename(const std::string& path);

}  // namespace h5tx
