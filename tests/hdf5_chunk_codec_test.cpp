// The chunk codec against HDF5 itself: chunks HDF5 filtered must decode with
// decode_chunk, and chunks encode_chunk filtered must read back through
// HDF5's own pipeline (H5Dread verifying Fletcher32 and inflating) and h5dump.
#include <catch2/catch.hpp>

#include <hdf5.h>

#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>

#include "h5tx/error.hpp"
#include "hdf5/chunk_codec.hpp"
#include "hdf5/dataset_ops.hpp"
#include "hdf5/handle.hpp"
#include "undo/driver.hpp"
#include "hdf5_test_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using h5tx::hdf5::Handle;

namespace {

DatasetSpec spec_2d(DType t, Compression c, bool fletcher, Shape shape = {10, 7}, Shape chunk = {4, 3}) {
  DatasetSpec s;
  s.dtype = t;
  s.shape = shape;
  s.chunk = chunk;
  s.compression = c;
  s.deflate_level = 6;
  s.fletcher32 = fletcher;
  return s;
}

template <class T>
std::vector<T> pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> v(n);
  // Runs of equal values so deflate has something to compress.
  for (size_t i = 0; i < n; i++) v[i] = T((i / 3) * 7 + rng() % 3);
  return v;
}

using h5tx_test::create_file;
using h5tx_test::undo_fapl;

std::vector<uint8_t> hdf5_stored_chunk(hid_t file, const std::string& ds, const Shape& coords,
                                       uint32_t* mask) {
  std::vector<uint8_t> stored;
  REQUIRE(hdf5::read_chunk_stored(file, ds, coords, &stored, mask));
  return stored;
}

// The chunk at `coords` of a row-major array `all` of shape s.shape, padded
// with zeros beyond the extent (HDF5 filters whole edge chunks).
template <class T>
std::vector<uint8_t> chunk_of(const DatasetSpec& s, const std::vector<T>& all, Shape coords) {
  std::vector<T> c(s.chunk[0] * s.chunk[1], T(0));
  for (uint64_t i = 0; i < s.chunk[0]; i++) {
    for (uint64_t j = 0; j < s.chunk[1]; j++) {
      uint64_t r = coords[0] * s.chunk[0] + i, k = coords[1] * s.chunk[1] + j;
      if (r < s.shape[0] && k < s.shape[1]) c[i * s.chunk[1] + j] = all[r * s.shape[1] + k];
    }
  }
  std::vector<uint8_t> out(c.size() * sizeof(T));
  std::memcpy(out.data(), c.data(), out.size());
  return out;
}

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE("fletcher32 follows HDF5: big-endian 16-bit words, odd byte high") {
  // Hand-computed: words 0x0102, 0x0304 -> sum1 = 0x0406, sum2 = 0x0102 + 0x0406.
  const uint8_t even[] = {1, 2, 3, 4};
  CHECK(hdf5::fletcher32(even, 4) == ((0x0102u + 0x0406u) << 16 | 0x0406u));
  // Odd trailing byte 0x05 counts as the word 0x0500.
  const uint8_t odd[] = {1, 2, 3, 4, 5};
  CHECK(hdf5::fletcher32(odd, 5) == ((0x0102u + 0x0406u + 0x0906u) << 16 | 0x0906u));
  CHECK(hdf5::fletcher32(nullptr, 0) == 0);
  // Long input exercises the 360-word reduction: all 0xff bytes.
  std::vector<uint8_t> ff(2000, 0xff);
  uint64_t s1 = 0, s2 = 0;
  for (int i = 0; i < 1000; i++) {
    s1 = (s1 + 0xffff) % 0xffff;
    s2 = (s2 + s1) % 0xffff;
  }
  uint32_t got = hdf5::fletcher32(ff.data(), ff.size());
  // Ones' complement sums: 0 and 0xffff are the same residue.
  CHECK((got & 0xffff) % 0xffff == s1);
  CHECK((got >> 16) % 0xffff == s2);
}

TEST_CASE("shuffle moves byte j of element i to j*count+i") {
  const uint8_t in[] = {0x11, 0x12, 0x13, 0x21, 0x22, 0x23};  // two 3-byte elements
  std::vector<uint8_t> sh = hdf5::shuffle(in, 6, 3);
  CHECK(sh == std::vector<uint8_t>{0x11, 0x21, 0x12, 0x22, 0x13, 0x23});
  CHECK(hdf5::unshuffle(sh.data(), sh.size(), 3) == std::vector<uint8_t>(in, in + 6));
  // Elements of one byte are left alone.
  CHECK(hdf5::shuffle(in, 6, 1) == std::vector<uint8_t>(in, in + 6));
}

