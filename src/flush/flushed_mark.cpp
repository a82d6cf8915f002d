// HOME/FLUSHED (flush/flushed_mark.hpp).
#include "flush/flushed_mark.hpp"

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace flushed_mark {

namespace {
constexpr const char* kPrefix = "h5tx-flushed 1 txid ";
}  // namespace

std::string encode(uint64_t txid) {
  return journal::txid_line(kPrefix, txid);
}

bool read(Env& env, const std::string& home, uint64_t* txid) {
  const std::string p = path_join(home, kFileName);
  if (!env.exists(p)) return false;
  if (!journal::parse_txid_line(env.read_all(p, 4096), kPrefix, txid))
    throw CorruptionError(p, "not a flushed-txid line (h5tx-flushed 1 txid <16 hex>)");
  return true;
}

void advance(Env& env, const std::string& home, uint64_t txid) {
  uint64_t have = 0;
  bool known = false;
  try {
    known = read(env, home, &have);
  } catch (const CorruptionError&) {
    known = false;  // damaged: rewritten whole
  }
  if (known && have >= txid) return;
  env.write_file_atomic(path_join(home, kFileName), encode(txid));
}

}  // namespace flushed_mark
}  // namespace h5tx
