// Helpers of the process tests that share one small store between a writer
// process and reader processes: a dataset of two chunks that every
// transaction writes with one value, so a reader can tell a consistent
// snapshot (both chunks equal) at a glance.
#pragma once

#include <sys/wait.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <cstring>
#include <string>
#include <vector>

#include "h5tx/store.hpp"

namespace pair_test {

constexpr uint64_t kChunk = 256;  // u32 elements per chunk

// One chunk of u32 `v`.
inline std::vector<uint8_t> filled(uint32_t v) {
  std::vector<uint32_t> w(kChunk, v);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(w.data());
  return std::vector<uint8_t>(p, p + w.size() * 4);
}

inline uint32_t first_value(const std::vector<uint8_t>& b) {
  uint32_t v;
  std::memcpy(&v, b.data(), 4);
  return v;
}

// A child's exit status (128 + signal if it was killed).
inline int wait_status(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Creates `home` with file:dataset (two chunks), both chunks holding 1.
inline void make_pair_store(const std::string& home, const h5tx::Options& options, const char* file,
                            const char* dataset) {
  auto s = h5tx::Store::create(home, options);
  auto tx = s->begin();
  tx.create_file(file);
  h5tx::DatasetSpec spec;
  spec.dtype = h5tx::DType::U32;
  spec.shape = {2 * kChunk};
  spec.chunk = {kChunk};
  tx.create_dataset(file, dataset, spec);
  tx.write_chunk(file, dataset, {0}, filled(1));
  tx.write_chunk(file, dataset, {1}, filled(1));
  tx.commit();
  s->close();
}

// A writer process: commits values 2..last, each transaction writing both
// chunks (blind writes), closes the store and _exits (0, or 1 on an error).
[[noreturn]] inline void writer_main(const std::string& home, const h5tx::Options& options, const char* file,
                                     const char* dataset, uint32_t last) {
  try {
    auto s = h5tx::Store::open(home, options);
    for (uint32_t v = 2; v <= last; v++) {
      h5tx::TxOptions to;
      to.check_conflicts = false;
      auto tx = s->begin(to);
      tx.write_chunk(file, dataset, {0}, filled(v));
      tx.write_chunk(file, dataset, {1}, filled(v));
      tx.commit();
    }
    s->close();
    ::_exit(0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer: %s\n", e.what());
    ::_exit(1);
  }
}

}  // namespace pair_test
