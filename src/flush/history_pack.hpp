// Packing history (formats/history.md, "Pack"): drops the segments that
// only reads as of txids before a limit need, and rewrites a segment that
// straddles the limit without the versions replaced at or before it. Online: it changes only
// history/ (OLDEST, then whole segment files), which the flusher only adds
// to, so it runs beside a writer process and its readers without the
// store's LOCK (history/PACK, an OFD lock, keeps two packs apart). It never
// drops what a live as-of reader (procs/asof-*) or a retention slot
// (HOME/slots/*) still needs. Crash-safe: OLDEST is raised atomically
// first, then files are removed (a rewritten segment's new file is durable
// before its old one goes); a crash between leaves segments nobody reads,
// or versions in two files, which the next pack cleans up.
#pragma once

#include <cstdint>
#include <string>

#include "h5tx/env.hpp"
#include "h5tx/types.hpp"

namespace h5tx {

using PackResult = PackStats;  // h5tx/types.hpp

struct HistoryUsage {
  uint64_t oldest = 0;  // history/OLDEST
  uint64_t segments = 0;
  uint64_t bytes = 0;  // of the segment files
};
HistoryUsage history_usage(Env& env, const std::string& history_dir);

// The oldest txid any retention slot pins (~0 if HOME/slots/ is missing or
// empty), read with flush/retention's slot codec. CorruptionError naming a
// slot file that is not "h5tx-slot 1 txid <16 hex>\n".
uint64_t oldest_slot(Env& env, const std::string& home);

// Drops history before `before` (reads as of txids below it are refused
// afterwards), as far as as-of readers and slots allow. `home` is the
// store's (resolved) home directory; its history/ must exist.
PackResult pack_history(Env& env, const std::string& home, uint64_t before);

// The newest recorded txid committed before `cutoff_micros` (wall clock),
// for pack --older-than; 0 if none.
uint64_t newest_txid_before(Env& env, const std::string& history_dir, uint64_t cutoff_micros);

}  // namespace h5tx
