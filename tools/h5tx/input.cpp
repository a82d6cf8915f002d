// Input arrays of `h5tx ingest` (see input.hpp).
#include "input.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "args.hpp"
#include "h5tx/error.hpp"
#include "hdf5/dtype_map.hpp"
#include "hdf5/handle.hpp"
#include "npy.hpp"

namespace h5tx {
namespace cli {

uint64_t Input::elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape()) {
    if (d != 0 && n > (UINT64_MAX / 16) / d)  // room for the element size too
      throw InvalidArgumentError(describe(), "shape " + format_shape(shape(), "x") + " overflows 64 bits");
    n *= d;
  }
  return n;
}

namespace {

std::string stat_identity(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw IoError(path, std::string("cannot stat: ") + std::strerror(errno), errno);
  char* real = ::realpath(path.c_str(), nullptr);
  std::string abs = real ? real : path;
  std::free(real);
  return abs + "|" + std::to_string(st.st_size) + "|" + std::to_string(st.st_mtim.tv_sec) + "." +
         std::to_string(st.st_mtim.tv_nsec);
}

class RawInput : public Input {
 public:
  RawInput(const std::string& path, uint64_t offset, DType dtype, const Shape& shape, const std::string& kind)
      : path_(path), kind_(kind), offset_(offset), dtype_(dtype), shape_(shape) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw IoError(path, std::string("cannot open input: ") + std::strerror(errno), errno);
    struct stat st;
    if (::fstat(fd_, &st) != 0) {
      int e = errno;
      ::close(fd_);
      throw IoError(path, std::string("cannot stat input: ") + std::strerror(e), e);
    }
    uint64_t need = offset + bytes();
    if (uint64_t(st.st_size) < need) {
      ::close(fd_);
      throw InvalidArgumentError(path, "input holds " + std::to_string(st.st_size) + " bytes, " +
                                           format_shape(shape, "x") + " " + dtype_name(dtype) + " needs " +
                                           std::to_string(need));
    }
    identity_ = kind + "|" + stat_identity(path) + "|" + std::to_string(offset);
  }
  ~RawInput() override { ::close(fd_); }

  DType dtype() const override { return dtype_; }
  const Shape& shape() const override { return shape_; }
  std::string describe() const override { return kind_ + " " + path_; }
  std::string identity() const override { return identity_; }

  void read(const Shape& start, const Shape& count, void* out) override {
    const size_t rank = shape_.size(), es = dtype_size(dtype_);
    // Dimensions k+1.. fully covered: each run of the innermost dimensions is
    // contiguous in the file.
    size_t k = rank - 1;
    uint64_t run = count[k];
    while (k > 0 && count[k] == shape_[k]) {
      k--;
      run *= count[k];
    }
    Shape idx(start.begin(), start.end());  // current position in dims 0..k-1 (dim k at start)
    uint8_t* dst = static_cast<uint8_t*>(out);
    uint64_t runs = 1;
    for (size_t d = 0; d < k; d++) runs *= count[d];
    for (uint64_t r = 0; r < runs; r++) {
      uint64_t lin = 0;  // element offset of idx in the file's array
      for (size_t d = 0; d < rank; d++) lin = lin * shape_[d] + (d <= k ? idx[d] : 0);
      pread_all(dst, run * es, offset_ + lin * es);
      dst += run * es;
      // Next run: increment dims k-1 .. 0.
      for (size_t d = k; d-- > 0;) {
        if (++idx[d] < start[d] + count[d]) break;
        idx[d] = start[d];
      }
    }
  }

 private:
  void pread_all(uint8_t* p, uint64_t n, uint64_t off) {
    while (n > 0) {
      ssize_t got = ::pread(fd_, p, n, off_t(off));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) throw IoError(path_, std::string("cannot read input: ") + std::strerror(errno), errno);
      if (got == 0)
        throw IoError(path_, "input file shrank while reading (offset " + std::to_string(off) + ")");
      p += got;
      n -= uint64_t(got);
      off += uint64_t(got);
    }
  }

  std::string path_, kind_, identity_;
  int fd_ = -1;
  uint64_t offset_;
  DType dtype_;
  Shape shape_;
};

