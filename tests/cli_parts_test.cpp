// Unit tests of the h5tx tool's pieces: argument and value parsing, .npy
// headers, input readers (raw, .npy, HDF5), the chunk splitter, progress
// lines and the demo volume generator.
#include <catch2/catch.hpp>
#include <hdf5.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "args.hpp"
#include "chunk_grid.hpp"
#include "chunk_source.hpp"
#include "demo_volume.hpp"
#include "hdf5/dtype_map.hpp"
#include "hdf5/handle.hpp"
#include "h5tx/error.hpp"
#include "ingest.hpp"
#include "input.hpp"
#include "npy.hpp"
#include "progress.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace h5tx::cli;

namespace {

CommandSpec spec() {
  return {"ingest", "HOME FILE:/path",
          "test",   {{"from", "INPUT", ""}, {"verbose", "", ""}, {"threads", "N", ""}},
          2,        2};
}

std::vector<std::string> sv(std::initializer_list<const char*> l) {
  return std::vector<std::string>(l.begin(), l.end());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

// u16 array whose element at linear index i is i * 7 + 3.
std::string pattern_u16(uint64_t n) {
  std::string s(n * 2, '\0');
  for (uint64_t i = 0; i < n; i++) {
    uint16_t v = uint16_t(i * 7 + 3);
    std::memcpy(&s[i * 2], &v, 2);
  }
  return s;
}

uint16_t pattern_at(uint64_t i) {
  return uint16_t(i * 7 + 3);
}

}  // namespace

TEST_CASE("parse_args accepts options anywhere and rejects what it does not know") {
  Args a = parse_args(spec(), sv({"home", "--from", "x.npy", "f.h5:/a", "--verbose", "--threads=3"}));
  CHECK(a.positional == sv({"home", "f.h5:/a"}));
  CHECK(a.get("from") == "x.npy");
  CHECK(a.flags.count("verbose") == 1);
  CHECK(a.get_uint("threads", 1, 1, 8) == 3);
  CHECK_THROWS_AS(parse_args(spec(), sv({"home", "f.h5:/a", "--bogus"})), UsageError);
  CHECK_THROWS_AS(parse_args(spec(), sv({"home", "f.h5:/a", "--from"})), UsageError);
  CHECK_THROWS_AS(parse_args(spec(), sv({"home", "f.h5:/a", "--verbose=1"})), UsageError);
  CHECK_THROWS_AS(parse_args(spec(), sv({"home"})), UsageError);
  CHECK_THROWS_AS(parse_args(spec(), sv({"a", "b", "c"})), UsageError);
  CHECK(parse_args(spec(), sv({"--help"})).help);
  Args t = parse_args(spec(), sv({"h", "f:/a", "--threads", "x"}));
  CHECK_THROWS_AS(t.get_uint("threads", 1, 1, 8), UsageError);
  Args big = parse_args(spec(), sv({"h", "f:/a", "--threads", "9"}));
  CHECK_THROWS_AS(big.get_uint("threads", 1, 1, 8), UsageError);
  CHECK(help_text(spec()).find("--from INPUT") != std::string::npos);
}

TEST_CASE("targets, shapes, dtypes, slices, compression and ranges parse strictly") {
  Target t = parse_target("vol.h5:/raw/a");
  CHECK(t.file == "vol.h5");
  CHECK(t.path == "/raw/a");
  for (const char* bad : {"vol.h5", "vol.h5:raw", ":/a", "a/b.h5:/x", "vol.h5:/", "vol.h5:"})
    CHECK_THROWS_AS(parse_target(bad), UsageError);

  CHECK(parse_shape("64,64,1", "s") == Shape{64, 64, 1});
  CHECK_THROWS_AS(parse_shape("64,,1", "s"), UsageError);
  CHECK_THROWS_AS(parse_shape("64,0", "s"), UsageError);
  CHECK(parse_shape("64,0", "s", true) == Shape{64, 0});
  CHECK_THROWS_AS(parse_shape("-3", "s"), UsageError);
  CHECK_THROWS_AS(parse_shape("99999999999999999999999", "s"), UsageError);
  CHECK(parse_shape("10,unlimited", "s", false, true) == Shape{10, kUnlimited});
  CHECK(format_shape(Shape{3, 4}, "x") == "3x4");

  CHECK(parse_dtype_arg("u16") == DType::U16);
  CHECK(parse_dtype_arg("f64") == DType::F64);
  CHECK_THROWS_AS(parse_dtype_arg("uint16"), UsageError);

  Shape start, count;
  parse_slice("2:5,:,7", Shape{10, 20, 30}, &start, &count);
  CHECK(start == Shape{2, 0, 7});
  CHECK(count == Shape{3, 20, 1});
  CHECK_THROWS_AS(parse_slice("2:5", Shape{10, 20}, &start, &count), UsageError);
  CHECK_THROWS_AS(parse_slice("5:2,1", Shape{10, 20}, &start, &count), UsageError);
  CHECK_THROWS_AS(parse_slice("0:11,1", Shape{10, 20}, &start, &count), UsageError);
  CHECK_THROWS_AS(parse_slice("a:b,1", Shape{10, 20}, &start, &count), UsageError);

  CHECK(parse_compress("deflate:6") == 6);
  CHECK(parse_compress("none") == 0);
  CHECK_THROWS_AS(parse_compress("deflate:0"), UsageError);
  CHECK_THROWS_AS(parse_compress("lzf"), UsageError);

  std::vector<uint64_t> v = {0, 1, 2, 3, 7, 9, 10};
  CHECK(format_ranges(v) == "0-3,7,9-10");
  std::vector<uint64_t> back;
  REQUIRE(parse_ranges("0-3,7,9-10", &back));
  CHECK(back == v);
  CHECK_FALSE(parse_ranges("3-1", &back));
  CHECK_FALSE(parse_ranges("x", &back));
  CHECK(format_time_micros(1000000ull * 86400 + 5) == "1970-01-02 00:00:00.000005 UTC");
  CHECK(format_bytes(1536) == "1.5 KiB");
  CHECK(format_duration(125) == "2:05");
}

TEST_CASE("npy headers: versions 1 and 2, and clear errors") {
  std::string h = make_npy_header(DType::I32, Shape{3, 4});
  CHECK(h.size() % 64 == 0);
  NpyHeader p = parse_npy_header(h, "x.npy");
  CHECK(p.dtype == DType::I32);
  CHECK(p.shape == Shape{3, 4});
  CHECK(p.data_offset == h.size());
  NpyHeader one = parse_npy_header(make_npy_header(DType::F64, Shape{5}), "y.npy");
  CHECK(one.shape == Shape{5});
  CHECK(one.dtype == DType::F64);

  std::string dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3, 4), }\n";
  std::string v2 = std::string("\x93NUMPY\x02\x00", 8);
  uint32_t len = uint32_t(dict.size());
  v2.append(reinterpret_cast<const char*>(&len), 4);
  v2 += dict;
  NpyHeader q = parse_npy_header(v2, "v2.npy");
  CHECK(q.major_version == 2);
  CHECK(q.dtype == DType::U16);
  CHECK(q.shape == Shape{2, 3, 4});
  CHECK(q.data_offset == 12 + dict.size());

  auto with = [](const std::string& d) {
    std::string s = std::string("\x93NUMPY\x01\x00", 8);
    s += char(d.size());
    s += '\0';
    return s + d;
  };
  auto message_of = [](const std::string& bytes) {
    try {
      parse_npy_header(bytes, "bad.npy");
    } catch (const InvalidArgumentError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Big-endian and Fortran order are read (and converted by the input).
  NpyHeader be =
      parse_npy_header(with("{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }"), "be.npy");
  CHECK(be.big_endian);
  CHECK(!be.fortran_order);
  NpyHeader fo = parse_npy_header(with("{'descr': '<u2', 'fortran_order': True, 'shape': (2,), }"), "f.npy");
  CHECK(!fo.big_endian);
  CHECK(fo.fortran_order);
  CHECK(!parse_npy_header(with("{'descr': '>u1', 'fortran_order': False, 'shape': (2,), }"), "b.npy")
             .big_endian);
  CHECK(message_of(with("{'descr': '<u2', 'fortran_order': Maybe, 'shape': (2,), }")).find("fortran_order") !=
        std::string::npos);
  CHECK(message_of(with("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }")).find("no h5tx type") !=
        std::string::npos);
  CHECK(message_of(with("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }")).find("no h5tx type") !=
        std::string::npos);
  CHECK(message_of(with("{'descr': '<u2', 'fortran_order': False, 'shape': (), }")).find("0-dimensional") !=
        std::string::npos);
  CHECK(message_of(with("{'descr': '<u2', 'fortran_order': False, 'shape': (2,), ")).find("header") !=
        std::string::npos);
  CHECK(message_of("not numpy at all").find("magic") != std::string::npos);
  CHECK(message_of(with("{'descr': '<u2'")).find("bad.npy") != std::string::npos);
}

TEST_CASE("raw and npy inputs read any hyperslab in C order") {
  h5tx_test::TempDir dir("cli_in");
  const Shape shape{5, 6, 7};
  std::string data = pattern_u16(5 * 6 * 7);
  write_file(dir / "a.raw", data);
  write_file(dir / "a.npy", make_npy_header(DType::U16, shape) + data);
  std::unique_ptr<Input> raw = open_input(dir / "a.raw", true, DType::U16, shape);
  std::unique_ptr<Input> npy = open_input(dir / "a.npy", false, DType::U8, Shape{});
  CHECK(npy->dtype() == DType::U16);
  CHECK(npy->shape() == shape);
  CHECK(raw->identity() != npy->identity());
  for (Input* in : {raw.get(), npy.get()}) {
    for (const auto& box : std::vector<std::pair<Shape, Shape>>{{{0, 0, 0}, {5, 6, 7}},
                                                                {{1, 2, 3}, {2, 3, 4}},
                                                                {{4, 0, 0}, {1, 6, 7}},
                                                                {{0, 5, 6}, {5, 1, 1}},
                                                                {{2, 0, 0}, {3, 6, 7}},
                                                                {{1, 1, 0}, {2, 2, 7}}}) {
      const Shape& s = box.first;
      const Shape& c = box.second;
      std::vector<uint16_t> got(c[0] * c[1] * c[2]);
      in->read(s, c, got.data());
      size_t k = 0;
      for (uint64_t z = s[0]; z < s[0] + c[0]; z++)
        for (uint64_t y = s[1]; y < s[1] + c[1]; y++)
          for (uint64_t x = s[2]; x < s[2] + c[2]; x++) CHECK(got[k++] == pattern_at((z * 6 + y) * 7 + x));
    }
  }
  CHECK_THROWS_AS(open_input(dir / "a.raw", false, DType::U8, Shape{}), UsageError);
  CHECK_THROWS_AS(open_input(dir / "a.raw", true, DType::U16, Shape{6, 6, 7}), InvalidArgumentError);
  CHECK_THROWS_AS(open_input(dir / "a.npy", true, DType::U32, Shape{}), UsageError);
  CHECK_THROWS_AS(open_input(dir / "missing.raw", true, DType::U16, shape), NotFoundError);
  write_file(dir / "short.npy", make_npy_header(DType::U16, shape) + data.substr(10));
  CHECK_THROWS_AS(open_input(dir / "short.npy", false, DType::U8, Shape{}), InvalidArgumentError);
}

TEST_CASE("big-endian and Fortran-order .npy inputs read any hyperslab in little-endian C order") {
  h5tx_test::TempDir dir("cli_in_bf");
  const Shape shape{5, 6, 7};
  const uint64_t n = 5 * 6 * 7;
  // Element (z,y,x) of the logical array is pattern_at((z*6+y)*7+x).
  std::string be(n * 2, '\0'), f(n * 2, '\0'), fbe(n * 2, '\0');
  for (uint64_t z = 0; z < 5; z++)
    for (uint64_t y = 0; y < 6; y++)
      for (uint64_t x = 0; x < 7; x++) {
        const uint64_t c = (z * 6 + y) * 7 + x, fo = (x * 6 + y) * 5 + z;  // Fortran: z fastest
        const uint16_t v = pattern_at(c);
        const char lo = char(v & 0xff), hi = char(v >> 8);
        be[c * 2] = hi;
        be[c * 2 + 1] = lo;
        f[fo * 2] = lo;
        f[fo * 2 + 1] = hi;
        fbe[fo * 2] = hi;
        fbe[fo * 2 + 1] = lo;
      }
  auto header = [](const std::string& descr, bool fortran) {
    std::string d = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                    ", 'shape': (5, 6, 7), }";
    d.append(64 - (10 + d.size() + 1) % 64, ' ');
    d += '\n';
    std::string s = std::string("\x93NUMPY\x01\x00", 8);
    s += char(d.size());
    s += '\0';
    return s + d;
  };
  write_file(dir / "be.npy", header(">u2", false) + be);
  write_file(dir / "f.npy", header("<u2", true) + f);
  write_file(dir / "fbe.npy", header(">u2", true) + fbe);
  for (const char* name : {"be.npy", "f.npy", "fbe.npy"}) {
    INFO(name);
    std::unique_ptr<Input> in = open_input(dir / name, false, DType::U8, Shape{});
    CHECK(in->dtype() == DType::U16);
    CHECK(in->shape() == shape);
    std::atomic<int> bad{0};
    auto check_boxes = [&]() {
      for (const auto& box : std::vector<std::pair<Shape, Shape>>{{{0, 0, 0}, {5, 6, 7}},
                                                                  {{1, 2, 3}, {2, 3, 4}},
                                                                  {{4, 0, 0}, {1, 6, 7}},
                                                                  {{0, 5, 6}, {5, 1, 1}},
                                                                  {{2, 0, 0}, {3, 6, 7}},
                                                                  {{1, 1, 0}, {2, 2, 7}}}) {
        const Shape& s = box.first;
        const Shape& c = box.second;
        std::vector<uint16_t> got(c[0] * c[1] * c[2]);
        in->read(s, c, got.data());
        size_t k = 0;
        for (uint64_t z = s[0]; z < s[0] + c[0]; z++)
          for (uint64_t y = s[1]; y < s[1] + c[1]; y++)
            for (uint64_t x = s[2]; x < s[2] + c[2]; x++)
              if (got[k++] != pattern_at((z * 6 + y) * 7 + x)) bad++;
      }
    };
    std::thread t1(check_boxes), t2(check_boxes);  // thread-safe reads
    t1.join();
    t2.join();
    CHECK(bad == 0);
  }
}

TEST_CASE("HDF5 dataset input, big-endian included") {
  hdf5::silence_error_printing();
  h5tx_test::TempDir dir("cli_h5in");
  std::string path = dir / "src.h5";
  const hsize_t dims[2] = {9, 11};
  std::vector<int32_t> v(99);
  for (size_t i = 0; i < v.size(); i++) v[i] = int32_t(i) * -3;
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  hid_t sp = H5Screate_simple(2, dims, nullptr);
  hid_t g = H5Gcreate2(f, "/g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t d = H5Dcreate2(f, "/g/be", H5T_STD_I32BE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
  H5Dclose(d);
  H5Gclose(g);
  H5Sclose(sp);
  H5Fclose(f);

  std::unique_ptr<Input> in = open_input(path + ":/g/be", false, DType::U8, Shape{});
  CHECK(in->dtype() == DType::I32);
  CHECK(in->shape() == Shape{9, 11});
  std::vector<int32_t> got(3 * 4);
  in->read(Shape{2, 5}, Shape{3, 4}, got.data());
  for (uint64_t y = 0; y < 3; y++)
    for (uint64_t x = 0; x < 4; x++) CHECK(got[y * 4 + x] == v[(2 + y) * 11 + 5 + x]);
  CHECK_THROWS_AS(open_input(path + ":/g/nope", false, DType::U8, Shape{}), Hdf5Error);
  CHECK_THROWS_AS(open_input(path, false, DType::U8, Shape{}), UsageError);
}

TEST_CASE("chunk grid and chunk extraction pad edge chunks with the fill value") {
  h5tx_test::TempDir dir("cli_grid");
  const Shape shape{5, 6, 7};
  write_file(dir / "a.raw", pattern_u16(5 * 6 * 7));
  std::unique_ptr<Input> in = open_input(dir / "a.raw", true, DType::U16, shape);
  ChunkGrid grid(shape, Shape{2, 4, 7});
  CHECK(grid.grid() == Shape{3, 2, 1});
  CHECK(grid.count() == 6);
  for (uint64_t i = 0; i < grid.count(); i++) CHECK(grid.index(grid.coords(i)) == i);
  CHECK(grid.coords(5) == Shape{2, 1, 0});
  Shape start, count;
  grid.region(5, &start, &count);
  CHECK(start == Shape{4, 4, 0});
  CHECK(count == Shape{1, 2, 7});

  std::vector<uint8_t> fill = fill_element_of(DType::U16, 65535);
  std::vector<uint8_t> c = extract_chunk(*in, grid, 5, fill);
  REQUIRE(c.size() == 2 * 4 * 7 * 2);
  for (uint64_t z = 0; z < 2; z++)
    for (uint64_t y = 0; y < 4; y++)
      for (uint64_t x = 0; x < 7; x++) {
        uint16_t v;
        std::memcpy(&v, &c[((z * 4 + y) * 7 + x) * 2], 2);
        bool inside = z < 1 && y < 2;
        CHECK(v == (inside ? pattern_at(((4 + z) * 6 + 4 + y) * 7 + x) : 65535));
      }
  CHECK_THROWS_AS(ChunkGrid(shape, Shape{2, 2}), UsageError);
  CHECK(default_chunk(Shape{512, 512, 512}, DType::U16) == Shape{64, 64, 128});
  CHECK(default_chunk(Shape{10, 10}, DType::F64) == Shape{10, 10});
  std::vector<uint8_t> f = fill_element_of(DType::I16, -2);
  CHECK(f == std::vector<uint8_t>{0xfe, 0xff});
}

// An Input that counts its reads and can fail one.
class CountingInput : public Input {
 public:
  explicit CountingInput(Input& base) : base_(base) {}
  DType dtype() const override { return base_.dtype(); }
  const Shape& shape() const override { return base_.shape(); }
  std::string describe() const override { return "counting " + base_.describe(); }
  std::string identity() const override { return base_.identity(); }
  void read(const Shape& start, const Shape& count, void* out) override {
    reads++;
    if (fail_at_row >= 0 && int64_t(start[0]) == fail_at_row)
      throw IoError("in.raw", "injected read error", 5);
    base_.read(start, count, out);
  }
  std::atomic<int> reads{0};
  int64_t fail_at_row = -1;

 private:
  Input& base_;
};

TEST_CASE("chunk source: every chunk equals extract_chunk's, read in units, from many threads") {
  h5tx_test::TempDir dir("cli_source");
  const Shape shape{13, 10, 9};
  write_file(dir / "a.raw", pattern_u16(13 * 10 * 9));
  std::unique_ptr<Input> raw = open_input(dir / "a.raw", true, DType::U16, shape);
  const std::vector<uint8_t> fill = fill_element_of(DType::U16, 4242);
  for (const Shape& chunk : std::vector<Shape>{{4, 4, 4}, {13, 10, 9}, {1, 10, 9}, {5, 3, 2}}) {
    ChunkGrid grid(shape, chunk);
    // Unit limits: a slab of whole chunk rows, rows of one chunk column, single chunks.
    for (uint64_t max_unit : {uint64_t(1) << 20, uint64_t(600), uint64_t(1)}) {
      for (size_t ahead : {size_t(0), size_t(2)}) {
        INFO("chunk " << format_shape(chunk) << " max unit " << max_unit << " read ahead " << ahead);
        CountingInput in(*raw);
        std::vector<uint8_t> skip(size_t(grid.count()), 0);
        for (uint64_t i = 0; i < grid.count(); i += 3) skip[size_t(i)] = 1;  // a resumed run
        std::vector<std::vector<uint8_t>> got(size_t(grid.count()));
        {
          ChunkSource src(in, grid, fill, skip, max_unit, ahead);
          std::atomic<uint64_t> next{0};
          std::vector<std::thread> pool;
          for (int t = 0; t < 3; t++)
            pool.emplace_back([&] {
              for (uint64_t i; (i = next.fetch_add(1)) < grid.count();)
                if (!skip[size_t(i)]) got[size_t(i)] = src.chunk(i);
            });
          for (auto& t : pool) t.join();
          const ChunkSource::Stats st = src.stats();
          // Each unit holding a wanted chunk is read exactly once.
          CHECK(st.units_read == uint64_t(in.reads.load()));
          CHECK(st.units_read <= (grid.count() + src.unit_chunks() - 1) / src.unit_chunks());
          if (max_unit >= (uint64_t(1) << 20)) CHECK(src.unit_chunks() == grid.count() / grid.grid()[0]);
        }
        for (uint64_t i = 0; i < grid.count(); i++) {
          if (skip[size_t(i)]) continue;
          CHECK(got[size_t(i)] == extract_chunk(*raw, grid, i, fill));
        }
      }
    }
  }
}

TEST_CASE("chunk source: a failed read reaches every chunk of its unit, and nothing hangs") {
  h5tx_test::TempDir dir("cli_source_err");
  const Shape shape{8, 4};
  write_file(dir / "a.raw", pattern_u16(8 * 4));
  std::unique_ptr<Input> raw = open_input(dir / "a.raw", true, DType::U16, shape);
  ChunkGrid grid(shape, Shape{2, 2});
  CountingInput in(*raw);
  in.fail_at_row = 4;  // the third slab
  ChunkSource src(in, grid, fill_element_of(DType::U16, 0), {}, uint64_t(1) << 20, 2);
  CHECK(src.unit_chunks() == 2);
  CHECK_NOTHROW(src.chunk(0));
  for (uint64_t i : {4, 5}) {
    try {
      src.chunk(i);
      FAIL("no error");
    } catch (const IoError& e) {
      CHECK(std::string(e.what()).find("injected read error") != std::string::npos);
    }
  }
  CHECK_NOTHROW(src.chunk(7));
}  // the destructor stops the prefetcher with units left unread

TEST_CASE("progress lines carry percent, throughput and ETA") {
  std::string l = Progress::line("ingest", 50 << 20, 0, 100 << 20, 50, 10.0, true);
  CHECK(l.find("50.0%") != std::string::npos);
  CHECK(l.find("5.0 MiB/s") != std::string::npos);
  CHECK(l.find("ETA 0:10") != std::string::npos);
  CHECK(l.find("[###############...............]") != std::string::npos);
  std::string plain = Progress::line("check", 100, 0, 100, 1, 2.0, false);
  CHECK(plain.find('[') == std::string::npos);
  CHECK(plain.find("100.0%") != std::string::npos);
  CHECK(plain.find("in 2.0 s") != std::string::npos);

  std::FILE* out = std::tmpfile();
  {
    Progress p("x", 10, 0, out);
    p.set_plain_interval(0);
    p.add(5);
    p.add(5);
  }
  std::rewind(out);
  char buf[512];
  int lines = 0;
  while (std::fgets(buf, sizeof buf, out)) lines++;
  std::fclose(out);
  CHECK(lines == 3);  // two updates and the final line, one per line without a terminal
}

TEST_CASE("the demo volume is deterministic and smooth plus noise") {
  CHECK(demo_shape(256) == Shape{512, 512, 512});
  CHECK(demo_shape(1) == Shape{80, 80, 80});
  CHECK(demo_voxel(0, 0, 0) == demo_voxel(0, 0, 0));
  std::unique_ptr<Input> a = demo_input(Shape{20, 20, 20});
  std::vector<uint16_t> block(2 * 3 * 4);
  a->read(Shape{5, 6, 7}, Shape{2, 3, 4}, block.data());
  CHECK(block[0] == demo_voxel(5, 6, 7));
  CHECK(block[23] == demo_voxel(6, 8, 10));
  // Neighbours differ by the smooth part (small) plus noise (< 256).
  int diff = int(demo_voxel(10, 10, 10)) - int(demo_voxel(10, 10, 11));
  CHECK(std::abs(diff) < 400);
}
