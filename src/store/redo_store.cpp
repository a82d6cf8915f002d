// Redo mode: the store (recovery, the committed view, publishing commits,
// flush/close/stats). See store/redo_store.hpp.
#include "store/redo_store.hpp"

#include <algorithm>
#include <exception>
#include <set>

#include "h5tx/error.hpp"
#include "hdf5/dataset_ops.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "store/redo_transaction.hpp"
#include "store/replay_check.hpp"
#include "undo/driver.hpp"
#include "undo/pending_journal.hpp"
#include "util/names.hpp"

namespace h5tx {

// Flushed transaction directories kept for reuse (journal/spare_dirs.hpp):
// as many as may be pending (Options::max_unflushed_transactions), so that
// a store that has once had that many pending creates no more directories;
// at most 256 MiB of them (a flush batch of large transactions by default).
// Disk space the journal keeps while the store is open; all of it goes at
// close.
static constexpr uint64_t kSpareDirBytes = uint64_t(256) << 20;
// Spare directories the background flusher makes ahead of the committers
// when it has nothing to apply (so that creating them, two inode
// allocations each, is not on the commit path).
static constexpr size_t kSpareDirsAhead = 32;

using journal::TxState;

std::unique_ptr<StoreImpl> open_redo_store(std::unique_ptr<Layout> layout, const Options& options) {
  auto store = std::make_unique<RedoStore>(std::move(layout), options);
  store->open();
  return store;
}

RedoStore::RedoStore(std::unique_ptr<Layout> layout, const Options& options)
    : layout_(std::move(layout)),
      env_(layout_->env()),
      home_(layout_->home()),
      read_only_(layout_->read_only()),
      options_(options),
      queue_(layout_->env(), layout_->journal_dir(), [this] { return layout_->allocate_txid(); }),
      spares_(layout_->env(), options.max_unflushed_transactions, kSpareDirBytes) {
  files_ = std::make_unique<DataFiles>(layout_->env(), layout_->data_dir(), layout_->journal_dir(),
                                       layout_->format().undo_page_size, layout_->read_only());
  Flusher::Hooks hooks;
  hooks.flush_limit = [this] { return snapshots_.flush_limit(); };
  hooks.flushed = [this](const std::vector<journal::Manifest>& ms) {
    // The files changed: forget what was cached of their catalog before the
    // overlay stops covering the change (store/catalog_cache.hpp).
    for (const auto& m : ms)
      for (const auto& op : m.ops)
        if (op.kind != journal::OpKind::WriteChunk) catalog_.invalidate(op.file);
    for (const auto& m : ms) overlay_.remove(m);
  };
  hooks.retired = [this](const std::string& dir) { spares_.offer(dir); };
  hooks.replenish = [this] {
    // A few at a time, so a due batch never waits long behind this.
    for (int i = 0; i < 4 && spares_.size() < kSpareDirsAhead; i++)
      spares_.make_fresh(layout_->journal_dir(), layout_->allocate_txid());
    return spares_.size() < kSpareDirsAhead;
  };
  flusher_ = std::make_unique<Flusher>(layout_->env(), layout_->journal_dir(), files_.get(),
                                       options_, std::move(hooks));
  snapshots_.set_on_change([this] { flusher_->notify(); });
}

RedoStore::~RedoStore() {
  // Store::~Store closes (and reports errors); this only makes sure the
  // thread is gone.
  flusher_->stop();
}

void RedoStore::open() {
  if (read_only()) scan_read_only();
  else recover();
  if (!read_only()) flusher_->start();
}

void RedoStore::add_committed(const journal::Manifest& m, const std::string& dir) {
  overlay_.add(m, dir);
  snapshots_.committed(m.txid);
  flusher_->enqueue(m.info(), dir);
}

// An entry of journal/ that h5tx did not make (an unknown name, or one of
// our names that is not a directory) is not something to guess about: the
// open fails naming it, and nothing is changed.
static void refuse_strays(Env& env, const journal::JournalListing& l, const std::string& jdir) {
  if (l.other.empty()) return;
  std::string p = path_join(jdir, l.other.front());
  bool ours_by_name = env.exists(p) && !env.is_directory(p);
  throw CorruptionError(p, ours_by_name
                               ? "journal entry is not a directory (a symlink, FIFO or file where a "
                                 "transaction directory belongs); move it away to open the store"
                               : "unexpected entry in the journal directory (not a transaction or undo "
                                 "directory of this store); move it away to open the store");
}

// The committed transactions recovery must (re)apply, in txid order, each
// verified (MANIFEST and every chunk copy): the _done ones, and the _flushed
// ones newer than the oldest _done (journal::plan_flushed). Reads only.
std::vector<RedoStore::Committed> RedoStore::committed_on_disk(const journal::JournalListing& l,
                                                               const journal::FlushedPlan& plan) {
  Env& env = *this->env();
  const std::string& jdir = layout_->journal_dir();
  std::vector<Committed> out;
  for (uint64_t txid : l.done) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, TxState::Done));
    try {
      out.push_back({journal::verify_transaction(env, dir, txid), dir, false});
    } catch (const CorruptionError& e) {
      // Restore it from a copy, or move it aside (never deleted).
      throw CorruptionError(e.path(), e.detail() + " (committed transaction " + journal::txid_hex(txid) +
                                          "; restore it, or h5tx recover HOME --quarantine " +
                                          journal::txid_hex(txid) + " moves it aside)");
    }
  }
  for (uint64_t txid : plan.reapply) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, TxState::Flushed));
    try {
      out.push_back({journal::verify_transaction(env, dir, txid), dir, true});
    } catch (const CorruptionError& e) {
      throw CorruptionError(dir, "applied transaction newer than the pending committed transaction " +
                                     journal::txid_hex(l.done.front()) +
                                     " cannot be read, so replaying that one could overwrite its data: " +
                                     e.detail());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Committed& a, const Committed& b) { return a.manifest.txid < b.manifest.txid; });
  return out;
}

