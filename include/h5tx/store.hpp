// Store and Transaction: the public API of h5tx. One API over two modes
// (redo: DirectoryStorage journal + background flusher; undo: sec2j-style
// undo journals under the HDF5 files). See docs/user-guide.md.
#pragma once

#include "h5tx/export.hpp"

#include <H5Ipublic.h>  // hid_t

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/error.hpp"
#include "h5tx/options.hpp"
#include "h5tx/staged.hpp"
#include "h5tx/types.hpp"

namespace h5tx {

class TransactionImpl;
class StoreImpl;

// A savepoint inside a transaction (nested transaction).
struct Savepoint {
  uint64_t id = 0;
};

// A transaction. Move-only; aborts in its destructor unless committed.
// Not for concurrent use by several threads (use one transaction per thread).
// Lifetime: a Transaction may outlive the Store that began it; it keeps the
// store's state alive. Redo mode: once the Store is closed or destroyed,
// every call but active() and the destructor throws StateError. Undo mode:
// a transaction running when its Store closes keeps the store, and its
// LOCK, until it ends (commit or abort), then releases them.
// A default-constructed or moved-from Transaction is empty: active() is
// false and every other call throws StateError.
class H5TX_EXPORT Transaction {
 public:
  Transaction();
  // For Store::begin; `store` is kept alive as long as this transaction.
  Transaction(std::unique_ptr<TransactionImpl> impl, std::shared_ptr<StoreImpl> store);
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  ~Transaction();

  uint64_t txid() const;      // assigned at begin in undo mode, at commit in redo mode (0 before)
  uint64_t snapshot() const;  // last txid visible to this transaction's reads
  bool active() const;

  // Catalog operations. `file` is a name in data/ ("vol.h5"); paths are
  // absolute HDF5 paths ("/raw/a"); missing parent groups are created.
  void create_file(const std::string& file);
  void create_dataset(const std::string& file, const std::string& path, const DatasetSpec& spec);
  void extend_dataset(const std::string& file, const std::string& path, const Shape& new_shape);
  // `object` is "/" for the file, or a group or dataset path.
  void set_attribute(const std::string& file, const std::string& object, const std::string& name,
                     const AttributeValue& value);
  // The attributes of `object` in the transaction's view (own writes over
  // its snapshot). NotFoundError if the object does not exist, and for
  // get_attribute / delete_attribute if the attribute does not either.
  // get_attribute: UnsupportedError for an attribute h5tx cannot represent
  // (written by other tools: rank above 1, compound, ...).
  AttributeValue get_attribute(const std::string& file, const std::string& object, const std::string& name);
  std::vector<std::string> list_attributes(const std::string& file, const std::string& object);  // sorted
  void delete_attribute(const std::string& file, const std::string& object, const std::string& name);

  // Whole chunks: raw (unfiltered) bytes of exactly the chunk's size; the
  // transaction applies the dataset's filters (shuffle, deflate, Fletcher32)
  // when it stores the chunk, so the flusher stores it as is.
  void write_chunk(const std::string& file, const std::string& dataset, const Shape& chunk_coords,
                   const void* data, size_t size);
  void write_chunk(const std::string& file, const std::string& dataset, const Shape& chunk_coords,
                   const std::vector<uint8_t>& data) {
    write_chunk(file, dataset, chunk_coords, data.data(), data.size());
  }
  // Raw chunk bytes (fill value if never written). Edge chunks are whole chunks.
  std::vector<uint8_t> read_chunk(const std::string& file, const std::string& dataset,
                                  const Shape& chunk_coords);

  // Hyperslabs of any start/count, element type `type` (must equal the
  // dataset's dtype); read-modify-write of the chunks touched.
  void write(const std::string& file, const std::string& dataset, const Shape& start, const Shape& count,
             DType type, const void* data);
  void read(const std::string& file, const std::string& dataset, const Shape& start, const Shape& count,
            DType type, void* out);
  template <class T>
  void write(const std::string& f, const std::string& d, const Shape& start, const Shape& count,
             const T* data) {
    write(f, d, start, count, dtype_of<T>(), data);
  }
  template <class T>
  void read(const std::string& f, const std::string& d, const Shape& start, const Shape& count, T* out) {
    read(f, d, start, count, dtype_of<T>(), out);
  }

  // Introspection of the transaction's view (own writes over its snapshot).
  std::vector<std::string> list_files();
  std::vector<std::string> list_datasets(const std::string& file);
  DatasetSpec dataset_spec(const std::string& file, const std::string& dataset);

  // Nested transactions.
  Savepoint savepoint();
  void rollback_to(const Savepoint& sp);  // undoes everything after sp; sp stays valid
  void release(const Savepoint& sp);      // forget sp (and those after it)

  // User metadata recorded with the transaction (redo: in the MANIFEST).
  void set_message(const std::string& message);
  void set_metadata(const std::string& key, const std::string& value);

  // Runs if the transaction aborts (explicitly, by destructor, or by a
  // failed commit), newest first, to restore the caller's in-memory state.
  void on_abort(std::function<void()> hook);

