// Helpers for the tests of src/hdf5: HDF5 files opened through the undo
// driver (every byte through Env), as h5tx itself opens them.
#pragma once

#include <string>

#include "hdf5/handle.hpp"
#include "undo/driver.hpp"

namespace h5tx_test {

inline h5tx::hdf5::Handle undo_fapl() {
  h5tx::hdf5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  h5tx::undo::set_fapl(fapl, h5tx::undo::DriverConfig{});
  return fapl;
}

inline h5tx::hdf5::Handle create_file(const std::string& path) {
  h5tx::hdf5::silence_error_printing();
  return h5tx::hdf5::Handle(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, undo_fapl()), "H5Fcreate",
                            path);
}

}  // namespace h5tx_test
