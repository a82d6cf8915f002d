// Dataset and attribute operations on an open HDF5 file: create, extend,
// attributes, raw chunk I/O (H5Dwrite_chunk / H5Dread_chunk), spec readback.
#include "hdf5/dataset_ops.hpp"
#include "util/names.hpp"
#include "util/shape_text.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "h5tx/error.hpp"
#include "hdf5/chunk_codec.hpp"
#include "hdf5/dtype_map.hpp"
#include "hdf5/handle.hpp"

namespace h5tx {
namespace hdf5 {

namespace {

// Holds the HDF5 mutex and keeps HDF5 from printing its error stack.
struct Guard {
  Lock lock{mutex()};
  Guard() { silence_error_printing(); }
};

void check_path(const std::string& path, const char* kind) {
  std::string p =
      std::string(kind) == "dataset" ? names::dataset_path_problem(path) : names::object_path_problem(path);
  if (!p.empty())
    throw InvalidArgumentError(names::printable(path), std::string("HDF5 ") + kind + " path " + p);
}

std::string shape_str(const Shape& s) {
  return shape_text(s);
}

bool fill_representable(DType t, double v) {
  switch (t) {
    case DType::F64:
      return true;
    case DType::F32:
      return !std::isfinite(v) || std::fabs(v) <= double(FLT_MAX);
    default:
      break;
  }
  if (!std::isfinite(v) || v != std::floor(v)) return false;
  switch (t) {
    case DType::U8:
      return v >= 0 && v <= 255;
    case DType::U16:
      return v >= 0 && v <= 65535;
    case DType::U32:
      return v >= 0 && v <= 4294967295.0;
    case DType::U64:
      return v >= 0 && v < 18446744073709551616.0;
    case DType::I8:
      return v >= -128 && v <= 127;
    case DType::I16:
      return v >= -32768 && v <= 32767;
    case DType::I32:
      return v >= -2147483648.0 && v <= 2147483647.0;
    case DType::I64:
      return v >= -9223372036854775808.0 && v < 9223372036854775808.0;
    default:
      return false;
  }
}

template <class T>
void put(std::vector<uint8_t>* out, T v) {
  out->resize(sizeof v);
  std::memcpy(out->data(), &v, sizeof v);
}

Handle open_dataset(hid_t file, const std::string& path) {
  check_path(path, "dataset");
  hid_t id = H5Dopen2(file, path.c_str(), H5P_DEFAULT);
  if (id >= 0) return Handle::adopt(id);
  std::string why = error_stack_message();
  if (!dataset_exists(file, path)) throw NotFoundError(path, "no such dataset");
  throw Hdf5Error(path, "H5Dopen2: " + why);
}

// Why a dataset that is not chunked cannot be managed, naming its layout.
std::string not_chunked(hid_t dcpl) {
  const H5D_layout_t l = H5Pget_layout(dcpl);
  return std::string("dataset is not chunked (") +
         (l == H5D_CONTIGUOUS ? "contiguous"
          : l == H5D_COMPACT  ? "compact"
          : l == H5D_VIRTUAL  ? "virtual"
                              : "unknown") +
         " layout)";
}

// Only the current extent and the chunk shape of an open dataset (what chunk
// I/O needs), cheaper than read_spec.
DatasetSpec chunk_layout(hid_t ds, const std::string& path) {
  DatasetSpec s;
  Handle space(H5Dget_space(ds), "H5Dget_space", path);
  Handle dcpl(H5Dget_create_plist(ds), "H5Dget_create_plist", path);
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 1) throw UnsupportedError(path, "scalar or null dataspaces are not supported");
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) throw UnsupportedError(path, not_chunked(dcpl));
  std::vector<hsize_t> dims(static_cast<size_t>(rank)), chunk(static_cast<size_t>(rank));
  check(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "H5Sget_simple_extent_dims", path);
  if (H5Pget_chunk(dcpl, rank, chunk.data()) != rank) throw_hdf5_error("H5Pget_chunk", path);
  s.shape.assign(dims.begin(), dims.end());
  s.chunk.assign(chunk.begin(), chunk.end());
  return s;
}

// Chunk offset in elements of chunk index `coords`, checked against the
// dataset's current extent.
std::vector<hsize_t> chunk_offset(const DatasetSpec& s, const std::string& dataset, const Shape& coords) {
  if (coords.size() != s.chunk.size()) {
    throw InvalidArgumentError(dataset, "chunk coordinates " + shape_str(coords) + " have rank " +
                                            std::to_string(coords.size()) + ", dataset has rank " +
                                            std::to_string(s.chunk.size()));
  }
  std::vector<hsize_t> off(coords.size());
  for (size_t i = 0; i < coords.size(); i++) {
    if (coords[i] >= (s.shape[i] + s.chunk[i] - 1) / s.chunk[i]) {
      throw InvalidArgumentError(dataset, "chunk " + shape_str(coords) +
                                              " lies outside the dataset's extent " + shape_str(s.shape) +
                                              " (chunk " + shape_str(s.chunk) + ")");
    }
    off[i] = hsize_t(coords[i] * s.chunk[i]);
  }
  return off;
}

Handle open_object(hid_t file, const std::string& object) {
  check_path(object, "object");
  if (!link_exists(file, object)) throw NotFoundError(object, "no such group or dataset");
  return Handle(H5Oopen(file, object.c_str(), H5P_DEFAULT), "H5Oopen", object);
}

herr_t visit_cb(hid_t, const char* name, const H5O_info_t* info, void* data) {
  if (info->type == H5O_TYPE_DATASET) {
    static_cast<std::vector<std::string>*>(data)->push_back(std::string("/") + name);
  }
  return 0;
}

}  // namespace

