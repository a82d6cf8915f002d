// The POSIX (Linux) Env: files through pread/pwrite, durability through
// fsync/fdatasync, locks through open-file-description fcntl locks.
//
// Untrusted trees: this Env never follows a symbolic link in the last
// component of a path (O_NOFOLLOW, lstat), and opens only regular files
// (O_NONBLOCK, so a FIFO planted where a file belongs cannot hang the open,
// then fstat). Callers that accept a user's symlink (a store's HOME, a bare
// HDF5 file) resolve it first (Env::resolve_symlinks).
#include "io/posix_env.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "util/duration_text.hpp"
#include "util/mutex.hpp"

namespace h5tx {
namespace io {

void throw_errno(const std::string& path, const std::string& operation, int err) {
  std::string message = operation + " failed";
  if (err == ENOENT) throw NotFoundError(path, message, err);
  if (err == EEXIST) throw AlreadyExistsError(path, message, err);
  throw IoError(path, message, err);
}

}  // namespace io

namespace {

using io::throw_errno;

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixFile() override { ::close(fd_); }

  size_t read(uint64_t offset, void* buf, size_t n) override {
    char* p = static_cast<char*>(buf);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, p + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_errno(path_, "pread of " + std::to_string(n) + " bytes at offset " + std::to_string(offset),
                    errno);
      }
      if (r == 0) break;  // end of file
      done += static_cast<size_t>(r);
    }
    return done;
  }

  void write(uint64_t offset, const void* buf, size_t n) override {
    const char* p = static_cast<const char*>(buf);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pwrite(fd_, p + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        throw_errno(path_, "pwrite of " + std::to_string(n) + " bytes at offset " + std::to_string(offset),
                    errno);
      }
      if (r == 0) {  // should not happen for a regular file; avoid spinning
        throw IoError(path_, "pwrite at offset " + std::to_string(offset + done) + " wrote nothing", ENOSPC);
      }
      done += static_cast<size_t>(r);
    }
  }

  // Appends at the end of the file as seen by fstat. The mutex serializes
  // appends through this handle; the file is not opened with O_APPEND
  // because Linux pwrite() ignores the offset on O_APPEND descriptors.
  void append(const void* buf, size_t n) override {
    MutexLock lock(append_mu_);
    write(size(), buf, n);
  }

  void truncate(uint64_t size) override {
    while (::ftruncate(fd_, static_cast<off_t>(size)) != 0) {
      if (errno == EINTR) continue;
      throw_errno(path_, "ftruncate to " + std::to_string(size) + " bytes", errno);
    }
  }

  void sync() override {
    if (::fsync(fd_) != 0) throw_errno(path_, "fsync", errno);
  }

  void datasync() override {
    if (::fdatasync(fd_) != 0) throw_errno(path_, "fdatasync", errno);
  }

  void start_writeback(uint64_t offset, uint64_t n) override {
#ifdef SYNC_FILE_RANGE_WRITE
    // A hint: an error here shows up again at the sync that matters.
    (void)::sync_file_range(fd_, static_cast<off_t>(offset), static_cast<off_t>(n), SYNC_FILE_RANGE_WRITE);
#else
    (void)offset;
    (void)n;
#endif
  }

  uint64_t size() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) throw_errno(path_, "fstat", errno);
    return static_cast<uint64_t>(st.st_size);
  }

  const std::string& path() const override {
    return path_;
  }

  FileIdentity identity() override {
    struct stat st;
    if (::fstat(fd_, &st) != 0) throw_errno(path_, "fstat", errno);
    return FileIdentity{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), true};
  }

  // flock(2), as HDF5's sec2 driver locks (LOCK_NB).
  bool try_lock(LockKind kind) override {
    const int op = (kind == LockKind::Shared ? LOCK_SH : LOCK_EX) | LOCK_NB;
    for (;;) {
      if (::flock(fd_, op) == 0) return true;
      if (errno == EINTR) continue;
      if (errno == EWOULDBLOCK) return false;
      throw_errno(path_, std::string("flock(") + (kind == LockKind::Shared ? "LOCK_SH" : "LOCK_EX") + ")",
                  errno);
    }
  }

  void unlock() override {
    while (::flock(fd_, LOCK_UN) != 0) {
      if (errno == EINTR) continue;
      throw_errno(path_, "flock(LOCK_UN)", errno);
    }
  }

 private:
  std::string path_;
  int fd_;
  Mutex append_mu_;  // guards no member: the size-then-write of append()
};

class PosixLock final : public FileLock {
 public:
  explicit PosixLock(int fd) : fd_(fd) {}
  // Closing the last descriptor of the open file description releases an
  // OFD lock; unlock explicitly first anyway.
  ~PosixLock() override {
    struct flock fl = {};
    fl.l_type = F_UNLCK;
    fl.l_whence = SEEK_SET;
    ::fcntl(fd_, F_OFD_SETLK, &fl);
    ::close(fd_);
  }

