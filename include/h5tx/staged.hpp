// Staged chunk writing: many processes fill one redo transaction. The
// transaction hands out a staging token (Transaction::stage()); a worker
// process constructs a StagedWriter from it and writes whole chunks into a
// part file of the transaction's own journal/working_<id>_temp/ directory;
// the transaction then adopts the chunk records the workers return
// (Transaction::adopt) and commits them all with its one rename. Nothing of
// it is visible before that commit, and an abandoned staging directory is
// garbage the next open removes (formats/redo-manifest.md, "Staged parts").
// Used by the Python module h5tx.dask (atomic=True).
#pragma once

#include "h5tx/export.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "h5tx/env.hpp"
#include "h5tx/types.hpp"

namespace h5tx {

// Where a staged chunk copy is: the part file (a name inside the staging
// directory), offset and size of the stored (filtered) bytes, their XXH3-64,
// and HDF5's filter mask. Plain data: callers ship it between processes.
struct StagedChunk {
  std::string file;     // data file name ("vol.h5")
  std::string dataset;  // dataset path ("/raw/a")
  Shape coords;         // chunk coordinates
  uint32_t filter_mask = 0;
  std::string part;  // part file name ("part-<32 hex>")
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t hash = 0;
};

// Writes one part file of a staging directory. One writer per task attempt:
// each makes its own part file with a fresh random name, so a retried task
// never touches the file of its dead attempt. Not thread-safe (one thread
// at a time). It never opens the store (no lock, no recovery): it only
// writes its part file. Throws InvalidArgumentError for a malformed token
// or chunk, NotFoundError if the staging directory is gone (the transaction
// ended, or HOME is not on a file system this process sees), IoError.
class H5TX_EXPORT StagedWriter {
 public:
  // `env` must outlive the writer (default: the POSIX Env).
  explicit StagedWriter(const std::string& token, Env* env = nullptr);
  ~StagedWriter();
  StagedWriter(const StagedWriter&) = delete;
  StagedWriter& operator=(const StagedWriter&) = delete;

  // A raw (unfiltered) chunk of exactly the chunk size of `spec`, the spec
  // of the dataset as the staging transaction sees it; the dataset's filters
  // are applied here, in the worker. The part file is created on first use.
  void write_chunk(const std::string& file, const std::string& dataset, const DatasetSpec& spec,
                   const Shape& coords, const void* data, size_t size);
  // Makes the part file durable (fdatasync) and returns the records of every
  // chunk written, for Transaction::adopt. The writer is then finished: a
  // further call throws StateError.
  std::vector<StagedChunk> finish();

  // The staging directory and the part file's name ("" before the first chunk).
  const std::string& dir() const;
  const std::string& part() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace h5tx
