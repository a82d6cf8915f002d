// HDF5 handles: RAII closing, error stack -> Hdf5Error, group helpers.
#include <catch2/catch.hpp>

#include "h5tx/error.hpp"
#include "hdf5/handle.hpp"
#include "test_util.hpp"

using namespace h5tx;

TEST_CASE("Handle closes its id and HDF5 errors become Hdf5Error with HDF5's message") {
  hdf5::silence_error_printing();
  h5tx_test::TempDir dir("hdf5");
  std::string path = dir / "f.h5";
  hid_t raw;
  {
    hdf5::Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate", path);
    raw = f.get();
    CHECK(H5Iis_valid(raw) > 0);
    hdf5::Handle g = hdf5::ensure_group(f, "/a/b/c");
    CHECK(hdf5::link_exists(f, "/a/b/c"));
    CHECK_FALSE(hdf5::link_exists(f, "/a/x/c"));
    hdf5::Handle again = hdf5::ensure_group(f, "/a/b/c");  // existing: opened, not recreated
    CHECK(again.valid());
  }
  CHECK(H5Iis_valid(raw) <= 0);
  try {
    hdf5::Handle f(H5Fopen((dir / "missing.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen",
                   dir / "missing.h5");
    FAIL("no throw");
  } catch (const Hdf5Error& e) {
    CHECK(e.path() == dir / "missing.h5");
    CHECK(std::string(e.what()).find("H5Fopen") != std::string::npos);
    CHECK(std::string(e.what()).find("unable to open file") != std::string::npos);
  }
}

TEST_CASE("Handle is move-only and release gives up ownership") {
  hdf5::Handle s(H5Screate(H5S_SCALAR), "H5Screate");
  hid_t id = s.get();
  hdf5::Handle t = std::move(s);
  CHECK_FALSE(s.valid());
  CHECK(t.get() == id);
  hid_t r = t.release();
  CHECK_FALSE(t.valid());
  CHECK(H5Iis_valid(r) > 0);
  hdf5::Handle::adopt(r).close_checked();
  CHECK(H5Iis_valid(r) <= 0);
}
