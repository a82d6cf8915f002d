// The resume records of `h5tx ingest` in the store's data file
// `.h5tx-ingest.h5`: which chunks each run has committed, and one record
// per finished ingest. The layout (docs/user-guide.md, "Resuming"):
//
//   /slots/<k>             u32 progress dataset, one element per chunk of the
//                          run that holds it, one HDF5 chunk per transaction
//                          group; the element equals the slot's `mark` once
//                          that chunk is committed. Attributes (strings):
//                          state ("running" or "free"), id, run, mark,
//                          target, input, shape, chunk, start, chunks.
//   / attribute finished.<id>
//                          one record per finished ingest: "key=value" lines
//                          (run, target, input, shape, chunk, start, chunks),
//                          values escaped (%25 %0A).
//   /<id>/<run>            the progress datasets of earlier builds (one per
//                          run, marks equal to the run): still resumed and
//                          listed, never created.
//
// A run that completes frees its slot and writes its finished record in one
// transaction; the next ingest with the same progress chunk reuses the slot
// (extending it if it needs more elements) with mark + 1, so elements of
// earlier runs never count for it and nothing needs clearing. The file thus
// holds one slot per ingest running at once (per progress chunk size) plus
// one small record per finished ingest, however many runs there were.
//
// All functions work inside the caller's transaction unless they take a
// Store; they throw CorruptionError naming `.h5tx-ingest.h5:<object>` for
// a record they cannot read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "h5tx/store.hpp"

namespace h5tx {
namespace cli {

constexpr char kIngestFile[] = ".h5tx-ingest.h5";

// What a run ingests (as recorded; shapes as "33,40,50").
struct RunInfo {
  std::string id;  // 16 hex digits
  uint32_t run = 0;
  std::string target, input, shape, chunk, start;
  uint64_t chunks = 0;
};

// Where a run's progress marks are.
struct ProgressRef {
  std::string path;    // "/slots/<k>" or a legacy "/<id>/<run>"
  uint32_t mark = 0;   // element value of a chunk this run committed
  uint64_t group = 0;  // chunks per transaction (the dataset's HDF5 chunk)
  bool legacy = false;
};

// What the store records of ingest `id`.
struct KnownIngest {
  std::optional<RunInfo> running;       // its newest unfinished run, if any
  std::optional<ProgressRef> progress;  // ... and where its marks are
  std::optional<RunInfo> finished;      // its finished record, if any
  uint32_t last_run = 0;                // greatest run number recorded
};
KnownIngest find_ingest(Transaction& tx, const std::string& id);

// Starts run `info` (info.chunks > 0): takes a free slot whose progress
// chunk is min(group, chunks) (extended if it is too short), or the slot
// `supersede` holds (a --no-resume run replacing an unfinished one), or
// makes a new slot; creates .h5tx-ingest.h5 if `file_exists` is false.
ProgressRef start_run(Transaction& setup, bool file_exists, const RunInfo& info, uint64_t group,
                      const std::optional<ProgressRef>& supersede);

// done[i] = 1 for every chunk i < info.chunks that the run committed: its
// marks as flushed or in the journal, plus the pending transactions'
// metadata (`pending`, as Store::pending() lists them).
void load_marks(Transaction& tx, const std::vector<TransactionInfo>& pending, const RunInfo& info,
                const ProgressRef& p, std::vector<uint8_t>& done);

// The metadata keys every ingest transaction carries (docs/user-guide.md).
extern const char kMetaId[], kMetaRun[], kMetaChunks[], kMetaTarget[];

// A run committed every chunk: its finished record replaces any earlier one
// of the same ingest and its slot becomes free, in one transaction (retried
// on a ConflictError with another process claiming slots meanwhile).
void finish_run(Store& store, const RunInfo& info, const ProgressRef& p);

// One run as `h5tx ingest HOME --list` shows it.
struct IngestRecord {
  RunInfo info;
  uint64_t chunks_done = 0;  // committed by this run
  bool latest = true;        // no later run of the same ingest
  std::string kind;          // "finished", "running" (a slot) or "legacy"
  bool complete() const { return chunks_done == info.chunks; }
};
// Every run recorded in the store, by id then run.
std::vector<IngestRecord> list_records(Store& store);

}  // namespace cli
}  // namespace h5tx
