// The undo-mode store: opening (recovery of undo_<txid> directories), the
// one-writer-or-many-readers rule, and statistics.
#include "store/undo_store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <utility>

#include "h5tx/error.hpp"
#include "hdf5/handle.hpp"
#include "journal/tx_dir.hpp"
#include "journal/undo_created.hpp"
#include "store/undo_transaction.hpp"
#include "undo/driver.hpp"
#include "util/duration_text.hpp"
#include "undo/pending_journal.hpp"

namespace h5tx {

// --- names ----------------------------------------------------------------

bool parse_undo_dir_name(const std::string& name, uint64_t* txid, bool* committed) {
  return journal::parse_undo_store_dir_name(name, txid, committed);
}

// --- UndoState -------------------------------------------------------------

std::string UndoState::undo_dir(uint64_t txid) const {
  return path_join(open_layout().journal_dir(), journal::undo_dir_name(txid));
}

void UndoState::acquire(Access access, std::chrono::milliseconds timeout) {
  MutexLock lk(mu);
  auto usable = [&]() REQUIRES(mu) {
    if (closed) throw StateError(home, "store is closed");
    if (!failed.empty()) throw IoError(home, failed);
  };
  usable();
  if (access == Access::Write && read_only) {
    throw StateError(home, "store is open read-only: write transactions are not allowed");
  }
  auto deadline = std::chrono::steady_clock::now() + std::max(timeout, std::chrono::milliseconds(0));
  auto wait = [&](auto ready) {
    if (timeout.count() < 0) {
      cv.wait(lk, ready);
      return true;
    }
    return cv.wait_until(lk, deadline, ready);
  };
  if (access == Access::Write) {
    writers_waiting++;
    bool ok = wait([&]() REQUIRES(mu) { return closed || !failed.empty() || (!writer && readers == 0); });
    writers_waiting--;
    if (!ok) {
      cv.notify_all();  // readers held back by this waiting writer may go
      throw BusyError(home, "the store's writer slot is taken (" +
                                std::string(writer ? "a write transaction"
                                                   : std::to_string(readers) + " read transactions") +
                                " active); waited " + duration_text(timeout));
    }
    usable();
    writer = true;
  } else {
    // Waiting writers go first, so a stream of readers cannot starve them.
    bool ok =
        wait([&]() REQUIRES(mu) { return closed || !failed.empty() || (!writer && writers_waiting == 0); });
    if (!ok) {
      throw BusyError(home, "a write transaction holds the store; waited " + duration_text(timeout));
    }
    usable();
    readers++;
  }
}

void UndoState::release(Access access) {
  bool last;
  {
    MutexLock lk(mu);
    if (access == Access::Write) {
      writer = false;
    } else {
      readers--;
    }
    last = closed && !writer && readers == 0 && layout;
  }
  if (last) {
    // The store was closed while this transaction ran. Its files are closed
    // before the LOCK goes, so no other process sees them open.
    std::string error;
    try {
      close_kept();
      remove_spare_dir();
    } catch (const Error& e) {
      error = e.what();
    }
    {
      MutexLock lk(mu);
      if (!writer && readers == 0) layout.reset();  // releases the LOCK
    }
    // Nobody is left to report it to: the store is closed and this
    // transaction already ended. The file keeps its last committed state.
    if (!error.empty())
      std::fprintf(stderr, "h5tx: closing the data files of %s: %s\n", home.c_str(), error.c_str());
  }
  cv.notify_all();
}

std::unique_ptr<UndoFile> UndoState::take_kept(const std::string& file) {
  MutexLock lk(kept_mu);
  auto it = kept.find(file);
  if (it == kept.end()) return nullptr;
  std::unique_ptr<UndoFile> f = std::move(it->second);
  kept.erase(it);
  return f;
}

void UndoState::keep(const std::string& file, std::unique_ptr<UndoFile> f) {
  // While no transaction writes it, readers in other processes (h5py,
  // h5dump) may open the file: its lock becomes shared. A write transaction
  // takes it back (UndoStoreTransaction::open_for_write).
  undo::set_file_lock(f->hid(), LockKind::Shared);
  MutexLock lk(kept_mu);
  kept[file] = std::move(f);
}

void UndoState::close_kept() {
  MutexLock lk(kept_mu);
  std::exception_ptr first;
  while (!kept.empty()) {
    std::unique_ptr<UndoFile> f = std::move(kept.begin()->second);
    kept.erase(kept.begin());
    try {
      f->close();
    } catch (const Error&) {
      // Every file is closed; the first failure is rethrown below.
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

std::string UndoState::take_spare_dir() {
  MutexLock lk(mu);
  return std::exchange(spare_dir, std::string());
}

void UndoState::remove_spare_dir() {
  std::string dir = take_spare_dir();
  if (!dir.empty() && env->exists(dir)) env->remove_flat_dir(dir);
}

void UndoState::mark_failed(const std::string& why) {
  {
    MutexLock lk(mu);
    if (failed.empty()) failed = why + "; close and reopen the store to recover";
  }
  cv.notify_all();
}

// --- recovery --------------------------------------------------------------

namespace {

// One journal/undo_* directory, checked before recovery changes anything.
struct UndoDir {
  uint64_t txid = 0;
  bool committed = false;
  std::string path;
  std::vector<std::string> journals;               // data file names with a journal here
  std::vector<std::string> created;                // the CREATED list
  std::map<std::string, std::string> created_ids;  // their identities, where recorded
};

// "<file>.journal" -> "<file>"; "" if the entry is not a journal.
std::string journal_owner(const std::string& entry) {
  const std::string suffix = kJournalSuffix;
  if (entry.size() <= suffix.size() ||
      entry.compare(entry.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return "";
  }
  return entry.substr(0, entry.size() - suffix.size());
}

// Reads and validates every undo directory, newest first (reverting in
// reverse order restores the oldest state). Anything unexpected in journal/
// -- a stray file, a garbage journal, a bad CREATED list -- is a
// CorruptionError naming it, raised before anything is changed.
std::vector<UndoDir> scan_undo_dirs(UndoState& st) {
  Env& env = *st.env;
  std::vector<UndoDir> out;
  const std::string& jdir = st.open_layout().journal_dir();
  for (const std::string& name : env.list_dir(jdir)) {
    UndoDir d;
    d.path = path_join(jdir, name);
    if (!parse_undo_dir_name(name, &d.txid, &d.committed) || !env.is_directory(d.path)) {
      throw CorruptionError(d.path,
                            "unexpected entry in the journal directory of an undo-mode "
                            "store (expected directories undo_<16 hex digits>[_committed])");
    }
    if (!d.committed) {
      for (const std::string& entry : env.list_dir(d.path)) {
        std::string entry_path = path_join(d.path, entry);
        std::string file = journal_owner(entry);
        if (entry == kCreatedFile) {
          d.created = journal::decode_created(env.read_all(entry_path, 16 << 20), entry_path, &d.created_ids);
        } else if (entry == std::string(kCreatedFile) + ".tmp") {
          // Leftover of an interrupted atomic rewrite of CREATED: garbage.
        } else if (!file.empty()) {
          try {
            Layout::check_file_name(file);
          } catch (const InvalidArgumentError& e) {
            throw CorruptionError(entry_path, "journal of an invalid data file name: " + e.detail());
          }
          // CorruptionError if garbage, or if it belongs to another data file.
          auto pending = undo::PendingJournal::load(env, entry_path);
          if (pending && !pending->nothing_to_undo() && env.exists(st.data_path(file)))
            pending->check_owner(*env.open(st.data_path(file), OpenMode::ReadOnly));
          d.journals.push_back(file);
        } else {
          throw CorruptionError(entry_path, "unexpected file in an undo transaction directory");
        }
      }
    }
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const UndoDir& a, const UndoDir& b) { return a.txid > b.txid; });
  return out;
}

// A file listed in an unfinished transaction's CREATED is removed only on
// evidence that this transaction made it, so that a stray or damaged
// CREATED can never delete committed data: the file is empty; or CREATED
// records the identity (device and inode) of the empty file the
// transaction made before HDF5 wrote to it, and the file is still that one;
// or (a CREATED of an older build, without identities) the transaction's own
// journal for it records that it was empty when the transaction began.
// Otherwise the open fails naming both, and nothing is changed.
void check_created_evidence(Env& env, const UndoState& st, const UndoDir& d) {
  for (const std::string& file : d.created) {
    std::string data = st.data_path(file);
    if (!env.exists(data) || env.file_size(data) == 0) continue;
    auto id = d.created_ids.find(file);
    // The inode alone: the file is on the file system of this directory, and
    // a device number may change across a reboot.
    auto ino = [](const std::string& identity) { return identity.substr(identity.find(':') + 1); };
    bool evidence = id != d.created_ids.end() && ino(env.file_identity(data)) == ino(id->second);
    if (!evidence && id == d.created_ids.end() &&
        std::find(d.journals.begin(), d.journals.end(), file) != d.journals.end()) {
      auto pj = undo::PendingJournal::load(env, path_join(d.path, file + kJournalSuffix));
      evidence = pj && !pj->nothing_to_undo() && pj->has_original_size() && pj->original_size() == 0;
    }
    if (!evidence)
      throw CorruptionError(data, "listed as created by the unfinished transaction " + d.path + "/" +
                                      kCreatedFile +
                                      ", but it is not the file that transaction made "
                                      "(identity " +
                                      env.file_identity(data) + ", recorded " +
                                      (id == d.created_ids.end() ? std::string("none") : id->second) +
                                      "); left alone: move the undo directory away to open the store");
  }
}

void scan_read_only(UndoState& st) {
  for (const UndoDir& d : scan_undo_dirs(st)) {
    if (d.committed) continue;  // its files hold the committed state
    check_created_evidence(*st.env, st, d);
    for (const std::string& f : d.created) st.hidden_files.insert(f);
    for (const std::string& f : d.journals) {
      st.pending_journals[f] = path_join(d.path, f + kJournalSuffix);
    }
  }
}

}  // namespace

void recover_undo_store(UndoState& st) {
  Env& env = *st.env;
  std::vector<UndoDir> dirs = scan_undo_dirs(st);
  for (const UndoDir& d : dirs)
    if (!d.committed) check_created_evidence(env, st, d);
  for (const UndoDir& d : dirs) {
    st.open_layout().observe_txid(d.txid);
    if (!d.committed) {
      auto was_created = [&](const std::string& f) {
        return std::find(d.created.begin(), d.created.end(), f) != d.created.end();
      };
      for (const std::string& file : d.journals) {
        std::string journal = path_join(d.path, file + kJournalSuffix);
        if (was_created(file)) {
          // Reverting is pointless: the file goes (check_created_evidence
          // showed it is this transaction's). Data file first, so a crash
          // in between leaves the journal to repeat this.
          if (env.exists(st.data_path(file))) env.remove_file(st.data_path(file));
          env.remove_file(journal);
        } else {
          undo::recover(env, st.data_path(file), journal);  // removes the journal
        }
      }
      for (const std::string& file : d.created) {
        if (env.exists(st.data_path(file))) env.remove_file(st.data_path(file));
      }
      env.sync_dir(st.open_layout().data_dir());
    }
    // What is left (CREATED, invalidated journals of a committed transaction)
    // is garbage.
    env.remove_flat_dir(d.path);
  }
  if (!dirs.empty()) env.sync_dir(st.open_layout().journal_dir());
  uint64_t last = st.open_layout().last_txid();
  MutexLock lk(st.mu);
  st.last_committed_txid = last;
}

// --- UndoStore -------------------------------------------------------------

UndoStore::UndoStore(std::unique_ptr<Layout> layout, const Options& options)
    : state_(std::make_shared<UndoState>()) {
  UndoState& st = *state_;
  st.env = layout->env();
  st.home = layout->home();
  st.page_size = layout->format().undo_page_size;
  st.read_only = layout->read_only();
  st.layout = std::move(layout);
  (void)options;
  hdf5::silence_error_printing();
  if (st.read_only) {
    scan_read_only(st);
    st.last_committed_txid = st.open_layout().last_txid();
  } else {
    recover_undo_store(st);
  }
}

UndoStore::~UndoStore() = default;

std::unique_ptr<TransactionImpl> UndoStore::begin(const TxOptions& options) {
  state_->acquire(access_of(options), options.timeout);
  if (access_of(options) == Access::Read) {
    // No writer is active. A read-only open of a file the writer kept open
    // would share its read-write HDF5 file: close them first.
    try {
      state_->close_kept();
    } catch (const Error& e) {
      state_->mark_failed(std::string("closing the data files for a read transaction failed: ") + e.what());
      state_->release(access_of(options));
      throw;
    }
  }
  uint64_t txid = 0;
  try {
    if (access_of(options) == Access::Write) txid = state_->open_layout().allocate_txid();
  } catch (const Error&) {
    state_->release(access_of(options));
    throw;
  }
  return std::make_unique<UndoStoreTransaction>(state_, access_of(options), txid);
}

void UndoStore::close() {
  int active;
  {
    MutexLock lk(state_->mu);
    if (state_->closed && !state_->layout) return;
    state_->closed = true;
    active = state_->readers + (state_->writer ? 1 : 0);
  }
  state_->cv.notify_all();
  if (active > 0) {
    throw StateError(state_->home, std::to_string(active) +
                                       " transaction(s) still active; the store lock is released "
                                       "when they end");
  }
  // No transaction can start any more: close the kept files, then release
  // the LOCK (even if a close failed: the files keep their committed state).
  std::exception_ptr failure;
  try {
    state_->close_kept();
    state_->remove_spare_dir();
  } catch (const Error&) {
    failure = std::current_exception();
  }
  {
    MutexLock lk(state_->mu);
    if (!state_->writer && state_->readers == 0) state_->layout.reset();
  }
  if (failure) std::rethrow_exception(failure);
}

StoreStats UndoStore::stats() {
  MutexLock lk(state_->mu);
  StoreStats s;
  s.committed_transactions = state_->committed;
  s.last_txid = state_->last_committed_txid;
  s.flusher_state = state_->failed.empty() ? "none (undo mode)" : "failed: " + state_->failed;
  return s;
}

std::unique_ptr<StoreImpl> open_undo_store(std::unique_ptr<Layout> layout, const Options& options) {
  return std::make_unique<UndoStore>(std::move(layout), options);
}

}  // namespace h5tx
