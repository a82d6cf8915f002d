// History segment codec (journal/history_segment.hpp, formats/history.md).
#include "journal/history_segment.hpp"

#include <cinttypes>
#include <cstdio>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace journal {

namespace {

constexpr char kMagic[8] = {'H', '5', 'T', 'X', 'H', 'I', 'S', '\n'};
constexpr char kEndMagic[8] = {'H', '5', 'T', 'X', 'H', 'E', 'N', 'D'};
constexpr uint64_t kHeaderSize = 16;  // magic, version, flags
constexpr uint64_t kFooterSize = 24;  // records offset, records checksum, end magic
constexpr const char* kSegmentSuffix = ".seg";

}  // namespace

std::string segment_name(uint64_t first, uint64_t last) {
  return txid_hex(first) + "-" + txid_hex(last) + kSegmentSuffix;
}

bool parse_segment_name(const std::string& name, uint64_t* first, uint64_t* last) {
  if (name.size() != 16 + 1 + 16 + 4 || name[16] != '-' || name.compare(33, 4, kSegmentSuffix) != 0)
    return false;
  return parse_txid_hex(name.substr(0, 16), first) && parse_txid_hex(name.substr(17, 16), last) &&
         *first <= *last;
}

SegmentWriter::SegmentWriter(Env& env, std::string history_dir) : env_(env), dir_(std::move(history_dir)) {
  char name[48];
  std::snprintf(name, sizeof name, "writing-%016" PRIx64 ".tmp", env.now_micros());
  tmp_ = path_join(dir_, name);
  file_ = env_.open(tmp_, OpenMode::CreateTrunc);
  ByteWriter w;
  w.bytes(kMagic, 8);
  w.u32(kHistorySegmentVersion);
  w.u32(0);
  file_->write(0, w.data().data(), w.data().size());
}

SegmentWriter::~SegmentWriter() {
  if (!file_) return;
  file_.reset();
  try {
    env_.remove_file(tmp_);
  } catch (const Error&) {
    // Left for the next open's cleanup of history/ (a *.tmp is never a segment).
  }
}

void SegmentWriter::add_chunk(const std::string& stored, Op* op) {
  op->chunk_file.clear();
  op->chunk_offset = kHeaderSize + data_bytes_;
  op->chunk_size = stored.size();
  op->chunk_hash = checksum(stored.data(), stored.size());
  if (!stored.empty()) file_->write(op->chunk_offset, stored.data(), stored.size());
  data_bytes_ += stored.size();
}

std::string SegmentWriter::finish(const HistorySegment& seg) {
  ByteWriter w;
  w.u64(seg.first_txid);
  w.u64(seg.last_txid);
  w.u32(static_cast<uint32_t>(seg.txs.size()));
  for (const auto& t : seg.txs) {
    w.u64(t.txid);
    w.u64(t.commit_time_micros);
  }
  w.u32(static_cast<uint32_t>(seg.records.size()));
  for (const auto& r : seg.records) {
    w.u64(r.to_txid);
    w.u8(r.present ? 1 : 0);
    put_op(w, r.op);
  }
  const uint64_t records_at = kHeaderSize + data_bytes_;
  std::string& rec = w.data();
  ByteWriter f;
  f.u64(records_at);
  f.u64(checksum(rec.data(), rec.size()));
  f.bytes(kEndMagic, 8);
  file_->write(records_at, rec.data(), rec.size());
  file_->write(records_at + rec.size(), f.data().data(), f.data().size());
  file_->sync();
  file_.reset();
  std::string path = path_join(dir_, segment_name(seg.first_txid, seg.last_txid));
  env_.rename(tmp_, path);
  env_.sync_dir(dir_);
  return path;
}

