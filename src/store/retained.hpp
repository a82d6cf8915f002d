// The source side of incremental backups and replication: the committed
// transactions of a store newer than a txid, wherever they are while a live
// writer flushes them (journal/working_<txid>_done, then _flushed, then
// HOME/archive/ when a retention slot needs them: flush/retention.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5tx/env.hpp"

namespace h5tx {

// The txids of the committed transactions newer than `after` that HOME
// holds, ascending, up to the newest one found by a first listing (later
// commits are left for the next call). journal/ and archive/ are listed
// three times, so that a directory renamed while they are read (which
// readdir may miss) is still found: the range has no holes.
std::vector<uint64_t> retained_after(Env& env, const std::string& home, uint64_t after);

// The transaction as a stream carries it (journal::inline_transaction),
// read from where it is now: tried as _done, _flushed, then archived; a
// place it leaves while being read is skipped. NotFoundError if it is in
// none (not retained: its slot was dropped or never covered it);
// CorruptionError if it is damaged where it is.
std::string read_retained(Env& env, const std::string& home, uint64_t txid);

}  // namespace h5tx
