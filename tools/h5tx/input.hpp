// The arrays `h5tx ingest` reads: a raw binary file (C order, little-endian,
// with --dtype/--shape), a NumPy .npy file (either byte order, C or Fortran
// order), a member of a NumPy .npz archive, stdin (raw or .npy), or a dataset
// of another HDF5 file (read-only, through the HDF5 C API; any layout). All
// read hyperslabs in little-endian C order and are safe to read from several
// threads at once (pread on one descriptor; HDF5 calls as before).
//
// stdin and deflated .npz members cannot be read at random offsets: they are
// copied once, when opened, into an unlinked temporary file in $TMPDIR
// (default /tmp), which needs room for the whole array. Stored .npz members
// are read in place.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "h5tx/types.hpp"

namespace h5tx {
namespace cli {

class Input {
 public:
  virtual ~Input() = default;
  virtual DType dtype() const = 0;
  virtual const Shape& shape() const = 0;
  // What the input is, for messages ("raw file x.bin", "x.npy", "a.h5:/d").
  virtual std::string describe() const = 0;
  // Identifies the input's content for resuming an ingest: path, size and
  // modification time (a changed input is a different ingest).
  virtual std::string identity() const = 0;
  // False for stdin: its bytes cannot be read again, so an interrupted
  // ingest from it starts over (identity() differs on every run).
  virtual bool resumable() const { return true; }
  // Reads the hyperslab [start, start + count) in C order into `out`
  // (prod(count) * dtype_size bytes). Thread-safe.
  virtual void read(const Shape& start, const Shape& count, void* out) = 0;

  uint64_t elements() const;
  uint64_t bytes() const { return elements() * dtype_size(dtype()); }
};

// A file read at `offset` as a C-order little-endian array (raw and .npy).
// Throws InvalidArgumentError naming the file if it is shorter than the array.
std::unique_ptr<Input> open_raw_input(const std::string& path, uint64_t offset, DType dtype,
                                      const Shape& shape, const std::string& kind);

// Dataset `dataset` of the HDF5 file `path`, opened read-only. Integer and
// float datasets of any byte order (converted to little-endian on reading).
std::unique_ptr<Input> open_hdf5_input(const std::string& path, const std::string& dataset);

// Chooses by content: "-" (stdin: .npy if it starts with the magic, else
// raw), "FILE.npz:NAME" (member NAME.npy of a zip archive: stored or deflated,
// not zip64, not encrypted), "FILE.h5:/path" of an existing HDF5 file, a .npy
// file (magic), else a raw file, which needs `dtype` and `shape` (has_dtype false
// / shape empty: UsageError). --dtype/--shape given for a .npy or HDF5 input
// must agree with it (UsageError otherwise).
std::unique_ptr<Input> open_input(const std::string& spec, bool has_dtype, DType dtype, const Shape& shape);

}  // namespace cli
}  // namespace h5tx
