// `undo-recover`: reverts the pending undo journal of a bare HDF5 file (one
// used through the sec2j C names, outside any store), ours or a legacy sec2j
// journal, with H5FD_sec2j_recover.
#include <cstdio>

#include "commands.hpp"
#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "h5tx/sec2j.h"
#include "hdf5/handle.hpp"

namespace h5tx {
namespace cli {

namespace {

int run_undo_recover(const Args& a) {
  std::string file = a.positional[0];
  std::string journal = a.get("journal", file + ".journal");
  Env* env = Env::posix();
  if (!env->exists(file)) throw NotFoundError(file, "no such file");
  if (!env->exists(journal)) {
    std::printf("%s: no undo journal (%s); nothing to revert\n", file.c_str(), journal.c_str());
    return 0;
  }
  herr_t rc = H5FD_sec2j_recover(file.c_str(), a.has("journal") ? journal.c_str() : nullptr);
  if (rc < 0)
    throw Hdf5Error(file, "cannot revert the undo journal " + journal + ": " + hdf5::error_stack_message());
  if (rc > 0)
    std::printf("%s: reverted the unfinished transaction recorded in %s\n", file.c_str(), journal.c_str());
  else
    std::printf("%s: the journal %s held nothing to revert; removed it\n", file.c_str(), journal.c_str());
  return 0;
}

}  // namespace

std::vector<Command> undo_commands() {
  return {
      {{"undo-recover",
        "FILE.h5 [--journal JOURNAL]",
        "Revert the unfinished transaction of a bare HDF5 file written through the sec2j driver\n"
        "(journal FILE.h5.journal by default; h5tx's format or the original sec2j's). The file then\n"
        "holds exactly its bytes from before the transaction. Refused while another process has the\n"
        "file open (HDF5's file lock), and for a journal written for another data file. Not for files\n"
        "inside a store: opening the store recovers those.",
        {{"journal", "JOURNAL", "the journal's path (default FILE.h5.journal)"}},
        1,
        1},
       run_undo_recover},
  };
}

}  // namespace cli
}  // namespace h5tx
