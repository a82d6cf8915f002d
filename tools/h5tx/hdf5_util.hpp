// The few HDF5 C API helpers the tool needs for what it does with HDF5
// directly (reading input files, `check`, `export`, `demo` verification):
// an owning hid_t, error checks that turn the HDF5 error stack into an
// h5tx::Hdf5Error naming the file, and dtype <-> HDF5 type mapping.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>

#include "h5tx/types.hpp"

namespace h5tx {
namespace cli {

// Turns off HDF5's printing of its error stack (we report errors ourselves).
void hdf5_quiet();

// The innermost messages of the current HDF5 error stack, one line.
std::string hdf5_error_message();

// Throws Hdf5Error("<what>: <HDF5 message>", where) when status < 0.
herr_t h5_check(herr_t status, const char* what, const std::string& where);

// Owns a hid_t of any kind, closed with the matching H5*close.
class H5Handle {
 public:
  H5Handle() = default;
  // Throws Hdf5Error naming `where` if id < 0.
  H5Handle(hid_t id, const char* what, const std::string& where);
  H5Handle(H5Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  H5Handle& operator=(H5Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  H5Handle(const H5Handle&) = delete;
  H5Handle& operator=(const H5Handle&) = delete;
  ~H5Handle() { reset(); }
  hid_t id() const { return id_; }
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// The little-endian HDF5 standard type of `t` (H5T_STD_U16LE ...).
hid_t hdf5_type_of(DType t);
// The h5tx dtype of an integer or float HDF5 type of any byte order;
// InvalidArgumentError naming `where` for other types.
DType dtype_of_hdf5_type(hid_t type, const std::string& where);

}  // namespace cli
}  // namespace h5tx
