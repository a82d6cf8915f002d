// Store directory layout, h5tx.store codec, LOCK and txid reservation.
#include "store/layout.hpp"

#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>

#include "h5tx/error.hpp"
#include "journal/history_segment.hpp"
#include "journal/tx_dir.hpp"
#include "util/names.hpp"

namespace h5tx {

std::string StoreFormat::encode() const {
  std::ostringstream s;
  s << "format = h5tx-store\n";
  s << "version = " << version << "\n";
  s << "mode = " << (mode == Mode::Redo ? "redo" : "undo") << "\n";
  s << "undo_page_size = " << undo_page_size << "\n";
  if (history) s << "features = history\n";
  return s.str();
}

static std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

StoreFormat StoreFormat::decode(const std::string& text, const std::string& path) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    auto eq = t.find('=');
    if (eq == std::string::npos)
      throw CorruptionError(path, "line " + std::to_string(lineno) + ": expected 'key = value'");
    std::string key = trim(t.substr(0, eq));
    if (kv.count(key))
      throw CorruptionError(path, "line " + std::to_string(lineno) + ": duplicate key '" + key + "'");
    kv[key] = trim(t.substr(eq + 1));
  }
  if (kv["format"] != "h5tx-store")
    throw CorruptionError(path, "not an h5tx store file (missing 'format = h5tx-store')");
  StoreFormat f;
  auto number = [&](const std::string& key) -> uint64_t {
    auto it = kv.find(key);
    if (it == kv.end()) throw CorruptionError(path, "missing '" + key + "'");
    const std::string& v = it->second;
    if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
      throw CorruptionError(path, "'" + key + "' is not a number: '" + v + "'");
    return std::stoull(v);
  };
  uint64_t version = number("version");
  if (version > uint64_t(kVersion))
    throw UnsupportedError(path, "store format version " + std::to_string(version) +
                                     " is newer than this h5tx supports (" + std::to_string(kVersion) + ")");
  if (version < 1) throw CorruptionError(path, "store format version 0 is invalid");
  f.version = int(version);
  const std::string& mode = kv["mode"];
  if (mode == "redo")
    f.mode = Mode::Redo;
  else if (mode == "undo")
    f.mode = Mode::Undo;
  else
    throw CorruptionError(path, "unknown mode '" + mode + "' (expected redo or undo)");
  f.undo_page_size = number("undo_page_size");
  if (f.undo_page_size < 512 || f.undo_page_size > (1u << 24) ||
      (f.undo_page_size & (f.undo_page_size - 1)) != 0)
    throw CorruptionError(path, "undo_page_size must be a power of two in [512, 16 MiB]");
  auto features = kv.find("features");
  if (features != kv.end()) {
    // Comma-separated optional features; one this build does not know
    // changes what the store means: refused, nothing written.
    std::istringstream fs(features->second);
    std::string name;
    while (std::getline(fs, name, ',')) {
      name = trim(name);
      if (name == "history")
        f.history = true;
      else
        throw UnsupportedError(path, "store uses feature '" + name + "', which this h5tx does not support");
    }
    if (f.history && f.mode != Mode::Redo)
      throw CorruptionError(path, "feature 'history' in an undo-mode store");
  }
  for (const auto& [k, v] : kv) {
    if (k != "format" && k != "version" && k != "mode" && k != "undo_page_size" && k != "features")
      throw CorruptionError(path, "unknown key '" + k + "'");
  }
  return f;
}

std::string Layout::data_path(const std::string& file) const {
  check_file_name(file);
  return path_join(data_dir_, file);
}

void Layout::check_file_name(const std::string& name) {
  names::check_file_name(name);
}

std::string Layout::txid_hex(uint64_t txid) {
  return journal::txid_hex(txid);
}

bool Layout::parse_txid_hex(const std::string& s, uint64_t* txid) {
  return journal::parse_txid_hex(s, txid);
}

// What an interrupted create leaves behind (h5tx.store is written last):
// any of these, and nothing else, with data/ and journal/ empty.
static bool unfinished_create(Env* env, const std::string& home) {
  for (const auto& name : env->list_dir(home)) {
    std::string p = path_join(home, name);
    if (name == Layout::kLockFile || name == std::string(Layout::kTxidFile) ||
        name == std::string(Layout::kTxidFile) + ".tmp" ||
        name == std::string(Layout::kFormatFile) + ".tmp") {
      if (env->is_directory(p)) return false;
    } else if (name == "data" || name == "journal" || name == procs::kDirName) {
      if (!env->is_directory(p) || !env->list_dir(p).empty()) return false;
    } else if (name == journal::kHistoryDirName) {
      if (!env->is_directory(p)) return false;
      for (const auto& h : env->list_dir(p))
        if (h != journal::kHistoryOldestName && h != std::string(journal::kHistoryOldestName) + ".tmp")
          return false;
    } else {
      return false;
    }
  }
  return true;
}

