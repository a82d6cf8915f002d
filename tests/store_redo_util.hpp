// Helpers shared by the redo-mode store tests: a small dataset layout and
// deterministic chunk contents.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "h5tx/store.hpp"
#include "store/redo_store.hpp"

namespace redo_test {

// A 2-D u32 dataset of 8x8 chunks, `rows` chunk rows by 4 chunk columns.
inline h5tx::DatasetSpec grid_spec(uint64_t chunk_rows = 16, bool compress = false) {
  h5tx::DatasetSpec s;
  s.dtype = h5tx::DType::U32;
  s.shape = {chunk_rows * 8, 32};
  s.max_shape = {h5tx::kUnlimited, 32};
  s.chunk = {8, 8};
  s.fill_value = 0;
  if (compress) s.compression = h5tx::Compression::ShuffleDeflate;
  return s;
}

// Raw bytes of one 8x8 u32 chunk whose elements encode (seed, coords, index).
inline std::vector<uint8_t> chunk_bytes(uint32_t seed, uint64_t r, uint64_t c) {
  std::vector<uint32_t> v(64);
  for (uint32_t i = 0; i < 64; i++) v[i] = seed * 1000003u + uint32_t(r) * 7919u + uint32_t(c) * 104729u + i;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(v.data());
  return std::vector<uint8_t>(p, p + v.size() * 4);
}

inline void make_file(h5tx::Store& store, const std::string& file, uint64_t chunk_rows = 16,
                      bool compress = false) {
  auto tx = store.begin();
  tx.create_file(file);
  tx.create_dataset(file, "/grid", grid_spec(chunk_rows, compress));
  tx.commit();
}

}  // namespace redo_test
