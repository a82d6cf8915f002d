// WriteArena: bump allocation over reusable blocks.
#include "undo/write_arena.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

namespace h5tx {
namespace undo {

namespace {

constexpr size_t kHugePage = 2 << 20;

}  // namespace

// Blocks are aligned to 2 MiB and, where the kernel offers it, backed by
// transparent huge pages: filling a fresh 16 MiB buffer then takes a few
// page faults instead of thousands (each one costly in a VM).
WriteArena::Block WriteArena::allocate(size_t size) {
  size = (size + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, size);
  if (!p) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  ::madvise(p, size, MADV_HUGEPAGE);  // a hint: failure only costs speed
#endif
  return Block{std::unique_ptr<char, Free>(static_cast<char*>(p)), size};
}

const char* WriteArena::copy(const void* p, size_t n) {
  if (blocks_.empty() || blocks_[current_].size - fill_ < n) {
    // Next block that fits (a write larger than a block gets its own).
    size_t next = blocks_.empty() ? 0 : current_ + 1;
    while (next < blocks_.size() && blocks_[next].size < n) next++;
    if (next >= blocks_.size()) {
      blocks_.push_back(allocate(std::max(block_bytes_, n)));
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
