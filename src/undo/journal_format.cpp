// Encoder and parser of the undo journal (formats/undo-journal.md).
#include "undo/journal_format.hpp"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "h5tx/env.hpp"
#include "util/byte_codec.hpp"
#include "h5tx/error.hpp"

namespace h5tx {
namespace undo {

size_t header_size_of(uint32_t version) {
  if (version == kJournalVersionPageEntries || version == kJournalVersionRuns) return kHeaderSize;
  if (version == kJournalVersion) return kHeaderSizeV3;
  return 0;
}

JournalOwner owner_of(File& data, const std::string& data_path) {
  JournalOwner o;
  FileIdentity id = data.identity();
  if (id.known) {
    o.device = id.device;
    o.inode = id.inode;
  }
  o.name = path_basename(data_path).substr(0, kOwnerNameBytes);
  return o;
}

uint64_t max_entry_length(const JournalHeader& h) {
  if (h.version == kJournalVersionPageEntries) return h.page_size;
  return std::max<uint64_t>(h.page_size, kMaxRunEntryBytes);
}

std::string encode_header(const JournalHeader& h) {
  std::string out(kJournalMagic, sizeof(kJournalMagic));
  const size_t size = header_size_of(h.version);
  put_le(&out, h.version, 4);
  put_le(&out, static_cast<uint32_t>(size), 4);
  put_le(&out, h.page_size, 8);
  put_le(&out, h.original_size, 8);
  put_le(&out, h.nonce, 8);
  if (h.version >= kJournalVersion) {
    std::string name = h.owner.name.substr(0, kOwnerNameBytes);
    put_le(&out, h.owner.device, 8);
    put_le(&out, h.owner.inode, 8);
    put_le(&out, static_cast<uint32_t>(name.size()), 4);
    put_le(&out, 0, 4);  // reserved
    out += name;
    out.resize(size - 8, '\0');  // name padding and reserved bytes
  } else {
    put_le(&out, 0, 8);  // reserved
    put_le(&out, 0, 8);  // reserved
  }
  put_le(&out, XXH3_64bits(out.data(), out.size()), 8);
  return out;
}

static uint64_t entry_checksum(const JournalHeader& h, const void* entry_head, const void* data,
                               size_t length) {
  XXH3_state_t state;
  XXH3_INITSTATE(&state);  // required on the stack before a seeded reset
  XXH3_64bits_reset_withSeed(&state, h.nonce);
  XXH3_64bits_update(&state, entry_head, 24);
  XXH3_64bits_update(&state, data, length);
  return XXH3_64bits_digest(&state);
}

void seal_entry(char* entry, const JournalHeader& h, uint64_t offset, uint32_t level, uint32_t length) {
  unsigned char* head = reinterpret_cast<unsigned char*>(entry);
  store_le(head, kEntryBeforeImage, 4);
  store_le(head + 4, length, 4);
  store_le(head + 8, offset, 8);
  store_le(head + 16, level, 4);
  store_le(head + 20, 0, 4);  // reserved
  store_le(head + 24, entry_checksum(h, head, entry + kEntryHeaderSize, length), 8);
}

void append_entry(std::string* out, const JournalHeader& h, uint64_t offset, uint32_t level, const void* data,
                  uint32_t length) {
  size_t at = out->size();
  out->resize(at + kEntryHeaderSize);
  out->append(static_cast<const char*>(data), length);
  seal_entry(&(*out)[at], h, offset, level, length);
}

ScannedJournal scan_journal(File& f) {
  const std::string& path = f.path();
  ScannedJournal out;
  uint64_t size = f.size();
  unsigned char hb[kMaxHeaderSize];
  if (size < kHeaderSize || f.read(0, hb, kHeaderSize) != kHeaderSize)
    throw CorruptionError(path, "undo journal header is truncated (" + std::to_string(size) +
                                    " bytes, need " + std::to_string(kHeaderSize) + ")");
  if (std::memcmp(hb, kJournalMagic, sizeof(kJournalMagic)) != 0)
    throw CorruptionError(path, "not an undo journal (bad magic)");
  uint32_t version = uint32_t(load_le(hb + 8, 4));
  const size_t header_size = header_size_of(version);
  if (header_size == 0) {
    if (load_le(hb + 56, 8) != XXH3_64bits(hb, 56))  // a damaged older header, or a newer one
      throw CorruptionError(
          path, "undo journal header checksum mismatch (or unknown version " + std::to_string(version) + ")");
    throw UnsupportedError(path, "undo journal format version " + std::to_string(version) +
                                     " (this build reads versions 1 to " + std::to_string(kJournalVersion) +
                                     ")");
  }
  if (header_size > kHeaderSize &&
      (size < header_size ||
       f.read(kHeaderSize, hb + kHeaderSize, header_size - kHeaderSize) != header_size - kHeaderSize))
    throw CorruptionError(path, "undo journal header is truncated (" + std::to_string(size) +
                                    " bytes, need " + std::to_string(header_size) + ")");
  if (load_le(hb + header_size - 8, 8) != XXH3_64bits(hb, header_size - 8))
    throw CorruptionError(path, "undo journal header checksum mismatch");
  out.header.version = version;
  if (uint32_t(load_le(hb + 12, 4)) != header_size)
    throw CorruptionError(
        path, "undo journal header size field is " + std::to_string(uint32_t(load_le(hb + 12, 4))));
  if (version >= kJournalVersion) {
    out.header.owner.device = load_le(hb + 40, 8);
    out.header.owner.inode = load_le(hb + 48, 8);
    uint32_t name_len = uint32_t(load_le(hb + 56, 4));
    if (name_len > kOwnerNameBytes)
      throw CorruptionError(path, "undo journal header: data file name length " + std::to_string(name_len) +
                                      " is out of range");
    out.header.owner.name.assign(reinterpret_cast<const char*>(hb + 64), name_len);
  }
  out.header.page_size = load_le(hb + 16, 8);
  out.header.original_size = load_le(hb + 24, 8);
  out.header.nonce = load_le(hb + 32, 8);
  if (out.header.page_size < kMinPageSize || out.header.page_size > kMaxPageSize)
    throw CorruptionError(
        path, "undo journal page size " + std::to_string(out.header.page_size) + " is out of range");

  const uint64_t max_length = max_entry_length(out.header);
  std::string data;
  uint64_t pos = header_size;
  out.valid_end = pos;
  while (pos < size) {
    unsigned char eh[kEntryHeaderSize];
    if (size - pos < kEntryHeaderSize || f.read(pos, eh, kEntryHeaderSize) != kEntryHeaderSize) break;
    uint32_t length = uint32_t(load_le(eh + 4, 4));
    if (length == 0 || length > max_length || size - pos - kEntryHeaderSize < length) break;
    if (data.size() < length) data.resize(length);
    if (f.read(pos + kEntryHeaderSize, &data[0], length) != length) break;
    if (entry_checksum(out.header, eh, data.data(), length) != load_le(eh + 24, 8)) break;
    JournalEntry e;
    e.data_pos = pos + kEntryHeaderSize;
    e.offset = load_le(eh + 8, 8);
    e.length = length;
    e.level = uint32_t(load_le(eh + 16, 4));
    uint32_t kind = uint32_t(load_le(eh, 4));
    if (kind != kEntryBeforeImage || e.offset % out.header.page_size != 0)
      throw CorruptionError(path, "undo journal entry at byte " + std::to_string(pos) +
                                      " has a valid checksum but kind " + std::to_string(kind) +
                                      " / offset " + std::to_string(e.offset) + " is invalid");
    out.entries.push_back(e);
    pos = e.data_pos + length;
    out.valid_end = pos;
  }
  out.torn_tail = out.valid_end < size;
  return out;
}

}  // namespace undo
}  // namespace h5tx
