// h5tx_mw_child: a small program that tests/store_multiwriter_lock_test.cpp
// runs (fork/exec) as a writer or reader process of one redo store, so the
// processes are real ones with nothing inherited from the test's own
// HDF5 or threads. Modes (exit status 0 on success, 1 on a failed check, 2
// on an unexpected error, 3 AlreadyExists, 4 Busy):
//
//   writer HOME LEDGER FIRST COUNT   transactions FIRST..FIRST+COUNT-1: each
//        writes slot chunk {i} of /log and of /log2 with value i+1 and both
//        chunks of /pair with i+1 (blind writes), then appends "i txid\n" to
//        LEDGER once commit() returned
//   reader HOME STOPFILE             until STOPFILE exists: every snapshot
//        reads /pair (its two chunks must be equal and uniform), snapshots
//        never go back; prints the number of snapshots checked
//   incr HOME LEDGER COUNT           COUNT read-modify-write increments of
//        /ctr chunk {0} (retried on ConflictError); appends "value txid\n"
//   create HOME GOFILE               waits for GOFILE, then Store::create
//   victim HOME LEDGER COUNT MARKER  commits COUNT transactions (as writer),
//        writes MARKER.ready, waits for MARKER.go, then flushes: the first
//        sync of a data file writes MARKER and blocks forever (the test
//        SIGKILLs it there, inside the flush batch)
//   archiver HOME LEDGER COUNT MARKER  as victim, but it blocks at the first
//        rename into HOME/archive/ (its batch applied and renamed _flushed,
//        a retention slot needing it), not at a data file sync
//   failer HOME LEDGER COUNT MARKER  as victim, but the sync fails (EIO): the
//        flush throws; writes MARKER.failed, stays open until MARKER.finish
//   room HOME LEDGER FIRST           commits (backpressure limit 2,
//        lock_timeout 1 s) until BusyError, printed on stdout (exit 4)
//   holder HOME LEDGER COUNT MARKER  takes the flusher role, commits COUNT
//        more unflushed, touches MARKER, waits forever
//   idle HOME MARKER                 opens, touches MARKER, waits forever
//   joiner HOME LEDGER FIRST COUNT MARKER  opens (next to the victim), writes
//        MARKER.joined, commits as writer, waits for MARKER.finish, flushes,
//        checks that nothing is left pending, closes
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"

using namespace h5tx;

namespace {

constexpr uint64_t kChunk = 64;  // u32 elements per chunk

std::vector<uint8_t> filled(uint32_t v) {
  std::vector<uint32_t> w(kChunk, v);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(w.data());
  return std::vector<uint8_t>(p, p + w.size() * 4);
}

bool uniform(const std::vector<uint8_t>& b, uint32_t* v) {
  std::memcpy(v, b.data(), 4);
  for (size_t i = 0; i + 4 <= b.size(); i += 4)
    if (std::memcmp(b.data(), b.data() + i, 4) != 0) return false;
  return true;
}

bool exists(const std::string& p) {
  return ::access(p.c_str(), F_OK) == 0;
}

void touch(const std::string& p) {
  int fd = ::open(p.c_str(), O_WRONLY | O_CREAT, 0644);
  if (fd >= 0) ::close(fd);
}

void wait_for(const std::string& p) {
  while (!exists(p)) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) throw IoError(path, "cannot open the ledger");
  std::string l = line + "\n";
  if (::write(fd, l.data(), l.size()) != ssize_t(l.size())) {
    ::close(fd);
    throw IoError(path, "cannot write the ledger");
  }
  ::close(fd);
}

Options options() {
  Options o;
  o.mode = Mode::Redo;
  o.lock_timeout = std::chrono::seconds(30);
  o.max_unflushed_transactions = 16;
  o.flush_batch_transactions = 4;
  o.flush_delay = std::chrono::milliseconds(1);
  return o;
}

