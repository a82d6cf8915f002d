// Shuffle, deflate and Fletcher32 of whole chunks, byte-compatible with
// HDF5's H5Z filters (H5Zshuffle.c, H5Zdeflate.c, H5Zfletcher32.c).
#include "hdf5/chunk_codec.hpp"

#include <zlib.h>

#include <cstdio>
#include <cstring>

#include "h5tx/error.hpp"

namespace h5tx {
namespace hdf5 {

namespace {

struct Pipeline {
  int shuffle = -1;  // filter index in the pipeline, -1 if absent
  int deflate = -1;
  int fletcher = -1;
};

Pipeline pipeline_of(const DatasetSpec& s) {
  Pipeline p;
  int next = 0;
  if (s.compression == Compression::ShuffleDeflate) {
    p.shuffle = next++;
    p.deflate = next++;
  }
  if (s.fletcher32) p.fletcher = next++;
  return p;
}

bool applied(int index, uint32_t mask) {
  return index >= 0 && (mask & (uint32_t(1) << index)) == 0;
}

void put_le32(uint8_t* p, uint32_t v) {
  p[0] = uint8_t(v);
  p[1] = uint8_t(v >> 8);
  p[2] = uint8_t(v >> 16);
  p[3] = uint8_t(v >> 24);
}

uint32_t get_le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

}  // namespace

size_t chunk_bytes(const DatasetSpec& s) {
  size_t n = dtype_size(s.dtype);
  for (uint64_t c : s.chunk) n *= size_t(c);
  return n;
}

uint32_t fletcher32(const void* data_in, size_t n) {
  const uint8_t* data = static_cast<const uint8_t*>(data_in);
  size_t words = n / 2;
  uint32_t sum1 = 0, sum2 = 0;
  // 360 is the most 16-bit sums that cannot overflow 32 bits.
  while (words) {
    size_t t = words > 360 ? 360 : words;
    words -= t;
    do {
      sum1 += (uint32_t(data[0]) << 8) | uint32_t(data[1]);
      data += 2;
      sum2 += sum1;
    } while (--t);
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  if (n % 2) {
    sum1 += uint32_t(*data) << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return (sum2 << 16) | sum1;
}

// Element i, byte j sits at i * elem_size + j unshuffled, j * count + i shuffled.
static std::vector<uint8_t> transpose(const uint8_t* data, size_t n, size_t elem_size, bool forward) {
  std::vector<uint8_t> out(data, data + n);
  size_t count = elem_size ? n / elem_size : 0;
  if (elem_size <= 1 || count <= 1) return out;
  for (size_t i = 0; i < count; i++) {
    for (size_t j = 0; j < elem_size; j++) {
      size_t plain = i * elem_size + j, shuffled = j * count + i;
      if (forward) {
        out[shuffled] = data[plain];
      } else {
        out[plain] = data[shuffled];
      }
    }
  }
  return out;
}

std::vector<uint8_t> shuffle(const uint8_t* data, size_t n, size_t elem_size) {
  return transpose(data, n, elem_size, true);
}

std::vector<uint8_t> unshuffle(const uint8_t* data, size_t n, size_t elem_size) {
  return transpose(data, n, elem_size, false);
}

std::vector<uint8_t> encode_chunk(const DatasetSpec& s, const void* raw, size_t n, uint32_t* filter_mask) {
  size_t expect = chunk_bytes(s);
  if (n != expect) {
    throw InvalidArgumentError(
        "", "chunk of " + std::to_string(n) + " bytes, expected " + std::to_string(expect));
  }
  const Pipeline p = pipeline_of(s);
  const uint8_t* src = static_cast<const uint8_t*>(raw);
  std::vector<uint8_t> buf;
  if (p.shuffle >= 0) {
    buf = shuffle(src, n, dtype_size(s.dtype));
  } else {
    buf.assign(src, src + n);
  }
  if (p.deflate >= 0) {
    uLongf out_len = compressBound(uLong(buf.size()));
    std::vector<uint8_t> out(out_len);
    int rc = compress2(out.data(), &out_len, buf.data(), uLong(buf.size()), s.deflate_level);
    if (rc != Z_OK) throw InvalidArgumentError("", "zlib compress2 failed: " + std::to_string(rc));
    out.resize(out_len);
    buf.swap(out);
  }
  if (p.fletcher >= 0) {
    uint32_t sum = fletcher32(buf.data(), buf.size());
    size_t at = buf.size();
    buf.resize(at + 4);
    put_le32(buf.data() + at, sum);
  }
  *filter_mask = 0;
  return buf;
}

std::string stored_chunk_problem(const DatasetSpec& s, uint64_t n, uint32_t filter_mask) {
  const Pipeline p = pipeline_of(s);
  int filters = (p.shuffle >= 0) + (p.deflate >= 0) + (p.fletcher >= 0);
  if (filters < 32 && (filter_mask >> filters) != 0)
    return "filter mask " + std::to_string(filter_mask) + " names filters the dataset does not have";
  uint64_t raw = chunk_bytes(s);
  uint64_t tail = applied(p.fletcher, filter_mask) ? 4 : 0;
  if (applied(p.deflate, filter_mask)) {
    uint64_t bound = uint64_t(compressBound(uLong(raw))) + tail;
    if (n <= tail || n > bound)
      return "stored size " + std::to_string(n) + " is not possible for a deflated chunk of " +
             std::to_string(raw) + " bytes";
  } else if (n != raw + tail) {
    return "stored size " + std::to_string(n) + " differs from the dataset's chunk size " +
           std::to_string(raw + tail);
  }
  return "";
}

std::vector<uint8_t> decode_chunk(const DatasetSpec& s, const void* stored, size_t n, uint32_t filter_mask,
                                  const std::string& what) {
  const Pipeline p = pipeline_of(s);
  const uint8_t* src = static_cast<const uint8_t*>(stored);
  size_t len = n;
  if (applied(p.fletcher, filter_mask)) {
    if (len < 4)
      throw CorruptionError(
          what, "stored chunk of " + std::to_string(n) + " bytes is too short for its Fletcher32 checksum");
    len -= 4;
    uint32_t want = get_le32(src + len);
    uint32_t got = fletcher32(src, len);
    // HDF5 also accepts the checksum with the bytes of each half swapped,
    // as written by HDF5 before 1.6.3 on little-endian machines.
    uint32_t reversed = ((got & 0x00ff00ffu) << 8) | ((got & 0xff00ff00u) >> 8);
    if (want != got && want != reversed) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "Fletcher32 checksum mismatch (stored %08x, computed %08x)", want, got);
      throw CorruptionError(what, msg);
    }
  }
  const size_t expect = chunk_bytes(s);
  std::vector<uint8_t> buf;
  if (applied(p.deflate, filter_mask)) {
    buf.resize(expect);
    uLongf out_len = uLongf(expect);
    int rc = uncompress(buf.data(), &out_len, src, uLong(len));
    if (rc != Z_OK || out_len != expect) {
      throw CorruptionError(what, "bad deflate stream (zlib " + std::to_string(rc) + ", " +
                                      std::to_string(out_len) + " bytes, expected " + std::to_string(expect) +
                                      ")");
    }
  } else {
    buf.assign(src, src + len);
  }
  if (buf.size() != expect) {
    throw CorruptionError(what, "decoded chunk has " + std::to_string(buf.size()) + " bytes, expected " +
                                    std::to_string(expect));
  }
  if (applied(p.shuffle, filter_mask)) buf = unshuffle(buf.data(), buf.size(), dtype_size(s.dtype));
  return buf;
}

}  // namespace hdf5
}  // namespace h5tx
