// Chunk/box arithmetic behind Transaction::read/write of hyperslabs.
#include <catch2/catch.hpp>

#include <numeric>

#include "h5tx/error.hpp"
#include "store/hyperslab.hpp"

using namespace h5tx;

TEST_CASE("overlaps of a box with chunks tile the box exactly once") {
  DatasetSpec s;
  s.dtype = DType::U8;
  s.shape = {10, 7};
  s.chunk = {4, 3};
  Shape start = {3, 1}, count = {6, 5};
  std::vector<int> covered(6 * 5, 0);
  int calls = 0;
  for_each_chunk_overlap(s, start, count,
                         [&](const Shape& c, const Shape& in_chunk, const Shape& in_box, const Shape& ext) {
                           ++calls;
                           for (uint64_t i = 0; i < ext[0]; ++i)
                             for (uint64_t j = 0; j < ext[1]; ++j) {
                               // The element lies in chunk c.
                               uint64_t gi = start[0] + in_box[0] + i, gj = start[1] + in_box[1] + j;
                               CHECK(gi / 4 == c[0]);
                               CHECK(gj / 3 == c[1]);
                               CHECK(gi % 4 == in_chunk[0] + i);
                               CHECK(gj % 3 == in_chunk[1] + j);
                               covered[(in_box[0] + i) * 5 + in_box[1] + j]++;
                             }
                         });
  CHECK(calls == 3 * 2);  // rows 3..8 touch row-chunks 0..2, columns 1..5 column-chunks 0..1
  for (int v : covered) CHECK(v == 1);
}

TEST_CASE("copy_box copies a sub-box between row-major arrays") {
  std::vector<uint16_t> src(4 * 5);
  std::iota(src.begin(), src.end(), 0);
  std::vector<uint16_t> dst(3 * 3, 0xffff);
  copy_box(reinterpret_cast<const uint8_t*>(src.data()), {4, 5}, {1, 2},
           reinterpret_cast<uint8_t*>(dst.data()), {3, 3}, {1, 0}, {2, 3}, 2);
  std::vector<uint16_t> want = {0xffff, 0xffff, 0xffff, 7, 8, 9, 12, 13, 14};
  CHECK(dst == want);
}

TEST_CASE("check_box rejects out-of-range and wrong-rank selections") {
  DatasetSpec s;
  s.shape = {10, 7};
  s.chunk = {4, 3};
  CHECK_NOTHROW(check_box(s, {0, 0}, {10, 7}, "f:/d"));
  CHECK_NOTHROW(check_box(s, {10, 7}, {0, 0}, "f:/d"));
  CHECK_THROWS_AS(check_box(s, {0, 0}, {11, 7}, "f:/d"), InvalidArgumentError);
  CHECK_THROWS_AS(check_box(s, {9, 0}, {2, 1}, "f:/d"), InvalidArgumentError);
  CHECK_THROWS_AS(check_box(s, {0}, {1}, "f:/d"), InvalidArgumentError);
}
