// The _temp directories of dead writer processes (store format 3): a
// writer process names its _temp directories after its registration
// (procs::owner_tag), so once that registration's lock is free (the
// process died, the kernel let go of it) its unfinished transactions and
// spare directories are garbage, removed at once by the flusher process
// instead of waiting for an open that finds the store unused.
#pragma once

#include <cstddef>
#include <string>

#include "h5tx/env.hpp"

namespace h5tx {

// Removes the _temp directories of journal_dir whose owner tag belongs to
// no live writer registration in procs_dir. Never one without a tag (an id
// below 2^32), never one of a live process (a registration that cannot be
// probed counts as live; so does any whose tag it shares), never a _done
// or _flushed one. The removals are not synced (garbage that comes back
// after a crash is removed again). Returns how many it removed; throws the
// Env's errors. Thread-safe (no state).
size_t remove_orphan_temps(Env* env, const std::string& journal_dir, const std::string& procs_dir);

}  // namespace h5tx