std::string extent_problem(DType t, const Shape& shape) {
  const uint64_t limit = uint64_t(1) << 62;
  uint64_t bytes = dtype_size(t);
  for (uint64_t d : shape) {
    if (d != 0 && bytes > limit / d) return "extent " + shape_str(shape) + " is 2^62 bytes or more";
    bytes *= d;
  }
  return "";
}

void validate_spec(const DatasetSpec& spec, const std::string& path) {
  auto bad = [&](const std::string& msg) { throw InvalidArgumentError(path, msg); };
  dtype_size(spec.dtype);  // throws on an unknown dtype
  const size_t rank = spec.shape.size();
  if (rank < 1 || rank > H5S_MAX_RANK) bad("rank " + std::to_string(rank) + " is not in 1..32");
  if (spec.chunk.size() != rank) {
    bad("chunk " + shape_str(spec.chunk) + " does not have the rank of shape " + shape_str(spec.shape));
  }
  if (!spec.max_shape.empty() && spec.max_shape.size() != rank) {
    bad("max_shape " + shape_str(spec.max_shape) + " does not have the rank of shape " +
        shape_str(spec.shape));
  }
  std::string too_big = extent_problem(spec.dtype, spec.shape);
  if (!too_big.empty()) bad(too_big);
  uint64_t bytes = dtype_size(spec.dtype);
  for (size_t i = 0; i < rank; i++) {
    uint64_t max = spec.max_shape.empty() ? spec.shape[i] : spec.max_shape[i];
    if (spec.shape[i] == kUnlimited) bad("shape " + shape_str(spec.shape) + " is unlimited");
    if (max < spec.shape[i]) {
      bad("max_shape " + shape_str(spec.max_shape) + " is smaller than shape " + shape_str(spec.shape));
    }
    if (spec.chunk[i] == 0 || spec.chunk[i] > 0xffffffffu) {
      bad("chunk " + shape_str(spec.chunk) + " has a dimension of 0 or over 2^32-1");
    }
    if (max != kUnlimited && spec.chunk[i] > max) {
      bad("chunk " + shape_str(spec.chunk) + " exceeds the fixed maximum shape " +
          shape_str(spec.max_shape.empty() ? spec.shape : spec.max_shape));
    }
    bytes *= spec.chunk[i];
    if (bytes >= (uint64_t(1) << 32)) bad("chunk " + shape_str(spec.chunk) + " is 4 GiB or more");
  }
  if (spec.compression != Compression::None && spec.compression != Compression::ShuffleDeflate) {
    bad("unknown compression code " + std::to_string(int(spec.compression)));
  }
  if (spec.compression == Compression::ShuffleDeflate && (spec.deflate_level < 1 || spec.deflate_level > 9)) {
    bad("deflate level " + std::to_string(spec.deflate_level) + " is not in 1..9");
  }
  if (!fill_representable(spec.dtype, spec.fill_value)) {
    bad("fill value " + std::to_string(spec.fill_value) + " is not representable as " +
        dtype_name(spec.dtype));
  }
}

