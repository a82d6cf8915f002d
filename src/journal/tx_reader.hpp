// Reading committed redo transaction directories: the journal listing, the
// MANIFEST of one directory (its record only, not the inline chunk data),
// one chunk copy (inline in the MANIFEST or in a named file; checked against
// the size and XXH3-64 the MANIFEST records), and full verification of a
// directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5tx/env.hpp"
#include "journal/manifest.hpp"

namespace h5tx {
namespace journal {

struct JournalListing {
  std::vector<uint64_t> temp;  // sorted ascending
  std::vector<uint64_t> done;
  std::vector<uint64_t> flushed;
  std::vector<uint64_t> undo;
  // Entries h5tx did not make: unknown names, and names of ours that are not
  // directories (a symlink, a FIFO, a file). Recovery refuses them.
  std::vector<std::string> other;
};

// Lists journal/ (lstat only: nothing is followed or opened).
JournalListing list_journal(Env& env, const std::string& journal_dir);

// What recovery does with the _flushed directories of a listing. The flusher
// renames a batch's _done directories to _flushed only after the batch is in
// the data files, and a crash may keep any subset of those renames. So a
// _done transaction older than a _flushed one may or may not be applied; it
// is never deleted on that inference: it is replayed, and every _flushed
// transaction newer than it is replayed again after it (`reapply`: renamed
// back to _done), which restores the newest data (replay is idempotent).
// The other _flushed directories are garbage (`garbage`).
struct FlushedPlan {
  std::vector<uint64_t> reapply;
  std::vector<uint64_t> garbage;
};
FlushedPlan plan_flushed(const JournalListing& l);

// Reads and decodes the record of tx_dir/MANIFEST; checks that it names `txid`.
Manifest read_manifest(Env& env, const std::string& tx_dir, uint64_t txid);

// Reads the bytes of a WriteChunk op of a decoded manifest (file chunk_file
// at chunk_offset); CorruptionError naming the file if they are missing or
// their checksum differs from the MANIFEST's.
std::string read_chunk_file(Env& env, const std::string& tx_dir, const Op& op);
std::string read_chunk_file(Env& env, const std::string& tx_dir, const std::string& name, uint64_t offset,
                            uint64_t size, uint64_t hash);

// Reads the MANIFEST and every chunk copy (one at a time) and checks them.
// Version 1 also: no chunk file listed twice, and each has exactly the
// recorded size. Returns the manifest.
Manifest verify_transaction(Env& env, const std::string& tx_dir, uint64_t txid);

}  // namespace journal
}  // namespace h5tx