HistorySegment read_segment(Env& env, const std::string& path) {
  auto file = env.open(path, OpenMode::ReadOnly);
  const uint64_t size = file->size();
  if (size < kHeaderSize + kFooterSize) throw CorruptionError(path, "history segment is truncated");
  std::string head(kHeaderSize, '\0'), foot(kFooterSize, '\0');
  if (file->read(0, &head[0], kHeaderSize) != kHeaderSize ||
      file->read(size - kFooterSize, &foot[0], kFooterSize) != kFooterSize)
    throw CorruptionError(path, "history segment: short read");
  if (head.compare(0, 8, kMagic, 8) != 0) throw CorruptionError(path, "not a history segment (bad magic)");
  ByteReader h(head, head.size(), path);
  h.raw(8, "magic");
  uint32_t version = h.u32("version");
  if (version != kHistorySegmentVersion)
    throw UnsupportedError(path, "history segment version " + std::to_string(version) + " is not supported");
  if (foot.compare(16, 8, kEndMagic, 8) != 0)
    throw CorruptionError(path, "history segment is truncated (no end marker)");
  ByteReader fr(foot, foot.size(), path);
  uint64_t records_at = fr.u64("records offset");
  uint64_t sum = fr.u64("records checksum");
  if (records_at < kHeaderSize || records_at > size - kFooterSize)
    throw CorruptionError(path,
                          "history segment: records offset " + std::to_string(records_at) + " out of range");
  std::string rec(size - kFooterSize - records_at, '\0');
  if (!rec.empty() && file->read(records_at, &rec[0], rec.size()) != rec.size())
    throw CorruptionError(path, "history segment: short read");
  if (checksum(rec.data(), rec.size()) != sum)
    throw CorruptionError(path, "history segment: records checksum mismatch");
  ByteReader b(rec, rec.size(), path);
  HistorySegment seg;
  seg.first_txid = b.u64("first txid");
  seg.last_txid = b.u64("last txid");
  uint32_t ntx = b.u32("transaction count");
  if (uint64_t(ntx) * 16 > b.remaining()) b.fail(b.offset(), "transaction count larger than the segment");
  for (uint32_t i = 0; i < ntx; i++) {
    HistoryTx t;
    t.txid = b.u64("txid");
    t.commit_time_micros = b.u64("commit time");
    if ((!seg.txs.empty() && t.txid <= seg.txs.back().txid) || t.txid < seg.first_txid ||
        t.txid > seg.last_txid)
      b.fail(b.offset(), "transaction ids out of order or outside the segment's range");
    seg.txs.push_back(t);
  }
  uint32_t nrec = b.u32("record count");
  if (uint64_t(nrec) * 10 > b.remaining()) b.fail(b.offset(), "record count larger than the segment");
  for (uint32_t i = 0; i < nrec; i++) {
    HistoryRecord r;
    size_t at = b.offset();
    r.to_txid = b.u64("to txid");
    uint8_t present = b.u8("present");
    if (present > 1) b.fail(at + 8, "present flag is not 0 or 1");
    r.present = present == 1;
    r.op = get_op(b, kManifestNewestVersion);
    if (r.to_txid < seg.first_txid || r.to_txid > seg.last_txid)
      b.fail(at, "record's txid outside the segment's range");
    if (r.op.kind == OpKind::WriteChunk) {
      if (!r.op.chunk_file.empty()) b.fail(at, "chunk record names a file");
      if (r.present && (r.op.chunk_offset < kHeaderSize || r.op.chunk_size > records_at ||
                        r.op.chunk_offset > records_at - r.op.chunk_size))
        b.fail(at, "chunk bytes outside the segment's data");
    }
    seg.records.push_back(std::move(r));
  }
  if (b.remaining() != 0) b.fail(b.offset(), "trailing bytes after the records");
  return seg;
}

std::string read_segment_chunk(Env& env, const std::string& path, const Op& op) {
  auto file = env.open(path, OpenMode::ReadOnly);
  std::string s(op.chunk_size, '\0');
  if (op.chunk_size && file->read(op.chunk_offset, &s[0], s.size()) != s.size())
    throw CorruptionError(path, "history segment: chunk copy truncated");
  if (checksum(s.data(), s.size()) != op.chunk_hash)
    throw CorruptionError(path, "history segment: chunk copy at offset " + std::to_string(op.chunk_offset) +
                                    " fails its checksum");
  return s;
}

std::string encode_oldest(uint64_t txid) {
  return "h5tx-history 1 oldest " + (txid == 0 ? std::string(16, '0') : txid_hex(txid)) + "\n";
}

uint64_t decode_oldest(const std::string& text, const std::string& path) {
  const std::string prefix = "h5tx-history 1 oldest ";
  uint64_t t = 0;
  const std::string hex = text.size() == prefix.size() + 17 ? text.substr(prefix.size(), 16) : "";
  // 0: a store created with history keeps everything from its start.
  if (text.size() != prefix.size() + 17 || text.compare(0, prefix.size(), prefix) != 0 ||
      text.back() != '\n' || (hex != std::string(16, '0') && !parse_txid_hex(hex, &t)))
    throw CorruptionError(path, "not a history OLDEST file ('h5tx-history 1 oldest <16 hex>')");
  return t;
}

}  // namespace journal
}  // namespace h5tx