DatasetSpec normalize_spec(const DatasetSpec& spec) {
  DatasetSpec s = spec;
  if (s.max_shape.empty()) s.max_shape = s.shape;
  if (s.compression == Compression::None) s.deflate_level = DatasetSpec().deflate_level;
  return s;
}

bool same_definition(const DatasetSpec& a_in, const DatasetSpec& b_in) {
  DatasetSpec a = normalize_spec(a_in), b = normalize_spec(b_in);
  return a.dtype == b.dtype && a.max_shape == b.max_shape && a.chunk == b.chunk &&
         a.compression == b.compression && a.deflate_level == b.deflate_level &&
         a.fletcher32 == b.fletcher32 && fill_element(a) == fill_element(b);
}

std::vector<uint8_t> fill_element(const DatasetSpec& s) {
  std::vector<uint8_t> e;
  double v = s.fill_value;
  if (!fill_representable(s.dtype, v)) {
    throw InvalidArgumentError(
        "", "fill value " + std::to_string(v) + " is not representable as " + dtype_name(s.dtype));
  }
  switch (s.dtype) {
    case DType::U8:
      put(&e, uint8_t(v));
      break;
    case DType::U16:
      put(&e, uint16_t(v));
      break;
    case DType::U32:
      put(&e, uint32_t(v));
      break;
    case DType::U64:
      put(&e, uint64_t(v));
      break;
    case DType::I8:
      put(&e, int8_t(v));
      break;
    case DType::I16:
      put(&e, int16_t(v));
      break;
    case DType::I32:
      put(&e, int32_t(v));
      break;
    case DType::I64:
      put(&e, int64_t(v));
      break;
    case DType::F32:
      put(&e, float(v));
      break;
    case DType::F64:
      put(&e, v);
      break;
  }
  return e;
}

std::vector<uint8_t> fill_chunk(const DatasetSpec& s) {
  std::vector<uint8_t> e = fill_element(s);
  size_t n = chunk_bytes(s);
  std::vector<uint8_t> out(n);
  bool zero = std::all_of(e.begin(), e.end(), [](uint8_t b) { return b == 0; });
  if (!zero) {
    for (size_t off = 0; off < n; off += e.size()) std::memcpy(out.data() + off, e.data(), e.size());
  }
  return out;
}

bool dataset_exists(hid_t file, const std::string& path) {
  Guard g;
  if (path == "/" || !link_exists(file, path)) return false;
  H5O_info_t info;
  check(H5Oget_info_by_name2(file, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), "H5Oget_info_by_name",
        path);
  return info.type == H5O_TYPE_DATASET;
}

void create_dataset(hid_t file, const std::string& path, const DatasetSpec& spec_in) {
  Guard g;
  check_path(path, "dataset");
  if (path == "/") throw InvalidArgumentError(path, "the root group cannot be a dataset");
  validate_spec(spec_in, path);
  const DatasetSpec spec = normalize_spec(spec_in);
  if (link_exists(file, path)) {
    if (!dataset_exists(file, path)) throw AlreadyExistsError(path, "exists and is not a dataset");
    DatasetSpec have = read_spec(file, path);
    if (!same_definition(have, spec)) {
      throw AlreadyExistsError(path, "a dataset with a different definition exists (" +
                                         std::string(dtype_name(have.dtype)) + " max " +
                                         shape_str(have.max_shape) + " chunk " + shape_str(have.chunk) + ")");
    }
    return;
  }
  const size_t rank = spec.shape.size();
  std::vector<hsize_t> dims(rank), maxdims(rank), chunk(rank);
  for (size_t i = 0; i < rank; i++) {
    dims[i] = spec.shape[i];
    maxdims[i] = spec.max_shape[i] == kUnlimited ? H5S_UNLIMITED : hsize_t(spec.max_shape[i]);
    chunk[i] = spec.chunk[i];
  }
  Handle space(H5Screate_simple(int(rank), dims.data(), maxdims.data()), "H5Screate_simple", path);
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", path);
  check(H5Pset_chunk(dcpl, int(rank), chunk.data()), "H5Pset_chunk", path);
  // The pipeline order here is the one chunk_codec implements.
  if (spec.compression == Compression::ShuffleDeflate) {
    check(H5Pset_shuffle(dcpl), "H5Pset_shuffle", path);
    check(H5Pset_deflate(dcpl, unsigned(spec.deflate_level)), "H5Pset_deflate", path);
  }
  if (spec.fletcher32) check(H5Pset_fletcher32(dcpl), "H5Pset_fletcher32", path);
  std::vector<uint8_t> fill = fill_element(spec);
  check(H5Pset_fill_value(dcpl, mem_type(spec.dtype), fill.data()), "H5Pset_fill_value", path);
  check(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_INCR), "H5Pset_alloc_time", path);
  std::string parent = path.substr(0, path.rfind('/'));
  Handle group = ensure_group(file, parent.empty() ? "/" : parent);
  std::string name = path.substr(path.rfind('/') + 1);
  Handle ds(H5Dcreate2(group, name.c_str(), file_type(spec.dtype), space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
            "H5Dcreate2", path);
}

