// Timeouts in messages (util/duration_text.hpp).
#include "util/duration_text.hpp"

#include <cstdio>

namespace h5tx {

std::string duration_text(std::chrono::milliseconds d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%g s", static_cast<double>(d.count()) / 1000.0);
  return buf;
}

}  // namespace h5tx