  // Undo mode only: the HDF5 file id, open read-write under the undo driver,
  // for arbitrary HDF5 calls inside this transaction. Valid until the end of
  // the transaction. StateError in redo mode.
  hid_t hid(const std::string& file);

  // Staging (redo mode; h5tx/staged.hpp): stage() makes this transaction's
  // journal/working_<id>_temp/ directory the staging area of StagedWriters
  // in other processes and returns its token (the same on every call; it
  // names HOME, which those processes must see at the same path). adopt()
  // adds their chunk records as write_chunk would: it checks each against
  // the transaction's view (dataset, coordinates, stored size and filter
  // mask) and that its part file holds its bytes (the XXH3-64 is checked
  // when the chunk is read, recovered or flushed); InvalidArgumentError
  // names the first bad record and adopts none. UnsupportedError in undo mode.
  std::string stage();
  void adopt(const std::vector<StagedChunk>& chunks);
  // adopt() from a staging directory Store::stage() made (perhaps in
  // another process): the transaction first takes that directory over as
  // its own (one rename: of several transactions adopting one token, one
  // wins), then adopts as above. Call it before this transaction spills a
  // chunk or calls stage() (StateError otherwise). The records are checked
  // before the directory is taken; NotFoundError if it is gone (taken by
  // another transaction, or removed by recovery), InvalidArgumentError for
  // a token of another store. Once taken, the directory is the
  // transaction's: abort() removes it, commit() makes it _done.
  void adopt(const std::vector<StagedChunk>& chunks, const std::string& token);

  // Durable when it returns. ConflictError: nothing of it is visible.
  void commit();
  void abort();

 private:
  TransactionImpl& impl() const;
  std::shared_ptr<StoreImpl> store_;  // declared first: outlives impl_
  std::unique_ptr<TransactionImpl> impl_;
};

// A store: HOME/ with its lock, its data files and its journal.
// Ownership: create()/open() return the only owner; the Transactions it
// begins share its internal state (see Transaction), so destroying the Store
// while they run is safe. Thread-safety: every method may be called from
// any thread at any time; begin() from many threads at once is the intended
// use (one Transaction per thread). Errors: every method throws an
// h5tx::Error subclass (include/h5tx/error.hpp) naming the path; none
// aborts. After close(), begin() throws StateError.
class H5TX_EXPORT Store {
 public:
  // Creates HOME (must not exist or be empty) with the store layout.
  static std::unique_ptr<Store> create(const std::string& home, const Options& options = {});
  // Opens an existing store: locks it and recovers (see docs/user-guide.md).
  static std::unique_ptr<Store> open(const std::string& home, const Options& options = {});

  // Redo mode: moves the committed transaction `txid` out of the journal,
  // from journal/working_<txid>_done (or _flushed) to HOME/quarantine/,
  // without opening the store (no recovery runs; takes the store's lock).
  // For a transaction that recovery reports cannot be applied: the store
  // then opens without it. Never deletes anything; the directory keeps its
  // MANIFEST and chunk copies for inspection. NotFoundError if there is no
  // such transaction, InvalidArgumentError in undo mode.
  static void quarantine(const std::string& home, uint64_t txid, const Options& options = {});

  // A redo store with history (Options::history): drops the history that
  // only reads as of txids before the limit need (PackOptions); reads as of
  // those are refused afterwards (NotFoundError naming the oldest left).
  // Online: runs beside a writer process and readers without the store's
  // LOCK (it changes only HOME/history/), never drops what an open as-of
  // transaction or a retention slot (HOME/slots/) needs, and is crash-safe
  // (docs/user-guide.md, "History"). InvalidArgumentError without history.
  static PackStats pack(const std::string& home, const PackOptions& what, const Options& options = {});

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Mode mode() const;
  const std::string& home() const;

  Transaction begin(const TxOptions& options = {});

  // Redo mode: waits until every committed transaction is in data/ and the
  // journal is empty. Rethrows a flusher failure. Undo mode: no-op.
  void flush();
  // Flushes, stops the flusher, releases the lock. Idempotent. The
  // destructor closes too (and swallows nothing: it logs to stderr).
  void close();

  StoreStats stats();
  // Committed transactions not yet flushed, in txid order (redo mode).
  std::vector<TransactionInfo> pending();

  // Redo mode, read-write: makes a new, empty staging directory
  // (journal/working_<random id>_temp) and returns its token for
  // StagedWriters (h5tx/staged.hpp). No transaction owns it and this
  // process never removes it: a transaction takes it over with
  // Transaction::adopt(chunks, token). Until then it is garbage to recovery
  // like every _temp directory, which runs only when a writer process opens
  // the store while no other one has it open: the directory lasts while
  // some writer process keeps the store open. UnsupportedError in undo
  // mode, StateError read-only or closed.
  std::string stage();

  // Path of a data file: HOME/data/<file>.
  std::string data_path(const std::string& file) const;

  explicit Store(std::unique_ptr<StoreImpl> impl);

 private:
  std::shared_ptr<StoreImpl> impl_;  // shared with the transactions it began
};

// Library version, "MAJOR.MINOR.PATCH".
H5TX_EXPORT const char* version();

}  // namespace h5tx
