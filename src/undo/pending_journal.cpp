// Loading, applying and overlaying a pending undo journal (ours or legacy).
#include "undo/pending_journal.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_set>

#include "h5tx/error.hpp"
#include "util/byte_codec.hpp"
#include "undo/journal_format.hpp"
#include "undo/legacy_journal.hpp"
#include "undo/superblock.hpp"

namespace h5tx {
namespace undo {

namespace {

// True if the n bytes at p are a prefix of magic (of length m), or magic a prefix of them.
bool matches_magic(const unsigned char* p, size_t n, const char* magic, size_t m) {
  return std::memcmp(p, magic, std::min(n, m)) == 0;
}

}  // namespace

std::unique_ptr<PendingJournal> PendingJournal::load(Env& env, const std::string& path) {
  if (!env.exists(path)) return nullptr;
  auto journal = env.open(path, OpenMode::ReadOnly);
  uint64_t size = journal->size();
  if (size == 0) return nullptr;
  std::unique_ptr<PendingJournal> p(new PendingJournal);
  p->journal_ = std::move(journal);
  File& f = *p->journal_;

  unsigned char head[kHeaderSize];
  size_t n = f.read(0, head, std::min<uint64_t>(size, kHeaderSize));
  bool all_zero = std::all_of(head, head + n, [](unsigned char c) { return c == 0; });
  if (all_zero) {
    // Space allocated, header never reached the disk: the journal was never
    // synced, so no data write happened under it.
    p->nothing_ = true;
  } else if (matches_magic(head, n, kJournalMagic, sizeof kJournalMagic)) {
    // A header shorter than its version's size is torn: never synced
    // (format doc, "Torn tail"). An unknown version is scan_journal's to report.
    size_t header_size = n >= 12 ? header_size_of(uint32_t(load_le(head + 8, 4))) : kHeaderSize;
    if (size < kHeaderSize || (header_size != 0 && size < header_size)) {
      p->nothing_ = true;
    } else {
      ScannedJournal s = scan_journal(f);
      p->has_owner_ = s.header.version >= kJournalVersion;
      p->owner_ = s.header.owner;
      p->has_size_ = true;
      p->original_size_ = s.header.original_size;
      p->torn_tail_ = s.torn_tail;
      // Page by page (a version 2 entry covers a run of pages): the first
      // image of a page wins; growth is undone by the truncate. Pages that
      // follow each other in the file and in the journal stay one image.
      const uint64_t ps = s.header.page_size, size = s.header.original_size;
      std::unordered_set<uint64_t> seen;
      for (const JournalEntry& e : s.entries) {
        uint64_t end = std::min<uint64_t>(e.offset + e.length, size);
        for (uint64_t at = e.offset; at < end; at += ps) {
          if (!seen.insert(at / ps).second) continue;
          uint64_t len = std::min<uint64_t>(ps, end - at), pos = e.data_pos + (at - e.offset);
          Image* last = p->images_.empty() ? nullptr : &p->images_.back();
          if (last && last->offset + last->length == at && last->journal_pos + last->length == pos) {
            last->length += len;
          } else {
            p->images_.push_back(Image{at, len, pos});
          }
        }
      }
    }
  } else if (matches_magic(head, n, kLegacyMagic, sizeof kLegacyMagic)) {
    p->legacy_ = true;
    ScannedLegacyJournal s = scan_legacy_journal(f);
    p->torn_tail_ = s.torn_tail;
    p->nothing_ = s.entries.empty();
    // Newest first, so the oldest before-image of overlapping ranges lands last.
    for (auto it = s.entries.rbegin(); it != s.entries.rend(); ++it)
      p->images_.push_back(Image{it->address, it->size, it->data_pos});
  } else {
    throw CorruptionError(path,
                          "not an undo journal: unknown magic (neither h5tx undo nor sec2j); "
                          "refusing to open the data file until it is removed or repaired");
  }
  return p;
}

void PendingJournal::check_owner(File& data) const {
  if (!has_owner_) return;
  const bool has_inode = owner_.device != 0 || owner_.inode != 0;
  if (!has_inode && owner_.name.empty()) return;  // recorded as unknown
  FileIdentity id = data.identity();
  bool same_inode = id.known && has_inode && id.device == owner_.device && id.inode == owner_.inode;
  bool same_name =
      !owner_.name.empty() && path_basename(data.path()).substr(0, kOwnerNameBytes) == owner_.name;
  if (same_inode || same_name) return;
  std::string theirs =
      id.known ? " (device " + std::to_string(id.device) + ", inode " + std::to_string(id.inode) + ")" : "";
  throw CorruptionError(journal_->path(), "undo journal belongs to data file '" + owner_.name + "' (device " +
                                              std::to_string(owner_.device) + ", inode " +
                                              std::to_string(owner_.inode) + "), not to " + data.path() +
                                              theirs + "; refusing to revert or read through it");
}

void PendingJournal::read_journal(uint64_t pos, void* buf, size_t n) {
  if (journal_->read(pos, buf, n) != n)
    throw CorruptionError(journal_->path(), "journal shrank while being read");
}

void PendingJournal::apply(File& data) {
  // Check every before-image first, so a journal that passes its checksums
  // but names impossible places (a bug, or a legacy journal of another
  // file) is refused before anything is written. Ours: images cover bytes
  // that existed when the transaction began, below the original size.
  // Legacy sec2j never shrank a file, so its images lie inside the file.
  uint64_t limit = has_size_ ? original_size_ : data.size();
  uint64_t images_end = 0;
  for (const Image& im : images_) {
    if (im.offset > limit || im.length > limit - im.offset)
      throw CorruptionError(path(), "before-image of " + std::to_string(im.length) + " bytes at offset " +
                                        std::to_string(im.offset) + " lies beyond " +
                                        (has_size_ ? "the original size " : "the end of ") +
                                        (has_size_ ? std::to_string(limit) : data.path()) +
                                        "; refusing to revert");
    images_end = std::max(images_end, im.offset + im.length);
  }
  // Every byte below the original size that the file no longer has must
  // come back from a before-image (a transaction that shrank the file
  // journaled what it cut): the final truncate never grows the file.
  if (has_size_ && original_size_ > data.size() && original_size_ > images_end)
    throw CorruptionError(path(), "original size " + std::to_string(original_size_) + " exceeds both " +
                                      data.path() + " (" + std::to_string(data.size()) +
                                      " bytes) and its before-images; refusing to revert");
  std::string buf;
  for (const Image& im : images_) {
    uint64_t done = 0;
    while (done < im.length) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(im.length - done, 1 << 20));
      buf.resize(chunk);
      read_journal(im.journal_pos + done, &buf[0], chunk);
      data.write(im.offset + done, buf.data(), chunk);
      done += chunk;
    }
  }
  if (has_size_ && data.size() != original_size_) data.truncate(original_size_);
  // HDF5 set a version 3 superblock's "open for write" flags when it opened
  // the file, before the transaction: they are stale now (undo/superblock.hpp).
  clear_superblock_flags(data);
  data.sync();
}

