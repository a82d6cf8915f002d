// The chunk grid of an N-dimensional array: chunk indices in C order
// (linear index <-> chunk coordinates), each chunk's region of the array,
// and cutting one whole chunk out of an Input (edge chunks padded with the
// fill value, because the store takes and returns whole chunks).
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

  const Shape& shape() const { return shape_; }
  const Shape& chunk() const { return chunk_; }
  const Shape& grid() const { return grid_; }  // chunks per dimension
  uint64_t count() const { return count_; }    // number of chunks

  Shape coords(uint64_t index) const;  // chunk coordinates of a linear index
  uint64_t index(const Shape& coords) const;
  // The part of the array chunk `index` covers: start and count (count is
  // smaller than the chunk at the far edges).
  void region(uint64_t index, Shape* start, Shape* count) const;
  uint64_t chunk_elements() const;

 private:
  Shape shape_, chunk_, grid_;
  uint64_t count_ = 0;
};

// Copies a C-order block of `count` elements (elem_size bytes each) into the
// origin corner of a C-order chunk buffer of shape `chunk`.
void place_block(const uint8_t* block, const Shape& count, uint8_t* chunk_buf, const Shape& chunk,
                 size_t elem_size);

// The raw bytes of whole chunk `index` of `in` (the chunk's region read from
// the input, the rest of the chunk set to `fill_element`).
std::vector<uint8_t> extract_chunk(Input& in, const ChunkGrid& grid, uint64_t index,
                                   const std::vector<uint8_t>& fill_element);

// One element of `value` converted to dtype (little-endian bytes).
std::vector<uint8_t> fill_element_of(DType dtype, double value);

}  // namespace cli
}  // namespace h5tx
