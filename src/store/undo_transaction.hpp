// A transaction of the undo-mode store. Write transactions open each file
// they touch read-write under the undo driver, with its journal in
// journal/undo_<txid>/, and change it in place; read transactions open files
// read-only. Savepoints are nested undo transactions on every open file.
//
// Undo mode has no MANIFEST: set_message/set_metadata are kept in memory for
// the life of the transaction only. hid() ids (and everything opened from
// them) become invalid at rollback_to, commit and abort: after a revert the
// files are closed and reopened because HDF5's caches are stale; a commit
// hands its files to the store, open, for the next write transaction (which
// may return the same id), unless objects opened from them are still open.
#pragma once

#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/undo.hpp"
#include "store/impl.hpp"

namespace h5tx {

struct UndoState;

class UndoStoreTransaction : public TransactionImpl {
 public:
  UndoStoreTransaction(std::shared_ptr<UndoState> state, Access access, uint64_t txid);
  ~UndoStoreTransaction() override;

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
  void set_message(const std::string& message) override { message_ = message; }
  void set_metadata(const std::string& key, const std::string& value) override { metadata_[key] = value; }
  void on_abort(std::function<void()> hook) override;
  // Write transactions: the file open read-write inside this transaction.
  // Read transactions: the file open read-only.
  hid_t hid(const std::string& file) override;
  void commit() override;
  void abort() override;

 private:
  struct OpenFile {
    std::unique_ptr<UndoFile> file;
    bool created = false;   // by this transaction
    bool was_kept = false;  // open (kept by an earlier commit) when this transaction began it
    size_t base = 0;        // savepoints open when this transaction first touched it
  };
  struct SavepointMark {
    uint64_t id;
    size_t hooks;  // hooks registered before it
  };

  void check_active(const char* op) const;
  void check_writer(const char* op) const;
  // The file, opened on first use (write transactions: inside the undo
  // transaction, at the depth of the open savepoints).
  hid_t open(const std::string& file);
  OpenFile& open_for_write(const std::string& file);
  UndoOptions file_options(const std::string& journal_path) const;
  std::string journal_path(const std::string& file) const;
  void ensure_dir();
  void merge_to(OpenFile& f, int depth);
  void reopen(OpenFile& f);
  void drop_file(const std::string& name, OpenFile& f);
  size_t savepoint_index(const Savepoint& sp, const char* op) const;
  void run_hooks(size_t keep);
  void revert_all();
  void close_files();
  void keep_files();
  // commit(), step by step (undo_transaction.cpp).
  void prepare_files();
  std::string rename_committed();
  void finish_committed(const std::string& done);
  void commit_in_place();
  [[noreturn]] void abort_and_rethrow(std::exception_ptr first);
  [[noreturn]] void fail(const std::string& path, const std::string& why, const std::string& advice);
  void end();

  std::shared_ptr<UndoState> st_;
  Access access_;
  uint64_t txid_;
  uint64_t snapshot_ = 0;
  bool active_ = true;
  std::string dir_;  // journal/undo_<txid>
  bool dir_made_ = false;
  // Definitions of datasets written to, by "file:dataset" (dtype, chunk and
  // filters cannot change while a dataset exists). Cleared whenever raw
  // HDF5 access (hid()) or a rollback could have replaced a dataset.
  const DatasetSpec& spec_for_write(const std::string& file, const std::string& dataset);
  std::map<std::string, DatasetSpec> specs_;
  std::map<std::string, OpenFile> files_;
  std::vector<std::string> created_;
  std::map<std::string, std::string> created_ids_;  // Env::file_identity of each, once made
  std::vector<SavepointMark> savepoints_;
  uint64_t next_savepoint_ = 1;
  std::vector<std::function<void()>> hooks_;
  std::string message_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace h5tx
