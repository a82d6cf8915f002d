// HOME/procs/ (flush/procs.hpp, formats/store-procs.md).
#include "flush/procs.hpp"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>

#include "h5tx/error.hpp"

namespace h5tx {
namespace procs {

namespace {

// "h5tx-snap 1 pid PPPPPPPPPP snapshot XXXXXXXXXXXXXXXX XXXXXXXXXXXXXXXX\n":
// the snapshot twice, so that a read torn by a concurrent rewrite (bytes
// before some offset new, after it old) shows as two different values.
constexpr size_t kRegistrationSize = 70;

bool hex16(const std::string& s, size_t at, uint64_t* v) {
  if (s.size() < at + 16) return false;
  uint64_t x = 0;
  for (size_t i = at; i < at + 16; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return false;
    x = x << 4 | uint64_t(d);
  }
  *v = x;
  return true;
}

bool has_suffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "h5tx-commit 1 next XXXXXXXXXXXXXXXX XXXXXXXXXXXXXXXX\n"
constexpr size_t kCounterSize = 53;

}  // namespace

uint64_t random_id(Env* env) {
  static std::atomic<uint64_t> counter{0};
  uint64_t x = env->now_micros() ^ (uint64_t(::getpid()) << 40) ^ (++counter * 0x9E3779B97F4A7C15ull);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

std::string encode_counter(uint64_t next_txid) {
  char buf[kCounterSize + 1];
  std::snprintf(buf, sizeof buf, "h5tx-commit 1 next %016" PRIx64 " %016" PRIx64 "\n", next_txid, next_txid);
  return std::string(buf, kCounterSize);
}

bool decode_counter(const std::string& text, uint64_t* next_txid) {
  if (text.size() != kCounterSize || text.compare(0, 19, "h5tx-commit 1 next ") != 0 || text[35] != ' ' ||
      text[52] != '\n')
    return false;
  uint64_t a, b;
  if (!hex16(text, 19, &a) || !hex16(text, 36, &b) || a != b || a == 0) return false;
  *next_txid = a;
  return true;
}

std::unique_ptr<CommitSection> CommitSection::enter(Env* env, const std::string& procs_dir,
                                                    std::chrono::milliseconds timeout) {
  std::unique_ptr<CommitSection> s(new CommitSection);
  {
    // Whoever waits holds the intent, so the holder, coming back for the
    // next group, waits behind it (no process starves the others).
    std::unique_ptr<FileLock> intent =
        env->lock_file(path_join(procs_dir, kCommitIntent), LockKind::Exclusive, timeout);
    s->lock_ = env->lock_file(path_join(procs_dir, kCommitLock), LockKind::Exclusive, timeout);
  }
  s->file_ = env->open(path_join(procs_dir, kCommitLock), OpenMode::Create);
  return s;
}

uint64_t CommitSection::next() {
  std::string text(kCounterSize + 1, '\0');
  text.resize(file_->read(0, &text[0], text.size()));
  uint64_t v = 0;
  return decode_counter(text, &v) ? v : 0;
}

void CommitSection::set_next(uint64_t next_txid) {
  std::string text = encode_counter(next_txid);
  file_->write(0, text.data(), text.size());
}

namespace {
constexpr size_t kFlusherSize = 30;  // "h5tx-flusher 1 pid PPPPPPPPPP\n"
}

std::string encode_flusher(uint64_t pid) {
  char buf[kFlusherSize + 1];
  std::snprintf(buf, sizeof buf, "h5tx-flusher 1 pid %010" PRIu64 "\n", uint64_t(pid % 10000000000ull));
  return std::string(buf, kFlusherSize);
}

bool decode_flusher(const std::string& text, uint64_t* pid) {
  if (text.size() != kFlusherSize || text.compare(0, 19, "h5tx-flusher 1 pid ") != 0 || text[29] != '\n')
    return false;
  uint64_t p = 0;
  for (size_t i = 19; i < 29; i++) {
    if (text[i] < '0' || text[i] > '9') return false;
    p = p * 10 + uint64_t(text[i] - '0');
  }
  *pid = p;
  return true;
}

void write_flusher_pid(Env* env, const std::string& procs_dir) {
  std::string text = encode_flusher(uint64_t(::getpid()));
  env->open(path_join(procs_dir, kFlusherLock), OpenMode::ReadWrite)->write(0, text.data(), text.size());
}

std::string flusher_holder(Env* env, const std::string& procs_dir) {
  if (try_flusher_role(env, procs_dir)) return "";  // free (let go of at once)
  std::string text;
  try {
    text = env->read_all(path_join(procs_dir, kFlusherLock), 4096);
  } catch (const Error&) {
  }
  uint64_t pid = 0;
  if (!decode_flusher(text, &pid)) return "another process (procs/flusher names none)";
  return "process " + std::to_string(pid);
}

uint64_t owner_tag(uint64_t registration_id) {
  return registration_id % ((uint64_t(1) << 30) - 1) + 1;
}

uint64_t tag_of_temp(uint64_t temp_id) {
  return temp_id >> 32;
}

std::unique_ptr<FileLock> try_flusher_role(Env* env, const std::string& procs_dir) {
  try {
    return env->lock_file(path_join(procs_dir, kFlusherLock), LockKind::Exclusive,
                          std::chrono::milliseconds(0));
  } catch (const BusyError&) {
    return nullptr;
  }
}

std::string encode_registration(uint64_t pid, uint64_t snapshot) {
  char buf[kRegistrationSize + 1];
  std::snprintf(buf, sizeof buf, "h5tx-snap 1 pid %010" PRIu64 " snapshot %016" PRIx64 " %016" PRIx64 "\n",
                uint64_t(pid % 10000000000ull), snapshot, snapshot);
  return std::string(buf, kRegistrationSize);
}

bool decode_registration(const std::string& text, uint64_t* pid, uint64_t* snapshot) {
  if (text.size() != kRegistrationSize || text.compare(0, 16, "h5tx-snap 1 pid ") != 0 ||
      text.compare(26, 10, " snapshot ") != 0 || text[52] != ' ' || text[69] != '\n')
    return false;
  uint64_t p = 0;
  for (size_t i = 16; i < 26; i++) {
    if (text[i] < '0' || text[i] > '9') return false;
    p = p * 10 + uint64_t(text[i] - '0');
  }
  uint64_t a, b;
  if (!hex16(text, 36, &a) || !hex16(text, 53, &b) || a != b) return false;
  *pid = p;
  *snapshot = a;
  return true;
}

bool parse_registration_name(const std::string& name, const char* prefix, uint64_t* id) {
  const size_t n = std::string(prefix).size();
  if (name.compare(0, n, prefix) != 0) return false;
  if (name.size() != n + 16 &&
      !(name.size() == n + 16 + std::string(kTmpSuffix).size() && has_suffix(name, kTmpSuffix)))
    return false;
  return hex16(name, n, id);
}

std::unique_ptr<Registration> Registration::create(Env* env, const std::string& procs_dir,
                                                   const char* prefix) {
  for (int attempt = 0;; attempt++) {
    char name[32];
    const uint64_t id = random_id(env);
    std::snprintf(name, sizeof name, "%s%016" PRIx64, prefix, id);
    std::string path = path_join(procs_dir, name);
    std::string tmp = path + kTmpSuffix;
    try {
      std::unique_ptr<Registration> r(new Registration);
      r->env_ = env;
      r->path_ = path;
      r->id_ = id;
      // A writer's sweep removes an unlocked file, also a .tmp between its
      // creation and our lock: then the open or the rename below fails and
      // we start again under a new name.
      r->lock_ = env->lock_file(tmp, LockKind::Exclusive, std::chrono::milliseconds(0));
      std::unique_ptr<File> f = env->open(tmp, OpenMode::ReadWrite);
      std::string text = encode_registration(uint64_t(::getpid()), kNoSnapshot);
      f->write(0, text.data(), text.size());
      env->rename(tmp, path);
      MutexLock l(r->mu_);
      r->file_ = std::move(f);
      return r;
    } catch (const Error& e) {
      // Only a sweep (the file gone, or its lock taken by the sweeper) is
      // worth another name; an I/O error is reported.
      bool swept = e.code() == ErrorCode::NotFound || e.code() == ErrorCode::Busy;
      try {
        if (env->exists(tmp)) env->remove_file(tmp);
      } catch (const Error&) {
      }
      if (!swept || attempt >= 4) throw;
    }
  }
}

void Registration::close() {
  MutexLock l(mu_);
  if (removed_) return;
  removed_ = true;
  file_.reset();
  env_->remove_file(path_);  // still locked: no sweep can mistake it meanwhile
}

Registration::~Registration() {
  try {
    close();
  } catch (const Error&) {
    // Left behind: the next sweep finds its lock free and removes it.
  }
  lock_.reset();
}

void Registration::set(uint64_t snapshot) {
  MutexLock l(mu_);
  std::string text = encode_registration(uint64_t(::getpid()), snapshot);
  file_->write(0, text.data(), text.size());
}

uint64_t oldest_registered(Env* env, const std::string& procs_dir, size_t* live, const char* prefix,
                           const std::string& skip, size_t* dead) {
  uint64_t oldest = kNoSnapshot;
  size_t n = 0;
  if (dead) *dead = 0;
  for (const std::string& name : env->list_dir(procs_dir)) {
    if (name.compare(0, std::string(prefix).size(), prefix) != 0) continue;
    std::string path = path_join(procs_dir, name);
    if (!skip.empty() && (path == skip || path == skip + kTmpSuffix)) continue;
    std::unique_ptr<FileLock> probe;
    try {
      probe = env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0));
    } catch (const BusyError&) {
      // Held: a live process.
    } catch (const Error&) {
      // Cannot even try (permissions): count it as live, conservatively.
    }
    if (probe) {
      // Its owner is gone (or never finished registering): a stale file,
      // removed while we hold its lock so that no new owner can take it.
      try {
        env->remove_file(path);
        if (dead) ++*dead;
      } catch (const Error&) {
      }
      continue;
    }
    if (has_suffix(name, kTmpSuffix)) continue;  // being registered: not counted yet (see procs.hpp)
    n++;
    uint64_t pid = 0, snap = 0;
    std::string text;
    try {
      text = env->read_all(path, 4096);
    } catch (const NotFoundError&) {
      n--;
      continue;  // went away between the listing and now
    } catch (const Error&) {
    }
    if (!decode_registration(text, &pid, &snap)) snap = 0;
    if (snap < oldest) oldest = snap;
  }
  if (live) *live = n;
  return oldest;
}

Gate::Gate(Env* env, const std::string& procs_dir)
    : env_(env),
      intent_path_(path_join(procs_dir, kGateIntent)),
      files_path_(path_join(procs_dir, kGateFiles)) {}

Gate::ReadHold Gate::read(std::chrono::milliseconds timeout) {
  ReadHold h;
  {
    // Waits while a flusher holds (or waits for) the files.
    std::unique_ptr<FileLock> intent = env_->lock_file(intent_path_, LockKind::Shared, timeout);
    h.lock = env_->lock_file(files_path_, LockKind::Shared, timeout);
  }
  h.generation = env_->read_all(files_path_, 4096);
  return h;
}

std::unique_ptr<Gate::WriteHold> Gate::write(std::chrono::milliseconds timeout) {
  std::unique_ptr<WriteHold> h(new WriteHold);
  h->env_ = env_;
  h->files_path_ = files_path_;
  try {
    h->intent_ = env_->lock_file(intent_path_, LockKind::Exclusive, timeout);
    h->files_ = env_->lock_file(files_path_, LockKind::Exclusive, timeout);
  } catch (const BusyError& e) {
    throw BusyError(e.path(), "a reader process holds the data files (" + e.detail() + ")", EWOULDBLOCK);
  }
  return h;
}

void Gate::WriteHold::bump() {
  std::unique_ptr<File> f = env_->open(files_path_, OpenMode::ReadWrite);
  // 16 hex digits and "\n"; anything else (a new file, a torn write)
  // starts again from the clock. Readers only compare it, never parse it.
  std::string text(17, '\0');
  size_t got = f->read(0, &text[0], text.size());
  uint64_t g = 0;
  if (got == 17 && text[16] == '\n' && hex16(text, 0, &g))
    g++;
  else
    g = env_->now_micros();  // unlike any value a reader may have kept
  char out[18];
  std::snprintf(out, sizeof out, "%016" PRIx64 "\n", g);
  f->write(0, out, 17);
}

}  // namespace procs
}  // namespace h5tx
