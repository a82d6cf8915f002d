// Every name h5tx gives an entry of journal/, formatted and parsed here
// only: working_<txid>_temp (being written), working_<txid>_done
// (committed), working_<txid>_flushed (applied, being deleted), undo_<txid>
// (the undo journals of a redo flush batch, or of an undo-mode transaction)
// and undo_<txid>_committed (an undo-mode transaction past its commit
// point). <txid> is 16 lowercase hex digits, also in HOME/TXID.
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
// Exactly 16 lowercase hex digits of a txid in 1..kMaxTxid; false otherwise.
bool parse_txid_hex(const std::string& s, uint64_t* txid);
// The one-line text files and messages that name a txid ("<prefix><16
// lowercase hex>\n", txid 0 allowed), and their strict parse (false unless
// `text` is exactly such a line).
std::string txid_line(const std::string& prefix, uint64_t txid);
bool parse_txid_line(const std::string& text, const std::string& prefix, uint64_t* txid);
std::string tx_dir_name(uint64_t txid, TxState state);
std::string undo_dir_name(uint64_t txid);

// Parses "working_<16 hex>_<state>"; false if `name` is not one or its txid
// is not in 1..kMaxTxid.
bool parse_tx_dir_name(const std::string& name, uint64_t* txid, TxState* state);
// Parses "undo_<16 hex>"; false if `name` is not one or its txid is out of range.
bool parse_undo_dir_name(const std::string& name, uint64_t* txid);
// The undo-mode store's names: undo_<txid> and undo_<txid>_committed.
constexpr char kCommittedSuffix[] = "_committed";
std::string undo_committed_dir_name(uint64_t txid);
bool parse_undo_store_dir_name(const std::string& name, uint64_t* txid, bool* committed);

}  // namespace journal
}  // namespace h5tx
