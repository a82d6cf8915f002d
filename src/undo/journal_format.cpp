// Encoder and parser of the undo journal (formats/undo-journal.md).
#include "undo/journal_format.hpp"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <algorithm>
#include <cstring>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"

namespace h5tx {
namespace undo {

void put_u32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint32_t get_u32(const unsigned char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
uint64_t get_u64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

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
  put_u32(&out, h.version);
  put_u32(&out, static_cast<uint32_t>(size));
  put_u64(&out, h.page_size);
  put_u64(&out, h.original_size);
  put_u64(&out, h.nonce);
  if (h.version >= kJournalVersion) {
    std::string name = h.owner.name.substr(0, kOwnerNameBytes);
    put_u64(&out, h.owner.device);
    put_u64(&out, h.owner.inode);
    put_u32(&out, static_cast<uint32_t>(name.size()));
    put_u32(&out, 0);  // reserved
    out += name;
    out.resize(size - 8, '\0');  // name padding and reserved bytes
  } else {
    put_u64(&out, 0);  // reserved
    put_u64(&out, 0);  // reserved
  }
  put_u64(&out, XXH3_64bits(out.data(), out.size()));
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

namespace {

void store_le(unsigned char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = static_cast<unsigned char>(v >> (8 * i));
}

}  // namespace

void seal_entry(char* entry, const JournalHeader& h, uint64_t offset, uint32_t level, uint32_t length) {
  unsigned char* head = reinterpret_cast<unsigned char*>(entry);
  store_le(head, kEntryBeforeImage, 4);
  store_le(head + 4, length, 4);
  store_le(head + 8, offset, 8);
  store_le(head + 16, level, 4);
  store_le(head + 20, 0, 4);  // reserved
  store_le(head + 24, entry_checksum(h, head, entry + kEntryHeaderSize, length), 8);
}

void append_entry(std::string* out, const JournalHeader& h, uint64_t offset, uint32_t level,
                  const void* data, uint32_t length) {
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
  uint32_t version = get_u32(hb + 8);
  const size_t header_size = header_size_of(version);
  if (header_size == 0) {
    if (get_u64(hb + 56) != XXH3_64bits(hb, 56))  // a damaged older header, or a newer one
      throw CorruptionError(path, "undo journal header checksum mismatch (or unknown version " +
                                      std::to_string(version) + ")");
    throw UnsupportedError(path, "undo journal format version " + std::to_string(version) +
                                     " (this build reads versions 1 to " +
                                     std::to_string(kJournalVersion) + ")");
  }
  if (header_size > kHeaderSize &&
      (size < header_size || f.read(kHeaderSize, hb + kHeaderSize, header_size - kHeaderSize) !=
                                 header_size - kHeaderSize))
    throw CorruptionError(path, "undo journal header is truncated (" + std::to_string(size) +
                                    " bytes, need " + std::to_string(header_size) + ")");
  if (get_u64(hb + header_size - 8) != XXH3_64bits(hb, header_size - 8))
    throw CorruptionError(path, "undo journal header checksum mismatch");
  out.header.version = version;
  if (get_u32(hb + 12) != header_size)
    throw CorruptionError(path, "undo journal header size field is " + std::to_string(get_u32(hb + 12)));
  if (version >= kJournalVersion) {
    out.header.owner.device = get_u64(hb + 40);
    out.header.owner.inode = get_u64(hb + 48);
    uint32_t name_len = get_u32(hb + 56);
    if (name_len > kOwnerNameBytes)
      throw CorruptionError(path, "undo journal header: data file name length " + std::to_string(name_len) +
                                      " is out of range");
    out.header.owner.name.assign(reinterpret_cast<const char*>(hb + 64), name_len);
  }
  out.header.page_size = get_u64(hb + 16);
  out.header.original_size = get_u64(hb + 24);
  out.header.nonce = get_u64(hb + 32);
  if (out.header.page_size < kMinPageSize || out.header.page_size > kMaxPageSize)
    throw CorruptionError(path, "undo journal page size " + std::to_string(out.header.page_size) +
                                    " is out of range");

  const uint64_t max_length = max_entry_length(out.header);
  std::string data;
  uint64_t pos = header_size;
  out.valid_end = pos;
  while (pos < size) {
    unsigned char eh[kEntryHeaderSize];
    if (size - pos < kEntryHeaderSize || f.read(pos, eh, kEntryHeaderSize) != kEntryHeaderSize) break;
    uint32_t length = get_u32(eh + 4);
    if (length == 0 || length > max_length || size - pos - kEntryHeaderSize < length) break;
    if (data.size() < length) data.resize(length);
    if (f.read(pos + kEntryHeaderSize, &data[0], length) != length) break;
    if (entry_checksum(out.header, eh, data.data(), length) != get_u64(eh + 24)) break;
    JournalEntry e;
    e.data_pos = pos + kEntryHeaderSize;
    e.offset = get_u64(eh + 8);
    e.length = length;
    e.level = get_u32(eh + 16);
    uint32_t kind = get_u32(eh);
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
