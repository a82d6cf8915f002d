// Names and states of redo transaction directories in journal/:
// working_<txid>_temp (being written), working_<txid>_done (committed),
// working_<txid>_flushed (applied, being deleted), and undo_<txid> (the undo
// journals of one flush batch). <txid> is 16 lowercase hex digits.
#pragma once

#include <cstdint>
#include <string>

namespace h5tx {
namespace journal {

enum class TxState { Temp, Done, Flushed };

// Txids are 1..kMaxTxid. A larger one on disk (a name, a MANIFEST, TXID) is
// corruption, never an id to count up from: 2^62 leaves room for any
// arithmetic on txids without wrapping, and no store reaches it by use.
constexpr uint64_t kMaxTxid = uint64_t(1) << 62;

std::string txid_hex(uint64_t txid);
std::string tx_dir_name(uint64_t txid, TxState state);
std::string undo_dir_name(uint64_t txid);

// Parses "working_<16 hex>_<state>"; false if `name` is not one or its txid
// is not in 1..kMaxTxid.
bool parse_tx_dir_name(const std::string& name, uint64_t* txid, TxState* state);
// Parses "undo_<16 hex>"; false if `name` is not one or its txid is out of range.
bool parse_undo_dir_name(const std::string& name, uint64_t* txid);

}  // namespace journal
}  // namespace h5tx