TEST_CASE("chunks HDF5 filtered are what encode_chunk produces and decode_chunk reads") {
  h5tx_test::TempDir dir("codec");
  struct Case {
    const char* name;
    DatasetSpec spec;
  };
  std::vector<Case> cases = {
      {"/fletcher_u16", spec_2d(DType::U16, Compression::None, true)},
      {"/plain_u16", spec_2d(DType::U16, Compression::None, false)},
      {"/sd_i32", spec_2d(DType::I32, Compression::ShuffleDeflate, false)},
      {"/sdf_f64", spec_2d(DType::F64, Compression::ShuffleDeflate, true)},
      // 1-byte elements, odd chunk size: Fletcher32's odd trailing byte.
      {"/sdf_u8_odd", spec_2d(DType::U8, Compression::ShuffleDeflate, true, {9, 5}, {3, 5})},
      {"/fletcher_u8_odd", spec_2d(DType::U8, Compression::None, true, {9, 5}, {3, 5})},
  };
  Handle f = create_file(dir / "hdf5.h5");
  for (const Case& c : cases) {
    INFO(c.name);
    const DatasetSpec& s = c.spec;
    hdf5::create_dataset(f, c.name, s);
    size_t n = s.shape[0] * s.shape[1];
    Handle ds(H5Dopen2(f, c.name, H5P_DEFAULT), "H5Dopen2");
    std::vector<uint8_t> all_bytes;
    auto write_all = [&](auto values, hid_t mtype) {
      REQUIRE(H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
      for (uint64_t i = 0; i < (s.shape[0] + s.chunk[0] - 1) / s.chunk[0]; i++) {
        for (uint64_t j = 0; j < (s.shape[1] + s.chunk[1] - 1) / s.chunk[1]; j++) {
          std::vector<uint8_t> raw = chunk_of(s, values, {i, j});
          uint32_t mask = 99;
          std::vector<uint8_t> stored = hdf5_stored_chunk(f, c.name, {i, j}, &mask);
          CHECK(mask == 0);
          // Same zlib, same level, same checksum: identical bytes.
          uint32_t our_mask = 99;
          CHECK(hdf5::encode_chunk(s, raw.data(), raw.size(), &our_mask) == stored);
          CHECK(our_mask == 0);
          CHECK(hdf5::decode_chunk(s, stored.data(), stored.size(), mask, c.name) == raw);
          if (s.fletcher32) {
            // The checksum is stored little-endian after the data.
            size_t L = stored.size() - 4;
            uint32_t sum = hdf5::fletcher32(stored.data(), L);
            CHECK(stored[L] == uint8_t(sum));
            CHECK(stored[L + 3] == uint8_t(sum >> 24));
          }
          if (s.compression == Compression::None && !s.fletcher32) CHECK(stored == raw);
        }
      }
    };
    switch (s.dtype) {
      case DType::U8:
        write_all(pattern<uint8_t>(n, 1), H5T_NATIVE_UINT8);
        break;
      case DType::U16:
        write_all(pattern<uint16_t>(n, 2), H5T_NATIVE_UINT16);
        break;
      case DType::I32:
        write_all(pattern<int32_t>(n, 3), H5T_NATIVE_INT32);
        break;
      case DType::F64:
        write_all(pattern<double>(n, 4), H5T_NATIVE_DOUBLE);
        break;
      default:
        FAIL("unexpected dtype");
    }
  }
}

TEST_CASE("chunks encode_chunk filtered read back through HDF5's pipeline and h5dump") {
  h5tx_test::TempDir dir("codec");
  const std::string path = dir / "ours.h5";
  DatasetSpec s = spec_2d(DType::I32, Compression::ShuffleDeflate, true, {6, 5}, {4, 3});
  s.fill_value = -1;
  std::vector<int32_t> all(30);
  std::iota(all.begin(), all.end(), 100);
  {
    Handle f = create_file(path);
    hdf5::create_dataset(f, "/g/data", s);
    for (uint64_t i = 0; i < 2; i++) {
      for (uint64_t j = 0; j < 2; j++) {
        if (i == 1 && j == 1) continue;  // left unallocated: reads as the fill value
        std::vector<uint8_t> raw = chunk_of(s, all, {i, j});
        uint32_t mask;
        std::vector<uint8_t> stored = hdf5::encode_chunk(s, raw.data(), raw.size(), &mask);
        hdf5::write_chunk(f, "/g/data", {i, j}, mask, stored.data(), stored.size());
      }
    }
    std::vector<int32_t> back(30, 0);
    Handle ds(H5Dopen2(f, "/g/data", H5P_DEFAULT), "H5Dopen2");
    REQUIRE(H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()) >= 0);
    for (int r = 0; r < 6; r++) {
      for (int c = 0; c < 5; c++) {
        INFO("r=" << r << " c=" << c);
        CHECK(back[r * 5 + c] == (r >= 4 && c >= 3 ? -1 : all[r * 5 + c]));
      }
    }
  }
  // h5dump reads it with its own HDF5 pipeline (and verifies Fletcher32).
  std::string out = run("h5dump -p -d /g/data -w 0 " + path + " 2>&1");
  CHECK(out.find("(0,0): 100, 101, 102, 103, 104") != std::string::npos);
  CHECK(out.find("(5,0): 125, 126, 127, -1, -1") != std::string::npos);
  CHECK(out.find("FLETCHER32") != std::string::npos);
  CHECK(out.find("SHUFFLE") != std::string::npos);
}

