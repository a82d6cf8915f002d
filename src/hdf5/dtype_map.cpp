// h5tx dtypes <-> HDF5 types (hdf5/dtype_map.hpp).
#include "hdf5/dtype_map.hpp"

#include "h5tx/error.hpp"

namespace h5tx {
namespace hdf5 {

hid_t file_type(DType t) {
  switch (t) {
    case DType::U8:
      return H5T_STD_U8LE;
    case DType::U16:
      return H5T_STD_U16LE;
    case DType::U32:
      return H5T_STD_U32LE;
    case DType::U64:
      return H5T_STD_U64LE;
    case DType::I8:
      return H5T_STD_I8LE;
    case DType::I16:
      return H5T_STD_I16LE;
    case DType::I32:
      return H5T_STD_I32LE;
    case DType::I64:
      return H5T_STD_I64LE;
    case DType::F32:
      return H5T_IEEE_F32LE;
    case DType::F64:
      return H5T_IEEE_F64LE;
  }
  throw InvalidArgumentError("", "unknown dtype code " + std::to_string(int(t)));
}

// Memory types: h5tx only runs on little-endian hosts, so these equal the
// file types byte for byte.
hid_t mem_type(DType t) {
  switch (t) {
    case DType::U8:
      return H5T_NATIVE_UINT8;
    case DType::U16:
      return H5T_NATIVE_UINT16;
    case DType::U32:
      return H5T_NATIVE_UINT32;
    case DType::U64:
      return H5T_NATIVE_UINT64;
    case DType::I8:
      return H5T_NATIVE_INT8;
    case DType::I16:
      return H5T_NATIVE_INT16;
    case DType::I32:
      return H5T_NATIVE_INT32;
    case DType::I64:
      return H5T_NATIVE_INT64;
    case DType::F32:
      return H5T_NATIVE_FLOAT;
    case DType::F64:
      return H5T_NATIVE_DOUBLE;
  }
  throw InvalidArgumentError("", "unknown dtype code " + std::to_string(int(t)));
}

namespace {
const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_INTEGER:
      return "integer";
    case H5T_FLOAT:
      return "float";
    case H5T_TIME:
      return "time";
    case H5T_STRING:
      return "string";
    case H5T_BITFIELD:
      return "bitfield";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_COMPOUND:
      return "compound";
    case H5T_REFERENCE:
      return "reference";
    case H5T_ENUM:
      return "enum";
    case H5T_VLEN:
      return "variable-length";
    case H5T_ARRAY:
      return "array";
    default:
      return "unknown";
  }
}
}  // namespace

DType dtype_of_hdf5(hid_t type, const std::string& path, ByteOrder orders) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  if ((cls == H5T_INTEGER || cls == H5T_FLOAT) && size > 1 && orders == ByteOrder::LittleOnly &&
      H5Tget_order(type) != H5T_ORDER_LE) {
    throw UnsupportedError(path, "big-endian data types are not supported");
  }
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
      case 1:
        return is_signed ? DType::I8 : DType::U8;
      case 2:
        return is_signed ? DType::I16 : DType::U16;
      case 4:
        return is_signed ? DType::I32 : DType::U32;
      case 8:
        return is_signed ? DType::I64 : DType::U64;
      default:
        break;
    }
  } else if (cls == H5T_FLOAT) {
    if (size == 4) return DType::F32;
    if (size == 8) return DType::F64;
  }
  throw UnsupportedError(path, std::string("data type is not one of u8..u64, i8..i64, f32, f64 (a ") +
                                   std::to_string(size) + "-byte " + class_name(cls) + ")");
}

}  // namespace hdf5
}  // namespace h5tx
