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
  std::vector<uint64_t> temp;     // sorted ascending
  std::vector<uint64_t> done;
  std::vector<uint64_t> flushed;
  std::vector<uint64_t> undo;
  std::vector<std::string> other;  // entries h5tx does not know
};

JournalListing list_journal(Env& env, const std::string& journal_dir);

// Reads and decodes the record of tx_dir/MANIFEST; checks that it names `txid`.
Manifest read_manifest(Env& env, const std::string& tx_dir, uint64_t txid);

// Reads the bytes of a WriteChunk op of a decoded manifest (file chunk_file
// at chunk_offset); CorruptionError naming the file if they are missing or
// their checksum differs from the MANIFEST's.
std::string read_chunk_file(Env& env, const std::string& tx_dir, const Op& op);
std::string read_chunk_file(Env& env, const std::string& tx_dir, const std::string& name,
                            uint64_t offset, uint64_t size, uint64_t hash);

// Reads the MANIFEST and every chunk copy (one at a time) and checks them.
// Version 1 also: no chunk file listed twice, and each has exactly the
// recorded size. Returns the manifest.
Manifest verify_transaction(Env& env, const std::string& tx_dir, uint64_t txid);

}  // namespace journal
}  // namespace h5tx
