// Input arrays of `h5tx ingest` (see input.hpp).
#include "input.hpp"

#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <vector>

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

// Closes a descriptor unless released (constructors that throw).
struct FdGuard {
  int fd;
  ~FdGuard() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

void pread_exact(int fd, uint8_t* p, uint64_t n, uint64_t off, const std::string& name) {
  while (n > 0) {
    ssize_t got = ::pread(fd, p, size_t(std::min<uint64_t>(n, 1u << 30)), off_t(off));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw IoError(name, std::string("cannot read input: ") + std::strerror(errno), errno);
    if (got == 0) throw IoError(name, "input file shrank while reading (offset " + std::to_string(off) + ")");
    p += got;
    n -= uint64_t(got);
    off += uint64_t(got);
  }
}

void write_exact(int fd, const uint8_t* p, size_t n, const std::string& name) {
  while (n > 0) {
    ssize_t got = ::write(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw IoError(name, std::string("cannot write the temporary copy: ") + std::strerror(errno), errno);
    p += got;
    n -= size_t(got);
  }
}

// An unlinked temporary file in $TMPDIR (default /tmp): where stdin and
// deflated .npz members are spooled, since chunks are read at random offsets.
int temp_file(const std::string& name) {
  const char* env = std::getenv("TMPDIR");
  std::string dir = env && *env ? env : "/tmp";
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string tmpl = dir + "/h5tx-input-XXXXXX";
  fd = ::mkostemp(&tmpl[0], O_CLOEXEC);
  if (fd < 0)
    throw IoError(name, "cannot create a temporary file in " + dir + ": " + std::strerror(errno), errno);
  ::unlink(tmpl.c_str());
  return fd;
}

// Reverses a shape (a Fortran-order array is the C-order array of the
// reversed shape).
Shape reversed(const Shape& s) {
  return Shape(s.rbegin(), s.rend());
}

// An array stored contiguously in a file at `offset`: little- or big-endian,
// C or Fortran order. Reads return little-endian C order.
class RawInput : public Input {
 public:
  // Takes ownership of `fd`, `size` bytes long.
  RawInput(int fd, uint64_t size, const std::string& name, const std::string& kind, uint64_t offset,
           DType dtype, const Shape& shape, bool big_endian, bool fortran, const std::string& identity,
           bool resumable)
      : name_(name),
        kind_(kind),
        identity_(identity),
        fd_(fd),
        offset_(offset),
        dtype_(dtype),
        shape_(shape),
        swap_(big_endian && dtype_size(dtype) > 1),
        fortran_(fortran && shape.size() > 1),
        resumable_(resumable) {
    FdGuard g{fd};
    uint64_t need = offset + bytes();
    if (size < need)
      throw InvalidArgumentError(name, "input holds " + std::to_string(size) + " bytes, " +
                                           format_shape(shape, "x") + " " + dtype_name(dtype) + " needs " +
                                           std::to_string(need));
    g.release();
  }
  ~RawInput() override { ::close(fd_); }

  DType dtype() const override { return dtype_; }
  const Shape& shape() const override { return shape_; }
  std::string describe() const override { return kind_.empty() ? name_ : kind_ + " " + name_; }
  std::string identity() const override { return identity_; }
  bool resumable() const override { return resumable_; }

  void read(const Shape& start, const Shape& count, void* out) override {
    const size_t es = dtype_size(dtype_);
    uint64_t n = 1;
    for (uint64_t c : count) n *= c;
    if (!fortran_) {
      read_c(shape_, start, count, static_cast<uint8_t*>(out));
    } else {
      // The file holds the C-order array of the reversed shape: read the
      // reversed box, then transpose it into C order.
      std::vector<uint8_t> tmp(size_t(n * es));
      const Shape fcount = reversed(count);
      read_c(reversed(shape_), reversed(start), fcount, tmp.data());
      transpose(tmp.data(), count, es, static_cast<uint8_t*>(out));
    }
    if (swap_) {
      uint8_t* p = static_cast<uint8_t*>(out);
      for (uint64_t i = 0; i < n; i++, p += es) std::reverse(p, p + es);
    }
  }

 private:
  // Reads the box [start, start + count) of the C-order array `fshape`.
  void read_c(const Shape& fshape, const Shape& start, const Shape& count, uint8_t* dst) {
    const size_t rank = fshape.size(), es = dtype_size(dtype_);
    // Dimensions k+1.. fully covered: each run of the innermost dimensions is
    // contiguous in the file.
    size_t k = rank - 1;
    uint64_t run = count[k];
    while (k > 0 && count[k] == fshape[k]) {
      k--;
      run *= count[k];
    }
    Shape idx(start.begin(), start.end());  // current position in dims 0..k-1 (dim k at start)
    uint64_t runs = 1;
    for (size_t d = 0; d < k; d++) runs *= count[d];
    for (uint64_t r = 0; r < runs; r++) {
      uint64_t lin = 0;  // element offset of idx in the file's array
      for (size_t d = 0; d < rank; d++) lin = lin * fshape[d] + (d <= k ? idx[d] : 0);
      pread_exact(fd_, dst, run * es, offset_ + lin * es, name_);
      dst += run * es;
      // Next run: increment dims k-1 .. 0.
      for (size_t d = k; d-- > 0;) {
        if (++idx[d] < start[d] + count[d]) break;
        idx[d] = start[d];
      }
    }
  }

  // `src` is the C-order array of shape reversed(count); writes its
  // transpose, the C-order array of shape `count`, to `dst`. Element
  // (i0..in-1) of dst is element (in-1..i0) of src, at offset
  // sum(i_d * prod(count[0..d-1])).
  static void transpose(const uint8_t* src, const Shape& count, size_t es, uint8_t* dst) {
    const size_t rank = count.size();  // at most 32 (.npy headers are checked)
    uint64_t stride[32] = {0}, idx[32] = {0};
    uint64_t s = 1;
    for (size_t d = 0; d < rank; d++) {
      stride[d] = s;
      s *= count[d];
    }
    const uint64_t total = s, inner = count[rank - 1], istride = stride[rank - 1];
    uint64_t base = 0;  // src offset (elements) of idx with its last coordinate 0
    for (uint64_t done = 0; done < total; done += inner) {
      const uint8_t* p = src + base * es;
      for (uint64_t x = 0; x < inner; x++, dst += es) std::memcpy(dst, p + x * istride * es, es);
      for (size_t d = rank - 1; d-- > 0;) {
        base += stride[d];
        if (++idx[d] < count[d]) break;
        base -= stride[d] * count[d];
        idx[d] = 0;
      }
    }
  }

  std::string name_, kind_, identity_;
  int fd_ = -1;
  uint64_t offset_;
  DType dtype_;
  Shape shape_;
  bool swap_, fortran_, resumable_;
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

uint64_t fd_size(int fd, const std::string& name) {
  struct stat st;
  if (::fstat(fd, &st) != 0)
    throw IoError(name, std::string("cannot stat input: ") + std::strerror(errno), errno);
  return uint64_t(st.st_size);
}

// A .npy image at `offset` of `fd` (owned), `size` bytes.
std::unique_ptr<Input> npy_input(int fd, uint64_t offset, uint64_t size, const std::string& name,
                                 const std::string& kind, const std::string& identity, bool resumable) {
  FdGuard g{fd};
  NpyHeader h = read_npy_header_at(fd, offset, size, name);
  // (The data offset ends the identity, as it did when .npy files were read as raw files.)
  return std::unique_ptr<Input>(new RawInput(
      g.release(), offset + size, name, kind, offset + h.data_offset, h.dtype, h.shape, h.big_endian,
      h.fortran_order, identity + "|" + std::to_string(offset + h.data_offset), resumable));
}

// --- stdin -------------------------------------------------------------------

std::unique_ptr<Input> open_stdin_input(bool has_dtype, DType dtype, const Shape& shape) {
  const std::string name = "<stdin>";
  if (::isatty(0)) throw UsageError("--from - reads the array from stdin, which is a terminal");
  FdGuard tmp{temp_file(name)};
  std::vector<uint8_t> buf(size_t(1) << 20);
  uint64_t total = 0;
  while (true) {
    ssize_t n = ::read(0, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(name, std::string("cannot read stdin: ") + std::strerror(errno), errno);
    if (n == 0) break;
    write_exact(tmp.fd, buf.data(), size_t(n), name);
    total += uint64_t(n);
  }
  if (total == 0) throw InvalidArgumentError(name, "stdin is empty: no array to ingest");
  // Never resumed: the same bytes cannot be read again, so every run is a new ingest.
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  const std::string identity = "stdin|" + std::to_string(::getpid()) + "|" + std::to_string(now.tv_sec) +
                               "." + std::to_string(now.tv_nsec);
  uint8_t head[6] = {0};
  pread_exact(tmp.fd, head, std::min<uint64_t>(total, 6), 0, name);
  std::unique_ptr<Input> in;
  if (is_npy(std::string(reinterpret_cast<char*>(head), 6))) {
    in = npy_input(tmp.release(), 0, total, name, "npy", identity, false);
  } else {
    if (!has_dtype || shape.empty())
      throw UsageError(
          "stdin holds no .npy array (no \\x93NUMPY magic): give the raw array's --dtype and --shape");
    in.reset(new RawInput(tmp.release(), total, name, "raw", 0, dtype, shape, false, false, identity, false));
  }
  check_agrees(*in, has_dtype, dtype, shape);
  return in;
}

// --- .npz (a zip archive of .npy files) ----------------------------------------

struct ZipMember {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t csize = 0, usize = 0, local_offset = 0;
  bool zip64 = false;  // a size or offset does not fit the 32-bit fields
};

uint16_t le16(const uint8_t* p) {
  return uint16_t(p[0] | (p[1] << 8));
}
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

[[noreturn]] void bad_zip(const std::string& path, const std::string& what) {
  throw InvalidArgumentError(path, "not a usable .npz (zip) archive: " + what);
}

// The central directory of the zip archive `fd` (`size` bytes).
std::vector<ZipMember> read_zip_directory(int fd, uint64_t size, const std::string& path) {
  // End of central directory record: 22 bytes plus a comment of up to 64 KiB, at the end.
  const uint64_t tail_len = std::min<uint64_t>(size, 22 + 65535);
  std::vector<uint8_t> tail(static_cast<size_t>(tail_len));
  pread_exact(fd, tail.data(), tail_len, size - tail_len, path);
  size_t eocd = SIZE_MAX;
  for (size_t i = tail.size() >= 22 ? tail.size() - 22 + 1 : 0; i-- > 0;)
    if (le32(&tail[i]) == 0x06054b50 && i + 22 + le16(&tail[i + 20]) <= tail.size()) {
      eocd = i;
      break;
    }
  if (eocd == SIZE_MAX) bad_zip(path, "no end of central directory record");
  const uint8_t* e = &tail[eocd];
  const uint64_t entries = le16(e + 10), cd_size = le32(e + 12), cd_offset = le32(e + 16);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF)
    bad_zip(path,
            "a zip64 archive (more than 65535 members or beyond 4 GiB); h5tx reads plain zip archives only");
  if (le16(e + 4) != 0 || le16(e + 6) != 0) bad_zip(path, "a multi-disk archive");
  if (cd_offset + cd_size > size) bad_zip(path, "the central directory lies beyond the end of the file");
  std::vector<uint8_t> cd(static_cast<size_t>(cd_size));
  pread_exact(fd, cd.data(), cd_size, cd_offset, path);
  std::vector<ZipMember> out;
  size_t pos = 0;
  for (uint64_t k = 0; k < entries; k++) {
    if (pos + 46 > cd.size() || le32(&cd[pos]) != 0x02014b50) bad_zip(path, "a damaged central directory");
    const uint8_t* c = &cd[pos];
    ZipMember m;
    m.flags = le16(c + 8);
    m.method = le16(c + 10);
    m.crc = le32(c + 16);
    m.csize = le32(c + 20);
    m.usize = le32(c + 24);
    m.local_offset = le32(c + 42);
    const size_t n = le16(c + 28), x = le16(c + 30), cm = le16(c + 32);
    if (pos + 46 + n + x + cm > cd.size()) bad_zip(path, "a damaged central directory");
    m.name.assign(reinterpret_cast<const char*>(c + 46), n);
    m.zip64 = m.csize == 0xFFFFFFFF || m.usize == 0xFFFFFFFF || m.local_offset == 0xFFFFFFFF;
    out.push_back(m);
    pos += 46 + n + x + cm;
  }
  return out;
}

std::string strip_npy(const std::string& n) {
  return n.size() > 4 && n.compare(n.size() - 4, 4, ".npy") == 0 ? n.substr(0, n.size() - 4) : n;
}

std::string member_list(const std::vector<ZipMember>& ms) {
  std::string out;
  for (const ZipMember& m : ms) out += (out.empty() ? "" : ", ") + strip_npy(m.name);
  return out.empty() ? "none" : out;
}

// Inflates the raw deflate stream of `m` (at `data` in `fd`) into a new
// temporary file, checking its size and CRC-32; returns that file.
int inflate_member(int fd, uint64_t data, const ZipMember& m, const std::string& where) {
  FdGuard tmp{temp_file(where)};
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw IoError(where, "cannot start zlib inflate");
  std::vector<uint8_t> in(size_t(1) << 20), out(size_t(1) << 20);
  uint64_t read = 0, written = 0;
  uLong crc = crc32(0L, Z_NULL, 0);
  int rc = Z_OK;
  try {
    while (rc != Z_STREAM_END) {
      if (z.avail_in == 0) {
        if (read == m.csize) bad_zip(where, "the deflated data ends early");
        const uint64_t n = std::min<uint64_t>(in.size(), m.csize - read);
        pread_exact(fd, in.data(), n, data + read, where);
        read += n;
        z.next_in = in.data();
        z.avail_in = uInt(n);
      }
      z.next_out = out.data();
      z.avail_out = uInt(out.size());
      rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END)
        bad_zip(where, std::string("corrupt deflated data (zlib: ") + (z.msg ? z.msg : "error") + ")");
      const size_t got = out.size() - z.avail_out;
      written += got;
      if (written > m.usize) bad_zip(where, "inflates to more than its recorded size");
      crc = crc32(crc, out.data(), uInt(got));
      write_exact(tmp.fd, out.data(), got, where);
    }
  } catch (...) {
    inflateEnd(&z);
    throw;
  }
  inflateEnd(&z);
  if (written != m.usize)
    bad_zip(where,
            "inflates to " + std::to_string(written) + " bytes, not the recorded " + std::to_string(m.usize));
  if (uint32_t(crc) != m.crc) bad_zip(where, "CRC-32 mismatch (the archive is damaged)");
  return tmp.release();
}

std::unique_ptr<Input> open_npz_input(const std::string& path, const std::string& member) {
  FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) throw IoError(path, std::string("cannot open input: ") + std::strerror(errno), errno);
  const uint64_t size = fd_size(fd.fd, path);
  std::vector<ZipMember> ms = read_zip_directory(fd.fd, size, path);
  const ZipMember* m = nullptr;
  for (const ZipMember& x : ms)
    if (x.name == member + ".npy" || (!m && x.name == member)) m = &x;
  if (!m)
    throw NotFoundError(path, "no member '" + member + "' in the archive (members: " + member_list(ms) + ")");
  const std::string where = path + ":" + strip_npy(m->name);
  if (m->flags & 1)
    throw InvalidArgumentError(where, "the member is encrypted; h5tx reads unencrypted .npz members only");
  if (m->zip64)
    throw InvalidArgumentError(where,
                               "the member needs zip64 (4 GiB or more, or beyond 4 GiB in the archive); "
                               "h5tx reads .npz members without zip64 only: save it as a .npy file");
  if (m->method != 0 && m->method != 8)
    throw InvalidArgumentError(where, "compression method " + std::to_string(m->method) +
                                          " (h5tx reads stored and deflated members only)");
  uint8_t lh[30];
  if (m->local_offset + 30 > size) bad_zip(where, "the local header lies beyond the end of the file");
  pread_exact(fd.fd, lh, 30, m->local_offset, path);
  if (le32(lh) != 0x04034b50) bad_zip(where, "a damaged local header");
  const uint64_t data = m->local_offset + 30 + le16(lh + 26) + le16(lh + 28);
  if (data + m->csize > size) bad_zip(where, "the member's data lies beyond the end of the file");
  const std::string identity = "npz|" + stat_identity(path) + "|" + m->name;
  if (m->method == 0) {
    if (m->csize != m->usize) bad_zip(where, "a stored member whose sizes differ");
    return npy_input(fd.release(), data, m->usize, where, "npz member", identity, true);
  }
  int tmp = inflate_member(fd.fd, data, *m, where);
  return npy_input(tmp, 0, m->usize, where, "npz member", identity, true);
}

bool is_zip(const std::string& head) {
  return head.size() >= 4 &&
         (head.compare(0, 4, "PK\x03\x04", 4) == 0 || head.compare(0, 4, "PK\x05\x06", 4) == 0);
}

}  // namespace

