// Typed hyperslab read/write on top of whole-chunk access: splits a
// start/count box into the chunks it touches and copies the overlap.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {

// For every chunk the box [start, start+count) touches, calls
// fn(chunk_coords, chunk_box_start, box_offset, extent): the overlap begins
// at chunk-local position chunk_box_start and at box-local position
// box_offset, and has `extent` elements per dimension.
void for_each_chunk_overlap(const DatasetSpec& spec, const Shape& start, const Shape& count,
                            const std::function<void(const Shape& coords, const Shape& in_chunk,
                                                     const Shape& in_box, const Shape& extent)>& fn);

// Copies an `extent` box of elements of `elem` bytes between two row-major
// arrays with shapes src_shape/dst_shape, from src_pos to dst_pos.
void copy_box(const uint8_t* src, const Shape& src_shape, const Shape& src_pos, uint8_t* dst,
              const Shape& dst_shape, const Shape& dst_pos, const Shape& extent, size_t elem);

// InvalidArgumentError unless start/count lie within spec.shape.
void check_box(const DatasetSpec& spec, const Shape& start, const Shape& count, const std::string& what);

}  // namespace h5tx
