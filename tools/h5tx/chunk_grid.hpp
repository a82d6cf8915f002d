// The chunk grid of an N-dimensional array: chunk indices in C order
// (linear index <-> chunk coordinates), each chunk's region of the array,
// and cutting one whole chunk out of an Input (edge chunks padded with the
// fill value, because the store takes and returns whole chunks).
//
// The array may sit at an `offset` inside its first chunk (each offset[d] <
// chunk[d]): the grid of a region that starts at `start` of a dataset has
// offset start % chunk, and its chunk 0 is dataset chunk start / chunk.
// Its first and last chunks in a dimension then cover only part of a chunk.
#pragma once

#include <cstdint>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {
namespace cli {

class Input;

class ChunkGrid {
 public:
  // UsageError unless shape and chunk have the same rank 1..32 and no zeros.
  ChunkGrid(const Shape& shape, const Shape& chunk);
  // UsageError also unless offset has the rank and offset[d] < chunk[d].
  ChunkGrid(const Shape& shape, const Shape& chunk, const Shape& offset);

  const Shape& shape() const { return shape_; }
  const Shape& chunk() const { return chunk_; }
  const Shape& grid() const { return grid_; }  // chunks per dimension
  uint64_t count() const { return count_; }    // number of chunks

  Shape coords(uint64_t index) const;  // chunk coordinates of a linear index
  uint64_t index(const Shape& coords) const;
  const Shape& offset() const { return offset_; }  // zeros unless given
  // The part of the array chunk `index` covers: start and count (count is
  // smaller than the chunk at the far edges, and with an offset at the near
  // edges).
  void region(uint64_t index, Shape* start, Shape* count) const;
  // Where that part sits inside the chunk (zeros but at a near edge with an offset).
  Shape placement(uint64_t index) const;
  uint64_t chunk_elements() const;

 private:
  Shape shape_, chunk_, grid_, offset_;
  uint64_t count_ = 0;
};

// Copies a C-order block of `count` elements (elem_size bytes each) into a
// C-order chunk buffer of shape `chunk`, at position `at` (empty: the origin corner).
void place_block(const uint8_t* block, const Shape& count, uint8_t* chunk_buf, const Shape& chunk,
                 size_t elem_size, const Shape& at = {});

// The raw bytes of whole chunk `index` of `in` (the chunk's region read from
// the input, the rest of the chunk set to `fill_element`).
std::vector<uint8_t> extract_chunk(Input& in, const ChunkGrid& grid, uint64_t index,
                                   const std::vector<uint8_t>& fill_element);

// One element of `value` converted to dtype (little-endian bytes).
std::vector<uint8_t> fill_element_of(DType dtype, double value);

}  // namespace cli
}  // namespace h5tx
