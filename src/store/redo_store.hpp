// Redo mode (the DirectoryStorage model): transactions write whole chunk
// copies into the journal, commit renames their directory to _done, a
// background flusher applies committed transactions to the HDF5 files, and
// reads are served from an overlay of the journal over the HDF5 files.
// RedoStore owns the shared machinery; RedoTransaction
// (store/redo_transaction.hpp) is one transaction.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "flush/data_files.hpp"
#include "flush/flusher.hpp"
#include "journal/spare_dirs.hpp"
#include "journal/tx_reader.hpp"
#include "journal/tx_stream.hpp"
#include "store/commit_queue.hpp"
#include "store/committed_view.hpp"
#include "store/conflict_index.hpp"
#include "store/history_view.hpp"
#include "flush/history_index.hpp"
#include "flush/history_record.hpp"
#include "store/impl.hpp"
#include "store/layout.hpp"
#include "store/snapshot_registry.hpp"

namespace h5tx {

// The factory the dispatcher in store.cpp calls with an opened, locked layout.
std::unique_ptr<StoreImpl> open_redo_store(std::unique_ptr<Layout> layout, const Options& options);

class RedoStore : public StoreImpl {
 public:
  RedoStore(std::unique_ptr<Layout> layout, const Options& options);
  ~RedoStore() override;

  // Recovery (read-write) or a read-only scan, then starts the flusher.
  void open();

  Mode mode() const override { return Mode::Redo; }
  const std::string& home() const override { return home_; }
  std::unique_ptr<TransactionImpl> begin(const TxOptions& options) override;
  void flush() override;
  void close() override;
  StoreStats stats() override;
  std::vector<TransactionInfo> pending() override;
  std::string stage() override;

  // --- used by RedoTransaction ------------------------------------------
  Env* env() const { return env_; }
  Layout& layout() { return *layout_; }
  const Options& options() const { return options_; }
  bool read_only() const { return read_only_; }
  void check_open() const;

  // The committed state, as of a transaction's snapshot.
  CommittedView& view() { return *view_; }

  SnapshotRegistry& snapshots() { return snapshots_; }

  // History (Options::history): the view as of an older txid, and the pins
  // of as-of transactions. pin_as_of checks `txid` (committed, not older
  // than history/OLDEST, after its pin is visible to pack: procs/asof-*)
  // and returns it; errors as TxOptions::as_of says.
  HistoryView& history_view() { return *history_view_; }
  uint64_t pin_as_of(uint64_t txid, bool read_only) EXCLUDES(asof_mu_);
  void unpin_as_of(uint64_t txid) EXCLUDES(asof_mu_);
  CommitQueue& commit_queue() { return queue_; }
  journal::SpareDirs& spare_dirs() { return spares_; }
  ConflictIndex& conflicts() { return conflicts_; }  // only inside the commit queue's rename step
  Flusher& flusher() { return *flusher_; }
  // The applier of a transaction stream (store/importer.hpp), which must
  // be the store's only committer: makes `tx` (a whole MANIFEST with its
  // chunks inline, as journal/tx_stream.hpp carries it) a committed
  // transaction with its own txid, as a commit would (working_<id>_temp,
  // synced, renamed working_<txid>_done, journal/ synced), then queues it
  // for the flusher. tx.txid must exceed every txid committed here.
  void import_transaction(const journal::StreamTx& tx);
  // Runs after a commit is durable, in txid order: makes it visible.
  void publish(std::shared_ptr<const journal::Manifest> m, const std::string& dir);

  // Several writer processes: the commit section this process holds (only
  // inside the commit queue's rename step).
  procs::CommitSection& commit_section() { return *section_; }
  // This process renamed `txid` to _done (publish() follows once durable);
  // under the section, so every commit below txid is known here.
  void renamed(uint64_t txid) EXCLUDES(live_mu_);

  std::atomic<uint64_t> commit_fsyncs{0};  // file + directory fsyncs done by commits

