// A data file of a redo store as of a consistent point, read without
// changing it: its bytes with the before-images of any pending undo
// journal a dead flusher's batch left for it (journal/undo_<id>/) put back,
// in the order recovery would apply them. What a full backup copies
// (backup.cpp), into a directory or a stream.
//
// The caller holds the data gate (flush/procs.hpp) around the whole read,
// so the flusher does not change the file meanwhile. One object per read,
// not thread-safe. Errors: the Env's IoError; CorruptionError naming the
// journal if it does not belong to the file or names bytes past its size.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/env.hpp"
#include "undo/pending_journal.hpp"

namespace h5tx {

class DataFileImage {
 public:
  // HOME/data/<name> and its pending journals in HOME/journal/.
  DataFileImage(Env& env, const std::string& home, const std::string& name);
  // The size after the journals are applied.
  uint64_t size() const { return size_; }
  // Bytes [off, off + n) of that state (n bytes, all below size()).
  void read(uint64_t off, char* buf, size_t n);

 private:
  std::unique_ptr<File> file_;
  uint64_t file_size_ = 0;
  uint64_t size_ = 0;
  struct Pending {
    std::unique_ptr<undo::PendingJournal> journal;
    uint64_t size_after;  // the file's size once it is applied
  };
  std::vector<Pending> pending_;
};

}  // namespace h5tx
