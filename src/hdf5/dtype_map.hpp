// h5tx dtypes <-> HDF5 types: the one mapping, used by the library (the
// datasets it manages) and the CLI (the input files it reads).
#pragma once

#include <hdf5.h>

#include <string>

#include "h5tx/types.hpp"

namespace h5tx {
namespace hdf5 {

// The little-endian standard type h5tx stores (H5T_STD_U16LE, ...).
hid_t file_type(DType t);
// The native type of the same dtype, for reading and writing memory
// (h5tx runs on little-endian hosts only: byte for byte the file type).
hid_t mem_type(DType t);

// Which byte orders dtype_of_hdf5 accepts. A dataset h5tx manages is
// little-endian (its chunks are copied as stored); an input that HDF5
// converts on read (H5Dread to mem_type) may be of either order.
enum class ByteOrder { LittleOnly, Any };

// The DType of an HDF5 integer or float type of 1, 2, 4 or 8 bytes;
// UnsupportedError naming `path` and the type for anything else.
DType dtype_of_hdf5(hid_t type, const std::string& path, ByteOrder orders);

}  // namespace hdf5
}  // namespace h5tx
