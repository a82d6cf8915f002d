// Element types by size and name, and the string AttributeValue constructor.
#include "h5tx/types.hpp"

#include "h5tx/error.hpp"

namespace h5tx {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::U8:
    case DType::I8:
      return 1;
    case DType::U16:
    case DType::I16:
      return 2;
    case DType::U32:
    case DType::I32:
    case DType::F32:
      return 4;
    case DType::U64:
    case DType::I64:
    case DType::F64:
      return 8;
  }
  throw InvalidArgumentError("", "unknown dtype code " + std::to_string(int(t)));
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::U8:
      return "u8";
    case DType::U16:
      return "u16";
    case DType::U32:
      return "u32";
    case DType::U64:
      return "u64";
    case DType::I8:
      return "i8";
    case DType::I16:
      return "i16";
    case DType::I32:
      return "i32";
    case DType::I64:
      return "i64";
    case DType::F32:
      return "f32";
    case DType::F64:
      return "f64";
  }
  throw InvalidArgumentError("", "unknown dtype code " + std::to_string(int(t)));
}

DType parse_dtype(const std::string& name) {
  static const DType all[] = {DType::U8,  DType::U16, DType::U32, DType::U64, DType::I8,
                              DType::I16, DType::I32, DType::I64, DType::F32, DType::F64};
  for (DType t : all) {
    if (name == dtype_name(t)) return t;
  }
  throw InvalidArgumentError("", "unknown dtype '" + name + "' (expected u8..u64, i8..i64, f32, f64)");
}

AttributeValue AttributeValue::string(std::string s) {
  AttributeValue a;
  a.is_string = true;
  a.dtype = DType::U8;
  a.text = std::move(s);
  return a;
}

}  // namespace h5tx
