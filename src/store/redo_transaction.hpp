// One redo-mode transaction. Its writes are journal operations kept in
// memory (chunk copies already filtered, spilled into the transaction's
// _temp directory beyond Options::spill_bytes) until commit writes them as a
// transaction directory. Reads see its own writes, then the committed state
// at its snapshot (RedoStore's overlay over the HDF5 files).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "journal/manifest.hpp"
#include "journal/tx_writer.hpp"
#include "store/committed_view.hpp"
#include "store/impl.hpp"
#include "store/overlay.hpp"

namespace h5tx {

class RedoStore;

// The conflict keys of operations (store/conflict_index.hpp): those a
// committer checks, and those it records; `all`: chunk writes, extents and
// attributes too (a transaction that checks conflicts), else only creates.
void conflict_keys_of(const std::vector<const journal::Op*>& ops, bool all, std::vector<std::string>* check,
                      std::vector<std::string>* record);

class RedoTransaction : public TransactionImpl {
 public:
  RedoTransaction(RedoStore* store, const TxOptions& options);
  ~RedoTransaction() override;

  uint64_t txid() const override { return txid_; }
  uint64_t snapshot() const override { return snapshot_; }
  bool active() const override { return active_; }

  void create_file(const std::string& file) override;
  void create_dataset(const std::string& file, const std::string& path, const DatasetSpec& spec) override;
  void extend_dataset(const std::string& file, const std::string& path, const Shape& new_shape) override;
  void set_attribute(const std::string& file, const std::string& object, const std::string& name,
                     const AttributeValue& value) override;
  AttributeValue get_attribute(const std::string& file, const std::string& object,
                               const std::string& name) override;
  std::vector<std::string> list_attributes(const std::string& file, const std::string& object) override;
  void delete_attribute(const std::string& file, const std::string& object, const std::string& name) override;
  void write_chunk(const std::string& file, const std::string& dataset, const Shape& coords, const void* data,
                   size_t size) override;
  std::vector<uint8_t> read_chunk(const std::string& file, const std::string& dataset,
                                  const Shape& coords) override;
  std::vector<std::string> list_files() override;
  std::vector<std::string> list_datasets(const std::string& file) override;
  DatasetSpec dataset_spec(const std::string& file, const std::string& dataset) override;

  Savepoint savepoint() override;
  void rollback_to(const Savepoint& sp) override;
  void release(const Savepoint& sp) override;
  void set_message(const std::string& message) override;
  void set_metadata(const std::string& key, const std::string& value) override;
  void on_abort(std::function<void()> hook) override;
  hid_t hid(const std::string& file) override;
  void commit() override;
  void abort() override;
  std::string stage() override;
  void adopt(const std::vector<StagedChunk>& chunks) override;
  void adopt(const std::vector<StagedChunk>& chunks, const std::string& token) override;

 private:
  // One operation; a WriteChunk carries its stored bytes in memory or in a
  // file of the _temp directory (the spill file, or a staged part file).
  struct Entry {
    journal::Op op;
    std::vector<uint8_t> bytes;
    bool spilled = false;
    bool dead = false;  // superseded chunk copy that no savepoint can bring back
  };
  struct SavepointState {
    uint64_t id;
    size_t ops;
    size_t hooks;
    std::string message;
    std::map<std::string, std::string> metadata;
  };
  using DatasetKey = std::pair<std::string, std::string>;

  void check_active(const char* what) const;
  void check_writable(const char* what) const;
  std::string what(const std::string& file, const std::string& path) const;
  bool file_exists(const std::string& file);
  std::optional<DatasetSpec> find_spec(const std::string& file, const std::string& path);
  DatasetSpec require_spec(const std::string& file, const std::string& path);
  // NotFoundError unless `object` is "/", a dataset or a group of the view.
  void require_object(const std::string& file, const std::string& object);
  const journal::Op* own_attribute_op(const std::string& file, const std::string& object,
                                      const std::string& name) const;
  // adopt(): every record checked against the view and the part files of
  // the staging directory `dir`, before anything is adopted.
  std::vector<Entry> staged_entries(const std::vector<StagedChunk>& chunks, const std::string& dir);
  void check_coords(const DatasetSpec& spec, const Shape& coords, const std::string& w) const;
  void apply_catalog(const journal::Op& op);
  void rebuild_indexes();
  void drop_entry(Entry& e);
  std::string entry_bytes(const Entry& e);
  void push(Entry e);
  // Ends the transaction after a failed commit or an abort.
  void finish_aborted(bool failed_commit);
  void release_snapshot();
  journal::TxWriter& writer(uint64_t temp_id);
  journal::TxWriter& spill_writer();  // the writer, created with a fresh temp id if needed
  // The conflict keys the operations check, and those they record.
  void conflict_keys(const std::vector<const Entry*>& live, std::vector<std::string>* check,
                     std::vector<std::string>* record) const;

  RedoStore* store_;
  TxOptions options_;
  uint64_t snapshot_ = 0;
  bool holds_snapshot_ = false;
  bool holds_as_of_ = false;         // an as-of transaction's pin (RedoStore::pin_as_of)
  CommittedReads* reads_ = nullptr;  // the store's view, or its history view for as_of
  uint64_t txid_ = 0;
  bool active_ = true;

  std::vector<Entry> ops_;
  std::map<ChunkKey, size_t> chunk_index_;       // newest live write of each chunk
  std::map<DatasetKey, DatasetSpec> own_specs_;  // datasets created or extended here
  std::set<std::string> own_files_;
  std::map<DatasetKey, std::optional<DatasetSpec>> committed_specs_;  // cache of the snapshot
  std::map<std::string, bool> committed_files_;
  uint64_t memory_bytes_ = 0;
  std::unique_ptr<journal::TxWriter> writer_;
  std::string taken_stage_;  // the staging directory adopt(chunks, token) took over (its old name)

  std::string message_;
  std::map<std::string, std::string> metadata_;
  std::vector<std::function<void()>> hooks_;
  std::vector<SavepointState> savepoints_;
  uint64_t next_savepoint_ = 1;
};

}  // namespace h5tx
