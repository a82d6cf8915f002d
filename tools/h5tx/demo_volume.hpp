// The synthetic 3-D volume of `h5tx demo`: u16 voxels of a smooth function
// (three crossed triangle waves) plus hashed noise. Integer arithmetic only,
// so every machine and every run produces the same bytes, and any chunk can
// be regenerated on its own to verify what was stored.
#pragma once

#include <cstdint>
#include <memory>

#include "h5tx/types.hpp"

namespace h5tx {
namespace cli {

class Input;

// Voxel (z, y, x) of the volume.
uint16_t demo_voxel(uint64_t z, uint64_t y, uint64_t x);

// A cube of about `mib` MiB of u16 voxels (edge at least 16).
Shape demo_shape(uint64_t mib);

// The volume as an ingest input (computed on demand, nothing on disk).
std::unique_ptr<Input> demo_input(const Shape& shape);

}  // namespace cli
}  // namespace h5tx
