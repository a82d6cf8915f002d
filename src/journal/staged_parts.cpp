// Staging tokens and part file names.
#include "journal/staged_parts.hpp"

#include <random>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {
namespace journal {

namespace {
constexpr char kPartPrefix[] = "part-";
constexpr size_t kPartHexDigits = 32;
}  // namespace

std::string stage_token(const std::string& dir) {
  return kStageTokenPrefix + dir;
}

std::string parse_stage_token(const std::string& token) {
  const std::string prefix = kStageTokenPrefix;
  if (token.compare(0, prefix.size(), prefix) != 0)
    throw InvalidArgumentError("", "not an h5tx staging token (expected '" + prefix + "<directory>')");
  std::string dir = token.substr(prefix.size());
  auto bad = [&](const std::string& why) { return InvalidArgumentError(dir, "bad staging token: " + why); };
  if (dir.empty() || dir[0] != '/') throw bad("the directory is not an absolute path");
  if (dir.find('\0') != std::string::npos) throw bad("NUL in the path");
  size_t at = 0;
  while (at < dir.size()) {
    size_t next = dir.find('/', at + 1);
    std::string part = dir.substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    if (part.empty() || part == "." || part == "..") throw bad("empty, '.' or '..' path component");
    at = next == std::string::npos ? dir.size() : next;
  }
  uint64_t txid = 0;
  TxState state = TxState::Done;
  if (!parse_tx_dir_name(path_basename(dir), &txid, &state) || state != TxState::Temp)
    throw bad("not a working_<txid>_temp directory");
  if (path_basename(path_dirname(dir)) != "journal") throw bad("not inside a store's journal/ directory");
  return dir;
}

std::string stage_home(const std::string& dir) {
  return path_dirname(path_dirname(dir));
}

std::string new_part_name() {
  static const char hex[] = "0123456789abcdef";
  std::random_device rd;  // the kernel's random source: a name no other attempt makes
  std::string s = kPartPrefix;
  for (size_t i = 0; i < kPartHexDigits / 8; i++) {
    uint32_t v = rd();
    for (int j = 0; j < 8; j++) s += hex[(v >> (4 * j)) & 15];
  }
  return s;
}

bool valid_part_name(const std::string& name) {
  const std::string prefix = kPartPrefix;
  if (name.size() != prefix.size() + kPartHexDigits || name.compare(0, prefix.size(), prefix) != 0)
    return false;
  for (size_t i = prefix.size(); i < name.size(); i++) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace journal
}  // namespace h5tx