// Creates the store in steps that a crash can interrupt anywhere: h5tx.store
// is written last, and its absence with only the files of the steps before
// it marks an unfinished create, which the next create finishes.
std::unique_ptr<Layout> Layout::create(Env* env, const std::string& home_arg, const Options& options) {
  if (options.read_only) throw InvalidArgumentError(home_arg, "cannot create a store read-only");
  if (options.history.value_or(false) && options.mode.value_or(Mode::Redo) != Mode::Redo)
    throw InvalidArgumentError(home_arg,
                               "history is a redo-mode feature (an undo-mode store cannot keep it)");
  // HOME itself may be a user's symlink; nothing below it is ever followed.
  const std::string home = env->resolve_symlinks(home_arg);
  if (env->exists(home)) {
    if (!env->is_directory(home)) throw AlreadyExistsError(home, "exists and is not a directory");
    if (env->exists(path_join(home, kFormatFile))) throw AlreadyExistsError(home, "is already an h5tx store");
    if (!unfinished_create(env, home))
      throw AlreadyExistsError(home, "directory is not empty; refusing to create a store in it");
  } else {
    // Missing parents too (mkdir -p), each made durable in its parent.
    std::string p = home;
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    std::vector<std::string> missing;
    for (; !p.empty() && p != "/" && p != "." && !env->exists(p); p = path_dirname(p)) missing.push_back(p);
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      try {
        env->create_dir(*it);
      } catch (const Error&) {
        if (!env->is_directory(*it)) throw;  // else made by a create racing with us (the LOCK decides)
      }
      env->sync_dir(path_dirname(*it));
    }
  }
  std::unique_ptr<Layout> l(new Layout);
  l->env_ = env;
  l->home_ = home;
  l->data_dir_ = path_join(home, "data");
  l->journal_dir_ = path_join(home, "journal");
  l->procs_dir_ = path_join(home, procs::kDirName);
  l->format_.mode = options.mode.value_or(Mode::Redo);
  l->format_.undo_page_size = options.undo_page_size;
  l->format_.history = options.history.value_or(false);
  // Validate before writing anything.
  StoreFormat::decode(l->format_.encode(), path_join(home, kFormatFile));
  l->lock(options);
  // Two creates racing on one HOME: the LOCK lets one through at a time;
  // the later one finds the store made.
  if (env->exists(path_join(home, kFormatFile))) throw AlreadyExistsError(home, "is already an h5tx store");
  if (!unfinished_create(env, home))
    throw AlreadyExistsError(home, "directory is not empty; refusing to create a store in it");
  env->create_dir_if_missing(l->data_dir_);
  env->create_dir_if_missing(l->journal_dir_);
  env->sync_dir(home);
  l->ensure_procs();
  if (l->format_.mode == Mode::Redo) {
    // Before h5tx.store exists no opener gets this far; it then waits for
    // procs/open until share().
    l->open_lock_ =
        env->lock_file(path_join(l->procs_dir_, procs::kOpenLock), LockKind::Exclusive, options.lock_timeout);
    l->multi_ = true;
  }
  {
    MutexLock g(l->txid_mu_);
    l->reserve_locked(1);
    if (l->multi_)
      procs::CommitSection::enter(env, l->procs_dir_, options.lock_timeout)->set_next(l->next_txid_);
  }
  if (l->format_.history) l->start_history(0);
  // h5tx.store last: its presence marks a complete store.
  env->write_file_atomic(path_join(home, kFormatFile), l->format_.encode());
  return l;
}

