// NumPy .npy header parsing (see npy.hpp). The header is a Python dict
// literal: {'descr': '<u2', 'fortran_order': False, 'shape': (3, 4), }
#include "npy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "h5tx/error.hpp"

namespace h5tx {
namespace cli {

namespace {

const char kMagic[] = "\x93NUMPY";

[[noreturn]] void bad(const std::string& path, const std::string& what) {
  throw InvalidArgumentError(path, "not a usable .npy file: " + what);
}

// A tiny scanner over the header dict.
struct Scanner {
  const std::string& s;
  size_t i = 0;
  const std::string& path;

  void skip_ws() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) i++;
  }
  bool peek(char c) {
    skip_ws();
    return i < s.size() && s[i] == c;
  }
  void expect(char c) {
    if (!peek(c)) bad(path, std::string("header: expected '") + c + "' at offset " + std::to_string(i));
    i++;
  }
  std::string string_literal() {
    skip_ws();
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"')) bad(path, "header: expected a string");
    char q = s[i++];
    size_t end = s.find(q, i);
    if (end == std::string::npos) bad(path, "header: unterminated string");
    std::string v = s.substr(i, end - i);
    i = end + 1;
    return v;
  }
  std::string word() {
    skip_ws();
    size_t b = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) i++;
    return s.substr(b, i - b);
  }
};

DType dtype_from_descr(const std::string& d, const std::string& path, bool* big_endian) {
  if (d.size() < 3) bad(path, "unsupported dtype '" + d + "'");
  char order = d[0], kind = d[1];
  std::string size = d.substr(2);
  if (order != '<' && order != '|' && order != '=' && order != '>')
    bad(path, "unsupported dtype '" + d + "'");
  *big_endian = order == '>' && size != "1";
  if (kind == 'u') {
    if (size == "1") return DType::U8;
    if (size == "2") return DType::U16;
    if (size == "4") return DType::U32;
    if (size == "8") return DType::U64;
  } else if (kind == 'i') {
    if (size == "1") return DType::I8;
    if (size == "2") return DType::I16;
    if (size == "4") return DType::I32;
    if (size == "8") return DType::I64;
  } else if (kind == 'f') {
    if (size == "4") return DType::F32;
    if (size == "8") return DType::F64;
  }
  bad(path, "dtype '" + d + "' has no h5tx type (supported: u1..u8, i1..i8, f4, f8)");
}

}  // namespace

bool is_npy(const std::string& bytes) {
  return bytes.compare(0, 6, kMagic, 6) == 0;
}

