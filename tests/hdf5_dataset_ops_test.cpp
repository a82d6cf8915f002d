// Dataset operations on real HDF5 files: create/idempotence, specs read back,
// extend, attributes, raw chunk I/O, listing; cross-checked with h5py.
#include <catch2/catch.hpp>

#include <hdf5.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "h5tx/error.hpp"
#include "hdf5/chunk_codec.hpp"
#include "hdf5/dataset_ops.hpp"
#include "hdf5/handle.hpp"
#include "undo/driver.hpp"
#include "hdf5_test_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using h5tx::hdf5::Handle;

namespace {

using h5tx_test::python;

using h5tx_test::create_file;
using h5tx_test::undo_fapl;

Handle open_file(const std::string& path, unsigned flags = H5F_ACC_RDWR) {
  return Handle(H5Fopen(path.c_str(), flags, undo_fapl()), "H5Fopen", path);
}

DatasetSpec make_spec(DType t, Shape shape, Shape chunk, Shape max = {}) {
  DatasetSpec s;
  s.dtype = t;
  s.shape = shape;
  s.chunk = chunk;
  s.max_shape = max;
  return s;
}

}  // namespace

TEST_CASE("create_dataset creates groups and read_spec returns the spec") {
  h5tx_test::TempDir dir("ops");
  Handle f = create_file(dir / "a.h5");
  DatasetSpec s = make_spec(DType::I16, {100, 50}, {32, 16}, {kUnlimited, 64});
  s.fill_value = -7;
  s.compression = Compression::ShuffleDeflate;
  s.deflate_level = 3;
  s.fletcher32 = true;
  hdf5::create_dataset(f, "/raw/deep/x", s);
  DatasetSpec r = hdf5::read_spec(f, "/raw/deep/x");
  CHECK(r.dtype == DType::I16);
  CHECK(r.shape == Shape{100, 50});
  CHECK(r.max_shape == Shape{kUnlimited, 64});
  CHECK(r.chunk == Shape{32, 16});
  CHECK(r.fill_value == -7);
  CHECK(r.compression == Compression::ShuffleDeflate);
  CHECK(r.deflate_level == 3);
  CHECK(r.fletcher32);

  // Every dtype and the other pipelines round-trip.
  for (DType t : {DType::U8, DType::U16, DType::U32, DType::U64, DType::I8, DType::I16, DType::I32,
                  DType::I64, DType::F32, DType::F64}) {
    for (int pipeline = 0; pipeline < 4; pipeline++) {
      DatasetSpec q = make_spec(t, {5}, {2});
      q.fill_value = t == DType::F32 || t == DType::F64 ? 1.5 : 3;
      q.compression = pipeline & 1 ? Compression::ShuffleDeflate : Compression::None;
      q.fletcher32 = pipeline & 2;
      std::string p = std::string("/t/") + dtype_name(t) + "_" + std::to_string(pipeline);
      hdf5::create_dataset(f, p, q);
      DatasetSpec back = hdf5::read_spec(f, p);
      INFO(p);
      CHECK(back.dtype == t);
      CHECK(back.max_shape == Shape{5});
      CHECK(back.fill_value == q.fill_value);
      CHECK(back.compression == q.compression);
      CHECK(back.fletcher32 == q.fletcher32);
      CHECK(hdf5::same_definition(back, q));
    }
  }
  CHECK(hdf5::list_datasets(f).size() == 41);
  CHECK(hdf5::list_datasets(f)[0] == "/raw/deep/x");
}

TEST_CASE("create_dataset is idempotent and refuses a different definition") {
  h5tx_test::TempDir dir("ops");
  Handle f = create_file(dir / "a.h5");
  DatasetSpec s = make_spec(DType::F32, {10}, {4}, {kUnlimited});
  hdf5::create_dataset(f, "/g/d", s);
  hdf5::extend_dataset(f, "/g/d", {30});
  // Replaying the create keeps the grown extent.
  hdf5::create_dataset(f, "/g/d", s);
  CHECK(hdf5::read_spec(f, "/g/d").shape == Shape{30});

  DatasetSpec other = s;
  other.chunk = {5};
  CHECK_THROWS_AS(hdf5::create_dataset(f, "/g/d", other), AlreadyExistsError);
  other = s;
  other.fill_value = 1;
  CHECK_THROWS_AS(hdf5::create_dataset(f, "/g/d", other), AlreadyExistsError);
  other = s;
  other.fletcher32 = false;
  CHECK_THROWS_AS(hdf5::create_dataset(f, "/g/d", other), AlreadyExistsError);
  // A group is in the way.
  CHECK_THROWS_AS(hdf5::create_dataset(f, "/g", s), AlreadyExistsError);
  // A dataset cannot be a parent group.
  CHECK_THROWS(hdf5::create_dataset(f, "/g/d/e", s));
  CHECK(hdf5::list_datasets(f) == std::vector<std::string>{"/g/d"});
}