std::unique_ptr<Layout> Layout::open(Env* env, const std::string& home_arg, const Options& options,
                                     bool applier) {
  const std::string home = env->resolve_symlinks(home_arg);
  std::string fmt_path = path_join(home, kFormatFile);
  if (!env->is_directory(home)) throw NotFoundError(home_arg, "no such store directory");
  if (!env->exists(fmt_path)) {
    if (unfinished_create(env, home))
      throw NotFoundError(fmt_path,
                          "not an h5tx store: a create of it was interrupted (run init again to finish it)");
    throw NotFoundError(fmt_path, "not an h5tx store (h5tx.store is missing)");
  }
  std::unique_ptr<Layout> l(new Layout);
  l->env_ = env;
  l->home_ = home;
  l->data_dir_ = path_join(home, "data");
  l->journal_dir_ = path_join(home, "journal");
  l->procs_dir_ = path_join(home, procs::kDirName);
  l->read_only_ = options.read_only;
  // A store file of more than 64 KiB is damage (a real one is ~80 bytes):
  // refused before it is read into memory.
  if (env->file_size(fmt_path) > (64 << 10))
    throw CorruptionError(fmt_path, "store file is " + std::to_string(env->file_size(fmt_path)) +
                                        " bytes, not a store format file (at most 64 KiB)");
  l->format_ = StoreFormat::decode(env->read_all(fmt_path, 64 << 10), fmt_path);
  for (const auto& d : {l->data_dir_, l->journal_dir_})
    if (!env->is_directory(d)) throw CorruptionError(d, "store directory is missing");
  if (l->read_only_ && l->format_.version >= 2 && l->format_.mode == Mode::Redo) {
    // A reader process next to a possibly live writer: no LOCK, a
    // snapshot registration instead (formats/store-procs.md).
    if (!env->is_directory(l->procs_dir_)) throw CorruptionError(l->procs_dir_, "store directory is missing");
    l->registration_ = procs::Registration::create(env, l->procs_dir_);
  } else if (!l->read_only_ && l->format_.mode == Mode::Redo) {
    l->open_writer(options);
  } else {
    l->lock(options);
  }
  if (!l->read_only_ && l->alone_) l->upgrade();
  l->multi_ = !l->read_only_ && l->format_.mode == Mode::Redo && l->format_.version >= 3;
  if (!l->read_only_ && !applier) {
    const std::string replica = path_join(home, kReplicaFile);
    if (env->exists(replica))
      throw StateError(replica,
                       "the store is a replica (it follows its source and opens read-only); "
                       "h5tx promote HOME makes it writable");
    const std::string position = path_join(home, kPositionFile);
    if (env->exists(position)) {
      // Written by something else than its source from now on.
      env->remove_file(position);
      env->sync_dir(home);
    }
  }
  std::string txid_path = path_join(home, kTxidFile);
  if (env->exists(txid_path)) {
    std::string t = env->read_all(txid_path, 64);
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
    uint64_t v;
    if (!parse_txid_hex(t, &v))
      throw CorruptionError(txid_path,
                            "expected 16 hex digits of a txid in 1.." + std::to_string(journal::kMaxTxid));
    MutexLock g(l->txid_mu_);  // nobody else has l yet; the analysis asks for it
    l->next_txid_ = l->reserved_end_ = v;
  } else if (!l->read_only_) {
    throw CorruptionError(txid_path, "txid reservation file is missing");
  }
  l->open_history(options);
  return l;
}

// history/ with OLDEST = `oldest`, durable (an older leftover of a switch
// off that a crash interrupted is removed first).
void Layout::start_history(uint64_t oldest) {
  const std::string dir = history_dir();
  if (env_->is_directory(dir)) env_->remove_flat_dir(dir);
  env_->create_dir(dir);
  env_->sync_dir(home_);
  env_->write_file_atomic(path_join(dir, journal::kHistoryOldestName), journal::encode_oldest(oldest));
}

