// The one dtype <-> HDF5 type mapping (hdf5/dtype_map.hpp): the library
// refuses big-endian types for the datasets it manages; the CLI's input
// reader accepts them (HDF5 converts on read). Anything not numeric is
// refused with a message naming its class.
#include <catch2/catch.hpp>

#include <hdf5.h>

#include "h5tx/error.hpp"
#include "hdf5/dtype_map.hpp"
#include "hdf5/handle.hpp"

using namespace h5tx;
using hdf5::ByteOrder;

TEST_CASE("dtype_map: every dtype round-trips through its file and memory types", "[hdf5][dtype]") {
  for (DType t : {DType::U8, DType::U16, DType::U32, DType::U64, DType::I8, DType::I16, DType::I32,
                  DType::I64, DType::F32, DType::F64}) {
    CHECK(hdf5::dtype_of_hdf5(hdf5::file_type(t), "/x", ByteOrder::LittleOnly) == t);
    CHECK(hdf5::dtype_of_hdf5(hdf5::mem_type(t), "/x", ByteOrder::LittleOnly) == t);
    CHECK(H5Tget_size(hdf5::file_type(t)) == dtype_size(t));
  }
}

TEST_CASE("dtype_map: big-endian is refused for managed datasets, accepted for inputs", "[hdf5][dtype]") {
  CHECK(hdf5::dtype_of_hdf5(H5T_STD_I32BE, "/in", ByteOrder::Any) == DType::I32);
  CHECK(hdf5::dtype_of_hdf5(H5T_IEEE_F64BE, "/in", ByteOrder::Any) == DType::F64);
  CHECK(hdf5::dtype_of_hdf5(H5T_STD_U8BE, "/in", ByteOrder::LittleOnly) == DType::U8);  // one byte: no order
  try {
    hdf5::dtype_of_hdf5(H5T_STD_U16BE, "/managed", ByteOrder::LittleOnly);
    FAIL("accepted a big-endian type");
  } catch (const UnsupportedError& e) {
    CHECK(e.path() == "/managed");
    CHECK(std::string(e.what()).find("big-endian") != std::string::npos);
  }
}

TEST_CASE("dtype_map: non-numeric types are refused naming their class", "[hdf5][dtype]") {
  hdf5::silence_error_printing();
  hdf5::Handle str(H5Tcopy(H5T_C_S1), "H5Tcopy");
  REQUIRE(H5Tset_size(str, 7) >= 0);
  for (ByteOrder o : {ByteOrder::Any, ByteOrder::LittleOnly}) {
    try {
      hdf5::dtype_of_hdf5(str, "/s", o);
      FAIL("accepted a string type");
    } catch (const UnsupportedError& e) {
      CHECK(std::string(e.what()).find("7-byte string") != std::string::npos);
    }
  }
}