TEST_CASE("validate_spec rejects specs HDF5 could not hold") {
  auto bad = [](DatasetSpec s) { CHECK_THROWS_AS(hdf5::validate_spec(s, "/x"), InvalidArgumentError); };
  DatasetSpec ok = make_spec(DType::U8, {10, 10}, {5, 5});
  CHECK_NOTHROW(hdf5::validate_spec(ok, "/x"));
  bad(make_spec(DType::U8, {}, {}));
  bad(make_spec(DType::U8, {10}, {5, 5}));
  bad(make_spec(DType::U8, {10, 10}, {0, 5}));
  bad(make_spec(DType::U8, {10, 10}, {20, 5}));               // chunk > fixed max
  bad(make_spec(DType::U8, {10, 10}, {5, 5}, {8, 10}));       // max < shape
  bad(make_spec(DType::U8, {10, 10}, {5, 5}, {kUnlimited}));  // rank of max_shape
  CHECK_NOTHROW(hdf5::validate_spec(make_spec(DType::U8, {10}, {64}, {kUnlimited}), "/x"));
  bad(make_spec(DType::U64, {1 << 20, 1 << 20}, {1 << 15, 1 << 15}, {kUnlimited, kUnlimited}));
  DatasetSpec s = ok;
  s.compression = Compression::ShuffleDeflate;
  s.deflate_level = 0;
  bad(s);
  s.deflate_level = 10;
  bad(s);
  s = ok;
  s.fill_value = 256;
  bad(s);
  s.fill_value = 1.5;
  bad(s);
  s.dtype = DType::I8;
  s.fill_value = -128;
  CHECK_NOTHROW(hdf5::validate_spec(s, "/x"));
  try {
    hdf5::validate_spec(make_spec(DType::U8, {10}, {0}), "/vol/x");
    FAIL("no error");
  } catch (const InvalidArgumentError& e) {
    CHECK(e.path() == "/vol/x");
  }
}

TEST_CASE("extend_dataset grows, never shrinks, and stops at max_shape") {
  h5tx_test::TempDir dir("ops");
  Handle f = create_file(dir / "a.h5");
  hdf5::create_dataset(f, "/d", make_spec(DType::U32, {4, 4}, {2, 2}, {kUnlimited, 8}));
  hdf5::extend_dataset(f, "/d", {100, 6});
  CHECK(hdf5::read_spec(f, "/d").shape == Shape{100, 6});
  hdf5::extend_dataset(f, "/d", {50, 8});  // replay of an older extend keeps 100
  CHECK(hdf5::read_spec(f, "/d").shape == Shape{100, 8});
  CHECK_THROWS_AS(hdf5::extend_dataset(f, "/d", {100, 9}), InvalidArgumentError);
  CHECK_THROWS_AS(hdf5::extend_dataset(f, "/d", {100}), InvalidArgumentError);
  CHECK_THROWS_AS(hdf5::extend_dataset(f, "/nope", {1, 1}), NotFoundError);
  CHECK(hdf5::read_spec(f, "/d").shape == Shape{100, 8});
}

