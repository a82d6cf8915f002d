// The MANIFEST of a redo transaction directory: every operation of the
// transaction in order, its txid, commit time, message and metadata, and the
// name, size and XXH3-64 of every chunk file. Binary, little-endian,
// self-checksummed; every byte is specified in formats/redo-manifest.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "h5tx/types.hpp"

namespace h5tx {
namespace journal {

constexpr uint32_t kManifestVersion = 1;
constexpr char kManifestName[] = "MANIFEST";

enum class OpKind : uint8_t {
  CreateFile = 1,
  CreateDataset = 2,
  ExtendDataset = 3,
  SetAttribute = 4,
  WriteChunk = 5,
};

// One journaled operation. Fields used per kind:
//   CreateFile:    file
//   CreateDataset: file, path, spec (max_shape always explicit)
//   ExtendDataset: file, path, shape (grow each dimension to at least this)
//   SetAttribute:  file, path (object), name, attr
//   WriteChunk:    file, path (dataset), shape (chunk coordinates), filter_mask,
//                  chunk_file, chunk_size, chunk_hash (of the stored bytes)
struct Op {
  OpKind kind = OpKind::CreateFile;
  std::string file;
  std::string path;
  std::string name;
  DatasetSpec spec;
  Shape shape;
  AttributeValue attr;
  uint32_t filter_mask = 0;
  std::string chunk_file;
  uint64_t chunk_size = 0;
  uint64_t chunk_hash = 0;
};

struct Manifest {
  uint64_t txid = 0;
  uint64_t commit_time_micros = 0;
  std::string message;
  std::map<std::string, std::string> metadata;
  std::vector<Op> ops;

  // Sum of chunk_size over the WriteChunk operations.
  uint64_t chunk_bytes() const;
  TransactionInfo info() const;
};

// XXH3-64 (seed 0), the checksum of chunk files and of the MANIFEST.
uint64_t checksum(const void* data, size_t n);

std::string encode_manifest(const Manifest& m);
// Strict parse: CorruptionError naming `path` and the offset of the first
// bad byte (bad magic, unknown version, truncation, bad lengths, values out of
// range, trailing bytes, checksum mismatch).
Manifest decode_manifest(const std::string& data, const std::string& path);

// A chunk file name is safe to use inside a transaction directory: 1..64
// characters of [A-Za-z0-9._-], not starting with '.', not "MANIFEST".
bool valid_chunk_file_name(const std::string& name);

}  // namespace journal
}  // namespace h5tx
