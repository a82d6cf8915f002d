// Redo mode: the store's lifecycle (open, publishing commits, flush, close,
// stats). Recovery is store/redo_recovery.*, reads of the committed state
// store/committed_view.*. See store/redo_store.hpp.
#include "store/redo_store.hpp"

#include <algorithm>
#include <exception>
#include <set>

#include "h5tx/error.hpp"
#include "journal/tx_reader.hpp"
#include "store/redo_recovery.hpp"
#include "store/redo_transaction.hpp"

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
  view_ = std::make_unique<CommittedView>(layout_->env(), files_.get());
  Flusher::Hooks hooks;
  hooks.flush_limit = [this] { return snapshots_.flush_limit(); };
  hooks.flushed = [this](const std::vector<journal::Manifest>& ms) { view_->flushed(ms); };
  hooks.retired = [this](const std::string& dir) { spares_.offer(dir); };
  hooks.replenish = [this] {
    // A few at a time, so a due batch never waits long behind this.
    for (int i = 0; i < 4 && spares_.size() < kSpareDirsAhead; i++)
      spares_.make_fresh(layout_->journal_dir(), layout_->allocate_txid());
    return spares_.size() < kSpareDirsAhead;
  };
  flusher_ = std::make_unique<Flusher>(layout_->env(), layout_->journal_dir(), files_.get(), options_,
                                       std::move(hooks));
  snapshots_.set_on_change([this] { flusher_->notify(); });
}

RedoStore::~RedoStore() {
  // Store::~Store closes (and reports errors); this only makes sure the
  // thread is gone.
  flusher_->stop();
}

void RedoStore::open() {
  // Queue the committed transactions in txid order and build the overlay.
  const std::vector<CommittedTx> committed =
      read_only() ? scan_redo_journal(*layout_, *files_) : recover_redo_journal(*layout_, *files_);
  for (const auto& c : committed) add_committed(c.manifest, c.dir);
  if (!read_only()) flusher_->start();
}

void RedoStore::add_committed(const journal::Manifest& m, const std::string& dir) {
  view_->add(m, dir);
  snapshots_.committed(m.txid);
  flusher_->enqueue(m.info(), dir);
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
    MutexLock lock(files_->mutex());
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

std::vector<TransactionInfo> RedoStore::pending() {
  return flusher_->pending();
}

}  // namespace h5tx
