// Applying transaction streams to a store (formats/tx-stream.md): the
// target is opened as its writer (a replica too: Layout::open's applier),
// and each transaction newer than the store's position becomes a committed
// transaction there with the same txid (RedoStore::import_transaction);
// the target's flusher applies it. After each, HOME/POSITION records the
// newest txid received, durably; a crash between the two re-applies that
// newest transaction at the next run, which replay makes a no-op.
//
// HOME/POSITION: "h5tx-position 1 txid <16 hex>\n"; HOME/REPLICA:
// "h5tx-replica 1\n". Both written atomically.
// Not thread-safe (one applier per store: it holds the store's LOCK).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "h5tx/options.hpp"
#include "journal/tx_stream.hpp"

namespace h5tx {

class StoreImpl;
class RedoStore;

std::string encode_position(uint64_t txid);
// False if HOME/POSITION does not exist; CorruptionError if it is damaged.
bool read_position(Env& env, const std::string& home, uint64_t* txid);
void write_position(Env& env, const std::string& home, uint64_t txid);
void mark_replica(Env& env, const std::string& home);

class Importer {
 public:
  // Opens HOME read-write as the applier; UnsupportedError for an undo-mode store.
  Importer(const std::string& home, const Options& options);
  ~Importer();
  Importer(const Importer&) = delete;
  Importer& operator=(const Importer&) = delete;

  // The newest txid the store holds from its source: POSITION, or a newer
  // committed transaction recovery found in its journal.
  uint64_t position() const { return position_; }
  // Applies tx unless the store already has it (tx.txid <= position());
  // returns whether it did.
  bool apply(const journal::StreamTx& tx);
  // Waits for the flusher, then closes the store (rethrows its error).
  void close();
  const std::string& home() const { return home_; }

 private:
  Env* env_;
  std::string home_;
  std::unique_ptr<StoreImpl> impl_;
  RedoStore* redo_ = nullptr;
  uint64_t position_ = 0;
};

}  // namespace h5tx
