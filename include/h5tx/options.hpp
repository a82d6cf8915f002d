// Options of a store and of a transaction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace h5tx {

class Env;

enum class Mode : uint8_t { Redo = 0, Undo = 1 };

struct Options {
  // create(): the mode of the new store (unset: redo). open(): the store's
  // mode is the one in h5tx.store; set, it must be that one
  // (InvalidArgumentError naming both otherwise).
  std::optional<Mode> mode;
  Env* env = nullptr;      // nullptr: Env::posix()
  bool read_only = false;  // shared lock, no recovery writes, no flusher
  // Waiting for the store LOCK held by another process (0: try once).
  std::chrono::milliseconds lock_timeout{0};
  // Redo mode: backpressure. commit() blocks while more than this is unflushed.
  size_t max_unflushed_transactions = 256;
  uint64_t max_unflushed_bytes = uint64_t(1) << 30;
  // A batch takes at most this many transactions (or half of those
  // pending, if more: a flusher that fell behind catches up in larger
  // batches) and at most flush_batch_bytes (always at least one).
  size_t flush_batch_transactions = 32;
  uint64_t flush_batch_bytes = uint64_t(256) << 20;
  // The background flusher starts a batch when flush_batch_transactions
  // are pending, or 16 MiB (flush_batch_bytes if smaller), when the oldest
  // committed transaction has waited this long, or at once for flush(),
  // close() and backpressure. 0: as soon as anything is committed;
  // std::chrono::milliseconds::max(): never by age.
  std::chrono::milliseconds flush_delay{200};
  uint64_t spill_bytes = uint64_t(64) << 20;  // a transaction spills chunk copies beyond this
  // Redo mode: a stored chunk of at least this many bytes goes straight to
  // the transaction's spill file when it is written (no copy kept in
  // memory; the commit then syncs that file once). Smaller chunks stay in
  // memory and are written inline in the MANIFEST at commit.
  uint64_t spill_chunk_bytes = uint64_t(256) << 10;
  bool background_flusher = true;  // false: only flush() applies the journal
  // Undo driver page size for before-images (undo mode and the flusher).
  size_t undo_page_size = 4096;
  // Redo mode: keep history (docs/user-guide.md, "History"): the versions
  // the flusher replaces go to HOME/history/, so that a read-only
  // transaction can read the store as of an older txid (TxOptions::as_of).
  // create(): unset is off. open(): unset keeps the store's setting; set,
  // a read-write open switches it (on: history starts at the store's
  // newest txid; off: all history is deleted). InvalidArgumentError in undo
  // mode and for a read-only open that would switch it.
  std::optional<bool> history;
};

struct TxOptions {
  // A read-only transaction: reads only (any write call is StateError);
  // undo mode lets any number of them run beside the one writer.
  bool read_only = false;
  // Undo mode: waiting for the writer slot (or, for a read-only
  // transaction, for a writer to finish committing). Negative: forever.
  std::chrono::milliseconds timeout{10000};
  bool check_conflicts = true;  // redo mode: false = blind writes, last committer wins
  // Redo store with history: a read-only transaction that reads the store
  // as it was when this txid committed (read_only must be set). NotFoundError
  // naming the oldest retained txid if it is older than the history kept,
  // InvalidArgumentError if it is not committed yet; InvalidArgumentError
  // without history. Pack never drops what an open one needs.
  std::optional<uint64_t> as_of{};
};

// What Store::pack drops: history only reads as of txids before `before`
// need, or (older_than) before the newest txid committed longer ago than
// that. Exactly one is set.
struct PackOptions {
  std::optional<uint64_t> before;
  std::optional<std::chrono::microseconds> older_than;
};

// The options of a read-only transaction: store->begin(h5tx::read_only_tx()).
inline TxOptions read_only_tx() {
  TxOptions o;
  o.read_only = true;
  return o;
}

}  // namespace h5tx
