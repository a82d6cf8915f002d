// The one way h5tx prints a timeout in messages: "10 s", "0.25 s".
#pragma once

#include <chrono>
#include <string>

namespace h5tx {

std::string duration_text(std::chrono::milliseconds d);

}  // namespace h5tx
