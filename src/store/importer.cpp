// Applying transaction streams to a store (store/importer.hpp).
#include "store/importer.hpp"

#include <cinttypes>
#include <cstdio>

#include "h5tx/error.hpp"
#include "hdf5/handle.hpp"
#include "journal/tx_dir.hpp"
#include "store/layout.hpp"
#include "store/redo_store.hpp"

namespace h5tx {

namespace {
constexpr size_t kPositionSize = 38;  // "h5tx-position 1 txid " (21) + 16 hex + "\n"
}

std::string encode_position(uint64_t txid) {
  char buf[kPositionSize + 1];
  std::snprintf(buf, sizeof buf, "h5tx-position 1 txid %016" PRIx64 "\n", txid);
  return std::string(buf, kPositionSize);
}

bool read_position(Env& env, const std::string& home, uint64_t* txid) {
  const std::string p = path_join(home, Layout::kPositionFile);
  if (!env.exists(p)) return false;
  std::string t = env.read_all(p, 4096);
  const std::string hex = t.size() == kPositionSize ? t.substr(21, 16) : "";
  if (t.size() != kPositionSize || t.compare(0, 21, "h5tx-position 1 txid ") != 0 || t.back() != '\n' ||
      !(hex == "0000000000000000" || journal::parse_txid_hex(hex, txid)))
    throw CorruptionError(p, "not a position line (h5tx-position 1 txid <16 hex>)");
  if (hex == "0000000000000000") *txid = 0;
  return true;
}

void write_position(Env& env, const std::string& home, uint64_t txid) {
  env.write_file_atomic(path_join(home, Layout::kPositionFile), encode_position(txid));
}

void mark_replica(Env& env, const std::string& home) {
  env.write_file_atomic(path_join(home, Layout::kReplicaFile), "h5tx-replica 1\n");
}

Importer::Importer(const std::string& home, const Options& options) {
  Options o = options;
  o.read_only = false;
  env_ = o.env ? o.env : Env::posix();
  hdf5::silence_error_printing();
  std::unique_ptr<Layout> layout = Layout::open(env_, home, o, /*applier=*/true);
  if (layout->mode() != Mode::Redo)
    throw UnsupportedError(layout->home(), "transaction streams apply to redo-mode stores only");
  home_ = layout->home();
  uint64_t pos = 0;
  read_position(*env_, home_, &pos);
  impl_ = open_redo_store(std::move(layout), o);
  redo_ = static_cast<RedoStore*>(impl_.get());
  position_ = std::max(pos, redo_->stats().last_txid);
}

Importer::~Importer() {
  if (!impl_) return;
  try {
    impl_->close();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "h5tx: closing store %s: %s\n", home_.c_str(), e.what());
  }
}

bool Importer::apply(const journal::StreamTx& tx) {
  if (tx.txid <= position_) return false;  // it has it: a no-op
  redo_->import_transaction(tx);
  write_position(*env_, home_, tx.txid);
  position_ = tx.txid;
  return true;
}

void Importer::close() {
  if (!impl_) return;
  std::unique_ptr<StoreImpl> impl = std::move(impl_);
  impl->close();
}

}  // namespace h5tx
