// Parser of original-sec2j journals; the rules are in formats/sec2j-legacy-journal.md.
#include "undo/legacy_journal.hpp"

#include <zlib.h>

#include <algorithm>
#include <string>

#include "h5tx/error.hpp"
#include "util/byte_codec.hpp"
#include "undo/journal_format.hpp"

namespace h5tx {
namespace undo {

namespace {

// CRC-32 (zlib) of `n` journal bytes at `pos`; false if they are not all there.
bool crc_of(File& f, uint64_t pos, uint64_t n, uint32_t* out) {
  std::string buf(std::min<uint64_t>(n, 1 << 20), '\0');
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, buf.size()));
    if (f.read(pos, &buf[0], want) != want) return false;
    crc = crc32(crc, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(want));
    pos += want;
    n -= want;
  }
  *out = static_cast<uint32_t>(crc);
  return true;
}

}  // namespace

ScannedLegacyJournal scan_legacy_journal(File& f) {
  const std::string& path = f.path();
  ScannedLegacyJournal out;
  uint64_t size = f.size();
  if (size < kLegacyHeaderSize) {
    // The original wrote the magic and the offset with two write() calls
    // when it opened the file: a shorter journal never had a transaction.
    return out;
  }
  unsigned char hb[kLegacyHeaderSize];
  if (f.read(0, hb, kLegacyHeaderSize) != kLegacyHeaderSize)
    throw IoError(path, "short read of the sec2j journal header");
  out.last_entry = load_le(hb + 5, 8);
  if (out.last_entry == 0) return out;
  if (out.last_entry < kLegacyHeaderSize)
    throw CorruptionError(path, "sec2j journal: last-entry offset " + std::to_string(out.last_entry) +
                                    " points into the header");

  uint64_t pos = kLegacyHeaderSize;
  uint64_t prev_pos = 0;
  while (pos <= out.last_entry) {
    bool is_last = pos == out.last_entry;
    std::string where = "sec2j journal entry at byte " + std::to_string(pos);
    unsigned char eh[20];
    bool complete =
        size - std::min(size, pos) >= kLegacyEntryOverhead && f.read(pos, eh, sizeof eh) == sizeof eh;
    uint64_t address = complete ? load_le(eh, 8) : 0;
    uint64_t n = complete ? load_le(eh + 8, 8) : 0;
    complete = complete && n <= size - pos - kLegacyEntryOverhead;
    uint32_t crc = 0;
    bool crc_ok = complete && crc_of(f, pos + 20, n, &crc) && crc == uint32_t(load_le(eh + 16, 4));
    if (!complete || !crc_ok) {
      if (is_last) {
        out.torn_tail = true;  // written but never synced: its data write never happened
        return out;
      }
      throw CorruptionError(
          path, where + (complete ? " fails its CRC32" : " is truncated") + ", but later entries exist");
    }
    unsigned char pb[8];
    if (f.read(pos + 20 + n, pb, 8) != 8) throw IoError(path, "short read of " + where);
    uint64_t back = load_le(pb, 8);
    // The first entry's back link is not checked: the original driver left
    // it stale in the second and later transactions of one session.
    if (!out.entries.empty() && back != prev_pos)
      throw CorruptionError(
          path, where + " links back to " + std::to_string(back) + ", expected " + std::to_string(prev_pos));
    out.entries.push_back(LegacyEntry{pos, address, n, pos + 20});
    prev_pos = pos;
    pos += kLegacyEntryOverhead + n;
    if (is_last) break;
    if (pos > out.last_entry)
      throw CorruptionError(path, "sec2j journal: last-entry offset " + std::to_string(out.last_entry) +
                                      " does not fall on an entry boundary");
  }
  out.torn_tail = pos < size;
  return out;
}

}  // namespace undo
}  // namespace h5tx
