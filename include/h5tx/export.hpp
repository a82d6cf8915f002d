// H5TX_EXPORT marks the public API. libh5tx is compiled with hidden
// visibility, so the shared library exports what carries this mark (the
// classes and functions of include/h5tx/, and the sec2j C names) and
// nothing of the internals. For users of the headers it changes nothing.
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define H5TX_EXPORT __attribute__((visibility("default")))
#else
#define H5TX_EXPORT
#endif
