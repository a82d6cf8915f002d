// Committed transactions newer than a txid, wherever they are (store/retained.hpp).
#include "store/retained.hpp"

#include <algorithm>
#include <set>

#include "flush/retention.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "journal/tx_stream.hpp"

namespace h5tx {

namespace {

// One pass: journal/ (_done and _flushed), then archive/.
void list_once(Env& env, const std::string& home, uint64_t after, std::set<uint64_t>* out, uint64_t* newest) {
  journal::JournalListing l = journal::list_journal(env, path_join(home, "journal"));
  for (const auto* v : {&l.done, &l.flushed})
    for (uint64_t t : *v) {
      *newest = std::max(*newest, t);
      if (t > after) out->insert(t);
    }
  for (uint64_t t : retention::list_archive(env, home)) {
    *newest = std::max(*newest, t);
    if (t > after) out->insert(t);
  }
}

}  // namespace

std::vector<uint64_t> retained_after(Env& env, const std::string& home, uint64_t after) {
  // readdir may miss an entry renamed while the directory is read (a
  // _done directory becoming _flushed, a _temp one becoming _done): one
  // listing can leave a hole in the middle of the range, and a stream with
  // a hole would restore a store that never existed. So: the first pass
  // fixes the end (every txid up to the newest it saw was renamed into
  // place before the next pass began: commits rename in txid order), and
  // two more passes list what is up to it. A transaction renames within
  // journal/ at most once more (to _flushed; the move to archive/ is seen
  // there, listed after journal/), so at most one of the two misses it.
  std::set<uint64_t> first, seen;
  uint64_t end = 0, ignored = 0;
  list_once(env, home, after, &first, &end);
  if (first.empty()) return {};  // nothing new: a follower's idle poll lists once
  list_once(env, home, after, &seen, &ignored);
  list_once(env, home, after, &seen, &ignored);
  seen.insert(first.begin(), first.end());
  std::vector<uint64_t> out;
  for (uint64_t t : seen)
    if (t <= end) out.push_back(t);
  return out;
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