TEST_CASE("write_chunk / read_chunk_stored move stored bytes and masks unchanged") {
  h5tx_test::TempDir dir("ops");
  Handle f = create_file(dir / "a.h5");
  DatasetSpec s = make_spec(DType::U16, {10, 10}, {4, 4});
  s.compression = Compression::ShuffleDeflate;
  hdf5::create_dataset(f, "/d", s);
  std::vector<uint8_t> stored;
  uint32_t mask = 77;
  CHECK_FALSE(hdf5::read_chunk_stored(f, "/d", {1, 2}, &stored, &mask));

  std::vector<uint8_t> raw(32);
  for (size_t i = 0; i < raw.size(); i++) raw[i] = uint8_t(i * 3);
  std::vector<uint8_t> enc = hdf5::encode_chunk(s, raw.data(), raw.size(), &mask);
  hdf5::write_chunk(f, "/d", {1, 2}, mask, enc.data(), enc.size());
  hdf5::write_chunk(f, "/d", {1, 2}, mask, enc.data(), enc.size());  // idempotent
  REQUIRE(hdf5::read_chunk_stored(f, "/d", {1, 2}, &stored, &mask));
  CHECK(stored == enc);
  CHECK(mask == 0);
  CHECK(hdf5::decode_chunk(s, stored.data(), stored.size(), mask, "/d") == raw);
  CHECK_FALSE(hdf5::read_chunk_stored(f, "/d", {2, 2}, &stored, &mask));

  // A mask with the deflate bit set is stored and returned as is.
  std::vector<uint8_t> sh = hdf5::shuffle(raw.data(), raw.size(), 2);
  hdf5::write_chunk(f, "/d", {0, 0}, 2u, sh.data(), sh.size());
  REQUIRE(hdf5::read_chunk_stored(f, "/d", {0, 0}, &stored, &mask));
  CHECK(mask == 2u);
  CHECK(stored == sh);

  CHECK_THROWS_AS(hdf5::write_chunk(f, "/d", {3, 0}, 0, enc.data(), enc.size()), InvalidArgumentError);
  CHECK_THROWS_AS(hdf5::write_chunk(f, "/d", {0}, 0, enc.data(), enc.size()), InvalidArgumentError);
  CHECK_THROWS_AS(hdf5::read_chunk_stored(f, "/e", {0, 0}, &stored, &mask), NotFoundError);
}

TEST_CASE("fill_chunk matches what HDF5 returns for an unwritten chunk") {
  h5tx_test::TempDir dir("ops");
  Handle f = create_file(dir / "a.h5");
  DatasetSpec s = make_spec(DType::I16, {4, 3}, {4, 3});
  s.fill_value = -2;
  hdf5::create_dataset(f, "/d", s);
  std::vector<uint8_t> fill = hdf5::fill_chunk(s);
  REQUIRE(fill.size() == 24);
  CHECK(fill[0] == 0xfe);
  CHECK(fill[1] == 0xff);
  CHECK(fill[22] == 0xfe);
  std::vector<uint8_t> back(24);
  Handle ds(H5Dopen2(f, "/d", H5P_DEFAULT), "H5Dopen2");
  REQUIRE(H5Dread(ds, H5T_NATIVE_INT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()) >= 0);
  CHECK(back == fill);
  s.dtype = DType::F64;
  s.fill_value = 0.25;
  std::vector<uint8_t> f64 = hdf5::fill_chunk(s);
  double d;
  std::memcpy(&d, f64.data() + 8 * 11, 8);
  CHECK(d == 0.25);
}