void extend_dataset(hid_t file, const std::string& path, const Shape& new_shape) {
  Guard g;
  Handle ds = open_dataset(file, path);
  DatasetSpec s = read_spec(file, path);  // max_shape too
  if (new_shape.size() != s.shape.size()) {
    throw InvalidArgumentError(path, "new shape " + shape_str(new_shape) + " has rank " +
                                         std::to_string(new_shape.size()) + ", dataset has rank " +
                                         std::to_string(s.shape.size()));
  }
  std::vector<hsize_t> dims(new_shape.size());
  bool grows = false;
  for (size_t i = 0; i < new_shape.size(); i++) {
    if (s.max_shape[i] != kUnlimited && new_shape[i] > s.max_shape[i]) {
      throw InvalidArgumentError(
          path, "new shape " + shape_str(new_shape) + " exceeds the maximum shape " + shape_str(s.max_shape));
    }
    dims[i] = std::max(s.shape[i], new_shape[i]);
    grows = grows || new_shape[i] > s.shape[i];
  }
  if (!grows) return;
  std::string too_big = extent_problem(s.dtype, Shape(dims.begin(), dims.end()));
  if (!too_big.empty()) throw InvalidArgumentError(path, too_big);
  check(H5Dset_extent(ds, dims.data()), "H5Dset_extent", path);
}

void set_attribute(hid_t file, const std::string& object, const std::string& name, const AttributeValue& v) {
  Guard g;
  const std::string what = object + (object == "/" ? "" : "/") + name;
  if (name.empty() || name.find('\0') != std::string::npos) {
    throw InvalidArgumentError(what, "empty or invalid attribute name");
  }
  Handle obj = open_object(file, object);
  htri_t exists = H5Aexists(obj, name.c_str());
  check(exists, "H5Aexists", what);
  if (exists > 0) check(H5Adelete(obj, name.c_str()), "H5Adelete", what);
  if (v.is_string) {
    if (v.text.find('\0') != std::string::npos) {
      throw InvalidArgumentError(what, "string attribute contains a NUL byte");
    }
    Handle type(H5Tcopy(H5T_C_S1), "H5Tcopy", what);
    check(H5Tset_size(type, H5T_VARIABLE), "H5Tset_size", what);
    check(H5Tset_cset(type, H5T_CSET_UTF8), "H5Tset_cset", what);
    Handle space(H5Screate(H5S_SCALAR), "H5Screate", what);
    Handle attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", what);
    const char* text = v.text.c_str();
    check(H5Awrite(attr, type, &text), "H5Awrite", what);
    return;
  }
  size_t esize = dtype_size(v.dtype);
  if (v.bytes.size() % esize != 0) {
    throw InvalidArgumentError(what, std::to_string(v.bytes.size()) +
                                         " value bytes are not a whole number of " + dtype_name(v.dtype) +
                                         " elements");
  }
  hsize_t count = v.bytes.size() / esize;
  Handle space = count == 1 ? Handle(H5Screate(H5S_SCALAR), "H5Screate", what)
                            : Handle(H5Screate_simple(1, &count, nullptr), "H5Screate_simple", what);
  Handle attr(H5Acreate2(obj, name.c_str(), file_type(v.dtype), space, H5P_DEFAULT, H5P_DEFAULT),
              "H5Acreate2", what);
  if (count > 0) check(H5Awrite(attr, mem_type(v.dtype), v.bytes.data()), "H5Awrite", what);
}

