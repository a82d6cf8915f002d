// The two abstract classes behind Store and Transaction. Redo mode
// (src/store/redo_*) and undo mode (src/store/undo_*) each implement them;
// src/store/store.cpp dispatches on the mode recorded in h5tx.store.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/store.hpp"

namespace h5tx {

// What a transaction may do (TxOptions::read_only, as the modes use it).
enum class Access : uint8_t { Read = 0, Write = 1 };
inline Access access_of(const TxOptions& o) {
  return o.read_only ? Access::Read : Access::Write;
}

class TransactionImpl {
 public:
  virtual ~TransactionImpl() = default;
  virtual uint64_t txid() const = 0;
  virtual uint64_t snapshot() const = 0;
  virtual bool active() const = 0;

  virtual void create_file(const std::string& file) = 0;
  virtual void create_dataset(const std::string& file, const std::string& path, const DatasetSpec& spec) = 0;
  virtual void extend_dataset(const std::string& file, const std::string& path, const Shape& new_shape) = 0;
  virtual void set_attribute(const std::string& file, const std::string& object, const std::string& name,
                             const AttributeValue& value) = 0;
  virtual AttributeValue get_attribute(const std::string& file, const std::string& object,
                                       const std::string& name) = 0;
  virtual std::vector<std::string> list_attributes(const std::string& file, const std::string& object) = 0;
  virtual void delete_attribute(const std::string& file, const std::string& object,
                                const std::string& name) = 0;
  virtual void write_chunk(const std::string& file, const std::string& dataset, const Shape& coords,
                           const void* data, size_t size) = 0;
  virtual std::vector<uint8_t> read_chunk(const std::string& file, const std::string& dataset,
                                          const Shape& coords) = 0;
  virtual std::vector<std::string> list_files() = 0;
  virtual std::vector<std::string> list_datasets(const std::string& file) = 0;
  virtual DatasetSpec dataset_spec(const std::string& file, const std::string& dataset) = 0;

  virtual Savepoint savepoint() = 0;
  virtual void rollback_to(const Savepoint& sp) = 0;
  virtual void release(const Savepoint& sp) = 0;
  virtual void set_message(const std::string& message) = 0;
  virtual void set_metadata(const std::string& key, const std::string& value) = 0;
  virtual void on_abort(std::function<void()> hook) = 0;
  virtual hid_t hid(const std::string& file) = 0;
  virtual void commit() = 0;
  virtual void abort() = 0;
  // Staging (redo mode only).
  virtual std::string stage() {
    throw UnsupportedError("", "stage: staged writing needs a store in redo mode");
  }
  virtual void adopt(const std::vector<StagedChunk>& chunks) {
    (void)chunks;
    throw UnsupportedError("", "adopt: staged writing needs a store in redo mode");
  }
  virtual void adopt(const std::vector<StagedChunk>& chunks, const std::string& token) {
    (void)chunks;
    (void)token;
    throw UnsupportedError("", "adopt: staged writing needs a store in redo mode");
  }
};

class StoreImpl {
 public:
  virtual ~StoreImpl() = default;
  virtual Mode mode() const = 0;
  virtual const std::string& home() const = 0;
  virtual std::unique_ptr<TransactionImpl> begin(const TxOptions& options) = 0;
  virtual void flush() = 0;
  virtual void close() = 0;
  virtual StoreStats stats() = 0;
  virtual std::vector<TransactionInfo> pending() = 0;
  virtual std::string stage() {
    throw UnsupportedError(home(), "stage: staged writing needs a store in redo mode");
  }
};

class Layout;
struct Options;

// The two modes' factories (src/store/redo_store.cpp, src/store/undo_store.cpp).
// They take an opened, locked layout and run recovery.
std::unique_ptr<StoreImpl> open_redo_store(std::unique_ptr<Layout> layout, const Options& options);
std::unique_ptr<StoreImpl> open_undo_store(std::unique_ptr<Layout> layout, const Options& options);

}  // namespace h5tx