 private:
  int fd_;
};

int open_retry(const char* path, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

const char* mode_name(OpenMode mode) {
  switch (mode) {
    case OpenMode::ReadOnly:
      return "open (read-only)";
    case OpenMode::ReadWrite:
      return "open (read-write)";
    case OpenMode::Create:
      return "open (create)";
    case OpenMode::CreateNew:
      return "open (create new)";
    case OpenMode::CreateTrunc:
      return "open (create or truncate)";
  }
  return "open";
}

// Opens `path` with `flags`, never following a symlink in its last component
// and never blocking on a FIFO; the result is a regular file or an IoError.
int open_regular(const std::string& path, int flags, const char* what) {
  int fd = open_retry(path.c_str(), flags | O_NOFOLLOW | O_NONBLOCK, 0644);
  if (fd < 0) {
    int err = errno;
    if (err == ELOOP)
      throw IoError(path, std::string(what) + " failed: is a symbolic link (h5tx does not follow them)", err);
    throw_errno(path, what, err);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    throw_errno(path, "fstat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    const char* kind = S_ISDIR(st.st_mode)    ? "a directory"
                       : S_ISFIFO(st.st_mode) ? "a FIFO"
                       : S_ISSOCK(st.st_mode) ? "a socket"
                                              : "a device or special file";
    throw IoError(path, std::string(what) + " failed: is " + kind + ", not a regular file",
                  S_ISDIR(st.st_mode) ? EISDIR : EINVAL);
  }
  // Back to blocking I/O. F_SETFL sets only the status flags, and none but
  // O_NONBLOCK was asked for, so 0 clears it without an F_GETFL first.
  if (::fcntl(fd, F_SETFL, 0) != 0) {
    int err = errno;
    ::close(fd);
    throw_errno(path, "fcntl(F_SETFL)", err);
  }
  return fd;
}

// Opens a directory for listing or fsync, never through a symlink.
int open_directory(const std::string& path, const char* what) {
  int fd = open_retry(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  if (fd < 0) {
    int err = errno;
    struct stat st;
    if ((err == ELOOP || err == ENOTDIR) && ::lstat(path.c_str(), &st) == 0)
      throw IoError(
          path,
          std::string(what) + " failed: " +
              (S_ISLNK(st.st_mode) ? "is a symbolic link (h5tx does not follow them)" : "is not a directory"),
          err);
    throw_errno(path, what, err);
  }
  return fd;
}

const char* lock_name(short type) {
  return type == F_RDLCK ? "shared" : "exclusive";
}
const char* a_lock_name(short type) {
  return type == F_RDLCK ? "a shared" : "an exclusive";
}

class PosixEnv final : public Env {
 public:
  std::unique_ptr<File> open(const std::string& path, OpenMode mode) override {
    int flags = 0;
    switch (mode) {
      case OpenMode::ReadOnly:
        flags = O_RDONLY;
        break;
      case OpenMode::ReadWrite:
        flags = O_RDWR;
        break;
      case OpenMode::Create:
        flags = O_RDWR | O_CREAT;
        break;
      case OpenMode::CreateNew:
        flags = O_RDWR | O_CREAT | O_EXCL;
        break;
      case OpenMode::CreateTrunc:
        flags = O_RDWR | O_CREAT | O_TRUNC;
        break;
    }
    int fd = open_regular(path, flags, mode_name(mode));
    return std::unique_ptr<File>(new PosixFile(path, fd));
  }

  bool exists(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) return true;
    if (errno == ENOENT || errno == ENOTDIR) return false;
    throw_errno(path, "stat", errno);
  }

  std::string resolve_symlinks(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return path;
    char* real = ::realpath(path.c_str(), nullptr);
    if (real == nullptr) throw_errno(path, "realpath", errno);
    std::string out = real;
    ::free(real);
    return out;
  }

  std::string file_identity(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) throw_errno(path, "lstat", errno);
    return std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
           std::to_string(static_cast<unsigned long long>(st.st_ino));
  }

  bool is_directory(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) return S_ISDIR(st.st_mode);
    if (errno == ENOENT || errno == ENOTDIR) return false;
    throw_errno(path, "stat", errno);
  }

  uint64_t file_size(const std::string& path) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) throw_errno(path, "lstat", errno);
    return static_cast<uint64_t>(st.st_size);
  }

  void remove_file(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) throw_errno(path, "unlink", errno);
  }

  void rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_errno(from, "rename to " + to, errno);
  }

  void create_dir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0) throw_errno(path, "mkdir", errno);
  }

  void remove_dir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) throw_errno(path, "rmdir", errno);
  }

  // Calls fn(name, d_type) for every entry but "." and "..".
  template <typename Fn>
  void read_dir(const std::string& path, Fn fn) {
    int fd = open_directory(path, "opendir");
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
      int err = errno;
      ::close(fd);
      throw_errno(path, "fdopendir", err);
    }
    for (;;) {
      errno = 0;
      struct dirent* e = ::readdir(dir);
      if (e == nullptr) {
        int err = errno;
        ::closedir(dir);
        if (err != 0) throw_errno(path, "readdir", err);
        return;
      }
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      fn(std::move(name), e->d_type);
    }
  }

  std::vector<std::string> list_dir(const std::string& path) override {
    std::vector<std::string> names;
    read_dir(path, [&](std::string name, unsigned char) { names.push_back(std::move(name)); });
    std::sort(names.begin(), names.end());
    return names;
  }

  std::vector<DirEntry> list_dir_entries(const std::string& path) override {
    std::vector<DirEntry> entries;
    read_dir(path, [&](std::string name, unsigned char type) {
      DirEntry d;
      // DT_LNK for a link; an lstat (never followed) where the file system
      // gives no type.
      d.directory = type == DT_UNKNOWN ? is_directory(path_join(path, name)) : type == DT_DIR;
      d.name = std::move(name);
      entries.push_back(std::move(d));
    });
    std::sort(entries.begin(), entries.end(),
              [](const DirEntry& x, const DirEntry& y) { return x.name < y.name; });
    return entries;
  }

  void sync_dir(const std::string& path) override {
    int fd = open_directory(path, "open directory for fsync");
    if (::fsync(fd) != 0) {
      int err = errno;
      ::close(fd);
      throw_errno(path, "fsync of directory", err);
    }
    ::close(fd);
  }

  std::unique_ptr<FileLock> lock_file(const std::string& path, LockKind kind,
                                      std::chrono::milliseconds timeout) override {
    int fd;
    try {
      fd = open_regular(path, O_RDWR | O_CREAT, "open for locking");
    } catch (const IoError& e) {
      if (kind != LockKind::Shared || (e.sys_errno() != EACCES && e.sys_errno() != EROFS)) throw;
      fd = open_regular(path, O_RDONLY, "open for locking");  // a read lock needs only read access
    }
    std::unique_ptr<PosixLock> guard(new PosixLock(fd));  // closes fd on every exit

    const short type = kind == LockKind::Shared ? F_RDLCK : F_WRLCK;
    const auto deadline = std::chrono::steady_clock::now() + std::max(timeout, std::chrono::milliseconds(0));
    // Polled (OFD locks have no timed wait). Short pauses first: a commit
    // section or data gate is held for about one fsync, and a waiter that
    // slept 20 ms behind a 1 ms holder made several writer processes
    // slower together than one alone. Waits beyond 100 ms (a reader behind
    // a long flush) back off to 20 ms.
    const auto started = std::chrono::steady_clock::now();
    uint64_t pause = 50;  // microseconds
    for (;;) {
      struct flock fl = {};
      fl.l_type = type;
      fl.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file; l_pid must be 0
      if (::fcntl(fd, F_OFD_SETLK, &fl) == 0) return guard;
      int err = errno;
      if (err == EINTR) continue;
      if (err != EAGAIN && err != EACCES) {
        throw_errno(path, std::string("fcntl(F_OFD_SETLK, ") + lock_name(type) + ")", err);
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        // Name the kind of lock in the way, for the error message.
        struct flock probe = {};
        probe.l_type = type;
        probe.l_whence = SEEK_SET;
        short held = F_WRLCK;
        if (::fcntl(fd, F_OFD_GETLK, &probe) == 0 && probe.l_type != F_UNLCK) held = probe.l_type;
        throw BusyError(path,
                        std::string("cannot take ") + lock_name(type) + " lock within " +
                            duration_text(timeout) + ": " + a_lock_name(held) +
                            " lock is held by another process or handle",
                        err);
      }
      sleep_micros(pause);
      const bool long_wait = std::chrono::steady_clock::now() - started > std::chrono::milliseconds(100);
      pause = std::min<uint64_t>(pause * 3 / 2 + 1, long_wait ? 20000 : 500);
    }
  }

  uint64_t now_micros() override {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  }

  void sleep_micros(uint64_t micros) override {
    struct timespec req;
    req.tv_sec = static_cast<time_t>(micros / 1000000u);
    req.tv_nsec = static_cast<long>((micros % 1000000u) * 1000u);
    struct timespec rem;
    while (::nanosleep(&req, &rem) != 0 && errno == EINTR) req = rem;
  }
};

}  // namespace

Env* Env::posix() {
  static Env* env = new PosixEnv;  // never destroyed: usable from static destructors
  return env;
}

}  // namespace h5tx