AttributeValue read_attribute(hid_t file, const std::string& object, const std::string& name) {
  Guard g;
  const std::string what = object + (object == "/" ? "" : "/") + name;
  Handle obj = open_object(file, object);
  htri_t exists = H5Aexists(obj, name.c_str());
  check(exists, "H5Aexists", what);
  if (exists == 0) throw NotFoundError(what, "no such attribute");
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "H5Aopen", what);
  Handle type(H5Aget_type(attr), "H5Aget_type", what);
  Handle space(H5Aget_space(attr), "H5Aget_space", what);
  hssize_t npoints = H5Sget_simple_extent_npoints(space);
  if (npoints < 0) throw_hdf5_error("H5Sget_simple_extent_npoints", what);
  if (H5Sget_simple_extent_ndims(space) > 1) {
    throw UnsupportedError(what, "attributes of rank above 1 are not supported");
  }
  if (H5Tget_class(type) == H5T_STRING) {
    if (npoints != 1) throw UnsupportedError(what, "string attribute arrays are not supported");
    AttributeValue a;
    a.is_string = true;
    a.dtype = DType::U8;
    htri_t vlen = H5Tis_variable_str(type);
    check(vlen, "H5Tis_variable_str", what);
    if (vlen > 0) {
      Handle mtype(H5Tcopy(H5T_C_S1), "H5Tcopy", what);
      check(H5Tset_size(mtype, H5T_VARIABLE), "H5Tset_size", what);
      check(H5Tset_cset(mtype, H5Tget_cset(type)), "H5Tset_cset", what);
      char* s = nullptr;
      check(H5Aread(attr, mtype, &s), "H5Aread", what);
      a.text = s ? s : "";
      H5free_memory(s);
    } else {
      size_t size = H5Tget_size(type);
      std::vector<char> buf(size + 1, '\0');
      check(H5Aread(attr, type, buf.data()), "H5Aread", what);
      a.text.assign(buf.data(), strnlen(buf.data(), size));
    }
    return a;
  }
  AttributeValue a;
  a.dtype = dtype_of_hdf5(type, what, ByteOrder::LittleOnly);
  a.bytes.resize(size_t(npoints) * dtype_size(a.dtype));
  if (npoints > 0) check(H5Aread(attr, mem_type(a.dtype), a.bytes.data()), "H5Aread", what);
  return a;
}

namespace {
herr_t attr_name_cb(hid_t, const char* name, const H5A_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> list_attributes(hid_t file, const std::string& object) {
  Guard g;
  Handle obj = open_object(file, object);
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, attr_name_cb, &names), "H5Aiterate2", object);
  std::sort(names.begin(), names.end());
  return names;
}

bool delete_attribute(hid_t file, const std::string& object, const std::string& name) {
  Guard g;
  const std::string what = object + (object == "/" ? "" : "/") + name;
  Handle obj = open_object(file, object);
  htri_t exists = H5Aexists(obj, name.c_str());
  check(exists, "H5Aexists", what);
  if (exists == 0) return false;
  check(H5Adelete(obj, name.c_str()), "H5Adelete", what);
  return true;
}

bool object_exists(hid_t file, const std::string& object) {
  Guard g;
  check_path(object, "object");
  return link_exists(file, object);
}

void write_chunk(hid_t file, const std::string& dataset, const Shape& chunk_coords, uint32_t filter_mask,
                 const void* stored, size_t n) {
  Guard g;
  Handle ds = open_dataset(file, dataset);
  std::vector<hsize_t> off = chunk_offset(chunk_layout(ds, dataset), dataset, chunk_coords);
  check(H5Dwrite_chunk(ds, H5P_DEFAULT, filter_mask, off.data(), n, stored), "H5Dwrite_chunk",
        dataset + " chunk " + shape_str(chunk_coords));
}

bool read_chunk_stored(hid_t file, const std::string& dataset, const Shape& chunk_coords,
                       std::vector<uint8_t>* stored, uint32_t* filter_mask) {
  Guard g;
  Handle ds = open_dataset(file, dataset);
  std::vector<hsize_t> off = chunk_offset(chunk_layout(ds, dataset), dataset, chunk_coords);
  const std::string what = dataset + " chunk " + shape_str(chunk_coords);
  unsigned mask = 0;
  haddr_t addr = HADDR_UNDEF;
  hsize_t size = 0;
  check(H5Dget_chunk_info_by_coord(ds, off.data(), &mask, &addr, &size), "H5Dget_chunk_info_by_coord", what);
  if (addr == HADDR_UNDEF || size == 0) return false;
  stored->resize(size_t(size));
  uint32_t read_mask = 0;
  check(H5Dread_chunk(ds, H5P_DEFAULT, off.data(), &read_mask, stored->data()), "H5Dread_chunk", what);
  *filter_mask = read_mask;
  return true;
}

