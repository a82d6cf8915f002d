// Whole chunks of an Input, read in large units (see chunk_source.hpp).
#include "chunk_source.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace h5tx {
namespace cli {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Copies the sub-box [off, off + count) of a C-order box of shape `box`
// into a C-order chunk buffer of shape `chunk`, at position `at`.
void copy_from_box(const uint8_t* box_bytes, const Shape& box, const Shape& off, const Shape& count,
                   uint8_t* out, const Shape& chunk, const Shape& at, size_t es) {
  const size_t rank = box.size();
  const size_t run = size_t(count[rank - 1]) * es;
  Shape idx(rank, 0);  // position in `count`, dims 0..rank-2
  for (;;) {
    uint64_t src = 0, dst = 0;
    for (size_t d = 0; d < rank; d++) {
      const uint64_t i = d + 1 < rank ? idx[d] : 0;
      src = src * box[d] + off[d] + i;
      dst = dst * chunk[d] + at[d] + i;
    }
    std::memcpy(out + dst * es, box_bytes + src * es, run);
    size_t d = rank - 1;
    while (d-- > 0) {
      if (++idx[d] < count[d]) break;
      idx[d] = 0;
    }
    if (d == size_t(-1)) return;
  }
}

}  // namespace

ChunkSource::ChunkSource(Input& in, const ChunkGrid& grid, std::vector<uint8_t> fill,
                         const std::vector<uint8_t>& skip, uint64_t max_unit_bytes, size_t read_ahead)
    : in_(in),
      grid_(grid),
      fill_(std::move(fill)),
      elem_size_(dtype_size(in.dtype())),
      read_ahead_(read_ahead) {
  const size_t rank = grid.shape().size();
  // The smallest d whose unit (one chunk in dims 0..d, everything after)
  // fits; a single chunk (d = rank - 1) always qualifies.
  for (split_dim_ = 0; split_dim_ + 1 < rank; split_dim_++) {
    uint64_t bytes = elem_size_;
    for (size_t k = 0; k < rank; k++) bytes *= k <= split_dim_ ? grid.chunk()[k] : grid.shape()[k];
    if (bytes <= max_unit_bytes) break;
  }
  unit_chunks_ = 1;
  for (size_t k = split_dim_ + 1; k < rank; k++) unit_chunks_ *= grid.grid()[k];
  units_.resize(size_t((grid.count() + unit_chunks_ - 1) / unit_chunks_));
  for (uint64_t i = 0; i < grid.count(); i++)
    if (skip.empty() || !skip[i]) units_[size_t(i / unit_chunks_)].pending++;
  for (auto& u : units_)
    if (u.pending == 0) u.state = UnitState::Done;
  if (read_ahead_ > 0) prefetcher_ = std::thread([this] { prefetch_loop(); });
}

ChunkSource::~ChunkSource() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (prefetcher_.joinable()) prefetcher_.join();
}

ChunkSource::Stats ChunkSource::stats() {
  std::lock_guard<std::mutex> l(mu_);
  return stats_;
}

void ChunkSource::region(uint64_t unit, Shape* start, Shape* count) const {
  const size_t rank = grid_.shape().size();
  Shape first_start, first_count;
  grid_.region(unit * unit_chunks_, &first_start, &first_count);
  start->assign(rank, 0);
  count->assign(grid_.shape().begin(), grid_.shape().end());
  for (size_t k = 0; k <= split_dim_; k++) {
    (*start)[k] = first_start[k];
    (*count)[k] = first_count[k];
  }
}

void ChunkSource::read_unit(uint64_t unit, std::unique_lock<std::mutex>& lock) {
  Shape start, count;
  region(unit, &start, &count);
  uint64_t n = elem_size_;
  for (uint64_t c : count) n *= c;
  lock.unlock();
  std::vector<uint8_t> bytes;
  std::exception_ptr error;
  const auto t0 = Clock::now();
  try {
    bytes.resize(size_t(n));
    in_.read(start, count, bytes.data());
  } catch (...) {
    error = std::current_exception();
    bytes.clear();
  }
  const double took = seconds_since(t0);
  lock.lock();
  Unit& u = units_[size_t(unit)];
  u.bytes = std::move(bytes);
  u.error = error;
  u.state = UnitState::Read;
  in_memory_++;
  stats_.units_read++;
  stats_.bytes_read += error ? 0 : n;
  stats_.read_seconds += took;
  cv_.notify_all();
}

void ChunkSource::prefetch_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (size_t next = 0; next < units_.size(); next++) {
    // At most read_ahead units wait in memory for the workers.
    cv_.wait(lock, [&] { return stopping_ || in_memory_ < read_ahead_; });
    if (stopping_) return;
    if (units_[next].state != UnitState::Unread) continue;  // done, or a worker has it
    units_[next].state = UnitState::Reading;
    read_unit(next, lock);
  }
}

std::vector<uint8_t> ChunkSource::chunk(uint64_t i, std::vector<uint8_t> base) {
  const uint64_t unit = i / unit_chunks_;
  std::unique_lock<std::mutex> lock(mu_);
  Unit& u = units_[size_t(unit)];
  if (u.state == UnitState::Unread) {
    u.state = UnitState::Reading;
    read_unit(unit, lock);
  } else if (u.state == UnitState::Reading) {
    const auto t0 = Clock::now();
    cv_.wait(lock, [&] { return u.state != UnitState::Reading; });
    stats_.wait_seconds += seconds_since(t0);
  }
  if (u.error) std::rethrow_exception(u.error);
  // The unit's bytes stay put until its last pending chunk is copied out
  // (this one is still pending), so the copy runs without the lock.
  const uint8_t* box_bytes = u.bytes.data();
  lock.unlock();

  Shape box_start, box;
  region(unit, &box_start, &box);
  Shape start, count;
  grid_.region(i, &start, &count);
  Shape off(start.size());
  for (size_t k = 0; k < start.size(); k++) off[k] = start[k] - box_start[k];
  const size_t chunk_bytes = size_t(grid_.chunk_elements()) * elem_size_;
  std::vector<uint8_t> out = std::move(base);
  if (out.size() != chunk_bytes) {
    out.assign(chunk_bytes, 0);
    if (count != grid_.chunk())
      for (size_t b = 0; b < out.size(); b += elem_size_) std::memcpy(&out[b], fill_.data(), elem_size_);
  }
  copy_from_box(box_bytes, box, off, count, out.data(), grid_.chunk(), grid_.placement(i), elem_size_);

  lock.lock();
  if (--u.pending == 0) {
    u.state = UnitState::Done;
    std::vector<uint8_t>().swap(u.bytes);
    in_memory_--;
    cv_.notify_all();
  }
  return out;
}

}  // namespace cli
}  // namespace h5tx
