// FaultEnv: the in-memory, crash-simulating Env. The model is documented in
// fault_env.hpp; this file follows it literally.
#include "io/testing/fault_env.hpp"

#include "util/duration_text.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <thread>

#include "h5tx/error.hpp"
#include "io/posix_env.hpp"
#include "util/mutex.hpp"

namespace h5tx {
namespace testing {

namespace {

constexpr uint64_t kRoot = 1;  // inode number of the root directory

// Device numbers for File::identity(): one per Env and crash epoch, unique
// in the process, so a file of one FaultEnv (or of one before a crash) is
// never "the same file" as another's, even for code (the undo driver's
// registry of open files) that outlives an Env.
uint64_t new_device() {
  static std::atomic<uint64_t> next{1};
  return next++;
}

// One unsynced change to a file's bytes.
struct Pending {
  bool truncate;  // true: resize to `offset`; false: write `bytes` at `offset`
  uint64_t offset;
  std::string bytes;
};

struct Inode {
  bool is_dir = false;
  // Files.
  std::string data;              // current bytes
  std::string durable;           // bytes that survive a crash
  std::vector<Pending> pending;  // unsynced changes, in order
  int open_handles = 0;          // Files of the current epoch (keeps the inode alive)
  // Directories.
  std::map<std::string, uint64_t> entries;          // current
  std::map<std::string, uint64_t> durable_entries;  // as of the last sync_dir
};

// One change of one directory entry; target 0 removes the entry.
struct DirChange {
  uint64_t op;  // operation number (the two halves of a rename share it)
  uint64_t dir;
  std::string name;
  uint64_t target;
};

struct LockState {
  int shared = 0;
  bool exclusive = false;
};

struct Fault {
  int err;
  size_t partial_bytes;
};

void apply_write(std::string& s, uint64_t offset, const char* p, size_t n) {
  if (n == 0) return;
  if (s.size() < offset + n) s.resize(offset + n, '\0');
  std::memcpy(&s[offset], p, n);
}

void apply_pending(std::string& s, const Pending& p) {
  if (p.truncate) {
    s.resize(p.offset, '\0');
  } else {
    apply_write(s, p.offset, p.bytes.data(), p.bytes.size());
  }
}

// Path components with "." and empty parts dropped and ".." resolved.
std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string c = path.substr(i, j - i);
    if (c == "..") {
      if (!out.empty()) out.pop_back();
    } else if (!c.empty() && c != ".") {
      out.push_back(std::move(c));
    }
    i = j + 1;
  }
  return out;
}

const char* mode_name(OpenMode mode) {
  switch (mode) {
    case OpenMode::ReadOnly:
      return "read-only";
    case OpenMode::ReadWrite:
      return "read-write";
    case OpenMode::Create:
      return "create";
    case OpenMode::CreateNew:
      return "create-new";
    case OpenMode::CreateTrunc:
      return "create-trunc";
  }
  return "?";
}

std::string extent(uint64_t offset, size_t n) {
  return "offset=" + std::to_string(offset) + " n=" + std::to_string(n);
}

[[noreturn]] void fail(const std::string& path, const std::string& op, int err) {
  io::throw_errno(path, op, err);
}

}  // namespace

struct FaultEnv::State {
  mutable Mutex mu;
  CondVar cv;  // lock waiters

  std::map<uint64_t, Inode> inodes GUARDED_BY(mu);
  uint64_t next_inode GUARDED_BY(mu) = kRoot + 1;
  std::vector<DirChange> dir_log GUARDED_BY(mu);
  std::map<uint64_t, LockState> locks GUARDED_BY(mu);
  std::map<uint64_t, LockState> flocks GUARDED_BY(mu);  // File::try_lock (flock), per inode
  uint64_t removed_since_gc GUARDED_BY(mu) = 0;

  uint64_t epoch GUARDED_BY(mu) = 0;              // bumped by every crash; Files and locks remember theirs
  uint64_t device GUARDED_BY(mu) = new_device();  // identity().device of Files of this epoch
  uint64_t ops GUARDED_BY(mu) = 0;
  uint64_t reads GUARDED_BY(mu) = 0;
  bool crash_after_set GUARDED_BY(mu) = false;
  uint64_t crash_after GUARDED_BY(mu) = 0;
  bool dead GUARDED_BY(mu) = false;
  uint64_t dead_after GUARDED_BY(mu) = 0;
  std::map<uint64_t, Fault> faults GUARDED_BY(mu);     // by operation number
  std::map<uint64_t, int> read_faults GUARDED_BY(mu);  // by read number: errno
  CrashOptions crash_options GUARDED_BY(mu);
  uint64_t capacity GUARDED_BY(mu) = 0;  // bytes; 0: unlimited

  bool tracing GUARDED_BY(mu) = false;
  std::vector<std::string> trace GUARDED_BY(mu);
  uint64_t clock GUARDED_BY(mu) = 0;
  std::function<void(const std::string&)> death_hook GUARDED_BY(mu);

  State() { inodes[kRoot].is_dir = true; }

  // The machine dies after operation `after` (callers hold mu). A death
  // hook (a crash child) normally never returns.
  void die(uint64_t after) REQUIRES(mu) {
    dead = true;
    dead_after = after;
    add_trace("dead after #" + std::to_string(after));
    if (death_hook) {
      auto hook = std::move(death_hook);
      death_hook = nullptr;
      hook(image());
    }
    cv.notify_all();
  }