void RedoStore::check_replay(const std::vector<Committed>& committed) {
  if (committed.empty()) return;
  ReplayCheck check(files_.get());
  try {
    for (const auto& c : committed) check.check(c.manifest, c.dir);
  } catch (...) {
    auto lock = files_->lock();
    files_->close_all();
    throw;
  }
  auto lock = files_->lock();
  files_->close_all();
}

// Recovery of a read-write open. Verification comes first and only reads,
// so a corrupt committed transaction fails the open with nothing changed.
// Each later step is idempotent: a crash during recovery is repaired by the
// next recovery. No committed transaction is ever deleted here: a _done
// directory goes only after its own apply is durable (the flusher).
void RedoStore::recover() {
  Env& env = *this->env();
  const std::string& jdir = layout_->journal_dir();
  journal::JournalListing l = journal::list_journal(env, jdir);
  refuse_strays(env, l, jdir);
  journal::FlushedPlan plan = journal::plan_flushed(l);
  std::vector<Committed> committed = committed_on_disk(l, plan);
  uint64_t max_txid = 0;
  for (const auto* v : {&l.temp, &l.done, &l.flushed, &l.undo})
    if (!v->empty()) max_txid = std::max(max_txid, v->back());
  if (max_txid) layout_->observe_txid(max_txid);

  // 1. Revert interrupted flush batches. Every journal is checked first
  // (a known entry, not garbage, written for the data file it is named
  // after), so a bad one fails the open before any file is reverted.
  std::vector<std::pair<std::string, std::string>> reverts;  // data file, journal
  for (uint64_t id : l.undo) {
    std::string udir = path_join(jdir, journal::undo_dir_name(id));
    for (const auto& name : env.list_dir(udir)) {
      const std::string suffix = ".journal";
      std::string file = name.size() > suffix.size() &&
                                 name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0
                             ? name.substr(0, name.size() - suffix.size())
                             : "";
      std::string journal = path_join(udir, name);
      if (file.empty() || !names::file_name_problem(file).empty())
        throw CorruptionError(journal, "unexpected entry in a flush batch's undo directory");
      std::string data = layout_->data_path(file);
      if (!env.exists(data)) continue;  // nothing was written that needs reverting
      auto pending = undo::PendingJournal::load(env, journal);  // CorruptionError if garbage
      if (pending && !pending->nothing_to_undo()) pending->check_owner(*env.open(data, OpenMode::ReadOnly));
      reverts.emplace_back(data, journal);
    }
  }
  for (const auto& r : reverts) undo::recover(env, r.first, r.second);
  // Every operation must apply to the catalog as it now is (after the revert).
  check_replay(committed);
  // 2. Applied transactions newer than a pending one go back to _done, so
  // they are replayed after it (durably, before anything is removed).
  if (!plan.reapply.empty()) {
    for (auto& c : committed) {
      if (!c.flushed) continue;
      std::string done = path_join(jdir, journal::tx_dir_name(c.manifest.txid, TxState::Done));
      env.rename(c.dir, done);
      c.dir = done;
    }
    env.sync_dir(jdir);
  }
  // 3. Garbage: reverted undo journals, unfinished commits, applied transactions.
  bool removed = false;
  for (uint64_t id : l.undo) {
    env.remove_flat_dir(path_join(jdir, journal::undo_dir_name(id)));
    removed = true;
  }
  for (uint64_t id : l.temp) {
    env.remove_flat_dir(path_join(jdir, journal::tx_dir_name(id, TxState::Temp)));
    removed = true;
  }
  for (uint64_t id : plan.garbage) {
    env.remove_flat_dir(path_join(jdir, journal::tx_dir_name(id, TxState::Flushed)));
    removed = true;
  }
  if (removed) env.sync_dir(jdir);
  files_->remove_temporaries();
  // 4. Queue the committed transactions in txid order and rebuild the overlay.
  for (const auto& c : committed) add_committed(c.manifest, c.dir);
}

