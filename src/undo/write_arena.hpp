// WriteArena: the memory behind the undo driver's write buffer. Buffered
// writes are copied into large blocks that are reused after every spill
// instead of one heap string per write, so a transaction that buffers many
// megabytes does not fault fresh pages in (and zero them) again for every
// buffer-full, and writes that were adjacent in the file are usually
// adjacent in memory too (a spill writes them with one call).
#pragma once

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <vector>

namespace h5tx {
namespace undo {

class WriteArena {
 public:
  explicit WriteArena(size_t block_bytes = 2 << 20) : block_bytes_(block_bytes) {}

  // A copy of [p, p + n), valid until reset() or release().
  const char* copy(const void* p, size_t n);
  // Bytes handed out since the last reset (live or overwritten).
  size_t used() const { return used_; }
  // Forgets every copy; keeps the blocks for reuse.
  void reset();
  // Forgets every copy; keeps at most keep_bytes of blocks.
  void release(size_t keep_bytes);

 private:
  struct Free {
    void operator()(char* p) const { std::free(p); }
  };
  struct Block {
    std::unique_ptr<char, Free> mem;
    size_t size;
  };
  static Block allocate(size_t size);
  size_t block_bytes_;
  std::vector<Block> blocks_;  // blocks_[0..current_] are in use
  size_t current_ = 0;
  size_t fill_ = 0;  // bytes used in blocks_[current_]
  size_t used_ = 0;
};

}  // namespace undo
}  // namespace h5tx
