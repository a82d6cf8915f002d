// Fuzz target: the transaction stream reader (formats/tx-stream.md), full
// streams' bases too. Seeds: formats/golden/tx-stream-*. Every input is
// read as is, then again with the header's, every transaction record's,
// and every base file header's and piece's XXH3-64 repaired (records found
// by their length fields), so the fuzzer reaches the record, MANIFEST and
// base parsers instead of stopping at a checksum. Any input must read or
// raise an h5tx::Error; every transaction returned must have its
// MANIFEST's txid, in increasing order, with every chunk copy inside its
// bytes; every base file must hand on exactly its size in pieces.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>

#include <xxhash.h>

#include "h5tx/error.hpp"
#include "journal/tx_stream.hpp"

namespace {

class Source : public h5tx::journal::ByteSource {
 public:
  explicit Source(const std::string& s) : s_(s) {}
  size_t read(void* buf, size_t n) override {
    if (n > s_.size() - pos_) n = s_.size() - pos_;
    std::memcpy(buf, s_.data() + pos_, n);
    pos_ += n;
    return n;
  }
  uint64_t remaining() const override { return s_.size() - pos_; }

 private:
  const std::string& s_;
  size_t pos_ = 0;
};

uint64_t u64(const std::string& s, size_t at) {
  uint64_t v;
  std::memcpy(&v, s.data() + at, 8);
  return v;
}

void put64(std::string* s, size_t at, uint64_t v) {
  std::memcpy(&(*s)[at], &v, 8);
}

void read(const std::string& text) {
  Source src(text);
  try {
    h5tx::journal::StreamReader r(&src, "fuzz");
    h5tx::journal::StreamTx tx;
    uint64_t prev = r.from();
    while (r.next(&tx)) {
      if (tx.txid <= prev || tx.manifest.txid != tx.txid) __builtin_trap();
      for (const auto& op : tx.manifest.ops)
        if (op.kind == h5tx::journal::OpKind::WriteChunk &&
            op.chunk_offset + op.chunk_size > tx.manifest_bytes.size())
          __builtin_trap();
      prev = tx.txid;
    }
    h5tx::journal::StreamFile f;
    std::string piece;
    while (r.full() && r.next_file(&f)) {
      uint64_t got = 0;
      while (r.next_piece(&piece)) got += piece.size();
      if (got != f.size) __builtin_trap();
    }
  } catch (const h5tx::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  read(text);
  if (text.size() < 48) return 0;
  put64(&text, 40, h5tx::journal::checksum(text.data(), 40));
  size_t pos = 48;
  while (pos + 24 <= text.size() && u64(text, pos) == 1) {
    uint64_t len = u64(text, pos + 16);
    if (len > text.size() || pos + 24 + len + 8 > text.size()) break;
    put64(&text, pos + 24 + size_t(len), h5tx::journal::checksum(text.data() + pos, 24 + size_t(len)));
    pos += 24 + size_t(len) + 8;
  }
  // A full stream's base files: header checksum, then each piece's (seeded
  // with the header's checksum plus the piece's offset).
  while (pos + 16 <= text.size() && uint32_t(u64(text, pos)) == 3) {
    uint32_t n = uint32_t(u64(text, pos) >> 32);
    uint64_t size = u64(text, pos + 8);
    if (n > 4096 || pos + 16 + n + 8 > text.size()) break;
    uint64_t sum = h5tx::journal::checksum(text.data() + pos, 16 + n);
    put64(&text, pos + 16 + n, sum);
    pos += 16 + n + 8;
    for (uint64_t off = 0; off < size && pos < text.size();) {
      size_t k = size_t(std::min<uint64_t>(h5tx::journal::kStreamFilePiece, size - off));
      if (pos + k + 8 > text.size()) break;
      put64(&text, pos + k, XXH3_64bits_withSeed(text.data() + pos, k, sum + off));
      pos += k + 8;
      off += k;
    }
  }
  if (pos + 32 <= text.size() && uint32_t(u64(text, pos)) == 4) {
    put64(&text, pos + 24, h5tx::journal::checksum(text.data() + pos, 24));
    pos += 32;
  }
  if (pos + 32 <= text.size()) put64(&text, pos + 24, h5tx::journal::checksum(text.data() + pos, 24));
  read(text);
  return 0;
}