// Switching history on or off (Options::history at a read-write open that
// is alone, under the exclusive LOCK; formats/history.md). A writer that
// joins other writer processes cannot switch it. On: history/ is made durable
// first, then h5tx.store gets the feature. Off: h5tx.store loses it first,
// then history/ goes. A crash between leaves a history/ that the flag does
// not name: removed here at the next read-write open.
void Layout::open_history(const Options& options) {
  const std::string dir = history_dir();
  const bool want = options.history.value_or(format_.history);
  if (read_only_) {
    if (want != format_.history)
      throw InvalidArgumentError(home_, "history can only be switched on or off by a read-write open");
    if (format_.history && !env_->is_directory(dir)) throw CorruptionError(dir, "store directory is missing");
    return;
  }
  if (!alone_) {
    if (want != format_.history)
      throw BusyError(home_,
                      std::string("history can be switched ") + (want ? "on" : "off") +
                          " only by a read-write open while no other writer process has the store open");
    if (format_.history && !env_->is_directory(dir)) throw CorruptionError(dir, "store directory is missing");
    return;
  }
  if (want && format_.mode != Mode::Redo)
    throw InvalidArgumentError(home_, "history is a redo-mode feature (an undo-mode store cannot keep it)");
  StoreFormat f = format_;
  f.history = want;
  if (want && !format_.history) {
    uint64_t last = 0;
    {
      MutexLock g(txid_mu_);
      last = next_txid_ - 1;  // no txid above it was ever handed out
    }
    start_history(last);
    env_->write_file_atomic(path_join(home_, kFormatFile), f.encode());
  } else if (!want && format_.history) {
    env_->write_file_atomic(path_join(home_, kFormatFile), f.encode());
    env_->remove_flat_dir(dir);
    env_->sync_dir(home_);
  } else if (!want && env_->is_directory(dir)) {
    env_->remove_flat_dir(dir);
    env_->sync_dir(home_);
  } else if (want && !env_->is_directory(dir)) {
    throw CorruptionError(dir, "store directory is missing");
  }
  format_ = f;
}

// A read-write open of a redo store: alone (no other writer process holds
// the LOCK) or one of several writers. procs/open makes "alone" a fact
// until share(): every read-write opener takes it before it tries the
// exclusive LOCK, and an alone opener keeps it until it holds the LOCK
// shared like the others.
void Layout::open_writer(const Options& options) {
  if (!env_->is_directory(procs_dir_)) {  // a version 1 store
    env_->create_dir_if_missing(procs_dir_);
    env_->sync_dir(home_);
  }
  std::string open_path = path_join(procs_dir_, procs::kOpenLock);
  try {
    open_lock_ = env_->lock_file(open_path, LockKind::Exclusive, options.lock_timeout);
  } catch (const BusyError& e) {
    throw BusyError(open_path, "another process is opening (recovering) the store: " + e.detail());
  }
  std::string path = path_join(home_, kLockFile);
  try {
    lock_ = env_->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0));
  } catch (const BusyError&) {
  }
  if (lock_) {
    alone_ = true;
    write_pid();
    return;
  }
  alone_ = false;
  if (format_.version < 3) {
    // Only an older h5tx (one writer per store) holds a version 1 or 2
    // store's LOCK exclusively; its readers share it. Upgraded when unused.
    open_lock_.reset();
    throw BusyError(path, "store format version " + std::to_string(format_.version) +
                              " is in use by another process (an older h5tx); it is upgraded to version " +
                              std::to_string(StoreFormat::kVersion) +
                              " (several writer processes) by a read-write open that finds it unused");
  }
  try {
    Options shared = options;
    shared.read_only = true;  // a shared lock, and the "(writer)" wording of its Busy error
    lock(shared);
  } catch (...) {
    open_lock_.reset();
    throw;
  }
  open_lock_.reset();
}

void Layout::share(const Options& options) {
  if (!multi_ || !open_lock_) return;
  uint64_t next;
  {
    MutexLock g(txid_mu_);
    next = next_txid_;
  }
  // Alone: no commit can race this. (The section before txid_mu_, as in
  // assign_txid.)
  procs::CommitSection::enter(env_, procs_dir_, options.lock_timeout)->set_next(next);
  // The exclusive lock becomes a shared one while procs/open keeps every
  // other opener from trying the exclusive lock meanwhile.
  lock_.reset();
  lock_ = env_->lock_file(path_join(home_, kLockFile), LockKind::Shared, options.lock_timeout);
  open_lock_.reset();
}

uint64_t Layout::read_txid_file() const {
  std::string txid_path = path_join(home_, kTxidFile);
  std::string t = env_->read_all(txid_path, 64);
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  uint64_t v;
  if (!parse_txid_hex(t, &v))
    throw CorruptionError(txid_path,
                          "expected 16 hex digits of a txid in 1.." + std::to_string(journal::kMaxTxid));
  return v;
}

uint64_t Layout::temp_id() {
  if (!multi_) return allocate_txid();
  if (temp_tag_ == 0) return procs::random_id(env_) % ((uint64_t(1) << 32) - 1) + 1;
  return temp_tag_ << 32 | temp_next_.fetch_add(1);
}

void Layout::set_temp_owner(uint64_t tag) {
  temp_tag_ = tag;
  temp_next_ = uint32_t(procs::random_id(env_));
}