// A read-only open writes nothing: _temp and _flushed directories are
// ignored (but for _flushed ones newer than a _done one, served from where
// they are, as recovery would replay them), pending undo journals are read through by DataFiles (the data
// files are seen as they were before the interrupted batch), and every
// _done transaction is verified and served from the overlay.
void RedoStore::scan_read_only() {
  Env& env = *this->env();
  const std::string& jdir = layout_->journal_dir();
  journal::JournalListing l = journal::list_journal(env, jdir);
  refuse_strays(env, l, jdir);
  std::vector<Committed> committed = committed_on_disk(l, journal::plan_flushed(l));
  check_replay(committed);
  for (const auto& c : committed) add_committed(c.manifest, c.dir);
}

void RedoStore::check_open() const {
  if (closed_) throw StateError(home_, "the store is closed");
}

std::unique_ptr<TransactionImpl> RedoStore::begin(const TxOptions& options) {
  check_open();
  return std::make_unique<RedoTransaction>(this, options);
}

void RedoStore::publish(std::shared_ptr<const journal::Manifest> m, const std::string& dir) {
  add_committed(*m, dir);
  committed_++;
}

void RedoStore::flush() {
  check_open();
  if (read_only()) return;
  flusher_->flush();
}

// Applies what can be applied (transactions pinned by a still-open snapshot
// stay in the journal, durable, for the next open), stops the flusher,
// closes the data files and releases the lock, even if one of those steps
// fails; the first failure is then rethrown.
void RedoStore::close() {
  if (closed_.exchange(true)) return;
  std::exception_ptr error;
  if (!read_only()) {
    try {
      flusher_->flush(false);
    } catch (const std::exception&) {
      error = std::current_exception();
    }
  }
  flusher_->stop();
  if (!read_only()) {
    try {
      spares_.clear();
    } catch (const std::exception&) {
      if (!error) error = std::current_exception();
    }
  }
  {
    auto lock = files_->lock();
    try {
      files_->close_all();
    } catch (const std::exception&) {
      if (!error) error = std::current_exception();
    }
  }
  layout_.reset();  // releases the LOCK
  if (error) std::rethrow_exception(error);
}

StoreStats RedoStore::stats() {
  FlusherStats f = flusher_->stats();
  StoreStats s;
  s.pending_transactions = f.pending_transactions;
  s.pending_bytes = f.pending_bytes;
  s.flushed_transactions = f.flushed_transactions;
  s.flushed_bytes = f.flushed_bytes;
  s.flush_batches = f.batches;
  s.committed_transactions = committed_;
  s.last_txid = snapshots_.last_committed();
  s.flusher_state = read_only() ? std::string("stopped") : f.state;
  s.waiting_for = f.waiting_for;
  if (closed_ && f.state.compare(0, 6, "failed") != 0) s.flusher_state = "stopped";
  return s;
}

std::vector<TransactionInfo> RedoStore::pending() { return flusher_->pending(); }

// --- the committed view ----------------------------------------------------
//
// Each lookup asks the overlay first and lets go of it before it looks at an
// HDF5 file (waiting for the data files while holding the overlay would
// stall commits, which publish into the overlay, behind a flush batch). That
// is safe because the flusher writes a batch into the files before it removes
// it from the overlay, and catalog versions only add or grow: a version at or
// below the snapshot is in the overlay, in the file, or in both. What the
// files say of the catalog is cached (catalog_): a cached answer needs
// neither the data-file lock nor HDF5.

bool RedoStore::file_exists(const std::string& file, uint64_t snapshot) {
  {
    auto olock = overlay_.read_lock();
    if (overlay_.file_created(file, snapshot)) return true;
  }
  bool exists = false;
  if (catalog_.find_file(file, &exists)) return exists;
  auto lock = files_->lock();
  exists = files_->exists(file);
  catalog_.put_file(file, exists);  // under the lock: see catalog_cache.hpp
  return exists;
}

