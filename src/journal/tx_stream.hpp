// The transaction stream (formats/tx-stream.md): a self-describing,
// checksummed sequence of committed redo transactions with txids in (A, B],
// as `h5tx backup --incremental` and `h5tx replicate` write it. Header
// (magic, version, A, B), then per transaction its txid and a whole
// MANIFEST (formats/redo-manifest.md) with every chunk copy inline, each
// record checksummed (XXH3-64), then a trailer (the last txid, the count).
//
// A full stream (version 2, `h5tx backup --stream`) carries a whole store:
// after its transaction records, the base: the store's files (h5tx.store,
// every data file) as of a consistent point, each in checksummed pieces,
// then which of the transactions before it the data files already hold.
//
// StreamWriter / StreamReader work over a byte sink / source (a file
// through the Env, or a pipe); one object per stream, not thread-safe.
// Errors: CorruptionError naming the stream and the txid of a damaged
// record (nothing of that transaction is returned), UnsupportedError for a
// newer version, the sink's or source's I/O errors.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "h5tx/env.hpp"
#include "journal/manifest.hpp"

namespace h5tx {
namespace journal {

// Streams of transactions only are written as version 1 (older builds read
// them); full streams as version 2. A reader reads both.
constexpr uint32_t kStreamVersion = 1;
constexpr uint32_t kFullStreamVersion = 2;
// Pieces of a base file in a full stream (the last one shorter).
constexpr size_t kStreamFilePiece = size_t(1) << 20;
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

// A file of a full stream's base: "h5tx.store" (always the first) or
// "data/<name>" (names::file_name_problem-clean, in increasing order).
struct StreamFile {
  std::string name;
  uint64_t size = 0;
};
// InvalidArgumentError-free check of a base file name: "" if it may be in a
// full stream after `prev` (the previous file's name, "" for the first),
// else what is wrong.
std::string stream_file_name_problem(const std::string& name, const std::string& prev);

class StreamWriter {
 public:
  // Writes the header: the stream holds transactions with txids in (from, to].
  // `full`: a full stream (from must be 0): add_file() and finish_base()
  // follow the transactions.
  StreamWriter(ByteSink* sink, uint64_t from, uint64_t to, bool full = false);
  // One transaction (`manifest_bytes` as inline_transaction returns them);
  // txids strictly increasing, in (from, to]. Not flushed.
  void add(uint64_t txid, const std::string& manifest_bytes);
  // Full streams, after the transactions: one base file of `size` bytes;
  // `read(offset, buf, n)` fills each piece (exactly n bytes).
  void add_file(const std::string& name, uint64_t size,
                const std::function<void(uint64_t, char*, size_t)>& read);
  // Full streams, after the files: the transactions with txids at or below
  // `replay_after` are already in the data files (a restore skips them).
  void finish_base(uint64_t replay_after);
  // The trailer: `last` (>= every txid added; <= to) and the count. Flushes.
  void finish(uint64_t last);
  uint64_t count() const { return count_; }
  uint64_t bytes() const { return bytes_; }

 private:
  void put(const std::string& s);

  ByteSink* sink_;
  uint64_t from_, to_, prev_;
  bool full_;
  bool base_done_ = false;
  std::string prev_file_;
  uint64_t files_ = 0;
  uint64_t count_ = 0;
  uint64_t bytes_ = 0;
};

class StreamReader {
 public:
  // Reads and checks the header. `name` is the stream's path (or "-") for errors.
  StreamReader(ByteSource* source, std::string name);
  uint64_t from() const { return from_; }
  uint64_t to() const { return to_; }
  // A full stream (version 2, flag 1): after next() returns false, the base
  // follows (next_file), then the trailer.
  bool full() const { return full_; }
  // The next transaction, whole and checked (record checksum, MANIFEST
  // parse, txid order, every chunk's XXH3-64); false at the trailer, which
  // is checked too, and must end the stream (a full stream: false at its
  // base). CorruptionError naming the txid of the damaged record (and the
  // last good one) and the stream offset.
  bool next(StreamTx* tx);
  // Full streams, after next() returned false: the next base file (its
  // header checked); false after the base's end record and the trailer,
  // both checked. Pieces of the previous file not read are read and checked.
  bool next_file(StreamFile* f);
  // The current base file's next piece, checked against its XXH3-64; false
  // when the file is whole. CorruptionError naming the file, the offset in
  // it and in the stream.
  bool next_piece(std::string* piece);
  // After next_file() returned false: transactions at or below this are in
  // the base's data files already.
  uint64_t replay_after() const { return replay_after_; }
  // The last txid returned (from() before the first).
  uint64_t last_txid() const { return prev_; }
  // After next() returned false: the trailer's last txid.
  uint64_t end_txid() const { return end_; }

 private:
  // Reads exactly n bytes; false if the stream ends first (got < n).
  bool read_exact(void* buf, size_t n, size_t* got);
  [[noreturn]] void damaged(const std::string& what) const;
  // The trailer, whose first 8 bytes are in `head`.
  void read_trailer(const unsigned char* head);

  ByteSource* source_;
  std::string name_;
  uint64_t from_ = 0, to_ = 0, prev_ = 0, end_ = 0, count_ = 0;
  uint64_t offset_ = 0;     // bytes read from the stream
  uint64_t record_at_ = 0;  // stream offset of the record being read
  bool full_ = false;
  bool ended_ = false;
  // Full streams: the base.
  bool in_base_ = false;   // next() met the base
  bool have_tag_ = false;  // head_ holds the next record's first 8 bytes
  unsigned char head_[8] = {};
  StreamFile file_;         // the current base file
  uint64_t file_sum_ = 0;   // its header checksum (seeds its pieces')
  uint64_t file_done_ = 0;  // bytes of it read
  uint64_t files_ = 0;
  uint64_t replay_after_ = 0;
};

}  // namespace journal
}  // namespace h5tx
