// The filter pipeline of one chunk exactly as HDF5 stores it, so chunks can be
// written with H5Dwrite_chunk and read with H5Dread_chunk while HDF5 does no
// filtering of its own. For h5tx datasets the pipeline is, in order:
//   filter 0..: shuffle (if ShuffleDeflate), deflate (zlib at spec level),
//               fletcher32 (if spec.fletcher32), always last.
// Bit i of a chunk's filter mask set means filter i was skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {
namespace hdf5 {

// Bytes of one raw (unfiltered) chunk of `s`.
size_t chunk_bytes(const DatasetSpec& s);

// Applies the pipeline to a raw chunk of exactly chunk_bytes(s) bytes
// (InvalidArgumentError otherwise). *filter_mask receives the mask to store
// with the chunk (0: every filter applied).
std::vector<uint8_t> encode_chunk(const DatasetSpec& s, const void* raw, size_t n, uint32_t* filter_mask);

// Reverses the pipeline of a stored chunk, honouring filter_mask. Throws
// CorruptionError naming `what` on a Fletcher32 mismatch, a bad deflate
// stream or a wrong decoded size.
std::vector<uint8_t> decode_chunk(const DatasetSpec& s, const void* stored, size_t n, uint32_t filter_mask,
                                  const std::string& what);

// "" if a stored chunk of n bytes with this filter mask can belong to a
// dataset of spec `s`, else what is wrong: a mask naming filters the
// pipeline does not have, or a size no chunk of the dataset can have (an
// unfiltered chunk must be exactly chunk_bytes(s), plus 4 with Fletcher32; a
// deflated one at most zlib's bound). Checked before a journaled chunk is
// handed to HDF5, which trusts the size of an unfiltered chunk.
std::string stored_chunk_problem(const DatasetSpec& s, uint64_t n, uint32_t filter_mask);

// HDF5's Fletcher32 (H5_checksum_fletcher32): 16-bit big-endian words, an
// odd trailing byte as the high byte of a word. The filter stores it after
// the data, little-endian.
uint32_t fletcher32(const void* data, size_t n);

// HDF5's shuffle filter: byte j of element i goes to j * count + i, where
// count = n / elem_size; the n % elem_size trailing bytes stay in place.
std::vector<uint8_t> shuffle(const uint8_t* data, size_t n, size_t elem_size);
std::vector<uint8_t> unshuffle(const uint8_t* data, size_t n, size_t elem_size);

}  // namespace hdf5
}  // namespace h5tx
