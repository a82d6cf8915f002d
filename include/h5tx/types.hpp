// Value types of the public API: element types, dataset specifications,
// attribute values, transaction and store statistics.
#pragma once

#include "h5tx/export.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace h5tx {

enum class DType : uint8_t { U8 = 1, U16, U32, U64, I8, I16, I32, I64, F32, F64 };

H5TX_EXPORT size_t dtype_size(DType t);
H5TX_EXPORT const char* dtype_name(DType t);             // "u8" .. "f64"
H5TX_EXPORT DType parse_dtype(const std::string& name);  // InvalidArgumentError if unknown

template <class T>
DType dtype_of();
template <>
inline DType dtype_of<uint8_t>() {
  return DType::U8;
}
template <>
inline DType dtype_of<uint16_t>() {
  return DType::U16;
}
template <>
inline DType dtype_of<uint32_t>() {
  return DType::U32;
}
template <>
inline DType dtype_of<uint64_t>() {
  return DType::U64;
}
template <>
inline DType dtype_of<int8_t>() {
  return DType::I8;
}
template <>
inline DType dtype_of<int16_t>() {
  return DType::I16;
}
template <>
inline DType dtype_of<int32_t>() {
  return DType::I32;
}
template <>
inline DType dtype_of<int64_t>() {
  return DType::I64;
}
template <>
inline DType dtype_of<float>() {
  return DType::F32;
}
template <>
inline DType dtype_of<double>() {
  return DType::F64;
}

using Shape = std::vector<uint64_t>;
constexpr uint64_t kUnlimited = ~uint64_t(0);

enum class Compression : uint8_t { None = 0, ShuffleDeflate = 1 };

struct DatasetSpec {
  DType dtype = DType::U8;
  Shape shape;            // current extent
  Shape max_shape;        // empty: same as shape; kUnlimited per dimension allowed
  Shape chunk;            // chunk extent, same rank as shape
  double fill_value = 0;  // converted to dtype
  Compression compression = Compression::None;
  int deflate_level = 4;   // 1..9 when compression is ShuffleDeflate
  bool fletcher32 = true;  // HDF5's checksum filter on every chunk
};

// A scalar (count == 1) or 1-D attribute of numbers, or a string attribute.
struct H5TX_EXPORT AttributeValue {
  bool is_string = false;
  DType dtype = DType::F64;
  std::vector<uint8_t> bytes;  // count * dtype_size(dtype) little-endian values
  std::string text;            // when is_string

  static AttributeValue string(std::string s);
  template <class T>
  static AttributeValue scalar(T v) {
    return array<T>(&v, 1);
  }
  template <class T>
  static AttributeValue array(const T* v, size_t n) {
    AttributeValue a;
    a.dtype = dtype_of<T>();
    a.bytes.assign(reinterpret_cast<const uint8_t*>(v), reinterpret_cast<const uint8_t*>(v + n));
    return a;
  }
  size_t count() const { return is_string ? 1 : bytes.size() / dtype_size(dtype); }
};

// What a committed transaction recorded (the MANIFEST header).
struct TransactionInfo {
  uint64_t txid = 0;
  uint64_t commit_time_micros = 0;
  uint64_t bytes = 0;  // chunk bytes in the journal
  uint64_t operations = 0;
  std::string message;
  std::map<std::string, std::string> metadata;
};

struct StoreStats {
  uint64_t pending_transactions = 0;  // committed, not yet flushed
  uint64_t pending_bytes = 0;
  uint64_t flushed_transactions = 0;  // since open
  uint64_t flushed_bytes = 0;
  uint64_t flush_batches = 0;
  uint64_t committed_transactions = 0;  // since open
  uint64_t last_txid = 0;
  std::string flusher_state;  // "running", "idle", "stopped", "failed: <message>",
                              // "waiting: <which data files and why>"
  // Data files the flusher waits for because another process (an h5py or
  // h5dump reader) has them open (HDF5's file lock); the other files go on.
  std::vector<std::string> waiting_for;
  // Redo stores with history (Options::history): the oldest txid reads may
  // ask for (TxOptions::as_of), and the segments of HOME/history/.
  bool history = false;
  uint64_t history_oldest = 0;
  uint64_t history_segments = 0;
  uint64_t history_bytes = 0;
};

// What Store::pack did (docs/user-guide.md, "History").
struct PackStats {
  uint64_t oldest = 0;  // the oldest txid reads may ask for afterwards
  uint64_t limit = 0;  // segments replaced at or before this txid went (as-of readers and slots may lower it)
  uint64_t segments_removed = 0;
  // Segments straddling the limit, rewritten without the versions replaced at
  // or before it (counted in segments_kept; the bytes saved in bytes_removed).
  uint64_t segments_rewritten = 0;
  uint64_t bytes_removed = 0;
  uint64_t segments_kept = 0;
  uint64_t bytes_kept = 0;
};

}  // namespace h5tx
