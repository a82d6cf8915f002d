// HOME/FLUSHED (formats/store-file.md): the newest txid whose transaction
// directory left journal/ after it was applied. The flusher rewrites it
// before it retires the last transaction directory of a drained queue (and
// recovery before it removes applied ones no _done one follows), so a
// store whose journal holds nothing still says which transaction it holds
// last: what a full backup of an idle, flushed store is labelled with.
// Never on the commit path; written atomically (tmp, fsync, rename, fsync
// HOME). Errors: the Env's; CorruptionError naming the file if damaged.
#pragma once

#include <cstdint>
#include <string>

#include "h5tx/env.hpp"

namespace h5tx {
namespace flushed_mark {

constexpr const char* kFileName = "FLUSHED";

// "h5tx-flushed 1 txid <16 lowercase hex>\n" (37 bytes).
std::string encode(uint64_t txid);
// False if HOME/FLUSHED does not exist (a store of an older build, or one
// that never retired a transaction).
bool read(Env& env, const std::string& home, uint64_t* txid);
// Rewrites it with txid unless it already holds txid or more.
void advance(Env& env, const std::string& home, uint64_t txid);

}  // namespace flushed_mark
}  // namespace h5tx
