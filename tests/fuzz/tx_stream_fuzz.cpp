// Fuzz target: the transaction stream reader (formats/tx-stream.md). Seeds:
// formats/golden/tx-stream-*. Every input is read as is, then again with
// the header's and every record's XXH3-64 repaired (records found by their
// length fields), so the fuzzer reaches the record and MANIFEST parsers
// instead of stopping at a checksum. Any input must read or raise an
// h5tx::Error; every transaction returned must have its MANIFEST's txid,
// in increasing order, with every chunk copy inside its bytes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

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
  if (pos + 32 <= text.size()) put64(&text, pos + 24, h5tx::journal::checksum(text.data() + pos, 24));
  read(text);
  return 0;
}