class Hdf5Input : public Input {
 public:
  Hdf5Input(const std::string& path, const std::string& dataset) : path_(path), dataset_(dataset) {
    std::string where = path + ":" + dataset;
    file_ = hdf5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open HDF5 input", path);
    dset_ = hdf5::Handle(H5Dopen2(file_.get(), dataset.c_str(), H5P_DEFAULT), "cannot open dataset", where);
    hdf5::Handle type(H5Dget_type(dset_.get()), "cannot read the type", where);
    dtype_ = hdf5::dtype_of_hdf5(type.get(), where, hdf5::ByteOrder::Any);
    mem_type_ = hdf5::mem_type(dtype_);
    hdf5::Handle space(H5Dget_space(dset_.get()), "cannot read the dataspace", where);
    int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank <= 0) throw InvalidArgumentError(where, "a scalar or null dataspace has nothing to ingest");
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    for (hsize_t d : dims) {
      if (d == 0) throw InvalidArgumentError(where, "the dataset is empty");
      shape_.push_back(d);
    }
    identity_ = "hdf5|" + stat_identity(path) + "|" + dataset;
  }

  DType dtype() const override { return dtype_; }
  const Shape& shape() const override { return shape_; }
  std::string describe() const override { return path_ + ":" + dataset_; }
  std::string identity() const override { return identity_; }

  void read(const Shape& start, const Shape& count, void* out) override {
    hdf5::silence_error_printing();  // per thread: reads run in the prefetcher and the workers
    std::string where = path_ + ":" + dataset_;
    std::vector<hsize_t> s(start.begin(), start.end()), c(count.begin(), count.end());
    hdf5::Handle fspace(H5Dget_space(dset_.get()), "cannot read the dataspace", where);
    hdf5::check(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, s.data(), nullptr, c.data(), nullptr),
                "cannot select a hyperslab", where);
    hdf5::Handle mspace(H5Screate_simple(int(c.size()), c.data(), nullptr), "cannot create a dataspace",
                        where);
    hdf5::check(H5Dread(dset_.get(), mem_type_, mspace.get(), fspace.get(), H5P_DEFAULT, out), "cannot read",
                where);
  }

 private:
  std::string path_, dataset_, identity_;
  hdf5::Handle file_, dset_;
  DType dtype_ = DType::U8;
  hid_t mem_type_ = -1;
  Shape shape_;
};

std::string read_prefix(const std::string& path, size_t n) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path, std::string("cannot open input: ") + std::strerror(errno), errno);
  std::string buf(n, '\0');
  ssize_t got;
  do {
    got = ::pread(fd, &buf[0], n, 0);
  } while (got < 0 && errno == EINTR);
  int e = errno;
  ::close(fd);
  if (got < 0) throw IoError(path, std::string("cannot read input: ") + std::strerror(e), e);
  buf.resize(size_t(got));
  return buf;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

void check_agrees(const Input& in, bool has_dtype, DType dtype, const Shape& shape) {
  if (has_dtype && dtype != in.dtype())
    throw UsageError("--dtype " + std::string(dtype_name(dtype)) + " disagrees with " + in.describe() + " (" +
                     dtype_name(in.dtype()) + ")");
  if (!shape.empty() && shape != in.shape())
    throw UsageError("--shape " + format_shape(shape) + " disagrees with " + in.describe() + " (" +
                     format_shape(in.shape()) + ")");
}

}  // namespace

std::unique_ptr<Input> open_raw_input(const std::string& path, uint64_t offset, DType dtype,
                                      const Shape& shape, const std::string& kind) {
  return std::unique_ptr<Input>(new RawInput(path, offset, dtype, shape, kind));
}

std::unique_ptr<Input> open_hdf5_input(const std::string& path, const std::string& dataset) {
  return std::unique_ptr<Input>(new Hdf5Input(path, dataset));
}

std::unique_ptr<Input> open_input(const std::string& spec, bool has_dtype, DType dtype, const Shape& shape) {
  size_t sep = spec.rfind(":/");
  if (sep != std::string::npos && sep > 0 && !file_exists(spec) && file_exists(spec.substr(0, sep))) {
    std::unique_ptr<Input> in = open_hdf5_input(spec.substr(0, sep), spec.substr(sep + 1));
    check_agrees(*in, has_dtype, dtype, shape);
    return in;
  }
  if (!file_exists(spec)) {
    if (sep != std::string::npos && sep > 0) throw NotFoundError(spec.substr(0, sep), "no such input file");
    throw NotFoundError(spec, "no such input file");
  }
  std::string head = read_prefix(spec, 8);
  if (is_npy(head)) {
    NpyHeader h = read_npy_header(spec);
    std::unique_ptr<Input> in = open_raw_input(spec, h.data_offset, h.dtype, h.shape, "npy");
    check_agrees(*in, has_dtype, dtype, shape);
    return in;
  }
  if (head.size() == 8 && head.compare(0, 8, "\x89HDF\r\n\x1a\n", 8) == 0)
    throw UsageError(spec + " is an HDF5 file: name the dataset to ingest, " + spec + ":/path");
  if (!has_dtype || shape.empty()) throw UsageError(spec + " is a raw file: give its --dtype and --shape");
  return open_raw_input(spec, 0, dtype, shape, "raw");
}

}  // namespace cli
}  // namespace h5tx