DatasetSpec read_spec(hid_t file, const std::string& path) {
  Guard g;
  Handle ds = open_dataset(file, path);
  DatasetSpec s;
  {
    Handle type(H5Dget_type(ds), "H5Dget_type", path);
    s.dtype = dtype_of_hdf5(type, path, ByteOrder::LittleOnly);
  }
  Handle space(H5Dget_space(ds), "H5Dget_space", path);
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 1) throw UnsupportedError(path, "scalar or null dataspaces are not supported");
  const size_t r = size_t(rank);
  std::vector<hsize_t> dims(r), maxdims(r), chunk(r);
  check(H5Sget_simple_extent_dims(space, dims.data(), maxdims.data()), "H5Sget_simple_extent_dims", path);
  Handle dcpl(H5Dget_create_plist(ds), "H5Dget_create_plist", path);
  if (H5Pget_layout(dcpl) != H5D_CHUNKED) throw UnsupportedError(path, not_chunked(dcpl));
  if (H5Pget_chunk(dcpl, rank, chunk.data()) != rank) throw_hdf5_error("H5Pget_chunk", path);
  for (int i = 0; i < rank; i++) {
    s.shape.push_back(dims[i]);
    s.max_shape.push_back(maxdims[i] == H5S_UNLIMITED ? kUnlimited : uint64_t(maxdims[i]));
    s.chunk.push_back(chunk[i]);
  }
  H5D_fill_value_t fill_status;
  check(H5Pfill_value_defined(dcpl, &fill_status), "H5Pfill_value_defined", path);
  s.fill_value = 0;
  if (fill_status != H5D_FILL_VALUE_UNDEFINED) {
    check(H5Pget_fill_value(dcpl, H5T_NATIVE_DOUBLE, &s.fill_value), "H5Pget_fill_value", path);
  }
  int nfilters = H5Pget_nfilters(dcpl);
  if (nfilters < 0) throw_hdf5_error("H5Pget_nfilters", path);
  std::vector<H5Z_filter_t> ids;
  int level = -1;
  for (int i = 0; i < nfilters; i++) {
    unsigned flags = 0;
    size_t ncd = 8;
    unsigned cd[8] = {0};
    char fname[64];
    H5Z_filter_t id = H5Pget_filter2(dcpl, unsigned(i), &flags, &ncd, cd, sizeof fname, fname, nullptr);
    if (id < 0) throw_hdf5_error("H5Pget_filter2", path);
    if (id == H5Z_FILTER_DEFLATE) level = ncd > 0 ? int(cd[0]) : -1;
    ids.push_back(id);
  }
  using V = std::vector<H5Z_filter_t>;
  s.deflate_level = DatasetSpec().deflate_level;
  if (ids.empty()) {
    s.compression = Compression::None;
    s.fletcher32 = false;
  } else if (ids == V{H5Z_FILTER_FLETCHER32}) {
    s.compression = Compression::None;
    s.fletcher32 = true;
  } else if (ids == V{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE} ||
             ids == V{H5Z_FILTER_SHUFFLE, H5Z_FILTER_DEFLATE, H5Z_FILTER_FLETCHER32}) {
    s.compression = Compression::ShuffleDeflate;
    s.fletcher32 = ids.size() == 3;
    s.deflate_level = level;
  } else {
    std::string list;
    for (H5Z_filter_t id : ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    throw UnsupportedError(path, "filter pipeline [" + list +
                                     "] is not one h5tx supports (none, fletcher32, shuffle+"
                                     "deflate, shuffle+deflate+fletcher32)");
  }
  return s;
}

std::vector<std::string> list_datasets(hid_t file) {
  Guard g;
  std::vector<std::string> out;
  check(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, visit_cb, &out, H5O_INFO_BASIC), "H5Ovisit", "/");
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hdf5
}  // namespace h5tx
