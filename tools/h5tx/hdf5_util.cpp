// HDF5 C API helpers of the tool (see hdf5_util.hpp).
#include "hdf5_util.hpp"

#include "h5tx/error.hpp"

namespace h5tx {
namespace cli {

void hdf5_quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

namespace {
herr_t walk(unsigned n, const H5E_error2_t* e, void* data) {
  std::string* out = static_cast<std::string*>(data);
  if (n < 3 && e->desc && *e->desc) {
    if (!out->empty()) *out += "; ";
    *out += e->desc;
  }
  return 0;
}
}  // namespace

std::string hdf5_error_message() {
  std::string out;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk, &out);
  H5Eclear2(H5E_DEFAULT);
  return out.empty() ? "HDF5 error" : out;
}

herr_t h5_check(herr_t status, const char* what, const std::string& where) {
  if (status < 0) throw Hdf5Error(where, std::string(what) + ": " + hdf5_error_message());
  return status;
}

H5Handle::H5Handle(hid_t id, const char* what, const std::string& where) {
  if (id < 0) throw Hdf5Error(where, std::string(what) + ": " + hdf5_error_message());
  id_ = id;
}

void H5Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = H5I_INVALID_HID;
}

hid_t hdf5_type_of(DType t) {
  switch (t) {
    case DType::U8: return H5T_STD_U8LE;
    case DType::U16: return H5T_STD_U16LE;
    case DType::U32: return H5T_STD_U32LE;
    case DType::U64: return H5T_STD_U64LE;
    case DType::I8: return H5T_STD_I8LE;
    case DType::I16: return H5T_STD_I16LE;
    case DType::I32: return H5T_STD_I32LE;
    case DType::I64: return H5T_STD_I64LE;
    case DType::F32: return H5T_IEEE_F32LE;
    case DType::F64: return H5T_IEEE_F64LE;
  }
  throw InvalidArgumentError("", "unknown dtype");
}

DType dtype_of_hdf5_type(hid_t type, const std::string& where) {
  H5T_class_t cls = H5Tget_class(type);
  size_t size = H5Tget_size(type);
  if (cls == H5T_INTEGER) {
    bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
      case 1: return is_signed ? DType::I8 : DType::U8;
      case 2: return is_signed ? DType::I16 : DType::U16;
      case 4: return is_signed ? DType::I32 : DType::U32;
      case 8: return is_signed ? DType::I64 : DType::U64;
      default: break;
    }
  } else if (cls == H5T_FLOAT) {
    if (size == 4) return DType::F32;
    if (size == 8) return DType::F64;
  }
  throw InvalidArgumentError(where, "the dataset's type is not an integer or float of 1, 2, 4 or 8 bytes");
}

}  // namespace cli
}  // namespace h5tx
