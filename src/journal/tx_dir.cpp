// Transaction directory names of the redo journal.
#include "journal/tx_dir.hpp"

#include <cstdio>

namespace h5tx {
namespace journal {

namespace {

bool parse_hex16(const std::string& s, size_t pos, uint64_t* out) {
  if (s.size() < pos + 16) return false;
  uint64_t v = 0;
  for (size_t i = pos; i < pos + 16; i++) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return false;
    v = (v << 4) | uint64_t(d);
  }
  if (v == 0 || v > kMaxTxid) return false;
  *out = v;
  return true;
}

}  // namespace

std::string txid_hex(uint64_t txid) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(txid));
  return buf;
}

std::string txid_line(const std::string& prefix, uint64_t txid) {
  return prefix + txid_hex(txid) + "\n";
}

bool parse_txid_line(const std::string& text, const std::string& prefix, uint64_t* txid) {
  if (text.size() != prefix.size() + 17 || text.compare(0, prefix.size(), prefix) != 0 || text.back() != '\n')
    return false;
  const std::string hex = text.substr(prefix.size(), 16);
  if (hex == std::string(16, '0')) {
    *txid = 0;
    return true;
  }
  return parse_txid_hex(hex, txid);
}

std::string tx_dir_name(uint64_t txid, TxState state) {
  const char* suffix = state == TxState::Temp ? "_temp" : state == TxState::Done ? "_done" : "_flushed";
  return "working_" + txid_hex(txid) + suffix;
}

std::string undo_dir_name(uint64_t txid) {
  return "undo_" + txid_hex(txid);
}

std::string undo_committed_dir_name(uint64_t txid) {
  return undo_dir_name(txid) + kCommittedSuffix;
}

bool parse_txid_hex(const std::string& s, uint64_t* txid) {
  return s.size() == 16 && parse_hex16(s, 0, txid);
}

bool parse_undo_store_dir_name(const std::string& name, uint64_t* txid, bool* committed) {
  const size_t base = 5 + 16, suffix = sizeof kCommittedSuffix - 1;
  *committed = name.size() == base + suffix && name.compare(base, suffix, kCommittedSuffix) == 0;
  return parse_undo_dir_name(*committed ? name.substr(0, base) : name, txid);
}

bool parse_tx_dir_name(const std::string& name, uint64_t* txid, TxState* state) {
  const std::string prefix = "working_";
  if (name.compare(0, prefix.size(), prefix) != 0) return false;
  if (!parse_hex16(name, prefix.size(), txid)) return false;
  std::string rest = name.substr(prefix.size() + 16);
  if (rest == "_temp")
    *state = TxState::Temp;
  else if (rest == "_done")
    *state = TxState::Done;
  else if (rest == "_flushed")
    *state = TxState::Flushed;
  else
    return false;
  return true;
}

bool parse_undo_dir_name(const std::string& name, uint64_t* txid) {
  return name.size() == 5 + 16 && name.compare(0, 5, "undo_") == 0 && parse_hex16(name, 5, txid);
}

}  // namespace journal
}  // namespace h5tx
