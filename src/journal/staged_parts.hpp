// The names of staged writing (formats/redo-manifest.md, "Staged parts"):
// the staging token a transaction hands to worker processes (it names the
// transaction's journal/working_<id>_temp/ directory) and the part files
// the workers write into it (part-<32 lowercase hex>, random per writer).
#pragma once

#include <string>

namespace h5tx {
namespace journal {

constexpr char kStageTokenPrefix[] = "h5tx-stage-1:";

// The token of the staging directory `dir` (an absolute path).
std::string stage_token(const std::string& dir);
// The staging directory a token names: InvalidArgumentError unless it is a
// token of this version naming HOME/journal/working_<txid>_temp with an
// absolute path without "." or ".." components.
std::string parse_stage_token(const std::string& token);
// The HOME of a staging directory that parse_stage_token accepted.
std::string stage_home(const std::string& dir);

// A fresh part file name: "part-" and 32 random lowercase hex digits.
std::string new_part_name();
// True for exactly the names new_part_name makes.
bool valid_part_name(const std::string& name);

}  // namespace journal
}  // namespace h5tx