 private:
  void add_committed(const journal::Manifest& m, const std::string& dir);
  // A reader process (Layout::live_reader): brings the overlay up to the
  // journal as it is now (new _done directories in, flushed ones out).
  void refresh_live() EXCLUDES(live_mu_);
  // Writes this process's oldest open snapshot (or none) to its
  // registration (procs.hpp).
  void sync_registration() EXCLUDES(reg_mu_);
  // The writer's flusher: reads the reader processes' registrations.
  void poll_registrations();
  // Several writer processes (Layout::multi_writer), under the commit
  // queue's lock and procs/commit: the other processes' new commits into
  // the overlay, the conflict index and the flusher's queue; what another
  // process's flusher applied out of them (unless this one flushes).
  // full: also when the txid counter says nothing was committed since the
  // last catch-up (to see what another flusher applied); else that case
  // costs one read of the counter.
  void catch_up(bool full) EXCLUDES(live_mu_);
  // Takes procs/commit (unless held) and catches up, under the queue lock.
  void catch_up_in_section(bool full);
  std::chrono::milliseconds section_wait() const;
  // begin(): true if the counter (read without the section) shows a commit
  // this process has not caught up with (or cannot be read whole).
  bool counter_moved();
  // The flusher role hook (Flusher::Hooks::role).
  bool flusher_role() EXCLUDES(role_mu_);
  // Flusher::Hooks::failed: lets go of the role (another process takes it).
  void let_go_of_failed_role() EXCLUDES(role_mu_);
  // Removes dead writer processes' _temp directories (flush/orphan_temps.hpp).
  void sweep_orphans();
  procs::Registration* registration() const {
    return layout_->live_reader() ? layout_->live_reader() : own_reg_.get();
  }

  std::unique_ptr<Layout> layout_;  // released (unlocked) by close()
  Env* env_;
  std::string home_;
  bool read_only_;
  Options options_;
  std::unique_ptr<DataFiles> files_;
  std::unique_ptr<CommittedView> view_;  // over *files_
  SnapshotRegistry snapshots_;
  CommitQueue queue_;
  journal::SpareDirs spares_;
  ConflictIndex conflicts_;
  std::unique_ptr<Flusher> flusher_;
  std::unique_ptr<HistoryRecorder> recorder_;  // writer with history: the flusher thread's
  std::unique_ptr<HistoryIndex> history_index_;
  std::unique_ptr<HistoryView> history_view_;
  void set_as_of_registration() REQUIRES(asof_mu_);
  void add_history_stats(StoreStats* s);
  Mutex asof_mu_;  // leaf; writes the registration file under it
  std::multiset<uint64_t> as_of_open_ GUARDED_BY(asof_mu_);
  std::unique_ptr<procs::Registration> as_of_reg_ GUARDED_BY(asof_mu_);
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> committed_{0};
  // Writer: the highest txid the reader processes allow the flusher (as of
  // the last poll_registrations; 0 before the first).
  std::atomic<uint64_t> external_limit_{0};
  // Reader process: the committed transactions in the overlay, by txid.
  Mutex live_mu_;
  std::map<uint64_t, journal::Manifest> live_known_ GUARDED_BY(live_mu_);
  // Several writer processes.
  bool multi_ = false;
  std::unique_ptr<procs::Registration> own_reg_;         // this writer's snapshot registration
  std::unique_ptr<procs::CommitSection> section_;        // under the commit queue's lock
  uint64_t known_max_ GUARDED_BY(live_mu_) = 0;          // newest txid known committed
  std::set<uint64_t> own_renamed_ GUARDED_BY(live_mu_);  // renamed here, not (yet) published
  Mutex role_mu_;  // taking the flusher role (before the commit queue's lock)
  std::unique_ptr<FileLock> flusher_lock_ GUARDED_BY(role_mu_);  // procs/flusher
  std::atomic<bool> is_flusher_{false};
  std::atomic<uint64_t> last_sweep_us_{0};  // Env clock of the last sweep_orphans
  std::atomic<uint64_t> counter_seen_{0};   // the counter (next txid) as of the last catch-up or commit
  std::unique_ptr<File> counter_file_
      GUARDED_BY(live_mu_);  // procs/commit, read by begin() without the section
  Mutex reg_mu_;             // orders registration writes after the state they describe
  bool reg_closed_ GUARDED_BY(reg_mu_) = false;
  uint64_t reg_written_ GUARDED_BY(reg_mu_) = procs::kNoSnapshot;  // the registration's value
};

}  // namespace h5tx