std::vector<std::string> RedoStore::list_files(uint64_t snapshot) {
  std::set<std::string> names;
  {
    auto olock = overlay_.read_lock();
    for (auto& f : overlay_.files(snapshot)) names.insert(f);
  }
  auto lock = files_->lock();
  for (auto& f : files_->list()) names.insert(f);
  return {names.begin(), names.end()};
}

std::vector<std::string> RedoStore::list_datasets(const std::string& file, uint64_t snapshot) {
  std::set<std::string> names;
  {
    auto olock = overlay_.read_lock();
    for (auto& d : overlay_.datasets(file, snapshot)) names.insert(d);
  }
  auto lock = files_->lock();
  if (files_->exists(file))
    for (auto& d : hdf5::list_datasets(files_->handle(file))) names.insert(d);
  return {names.begin(), names.end()};
}

std::optional<DatasetSpec> RedoStore::dataset_spec(const std::string& file, const std::string& path,
                                                   uint64_t snapshot) {
  std::vector<Overlay::CatalogVersion> versions;
  {
    auto olock = overlay_.read_lock();
    versions = overlay_.dataset_versions(file, path, snapshot);
  }
  // The file's spec (the flusher only ever grows it, and only with
  // transactions at or below every open snapshot), then the overlay on top.
  std::optional<DatasetSpec> base;
  if (!catalog_.find_spec(file, path, &base)) {
    auto lock = files_->lock();
    if (files_->exists(file)) {
      hid_t h = files_->handle(file);
      if (hdf5::dataset_exists(h, path)) base = hdf5::read_spec(h, path);
    }
    catalog_.put_spec(file, path, base);  // under the lock: see catalog_cache.hpp
  }
  return Overlay::apply(base, versions);
}

// Attributes follow the catalog's rule: the overlay first, then the file,
// whose state is every transaction up to some txid at or below the snapshot
// (the flusher applies nothing above an open snapshot). Replaying the
// overlay's versions in order on top of it gives the state at the snapshot,
// since for each name the last set or delete decides.
std::vector<std::string> RedoStore::attribute_names(const std::string& file, const std::string& object,
                                                    uint64_t snapshot) {
  std::vector<Overlay::AttributeVersion> versions;
  {
    auto olock = overlay_.read_lock();
    versions = overlay_.attribute_versions(file, object, snapshot);
  }
  std::set<std::string> names;
  {
    auto lock = files_->lock();
    if (files_->exists(file)) {
      hid_t h = files_->handle(file);
      if (hdf5::object_exists(h, object))
        for (auto& n : hdf5::list_attributes(h, object)) names.insert(n);
    }
  }
  for (const auto& v : versions) {
    if (v.deleted) names.erase(v.name);
    else names.insert(v.name);
  }
  return {names.begin(), names.end()};
}

std::optional<AttributeValue> RedoStore::attribute(const std::string& file, const std::string& object,
                                                   const std::string& name, uint64_t snapshot) {
  {
    auto olock = overlay_.read_lock();
    std::vector<Overlay::AttributeVersion> versions = overlay_.attribute_versions(file, object, snapshot);
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      if (it->name != name) continue;
      if (it->deleted) return std::nullopt;
      return it->value;
    }
  }
  auto lock = files_->lock();
  if (!files_->exists(file)) return std::nullopt;
  hid_t h = files_->handle(file);
  if (!hdf5::object_exists(h, object)) return std::nullopt;
  try {
    return hdf5::read_attribute(h, object, name);
  } catch (const NotFoundError&) {
    return std::nullopt;
  }
}

bool RedoStore::read_chunk_stored(const ChunkKey& key, uint64_t snapshot, std::string* stored,
                                  uint32_t* filter_mask) {
  {
    auto olock = overlay_.read_lock();
    if (const ChunkVersion* v = overlay_.find_chunk(key, snapshot)) {
      *stored = journal::read_chunk_file(*env(), *v->dir, v->chunk_file, v->offset, v->size, v->hash);
      *filter_mask = v->filter_mask;
      return true;
    }
  }
  auto lock = files_->lock();
  // The dataset may be created in the overlay and not yet in the file.
  if (!files_->exists(key.file)) return false;
  hid_t h = files_->handle(key.file);
  if (!hdf5::dataset_exists(h, key.dataset)) return false;
  std::vector<uint8_t> bytes;
  if (!hdf5::read_chunk_stored(h, key.dataset, key.coords, &bytes, filter_mask)) return false;
  stored->assign(bytes.begin(), bytes.end());
  return true;
}

}  // namespace h5tx
