// Writing one redo transaction directory: chunk files (written as they are
// spilled or at commit), the MANIFEST, the syncs, and the rename from
// working_<id>_temp to working_<txid>_done that is the commit point. The
// journal/ directory fsync that makes the rename durable is the caller's
// (it is shared by concurrent committers).
#pragma once

#include <cstdint>
#include <string>

#include "h5tx/env.hpp"
#include "journal/manifest.hpp"

namespace h5tx {
namespace journal {

class TxWriter {
 public:
  // The directory journal_dir/working_<temp_id>_temp is created on first use.
  TxWriter(Env* env, std::string journal_dir, uint64_t temp_id);
  ~TxWriter();
  TxWriter(const TxWriter&) = delete;
  TxWriter& operator=(const TxWriter&) = delete;

  // Writes a new chunk file and syncs its data (one fdatasync). Returns its name; *hash gets its checksum.
  std::string write_chunk_file(const void* data, size_t n, uint64_t* hash);
  std::string read_chunk_file(const std::string& name, size_t n);
  void remove_chunk_file(const std::string& name);

  // Writes the MANIFEST, syncs it and the directory. Returns the number of
  // fsyncs done (2).
  int seal(const Manifest& m);
  // Renames the directory to working_<txid>_done (the commit point; not
  // durable until the caller syncs journal/). Returns the new path.
  std::string publish(uint64_t txid);
  // Removes the _temp directory and its files (after abort or failed commit).
  void discard();

  bool created() const { return created_; }
  const std::string& path() const { return dir_; }

 private:
  void ensure_dir();

  Env* env_;
  std::string journal_dir_;
  std::string dir_;
  bool created_ = false;
  bool published_ = false;
  uint64_t next_chunk_ = 0;
};

}  // namespace journal
}  // namespace h5tx
