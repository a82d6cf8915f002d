// Shapes in messages (util/shape_text.hpp).
#include "util/shape_text.hpp"

namespace h5tx {

std::string shape_text(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); i++) {
    if (i) out += ",";
    out += s[i] == kUnlimited ? std::string("unlimited") : std::to_string(s[i]);
  }
  return out + "]";
}

}  // namespace h5tx
