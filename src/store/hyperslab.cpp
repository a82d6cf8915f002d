// Chunk/box arithmetic for hyperslab reads and writes.
#include "store/hyperslab.hpp"

#include <cstring>

#include "h5tx/error.hpp"

namespace h5tx {

void check_box(const DatasetSpec& spec, const Shape& start, const Shape& count, const std::string& what) {
  size_t rank = spec.shape.size();
  if (start.size() != rank || count.size() != rank)
    throw InvalidArgumentError(what, "start/count rank " + std::to_string(start.size()) + "/" +
                                         std::to_string(count.size()) + " != dataset rank " +
                                         std::to_string(rank));
  for (size_t d = 0; d < rank; ++d) {
    if (start[d] > spec.shape[d] || count[d] > spec.shape[d] - start[d])
      throw InvalidArgumentError(what,
                                 "selection exceeds the dataset extent in dimension " + std::to_string(d));
  }
}

void for_each_chunk_overlap(
    const DatasetSpec& spec, const Shape& start, const Shape& count,
    const std::function<void(const Shape&, const Shape&, const Shape&, const Shape&)>& fn) {
  size_t rank = spec.shape.size();
  for (size_t d = 0; d < rank; ++d)
    if (count[d] == 0) return;
  Shape first(rank), last(rank), coords(rank);
  for (size_t d = 0; d < rank; ++d) {
    first[d] = start[d] / spec.chunk[d];
    last[d] = (start[d] + count[d] - 1) / spec.chunk[d];
  }
  coords = first;
  Shape in_chunk(rank), in_box(rank), extent(rank);
  while (true) {
    for (size_t d = 0; d < rank; ++d) {
      uint64_t c0 = coords[d] * spec.chunk[d];
      uint64_t lo = std::max(c0, start[d]);
      uint64_t hi = std::min(c0 + spec.chunk[d], start[d] + count[d]);
      in_chunk[d] = lo - c0;
      in_box[d] = lo - start[d];
      extent[d] = hi - lo;
    }
    fn(coords, in_chunk, in_box, extent);
    size_t d = rank;
    while (d > 0) {
      --d;
      if (coords[d] < last[d]) {
        ++coords[d];
        break;
      }
      coords[d] = first[d];
      if (d == 0) return;
    }
    if (rank == 0) return;
  }
}

void copy_box(const uint8_t* src, const Shape& src_shape, const Shape& src_pos, uint8_t* dst,
              const Shape& dst_shape, const Shape& dst_pos, const Shape& extent, size_t elem) {
  size_t rank = extent.size();
  if (rank == 0) {
    std::memcpy(dst, src, elem);
    return;
  }
  // Row-major strides in elements.
  std::vector<uint64_t> ss(rank), ds(rank);
  ss[rank - 1] = ds[rank - 1] = 1;
  for (size_t d = rank - 1; d > 0; --d) {
    ss[d - 1] = ss[d] * src_shape[d];
    ds[d - 1] = ds[d] * dst_shape[d];
  }
  size_t row = extent[rank - 1] * elem;
  Shape i(rank, 0);
  while (true) {
    uint64_t so = 0, doff = 0;
    for (size_t d = 0; d < rank; ++d) {
      so += (src_pos[d] + i[d]) * ss[d];
      doff += (dst_pos[d] + i[d]) * ds[d];
    }
    std::memcpy(dst + doff * elem, src + so * elem, row);
    if (rank == 1) return;
    size_t d = rank - 1;
    while (true) {
      --d;
      if (++i[d] < extent[d]) break;
      i[d] = 0;
      if (d == 0) return;
    }
  }
}

}  // namespace h5tx
