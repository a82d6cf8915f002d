// Fuzz target: the redo MANIFEST parser (formats/redo-manifest.md). Seeds:
// formats/golden/redo-manifest-*. Every input is parsed as is, then again
// with its length field and trailing XXH3-64 repaired, so the fuzzer reaches
// the body parser instead of stopping at the checksum. Any input must decode or raise an
// h5tx::Error; a decoded manifest must re-encode and decode to the same ops.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "h5tx/error.hpp"
#include "journal/manifest.hpp"

static void parse(const std::string& text) {
  try {
    h5tx::journal::Manifest m = h5tx::journal::decode_manifest(text, "fuzz/MANIFEST");
    std::string again = h5tx::journal::encode_manifest(m);
    h5tx::journal::Manifest m2 = h5tx::journal::decode_manifest(again, "fuzz/re-encoded");
    if (m2.ops.size() != m.ops.size() || m2.txid != m.txid || m2.metadata != m.metadata) __builtin_trap();
  } catch (const h5tx::Error&) {
  }
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  parse(text);
  if (text.size() >= 48) {
    uint64_t len = text.size();
    std::memcpy(&text[32], &len, 8);
    uint64_t sum = h5tx::journal::checksum(text.data(), text.size() - 8);
    std::memcpy(&text[text.size() - 8], &sum, 8);
    parse(text);
  }
  return 0;
}