IntervalMap<FilePos> PendingJournal::overlay() const {
  IntervalMap<FilePos> m;
  for (const Image& im : images_) m.insert(im.offset, im.length, FilePos{im.journal_pos});
  return m;
}

bool revert_pending_journal(Env& env, const std::string& data_path, const std::string& journal_path,
                            File* data) {
  auto p = PendingJournal::load(env, journal_path);
  if (!p) {
    if (env.exists(journal_path)) env.remove_file(journal_path);  // empty: clutter only
    return false;
  }
  bool reverted = false;
  if (!p->nothing_to_undo()) {
    std::unique_ptr<File> opened;
    if (!data) {
      if (!env.exists(data_path))
        throw NotFoundError(data_path, "data file is missing but its undo journal " + journal_path +
                                           " holds an unfinished transaction");
      opened = env.open(data_path, OpenMode::ReadWrite);
      data = opened.get();
    }
    p->check_owner(*data);
    p->apply(*data);
    reverted = true;
  }
  p.reset();
  // Invalidate durably, then drop the empty file (its removal need not be
  // durable: an empty journal means no transaction).
  {
    auto j = env.open(journal_path, OpenMode::ReadWrite);
    j->truncate(0);
    j->sync();
  }
  env.remove_file(journal_path);
  return reverted;
}

}  // namespace undo
}  // namespace h5tx