TEST_CASE("attributes on the root, groups and datasets, replaced, read by h5py") {
  h5tx_test::TempDir dir("ops");
  const std::string path = dir / "attrs.h5";
  {
    Handle f = create_file(path);
    hdf5::create_dataset(f, "/bbic/volume/0", make_spec(DType::U8, {8}, {8}));
    hdf5::set_attribute(f, "/", "title", AttributeValue::string("ingest run 7"));
    hdf5::set_attribute(f, "/bbic", "width", AttributeValue::scalar<int32_t>(640));
    hdf5::set_attribute(f, "/bbic", "width", AttributeValue::scalar<int32_t>(641));  // replaced
    const double res[] = {0.5, 0.25, 2};
    hdf5::set_attribute(f, "/bbic/volume/0", "resolution", AttributeValue::array(res, 3));
    hdf5::set_attribute(f, "/bbic/volume/0", "empty", AttributeValue::string(""));
    CHECK_THROWS_AS(hdf5::set_attribute(f, "/missing", "a", AttributeValue::scalar(1.0)), NotFoundError);
    CHECK_THROWS_AS(hdf5::read_attribute(f, "/bbic", "nope"), NotFoundError);
  }
  Handle f = open_file(path, H5F_ACC_RDONLY);
  AttributeValue t = hdf5::read_attribute(f, "/", "title");
  CHECK(t.is_string);
  CHECK(t.text == "ingest run 7");
  AttributeValue w = hdf5::read_attribute(f, "/bbic", "width");
  REQUIRE(w.dtype == DType::I32);
  REQUIRE(w.count() == 1);
  int32_t wv;
  std::memcpy(&wv, w.bytes.data(), 4);
  CHECK(wv == 641);
  AttributeValue r = hdf5::read_attribute(f, "/bbic/volume/0", "resolution");
  CHECK(r.dtype == DType::F64);
  CHECK(r.count() == 3);
  CHECK(hdf5::read_attribute(f, "/bbic/volume/0", "empty").text == "");

  std::string out = python(
      "import h5py\n"
      "f = h5py.File(\"" +
      path +
      "\", \"r\")\n"
      "print(f.attrs[\"title\"])\n"
      "print(int(f[\"bbic\"].attrs[\"width\"]), f[\"bbic\"].attrs[\"width\"].dtype)\n"
      "print(list(f[\"bbic/volume/0\"].attrs[\"resolution\"]))\n");
  CHECK(out.find("ingest run 7") != std::string::npos);
  CHECK(out.find("641 int32") != std::string::npos);
  CHECK(out.find("[0.5, 0.25, 2.0]") != std::string::npos);
}

TEST_CASE("chunks stored by write_chunk read back with h5py") {
  h5tx_test::TempDir dir("ops");
  const std::string path = dir / "data.h5";
  DatasetSpec s = make_spec(DType::F32, {3, 5}, {2, 4}, {kUnlimited, 5});
  s.compression = Compression::ShuffleDeflate;
  s.fill_value = 9;
  {
    Handle f = create_file(path);
    hdf5::create_dataset(f, "/v", s);
    std::vector<float> c(8);
    for (int i = 0; i < 8; i++) c[i] = float(i) + 0.5f;
    uint32_t mask;
    std::vector<uint8_t> enc = hdf5::encode_chunk(s, c.data(), 32, &mask);
    hdf5::write_chunk(f, "/v", {1, 0}, mask, enc.data(), enc.size());
  }
  std::string out = python(
      "import h5py, numpy\n"
      "numpy.set_printoptions(linewidth=200)\n"
      "d = h5py.File(\"" +
      path +
      "\", \"r\")[\"v\"]\n"
      "print(d.fletcher32, d.compression, d.shuffle)\n"
      "print(d[...].tolist())\n");
  CHECK(out.find("True gzip True") != std::string::npos);
  CHECK(out.find("[[9.0, 9.0, 9.0, 9.0, 9.0], [9.0, 9.0, 9.0, 9.0, 9.0], "
                 "[0.5, 1.5, 2.5, 3.5, 9.0]]") != std::string::npos);
}

TEST_CASE("read_spec refuses datasets h5tx cannot handle") {
  h5tx_test::TempDir dir("ops");
  Handle f = create_file(dir / "a.h5");
  hsize_t dims[1] = {4};
  Handle space(H5Screate_simple(1, dims, nullptr), "H5Screate_simple");
  Handle contig(H5Dcreate2(f, "/contig", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                "H5Dcreate2");
  CHECK_THROWS_AS(hdf5::read_spec(f, "/contig"), UnsupportedError);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  hsize_t chunk[1] = {2};
  H5Pset_chunk(dcpl, 1, chunk);
  H5Pset_deflate(dcpl, 4);  // deflate without shuffle
  Handle gz(H5Dcreate2(f, "/gz", H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
  CHECK_THROWS_AS(hdf5::read_spec(f, "/gz"), UnsupportedError);
  Handle be(H5Dcreate2(f, "/be", H5T_STD_I32BE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), "H5Dcreate2");
  CHECK_THROWS_AS(hdf5::read_spec(f, "/be"), UnsupportedError);
  CHECK_THROWS_AS(hdf5::read_spec(f, "/none"), NotFoundError);
  CHECK_THROWS_AS(hdf5::read_spec(f, "relative"), InvalidArgumentError);
  CHECK(hdf5::list_datasets(f) == std::vector<std::string>{"/be", "/contig", "/gz"});
}
