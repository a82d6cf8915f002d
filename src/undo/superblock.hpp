// HDF5's superblock file-consistency flags (superblock versions 2 and 3), as
// the undo driver needs them: HDF5 1.10 sets them in a version 3 superblock
// when it opens a file read-write and clears them at close, and refuses any
// open while they are set ("file is already open for write"). A pending undo
// journal therefore keeps them set on disk (they were set when the
// transaction began), which is what makes plain HDF5 readers refuse a file
// with an unfinished transaction. After the driver reverted such a
// transaction the file is consistent again and the flags are stale: clear
// them; a read-only view through a pending journal hides them.
// Layout: HDF5 File Format Specification, "Superblock version 2 and 3".
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "h5tx/env.hpp"

namespace h5tx {
namespace undo {

// Jenkins lookup3 hashlittle, as HDF5's H5_checksum_lookup3 (seed 0 for
// metadata checksums).
uint32_t checksum_lookup3(const void* data, size_t length, uint32_t initval = 0);

struct SuperblockFlags {
  bool found = false;   // a version 2 or 3 superblock with a valid checksum
  uint64_t offset = 0;  // where it starts (0, or past a user block)
  std::string bytes;    // the whole superblock, checksum included
  uint8_t flags() const { return found ? static_cast<uint8_t>(bytes[11]) : 0; }
  // The superblock with its flags cleared and its checksum recomputed.
  std::string cleared() const;
};

// Finds the superblock at 0, 512, 1024, 2048, ... below `size` using
// read(offset, buf, n) -> bytes read. found = false for versions 0 and 1
// (which have no flags HDF5 1.10 checks) or anything unrecognised.
SuperblockFlags find_superblock(uint64_t size, const std::function<size_t(uint64_t, void*, size_t)>& read);

// Clears stale flags of a v2/v3 superblock in `data` (not synced). True if it wrote.
bool clear_superblock_flags(File& data);

}  // namespace undo
}  // namespace h5tx