TEST_CASE("a chunk whose deflate filter was skipped (mask bit) reads in HDF5 and decodes") {
  h5tx_test::TempDir dir("codec");
  DatasetSpec s = spec_2d(DType::U16, Compression::ShuffleDeflate, true, {4, 3}, {4, 3});
  std::vector<uint16_t> vals = pattern<uint16_t>(12, 7);
  std::vector<uint8_t> raw(24);
  std::memcpy(raw.data(), vals.data(), 24);
  // shuffle applied, deflate (filter 1) skipped, Fletcher32 applied.
  std::vector<uint8_t> stored = hdf5::shuffle(raw.data(), raw.size(), 2);
  uint32_t sum = hdf5::fletcher32(stored.data(), stored.size());
  for (int k = 0; k < 4; k++) stored.push_back(uint8_t(sum >> (8 * k)));
  CHECK(hdf5::decode_chunk(s, stored.data(), stored.size(), 2u, "x") == raw);
  Handle f = create_file(dir / "mask.h5");
  hdf5::create_dataset(f, "/d", s);
  hdf5::write_chunk(f, "/d", {0, 0}, 2u, stored.data(), stored.size());
  std::vector<uint16_t> back(12);
  Handle ds(H5Dopen2(f, "/d", H5P_DEFAULT), "H5Dopen2");
  REQUIRE(H5Dread(ds, H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()) >= 0);
  CHECK(back == vals);
}

TEST_CASE("decode_chunk rejects a damaged chunk the way HDF5 does") {
  h5tx_test::TempDir dir("codec");
  DatasetSpec s = spec_2d(DType::F64, Compression::ShuffleDeflate, true, {4, 3}, {4, 3});
  std::vector<double> vals = pattern<double>(12, 9);
  std::vector<uint8_t> raw(96);
  std::memcpy(raw.data(), vals.data(), 96);
  uint32_t mask;
  std::vector<uint8_t> stored = hdf5::encode_chunk(s, raw.data(), raw.size(), &mask);
  std::vector<uint8_t> bad = stored;
  bad[bad.size() / 2] ^= 0x10;
  try {
    hdf5::decode_chunk(s, bad.data(), bad.size(), mask, "vol.h5:/d chunk [0,0]");
    FAIL("no error");
  } catch (const CorruptionError& e) {
    CHECK(e.path() == "vol.h5:/d chunk [0,0]");
    CHECK(std::string(e.what()).find("Fletcher32") != std::string::npos);
  }
  // HDF5 refuses it as well.
  Handle f = create_file(dir / "bad.h5");
  hdf5::create_dataset(f, "/d", s);
  hdf5::write_chunk(f, "/d", {0, 0}, mask, bad.data(), bad.size());
  std::vector<double> back(12);
  Handle ds(H5Dopen2(f, "/d", H5P_DEFAULT), "H5Dopen2");
  CHECK(H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()) < 0);
  H5Eclear2(H5E_DEFAULT);

  // Without Fletcher32 a damaged deflate stream is caught by zlib.
  DatasetSpec nf = s;
  nf.fletcher32 = false;
  std::vector<uint8_t> z = hdf5::encode_chunk(nf, raw.data(), raw.size(), &mask);
  z.resize(z.size() / 2);
  CHECK_THROWS_AS(hdf5::decode_chunk(nf, z.data(), z.size(), mask, "x"), CorruptionError);
  // Too short to hold a checksum.
  CHECK_THROWS_AS(hdf5::decode_chunk(s, z.data(), 3, mask, "x"), CorruptionError);
  // encode_chunk wants exactly one raw chunk.
  CHECK_THROWS_AS(hdf5::encode_chunk(s, raw.data(), 95, &mask), InvalidArgumentError);
}
