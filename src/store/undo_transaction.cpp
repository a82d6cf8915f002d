// Undo-mode transactions: in-place HDF5 changes under per-file undo
// journals in journal/undo_<txid>/, committed for all files at once by
// renaming that directory; savepoints as nested undo transactions.
#include "store/undo_transaction.hpp"

#include <algorithm>
#include <cstdio>

#include "h5tx/error.hpp"
#include "hdf5/chunk_codec.hpp"
#include "hdf5/dataset_ops.hpp"
#include "hdf5/handle.hpp"
#include "util/shape_text.hpp"
#include "store/undo_store.hpp"
#include "undo/driver.hpp"

namespace h5tx {

namespace {

std::string shape_str(const Shape& s) {
  return shape_text(s);
}

}  // namespace

UndoStoreTransaction::UndoStoreTransaction(std::shared_ptr<UndoState> state, Access access, uint64_t txid)
    : st_(std::move(state)), access_(access), txid_(txid) {
  {
    MutexLock lk(st_->mu);
    snapshot_ = st_->last_committed_txid;
  }
  if (access_ == Access::Write) dir_ = st_->undo_dir(txid_);
}

UndoStoreTransaction::~UndoStoreTransaction() {
  if (!active_) return;
  try {
    abort();
  } catch (const std::exception& e) {
    // A destructor cannot throw; abort() already marked the store failed.
    std::fprintf(stderr, "h5tx: aborting undo transaction %llu: %s\n", static_cast<unsigned long long>(txid_),
                 e.what());
  }
}

// --- helpers ---------------------------------------------------------------

void UndoStoreTransaction::check_active(const char* op) const {
  if (!active_) throw StateError(st_->home, std::string("cannot ") + op + ": the transaction has ended");
}

void UndoStoreTransaction::check_writer(const char* op) const {
  check_active(op);
  if (access_ != Access::Write) {
    throw StateError(st_->home, std::string("cannot ") + op + " in a read transaction");
  }
}

std::string UndoStoreTransaction::journal_path(const std::string& file) const {
  return path_join(dir_, file + kJournalSuffix);
}

UndoOptions UndoStoreTransaction::file_options(const std::string& journal) const {
  UndoOptions o;
  o.env = st_->env;
  o.journal_path = journal;
  o.page_size = st_->page_size;
  o.follow_symlinks = false;  // nothing below HOME is followed
  return o;
}

void UndoStoreTransaction::ensure_dir() {
  if (dir_made_) return;
  std::string spare = st_->take_spare_dir();
  if (!spare.empty()) {
    // Left by an earlier single-file commit: durable and holding nothing
    // recovery would act on. Its name keeps that transaction's txid.
    dir_ = spare;
    dir_made_ = true;
    return;
  }
  // The directory must be durable before a journal in it protects anything.
  st_->env->create_dir(dir_);
  st_->env->sync_dir(st_->open_layout().journal_dir());
  dir_made_ = true;
}

UndoStoreTransaction::OpenFile& UndoStoreTransaction::open_for_write(const std::string& file) {
  Layout::check_file_name(file);
  auto it = files_.find(file);
  if (it != files_.end()) return it->second;
  std::string path = st_->data_path(file);
  if (!st_->env->exists(path)) throw NotFoundError(path, "no such data file");
  ensure_dir();
  OpenFile f;
  // A file an earlier commit kept open has no undo transaction and nothing
  // unflushed: this transaction's journal starts from its bytes on disk.
  f.file = st_->take_kept(file);
  f.was_kept = f.file != nullptr;
  // HDF5's file lock, exclusive for the transaction: another process that
  // has the file open (an h5py or h5dump reader) keeps this transaction out
  // of it, with a BusyError naming the file.
  try {
    if (f.file)
      undo::set_file_lock(f.file->hid(), LockKind::Exclusive);
    else
      f.file = std::make_unique<UndoFile>(UndoFile::open(path, file_options(journal_path(file))));
  } catch (const BusyError& e) {
    if (f.file) st_->keep(file, std::move(f.file));  // still open, between transactions
    throw BusyError(path,
                    "a write transaction cannot change this data file: another process has it open "
                    "(HDF5's file lock, e.g. an h5py or h5dump reader); retry once it has closed it",
                    e.sys_errno());
  }
  // The journal stays open between transactions while the directory is reused.
  undo::tx_start_kept(f.file->hid(), journal_path(file));
  f.base = savepoints_.size();
  return files_.emplace(file, std::move(f)).first->second;
}

hid_t UndoStoreTransaction::open(const std::string& file) {
  if (access_ == Access::Write) return open_for_write(file).file->hid();
  Layout::check_file_name(file);
  auto it = files_.find(file);
  if (it != files_.end()) return it->second.file->hid();
  std::string path = st_->data_path(file);
  if (st_->hidden_files.count(file) || !st_->env->exists(path)) {
    throw NotFoundError(path, "no such data file");
  }
  auto pending = st_->pending_journals.find(file);
  OpenFile f;
  UndoOptions o = file_options(pending == st_->pending_journals.end() ? "" : pending->second);
  o.read_only = true;
  f.file = std::make_unique<UndoFile>(UndoFile::open(path, o));
  return files_.emplace(file, std::move(f)).first->second.file->hid();
}

void UndoStoreTransaction::merge_to(OpenFile& f, int depth) {
  while (undo::tx_depth(f.file->hid()) > depth) undo::tx_commit(f.file->hid());
}

void UndoStoreTransaction::reopen(OpenFile& f) {
  // After an inner abort HDF5's caches are stale. Closing inside the
  // transaction parks it in the driver; opening again resumes it.
  std::string path = f.file->path();
  f.file->close();
  f.file = std::make_unique<UndoFile>(UndoFile::open(path, file_options(journal_path(path_basename(path)))));
}

void UndoStoreTransaction::drop_file(const std::string& name, OpenFile& f) {
  // Reverts everything this transaction did to the file and closes it
  // (its emptied journal is removed on close); a file it created goes.
  merge_to(f, 1);
  undo::tx_abort(f.file->hid());
  f.file->close();
  if (f.created) {
    std::string path = st_->data_path(name);
    if (st_->env->exists(path)) st_->env->remove_file(path);
  }
}

size_t UndoStoreTransaction::savepoint_index(const Savepoint& sp, const char* op) const {
  for (size_t i = 0; i < savepoints_.size(); i++) {
    if (savepoints_[i].id == sp.id) return i;
  }
  throw StateError(st_->home, std::string("cannot ") + op + ": savepoint " + std::to_string(sp.id) +
                                  " was released or rolled back past");
}

void UndoStoreTransaction::run_hooks(size_t keep) {
  std::exception_ptr first;
  while (hooks_.size() > keep) {
    std::function<void()> hook = std::move(hooks_.back());
    hooks_.pop_back();
    try {
      hook();
    } catch (...) {
      // Every hook runs; the first failure is rethrown below.
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

void UndoStoreTransaction::revert_all() {
  for (auto& kv : files_) {
    drop_file(kv.first, kv.second);
    if (kv.second.was_kept) {
      // The file was open before this transaction, and is again (the abort
      // dropped HDF5's closing writes, so its bytes are those it had then).
      st_->keep(kv.first, std::make_unique<UndoFile>(UndoFile::open(st_->data_path(kv.first),
                                                                    file_options(journal_path(kv.first)))));
    } else if (!kv.second.created) {
      // HDF5 marks the superblock "open for writing" when it opens a file
      // read-write, before the undo transaction starts, and the abort kept
      // it from clearing the mark at close. One plain open and close clears
      // it, so an aborted file is byte-identical to its state before.
      UndoFile::open(st_->data_path(kv.first), file_options(journal_path(kv.first))).close();
    }
  }
  files_.clear();
  for (const std::string& name : created_) {
    std::string path = st_->data_path(name);
    if (st_->env->exists(path)) st_->env->remove_file(path);
  }
  if (!created_.empty()) st_->env->sync_dir(st_->open_layout().data_dir());
  // Every journal is invalidated and every created file gone: the directory
  // is garbage now (recovery would find nothing to do in it).
  if (dir_made_) st_->env->remove_flat_dir(dir_);
}

void UndoStoreTransaction::close_files() {
  for (auto& kv : files_) kv.second.file->close();
  files_.clear();
}

// After the commit point: each file stays open for the next write
// transaction, unless the store is closing or objects opened through hid()
// are still open (closing the file closes them, as the user guide says).
void UndoStoreTransaction::keep_files() {
  bool closing;
  {
    MutexLock lk(st_->mu);
    closing = st_->closed;
  }
  while (!files_.empty()) {
    auto it = files_.begin();
    std::unique_ptr<UndoFile> f = std::move(it->second.file);
    const std::string name = it->first;
    files_.erase(it);  // before anything can throw: files_ never holds a moved-from file
    bool alone;
    {
      hdf5::Lock l(hdf5::mutex());
      alone = H5Fget_obj_count(f->hid(), H5F_OBJ_ALL) == 1;
    }
    if (!closing && alone) {
      st_->keep(name, std::move(f));
    } else {
      f->close();
    }
  }
}

void UndoStoreTransaction::end() {
  active_ = false;
  st_->release(access_);
}

// --- catalog and chunks ----------------------------------------------------

void UndoStoreTransaction::create_file(const std::string& file) {
  check_writer("create a file");
  Layout::check_file_name(file);
  std::string path = st_->data_path(file);
  if (files_.count(file) || st_->env->exists(path)) {
    throw AlreadyExistsError(path, "data file exists");
  }
  ensure_dir();
  // Durably listed before it exists, so recovery removes it after a crash.
  if (std::find(created_.begin(), created_.end(), file) == created_.end()) {
    created_.push_back(file);
    st_->env->write_file_atomic(path_join(dir_, kCreatedFile),
                                journal::encode_created(created_, created_ids_));
  }
  // Make the file empty ourselves and record which file it is before HDF5
  // writes a byte: recovery removes a listed file only if it is still this
  // one (or empty), so a stray CREATED cannot delete a committed file.
  st_->env->open(path, OpenMode::CreateNew);
  // Its name durable now (the driver skips that for a file that exists), and
  // with it the removal of any earlier file of this name that a rollback
  // dropped, so the name can only lead to the file recorded below.
  st_->env->sync_dir(st_->open_layout().data_dir());
  created_ids_[file] = st_->env->file_identity(path);
  st_->env->write_file_atomic(path_join(dir_, kCreatedFile), journal::encode_created(created_, created_ids_));
  OpenFile f;
  f.created = true;
  f.base = savepoints_.size();
  f.file = std::make_unique<UndoFile>(UndoFile::create(path, file_options(journal_path(file))));
  undo::tx_start_kept(f.file->hid(), journal_path(file));
  files_.emplace(file, std::move(f));
}

void UndoStoreTransaction::create_dataset(const std::string& file, const std::string& path,
                                          const DatasetSpec& spec) {
  check_writer("create a dataset");
  hid_t h = open_for_write(file).file->hid();
  if (hdf5::dataset_exists(h, path)) {
    DatasetSpec have = hdf5::read_spec(h, path);
    if (!hdf5::same_definition(have, spec) || have.shape != spec.shape) {
      throw AlreadyExistsError(file + ":" + path, "a dataset with a different spec exists");
    }
    return;
  }
  hdf5::create_dataset(h, path, spec);
}

void UndoStoreTransaction::extend_dataset(const std::string& file, const std::string& path,
                                          const Shape& new_shape) {
  check_writer("extend a dataset");
  hid_t h = open_for_write(file).file->hid();
  DatasetSpec have = hdf5::read_spec(h, path);
  for (size_t i = 0; i < have.shape.size() && i < new_shape.size(); i++) {
    if (new_shape[i] < have.shape[i]) {
      throw InvalidArgumentError(file + ":" + path, "new shape " + shape_str(new_shape) +
                                                        " is smaller than the current " +
                                                        shape_str(have.shape) + "; datasets only grow");
    }
  }
  hdf5::extend_dataset(h, path, new_shape);
}

void UndoStoreTransaction::set_attribute(const std::string& file, const std::string& object,
                                         const std::string& name, const AttributeValue& value) {
  check_writer("set an attribute");
  hdf5::set_attribute(open_for_write(file).file->hid(), object, name, value);
}

AttributeValue UndoStoreTransaction::get_attribute(const std::string& file, const std::string& object,
                                                   const std::string& name) {
  check_active("read an attribute");
  hid_t h = open(file);
  try {
    return hdf5::read_attribute(h, object, name);
  } catch (const NotFoundError& e) {
    throw NotFoundError(file + ":" + e.path(), e.detail());
  }
}

std::vector<std::string> UndoStoreTransaction::list_attributes(const std::string& file,
                                                               const std::string& object) {
  check_active("list attributes");
  hid_t h = open(file);
  try {
    return hdf5::list_attributes(h, object);
  } catch (const NotFoundError& e) {
    throw NotFoundError(file + ":" + e.path(), e.detail());
  }
}

void UndoStoreTransaction::delete_attribute(const std::string& file, const std::string& object,
                                            const std::string& name) {
  check_writer("delete an attribute");
  hid_t h = open_for_write(file).file->hid();
  bool deleted = false;
  try {
    deleted = hdf5::delete_attribute(h, object, name);
  } catch (const NotFoundError& e) {
    throw NotFoundError(file + ":" + e.path(), e.detail());
  }
  if (!deleted) throw NotFoundError(file + ":" + object + "@" + name, "no such attribute");
}

void UndoStoreTransaction::write_chunk(const std::string& file, const std::string& dataset,
                                       const Shape& coords, const void* data, size_t size) {
  check_writer("write a chunk");
  hid_t h = open_for_write(file).file->hid();
  const DatasetSpec& spec = spec_for_write(file, dataset);
  if (size != hdf5::chunk_bytes(spec)) {
    throw InvalidArgumentError(file + ":" + dataset, "chunk of " + std::to_string(size) +
                                                         " bytes; the dataset's chunks have " +
                                                         std::to_string(hdf5::chunk_bytes(spec)));
  }
  if (spec.compression == Compression::None && !spec.fletcher32) {
    // No filter: the stored chunk is the raw one (no copy).
    hdf5::write_chunk(h, dataset, coords, 0, data, size);
    return;
  }
  uint32_t mask = 0;
  std::vector<uint8_t> stored = hdf5::encode_chunk(spec, data, size, &mask);
  hdf5::write_chunk(h, dataset, coords, mask, stored.data(), stored.size());
}

const DatasetSpec& UndoStoreTransaction::spec_for_write(const std::string& file, const std::string& dataset) {
  std::string key = file + ":" + dataset;
  auto it = specs_.find(key);
  if (it == specs_.end()) {
    it = specs_.emplace(key, hdf5::read_spec(open_for_write(file).file->hid(), dataset)).first;
  }
  return it->second;
}

std::vector<uint8_t> UndoStoreTransaction::read_chunk(const std::string& file, const std::string& dataset,
                                                      const Shape& coords) {
  check_active("read a chunk");
  hid_t h = open(file);
  DatasetSpec spec = hdf5::read_spec(h, dataset);
  std::vector<uint8_t> stored;
  uint32_t mask = 0;
  if (!hdf5::read_chunk_stored(h, dataset, coords, &stored, &mask)) return hdf5::fill_chunk(spec);
  return hdf5::decode_chunk(spec, stored.data(), stored.size(), mask,
                            file + ":" + dataset + " chunk " + shape_str(coords));
}

std::vector<std::string> UndoStoreTransaction::list_files() {
  check_active("list files");
  std::vector<std::string> out;
  for (const std::string& name : st_->env->list_dir(st_->open_layout().data_dir())) {
    if (!st_->hidden_files.count(name)) out.push_back(name);
  }
  return out;
}

std::vector<std::string> UndoStoreTransaction::list_datasets(const std::string& file) {
  check_active("list datasets");
  return hdf5::list_datasets(open(file));
}

DatasetSpec UndoStoreTransaction::dataset_spec(const std::string& file, const std::string& dataset) {
  check_active("read a dataset spec");
  return hdf5::read_spec(open(file), dataset);
}

hid_t UndoStoreTransaction::hid(const std::string& file) {
  check_active("get a file id");
  specs_.clear();
  return open(file);
}

void UndoStoreTransaction::on_abort(std::function<void()> hook) {
  check_active("register an abort hook");
  hooks_.push_back(std::move(hook));
}

// --- savepoints ------------------------------------------------------------
//
// A file first touched while k savepoints were open (base k) runs at depth
// 1 + (open savepoints - k): its outermost level, plus one nested level per
// savepoint taken since. Savepoint j (0-based) of such a file with k <= j is
// its level j - k + 2; a file with k > j was untouched at savepoint j.

Savepoint UndoStoreTransaction::savepoint() {
  check_active("take a savepoint");
  if (access_ == Access::Write) {
    for (auto& kv : files_) undo::tx_start(kv.second.file->hid());
  }
  savepoints_.push_back(SavepointMark{next_savepoint_++, hooks_.size()});
  return Savepoint{savepoints_.back().id};
}

void UndoStoreTransaction::rollback_to(const Savepoint& sp) {
  check_active("roll back to a savepoint");
  size_t j = savepoint_index(sp, "roll back");
  specs_.clear();
  if (access_ == Access::Write) {
    try {
      for (auto it = files_.begin(); it != files_.end();) {
        OpenFile& f = it->second;
        if (f.base <= j) {
          merge_to(f, int(j - f.base) + 2);
          undo::tx_abort(f.file->hid());
          reopen(f);
          undo::tx_start(f.file->hid());  // savepoint j stays valid
          ++it;
        } else {
          drop_file(it->first, f);
          it = files_.erase(it);
        }
      }
    } catch (const Error&) {
      // The files are at mixed depths now: end the whole transaction.
      std::exception_ptr first = std::current_exception();
      try {
        abort();
      } catch (const Error&) {
        // abort() marked the store failed; the first error says what broke.
      }
      std::rethrow_exception(first);
    }
  }
  savepoints_.resize(j + 1);
  run_hooks(savepoints_[j].hooks);
}

void UndoStoreTransaction::release(const Savepoint& sp) {
  check_active("release a savepoint");
  size_t j = savepoint_index(sp, "release");
  savepoints_.resize(j);
  if (access_ != Access::Write) return;
  for (auto& kv : files_) {
    OpenFile& f = kv.second;
    size_t base = std::min(f.base, j);
    merge_to(f, 1 + int(j - base));
    f.base = base;
  }
}

// --- commit and abort ------------------------------------------------------

// Commit, in three steps (formats/undo-store.md, "Commit"): every file's
// data written and synced with its journal still valid (prepare_files);
// the commit point, one rename of the directory made durable
// (rename_committed); then the journals are garbage (finish_committed).
// One file the transaction did not create commits in place instead.
void UndoStoreTransaction::commit() {
  check_active("commit");
  if (access_ == Access::Read) {
    close_files();
    end();
    return;
  }
  prepare_files();
  if (files_.size() == 1 && created_.empty()) {
    commit_in_place();
    return;
  }
  if (files_.empty()) {
    // Nothing to keep (files created and rolled back, or nothing touched).
    if (dir_made_) st_->env->remove_flat_dir(dir_);
    {
      MutexLock lk(st_->mu);
      st_->committed++;
    }
    end();
    return;
  }
  const std::string done = rename_committed();
  {
    MutexLock lk(st_->mu);
    st_->committed++;
    st_->last_committed_txid = std::max(st_->last_committed_txid, txid_);
  }
  finish_committed(done);
}

// Aborts the transaction after an error before its commit point, then
// rethrows that error (abort's own failure marks the store failed).
[[noreturn]] void UndoStoreTransaction::abort_and_rethrow(std::exception_ptr first) {
  try {
    abort();
  } catch (const Error&) {
    // abort() marked the store failed; report the first error.
  }
  std::rethrow_exception(first);
}

void UndoStoreTransaction::prepare_files() {
  try {
    for (auto& kv : files_) {
      merge_to(kv.second, 1);
      undo::tx_prepare(kv.second.file->hid());
    }
    if (!created_.empty()) st_->env->sync_dir(st_->open_layout().data_dir());
  } catch (const Error&) {
    abort_and_rethrow(std::current_exception());
  }
}

// The commit point: journal/undo_<txid> renamed to undo_<txid>_committed,
// and journal/ synced. Returns the new name. A rename that surely did not
// happen is an ordinary failed commit (aborted); one whose outcome is
// unknown leaves everything for recovery and fails the store.
std::string UndoStoreTransaction::rename_committed() {
  Env& env = *st_->env;
  const std::string done = dir_ + kCommittedSuffix;
  std::string unknown;
  try {
    env.rename(dir_, done);
  } catch (const Error& e) {
    if (env.exists(dir_) && !env.exists(done)) abort_and_rethrow(std::current_exception());
    unknown = e.what();
  }
  if (unknown.empty()) {
    try {
      env.sync_dir(st_->open_layout().journal_dir());
    } catch (const Error& e) {
      unknown = e.what();
    }
  }
  if (!unknown.empty()) {
    // The rename may or may not be durable. The files hold the new state
    // (synced) and their journals the old one: recovery settles it either
    // way, all files alike. Leave both untouched until then.
    for (auto& kv : files_) undo::tx_forget(kv.second.file->hid());
    close_files();
    std::string why = "commit of undo transaction " + Layout::txid_hex(txid_) + ": its outcome is unknown (" +
                      unknown + ")";
    st_->mark_failed(why);
    end();
    throw IoError(done, why + "; reopen the store: recovery keeps it or reverts it entirely");
  }
  return done;
}

// Committed: the journals are garbage; the files stay open for the next
// transaction.
void UndoStoreTransaction::finish_committed(const std::string& done) {
  try {
    for (auto& kv : files_) undo::tx_forget(kv.second.file->hid());
    keep_files();
    st_->env->remove_flat_dir(done);
  } catch (const Error& e) {
    fail(done,
         "undo transaction " + Layout::txid_hex(txid_) +
             " committed, but cleaning up after it failed: " + e.what(),
         "");
  }
  end();
}

// Ends the transaction after an error at or past its commit point: the store
// refuses new transactions until it is reopened.
void UndoStoreTransaction::fail(const std::string& path, const std::string& why, const std::string& advice) {
  files_.clear();
  st_->mark_failed(why);
  end();
  throw IoError(path, why + advice);
}

// A transaction that changed one file it did not create commits as the bare
// driver does: the invalidation of that file's journal is the commit point
// (durable once synced). Nothing else in the directory would make recovery
// act (no CREATED; other journals, of files kept open, hold no transaction),
// so no rename is needed, and the directory stays for the next transaction:
// 3 syncs per transaction (journal, data, invalidation), as the driver alone.
void UndoStoreTransaction::commit_in_place() {
  OpenFile& f = files_.begin()->second;
  try {
    undo::tx_commit(f.file->hid());
  } catch (const Error& e) {
    // The invalidation may or may not have reached the disk: recovery
    // settles it (the journal stays as it is; the file is unusable).
    fail(journal_path(files_.begin()->first),
         "commit of undo transaction " + Layout::txid_hex(txid_) + ": its outcome is unknown (" + e.what() +
             ")",
         "; reopen the store: recovery keeps it or reverts it");
  }
  {
    MutexLock lk(st_->mu);
    st_->committed++;
    st_->last_committed_txid = std::max(st_->last_committed_txid, txid_);
    st_->spare_dir = dir_;
  }
  try {
    keep_files();
  } catch (const Error& e) {
    fail(dir_,
         "undo transaction " + Layout::txid_hex(txid_) +
             " committed, but closing its file failed: " + e.what(),
         "");
  }
  end();
}

void UndoStoreTransaction::abort() {
  check_active("abort");
  std::exception_ptr failure;
  if (access_ == Access::Write) {
    try {
      revert_all();
    } catch (const Error& e) {
      // Journals that were not reverted stay pending: recovery on the next
      // open reverts them. Until then the store refuses new transactions.
      failure = std::current_exception();
      files_.clear();
      st_->mark_failed("aborting undo transaction " + Layout::txid_hex(txid_) + " failed: " + e.what());
    }
  } else {
    close_files();
  }
  end();
  try {
    run_hooks(0);
  } catch (...) {
    // A hook's failure is reported unless the abort itself failed.
    if (!failure) failure = std::current_exception();
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace h5tx
