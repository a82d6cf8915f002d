// Planted violation (tests/layers/tests.cmake): compiled as part of the
// flush layer, it includes a header of the store layer above it. The
// layer's include root does not hold store/, so this must not compile.
#include "store/impl.hpp"
#include "journal/tx_dir.hpp"  // a layer below: fine on its own (see flush_includes_journal.cpp)
