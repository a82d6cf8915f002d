// The one way h5tx prints a shape in messages: "[16,32]", with "unlimited"
// for kUnlimited dimensions, in both modes and the CLI's errors alike.
#pragma once

#include <string>

#include "h5tx/types.hpp"

namespace h5tx {

std::string shape_text(const Shape& s);

}  // namespace h5tx
