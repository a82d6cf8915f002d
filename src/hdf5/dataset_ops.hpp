// Dataset and attribute operations on an open HDF5 file (a hid_t), shared by
// the redo flusher/reader and the undo-mode store. Every mutating operation
// is idempotent, so replaying a journal after a crash is harmless. Each call
// holds hdf5::Lock for its whole sequence of HDF5 calls.
//
// Datasets are always chunked; their filter pipeline is the one
// hdf5/chunk_codec.hpp implements, so chunks move with H5Dwrite_chunk /
// H5Dread_chunk in their stored (filtered) form.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {
namespace hdf5 {

// Throws InvalidArgumentError (naming `path`) unless `spec` can be created:
// rank 1..32, shape/max_shape/chunk of equal rank, max_shape >= shape,
// chunk sizes nonzero, < 2^32 and <= a fixed max dimension, a chunk under
// 4 GiB, deflate level 1..9 when compressed, fill value representable in dtype.
void validate_spec(const DatasetSpec& spec, const std::string& path);

// "" if a dataset of element type `t` may have the extent `shape`, else what
// is wrong: its size in bytes must stay below 2^62 (HDF5 1.10's chunk index
// misbehaves on extents whose byte size overflows 64 bits).
std::string extent_problem(DType t, const Shape& shape);

// `spec` with an empty max_shape replaced by shape (read_spec never returns
// an empty max_shape).
DatasetSpec normalize_spec(const DatasetSpec& spec);

// True if a and b define the same dataset apart from the current extent:
// dtype, max shape, chunk, fill value (compared as dtype bytes), filters.
bool same_definition(const DatasetSpec& a, const DatasetSpec& b);

// One element of the fill value in dtype (little-endian bytes).
std::vector<uint8_t> fill_element(const DatasetSpec& s);
// A raw chunk full of the fill value.
std::vector<uint8_t> fill_chunk(const DatasetSpec& s);

// Creates the dataset and any missing parent groups. If a dataset exists at
// `path` with the same definition: no-op (its current extent is kept, since
// a later extend may have grown it). A different definition, or an object
// that is not a dataset: AlreadyExistsError.
void create_dataset(hid_t file, const std::string& path, const DatasetSpec& spec);

// Grows the dataset so that each dimension is at least new_shape[i]
// (H5Dset_extent); dimensions already larger are kept, so replaying an older
// extend is a no-op. InvalidArgumentError beyond max_shape or on a rank
// mismatch; NotFoundError if there is no such dataset.
void extend_dataset(hid_t file, const std::string& path, const Shape& new_shape);

// Sets attribute `name` on `object` ("/" = the root group, or a group or
// dataset path), replacing an existing one. Numbers: count 1 is a scalar
// attribute, otherwise 1-D; little-endian standard types. Strings:
// variable-length UTF-8 (h5py reads them as str). NotFoundError if the object is missing.
void set_attribute(hid_t file, const std::string& object, const std::string& name, const AttributeValue& v);
// Reads an attribute written by set_attribute (or any scalar/1-D integer,
// float or string attribute). NotFoundError if missing.
AttributeValue read_attribute(hid_t file, const std::string& object, const std::string& name);
// Names of the attributes of `object`, sorted. NotFoundError if the object is missing.
std::vector<std::string> list_attributes(hid_t file, const std::string& object);
// Deletes attribute `name` of `object`; false if it did not exist (so
// replaying a delete is a no-op). NotFoundError if the object is missing.
bool delete_attribute(hid_t file, const std::string& object, const std::string& name);
// True if `object` is "/" or names an existing group or dataset.
bool object_exists(hid_t file, const std::string& object);

// Stores a chunk already filtered (chunk_codec encode_chunk) at chunk index
// chunk_coords (offset = coords * chunk), replacing any previous version.
// InvalidArgumentError if the chunk lies outside the current extent.
void write_chunk(hid_t file, const std::string& dataset, const Shape& chunk_coords, uint32_t filter_mask,
                 const void* stored, size_t n);

// The stored (filtered) bytes and filter mask of a chunk; false if the chunk
// was never allocated (it reads as the fill value).
bool read_chunk_stored(hid_t file, const std::string& dataset, const Shape& chunk_coords,
                       std::vector<uint8_t>* stored, uint32_t* filter_mask);

// The spec of an existing dataset, from its type, dataspace and creation
// property list. UnsupportedError if it is not an h5tx-style dataset (not
// chunked, big-endian or non-numeric type, another filter pipeline).
DatasetSpec read_spec(hid_t file, const std::string& path);

// Absolute paths of every dataset in the file, sorted.
std::vector<std::string> list_datasets(hid_t file);

// True if `path` names a dataset (false if missing or another kind of object).
bool dataset_exists(hid_t file, const std::string& path);

}  // namespace hdf5
}  // namespace h5tx
