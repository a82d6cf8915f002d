// What backup.cpp shares with replicate.cpp (include/h5tx/backup.hpp).
#pragma once

#include <string>

#include "h5tx/backup.hpp"
#include "h5tx/env.hpp"

namespace h5tx {

Env* backup_env(const Options& o);
// The source's HOME with symlinks resolved; NotFoundError if it is not a
// store, UnsupportedError for an undo-mode or format 1 store.
std::string check_source(Env& env, const std::string& home);
// DEST missing or an empty directory: made, with data/, journal/, procs/.
void prepare_dest(Env& env, const std::string& dest);
// The full backup; `replica` marks DEST a replica (HOME/REPLICA) before it is complete.
BackupResult backup_to_dir(const std::string& home, const std::string& dest, const BackupOptions& options,
                           bool replica);

}  // namespace h5tx
