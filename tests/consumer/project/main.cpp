// A user's program built against the installed h5tx: creates a store,
// commits a chunk, reopens and reads it back. Exits non-zero on any mismatch.
#include <h5tx/env.hpp>
#include <h5tx/store.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

static int fail(const std::string& why) {
  std::fprintf(stderr, "consumer: %s\n", why.c_str());
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: consumer SCRATCH_DIR");
  std::string dir = argv[1];
  h5tx::Env* env = h5tx::Env::posix();
  env->create_dir_if_missing(dir);
  std::string home = dir + "/store";
  try {
    h5tx::Store::open(home);
    return fail("opening a missing store did not throw");
  } catch (const h5tx::NotFoundError& e) {
    if (e.path() != home) return fail("NotFoundError names '" + e.path() + "', not the store");
  }
  std::vector<uint8_t> chunk(16 * 16 * 2);
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = uint8_t(i * 7);
  {
    auto store = h5tx::Store::create(home);
    auto tx = store->begin();
    tx.create_file("v.h5");
    h5tx::DatasetSpec spec;
    spec.dtype = h5tx::DType::U16;
    spec.shape = {32, 32};
    spec.chunk = {16, 16};
    tx.create_dataset("v.h5", "/a", spec);
    tx.write_chunk("v.h5", "/a", {1, 0}, chunk);
    tx.commit();
    store->close();
  }
  auto store = h5tx::Store::open(home);
  auto tx = store->begin(h5tx::read_only_tx());
  if (tx.read_chunk("v.h5", "/a", {1, 0}) != chunk) return fail("chunk read back differs");
  std::printf("h5tx %s: store round trip ok\n", h5tx::version());
  return 0;
}
