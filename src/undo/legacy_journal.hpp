// Parser of journals written by the original H5FD_sec2j driver
// (formats/sec2j-legacy-journal.md): "sec2j", the offset of the last entry,
// then entries of address, size, CRC32, data and previous-entry offset.
// h5tx never writes this format; it only reverts such journals.
#pragma once

#include <cstdint>
#include <vector>

#include "h5tx/env.hpp"

namespace h5tx {
namespace undo {

constexpr char kLegacyMagic[5] = {'s', 'e', 'c', '2', 'j'};
constexpr uint64_t kLegacyHeaderSize = 13;
constexpr uint64_t kLegacyEntryOverhead = 28;  // address + size + crc + previous offset

struct LegacyEntry {
  uint64_t entry_pos = 0;  // offset of the entry in the journal
  uint64_t address = 0;    // byte offset in the data file
  uint64_t size = 0;       // bytes of data
  uint64_t data_pos = 0;   // where the data starts in the journal
};

struct ScannedLegacyJournal {
  uint64_t last_entry = 0;           // header field; 0: no transaction was pending
  std::vector<LegacyEntry> entries;  // valid entries, oldest first
  bool torn_tail = false;            // the last entry was incomplete or failed its CRC
};

// Parses a journal whose first bytes are "sec2j". Throws CorruptionError
// naming f.path() if an entry before the last one is damaged, a back link is
// wrong, or the last-entry offset does not fall on an entry.
ScannedLegacyJournal scan_legacy_journal(File& f);

}  // namespace undo
}  // namespace h5tx