uint64_t Layout::assign_txid(procs::CommitSection& section, uint64_t provisional) {
  MutexLock g(txid_mu_);
  uint64_t c = section.next();
  if (c == 0) c = read_txid_file();  // above every txid handed out
  uint64_t t = std::max(c, provisional);
  if (t > journal::kMaxTxid)
    throw CorruptionError(path_join(home_, kTxidFile), "txids are exhausted (the next would exceed " +
                                                           std::to_string(journal::kMaxTxid) + ")");
  if (t >= reserved_end_) {
    // Other processes reserve blocks too (under this section): TXID only grows.
    reserved_end_ = std::max(reserved_end_, read_txid_file());
    if (t >= reserved_end_) reserve_locked(t);
  }
  section.set_next(t + 1);
  if (t >= next_txid_) next_txid_ = t + 1;
  return t;
}

void Layout::lock(const Options& options) {
  std::string path = path_join(home_, kLockFile);
  LockKind kind = options.read_only ? LockKind::Shared : LockKind::Exclusive;
  try {
    lock_ = env_->lock_file(path, kind, options.lock_timeout);
  } catch (const BusyError&) {
    std::string holder;
    try {
      holder = env_->read_all(path, 64);
    } catch (const Error&) {
    }
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    std::string who = holder.empty() ? "another process" : "process " + holder;
    std::string why = options.read_only            ? " (writer)"
                      : format_.mode == Mode::Undo ? " (an undo-mode store has one writer process at a time)"
                                                   : "";
    throw BusyError(path, std::string("store is locked by ") + who + why);
  }
  if (kind == LockKind::Exclusive) write_pid();
}

// The exclusive holder's pid in LOCK. Not synced: only for error messages.
void Layout::write_pid() {
  auto f = env_->open(path_join(home_, kLockFile), OpenMode::Create);
  f->truncate(0);
  std::string pid = std::to_string(::getpid()) + "\n";
  f->write(0, pid.data(), pid.size());
}

// procs/ and its gate files, made durable (formats/store-procs.md), so
// that a reader process never creates anything but its registration.
void Layout::ensure_procs() {
  bool made_dir = false, made_file = false;
  if (!env_->is_directory(procs_dir_)) {
    env_->create_dir_if_missing(procs_dir_);
    made_dir = true;
  }
  for (const char* name : {procs::kGateIntent, procs::kGateFiles}) {
    std::string p = path_join(procs_dir_, name);
    if (env_->exists(p)) continue;
    env_->open(p, OpenMode::Create);
    made_file = true;
  }
  if (made_file) env_->sync_dir(procs_dir_);
  if (made_dir) env_->sync_dir(home_);
}

// Under the exclusive LOCK: a version 1 store gets procs/ (made durable
// first), then h5tx.store is rewritten atomically as version 3 (version 2
// stores only get the version: procs/ files of version 3 are made on use). A crash in
// between leaves a version 1 store with an empty procs/, which opens as
// version 1 and is upgraded again.
void Layout::upgrade() {
  ensure_procs();
  if (format_.version >= StoreFormat::kVersion) return;
  StoreFormat f = format_;
  f.version = StoreFormat::kVersion;
  env_->write_file_atomic(path_join(home_, kFormatFile), f.encode());
  format_ = f;
}

void Layout::reserve_locked(uint64_t needed) {
  if (needed < reserved_end_) return;
  uint64_t end = needed + kTxidBlock;
  env_->write_file_atomic(path_join(home_, kTxidFile), txid_hex(end) + "\n");
  reserved_end_ = end;
}

uint64_t Layout::allocate_txid() {
  if (read_only_) throw StateError(home_, "store is open read-only");
  MutexLock g(txid_mu_);
  if (next_txid_ > journal::kMaxTxid)
    throw CorruptionError(path_join(home_, kTxidFile), "txids are exhausted (the next would exceed " +
                                                           std::to_string(journal::kMaxTxid) + ")");
  // Several writer processes: a provisional id (the order of this
  // process's commits); assign_txid gives the real one.
  if (!multi_) reserve_locked(next_txid_);
  return next_txid_++;
}

void Layout::observe_txid(uint64_t txid) {
  MutexLock g(txid_mu_);
  if (txid >= next_txid_) next_txid_ = txid + 1;
}

uint64_t Layout::last_txid() const {
  MutexLock g(txid_mu_);
  return next_txid_ - 1;
}

}  // namespace h5tx
