// Fuzz target: the undo journal parsers, ours (formats/undo-journal.md) and
// the legacy sec2j one (formats/sec2j-legacy-journal.md), through the same
// entry point recovery uses. Seeds: formats/golden/undo-journal-*,
// sec2j-legacy-journal*. Any input must load (and its before-images then
// apply to a data file) or raise an h5tx::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "h5tx/error.hpp"
#include "io/testing/fault_env.hpp"
#include "undo/pending_journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  h5tx::testing::FaultEnv env;
  {
    auto j = env.open("/f.h5.journal", h5tx::OpenMode::CreateTrunc);
    if (size) j->write(0, data, size);
    auto d = env.open("/f.h5", h5tx::OpenMode::CreateTrunc);
    std::string bytes(8192, 'x');
    d->write(0, bytes.data(), bytes.size());
  }
  try {
    auto pending = h5tx::undo::PendingJournal::load(env, "/f.h5.journal");
    if (pending && !pending->nothing_to_undo()) {
      uint64_t total = 0;
      for (const auto& im : pending->images()) total += im.length;
      if (total < (64u << 20)) {
        auto d = env.open("/f.h5", h5tx::OpenMode::ReadWrite);
        pending->apply(*d);
      }
    }
  } catch (const h5tx::Error&) {
  }
  return 0;
}
