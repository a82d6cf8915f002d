// The transaction stream codec (journal/tx_stream.hpp, formats/tx-stream.md).
#include "journal/tx_stream.hpp"

#include <xxhash.h>

#include <cstring>
#include <new>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "util/byte_codec.hpp"

namespace h5tx {
namespace journal {

namespace {

constexpr char kMagic[8] = {'H', '5', 'T', 'X', 'S', 'T', 'M', '\n'};
constexpr uint32_t kTagTransaction = 1;
constexpr uint32_t kTagTrailer = 2;
constexpr size_t kRecordHeaderSize = 24;  // tag, reserved, txid, length
constexpr size_t kTrailerSize = 32;       // tag, reserved, last txid, count, checksum
// Record bodies are read in pieces of this size, so a damaged length read
// from a pipe fails at the end of the stream rather than allocating it.
constexpr size_t kReadPiece = size_t(1) << 20;

uint64_t le64(const unsigned char* p) {
  return load_le(p, 8);
}

// XXH3-64 (seed 0) of a record header followed by its body, without copying them together.
uint64_t record_checksum(const void* head, size_t head_n, const std::string& body) {
  XXH3_state_t* st = XXH3_createState();
  if (!st) throw std::bad_alloc();
  XXH3_64bits_reset(st);
  XXH3_64bits_update(st, head, head_n);
  XXH3_64bits_update(st, body.data(), body.size());
  uint64_t h = XXH3_64bits_digest(st);
  XXH3_freeState(st);
  return h;
}

std::string hex(uint64_t txid) {
  return txid == kStreamOpenEnd ? std::string("open-ended") : txid_hex(txid);
}

}  // namespace

std::string inline_transaction(Env& env, const std::string& tx_dir, uint64_t txid) {
  Manifest m = read_manifest(env, tx_dir, txid);
  std::string data;
  for (Op& op : m.ops) {
    if (op.kind != OpKind::WriteChunk) continue;
    std::string bytes = read_chunk_file(env, tx_dir, op);  // checked against its XXH3-64
    op.chunk_file.clear();
    op.chunk_offset = data.size();
    data += bytes;
  }
  std::string out = encode_manifest(m);
  out += data;
  return out;
}

StreamTx decode_stream_tx(uint64_t txid, std::string body, const std::string& name) {
  const std::string who = "transaction " + hex(txid);
  StreamTx tx;
  try {
    tx.manifest = decode_manifest(body, name + " (" + who + ")");
  } catch (const CorruptionError& e) {
    throw CorruptionError(name, who + ": " + e.detail());
  }
  if (tx.manifest.txid != txid)
    throw CorruptionError(name, who + ": its MANIFEST names transaction " + txid_hex(tx.manifest.txid));
  for (const Op& op : tx.manifest.ops) {
    if (op.kind != OpKind::WriteChunk) continue;
    if (op.chunk_file != kManifestName || op.chunk_offset + op.chunk_size > body.size())
      throw CorruptionError(name, who + ": a chunk copy is not inline");
    if (checksum(body.data() + op.chunk_offset, op.chunk_size) != op.chunk_hash)
      throw CorruptionError(name, who + ": chunk copy checksum mismatch");
  }
  tx.txid = txid;
  tx.manifest_bytes = std::move(body);
  return tx;
}

StreamWriter::StreamWriter(ByteSink* sink, uint64_t from, uint64_t to)
    : sink_(sink), from_(from), to_(to), prev_(from) {
  if (from > kMaxTxid || (to != kStreamOpenEnd && (to > kMaxTxid || to < from)))
    throw InvalidArgumentError("", "stream range (" + hex(from) + ", " + hex(to) + "] is invalid");
  ByteWriter w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(kStreamVersion);
  w.u32(0);
  w.u64(from);
  w.u64(to);
  w.u64(0);  // reserved (a store identity, once stores have one)
  std::string h = std::move(w.data());
  put_le(&h, checksum(h.data(), h.size()), 8);
  sink_->write(h.data(), h.size());
  bytes_ += h.size();
}

void StreamWriter::add(uint64_t txid, const std::string& manifest_bytes) {
  if (txid <= prev_ || (to_ != kStreamOpenEnd && txid > to_))
    throw InvalidArgumentError("", "transaction " + txid_hex(txid) + " is out of order in a stream (" +
                                       hex(from_) + ", " + hex(to_) + "] after " + hex(prev_));
  ByteWriter w;
  w.u32(kTagTransaction);
  w.u32(0);
  w.u64(txid);
  w.u64(manifest_bytes.size());
  std::string head = std::move(w.data());
  // One XXH3-64 over the record header and the MANIFEST bytes.
  std::string sum;
  put_le(&sum, record_checksum(head.data(), head.size(), manifest_bytes), 8);
  sink_->write(head.data(), head.size());
  sink_->write(manifest_bytes.data(), manifest_bytes.size());
  sink_->write(sum.data(), sum.size());
  bytes_ += head.size() + manifest_bytes.size() + sum.size();
  prev_ = txid;
  count_++;
}

void StreamWriter::finish(uint64_t last) {
  if (last < prev_ || (to_ != kStreamOpenEnd && last != to_) || last > kMaxTxid)
    throw InvalidArgumentError("", "stream end " + hex(last) + " is out of its range");
  ByteWriter w;
  w.u32(kTagTrailer);
  w.u32(0);
  w.u64(last);
  w.u64(count_);
  std::string t = std::move(w.data());
  put_le(&t, checksum(t.data(), t.size()), 8);
  sink_->write(t.data(), t.size());
  bytes_ += t.size();
  sink_->flush();
}

StreamReader::StreamReader(ByteSource* source, std::string name) : source_(source), name_(std::move(name)) {
  unsigned char h[kStreamHeaderSize];
  size_t got = 0;
  if (!read_exact(h, sizeof h, &got))
    throw CorruptionError(name_, "not a transaction stream: " + std::to_string(got) +
                                     " bytes, shorter than its 48-byte header");
  if (std::memcmp(h, kMagic, sizeof kMagic) != 0)
    throw CorruptionError(name_, "not a transaction stream (bad magic at offset 0)");
  if (checksum(h, 40) != le64(h + 40)) throw CorruptionError(name_, "stream header checksum mismatch");
  uint32_t version = uint32_t(load_le(h + 8, 4));
  if (version != kStreamVersion)
    throw UnsupportedError(name_, "transaction stream version " + std::to_string(version) +
                                      " is not supported (this h5tx reads version 1)");
  if (load_le(h + 12, 4) != 0 || le64(h + 32) != 0)
    throw CorruptionError(name_, "stream header has unknown flags or reserved bytes set");
  from_ = le64(h + 16);
  to_ = le64(h + 24);
  if (from_ > kMaxTxid || (to_ != kStreamOpenEnd && (to_ > kMaxTxid || to_ < from_)))
    throw CorruptionError(name_, "stream header range (" + hex(from_) + ", " + hex(to_) + "] is invalid");
  prev_ = from_;
}

bool StreamReader::read_exact(void* buf, size_t n, size_t* got) {
  *got = 0;
  auto* p = static_cast<unsigned char*>(buf);
  while (*got < n) {
    size_t r = source_->read(p + *got, n - *got);
    if (r == 0) return false;
    *got += r;
  }
  return true;
}

void StreamReader::damaged(const std::string& what) const {
  throw CorruptionError(
      name_, what + " (last whole transaction " + hex(prev_) + "; nothing of the damaged one is applied)");
}

bool StreamReader::next(StreamTx* tx) {
  if (ended_) return false;
  unsigned char head[kRecordHeaderSize];
  size_t got = 0;
  if (!read_exact(head, 8, &got)) {
    damaged(got == 0 ? "stream ends without its trailer after transaction " + hex(prev_)
                     : "stream ends inside a record header after transaction " + hex(prev_));
  }
  const uint32_t tag = uint32_t(load_le(head, 4));
  if (tag == kTagTrailer) {
    unsigned char t[kTrailerSize];
    std::memcpy(t, head, 8);
    if (!read_exact(t + 8, kTrailerSize - 8, &got)) damaged("stream ends inside its trailer");
    if (checksum(t, 24) != le64(t + 24) || load_le(t + 4, 4) != 0)
      damaged("stream trailer checksum mismatch");
    end_ = le64(t + 8);
    if (le64(t + 16) != count_)
      damaged("stream trailer counts " + std::to_string(le64(t + 16)) + " transactions, the stream holds " +
              std::to_string(count_) + " (transactions are missing)");
    if (end_ < prev_ || end_ > kMaxTxid || (to_ != kStreamOpenEnd && end_ != to_))
      damaged("stream trailer's last txid " + hex(end_) + " disagrees with the stream");
    unsigned char extra;
    if (source_->read(&extra, 1) != 0) damaged("bytes after the stream trailer");
    ended_ = true;
    return false;
  }
  if (!read_exact(head + 8, kRecordHeaderSize - 8, &got))
    damaged("stream ends inside a record header after transaction " + hex(prev_));
  const uint64_t txid = le64(head + 8);
  const uint64_t len = le64(head + 16);
  const std::string who = "transaction " + hex(txid);
  if (tag != kTagTransaction || load_le(head + 4, 4) != 0)
    damaged("unknown record kind " + std::to_string(tag) + " (damaged record header of " + who + "?)");
  if (txid <= prev_ || txid > kMaxTxid || (to_ != kStreamOpenEnd && txid > to_))
    damaged(who + ": txid out of order or out of the stream's range (damaged record header?)");
  if (len < kManifestHeaderSize || len > (uint64_t(1) << 62) ||
      (source_->remaining() != ~uint64_t(0) && len + 8 > source_->remaining()))
    damaged(who + ": record length " + std::to_string(len) + " runs past the end of the stream");
  std::string body;
  while (body.size() < len) {
    size_t want = size_t(std::min<uint64_t>(kReadPiece, len - body.size()));
    size_t old = body.size();
    body.resize(old + want);
    if (!read_exact(&body[old], want, &got)) damaged(who + ": stream ends inside its record");
  }
  unsigned char sum[8];
  if (!read_exact(sum, 8, &got)) damaged(who + ": stream ends inside its record");
  if (record_checksum(head, kRecordHeaderSize, body) != le64(sum))
    damaged(who + ": record checksum mismatch");
  try {
    *tx = decode_stream_tx(txid, std::move(body), name_);
  } catch (const CorruptionError& e) {
    damaged(e.detail());
  }
  prev_ = txid;
  count_++;
  return true;
}

}  // namespace journal
}  // namespace h5tx
