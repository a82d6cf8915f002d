// Writing one redo transaction directory: the spill file (chunks written
// before commit because the transaction outgrew its memory budget), the
// MANIFEST with every other chunk inline after its record, the syncs, and
// the rename from working_<id>_temp to working_<txid>_done that is the
// commit point. The journal/ directory fsync that makes the rename durable
// is the caller's (it is shared by concurrent committers).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/env.hpp"
#include "journal/manifest.hpp"

namespace h5tx {
namespace journal {

class TxWriter {
 public:
  // The directory journal_dir/working_<temp_id>_temp is created on first
  // use, or, if `spare` names a recycled directory (spare_dirs.hpp), renamed
  // from it; its old MANIFEST is then overwritten in place at seal().
  TxWriter(Env* env, std::string journal_dir, uint64_t temp_id, std::string spare = std::string());
  ~TxWriter();
  TxWriter(const TxWriter&) = delete;
  TxWriter& operator=(const TxWriter&) = delete;

  // Appends a chunk to the spill file (not synced: seal() syncs it once).
  // Sets op->chunk_file, chunk_offset, chunk_size and chunk_hash.
  void spill(const void* data, size_t n, Op* op);
  // Reads back a spilled chunk.
  std::string read_spilled(const Op& op);

  // Writes the MANIFEST: its record, then inline_data[i] for the i-th
  // WriteChunk op whose chunk_file is "" (their chunk_offset/size/hash must
  // already describe that layout: see add_inline). Then syncs the spill
  // file (if any), the MANIFEST and, if an entry was created in it, the
  // directory (a recycled directory whose files all existed needs no sync:
  // its entries are durable since they were created). Returns the syncs.
  int seal(Manifest& m, const std::vector<const std::vector<uint8_t>*>& inline_data);
  // Lays out an inline chunk: sets op's chunk_file "", its offset after the
  // previous inline chunk, size and hash.
  void add_inline(const std::vector<uint8_t>& data, Op* op);
  // Several writer processes: the txid assigned at the rename differs from
  // the one seal() wrote. Rewrites the MANIFEST record's txid and checksum
  // in place and syncs it (the directory is still _temp: a crash meanwhile
  // leaves garbage). Returns the syncs (1).
  int retxid(Manifest& m, uint64_t txid);
  // Renames the directory to working_<txid>_done (the commit point; not
  // durable until the caller syncs journal/). Returns the new path.
  std::string publish(uint64_t txid);
  // Removes the _temp directory and its files (after abort or failed commit).
  void discard();

  // Creates (or takes over) the directory now: staged writing (stage())
  // hands it to other processes before any chunk is spilled.
  void open_dir() { ensure_dir(); }
  // Files were created in the directory by others (staged part files):
  // seal() syncs the directory.
  void note_new_entries() { new_entries_ = true; }

  bool created() const { return created_; }
  const std::string& path() const { return dir_; }

 private:
  void ensure_dir();
  // Opens a file of the directory: the existing one of a recycled
  // directory (read-write, contents kept), else a new one with `fresh`.
  std::unique_ptr<File> open_file(const char* name, OpenMode fresh);

  Env* env_;
  std::string journal_dir_;
  std::string dir_;
  std::string spare_;
  bool created_ = false;
  bool reused_ = false;
  bool new_entries_ = false;  // a file or the directory was created: seal syncs the directory
  bool published_ = false;
  std::unique_ptr<File> spill_;
  uint64_t spill_size_ = 0;
  uint64_t inline_size_ = 0;
  std::string record_;  // the MANIFEST record seal() wrote
};

}  // namespace journal
}  // namespace h5tx
