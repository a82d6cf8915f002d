// WriteArena: bump allocation over reusable blocks.
#include "undo/write_arena.hpp"

#include <algorithm>
#include <cstring>

namespace h5tx {
namespace undo {

const char* WriteArena::copy(const void* p, size_t n) {
  if (blocks_.empty() || blocks_[current_].size - fill_ < n) {
    // Next block that fits (a write larger than a block gets its own).
    size_t next = blocks_.empty() ? 0 : current_ + 1;
    while (next < blocks_.size() && blocks_[next].size < n) next++;
    if (next >= blocks_.size()) {
      size_t size = std::max(block_bytes_, n);
      blocks_.push_back(Block{std::unique_ptr<char[]>(new char[size]), size});
      next = blocks_.size() - 1;
    } else if (next != current_ + 1 && !blocks_.empty()) {
      std::swap(blocks_[next], blocks_[current_ + 1]);  // keep used blocks in front
      next = current_ + 1;
    }
    current_ = next;
    fill_ = 0;
  }
  char* out = blocks_[current_].mem.get() + fill_;
  std::memcpy(out, p, n);
  fill_ += n;
  used_ += n;
  return out;
}

void WriteArena::reset() {
  current_ = 0;
  fill_ = 0;
  used_ = 0;
}

void WriteArena::release(size_t keep_bytes) {
  reset();
  size_t kept = 0, i = 0;
  while (i < blocks_.size() && kept + blocks_[i].size <= keep_bytes) kept += blocks_[i++].size;
  blocks_.resize(i);
}

}  // namespace undo
}  // namespace h5tx
