// History segments (formats/history.md): what one flush batch replaced, so
// that a store with history can be read as of an older txid. A segment
// holds, per transaction of the batch, the versions it replaced ("before"
// versions with the txid that replaced them), as MANIFEST operation records
// (manifest.hpp), the replaced chunk copies stored whole and filtered, and
// the batch's transactions with their commit times. Written once (tmp file,
// sync, rename, sync of history/), never changed; pack removes files, or
// writes a smaller copy of one under a new name before it removes it.
// Also the history/OLDEST file: the oldest txid reads may ask for.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/env.hpp"
#include "journal/manifest.hpp"

namespace h5tx {
namespace journal {

constexpr const char* kHistoryDirName = "history";
constexpr const char* kHistoryOldestName = "OLDEST";
constexpr uint32_t kHistorySegmentVersion = 1;

// One replaced version. `op` says what the thing was before `to_txid`
// changed it: present: CreateFile (the file existed: never recorded),
// CreateDataset (its spec), SetAttribute (its value), WriteChunk (its
// stored bytes at chunk_offset/chunk_size in the segment, chunk_hash their
// XXH3-64, filter_mask). Absent (present false): CreateFile, CreateDataset
// (no such file / dataset), DeleteAttribute (no such attribute), WriteChunk
// (chunk never written: fill value), with no bytes.
struct HistoryRecord {
  uint64_t to_txid = 0;
  bool present = false;
  Op op;
};

struct HistoryTx {
  uint64_t txid = 0;
  uint64_t commit_time_micros = 0;
};

struct HistorySegment {
  uint64_t first_txid = 0;  // of txs
  uint64_t last_txid = 0;
  std::vector<HistoryTx> txs;  // ascending
  std::vector<HistoryRecord> records;
};

// "<first 16 hex>-<last 16 hex>.seg", and its parse (false if not one).
std::string segment_name(uint64_t first, uint64_t last);
bool parse_segment_name(const std::string& name, uint64_t* first, uint64_t* last);

// Writes a segment: chunk copies first (add_chunk), then finish() writes the
// records, syncs the file and renames it into place, syncs history/.
class SegmentWriter {
 public:
  SegmentWriter(Env& env, std::string history_dir);
  ~SegmentWriter();  // an unfinished segment's temporary file is removed
  // Appends stored chunk bytes; sets op.chunk_offset, chunk_size, chunk_hash.
  void add_chunk(const std::string& stored, Op* op);
  // seg.first_txid/last_txid name the file. Returns its path.
  std::string finish(const HistorySegment& seg);

 private:
  Env& env_;
  std::string dir_, tmp_;
  std::unique_ptr<File> file_;
  uint64_t data_bytes_ = 0;
};

// Reads and checks a segment's records (not its chunk data): CorruptionError
// naming `path` on any damage (the size of everything is bounded by the
// file's size).
HistorySegment read_segment(Env& env, const std::string& path);
// The stored bytes of a chunk record, checked against its size and hash.
std::string read_segment_chunk(Env& env, const std::string& path, const Op& op);

// history/OLDEST: "h5tx-history 1 oldest <16 hex>\n".
std::string encode_oldest(uint64_t txid);
uint64_t decode_oldest(const std::string& text, const std::string& path);  // CorruptionError

}  // namespace journal
}  // namespace h5tx
