// The control of flush_includes_store.cpp (tests/layers/tests.cmake):
// compiled as part of the flush layer, it includes headers of its own layer
// and of the layers below, which must compile.
#include "flush/flusher.hpp"
#include "journal/tx_dir.hpp"
#include "util/names.hpp"
#include "io/testing/fault_env.hpp"  // the test Env sits with io