void write_one(Store& s, uint64_t i, const std::string& ledger) {
  TxOptions to;
  to.check_conflicts = false;  // blind writes: last committer wins
  auto tx = s.begin(to);
  auto v = filled(uint32_t(i + 1));
  tx.write_chunk("w.h5", "/log", {i}, v);
  tx.write_chunk("w.h5", "/pair", {0}, v);
  tx.write_chunk("w.h5", "/pair", {1}, v);
  tx.write_chunk("x.h5", "/log2", {i}, v);
  tx.commit();
  append_line(ledger, std::to_string(i) + " " + std::to_string(tx.txid()));
}

int writer(const std::string& home, const std::string& ledger, uint64_t first, uint64_t count) {
  auto s = Store::open(home, options());
  for (uint64_t i = first; i < first + count; i++) write_one(*s, i, ledger);
  s->close();
  return 0;
}

int reader(const std::string& home, const std::string& stop) {
  Options o;
  o.read_only = true;
  o.lock_timeout = std::chrono::seconds(30);
  auto s = Store::open(home, o);
  uint64_t last = 0, n = 0;
  while (!exists(stop)) {
    auto tx = s->begin();
    uint64_t snap = tx.snapshot();
    if (snap < last) {
      std::fprintf(stderr, "reader: snapshot went back from %llu to %llu\n", (unsigned long long)last,
                   (unsigned long long)snap);
      return 1;
    }
    last = snap;
    uint32_t a = 0, b = 0;
    bool ua = uniform(tx.read_chunk("w.h5", "/pair", {0}), &a);
    bool ub = uniform(tx.read_chunk("w.h5", "/pair", {1}), &b);
    if (!ua || !ub || a != b) {
      std::fprintf(stderr, "reader: snapshot %llu shows /pair chunks %u and %u (uniform %d %d)\n",
                   (unsigned long long)snap, a, b, int(ua), int(ub));
      return 1;
    }
    tx.abort();
    n++;
  }
  std::printf("%llu\n", (unsigned long long)n);
  return 0;
}

int incr(const std::string& home, const std::string& ledger, uint64_t count) {
  auto s = Store::open(home, options());
  for (uint64_t done = 0; done < count;) {
    auto tx = s->begin();
    uint32_t c = 0;
    if (!uniform(tx.read_chunk("c.h5", "/ctr", {0}), &c)) return 1;
    tx.write_chunk("c.h5", "/ctr", {0}, filled(c + 1));
    try {
      tx.commit();
    } catch (const ConflictError&) {
      continue;  // another process incremented first: read again
    }
    append_line(ledger, std::to_string(c + 1) + " " + std::to_string(tx.txid()));
    done++;
  }
  s->close();
  return 0;
}

int create(const std::string& home, const std::string& go) {
  wait_for(go);
  auto s = Store::create(home, options());
  s->close();
  return 0;
}

// The victim's Env: the first sync of a data file (inside a flush batch,
// after its undo journal is synced and the file written) writes the marker
// and never returns.
class StallFile : public File {
 public:
  StallFile(std::unique_ptr<File> f, std::string marker, bool fail)
      : f_(std::move(f)), marker_(std::move(marker)), fail_(fail) {}
  size_t read(uint64_t o, void* b, size_t n) override { return f_->read(o, b, n); }
  void write(uint64_t o, const void* b, size_t n) override { f_->write(o, b, n); }
  void append(const void* b, size_t n) override { f_->append(b, n); }
  void truncate(uint64_t n) override { f_->truncate(n); }
  void sync() override {
    stall();
    f_->sync();
  }
  void datasync() override {
    stall();
    f_->datasync();
  }
  void start_writeback(uint64_t o, uint64_t n) override { f_->start_writeback(o, n); }
  uint64_t size() override { return f_->size(); }
  const std::string& path() const override { return f_->path(); }
  FileIdentity identity() override { return f_->identity(); }
  bool try_lock(LockKind k) override { return f_->try_lock(k); }
  void unlock() override { f_->unlock(); }

