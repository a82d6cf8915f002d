// MANIFEST codec of the redo journal (formats/redo-manifest.md).
#include "journal/manifest.hpp"

#include <xxhash.h>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "util/byte_codec.hpp"
#include "util/names.hpp"

namespace h5tx {
namespace journal {

namespace {

constexpr char kMagic[8] = {'H', '5', 'T', 'X', 'R', 'D', 'O', '\n'};
constexpr size_t kMaxRank = 32;
constexpr size_t kMaxName = 4096;
constexpr size_t kHeaderSize = kManifestHeaderSize;  // magic .. total_length
static_assert(kHeaderSize == 8 + 4 + 4 + 8 + 8 + 8, "header layout");

void put_shape(ByteWriter& w, const Shape& s) {
  w.u8(static_cast<uint8_t>(s.size()));
  for (uint64_t d : s) w.u64(d);
}

Shape get_dims(ByteReader& r, size_t rank, const char* what) {
  Shape s(rank);
  for (auto& d : s) d = r.u64(what);
  return s;
}

size_t get_rank(ByteReader& r, const char* what) {
  size_t at = r.offset();
  size_t rank = r.u8(what);
  if (rank == 0 || rank > kMaxRank)
    r.fail(at, std::string(what) + ": rank " + std::to_string(rank) + " not in 1..32");
  return rank;
}

DType get_dtype(ByteReader& r) {
  size_t at = r.offset();
  uint8_t t = r.u8("dtype");
  if (t < uint8_t(DType::U8) || t > uint8_t(DType::F64))
    r.fail(at, "unknown dtype code " + std::to_string(t));
  return static_cast<DType>(t);
}

std::string get_name(ByteReader& r, const char* what) {
  size_t at = r.offset();
  std::string s = r.str(what, kMaxName);
  if (s.empty()) r.fail(at, std::string(what) + " is empty");
  return s;
}

// A name from the record, checked by the one validator (util/names.hpp): a
// record that passes its checksum is still untrusted.
std::string get_checked(ByteReader& r, const char* what, std::string (*problem)(const std::string&)) {
  size_t at = r.offset();
  std::string s = get_name(r, what);
  std::string p = problem(s);
  if (!p.empty()) r.fail(at, std::string(what) + " '" + names::printable(s) + "' " + p);
  return s;
}

}  // namespace

// One operation record (formats/redo-manifest.md, "Operations").
void put_op(ByteWriter& w, const Op& op) {
  w.u8(static_cast<uint8_t>(op.kind));
  w.str(op.file);
  switch (op.kind) {
    case OpKind::CreateFile:
      break;
    case OpKind::CreateDataset: {
      const DatasetSpec& s = op.spec;
      w.str(op.path);
      w.u8(static_cast<uint8_t>(s.dtype));
      w.u8(static_cast<uint8_t>(s.shape.size()));
      for (uint64_t d : s.shape) w.u64(d);
      const Shape& mx = s.max_shape.empty() ? s.shape : s.max_shape;
      for (uint64_t d : mx) w.u64(d);
      for (uint64_t d : s.chunk) w.u64(d);
      w.f64(s.fill_value);
      w.u8(static_cast<uint8_t>(s.compression));
      w.u8(static_cast<uint8_t>(s.deflate_level));
      w.u8(s.fletcher32 ? 1 : 0);
      break;
    }
    case OpKind::ExtendDataset:
      w.str(op.path);
      put_shape(w, op.shape);
      break;
    case OpKind::SetAttribute:
      w.str(op.path);
      w.str(op.name);
      w.u8(op.attr.is_string ? 1 : 0);
      w.u8(static_cast<uint8_t>(op.attr.dtype));
      if (op.attr.is_string) {
        w.str(op.attr.text);
      } else {
        w.u32(static_cast<uint32_t>(op.attr.bytes.size()));
        w.bytes(op.attr.bytes.data(), op.attr.bytes.size());
      }
      break;
    case OpKind::DeleteAttribute:
      w.str(op.path);
      w.str(op.name);
      break;
    case OpKind::WriteChunk:
      w.str(op.path);
      put_shape(w, op.shape);
      w.u32(op.filter_mask);
      w.str(op.chunk_file);
      w.u64(op.chunk_offset);
      w.u64(op.chunk_size);
      w.u64(op.chunk_hash);
      break;
  }
}

namespace {

DatasetSpec get_spec(ByteReader& b) {
  DatasetSpec s;
  s.dtype = get_dtype(b);
  size_t rank = get_rank(b, "dataset rank");
  s.shape = get_dims(b, rank, "shape");
  s.max_shape = get_dims(b, rank, "max shape");
  size_t cat = b.offset();
  s.chunk = get_dims(b, rank, "chunk shape");
  for (size_t d = 0; d < rank; d++) {
    if (s.chunk[d] == 0) b.fail(cat, "chunk dimension is 0");
    if (s.max_shape[d] < s.shape[d]) b.fail(cat, "max shape smaller than shape");
  }
  s.fill_value = b.f64("fill value");
  size_t c_at = b.offset();
  uint8_t comp = b.u8("compression");
  if (comp > uint8_t(Compression::ShuffleDeflate))
    b.fail(c_at, "unknown compression " + std::to_string(comp));
  s.compression = static_cast<Compression>(comp);
  size_t l_at = b.offset();
  s.deflate_level = b.u8("deflate level");
  if (s.deflate_level > 9) b.fail(l_at, "deflate level above 9");
  size_t f_at = b.offset();
  uint8_t f = b.u8("fletcher32");
  if (f > 1) b.fail(f_at, "fletcher32 flag is not 0 or 1");
  s.fletcher32 = f == 1;
  return s;
}

AttributeValue get_attribute_value(ByteReader& b) {
  AttributeValue a;
  size_t s_at = b.offset();
  uint8_t is_string = b.u8("attribute kind");
  if (is_string > 1) b.fail(s_at, "attribute kind is not 0 or 1");
  a.is_string = is_string == 1;
  a.dtype = get_dtype(b);
  size_t v_at = b.offset();
  std::string value = b.str("attribute value");
  if (a.is_string) {
    a.text = std::move(value);
  } else {
    if (value.empty() || value.size() % dtype_size(a.dtype) != 0)
      b.fail(v_at, "attribute value size " + std::to_string(value.size()) +
                       " is not a positive multiple of the element size");
    a.bytes.assign(value.begin(), value.end());
  }
  return a;
}

// The chunk reference of a WriteChunk record (after its path).
void get_chunk_ref(ByteReader& b, uint32_t version, Op& op) {
  op.shape = get_dims(b, get_rank(b, "chunk rank"), "chunk coordinates");
  op.filter_mask = b.u32("filter mask");
  size_t n_at = b.offset();
  op.chunk_file = b.str("chunk file name", kMaxName);
  if (!(version >= 2 && op.chunk_file.empty()) && !valid_chunk_file_name(op.chunk_file))
    b.fail(n_at, "invalid chunk file name '" + names::printable(op.chunk_file) + "'");
  size_t o_at = b.offset();
  if (version >= 2) op.chunk_offset = b.u64("chunk offset");
  op.chunk_size = b.u64("chunk size");
  if (op.chunk_offset > UINT64_MAX / 2 || op.chunk_size > UINT64_MAX / 2)
    b.fail(o_at, "chunk offset or size out of range");
  op.chunk_hash = b.u64("chunk checksum");
}

}  // namespace

// One operation record; every name goes through the one validator.
Op get_op(ByteReader& b, uint32_t version) {
  size_t at = b.offset();
  uint8_t kind = b.u8("operation kind");
  const uint8_t newest_kind = uint8_t(version >= 3 ? OpKind::DeleteAttribute : OpKind::WriteChunk);
  if (kind < uint8_t(OpKind::CreateFile) || kind > newest_kind)
    b.fail(at, "unknown operation kind " + std::to_string(kind));
  Op op;
  op.kind = static_cast<OpKind>(kind);
  op.file = get_checked(b, "file name", names::file_name_problem);
  switch (op.kind) {
    case OpKind::CreateFile:
      break;
    case OpKind::CreateDataset:
      op.path = get_checked(b, "dataset path", names::dataset_path_problem);
      op.spec = get_spec(b);
      break;
    case OpKind::ExtendDataset:
      op.path = get_checked(b, "dataset path", names::dataset_path_problem);
      op.shape = get_dims(b, get_rank(b, "extend rank"), "extent");
      break;
    case OpKind::SetAttribute:
      op.path = get_checked(b, "object path", names::object_path_problem);
      op.name = get_checked(b, "attribute name", names::attribute_name_problem);
      op.attr = get_attribute_value(b);
      break;
    case OpKind::DeleteAttribute:
      op.path = get_checked(b, "object path", names::object_path_problem);
      op.name = get_checked(b, "attribute name", names::attribute_name_problem);
      break;
    case OpKind::WriteChunk:
      op.path = get_checked(b, "dataset path", names::dataset_path_problem);
      get_chunk_ref(b, version, op);
      break;
  }
  return op;
}

namespace {

// Version 2+: the inline data length matches what follows the record, and
// the inline chunks tile it in order.
void check_inline_data(ByteReader& b, Manifest& m, uint64_t total, uint64_t file_size) {
  size_t at = b.offset();
  m.inline_bytes = b.u64("inline data length");
  if (m.inline_bytes != file_size - total)
    b.fail(at, "inline data length " + std::to_string(m.inline_bytes) + " but the file has " +
                   std::to_string(file_size - total) + " bytes after the record (truncated or appended to)");
  uint64_t next = 0;
  for (auto& op : m.ops) {
    if (op.kind != OpKind::WriteChunk || !op.chunk_file.empty()) continue;
    if (op.chunk_offset != next || op.chunk_size > m.inline_bytes - next)
      b.fail(at, "inline chunk at offset " + std::to_string(op.chunk_offset) + " (" +
                     std::to_string(op.chunk_size) + " bytes) does not follow the previous one inside " +
                     std::to_string(m.inline_bytes) + " bytes of inline data");
    next += op.chunk_size;
  }
  if (next != m.inline_bytes) b.fail(at, "inline data has bytes no chunk uses");
}

}  // namespace

uint64_t checksum(const void* data, size_t n) {
  return XXH3_64bits(data, n);
}

uint64_t Manifest::chunk_bytes() const {
  uint64_t n = 0;
  for (const auto& op : ops)
    if (op.kind == OpKind::WriteChunk) n += op.chunk_size;
  return n;
}

TransactionInfo Manifest::info() const {
  TransactionInfo t;
  t.txid = txid;
  t.commit_time_micros = commit_time_micros;
  t.bytes = chunk_bytes();
  t.operations = ops.size();
  t.message = message;
  t.metadata = metadata;
  return t;
}

bool valid_chunk_file_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.' || name == kManifestName) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string encode_manifest(Manifest& m) {
  uint64_t inline_bytes = 0;
  for (const auto& op : m.ops) {
    if (op.kind != OpKind::WriteChunk || !op.chunk_file.empty()) continue;
    if (op.chunk_offset != inline_bytes)
      throw InvalidArgumentError(kManifestName, "inline chunk at offset " + std::to_string(op.chunk_offset) +
                                                    ", expected " + std::to_string(inline_bytes));
    inline_bytes += op.chunk_size;
  }
  bool deletes = false;
  for (const auto& op : m.ops) deletes = deletes || op.kind == OpKind::DeleteAttribute;
  const uint32_t version = deletes ? kManifestNewestVersion : kManifestVersion;
  ByteWriter w;
  w.bytes(kMagic, 8);
  w.u32(version);
  w.u32(0);  // flags
  w.u64(m.txid);
  w.u64(m.commit_time_micros);
  w.u64(0);  // total length, patched below
  w.str(m.message);
  w.u32(static_cast<uint32_t>(m.metadata.size()));
  for (const auto& kv : m.metadata) {
    w.str(kv.first);
    w.str(kv.second);
  }
  w.u32(static_cast<uint32_t>(m.ops.size()));
  for (const auto& op : m.ops) put_op(w, op);
  w.u64(inline_bytes);
  std::string& out = w.data();
  uint64_t total = out.size() + 8;
  for (int i = 0; i < 8; i++) out[32 + i] = static_cast<char>((total >> (8 * i)) & 0xff);
  uint64_t sum = checksum(out.data(), out.size());
  ByteWriter tail;
  tail.u64(sum);
  out += tail.data();
  m.version = version;
  m.record_size = out.size();
  m.inline_bytes = inline_bytes;
  return out;
}

void locate_inline_chunks(Manifest& m) {
  for (auto& op : m.ops) {
    if (op.kind != OpKind::WriteChunk || !op.chunk_file.empty()) continue;
    op.chunk_file = kManifestName;
    op.chunk_offset += m.record_size;
  }
}

uint64_t manifest_record_size(const std::string& header) {
  if (header.size() < kHeaderSize || header.compare(0, 8, kMagic, 8) != 0) return 0;
  uint64_t total = 0;
  for (int i = 7; i >= 0; i--) total = (total << 8) | static_cast<uint8_t>(header[32 + i]);
  return total;
}

Manifest decode_manifest(const std::string& data, const std::string& path) {
  uint64_t total = manifest_record_size(data);
  if (total >= kHeaderSize + 8 && total < data.size())
    return decode_manifest_record(data.substr(0, total), data.size(), path);
  return decode_manifest_record(data, data.size(), path);
}

Manifest decode_manifest_record(const std::string& data, uint64_t file_size, const std::string& path) {
  if (data.size() < kHeaderSize + 8)
    throw CorruptionError(path,
                          "at offset 0: manifest too short (" + std::to_string(data.size()) + " bytes)");
  ByteReader r(data, data.size(), path);
  if (r.raw(8, "magic") != std::string(kMagic, 8)) r.fail(0, "bad magic (not a redo MANIFEST)");
  uint32_t version = r.u32("version");
  if (version < kManifestOldestVersion || version > kManifestNewestVersion)
    r.fail(8, "unsupported manifest version " + std::to_string(version) + " (this build reads " +
                  std::to_string(kManifestOldestVersion) + " to " + std::to_string(kManifestNewestVersion) +
                  ")");
  uint32_t flags = r.u32("flags");
  if (flags != 0) r.fail(12, "unknown flags " + std::to_string(flags));
  Manifest m;
  m.version = version;
  m.txid = r.u64("txid");
  if (m.txid > kMaxTxid) r.fail(16, "txid " + std::to_string(m.txid) + " out of range");
  m.commit_time_micros = r.u64("commit time");
  uint64_t total = r.u64("total length");
  // Version 1: the record is the whole file. Version 2: inline chunk data
  // follows it (its length is inside the record, checked below).
  if (total != data.size() || (version == 1 && total != file_size) || total > file_size)
    r.fail(32, "total length field says " + std::to_string(total) + " bytes, file has " +
                   std::to_string(file_size) + " (truncated or appended to)");
  m.record_size = total;
  // Verify the checksum before trusting any length inside.
  ByteReader tail(data, data.size(), path);
  tail.raw(data.size() - 8, "body");
  uint64_t stored = tail.u64("checksum");
  uint64_t actual = checksum(data.data(), data.size() - 8);
  if (stored != actual) r.fail(data.size() - 8, "manifest checksum mismatch");

  ByteReader b(data, data.size() - 8, path);
  b.raw(kHeaderSize, "header");
  m.message = b.str("message");
  uint32_t nmeta = b.u32("metadata count");
  for (uint32_t i = 0; i < nmeta; i++) {
    size_t at = b.offset();
    std::string k = b.str("metadata key");
    std::string v = b.str("metadata value");
    if (!m.metadata.emplace(std::move(k), std::move(v)).second) b.fail(at, "duplicate metadata key");
  }
  uint32_t nops = b.u32("operation count");
  if (nops > b.remaining())
    b.fail(b.offset() - 4, "operation count " + std::to_string(nops) + " exceeds the bytes left");
  m.ops.reserve(nops);
  for (uint32_t i = 0; i < nops; i++) m.ops.push_back(get_op(b, version));
  if (version >= 2) {
    check_inline_data(b, m, total, file_size);
    locate_inline_chunks(m);
  }
  if (b.remaining() != 0)
    b.fail(b.offset(), std::to_string(b.remaining()) + " unexpected bytes after the last operation");
  return m;
}

}  // namespace journal
}  // namespace h5tx
