// A data file as of a consistent point (store/data_file_image.hpp).
#include "store/data_file_image.hpp"

#include <algorithm>
#include <cstring>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"

namespace h5tx {

DataFileImage::DataFileImage(Env& env, const std::string& home, const std::string& name) {
  const std::string path = path_join(path_join(home, "data"), name);
  file_ = env.open(path, OpenMode::ReadOnly);
  file_size_ = size_ = file_->size();
  const std::string jdir = path_join(home, "journal");
  for (uint64_t id : journal::list_journal(env, jdir).undo) {
    const std::string j = path_join(path_join(jdir, journal::undo_dir_name(id)), name + ".journal");
    if (!env.exists(j)) continue;
    auto pending = undo::PendingJournal::load(env, j);
    if (!pending || pending->nothing_to_undo()) continue;
    pending->check_owner(*file_);
    // As PendingJournal::apply: images lie below the original size (ours)
    // or inside the file (legacy, which never shrank it).
    const uint64_t limit = pending->has_original_size() ? pending->original_size() : size_;
    for (const auto& im : pending->images())
      if (im.offset > limit || im.length > limit - im.offset)
        throw CorruptionError(pending->path(), "before-image of " + std::to_string(im.length) +
                                                   " bytes at offset " + std::to_string(im.offset) +
                                                   " lies beyond the file's size " + std::to_string(limit));
    size_ = limit;
    pending_.push_back({std::move(pending), size_});
  }
}

void DataFileImage::read(uint64_t off, char* buf, size_t n) {
  if (off > size_ || n > size_ - off)
    throw InvalidArgumentError(file_->path(), "read past the end of the file's consistent image");
  std::memset(buf, 0, n);
  size_t have = 0;
  while (off + have < file_size_ && have < n) {
    size_t got = file_->read(off + have, buf + have, n - have);
    if (got == 0) break;
    have += got;
  }
  const uint64_t end = off + n;
  for (Pending& p : pending_) {
    for (const auto& im : p.journal->images()) {
      const uint64_t a = std::max(off, im.offset), b = std::min(end, im.offset + im.length);
      if (a < b) p.journal->read_journal(im.journal_pos + (a - im.offset), buf + (a - off), size_t(b - a));
    }
    if (p.size_after < end) {  // truncated, maybe grown again by the next journal
      const uint64_t from = std::max(off, p.size_after);
      std::memset(buf + (from - off), 0, size_t(end - from));
    }
  }
}

}  // namespace h5tx
