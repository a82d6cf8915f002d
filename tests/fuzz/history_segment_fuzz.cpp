// Fuzz target: the history segment parser (formats/history.md). Seeds:
// formats/golden/history-segment-*. Any input must either parse (and every
// chunk record then reads or fails with an h5tx::Error) or raise an
// h5tx::Error; nothing else (crash, UB, other exception). The parser reads
// through an Env, so each input goes to a scratch file first.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "journal/history_segment.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/h5tx-history-fuzz-" + std::to_string(::getpid()) + ".seg";
  h5tx::Env* env = h5tx::Env::posix();
  {
    auto f = env->open(path, h5tx::OpenMode::CreateTrunc);
    if (size) f->write(0, data, size);
  }
  try {
    h5tx::journal::HistorySegment seg = h5tx::journal::read_segment(*env, path);
    for (const auto& r : seg.records) {
      if (!r.present || r.op.kind != h5tx::journal::OpKind::WriteChunk) continue;
      try {
        h5tx::journal::read_segment_chunk(*env, path, r.op);
      } catch (const h5tx::Error&) {
      }
    }
  } catch (const h5tx::Error&) {
  }
  return 0;
}