  std::string image() const REQUIRES(mu);              // callers hold mu
  void load_image(const std::string& b) REQUIRES(mu);  // callers hold mu; a fresh State

  // ---- operation bookkeeping (callers hold mu) ----

  void check_alive(const char* what, const std::string& path) const REQUIRES(mu) {
    if (dead) {
      throw SimulatedCrash(std::string("simulated crash: ") + what + " " + path +
                           ": the Env is dead after operation " + std::to_string(dead_after));
    }
  }

  void check_epoch(uint64_t handle_epoch, const char* what, const std::string& path) const REQUIRES(mu) {
    check_alive(what, path);
    if (handle_epoch != epoch) {
      throw SimulatedCrash(std::string("simulated crash: ") + what + " " + path +
                           ": handle was opened before a simulated crash");
    }
  }

  // A read call: counts it and throws its injected fault, if any.
  void begin_read(const char* what, const std::string& path) REQUIRES(mu) {
    check_alive(what, path);
    uint64_t index = ++reads;
    auto it = read_faults.find(index);
    if (it == read_faults.end()) return;
    int err = it->second;
    read_faults.erase(it);
    add_trace("read #" + std::to_string(index) + " " + what + " " + path + " -> injected errno " +
              std::to_string(err));
    throw IoError(path, std::string(what) + " failed (injected fault)", err);
  }

  void add_trace(std::string line) REQUIRES(mu) {
    if (tracing) trace.push_back(std::move(line));
  }

  // A counted operation in progress: its number, and the fault to inject.
  // Ending it (destruction, also by exception) may kill the Env.
  class Op {
   public:
    Op(State* s, const char* name, const std::string& path, const std::string& detail) REQUIRES(s->mu)
        : s_(s), name_(name), path_(path) {
      s_->check_alive(name, path);
      index_ = ++s_->ops;
      auto it = s_->faults.find(index_);
      if (it != s_->faults.end()) {
        fault_ = it->second;
        has_fault_ = true;
        s_->faults.erase(it);
      }
      if (s_->tracing) {
        std::string line = "#" + std::to_string(index_) + " " + name + " " + path;
        if (!detail.empty()) line += " " + detail;
        if (has_fault_) {
          line += " -> injected errno " + std::to_string(fault_.err);
          if (fault_.partial_bytes) line += " after " + std::to_string(fault_.partial_bytes) + " bytes";
        }
        s_->trace.push_back(std::move(line));
      }
    }
    ~Op() {
      if (s_->crash_after_set && !s_->dead && index_ >= s_->crash_after) s_->die(index_);
    }
    Op(const Op&) = delete;
    Op& operator=(const Op&) = delete;

    uint64_t index() const { return index_; }
    bool has_fault() const { return has_fault_; }
    size_t partial_bytes() const { return has_fault_ ? fault_.partial_bytes : 0; }
    // Throws the injected fault, if any.
    void inject() const {
      if (has_fault_) throw_fault();
    }
    [[noreturn]] void throw_fault() const {
      throw IoError(path_, std::string(name_) + " failed (injected fault)", fault_.err);
    }

   private:
    State* s_;
    const char* name_;
    const std::string& path_;
    uint64_t index_ = 0;
    bool has_fault_ = false;
    Fault fault_{0, 0};
  };

  // ---- namespace (callers hold mu) ----

  // The inode at `comps` through current (or durable) entries; 0 if missing.
  // A non-directory in the middle gives 0 with *err = ENOTDIR.
  uint64_t walk(const std::vector<std::string>& comps, size_t n, bool durable, int* err = nullptr) const
      REQUIRES(mu) {
    uint64_t cur = kRoot;
    for (size_t i = 0; i < n; ++i) {
      auto it = inodes.find(cur);
      if (it == inodes.end()) return 0;
      if (!it->second.is_dir) {
        if (err) *err = ENOTDIR;
        return 0;
      }
      const auto& entries = durable ? it->second.durable_entries : it->second.entries;
      auto e = entries.find(comps[i]);
      if (e == entries.end()) {
        if (err) *err = ENOENT;
        return 0;
      }
      cur = e->second;
    }
    return cur;
  }

  uint64_t lookup(const std::string& path) const REQUIRES(mu) {
    auto comps = split_path(path);
    return walk(comps, comps.size(), false);
  }

  // The directory that holds `comps`' last component; throws ENOENT/ENOTDIR.
  uint64_t parent_dir(const std::vector<std::string>& comps, const std::string& path,
                      const std::string& what) const REQUIRES(mu) {
    int err = ENOENT;
    uint64_t dir = walk(comps, comps.size() - 1, false, &err);
    if (dir == 0) fail(path, what, err);
    if (!inodes.at(dir).is_dir) fail(path, what, ENOTDIR);
    return dir;
  }

  // A name in its directory, for the calls that create or remove entries.
  struct Slot {
    uint64_t dir;
    std::string name;
    uint64_t ino;  // 0: no such entry
  };

  // The slot of `path`; throws ENOENT/ENOTDIR for a bad parent and
  // `root_errno` if path is the root itself.
  Slot slot(const std::string& path, const std::string& what, int root_errno) const REQUIRES(mu) {
    auto comps = split_path(path);
    if (comps.empty()) fail(path, what, root_errno);
    uint64_t dir = parent_dir(comps, path, what);
    const auto& entries = inodes.at(dir).entries;
    auto it = entries.find(comps.back());
    return Slot{dir, comps.back(), it == entries.end() ? 0 : it->second};
  }

