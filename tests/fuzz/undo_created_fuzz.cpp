// Fuzz target: the undo store's CREATED list (formats/undo-store.md).
// Seeds: formats/golden/undo-CREATED-*. Any input decodes to names that
// re-encode to the same text, or raises an h5tx::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "h5tx/error.hpp"
#include "store/undo_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto names = h5tx::journal::decode_created(text, "fuzz/CREATED");
    auto again = h5tx::journal::decode_created(h5tx::journal::encode_created(names), "fuzz/re-encoded");
    if (again != names) __builtin_trap();
  } catch (const h5tx::Error&) {
  }
  return 0;
}
