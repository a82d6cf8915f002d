// NumPy .npy header parsing (format versions 1.0, 2.0 and 3.0): the element
// type, shape, byte order, memory order and data offset of an array, so the
// data can be read straight from the file (input.cpp converts big-endian and
// Fortran-order data to little-endian C order on reading).
#pragma once

#include <cstdint>
#include <string>

#include "h5tx/types.hpp"

namespace h5tx {
namespace cli {

struct NpyHeader {
  DType dtype = DType::U8;
  Shape shape;
  uint64_t data_offset = 0;  // bytes from the start of the file
  int major_version = 1;
  bool big_endian = false;     // descr '>..' (multi-byte types)
  bool fortran_order = false;  // 'fortran_order': True
};

// Parses the header at the start of `bytes` (at least the first 10 bytes,
// plus the header itself). Throws InvalidArgumentError naming `path` for a
// file that is not .npy, a truncated header, a dtype h5tx has no type for
// (bool, complex, strings, records) or a 0-dimensional array.
NpyHeader parse_npy_header(const std::string& bytes, const std::string& path);

// Reads and parses the header of the file at `path` and checks that the file
// holds all the data the header announces (InvalidArgumentError if truncated).
NpyHeader read_npy_header(const std::string& path);

// The same for a .npy image at `offset` of the open file `fd`, `size` bytes
// long (a member of an .npz archive, a spooled stdin); data_offset is relative
// to `offset`. `name` is used in messages.
NpyHeader read_npy_header_at(int fd, uint64_t offset, uint64_t size, const std::string& name);

// True if `bytes` starts with the .npy magic "\x93NUMPY".
bool is_npy(const std::string& bytes);

// Builds a version 1.0 .npy header for a C-order little-endian array (tests,
// and `h5tx get --npy`).
std::string make_npy_header(DType dtype, const Shape& shape);

}  // namespace cli
}  // namespace h5tx