  // The inode at `path`; throws ENOENT/ENOTDIR.
  uint64_t resolve(const std::string& path, const std::string& what) const REQUIRES(mu) {
    auto comps = split_path(path);
    int err = ENOENT;
    uint64_t ino = walk(comps, comps.size(), false, &err);
    if (ino == 0) fail(path, what, err);
    return ino;
  }

  void set_entry(uint64_t op, uint64_t dir, const std::string& name, uint64_t target) REQUIRES(mu) {
    auto& entries = inodes.at(dir).entries;
    if (target) {
      entries[name] = target;
    } else {
      entries.erase(name);
      ++removed_since_gc;
    }
    dir_log.push_back(DirChange{op, dir, name, target});
  }

  uint64_t new_inode(bool is_dir) REQUIRES(mu) {
    uint64_t id = next_inode++;
    inodes[id].is_dir = is_dir;
    return id;
  }

  // Frees inodes that can never be seen again, not even after a crash: those
  // not reachable from the root or an open handle through current entries,
  // durable entries, or logged (unsynced) entry changes. Log changes of
  // freed directories are dropped with them.
  void collect_garbage() REQUIRES(mu) {
    std::multimap<uint64_t, uint64_t> logged;  // dir -> target of an unsynced change
    for (const auto& c : dir_log) {
      if (c.target) logged.emplace(c.dir, c.target);
    }
    std::set<uint64_t> marked;
    std::vector<uint64_t> stack{kRoot};
    for (const auto& kv : inodes) {
      if (kv.second.open_handles > 0) stack.push_back(kv.first);
    }
    while (!stack.empty()) {
      uint64_t id = stack.back();
      stack.pop_back();
      if (!marked.insert(id).second) continue;
      auto it = inodes.find(id);
      if (it == inodes.end() || !it->second.is_dir) continue;
      for (const auto& e : it->second.entries) stack.push_back(e.second);
      for (const auto& e : it->second.durable_entries) stack.push_back(e.second);
      auto range = logged.equal_range(id);
      for (auto l = range.first; l != range.second; ++l) stack.push_back(l->second);
    }
    for (auto it = inodes.begin(); it != inodes.end();) {
      it = marked.count(it->first) ? std::next(it) : inodes.erase(it);
    }
    dir_log.erase(std::remove_if(dir_log.begin(), dir_log.end(),
                                 [&](const DirChange& c) { return !marked.count(c.dir); }),
                  dir_log.end());
    removed_since_gc = 0;
  }

  // Bytes held by files in the current namespace or open: what a full disk
  // counts (metadata takes no space here).
  uint64_t used_bytes() const REQUIRES(mu) {
    std::set<uint64_t> seen;
    std::vector<uint64_t> stack{kRoot};
    for (const auto& kv : inodes) {
      if (kv.second.open_handles > 0) stack.push_back(kv.first);
    }
    uint64_t total = 0;
    while (!stack.empty()) {
      uint64_t id = stack.back();
      stack.pop_back();
      if (!seen.insert(id).second) continue;
      const Inode& node = inodes.at(id);
      total += node.data.size();
      for (const auto& e : node.entries) stack.push_back(e.second);
    }
    return total;
  }

  // With a capacity set: how many bytes past `size` a file may grow.
  uint64_t room() const REQUIRES(mu) {
    uint64_t used = used_bytes();
    return used >= capacity ? 0 : capacity - used;
  }

  // `visited` guards against directory cycles, which unsynced cross-directory
  // renames of directories can create in the durable namespace.
  void list_files(uint64_t dir, const std::string& prefix, bool durable, std::vector<std::string>* out,
                  std::set<uint64_t>* visited) const REQUIRES(mu) {
    if (!visited->insert(dir).second) return;
    const Inode& d = inodes.at(dir);
    for (const auto& e : durable ? d.durable_entries : d.entries) {
      auto it = inodes.find(e.second);
      if (it == inodes.end()) continue;
      std::string path = prefix + "/" + e.first;
      if (it->second.is_dir) {
        list_files(e.second, path, durable, out, visited);
      } else {
        out->push_back(path);
      }
    }
  }
};

namespace {

using State = FaultEnv::State;

class FaultFile final : public File {
 public:
  FaultFile(State* s, uint64_t ino, std::string path, bool writable) REQUIRES(s->mu)
      : s_(s), ino_(ino), path_(std::move(path)), epoch_(s->epoch), device_(s->device), writable_(writable) {
    s_->inodes.at(ino_).open_handles++;  // the caller holds the mutex
  }

  ~FaultFile() override {
    MutexLock l(s_->mu);
    if (epoch_ != s_->epoch) return;  // the inode table was rebuilt by a crash
    release_flock();
    auto it = s_->inodes.find(ino_);
    if (it != s_->inodes.end()) it->second.open_handles--;
  }

