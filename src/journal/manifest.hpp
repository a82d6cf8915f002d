// The MANIFEST of a redo transaction directory: every operation of the
// transaction in order, its txid, commit time, message and metadata, and
// where every chunk copy is (inline after the MANIFEST's record, or in a
// named file of the directory), with its size and XXH3-64. Binary,
// little-endian, self-checksummed; every byte is specified in
// formats/redo-manifest.md (version 2 is written; version 1 is still read).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "h5tx/types.hpp"
#include "util/byte_codec.hpp"

namespace h5tx {
namespace journal {

constexpr uint32_t kManifestVersion = 2;        // written (3 if an op is DeleteAttribute)
constexpr uint32_t kManifestOldestVersion = 1;  // still read
// Version 3 is version 2 plus the DeleteAttribute operation. It is written
// only for a transaction that deletes an attribute, so that an older build
// refuses such a MANIFEST as a newer version instead of as damage, and
// every other MANIFEST stays readable by older builds.
constexpr uint32_t kManifestNewestVersion = 3;
constexpr char kManifestName[] = "MANIFEST";
// The file of a transaction directory holding the chunks it spilled before commit.
constexpr char kSpillFileName[] = "spill";

enum class OpKind : uint8_t {
  CreateFile = 1,
  CreateDataset = 2,
  ExtendDataset = 3,
  SetAttribute = 4,
  WriteChunk = 5,
  DeleteAttribute = 6,  // version 3
};

// One journaled operation. Fields used per kind:
//   CreateFile:    file
//   CreateDataset: file, path, spec (max_shape always explicit)
//   ExtendDataset: file, path, shape (grow each dimension to at least this)
//   SetAttribute:  file, path (object), name, attr
//   DeleteAttribute: file, path (object), name (no-op if it does not exist)
//   WriteChunk:    file, path (dataset), shape (chunk coordinates), filter_mask,
//                  chunk_file, chunk_offset, chunk_size, chunk_hash (of the
//                  stored bytes)
// Where a chunk's bytes are: encode_manifest takes chunk_file "" for a chunk
// inline in the MANIFEST, chunk_offset then counting from the start of the
// inline data; decode_manifest reports every chunk as a file of the
// directory and an absolute offset (inline ones as kManifestName at
// record_size + offset), which is what readers need.
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
  uint64_t chunk_offset = 0;
  uint64_t chunk_size = 0;
  uint64_t chunk_hash = 0;
};

struct Manifest {
  uint32_t version = kManifestVersion;  // as decoded; encode writes 2, or 3 with a DeleteAttribute
  uint64_t record_size = 0;             // bytes of the record (header .. checksum); set by encode and decode
  uint64_t inline_bytes = 0;            // bytes of inline chunk data after the record
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

// The record (header .. checksum) of a version-2 MANIFEST. The inline chunk
// data (the ops with chunk_file "", at their chunk_offset) follows it in the
// file; m.inline_bytes and m.record_size are set. InvalidArgumentError if the
// inline chunks do not tile [0, inline_bytes) in order.
std::string encode_manifest(Manifest& m);
// Strict parse of a whole MANIFEST file: CorruptionError naming `path` and
// the offset of the first bad byte (bad magic, unknown version, truncation,
// bad lengths, values out of range, trailing bytes, checksum mismatch).
// Inline chunk data is not hashed here (see tx_reader.hpp).
Manifest decode_manifest(const std::string& data, const std::string& path);
// Turns the inline chunks of an encoded manifest (chunk_file "", offsets
// into the inline data) into where readers find them (kManifestName at
// record_size + offset), as decode does.
void locate_inline_chunks(Manifest& m);
// The same from the record alone plus the file's size (readers that do not
// load the inline chunk data).
Manifest decode_manifest_record(const std::string& record, uint64_t file_size, const std::string& path);
// The record's length from the first kManifestHeaderSize bytes (0 if they are
// not a MANIFEST header; decode then reports what is wrong).
constexpr size_t kManifestHeaderSize = 40;
uint64_t manifest_record_size(const std::string& header);

// One operation record as a MANIFEST holds it (formats/redo-manifest.md,
// "Operations"); history segments reuse it (formats/history.md). get_op
// parses the operation kinds of MANIFEST `version` and validates every name
// (ByteReader::fail, a CorruptionError, on anything wrong).
void put_op(ByteWriter& w, const Op& op);
Op get_op(ByteReader& b, uint32_t version);

// A chunk file name is safe to use inside a transaction directory: 1..64
// characters of [A-Za-z0-9._-], not starting with '.', not "MANIFEST".
bool valid_chunk_file_name(const std::string& name);

}  // namespace journal
}  // namespace h5tx
