// Whole chunks of an Input for `h5tx ingest`, read in large units instead
// of chunk by chunk. A unit is a run of consecutive chunks (in C order)
// that forms a box of the array: the chunks sharing their coordinates in
// dimensions 0..d, with every chunk of the dimensions after d. Its region
// spans whole rows of the dimensions after d, so a raw or .npy input reads
// it with one pread per row of dimensions 0..d (one pread in all when d is
// 0: a slab of whole chunk rows) and an HDF5 input with one H5Dread. d is
// the smallest dimension whose unit fits in `max_unit_bytes`.
//
// A prefetch thread reads units ahead, in order, so reading overlaps the
// workers' filtering and commits; a worker that needs a unit not read yet
// reads it itself. A unit's memory goes as soon as every chunk of it that
// will be asked for has been copied out, so memory is bounded by the units
// in flight, not by the input's size.
//
// Thread-safe: chunk() may be called from many threads at once.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "chunk_grid.hpp"
#include "input.hpp"

namespace h5tx {
namespace cli {

class ChunkSource {
 public:
  struct Stats {
    uint64_t units_read = 0;
    uint64_t bytes_read = 0;
    double read_seconds = 0;  // inside Input::read (prefetcher and workers)
    double wait_seconds = 0;  // workers waiting for a unit another thread reads
  };

  // Chunk i will be asked for once if skip[i] == 0, never otherwise
  // (skip empty: every chunk). `fill` is one element, for edge chunks.
  ChunkSource(Input& in, const ChunkGrid& grid, std::vector<uint8_t> fill, const std::vector<uint8_t>& skip,
              uint64_t max_unit_bytes = uint64_t(32) << 20, size_t read_ahead = 2);
  ~ChunkSource();
  ChunkSource(const ChunkSource&) = delete;
  ChunkSource& operator=(const ChunkSource&) = delete;

  // The raw bytes of whole chunk i (edge chunks padded with the fill
  // value). Rethrows the error of a failed read of its unit. With `base`
  // (a whole chunk's bytes: the chunk as stored), the input's part of the
  // chunk is copied over it instead, the rest kept (read-modify-write).
  std::vector<uint8_t> chunk(uint64_t i, std::vector<uint8_t> base = {});

  uint64_t unit_chunks() const { return unit_chunks_; }
  Stats stats();

 private:
  enum class UnitState { Unread, Reading, Read, Done };
  struct Unit {
    UnitState state = UnitState::Unread;
    uint64_t pending = 0;  // chunks still to be copied out
    std::vector<uint8_t> bytes;
    std::exception_ptr error;
  };

  void region(uint64_t unit, Shape* start, Shape* count) const;
  // Reads `unit` (state Reading, set by the caller under mu_) outside the lock.
  void read_unit(uint64_t unit, std::unique_lock<std::mutex>& lock);
  void prefetch_loop();

  Input& in_;
  const ChunkGrid& grid_;
  const std::vector<uint8_t> fill_;
  const size_t elem_size_;
  size_t split_dim_ = 0;  // d: units fix dimensions 0..d
  uint64_t unit_chunks_ = 1;
  const size_t read_ahead_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Unit> units_;
  size_t in_memory_ = 0;  // units Read and not Done
  bool stopping_ = false;
  Stats stats_;
  std::thread prefetcher_;
};

}  // namespace cli
}  // namespace h5tx