std::unique_ptr<Input> open_raw_input(const std::string& path, uint64_t offset, DType dtype,
                                      const Shape& shape, const std::string& kind) {
  FdGuard fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.fd < 0) throw IoError(path, std::string("cannot open input: ") + std::strerror(errno), errno);
  const uint64_t size = fd_size(fd.fd, path);
  const std::string identity = kind + "|" + stat_identity(path) + "|" + std::to_string(offset);
  return std::unique_ptr<Input>(
      new RawInput(fd.release(), size, path, kind, offset, dtype, shape, false, false, identity, true));
}

std::unique_ptr<Input> open_hdf5_input(const std::string& path, const std::string& dataset) {
  return std::unique_ptr<Input>(new Hdf5Input(path, dataset));
}

std::unique_ptr<Input> open_input(const std::string& spec, bool has_dtype, DType dtype, const Shape& shape) {
  if (spec == "-") return open_stdin_input(has_dtype, dtype, shape);
  size_t colon = spec.rfind(':');
  if (colon != std::string::npos && colon > 0 && !file_exists(spec) && file_exists(spec.substr(0, colon)) &&
      is_zip(read_prefix(spec.substr(0, colon), 4))) {
    std::unique_ptr<Input> in = open_npz_input(spec.substr(0, colon), spec.substr(colon + 1));
    check_agrees(*in, has_dtype, dtype, shape);
    return in;
  }
  size_t sep = spec.rfind(":/");
  if (sep != std::string::npos && sep > 0 && !file_exists(spec) && file_exists(spec.substr(0, sep))) {
    std::unique_ptr<Input> in = open_hdf5_input(spec.substr(0, sep), spec.substr(sep + 1));
    check_agrees(*in, has_dtype, dtype, shape);
    return in;
  }
  if (!file_exists(spec)) {
    if (colon != std::string::npos && colon > 0 && file_exists(spec.substr(0, colon)))
      throw UsageError(spec.substr(0, colon) +
                       " is neither an .npz archive (FILE.npz:NAME) nor an HDF5 file (FILE.h5:/path)");
    if (sep != std::string::npos && sep > 0) throw NotFoundError(spec.substr(0, sep), "no such input file");
    throw NotFoundError(spec, "no such input file");
  }
  std::string head = read_prefix(spec, 8);
  if (is_npy(head)) {
    FdGuard fd{::open(spec.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.fd < 0) throw IoError(spec, std::string("cannot open input: ") + std::strerror(errno), errno);
    const uint64_t size = fd_size(fd.fd, spec);
    std::unique_ptr<Input> in =
        npy_input(fd.release(), 0, size, spec, "npy", "npy|" + stat_identity(spec), true);
    check_agrees(*in, has_dtype, dtype, shape);
    return in;
  }
  if (head.size() == 8 && head.compare(0, 8, "\x89HDF\r\n\x1a\n", 8) == 0)
    throw UsageError(spec + " is an HDF5 file: name the dataset to ingest, " + spec + ":/path");
  if (is_zip(head)) {
    std::string members;
    try {
      int fd = ::open(spec.c_str(), O_RDONLY | O_CLOEXEC);
      FdGuard g{fd};
      if (fd >= 0) members = member_list(read_zip_directory(fd, fd_size(fd, spec), spec));
    } catch (const Error&) {
    }
    throw UsageError(spec + " is an .npz (zip) archive: name the array to ingest, " + spec + ":NAME" +
                     (members.empty() ? "" : " (members: " + members + ")"));
  }
  if (!has_dtype || shape.empty()) throw UsageError(spec + " is a raw file: give its --dtype and --shape");
  return open_raw_input(spec, 0, dtype, shape, "raw");
}

}  // namespace cli
}  // namespace h5tx
