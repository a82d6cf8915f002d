// Plain HDF5 files for the benchmark (see hdf5_file.hpp).
#include "hdf5_file.hpp"

#include <unistd.h>

#include <cerrno>

#include "bench.hpp"
#include "h5tx/error.hpp"

namespace h5tx {
namespace bench {

namespace {

void check(herr_t rc, const char* what, const std::string& path) {
  if (rc < 0) throw Hdf5Error(path, std::string(what) + " failed");
}
hid_t check_id(hid_t id, const char* what, const std::string& path) {
  if (id < 0) throw Hdf5Error(path, std::string(what) + " failed");
  return id;
}

}  // namespace

void create_file(const std::string& path, uint64_t extent, uint64_t max_extent, uint64_t chunk) {
  hid_t f = check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate", path);
  hsize_t dims[1] = {extent};
  hsize_t maxd[1] = {max_extent ? hsize_t(max_extent) : H5S_UNLIMITED};
  hsize_t cdims[1] = {chunk};
  hid_t space = check_id(H5Screate_simple(1, dims, maxd), "H5Screate_simple", path);
  hid_t dcpl = check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", path);
  check(H5Pset_chunk(dcpl, 1, cdims), "H5Pset_chunk", path);
  uint8_t fill = 0;
  check(H5Pset_fill_value(dcpl, H5T_NATIVE_UINT8, &fill), "H5Pset_fill_value", path);
  check(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR), "H5Pset_alloc_time", path);
  hid_t d =
      check_id(H5Dcreate2(f, "/d", H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2", path);
  H5Dclose(d);
  H5Pclose(dcpl);
  H5Sclose(space);
  check(H5Fclose(f), "H5Fclose", path);
}

void fill_file(const std::string& path, uint64_t n, uint64_t chunk, uint64_t extent, uint64_t max_extent) {
  create_file(path, extent, max_extent, chunk);
  PlainFile f(path);
  Payload p(chunk);
  for (uint64_t i = 0; i < n; i++) f.write_chunk(i, chunk, p.stamp(~uint64_t(0), i));
  f.sync();
  f.close();
}

PlainFile::PlainFile(const std::string& path, hid_t fapl) : path_(path) {
  f_ = check_id(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl), "H5Fopen", path);
  d_ = H5Dopen2(f_, "/d", H5P_DEFAULT);
  if (d_ < 0) {
    H5Fclose(f_);
    throw Hdf5Error(path, "H5Dopen2 /d failed");
  }
}

PlainFile::~PlainFile() {
  if (d_ >= 0) H5Dclose(d_);
  if (f_ >= 0) H5Fclose(f_);
}

void PlainFile::write_chunk(uint64_t index, uint64_t chunk, const void* data) {
  hsize_t off[1] = {index * chunk};
  check(H5Dwrite_chunk(d_, H5P_DEFAULT, 0, off, chunk, data), "H5Dwrite_chunk", path_);
}

void PlainFile::set_extent(uint64_t extent) {
  hsize_t dims[1] = {extent};
  check(H5Dset_extent(d_, dims), "H5Dset_extent", path_);
}

void PlainFile::sync() {
  check(H5Fflush(f_, H5F_SCOPE_LOCAL), "H5Fflush", path_);
  void* handle = nullptr;
  check(H5Fget_vfd_handle(f_, H5P_DEFAULT, &handle), "H5Fget_vfd_handle", path_);
  if (::fsync(*static_cast<int*>(handle)) != 0) throw IoError(path_, "fsync failed", errno);
}

void PlainFile::close() {
  check(H5Dclose(d_), "H5Dclose", path_);
  d_ = -1;
  check(H5Fclose(f_), "H5Fclose", path_);
  f_ = -1;
}

}  // namespace bench
}  // namespace h5tx