 private:
  void stall() {
    if (fail_) throw IoError(f_->path(), "fsync failed (injected by h5tx_mw_child)", EIO);
    touch(marker_);
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::unique_ptr<File> f_;
  std::string marker_;
  bool fail_;
};

class StallEnv : public Env {
 public:
  // fail: the sync throws EIO instead of stalling. at_archive: no data file
  // sync stalls; the first rename into HOME/archive/ does (the batch is
  // applied, renamed _flushed and synced; a retention slot needs it).
  explicit StallEnv(std::string marker, bool fail = false, bool at_archive = false)
      : marker_(std::move(marker)), fail_(fail), at_archive_(at_archive) {}
  std::atomic<bool> armed{false};  // set by the main thread, read by the flusher thread
  std::unique_ptr<File> open(const std::string& p, OpenMode m) override {
    auto f = base_->open(p, m);
    if (armed && !at_archive_ && p.find("/data/") != std::string::npos && p.size() > 3 &&
        p.compare(p.size() - 3, 3, ".h5") == 0 && p.find("/data/.h5tx.") == std::string::npos)
      return std::make_unique<StallFile>(std::move(f), marker_, fail_);
    return f;
  }
  bool exists(const std::string& p) override { return base_->exists(p); }
  bool is_directory(const std::string& p) override { return base_->is_directory(p); }
  uint64_t file_size(const std::string& p) override { return base_->file_size(p); }
  std::string resolve_symlinks(const std::string& p) override { return base_->resolve_symlinks(p); }
  std::string file_identity(const std::string& p) override { return base_->file_identity(p); }
  void remove_file(const std::string& p) override { base_->remove_file(p); }
  void rename(const std::string& a, const std::string& b) override {
    if (armed && at_archive_ && b.find("/archive/") != std::string::npos) {
      touch(marker_);
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    base_->rename(a, b);
  }
  void create_dir(const std::string& p) override { base_->create_dir(p); }
  void remove_dir(const std::string& p) override { base_->remove_dir(p); }
  std::vector<std::string> list_dir(const std::string& p) override { return base_->list_dir(p); }
  void sync_dir(const std::string& p) override { base_->sync_dir(p); }
  std::unique_ptr<FileLock> lock_file(const std::string& p, LockKind k,
                                      std::chrono::milliseconds t) override {
    return base_->lock_file(p, k, t);
  }
  uint64_t now_micros() override { return base_->now_micros(); }
  void sleep_micros(uint64_t m) override { base_->sleep_micros(m); }

 private:
  Env* base_ = Env::posix();
  std::string marker_;
  bool fail_, at_archive_;
};

int victim(const std::string& home, const std::string& ledger, uint64_t count, const std::string& marker,
           bool at_archive = false) {
  StallEnv env(marker, false, at_archive);
  Options o = options();
  o.env = &env;
  o.flush_delay = std::chrono::hours(1);  // nothing flushes before flush()
  o.max_unflushed_transactions = 1000;
  o.flush_batch_transactions = 1000;
  auto s = Store::open(home, o);
  for (uint64_t i = 0; i < count; i++) write_one(*s, i, ledger);
  touch(marker + ".ready");
  wait_for(marker + ".go");
  env.armed = true;
  s->flush();  // stalls inside the batch
  return 2;
}

// As victim, but the data file's sync fails (EIO): the flush throws, the
// process writes MARKER.failed and stays open until MARKER.finish.
int failer(const std::string& home, const std::string& ledger, uint64_t count, const std::string& marker) {
  StallEnv env(marker, true);
  Options o = options();
  o.env = &env;
  o.flush_delay = std::chrono::hours(1);
  o.max_unflushed_transactions = 1000;
  o.flush_batch_transactions = 1000;
  auto s = Store::open(home, o);
  for (uint64_t i = 0; i < count; i++) write_one(*s, i, ledger);
  touch(marker + ".ready");
  wait_for(marker + ".go");
  env.armed = true;
  try {
    s->flush();
    return 1;  // the injected error did not surface
  } catch (const IoError&) {
  }
  touch(marker + ".failed");
  wait_for(marker + ".finish");
  try {
    s->close();
  } catch (const Error&) {
  }
  return 0;
}

// Commits with backpressure limits of 2 transactions and lock_timeout 1 s
// until a commit fails; prints its BusyError's message on stdout.
int room(const std::string& home, const std::string& ledger, uint64_t first) {
  Options o = options();
  o.lock_timeout = std::chrono::seconds(1);
  o.max_unflushed_transactions = 2;
  auto s = Store::open(home, o);
  for (uint64_t i = first;; i++) {
    try {
      write_one(*s, i, ledger);
    } catch (const BusyError& e) {
      std::printf("%s\n", e.what());
      return 4;
    }
  }
}

// Takes the flusher role (a commit and a flush), commits COUNT more that
// it leaves unflushed, touches MARKER, waits forever (the test SIGSTOPs it).
int holder(const std::string& home, const std::string& ledger, uint64_t count, const std::string& marker) {
  Options o = options();
  o.flush_delay = std::chrono::hours(1);
  o.max_unflushed_transactions = 1000;
  o.flush_batch_transactions = 1000;
  auto s = Store::open(home, o);
  write_one(*s, 0, ledger);
  s->flush();
  for (uint64_t i = 1; i <= count; i++) write_one(*s, i, ledger);
  touch(marker);
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

// Opens the store and waits (its flusher thread makes spare _temp
// directories meanwhile); touches MARKER once it is open.
int idle(const std::string& home, const std::string& marker) {
  auto s = Store::open(home, options());
  touch(marker);
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

int joiner(const std::string& home, const std::string& ledger, uint64_t first, uint64_t count,
           const std::string& marker) {
  Options o = options();
  o.flush_delay = std::chrono::hours(1);
  o.max_unflushed_transactions = 1000;
  o.flush_batch_transactions = 1000;
  auto s = Store::open(home, o);
  touch(marker + ".joined");
  for (uint64_t i = first; i < first + count; i++) write_one(*s, i, ledger);
  wait_for(marker + ".finish");
  s->flush();  // takes the flusher role from the dead victim
  // Nothing left pending: the victim is dead, so this process flushed (if
  // the victim had applied its batch before it died, there may have been
  // nothing left for it to apply).
  StoreStats st = s->stats();
  if (st.pending_transactions != 0) {
    std::fprintf(stderr, "joiner: %llu pending, %llu flushed by this process\n",
                 (unsigned long long)st.pending_transactions, (unsigned long long)st.flushed_transactions);
    return 1;
  }
  s->close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  try {
    if (a.size() == 5 && a[0] == "writer") return writer(a[1], a[2], std::stoull(a[3]), std::stoull(a[4]));
    if (a.size() == 3 && a[0] == "reader") return reader(a[1], a[2]);
    if (a.size() == 4 && a[0] == "incr") return incr(a[1], a[2], std::stoull(a[3]));
    if (a.size() == 3 && a[0] == "create") return create(a[1], a[2]);
    if (a.size() == 5 && a[0] == "victim") return victim(a[1], a[2], std::stoull(a[3]), a[4]);
    if (a.size() == 5 && a[0] == "archiver") return victim(a[1], a[2], std::stoull(a[3]), a[4], true);
    if (a.size() == 5 && a[0] == "failer") return failer(a[1], a[2], std::stoull(a[3]), a[4]);
    if (a.size() == 4 && a[0] == "room") return room(a[1], a[2], std::stoull(a[3]));
    if (a.size() == 5 && a[0] == "holder") return holder(a[1], a[2], std::stoull(a[3]), a[4]);
    if (a.size() == 3 && a[0] == "idle") return idle(a[1], a[2]);
    if (a.size() == 6 && a[0] == "joiner")
      return joiner(a[1], a[2], std::stoull(a[3]), std::stoull(a[4]), a[5]);
  } catch (const AlreadyExistsError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 3;
  } catch (const BusyError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 4;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  std::fprintf(stderr, "usage: see tests/mw_child.cpp\n");
  return 2;
}
