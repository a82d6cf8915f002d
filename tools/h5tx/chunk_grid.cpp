// Chunk grids and chunk extraction (see chunk_grid.hpp).
#include "chunk_grid.hpp"

#include <algorithm>
#include <cstring>

#include "args.hpp"
#include "input.hpp"

namespace h5tx {
namespace cli {

ChunkGrid::ChunkGrid(const Shape& shape, const Shape& chunk)
    : ChunkGrid(shape, chunk, Shape(shape.size(), 0)) {}

ChunkGrid::ChunkGrid(const Shape& shape, const Shape& chunk, const Shape& offset)
    : shape_(shape), chunk_(chunk), offset_(offset) {
  if (shape.empty() || shape.size() > 32 || chunk.size() != shape.size())
    throw UsageError("chunk shape " + format_shape(chunk) + " does not fit array shape " +
                     format_shape(shape));
  if (offset.size() != shape.size())
    throw UsageError("offset " + format_shape(offset) + " does not fit array shape " + format_shape(shape));
  count_ = 1;
  for (size_t d = 0; d < shape.size(); d++) {
    if (chunk[d] == 0 || shape[d] == 0)
      throw UsageError("a zero in shape " + format_shape(shape) + " or chunk " + format_shape(chunk));
    if (offset[d] >= chunk[d])
      throw UsageError("offset " + format_shape(offset) + " is not inside chunk " + format_shape(chunk));
    grid_.push_back((offset[d] + shape[d] + chunk[d] - 1) / chunk[d]);
    count_ *= grid_.back();
  }
}

Shape ChunkGrid::coords(uint64_t index) const {
  Shape c(grid_.size());
  for (size_t d = grid_.size(); d-- > 0;) {
    c[d] = index % grid_[d];
    index /= grid_[d];
  }
  return c;
}

uint64_t ChunkGrid::index(const Shape& coords) const {
  uint64_t i = 0;
  for (size_t d = 0; d < grid_.size(); d++) i = i * grid_[d] + coords[d];
  return i;
}

void ChunkGrid::region(uint64_t index, Shape* start, Shape* count) const {
  Shape c = coords(index);
  start->resize(c.size());
  count->resize(c.size());
  for (size_t d = 0; d < c.size(); d++) {
    // The chunk covers [c * chunk - offset, (c + 1) * chunk - offset) of the array.
    const uint64_t lo = c[d] == 0 ? 0 : c[d] * chunk_[d] - offset_[d];
    const uint64_t hi = std::min(shape_[d], (c[d] + 1) * chunk_[d] - offset_[d]);
    (*start)[d] = lo;
    (*count)[d] = hi - lo;
  }
}

Shape ChunkGrid::placement(uint64_t index) const {
  Shape c = coords(index);
  Shape at(c.size(), 0);
  for (size_t d = 0; d < c.size(); d++)
    if (c[d] == 0) at[d] = offset_[d];
  return at;
}

uint64_t ChunkGrid::chunk_elements() const {
  uint64_t n = 1;
  for (uint64_t c : chunk_) n *= c;
  return n;
}

void place_block(const uint8_t* block, const Shape& count, uint8_t* chunk_buf, const Shape& chunk, size_t es,
                 const Shape& at) {
  const size_t rank = chunk.size();
  const size_t row = size_t(count[rank - 1]) * es;
  uint64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; d++) rows *= count[d];
  Shape idx(rank, 0);
  for (uint64_t r = 0; r < rows; r++) {
    uint64_t off = 0;
    for (size_t d = 0; d < rank; d++) off = off * chunk[d] + (at.empty() ? 0 : at[d]) + idx[d];
    std::memcpy(chunk_buf + off * es, block + r * row, row);
    for (size_t d = rank - 1; d-- > 0;) {
      if (++idx[d] < count[d]) break;
      idx[d] = 0;
    }
  }
}

std::vector<uint8_t> extract_chunk(Input& in, const ChunkGrid& grid, uint64_t index,
                                   const std::vector<uint8_t>& fill) {
  const size_t es = dtype_size(in.dtype());
  Shape start, count;
  grid.region(index, &start, &count);
  std::vector<uint8_t> chunk(size_t(grid.chunk_elements()) * es);
  if (count == grid.chunk()) {
    in.read(start, count, chunk.data());
    return chunk;
  }
  for (size_t i = 0; i < chunk.size(); i += es) std::memcpy(&chunk[i], fill.data(), es);
  uint64_t n = 1;
  for (uint64_t c : count) n *= c;
  std::vector<uint8_t> block(size_t(n) * es);
  in.read(start, count, block.data());
  place_block(block.data(), count, chunk.data(), grid.chunk(), es, grid.placement(index));
  return chunk;
}

std::vector<uint8_t> fill_element_of(DType t, double v) {
  std::vector<uint8_t> out(dtype_size(t));
  auto put = [&](auto x) { std::memcpy(out.data(), &x, sizeof x); };
  switch (t) {
    case DType::U8:
      put(uint8_t(v));
      break;
    case DType::U16:
      put(uint16_t(v));
      break;
    case DType::U32:
      put(uint32_t(v));
      break;
    case DType::U64:
      put(uint64_t(v));
      break;
    case DType::I8:
      put(int8_t(v));
      break;
    case DType::I16:
      put(int16_t(v));
      break;
    case DType::I32:
      put(int32_t(v));
      break;
    case DType::I64:
      put(int64_t(v));
      break;
    case DType::F32:
      put(float(v));
      break;
    case DType::F64:
      put(double(v));
      break;
  }
  return out;
}

}  // namespace cli
}  // namespace h5tx
