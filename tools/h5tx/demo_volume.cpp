// The synthetic demo volume (see demo_volume.hpp).
#include "demo_volume.hpp"

#include <cmath>
#include <cstring>

#include "args.hpp"
#include "input.hpp"

namespace h5tx {
namespace cli {

namespace {

uint64_t tri(uint64_t t, uint64_t period) {
  uint64_t p = t % period, half = period / 2;
  return p < half ? p : period - p;
}

uint64_t mix(uint64_t h) {  // splitmix64 finalizer
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

class DemoInput : public Input {
 public:
  explicit DemoInput(const Shape& shape) : shape_(shape) {}
  DType dtype() const override { return DType::U16; }
  const Shape& shape() const override { return shape_; }
  std::string describe() const override { return "synthetic volume " + format_shape(shape_, "x"); }
  std::string identity() const override { return "demo-volume-v1|" + format_shape(shape_); }
  void read(const Shape& start, const Shape& count, void* out) override {
    uint16_t* p = static_cast<uint16_t*>(out);
    for (uint64_t z = start[0]; z < start[0] + count[0]; z++)
      for (uint64_t y = start[1]; y < start[1] + count[1]; y++)
        for (uint64_t x = start[2]; x < start[2] + count[2]; x++) *p++ = demo_voxel(z, y, x);
  }

 private:
  Shape shape_;
};

}  // namespace

uint16_t demo_voxel(uint64_t z, uint64_t y, uint64_t x) {
  uint64_t smooth = 1000 + 40 * tri(x + 2 * y, 256) + 30 * tri(y + 3 * z, 200) + 20 * tri(z + x, 180);
  uint64_t noise = mix((z << 42) ^ (y << 21) ^ x) & 0xff;
  return uint16_t(smooth + noise);
}

Shape demo_shape(uint64_t mib) {
  double voxels = double(mib) * 1024 * 1024 / 2;
  uint64_t edge = uint64_t(std::cbrt(voxels));
  if (edge < 16) edge = 16;
  return Shape{edge, edge, edge};
}

std::unique_ptr<Input> demo_input(const Shape& shape) {
  return std::unique_ptr<Input>(new DemoInput(shape));
}

}  // namespace cli
}  // namespace h5tx
