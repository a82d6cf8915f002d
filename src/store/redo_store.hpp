// Redo mode (the DirectoryStorage model): transactions write whole chunk
// copies into the journal, commit renames their directory to _done, a
// background flusher applies committed transactions to the HDF5 files, and
// reads are served from an overlay of the journal over the HDF5 files.
// RedoStore owns the shared machinery; RedoTransaction
// (store/redo_transaction.hpp) is one transaction.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flush/data_files.hpp"
#include "flush/flusher.hpp"
#include "journal/spare_dirs.hpp"
#include "journal/tx_reader.hpp"
#include "store/catalog_cache.hpp"
#include "store/commit_queue.hpp"
#include "store/conflict_index.hpp"
#include "store/impl.hpp"
#include "store/layout.hpp"
#include "store/overlay.hpp"
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

  // --- used by RedoTransaction ------------------------------------------
  Env* env() const { return env_; }
  Layout& layout() { return *layout_; }
  const Options& options() const { return options_; }
  bool read_only() const { return read_only_; }
  void check_open() const;

  // The committed state at `snapshot`.
  bool file_exists(const std::string& file, uint64_t snapshot);
  std::vector<std::string> list_files(uint64_t snapshot);
  std::vector<std::string> list_datasets(const std::string& file, uint64_t snapshot);
  std::optional<DatasetSpec> dataset_spec(const std::string& file, const std::string& path,
                                          uint64_t snapshot);
  // The attributes of `object` at `snapshot` (the file's, then the
  // overlay's sets and deletes on top): their sorted names, or one value
  // (nullopt if there is none). The object itself is not checked.
  std::vector<std::string> attribute_names(const std::string& file, const std::string& object,
                                           uint64_t snapshot);
  std::optional<AttributeValue> attribute(const std::string& file, const std::string& object,
                                          const std::string& name, uint64_t snapshot);
  // Stored bytes and filter mask of the chunk at `snapshot`; false if never written.
  bool read_chunk_stored(const ChunkKey& key, uint64_t snapshot, std::string* stored,
                         uint32_t* filter_mask);

  SnapshotRegistry& snapshots() { return snapshots_; }
  CommitQueue& commit_queue() { return queue_; }
  journal::SpareDirs& spare_dirs() { return spares_; }
  ConflictIndex& conflicts() { return conflicts_; }  // only inside the commit queue's rename step
  Flusher& flusher() { return *flusher_; }
  // Runs after a commit is durable, in txid order: makes it visible.
  void publish(std::shared_ptr<const journal::Manifest> m, const std::string& dir);

  std::atomic<uint64_t> commit_fsyncs{0};  // file + directory fsyncs done by commits

 private:
  void recover();
  void scan_read_only();
  struct Committed {
    journal::Manifest manifest;
    std::string dir;
    bool flushed;  // a _flushed directory recovery replays again
  };
  std::vector<Committed> committed_on_disk(const journal::JournalListing& l,
                                           const journal::FlushedPlan& plan);
  // store/replay_check.hpp over `committed`, in order (CorruptionError).
  void check_replay(const std::vector<Committed>& committed);
  void add_committed(const journal::Manifest& m, const std::string& dir);

  std::unique_ptr<Layout> layout_;  // released (unlocked) by close()
  Env* env_;
  std::string home_;
  bool read_only_;
  Options options_;
  std::unique_ptr<DataFiles> files_;
  CatalogCache catalog_;  // the data files' catalog, off the data-file lock
  Overlay overlay_;
  SnapshotRegistry snapshots_;
  CommitQueue queue_;
  journal::SpareDirs spares_;
  ConflictIndex conflicts_;
  std::unique_ptr<Flusher> flusher_;
  std::atomic<bool> closed_{false};
  std::atomic<uint64_t> committed_{0};
};

}  // namespace h5tx
