// Committed transactions newer than a txid, wherever they are (store/retained.hpp).
#include "store/retained.hpp"

#include <set>

#include "flush/retention.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "journal/tx_stream.hpp"

namespace h5tx {

std::vector<uint64_t> retained_after(Env& env, const std::string& home, uint64_t after) {
  std::set<uint64_t> out;
  journal::JournalListing l = journal::list_journal(env, path_join(home, "journal"));
  for (const auto* v : {&l.done, &l.flushed})
    for (uint64_t t : *v)
      if (t > after) out.insert(t);
  for (uint64_t t : retention::list_archive(env, home))
    if (t > after) out.insert(t);
  return std::vector<uint64_t>(out.begin(), out.end());
}

std::string read_retained(Env& env, const std::string& home, uint64_t txid) {
  const std::string jdir = path_join(home, "journal");
  const std::string places[] = {path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Done)),
                                path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Flushed)),
                                retention::archive_path(home, txid)};
  for (const std::string& dir : places) {
    if (!env.is_directory(dir)) continue;
    try {
      return journal::inline_transaction(env, dir, txid);
    } catch (const Error&) {
      if (env.is_directory(dir)) throw;  // damaged where it is
      // Moved on (flushed, archived) while read: the next place has it.
    }
  }
  throw NotFoundError(places[0],
                      "committed transaction " + journal::txid_hex(txid) +
                          " is no longer in the journal or the archive (no retention slot kept it)");
}

}  // namespace h5tx
