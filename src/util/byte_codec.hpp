// The one little-endian byte codec of h5tx's on-disk formats. store_le /
// load_le / put_le for fixed-offset records (the undo journal, its
// superblock); ByteWriter appends fixed-width integers and length-prefixed
// strings, ByteReader parses them back with every length bounds-checked,
// throwing CorruptionError naming the file and the offset of the bad field
// (the redo MANIFEST).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "h5tx/error.hpp"

namespace h5tx {

// The low `bytes` bytes of v at p, least significant first.
inline void store_le(unsigned char* p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
// The `bytes`-byte little-endian integer at p.
inline uint64_t load_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
// Appends the low `bytes` bytes of v to *out, least significant first.
inline void put_le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

class ByteWriter {
 public:
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { put(v, 4); }
  void u64(uint64_t v) { put(v, 8); }
  void f64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    u64(bits);
  }
  void bytes(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  // u32 length, then the bytes.
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  std::string& data() { return out_; }

 private:
  void put(uint64_t v, int n) { put_le(&out_, v, n); }
  std::string out_;
};

class ByteReader {
 public:
  // Parses data[0, end); `path` names the file in error messages.
  ByteReader(const std::string& data, size_t end, std::string path)
      : p_(reinterpret_cast<const uint8_t*>(data.data())), end_(end), path_(std::move(path)) {}

  size_t offset() const { return pos_; }
  size_t remaining() const { return end_ - pos_; }

  uint8_t u8(const char* what) { return static_cast<uint8_t>(get(1, what)); }
  uint32_t u32(const char* what) { return static_cast<uint32_t>(get(4, what)); }
  uint64_t u64(const char* what) { return get(8, what); }
  double f64(const char* what) {
    uint64_t bits = u64(what);
    double v;
    std::memcpy(&v, &bits, 8);
    return v;
  }
  std::string raw(size_t n, const char* what) {
    need(n, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return s;
  }
  // u32 length (at most max_len), then the bytes.
  std::string str(const char* what, size_t max_len = ~size_t(0)) {
    size_t at = pos_;
    uint32_t n = u32(what);
    if (n > max_len)
      fail(at, std::string(what) + ": length " + std::to_string(n) + " exceeds " + std::to_string(max_len));
    return raw(n, what);
  }

  [[noreturn]] void fail(size_t at, const std::string& message) const {
    throw CorruptionError(path_, "at offset " + std::to_string(at) + ": " + message);
  }

 private:
  void need(size_t n, const char* what) const {
    if (n > end_ - pos_)
      fail(pos_, std::string("truncated ") + what + " (needs " + std::to_string(n) + " bytes, " +
                     std::to_string(end_ - pos_) + " left)");
  }
  uint64_t get(int n, const char* what) {
    need(n, what);
    uint64_t v = load_le(p_ + pos_, n);
    pos_ += n;
    return v;
  }

  const uint8_t* p_;
  size_t end_;
  size_t pos_ = 0;
  std::string path_;
};

}  // namespace h5tx