NpyHeader parse_npy_header(const std::string& bytes, const std::string& path) {
  if (bytes.size() < 10 || !is_npy(bytes)) bad(path, "no \\x93NUMPY magic");
  NpyHeader h;
  h.major_version = static_cast<unsigned char>(bytes[6]);
  uint64_t header_len = 0, prefix = 0;
  const unsigned char* b = reinterpret_cast<const unsigned char*>(bytes.data());
  if (h.major_version == 1) {
    header_len = b[8] | (uint64_t(b[9]) << 8);
    prefix = 10;
  } else if (h.major_version == 2 || h.major_version == 3) {
    if (bytes.size() < 12) bad(path, "truncated header");
    header_len = b[8] | (uint64_t(b[9]) << 8) | (uint64_t(b[10]) << 16) | (uint64_t(b[11]) << 24);
    prefix = 12;
  } else {
    bad(path, "format version " + std::to_string(h.major_version) + " is not 1, 2 or 3");
  }
  if (bytes.size() < prefix + header_len) bad(path, "truncated header");
  std::string dict = bytes.substr(prefix, header_len);
  h.data_offset = prefix + header_len;

  Scanner sc{dict, 0, path};
  bool have_descr = false, have_order = false, have_shape = false;
  sc.expect('{');
  while (!sc.peek('}')) {
    std::string key = sc.string_literal();
    sc.expect(':');
    if (key == "descr") {
      if (sc.peek('[')) bad(path, "structured (record) dtypes are not supported");
      h.dtype = dtype_from_descr(sc.string_literal(), path, &h.big_endian);
      have_descr = true;
    } else if (key == "fortran_order") {
      std::string w = sc.word();
      if (w != "True" && w != "False") bad(path, "header: fortran_order is '" + w + "'");
      h.fortran_order = w == "True";
      have_order = true;
    } else if (key == "shape") {
      sc.expect('(');
      while (!sc.peek(')')) {
        std::string n = sc.word();
        if (n.empty()) bad(path, "header: bad shape");
        while (!n.empty() && (n.back() == 'L')) n.pop_back();  // Python 2 longs
        uint64_t v = 0;
        for (char c : n) {
          if (c < '0' || c > '9' || v > (uint64_t(1) << 56)) bad(path, "header: bad shape entry '" + n + "'");
          v = v * 10 + uint64_t(c - '0');
        }
        h.shape.push_back(v);
        if (sc.peek(','))
          sc.i++;
        else
          break;
      }
      sc.expect(')');
      have_shape = true;
    } else {
      bad(path, "header: unknown key '" + key + "'");
    }
    if (sc.peek(','))
      sc.i++;
    else
      break;
  }
  sc.expect('}');
  if (!have_descr || !have_order || !have_shape) bad(path, "header lacks descr, fortran_order or shape");
  if (h.shape.empty()) bad(path, "a 0-dimensional array has no chunks to ingest");
  if (h.shape.size() > 32) bad(path, "more than 32 dimensions");
  for (uint64_t d : h.shape)
    if (d == 0) bad(path, "an empty array (a zero in the shape)");
  return h;
}

NpyHeader read_npy_header_at(int fd, uint64_t offset, uint64_t size, const std::string& path) {
  std::string buf(size_t(std::min<uint64_t>(size, 65536 + 12)), '\0');
  size_t have = 0;
  while (have < buf.size()) {
    ssize_t n = ::pread(fd, &buf[have], buf.size() - have, off_t(offset + have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(path, std::string("cannot read: ") + std::strerror(errno), errno);
    if (n == 0) break;
    have += size_t(n);
  }
  buf.resize(have);
  NpyHeader h = parse_npy_header(buf, path);
  uint64_t elems = 1;
  for (uint64_t d : h.shape) {
    if (elems > UINT64_MAX / d) bad(path, "shape overflows");
    elems *= d;
  }
  // Every product checked: the header is untrusted, and a wrapped size would
  // pass the comparison with the file's size below.
  if (elems > (UINT64_MAX - h.data_offset) / dtype_size(h.dtype)) bad(path, "shape overflows");
  uint64_t need = h.data_offset + elems * dtype_size(h.dtype);
  if (size < need)
    bad(path, "truncated: the header announces " + std::to_string(need) + " bytes, the file has " +
                  std::to_string(size));
  return h;
}

NpyHeader read_npy_header(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw IoError(path, std::string("cannot open: ") + std::strerror(errno), errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw IoError(path, std::string("cannot stat: ") + std::strerror(e), e);
  }
  try {
    NpyHeader h = read_npy_header_at(fd, 0, uint64_t(st.st_size), path);
    ::close(fd);
    return h;
  } catch (...) {
    ::close(fd);
    throw;
  }
}

std::string make_npy_header(DType dtype, const Shape& shape) {
  static const char* descr[] = {"", "<u1", "<u2", "<u4", "<u8", "<i1", "<i2", "<i4", "<i8", "<f4", "<f8"};
  std::string dict = "{'descr': '" + std::string(descr[int(dtype)]) + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); i++) dict += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) dict += ",";
  dict += "), }";
  size_t total = 10 + dict.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  dict.append(padded - total, ' ');
  dict += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += char(dict.size() & 0xff);
  out += char(dict.size() >> 8);
  return out + dict;
}

}  // namespace cli
}  // namespace h5tx
