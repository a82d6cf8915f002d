// Crafted redo stores for tests of hostile or damaged journals.
//
// A real store is made with the library (make_store), then journal entries
// are written by hand: a committed transaction directory
// journal/working_<txid>_done/ whose MANIFEST record and chunk copies carry
// valid XXH3-64 checksums (XXH3 is not a secret: anyone can recompute it),
// so a test using them exercises the library's validation, not its
// checksums. The MANIFEST is encoded here, byte for byte after
// formats/redo-manifest.md (version 2), without any validation: file names
// with "/" or "..", HDF5 paths with "..", chunk copies of the wrong size,
// coordinates outside the dataset, offsets and sizes of gigabytes and txids
// at the top of the range are all written as given.
// tests/journal_crafted_test.cpp checks that this encoder writes exactly
// what journal::encode_manifest writes for ordinary input, and that every
// hostile record decodes with valid checksums.
//
// Also: stray entries of journal/ (a symlink named like a transaction
// directory, a FIFO named MANIFEST, an empty directory of any state and
// txid), and a snapshot of a directory tree (names, types, sizes, mtimes)
// to show that nothing outside HOME changed.
//
// No Catch2 here: the structure-aware fuzzer (tests/fuzz/manifest_struct_fuzz.cpp)
// compiles this file too. Failures throw std::runtime_error.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "h5tx/types.hpp"
#include "journal/manifest.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx_test {
namespace crafted {

// What make_store puts in the store.
constexpr char kFile[] = "vol.h5";
// A 16x32 u32 dataset of 8x8 chunks (rows unlimited, columns at most 32),
// no filters: a stored chunk is its 256 raw bytes. Chunk (0,0) holds
// chunk_bytes(1, 0, 0).
constexpr char kGrid[] = "/grid";
// The same shape with shuffle+deflate and Fletcher32 (filter mask 0 = all
// three filters applied); chunk (0,0) holds chunk_bytes(2, 0, 0).
constexpr char kZipped[] = "/zipped";
constexpr uint64_t kChunkBytes = 8 * 8 * 4;
h5tx::DatasetSpec grid_spec(bool compress);
// The raw bytes of one 8x8 u32 chunk (a pattern of seed and coordinates).
std::string chunk_bytes(uint32_t seed, uint64_t r, uint64_t c);

// Creates a redo store at `home` with the library: kFile with kGrid and
// kZipped, chunk (0,0) of each written, committed and flushed. Closed on
// return; the journal is empty.
void make_store(const std::string& home);

// The first txid the store has not reserved (HOME/TXID): a txid above
// every one the store used, for a crafted transaction.
uint64_t unused_txid(const std::string& home);

// journal/working_<txid>_<state> of `home`.
std::string tx_dir(const std::string& home, uint64_t txid,
                   h5tx::journal::TxState state = h5tx::journal::TxState::Done);

// A committed transaction written by hand. Every add_* call appends one
// operation as given (no validation).
class CraftedTx {
 public:
  explicit CraftedTx(uint64_t txid);

  h5tx::journal::Manifest& manifest() { return m_; }
  uint64_t txid() const { return m_.txid; }

  CraftedTx& create_file(const std::string& file);
  CraftedTx& create_dataset(const std::string& file, const std::string& path, const h5tx::DatasetSpec& spec);
  CraftedTx& extend_dataset(const std::string& file, const std::string& path, const h5tx::Shape& extent);
  CraftedTx& set_attribute(const std::string& file, const std::string& object, const std::string& name,
                           const h5tx::AttributeValue& value);
  // A chunk copy inline in the MANIFEST: `stored` are the bytes as HDF5
  // would store them (after the filters the mask does not skip); its
  // XXH3-64 is computed here.
  CraftedTx& write_chunk_inline(const std::string& file, const std::string& dataset,
                                const h5tx::Shape& coords, const std::string& stored,
                                uint32_t filter_mask = 0);
  // A chunk copy appended to the transaction's spill file, XXH3-64 computed.
  CraftedTx& write_chunk_spilled(const std::string& file, const std::string& dataset,
                                 const h5tx::Shape& coords, const std::string& stored,
                                 uint32_t filter_mask = 0);
  // A chunk copy anywhere: `chunk_file` ("spill" or any other name, "" =
  // inline is not allowed here), offset, size and checksum exactly as given
  // (hostile references: a size of 2 GiB in a spill file of a few bytes).
  CraftedTx& write_chunk_ref(const std::string& file, const std::string& dataset, const h5tx::Shape& coords,
                             const std::string& chunk_file, uint64_t offset, uint64_t size, uint64_t hash,
                             uint32_t filter_mask = 0);
  // Appends raw bytes to the spill file (no operation refers to them).
  CraftedTx& append_spill(const std::string& bytes);

  // The whole MANIFEST file: record (valid checksum), then the inline data.
  std::string manifest_file() const;
  const std::string& spill() const { return spill_; }

  // Writes journal/working_<txid>_<state>/ under `home` (MANIFEST, and
  // `spill` if any chunk was spilled or spill bytes were appended).
  // Returns the directory's path.
  std::string write(const std::string& home,
                    h5tx::journal::TxState state = h5tx::journal::TxState::Done) const;

 private:
  h5tx::journal::Manifest m_;
  std::vector<std::string> inline_;  // per op: its inline bytes (chunk_file "")
  std::string spill_;
};

// Encodes a version-2 MANIFEST record following formats/redo-manifest.md,
// without validating anything: ops with chunk_file "" are inline, their
// chunk_offset counting from the start of the inline data (inline_bytes is
// written as `inline_bytes`). Length field and XXH3-64 are filled in.
std::string encode_record(const h5tx::journal::Manifest& m, uint64_t inline_bytes);

// Stray entries of journal/.
// A symlink journal/<name> -> target.
void make_symlink_entry(const std::string& home, const std::string& name, const std::string& target);
// journal/working_<txid>_done/ holding a FIFO named MANIFEST.
std::string make_fifo_manifest(const std::string& home, uint64_t txid);
// An empty directory journal/working_<txid>_<state>/ (e.g. a _flushed one
// with a txid above every committed transaction, or txid 2^64-1).
std::string make_empty_tx_dir(const std::string& home, uint64_t txid, h5tx::journal::TxState state);

// A snapshot of everything under `root` except the subtree `exclude` (an
// absolute path, or "" for none), without following symlinks: per relative
// path, its type, size, mtime (ns) and, for a symlink, its target.
struct Stamp {
  char type = '?';  // 'f' file, 'd' directory, 'l' symlink, 'p' fifo, 'o' other
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string link;
  bool operator==(const Stamp& o) const {
    return type == o.type && size == o.size && mtime_ns == o.mtime_ns && link == o.link;
  }
  bool operator!=(const Stamp& o) const { return !(*this == o); }
};
using TreeSnapshot = std::map<std::string, Stamp>;
TreeSnapshot snapshot_tree(const std::string& root, const std::string& exclude);
// The differences between two snapshots, one line each ("" if none).
std::string diff_trees(const TreeSnapshot& before, const TreeSnapshot& after);

}  // namespace crafted
}  // namespace h5tx_test
