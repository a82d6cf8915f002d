// Resumable batch ingest of an Input into a dataset of a store: the array is
// cut into chunks, and worker threads commit transactions of whole groups of
// chunks with blind writes (check_conflicts = false).
//
// Progress survives crashes and flushes: every transaction also writes, in
// the same atomic commit, one chunk of the run's progress dataset in
// `.h5tx-ingest.h5` (ingest_records.hpp) and records the ingest id, run and
// chunk range in its metadata. A later ingest with the same id (target,
// input identity, dtype, shape, chunk shape) reads the progress through a
// read transaction (journal overlay and flushed data alike) plus the pending
// transactions' metadata, and writes only the chunks no transaction
// committed. A run that completes is compacted to one record.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>

#include "args.hpp"
#include "h5tx/store.hpp"
#include "ingest_records.hpp"

namespace h5tx {
namespace cli {

class Input;

// The raw chunk bytes of a transaction when --tx-chunks is not given. Undo
// mode syncs its data file at every commit (redo mode syncs the journal and
// lets the flusher write data/ in batches), so it gains more from fewer
// commits: on the shared test VM a 2 GiB undo ingest took 8.5 s with
// 128 MiB transactions against 18-22 s with 32 MiB ones.
constexpr uint64_t kAutoTransactionBytesRedo = uint64_t(32) << 20;
constexpr uint64_t kAutoTransactionBytesUndo = uint64_t(128) << 20;

struct IngestOptions {
  Target target;
  Shape chunk;  // for a new dataset; empty: default_chunk()
  // Where the input goes. Empty start and append_axis -1: the whole
  // dataset from its origin (created, or grown to the input's shape).
  // start: the input's origin in an existing dataset (grown to hold it,
  // within its maximum shape). append_axis: after the dataset's end along
  // that axis (extended in the setup transaction; created if missing, with
  // that dimension unlimited). Chunks the input covers only in part are
  // read-modify-written in the transaction that writes them.
  Shape start;
  int append_axis = -1;
  int deflate_level = 0;   // 0: no compression (new dataset)
  bool fletcher32 = true;  // new dataset
  // Chunks per transaction (a resumed run keeps the first run's). 0: about
  // kAutoTransactionBytes{Redo,Undo} of raw chunk data each (at least one
  // chunk): fewer, larger transactions make fewer syncs per byte.
  uint64_t tx_chunks = 0;
  unsigned threads = 2;
  enum class Resume { Auto, Yes, No } resume = Resume::Auto;
  double max_rate_mib = 0;  // 0: unlimited
  bool verbose = false;     // one line per committed transaction on `log`
  FILE* log = stdout;
  int progress_tty = -1;  // Progress interactive flag (-1: isatty)
  double progress_interval = 2;
  std::string progress_label = "ingest";
  // Nonzero (a signal number) once the ingest is to stop: workers take no
  // new transaction, those in flight finish, run_ingest returns with
  // IngestResult::interrupted (a later run resumes).
  const std::atomic<int>* interrupt = nullptr;
};

struct IngestResult {
  std::string id;  // 16 hex digits
  uint32_t run = 1;
  uint64_t chunks = 0;          // in the array
  uint64_t chunks_written = 0;  // by this run
  uint64_t chunks_skipped = 0;  // committed by earlier runs
  uint64_t transactions = 0;    // committed by this run
  uint64_t bytes_written = 0;   // raw chunk bytes written by this run
  double seconds = 0;
  bool resumed = false;
  bool already_complete = false;
  bool interrupted = false;  // stopped by IngestOptions::interrupt before every chunk was written
  Shape chunk;               // the dataset's chunk shape
  Shape start;               // where the input went in the dataset
  Shape dataset_shape;       // the dataset's shape after the setup
  // Where the time went (seconds summed over threads; --verbose prints
  // them as utilisation of the run's wall time).
  struct Stages {
    unsigned threads = 0;
    uint64_t read_units = 0, unit_chunks = 0, read_bytes = 0;
    double read = 0;    // reading the input (prefetch thread and workers)
    double wait = 0;    // workers waiting for input another thread reads
    double input = 0;   // workers getting chunks: reading, waiting, copying out
    double stage = 0;   // workers in write_chunk: filters, checksum, staging
    double commit = 0;  // workers in commit: durable (group commit, backpressure)
  } stages;
};

// A chunk shape of about 1 MiB for `shape`: halves the largest dimension
// until the chunk fits.
Shape default_chunk(const Shape& shape, DType dtype);

IngestResult run_ingest(Store& store, Input& input, const IngestOptions& options);

}  // namespace cli
}  // namespace h5tx
