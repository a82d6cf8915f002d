// The transaction stream (formats/tx-stream.md): a self-describing,
// checksummed sequence of committed redo transactions with txids in (A, B],
// as `h5tx backup --incremental` and `h5tx replicate` write it. Header
// (magic, version, A, B), then per transaction its txid and a whole
// MANIFEST (formats/redo-manifest.md) with every chunk copy inline, each
// record checksummed (XXH3-64), then a trailer (the last txid, the count).
//
// StreamWriter / StreamReader work over a byte sink / source (a file
// through the Env, or a pipe); one object per stream, not thread-safe.
// Errors: CorruptionError naming the stream and the txid of a damaged
// record (nothing of that transaction is returned), UnsupportedError for a
// newer version, the sink's or source's I/O errors.
#pragma once

#include <cstdint>
#include <string>

#include "h5tx/env.hpp"
#include "journal/manifest.hpp"

namespace h5tx {
namespace journal {

constexpr uint32_t kStreamVersion = 1;
constexpr size_t kStreamHeaderSize = 48;
// B of a stream written while following a store (open-ended): its trailer,
// if it gets one, says where it ended.
constexpr uint64_t kStreamOpenEnd = ~uint64_t(0);

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const void* data, size_t n) = 0;
  // Makes what was written durable (a file), or pushes it on (a pipe).
  virtual void flush() = 0;
};

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to n bytes; 0 only at the end.
  virtual size_t read(void* buf, size_t n) = 0;
  // Bytes left, or ~0 if unknown (a pipe): bounds record lengths before
  // anything is allocated.
  virtual uint64_t remaining() const { return ~uint64_t(0); }
};

// A committed transaction as a stream carries it: a whole MANIFEST file
// (record, then every chunk copy inline), decoded with its chunks located
// in `manifest_bytes` (kManifestName at record_size + offset).
struct StreamTx {
  uint64_t txid = 0;
  std::string manifest_bytes;
  Manifest manifest;
};

// Reads the committed transaction in tx_dir (any manifest version, chunks
// inline or in files; every chunk checked against its XXH3-64) and encodes
// it as one MANIFEST with every chunk inline: the bytes a stream carries.
std::string inline_transaction(Env& env, const std::string& tx_dir, uint64_t txid);

// Checks a transaction's MANIFEST bytes as a stream record carries them
// (parse, txid, every chunk inline with its XXH3-64) and decodes them.
// CorruptionError naming `name` and the txid.
StreamTx decode_stream_tx(uint64_t txid, std::string manifest_bytes, const std::string& name);

class StreamWriter {
 public:
  // Writes the header: the stream holds transactions with txids in (from, to].
  StreamWriter(ByteSink* sink, uint64_t from, uint64_t to);
  // One transaction (`manifest_bytes` as inline_transaction returns them);
  // txids strictly increasing, in (from, to]. Not flushed.
  void add(uint64_t txid, const std::string& manifest_bytes);
  // The trailer: `last` (>= every txid added; <= to) and the count. Flushes.
  void finish(uint64_t last);
  uint64_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }

 private:
  ByteSink* sink_;
  uint64_t from_, to_, prev_;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

class StreamReader {
 public:
  // Reads and checks the header. `name` is the stream's path (or "-") for errors.
  StreamReader(ByteSource* source, std::string name);
  uint64_t from() const { return from_; }
  uint64_t to() const { return to_; }
  // The next transaction, whole and checked (record checksum, MANIFEST
  // parse, txid order, every chunk's XXH3-64); false at the trailer, which
  // is checked too, and must end the stream. CorruptionError naming the
  // txid of the damaged record (and the last good one).
  bool next(StreamTx* tx);
  // The last txid returned (from() before the first).
  uint64_t last_txid() const { return prev_; }
  // After next() returned false: the trailer's last txid.
  uint64_t end_txid() const { return end_; }

 private:
  // Reads exactly n bytes; false if the stream ends first (got < n).
  bool read_exact(void* buf, size_t n, size_t* got);
  [[noreturn]] void damaged(const std::string& what) const;

  ByteSource* source_;
  std::string name_;
  uint64_t from_ = 0, to_ = 0, prev_ = 0, end_ = 0, count_ = 0;
  bool ended_ = false;
};

}  // namespace journal
}  // namespace h5tx
