// HDF5 superblock (versions 2 and 3) file-consistency flags.
#include "undo/superblock.hpp"

#include "util/byte_codec.hpp"

#include <cstring>

namespace h5tx {
namespace undo {

namespace {

constexpr unsigned char kSignature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

inline uint32_t rot(uint32_t x, int k) {
  return (x << k) | (x >> (32 - k));
}

}  // namespace

uint32_t checksum_lookup3(const void* data, size_t length, uint32_t initval) {
  const uint8_t* k = static_cast<const uint8_t*>(data);
  uint32_t a, b, c;
  a = b = c = 0xdeadbeef + static_cast<uint32_t>(length) + initval;
  while (length > 12) {
    a += k[0] + (uint32_t(k[1]) << 8) + (uint32_t(k[2]) << 16) + (uint32_t(k[3]) << 24);
    b += k[4] + (uint32_t(k[5]) << 8) + (uint32_t(k[6]) << 16) + (uint32_t(k[7]) << 24);
    c += k[8] + (uint32_t(k[9]) << 8) + (uint32_t(k[10]) << 16) + (uint32_t(k[11]) << 24);
    a -= c;
    a ^= rot(c, 4);
    c += b;
    b -= a;
    b ^= rot(a, 6);
    a += c;
    c -= b;
    c ^= rot(b, 8);
    b += a;
    a -= c;
    a ^= rot(c, 16);
    c += b;
    b -= a;
    b ^= rot(a, 19);
    a += c;
    c -= b;
    c ^= rot(b, 4);
    b += a;
    length -= 12;
    k += 12;
  }
  switch (length) {
    case 12:
      c += uint32_t(k[11]) << 24; /* fall through */
    case 11:
      c += uint32_t(k[10]) << 16; /* fall through */
    case 10:
      c += uint32_t(k[9]) << 8; /* fall through */
    case 9:
      c += k[8]; /* fall through */
    case 8:
      b += uint32_t(k[7]) << 24; /* fall through */
    case 7:
      b += uint32_t(k[6]) << 16; /* fall through */
    case 6:
      b += uint32_t(k[5]) << 8; /* fall through */
    case 5:
      b += k[4]; /* fall through */
    case 4:
      a += uint32_t(k[3]) << 24; /* fall through */
    case 3:
      a += uint32_t(k[2]) << 16; /* fall through */
    case 2:
      a += uint32_t(k[1]) << 8; /* fall through */
    case 1:
      a += k[0];
      break;
    case 0:
      return c;
  }
  c ^= b;
  c -= rot(b, 14);
  a ^= c;
  a -= rot(c, 11);
  b ^= a;
  b -= rot(a, 25);
  c ^= b;
  c -= rot(b, 16);
  a ^= c;
  a -= rot(c, 4);
  b ^= a;
  b -= rot(a, 14);
  c ^= b;
  c -= rot(b, 24);
  return c;
}

std::string SuperblockFlags::cleared() const {
  std::string out = bytes;
  out[11] = 0;
  uint32_t sum = checksum_lookup3(out.data(), out.size() - 4);
  store_le(reinterpret_cast<unsigned char*>(&out[out.size() - 4]), sum, 4);
  return out;
}

SuperblockFlags find_superblock(uint64_t size, const std::function<size_t(uint64_t, void*, size_t)>& read) {
  SuperblockFlags sb;
  for (uint64_t at = 0; at < size && at <= (uint64_t(1) << 62); at = at == 0 ? 512 : at * 2) {
    unsigned char head[12];
    if (read(at, head, sizeof head) != sizeof head) break;
    if (std::memcmp(head, kSignature, 8) != 0) continue;
    unsigned version = head[8], offsets = head[9];
    if (version != 2 && version != 3) return sb;  // versions 0, 1: no flags to keep or clear
    if (offsets != 2 && offsets != 4 && offsets != 8 && offsets != 16) return sb;
    size_t n = 12 + 4 * size_t(offsets) + 4;
    std::string bytes(n, '\0');
    if (read(at, &bytes[0], n) != n) return sb;
    const uint32_t stored = uint32_t(load_le(reinterpret_cast<const unsigned char*>(&bytes[n - 4]), 4));
    if (checksum_lookup3(bytes.data(), n - 4) != stored) return sb;
    sb.found = true;
    sb.offset = at;
    sb.bytes = std::move(bytes);
    return sb;
  }
  return sb;
}

bool clear_superblock_flags(File& data) {
  SuperblockFlags sb =
      find_superblock(data.size(), [&](uint64_t off, void* buf, size_t n) { return data.read(off, buf, n); });
  if (sb.flags() == 0) return false;
  std::string c = sb.cleared();
  data.write(sb.offset, c.data(), c.size());
  return true;
}

}  // namespace undo
}  // namespace h5tx
