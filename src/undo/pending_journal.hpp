// A journal left behind by an unfinished transaction (ours or a legacy
// sec2j one), loaded as the list of before-images that undo it. Used to
// revert a file (read-write open, recover()) and to serve the
// pre-transaction bytes of a file opened read-only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/env.hpp"
#include "undo/interval_map.hpp"
#include "undo/journal_format.hpp"

namespace h5tx {
namespace undo {

class PendingJournal {
 public:
  struct Image {
    uint64_t offset;  // in the data file
    uint64_t length;
    uint64_t journal_pos;  // where the bytes are in the journal
  };

  // nullptr if there is no journal at `path` or it is empty. Otherwise the
  // parsed journal; nothing_to_undo() tells whether it actually holds a
  // transaction. Throws CorruptionError naming the journal if it is garbage
  // (unknown magic, bad header checksum, damaged entry before the tail),
  // UnsupportedError for a newer format version.
  static std::unique_ptr<PendingJournal> load(Env& env, const std::string& path);

  // True for a journal that cannot have protected any write to the data file
  // (a header that was never synced, or a legacy journal with no entry).
  bool nothing_to_undo() const { return nothing_; }
  bool legacy() const { return legacy_; }
  // Our format: the data file size before the transaction. Legacy: none (the
  // original driver did not undo growth).
  bool has_original_size() const { return has_size_; }
  uint64_t original_size() const { return original_size_; }
  // In application order: a later image overrides an earlier one.
  const std::vector<Image>& images() const { return images_; }
  bool torn_tail() const { return torn_tail_; }
  const std::string& path() const { return journal_->path(); }
  // Version 3: the identity of the data file the journal was written for.
  bool has_owner() const { return has_owner_; }
  const JournalOwner& owner() const { return owner_; }
  // CorruptionError naming both files unless the journal may belong to
  // `data` (formats/undo-journal.md, "Which data file"). Older versions
  // record no owner and pass.
  void check_owner(File& data) const;

  // Writes the before-images into `data`, truncates it to the original size
  // and syncs it. Idempotent.
  void apply(File& data);
  // The before-images as an overlay of journal positions (for reads).
  IntervalMap<FilePos> overlay() const;
  // Reads n journal bytes at pos (throws if they are not all there).
  void read_journal(uint64_t pos, void* buf, size_t n);

 private:
  std::unique_ptr<File> journal_;
  bool nothing_ = false;
  bool legacy_ = false;
  bool has_size_ = false;
  uint64_t original_size_ = 0;
  bool torn_tail_ = false;
  bool has_owner_ = false;
  JournalOwner owner_;
  std::vector<Image> images_;
};

// Reverts the pending journal of a closed data file, then invalidates the
// journal (truncate to 0, sync, remove). Returns true if it reverted
// something. A journal with nothing to undo is just removed.
// `data`: the data file already open read-write (e.g. holding HDF5's lock);
// null: opened here. CorruptionError if the journal belongs to another file.
bool revert_pending_journal(Env& env, const std::string& data_path, const std::string& journal_path,
                            File* data = nullptr);

}  // namespace undo
}  // namespace h5tx