  size_t read(uint64_t offset, void* buf, size_t n) override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "read", path_);
    s_->begin_read("read", path_);
    const std::string& data = inode().data;
    if (offset >= data.size()) return 0;
    size_t got = std::min<uint64_t>(n, data.size() - offset);
    std::memcpy(buf, data.data() + offset, got);
    return got;
  }

  void write(uint64_t offset, const void* buf, size_t n) override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "write", path_);
    State::Op op(s_, "write", path_, s_->tracing ? extent(offset, n) : std::string());
    do_write(op, offset, static_cast<const char*>(buf), n);
  }

  void append(const void* buf, size_t n) override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "append", path_);
    uint64_t offset = inode().data.size();
    State::Op op(s_, "append", path_, s_->tracing ? extent(offset, n) : std::string());
    do_write(op, offset, static_cast<const char*>(buf), n);
  }

  void truncate(uint64_t size) override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "truncate", path_);
    State::Op op(s_, "truncate", path_, "size=" + std::to_string(size));
    op.inject();
    check_writable("truncate");
    Inode& ino = inode();
    if (s_->capacity && size > ino.data.size() && size - ino.data.size() > s_->room()) {
      fail(path_, "ftruncate to " + std::to_string(size) + " bytes: disk full", ENOSPC);
    }
    ino.data.resize(size, '\0');
    ino.pending.push_back(Pending{true, size, std::string()});
  }

  void sync() override { do_sync("sync"); }
  void datasync() override { do_sync("datasync"); }

  uint64_t size() override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "size", path_);
    s_->begin_read("size", path_);
    return inode().data.size();
  }

  const std::string& path() const override { return path_; }

  FileIdentity identity() override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "identity", path_);
    // Each crash (power cut or killed process) starts a new "device", so a
    // file reopened after it is never the same file as a dead handle's (as
    // a test's leftover HDF5 state of the dead run would otherwise share it).
    return FileIdentity{device_, ino_, true};
  }

  // flock semantics, per File; not a counted operation (like a read).
  bool try_lock(LockKind kind) override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "try_lock", path_);
    const bool exclusive = kind == LockKind::Exclusive;
    release_flock();  // a conversion, as flock does (not atomic there either)
    LockState& ls = s_->flocks[ino_];
    bool free = exclusive ? (!ls.exclusive && ls.shared == 0) : !ls.exclusive;
    if (!free) {
      if (!ls.exclusive && ls.shared == 0) s_->flocks.erase(ino_);
      return false;
    }
    if (exclusive)
      ls.exclusive = true;
    else
      ls.shared++;
    flock_ = exclusive ? 2 : 1;
    return true;
  }

  void unlock() override {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, "unlock", path_);
    release_flock();
  }

 private:
  Inode& inode() REQUIRES(s_->mu) { return s_->inodes.at(ino_); }

  void release_flock() REQUIRES(s_->mu) {
    if (flock_ == 0) return;
    auto it = s_->flocks.find(ino_);
    if (it != s_->flocks.end()) {
      if (flock_ == 2)
        it->second.exclusive = false;
      else
        it->second.shared--;
      if (!it->second.exclusive && it->second.shared == 0) s_->flocks.erase(it);
    }
    flock_ = 0;
  }

  void check_writable(const char* op) {
    if (!writable_) fail(path_, std::string(op) + " on a file opened read-only", EBADF);
  }

  void do_write(const State::Op& op, uint64_t offset, const char* p, size_t n) REQUIRES(s_->mu) {
    if (op.has_fault()) {
      size_t part = std::min(op.partial_bytes(), n);
      if (part > 0 && writable_) record_write(offset, p, part);
      op.throw_fault();
    }
    check_writable("write");
    if (s_->capacity) {
      // A full disk: write what fits (a short write), then ENOSPC.
      uint64_t limit = inode().data.size() + s_->room();  // the file may grow up to here
      if (offset + n > limit) {
        size_t fits = offset < limit ? static_cast<size_t>(limit - offset) : 0;
        if (fits > 0) record_write(offset, p, fits);
        fail(path_,
             "write of " + std::to_string(n) + " bytes at offset " + std::to_string(offset) +
                 ": disk full after " + std::to_string(fits) + " bytes",
             ENOSPC);
      }
    }
    record_write(offset, p, n);
  }

  void record_write(uint64_t offset, const char* p, size_t n) REQUIRES(s_->mu) {
    Inode& ino = inode();
    apply_write(ino.data, offset, p, n);
    ino.pending.push_back(Pending{false, offset, std::string(p, n)});
  }

  void do_sync(const char* name) {
    MutexLock l(s_->mu);
    s_->check_epoch(epoch_, name, path_);
    State::Op op(s_, name, path_, "");
    Inode& ino = inode();
    if (op.has_fault()) {
      // fsyncgate: the kernel dropped the dirty pages' error state; what was
      // pending will never reach the disk through this or a later sync.
      ino.pending.clear();
      op.throw_fault();
    }
    for (const auto& p : ino.pending) apply_pending(ino.durable, p);
    ino.pending.clear();
  }

  State* s_;
  uint64_t ino_;
  std::string path_;
  uint64_t epoch_;
  uint64_t device_;
  bool writable_;
  int flock_ GUARDED_BY(s_->mu) = 0;  // 0 none, 1 shared, 2 exclusive
};

class FaultLock final : public FileLock {
 public:
  FaultLock(State* s, uint64_t ino, bool exclusive)
      : s_(s), ino_(ino), epoch_(s->epoch), exclusive_(exclusive) {}

  ~FaultLock() override {
    MutexLock l(s_->mu);
    if (epoch_ != s_->epoch) return;  // released by the crash
    auto it = s_->locks.find(ino_);
    if (it == s_->locks.end()) return;
    if (exclusive_) {
      it->second.exclusive = false;
    } else {
      it->second.shared--;
    }
    if (!it->second.exclusive && it->second.shared == 0) s_->locks.erase(it);
    s_->cv.notify_all();
  }

 private:
  State* s_;
  uint64_t ino_;
  uint64_t epoch_;
  bool exclusive_;
};

}  // namespace

