// A planted violation for the layers:violation_fails test: the journal
// layer including a header of the store layer, which the layer check must
// refuse.
#include "journal/planted.hpp"
#include "store/planted.hpp"
