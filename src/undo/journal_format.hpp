// The undo journal format (formats/undo-journal.md): a header (384 bytes in
// version 3, 64 before), then before-image entries, every one checksummed
// with XXH3-64. Version 3 (written) records which data file the journal
// belongs to; version 2 (still read) lets an entry cover a run of adjacent
// pages; version 1 (still read) has at most one page per entry. This file only encodes and parses; the driver
// decides when to write and sync.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "h5tx/env.hpp"

namespace h5tx {
namespace undo {

constexpr char kJournalMagic[8] = {'h', '5', 't', 'x', 'u', 'n', 'd', 'o'};
constexpr uint32_t kJournalVersion = 3;             // written: records the data file's identity
constexpr uint32_t kJournalVersionRuns = 2;         // still read: no identity
constexpr uint32_t kJournalVersionPageEntries = 1;  // still read: one page per entry
constexpr uint64_t kMaxRunEntryBytes = 1 << 20;     // version >= 2: an entry's length, if above page_size
constexpr size_t kHeaderSize = 64;                  // versions 1 and 2; the common prefix of all
constexpr size_t kHeaderSizeV3 = 384;               // version 3
constexpr size_t kMaxHeaderSize = kHeaderSizeV3;
constexpr size_t kOwnerNameBytes = 256;  // version 3: the data file's base name field
constexpr size_t kEntryHeaderSize = 32;
constexpr uint32_t kEntryBeforeImage = 1;
constexpr uint64_t kMinPageSize = 512;
constexpr uint64_t kMaxPageSize = 64ull << 20;

// Version 3: which data file the journal belongs to (formats/undo-journal.md,
// "Which data file"). device = inode = 0: not known when written.
struct JournalOwner {
  uint64_t device = 0;
  uint64_t inode = 0;
  std::string name;  // base name of the data file, at most kOwnerNameBytes bytes
};

struct JournalHeader {
  uint64_t page_size = 0;
  uint64_t original_size = 0;  // data file size when the outermost transaction began
  uint64_t nonce = 0;          // seeds every entry checksum
  uint32_t version = kJournalVersion;
  JournalOwner owner;  // version 3 only
};

// The header size of a format version; 0 for an unknown version.
size_t header_size_of(uint32_t version);
// The owner record of `data_path` as opened in `data`.
JournalOwner owner_of(File& data, const std::string& data_path);

// The longest entry a journal of this header may hold.
uint64_t max_entry_length(const JournalHeader& h);

// One before-image found in a journal.
struct JournalEntry {
  uint64_t data_pos = 0;  // where its bytes start in the journal
  uint64_t offset = 0;    // page-aligned offset in the data file
  uint32_t length = 0;    // bytes (1..max_entry_length)
  uint32_t level = 0;     // transaction nesting depth that recorded it (0: outermost)
};

struct ScannedJournal {
  JournalHeader header;
  std::vector<JournalEntry> entries;  // the valid prefix, in journal order
  uint64_t valid_end = 0;             // end of the last valid entry
  bool torn_tail = false;             // bytes after valid_end were ignored
};

std::string encode_header(const JournalHeader& h);
// Appends one entry (32-byte entry header + data) to *out.
void append_entry(std::string* out, const JournalHeader& h, uint64_t offset, uint32_t level, const void* data,
                  uint32_t length);
// Fills in the 32-byte header of the entry at `entry`, whose `length` data
// bytes already follow it (so a writer can read the data in place).
void seal_entry(char* entry, const JournalHeader& h, uint64_t offset, uint32_t level, uint32_t length);

// Parses a journal whose first 8 bytes are kJournalMagic. Throws
// CorruptionError (bad header checksum, impossible field, an entry whose
// checksum matches but whose fields are impossible) or UnsupportedError
// (newer version), naming `f.path()`. Stops at the first incomplete or
// checksum-failing entry: that is the torn tail (see the format doc).
ScannedJournal scan_journal(File& f);

}  // namespace undo
}  // namespace h5tx
