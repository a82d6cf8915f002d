// The transaction stream codec (journal/tx_stream.hpp, formats/tx-stream.md).
#include "journal/tx_stream.hpp"

#include <xxhash.h>

#include <cstring>
#include <new>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "util/byte_codec.hpp"
#include "util/names.hpp"

namespace h5tx {
namespace journal {

namespace {

constexpr char kMagic[8] = {'H', '5', 'T', 'X', 'S', 'T', 'M', '\n'};
constexpr uint32_t kTagTransaction = 1;
constexpr uint32_t kTagTrailer = 2;
constexpr uint32_t kTagFile = 3;
constexpr uint32_t kTagBaseEnd = 4;
constexpr uint32_t kFlagFull = 1;
constexpr size_t kFileHeadSize = 16;  // tag, name length, size (then the name, its checksum)
constexpr size_t kBaseEndSize = 32;   // tag, reserved, replay_after, file count, checksum
constexpr uint32_t kMaxFileName = 4096;
constexpr const char* kStoreFileName = "h5tx.store";
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

// The XXH3-64 of one piece of a base file: seeded with the file header's
// checksum plus the piece's offset, so a piece moved within or between
// files does not check.
uint64_t piece_checksum(uint64_t file_sum, uint64_t offset, const void* data, size_t n) {
  return XXH3_64bits_withSeed(data, n, file_sum + offset);
}

}  // namespace

std::string stream_file_name_problem(const std::string& name, const std::string& prev) {
  if (prev.empty()) return name == kStoreFileName ? "" : "the first file of a base must be h5tx.store";
  if (name.compare(0, 5, "data/") != 0) return "not h5tx.store or data/<name>";
  std::string problem = names::file_name_problem(name.substr(5));
  if (!problem.empty()) return problem;
  if (prev != kStoreFileName && name <= prev) return "out of order (after " + prev + ")";
  return "";
}

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

StreamWriter::StreamWriter(ByteSink* sink, uint64_t from, uint64_t to, bool full)
    : sink_(sink), from_(from), to_(to), prev_(from), full_(full) {
  if (from > kMaxTxid || (to != kStreamOpenEnd && (to > kMaxTxid || to < from)) ||
      (full && (from != 0 || to == kStreamOpenEnd)))
    throw InvalidArgumentError("", "stream range (" + hex(from) + ", " + hex(to) + "] is invalid");
  ByteWriter w;
  w.bytes(kMagic, sizeof kMagic);
  w.u32(full ? kFullStreamVersion : kStreamVersion);
  w.u32(full ? kFlagFull : 0);
  w.u64(from);
  w.u64(to);
  w.u64(0);  // reserved (a store identity, once stores have one)
  std::string h = std::move(w.data());
  put_le(&h, checksum(h.data(), h.size()), 8);
  sink_->write(h.data(), h.size());
  bytes_ += h.size();
}

void StreamWriter::put(const std::string& s) {
  sink_->write(s.data(), s.size());
  bytes_ += s.size();
}

void StreamWriter::add(uint64_t txid, const std::string& manifest_bytes) {
  if (files_ || base_done_)
    throw InvalidArgumentError("", "transaction " + txid_hex(txid) + " after the base of a full stream");
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

void StreamWriter::add_file(const std::string& name, uint64_t size,
                            const std::function<void(uint64_t, char*, size_t)>& read) {
  std::string problem = stream_file_name_problem(name, prev_file_);
  if (!full_ || base_done_ || !problem.empty() || name.size() > kMaxFileName || size > (uint64_t(1) << 62))
    throw InvalidArgumentError(
        name, "cannot be a file of this stream's base" + (problem.empty() ? std::string() : ": " + problem));
  ByteWriter w;
  w.u32(kTagFile);
  w.u32(uint32_t(name.size()));
  w.u64(size);
  w.bytes(name.data(), name.size());
  std::string head = std::move(w.data());
  const uint64_t sum = checksum(head.data(), head.size());
  put_le(&head, sum, 8);
  put(head);
  std::string buf(size_t(std::min<uint64_t>(size, kStreamFilePiece)), '\0');
  for (uint64_t off = 0; off < size;) {
    const size_t n = size_t(std::min<uint64_t>(kStreamFilePiece, size - off));
    read(off, &buf[0], n);
    std::string tail;
    put_le(&tail, piece_checksum(sum, off, buf.data(), n), 8);
    sink_->write(buf.data(), n);
    put(tail);
    bytes_ += n;
    off += n;
  }
  prev_file_ = name;
  files_++;
}

void StreamWriter::finish_base(uint64_t replay_after) {
  if (!full_ || base_done_ || files_ == 0 || replay_after > to_)
    throw InvalidArgumentError("", "a full stream's base ends after its files, at or below its last txid");
  ByteWriter w;
  w.u32(kTagBaseEnd);
  w.u32(0);
  w.u64(replay_after);
  w.u64(files_);
  std::string t = std::move(w.data());
  put_le(&t, checksum(t.data(), t.size()), 8);
  put(t);
  base_done_ = true;
}

void StreamWriter::finish(uint64_t last) {
  if (full_ && !base_done_) throw InvalidArgumentError("", "a full stream's trailer before its base");
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
  if (version != kStreamVersion && version != kFullStreamVersion)
    throw UnsupportedError(name_, "transaction stream version " + std::to_string(version) +
                                      " is not supported (this h5tx reads versions 1 and 2)");
  const uint64_t flags = load_le(h + 12, 4);
  if ((version == kStreamVersion ? flags != 0 : (flags & ~uint64_t(kFlagFull)) != 0) || le64(h + 32) != 0)
    throw CorruptionError(name_, "stream header has unknown flags or reserved bytes set");
  full_ = (flags & kFlagFull) != 0;
  from_ = le64(h + 16);
  to_ = le64(h + 24);
  if (from_ > kMaxTxid || (to_ != kStreamOpenEnd && (to_ > kMaxTxid || to_ < from_)) ||
      (full_ && (from_ != 0 || to_ == kStreamOpenEnd)))
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
    offset_ += r;
  }
  return true;
}

void StreamReader::damaged(const std::string& what) const {
  throw CorruptionError(name_, what + " (record at stream offset " + std::to_string(record_at_) +
                                   "; last whole transaction " + hex(prev_) +
                                   "; nothing of the damaged one is applied)");
}

void StreamReader::read_trailer(const unsigned char* head) {
  unsigned char t[kTrailerSize];
  size_t got = 0;
  std::memcpy(t, head, 8);
  if (!read_exact(t + 8, kTrailerSize - 8, &got)) damaged("stream ends inside its trailer");
  if (checksum(t, 24) != le64(t + 24) || load_le(t + 4, 4) != 0) damaged("stream trailer checksum mismatch");
  end_ = le64(t + 8);
  if (le64(t + 16) != count_)
    damaged("stream trailer counts " + std::to_string(le64(t + 16)) + " transactions, the stream holds " +
            std::to_string(count_) + " (transactions are missing)");
  if (end_ < prev_ || end_ > kMaxTxid || (to_ != kStreamOpenEnd && end_ != to_))
    damaged("stream trailer's last txid " + hex(end_) + " disagrees with the stream");
  unsigned char extra;
  if (source_->read(&extra, 1) != 0) damaged("bytes after the stream trailer");
  ended_ = true;
}

bool StreamReader::next(StreamTx* tx) {
  if (ended_ || in_base_) return false;
  unsigned char head[kRecordHeaderSize];
  size_t got = 0;
  record_at_ = offset_;
  if (!read_exact(head, 8, &got)) {
    damaged(got == 0 ? "stream ends without its trailer after transaction " + hex(prev_)
                     : "stream ends inside a record header after transaction " + hex(prev_));
  }
  const uint32_t tag = uint32_t(load_le(head, 4));
  if (tag == kTagTrailer) {
    if (full_) damaged("full stream ends without its base (store files)");
    read_trailer(head);
    return false;
  }
  if (full_ && (tag == kTagFile || tag == kTagBaseEnd)) {
    std::memcpy(head_, head, 8);
    have_tag_ = true;
    in_base_ = true;
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

bool StreamReader::next_file(StreamFile* f) {
  if (!in_base_) {
    StreamTx tx;
    if (!full_ || next(&tx))
      throw InvalidArgumentError(name_, "next_file() before the base of a full stream");
  }
  if (ended_) return false;
  std::string rest;
  while (next_piece(&rest)) {
  }
  size_t got = 0;
  unsigned char head[kBaseEndSize];
  if (have_tag_) {
    std::memcpy(head, head_, 8);
    have_tag_ = false;
  } else {
    record_at_ = offset_;
    if (!read_exact(head, 8, &got)) damaged("stream ends inside its base, after file " + file_.name);
  }
  const uint32_t tag = uint32_t(load_le(head, 4));
  if (tag == kTagBaseEnd) {
    if (!read_exact(head + 8, kBaseEndSize - 8, &got)) damaged("stream ends inside its base's end record");
    if (checksum(head, 24) != le64(head + 24) || load_le(head + 4, 4) != 0)
      damaged("base end record checksum mismatch");
    replay_after_ = le64(head + 8);
    if (replay_after_ > to_) damaged("base end record's txid " + hex(replay_after_) + " is past the stream");
    if (le64(head + 16) != files_ || files_ == 0)
      damaged("base end record counts " + std::to_string(le64(head + 16)) + " files, the stream holds " +
              std::to_string(files_) + " (files are missing)");
    record_at_ = offset_;
    if (!read_exact(head, 8, &got) || load_le(head, 4) != kTagTrailer)
      damaged("no trailer after the base of the full stream");
    read_trailer(head);
    return false;
  }
  if (tag != kTagFile)
    damaged("unknown record kind " + std::to_string(tag) + " in the base of a full stream");
  const uint32_t n = uint32_t(load_le(head + 4, 4));
  if (!read_exact(head + 8, kFileHeadSize - 8, &got)) damaged("stream ends inside a base file's header");
  if (n == 0 || n > kMaxFileName) damaged("base file name length " + std::to_string(n) + " is invalid");
  std::string rec(reinterpret_cast<const char*>(head), kFileHeadSize);
  rec.resize(kFileHeadSize + n + 8);
  if (!read_exact(&rec[kFileHeadSize], n + 8, &got)) damaged("stream ends inside a base file's header");
  const unsigned char* r = reinterpret_cast<const unsigned char*>(rec.data());
  const uint64_t sum = le64(r + kFileHeadSize + n);
  if (checksum(rec.data(), kFileHeadSize + n) != sum) damaged("base file header checksum mismatch");
  StreamFile next;
  next.name = rec.substr(kFileHeadSize, n);
  next.size = le64(r + 8);
  std::string problem = stream_file_name_problem(next.name, files_ ? file_.name : std::string());
  if (!problem.empty()) damaged("base file " + next.name + ": " + problem);
  const uint64_t pieces = (next.size + kStreamFilePiece - 1) / kStreamFilePiece;
  if (next.size > (uint64_t(1) << 62) ||
      (source_->remaining() != ~uint64_t(0) && next.size + 8 * pieces > source_->remaining()))
    damaged("base file " + next.name + ": size " + std::to_string(next.size) +
            " runs past the end of the stream");
  file_ = next;
  file_sum_ = sum;
  file_done_ = 0;
  files_++;
  *f = file_;
  return true;
}

bool StreamReader::next_piece(std::string* piece) {
  if (!in_base_ || file_done_ >= file_.size) return false;
  const size_t n = size_t(std::min<uint64_t>(kStreamFilePiece, file_.size - file_done_));
  const std::string where =
      "base file " + file_.name + ", piece at offset " + std::to_string(file_done_) + " of it";
  record_at_ = offset_;
  size_t got = 0;
  piece->resize(n);
  unsigned char sum[8];
  if (!read_exact(&(*piece)[0], n, &got) || !read_exact(sum, 8, &got)) damaged("stream ends inside " + where);
  if (piece_checksum(file_sum_, file_done_, piece->data(), n) != le64(sum))
    damaged(where + ": checksum mismatch");
  file_done_ += n;
  return true;
}

}  // namespace journal
}  // namespace h5tx
