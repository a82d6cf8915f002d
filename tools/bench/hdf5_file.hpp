// A plain HDF5 file with one 1-D u8 chunked dataset "/d", written chunk by
// chunk with H5Dwrite_chunk; shared by the plain baselines and the rows
// that drive the undo driver directly (same file, another driver).
// Datasets are made like h5tx makes them (u8, chunked, fill value 0,
// incremental allocation, no filters), so the same bytes reach the file.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>

namespace h5tx {
namespace bench {

// Creates `path` with dataset "/d" of `extent` bytes (maximum `max_extent`,
// 0 = unlimited) in chunks of `chunk` bytes.
void create_file(const std::string& path, uint64_t extent, uint64_t max_extent, uint64_t chunk);

// create_file, then writes chunks [0, n) and syncs (untimed setup).
void fill_file(const std::string& path, uint64_t n, uint64_t chunk, uint64_t extent, uint64_t max_extent);

// An open HDF5 file with dataset "/d". `fapl` selects the driver (sec2 by default).
class PlainFile {
 public:
  explicit PlainFile(const std::string& path, hid_t fapl = H5P_DEFAULT);
  ~PlainFile();
  PlainFile(const PlainFile&) = delete;
  PlainFile& operator=(const PlainFile&) = delete;

  hid_t file() const { return f_; }
  void write_chunk(uint64_t index, uint64_t chunk, const void* data);
  void set_extent(uint64_t extent);
  // H5Fflush, then fsync of the file descriptor the sec2 driver holds.
  void sync();
  void close();

 private:
  std::string path_;
  hid_t f_ = -1;
  hid_t d_ = -1;
};

}  // namespace bench
}  // namespace h5tx
