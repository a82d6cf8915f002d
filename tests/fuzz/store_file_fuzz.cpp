// Fuzz target: the h5tx.store parser (formats/store-file.md). Seeds:
// formats/golden/h5tx.store-*. Any input must either parse to a valid
// format or raise an h5tx::Error; nothing else (crash, UB, other exception).
#include <cstddef>
#include <cstdint>
#include <string>

#include "h5tx/error.hpp"
#include "store/layout.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    h5tx::StoreFormat f = h5tx::StoreFormat::decode(text, "fuzz/h5tx.store");
    // A parsed format re-encodes to something that parses to the same values.
    h5tx::StoreFormat g = h5tx::StoreFormat::decode(f.encode(), "fuzz/re-encoded");
    if (g.version != f.version || g.mode != f.mode || g.undo_page_size != f.undo_page_size ||
        g.history != f.history)
      __builtin_trap();
  } catch (const h5tx::Error&) {
  }
  return 0;
}