FaultEnv::FaultEnv() : s_(new State) {
  s_->clock = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

FaultEnv::~FaultEnv() = default;

std::unique_ptr<File> FaultEnv::open(const std::string& path, OpenMode mode) {
  MutexLock l(s_->mu);
  State::Op op(s_.get(), "open", path, mode_name(mode));
  op.inject();
  const std::string what = std::string("open (") + mode_name(mode) + ")";
  State::Slot slot = s_->slot(path, what, EISDIR);
  uint64_t ino = slot.ino;
  if (ino != 0) {
    Inode& node = s_->inodes.at(ino);
    if (node.is_dir) fail(path, what, EISDIR);
    if (mode == OpenMode::CreateNew) fail(path, what, EEXIST);
    if (mode == OpenMode::CreateTrunc) {
      node.data.clear();
      node.pending.push_back(Pending{true, 0, std::string()});
    }
  } else {
    if (mode == OpenMode::ReadOnly || mode == OpenMode::ReadWrite) fail(path, what, ENOENT);
    ino = s_->new_inode(false);
    s_->set_entry(op.index(), slot.dir, slot.name, ino);
  }
  return std::unique_ptr<File>(new FaultFile(s_.get(), ino, path, mode != OpenMode::ReadOnly));
}

bool FaultEnv::exists(const std::string& path) {
  MutexLock l(s_->mu);
  s_->begin_read("exists", path);
  return s_->lookup(path) != 0;
}

bool FaultEnv::is_directory(const std::string& path) {
  MutexLock l(s_->mu);
  s_->begin_read("is_directory", path);
  uint64_t ino = s_->lookup(path);
  return ino != 0 && s_->inodes.at(ino).is_dir;
}

uint64_t FaultEnv::file_size(const std::string& path) {
  MutexLock l(s_->mu);
  s_->begin_read("file_size", path);
  const Inode& node = s_->inodes.at(s_->resolve(path, "stat"));
  return node.is_dir ? 0 : node.data.size();
}

std::string FaultEnv::file_identity(const std::string& path) {
  MutexLock l(s_->mu);
  s_->begin_read("file_identity", path);
  return "0:" + std::to_string(s_->resolve(path, "stat"));
}

void FaultEnv::remove_file(const std::string& path) {
  MutexLock l(s_->mu);
  State::Op op(s_.get(), "remove_file", path, "");
  op.inject();
  const char* what = "unlink";
  State::Slot slot = s_->slot(path, what, EISDIR);
  if (slot.ino == 0) fail(path, what, ENOENT);
  if (s_->inodes.at(slot.ino).is_dir) fail(path, what, EISDIR);
  s_->set_entry(op.index(), slot.dir, slot.name, 0);
}

void FaultEnv::rename(const std::string& from, const std::string& to) {
  MutexLock l(s_->mu);
  State::Op op(s_.get(), "rename", from, "to " + to);
  op.inject();
  const std::string what = "rename to " + to;
  State::Slot src = s_->slot(from, what, EBUSY);
  if (src.ino == 0) fail(from, what, ENOENT);
  State::Slot dst = s_->slot(to, what, EBUSY);
  const bool is_dir = s_->inodes.at(src.ino).is_dir;
  if (is_dir) {  // not into its own subtree
    auto from_comps = split_path(from);
    auto to_comps = split_path(to);
    if (to_comps.size() > from_comps.size() &&
        std::equal(from_comps.begin(), from_comps.end(), to_comps.begin())) {
      fail(from, what, EINVAL);
    }
  }
  if (dst.ino != 0) {
    if (dst.ino == src.ino) return;  // same file: nothing to do
    const Inode& victim = s_->inodes.at(dst.ino);
    if (victim.is_dir && !is_dir) fail(from, what, EISDIR);
    if (!victim.is_dir && is_dir) fail(from, what, ENOTDIR);
    if (victim.is_dir && !victim.entries.empty()) fail(from, what, ENOTEMPTY);
    ++s_->removed_since_gc;
  }
  s_->set_entry(op.index(), dst.dir, dst.name, src.ino);
  s_->set_entry(op.index(), src.dir, src.name, 0);
}

void FaultEnv::create_dir(const std::string& path) {
  MutexLock l(s_->mu);
  State::Op op(s_.get(), "create_dir", path, "");
  op.inject();
  const char* what = "mkdir";
  State::Slot slot = s_->slot(path, what, EEXIST);
  if (slot.ino != 0) fail(path, what, EEXIST);
  s_->set_entry(op.index(), slot.dir, slot.name, s_->new_inode(true));
}

void FaultEnv::remove_dir(const std::string& path) {
  MutexLock l(s_->mu);
  State::Op op(s_.get(), "remove_dir", path, "");
  op.inject();
  const char* what = "rmdir";
  State::Slot slot = s_->slot(path, what, EBUSY);
  if (slot.ino == 0) fail(path, what, ENOENT);
  const Inode& node = s_->inodes.at(slot.ino);
  if (!node.is_dir) fail(path, what, ENOTDIR);
  if (!node.entries.empty()) fail(path, what, ENOTEMPTY);
  s_->set_entry(op.index(), slot.dir, slot.name, 0);
}

std::vector<std::string> FaultEnv::list_dir(const std::string& path) {
  MutexLock l(s_->mu);
  s_->begin_read("list_dir", path);
  const Inode& node = s_->inodes.at(s_->resolve(path, "opendir"));
  if (!node.is_dir) fail(path, "opendir", ENOTDIR);
  std::vector<std::string> names;
  for (const auto& e : node.entries) names.push_back(e.first);  // std::map: sorted
  return names;
}

void FaultEnv::sync_dir(const std::string& path) {
  MutexLock l(s_->mu);
  State::Op op(s_.get(), "sync_dir", path, "");
  op.inject();
  const char* what = "open directory for fsync";
  uint64_t ino = s_->resolve(path, what);
  Inode& node = s_->inodes.at(ino);
  if (!node.is_dir) fail(path, what, ENOTDIR);
  node.durable_entries = node.entries;
  auto& log = s_->dir_log;
  log.erase(std::remove_if(log.begin(), log.end(), [ino](const DirChange& c) { return c.dir == ino; }),
            log.end());
  if (s_->removed_since_gc > 64) s_->collect_garbage();
}

std::unique_ptr<FileLock> FaultEnv::lock_file(const std::string& path, LockKind kind,
                                              std::chrono::milliseconds timeout) {
  MutexLock l(s_->mu);
  const bool exclusive = kind == LockKind::Exclusive;
  State::Op op(s_.get(), "lock_file", path, exclusive ? "exclusive" : "shared");
  op.inject();
  const char* what = "open for locking";
  State::Slot slot = s_->slot(path, what, EISDIR);
  uint64_t ino = slot.ino;
  if (ino == 0) {  // created, like open(Create)
    ino = s_->new_inode(false);
    s_->set_entry(op.index(), slot.dir, slot.name, ino);
  } else if (s_->inodes.at(ino).is_dir) {
    fail(path, what, EISDIR);
  }

  const uint64_t epoch = s_->epoch;
  const auto deadline = std::chrono::steady_clock::now() + std::max(timeout, std::chrono::milliseconds(0));
  for (;;) {
    s_->check_epoch(epoch, "lock_file", path);
    LockState& ls = s_->locks[ino];
    bool free = exclusive ? (!ls.exclusive && ls.shared == 0) : !ls.exclusive;
    if (free) {
      if (exclusive) {
        ls.exclusive = true;
      } else {
        ls.shared++;
      }
      return std::unique_ptr<FileLock>(new FaultLock(s_.get(), ino, exclusive));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw BusyError(path,
                      std::string("cannot take ") + (exclusive ? "exclusive" : "shared") + " lock within " +
                          duration_text(timeout) + ": " + (ls.exclusive ? "an exclusive" : "a shared") +
                          " lock is held by another process or handle",
                      EAGAIN);
    }
    s_->cv.wait_until(l, deadline);
  }
}

uint64_t FaultEnv::now_micros() {
  MutexLock l(s_->mu);
  s_->check_alive("now_micros", "");
  return ++s_->clock;
}

void FaultEnv::sleep_micros(uint64_t micros) {
  {
    MutexLock l(s_->mu);
    s_->check_alive("sleep_micros", "");
    s_->clock += micros;
  }
  std::this_thread::sleep_for(std::chrono::microseconds(std::min<uint64_t>(micros, 1000)));
}

CrashStats FaultEnv::crash() {
  CrashOptions options;
  {
    MutexLock l(s_->mu);
    options = s_->crash_options;
  }
  return crash(options);
}

CrashStats FaultEnv::crash(const CrashOptions& options) {
  State& s = *s_;
  MutexLock l(s.mu);
  CrashStats stats;
  std::mt19937_64 rng(options.seed);
  std::bernoulli_distribution keep(options.keep_probability);
  std::bernoulli_distribution coin(0.5);
  const bool random = options.keep_random_unsynced;

  // File data: drop (or in random mode: keep a subset of, maybe torn) every
  // pending change. std::map iterates in inode order: deterministic per seed.
  for (auto& kv : s.inodes) {
    Inode& ino = kv.second;
    if (ino.is_dir) continue;
    for (const auto& p : ino.pending) {
      stats.pending_file_changes++;
      if (!random || !keep(rng)) continue;
      stats.kept_file_changes++;
      const uint64_t end = p.offset + p.bytes.size();
      const bool multi_sector =
          !p.truncate && !p.bytes.empty() && p.offset / kSectorSize != (end - 1) / kSectorSize;
      if (!options.tear_sectors || !multi_sector || !coin(rng)) {
        apply_pending(ino.durable, p);
        continue;
      }
      size_t landed = 0, dropped = 0;
      for (uint64_t pos = p.offset; pos < end;) {
        uint64_t next = std::min(end, (pos / kSectorSize + 1) * kSectorSize);
        if (coin(rng)) {
          apply_write(ino.durable, pos, p.bytes.data() + (pos - p.offset), next - pos);
          landed++;
        } else {
          dropped++;
        }
        pos = next;
      }
      if (landed == 0) {
        stats.kept_file_changes--;  // no sector landed: the write was dropped
      } else if (dropped > 0) {
        stats.torn_writes++;
      }
    }
    ino.pending.clear();
    ino.data = ino.durable;
    ino.open_handles = 0;
  }

  // Directories: keep nothing, or a random prefix of the unsynced changes.
  std::vector<uint64_t> op_order;  // distinct operations, in log order
  for (const auto& c : s.dir_log) {
    if (op_order.empty() || op_order.back() != c.op) op_order.push_back(c.op);
  }
  stats.dir_changes = op_order.size();
  if (random && !op_order.empty()) {
    std::uniform_int_distribution<size_t> prefix(0, op_order.size());
    size_t kept = prefix(rng);
    stats.kept_dir_changes = kept;
    std::set<uint64_t> kept_ops(op_order.begin(), op_order.begin() + kept);
    for (const auto& c : s.dir_log) {
      if (!kept_ops.count(c.op)) continue;
      auto& entries = s.inodes.at(c.dir).durable_entries;
      if (c.target) {
        entries[c.name] = c.target;
      } else {
        entries.erase(c.name);
      }
    }
  }
  s.dir_log.clear();
  for (auto& kv : s.inodes) {
    if (kv.second.is_dir) kv.second.entries = kv.second.durable_entries;
  }
  s.collect_garbage();  // what the durable tree cannot reach is gone

  s.locks.clear();
  s.flocks.clear();
  s.epoch++;
  s.device = new_device();
  s.dead = false;
  s.crash_after_set = false;
  s.add_trace("crash: kept " + std::to_string(stats.kept_file_changes) + "/" +
              std::to_string(stats.pending_file_changes) + " file changes (" +
              std::to_string(stats.torn_writes) + " torn), " + std::to_string(stats.kept_dir_changes) + "/" +
              std::to_string(stats.dir_changes) + " directory operations");
  s.cv.notify_all();
  return stats;
}

void FaultEnv::kill_process() {
  State& s = *s_;
  MutexLock l(s.mu);
  for (auto& kv : s.inodes) kv.second.open_handles = 0;
  s.locks.clear();
  s.flocks.clear();
  s.epoch++;
  s.device = new_device();
  s.dead = false;
  s.crash_after_set = false;
  s.add_trace("process killed: file system state kept");
  s.cv.notify_all();
}

std::unique_ptr<FaultEnv> FaultEnv::clone() const {
  std::unique_ptr<FaultEnv> copy(new FaultEnv);
  State& from = *s_;
  MutexLock l(from.mu);
  State& to = *copy->s_;
  MutexLock l2(to.mu);  // nobody else has the copy yet
  to.inodes = from.inodes;
  for (auto& kv : to.inodes) kv.second.open_handles = 0;
  to.next_inode = from.next_inode;
  to.dir_log = from.dir_log;
  to.removed_since_gc = from.removed_since_gc;
  to.ops = from.ops;
  to.reads = from.reads;
  to.crash_after_set = from.crash_after_set;
  to.crash_after = from.crash_after;
  to.dead = from.dead;
  to.dead_after = from.dead_after;
  to.faults = from.faults;
  to.read_faults = from.read_faults;
  to.crash_options = from.crash_options;
  to.capacity = from.capacity;
  to.tracing = from.tracing;
  to.clock = from.clock;
  to.epoch = from.epoch;
  return copy;
}

void FaultEnv::set_disk_capacity(uint64_t bytes) {
  MutexLock l(s_->mu);
  s_->capacity = bytes;
}

uint64_t FaultEnv::used_bytes() const {
  MutexLock l(s_->mu);
  return s_->used_bytes();
}

void FaultEnv::set_crash_options(const CrashOptions& options) {
  MutexLock l(s_->mu);
  s_->crash_options = options;
}

void FaultEnv::crash_after(uint64_t op) {
  MutexLock l(s_->mu);
  s_->crash_after_set = true;
  s_->crash_after = op;
  if (s_->ops >= op && !s_->dead) s_->die(s_->ops);
}

void FaultEnv::on_death(std::function<void(const std::string& image)> hook) {
  MutexLock l(s_->mu);
  s_->death_hook = std::move(hook);
}

std::string FaultEnv::image() const {
  MutexLock l(s_->mu);
  return s_->image();
}

std::unique_ptr<FaultEnv> FaultEnv::from_image(const std::string& image) {
  std::unique_ptr<FaultEnv> env(new FaultEnv);
  MutexLock l(env->s_->mu);
  env->s_->load_image(image);
  return env;
}

// ---- image: a flat little-endian encoding of State, for crash children ----

namespace {

constexpr char kImageMagic[8] = {'F', 'E', 'N', 'V', 'I', 'M', 'G', '1'};

class ImageWriter {
 public:
  void u64(uint64_t v) {
    char b[8];
    for (int i = 0; i < 8; i++) b[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    out.append(b, 8);
  }
  void str(const std::string& v) {
    u64(v.size());
    out += v;
  }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    u64(bits);
  }
  std::string out;
};

class ImageReader {
 public:
  explicit ImageReader(const std::string& in) : in_(in) {}
  uint64_t u64() {
    need(8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= uint64_t(static_cast<unsigned char>(in_[pos_ + i])) << (8 * i);
    pos_ += 8;
    return v;
  }
  std::string str() {
    uint64_t n = u64();
    need(n);
    std::string v = in_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  double f64() {
    uint64_t bits = u64();
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  void need(uint64_t n) const {
    if (n > in_.size() - pos_) throw std::runtime_error("FaultEnv image is truncated");
  }
  const std::string& in_;
  size_t pos_ = 0;
};

void put_entries(ImageWriter& w, const std::map<std::string, uint64_t>& m) {
  w.u64(m.size());
  for (const auto& e : m) {
    w.str(e.first);
    w.u64(e.second);
  }
}

std::map<std::string, uint64_t> get_entries(ImageReader& r) {
  std::map<std::string, uint64_t> m;
  for (uint64_t n = r.u64(); n > 0; n--) {
    std::string name = r.str();
    m[name] = r.u64();
  }
  return m;
}

}  // namespace

std::string FaultEnv::State::image() const {
  ImageWriter w;
  w.out.append(kImageMagic, sizeof kImageMagic);
  w.u64(next_inode);
  w.u64(removed_since_gc);
  w.u64(epoch);
  w.u64(ops);
  w.u64(reads);
  w.u64(capacity);
  w.u64(clock);
  w.u64(crash_options.keep_random_unsynced);
  w.u64(crash_options.seed);
  w.u64(crash_options.tear_sectors);
  w.f64(crash_options.keep_probability);
  w.u64(tracing);
  w.u64(trace.size());
  for (const auto& line : trace) w.str(line);
  w.u64(inodes.size());
  for (const auto& kv : inodes) {
    const Inode& n = kv.second;
    w.u64(kv.first);
    w.u64(n.is_dir);
    w.str(n.data);
    w.str(n.durable);
    w.u64(n.pending.size());
    for (const auto& p : n.pending) {
      w.u64(p.truncate);
      w.u64(p.offset);
      w.str(p.bytes);
    }
    put_entries(w, n.entries);
    put_entries(w, n.durable_entries);
  }
  w.u64(dir_log.size());
  for (const auto& c : dir_log) {
    w.u64(c.op);
    w.u64(c.dir);
    w.str(c.name);
    w.u64(c.target);
  }
  return std::move(w.out);
}

void FaultEnv::State::load_image(const std::string& b) {
  if (b.size() < sizeof kImageMagic || b.compare(0, sizeof kImageMagic, kImageMagic, sizeof kImageMagic) != 0)
    throw std::runtime_error("not a FaultEnv image");
  std::string body = b.substr(sizeof kImageMagic);
  ImageReader r(body);
  next_inode = r.u64();
  removed_since_gc = r.u64();
  epoch = r.u64();
  ops = r.u64();
  reads = r.u64();
  capacity = r.u64();
  clock = r.u64();
  crash_options.keep_random_unsynced = r.u64() != 0;
  crash_options.seed = r.u64();
  crash_options.tear_sectors = r.u64() != 0;
  crash_options.keep_probability = r.f64();
  tracing = r.u64() != 0;
  trace.clear();
  for (uint64_t n = r.u64(); n > 0; n--) trace.push_back(r.str());
  inodes.clear();
  for (uint64_t n = r.u64(); n > 0; n--) {
    uint64_t id = r.u64();
    Inode& node = inodes[id];
    node.is_dir = r.u64() != 0;
    node.data = r.str();
    node.durable = r.str();
    for (uint64_t m = r.u64(); m > 0; m--) {
      Pending p;
      p.truncate = r.u64() != 0;
      p.offset = r.u64();
      p.bytes = r.str();
      node.pending.push_back(std::move(p));
    }
    node.entries = get_entries(r);
    node.durable_entries = get_entries(r);
  }
  dir_log.clear();
  for (uint64_t n = r.u64(); n > 0; n--) {
    DirChange c;
    c.op = r.u64();
    c.dir = r.u64();
    c.name = r.str();
    c.target = r.u64();
    dir_log.push_back(std::move(c));
  }
  if (!r.done() || !inodes.count(kRoot)) throw std::runtime_error("FaultEnv image is malformed");
}

bool FaultEnv::dead() const {
  MutexLock l(s_->mu);
  return s_->dead;
}

void FaultEnv::fail_at(uint64_t op, int err, size_t partial_bytes) {
  MutexLock l(s_->mu);
  s_->faults[op] = Fault{err, partial_bytes};
}

void FaultEnv::fail_read_at(uint64_t read, int err) {
  MutexLock l(s_->mu);
  s_->read_faults[read] = err;
}

void FaultEnv::clear_faults() {
  MutexLock l(s_->mu);
  s_->faults.clear();
  s_->read_faults.clear();
}

uint64_t FaultEnv::op_count() const {
  MutexLock l(s_->mu);
  return s_->ops;
}

uint64_t FaultEnv::read_count() const {
  MutexLock l(s_->mu);
  return s_->reads;
}

bool FaultEnv::durably_exists(const std::string& path) const {
  MutexLock l(s_->mu);
  auto comps = split_path(path);
  return s_->walk(comps, comps.size(), true) != 0;
}

std::string FaultEnv::durable_contents(const std::string& path) const {
  MutexLock l(s_->mu);
  auto comps = split_path(path);
  uint64_t ino = s_->walk(comps, comps.size(), true);
  if (ino == 0) throw NotFoundError(path, "no durable directory entry (lost in a crash)", ENOENT);
  const Inode& node = s_->inodes.at(ino);
  if (node.is_dir) throw IoError(path, "is a directory", EISDIR);
  return node.durable;
}

std::vector<std::string> FaultEnv::list_files() const {
  MutexLock l(s_->mu);
  std::vector<std::string> out;
  std::set<uint64_t> visited;
  s_->list_files(kRoot, "", false, &out, &visited);
  return out;
}

std::vector<std::string> FaultEnv::list_durable_files() const {
  MutexLock l(s_->mu);
  std::vector<std::string> out;
  std::set<uint64_t> visited;
  s_->list_files(kRoot, "", true, &out, &visited);
  return out;
}

size_t FaultEnv::inode_count() const {
  MutexLock l(s_->mu);
  return s_->inodes.size();
}

void FaultEnv::set_trace(bool on) {
  MutexLock l(s_->mu);
  s_->tracing = on;
}

std::vector<std::string> FaultEnv::trace() const {
  MutexLock l(s_->mu);
  return s_->trace;
}

std::string FaultEnv::trace_text() const {
  std::string text;
  for (const auto& line : trace()) text += line + "\n";
  return text;
}

}  // namespace testing
}  // namespace h5tx
