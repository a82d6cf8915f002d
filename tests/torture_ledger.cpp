// Appends reliability figures to the ledger file (O_APPEND: one write per
// line, so concurrent test processes do not interleave).
#include "torture_ledger.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace h5tx_test {

static const char* trial_name(Trial t) {
  switch (t) {
    case Trial::CrashState:
      return "crash_states";
    case Trial::Kill:
      return "kills";
    case Trial::InjectedError:
      return "injected_errors";
    case Trial::BadInput:
      return "bad_inputs";
  }
  return "?";
}

void ledger_record(const std::string& scenario, int guarantee, Trial trial, uint64_t tried,
                   uint64_t violations) {
  std::string path;
  if (const char* p = std::getenv("H5TX_LEDGER")) {
    path = p;
  } else {
    std::string dir = std::string(H5TX_BINARY_DIR) + "/reliability";
    ::mkdir(dir.c_str(), 0755);
    path = dir + "/ledger.tsv";
  }
  std::string line = scenario + "\t" + std::to_string(guarantee) + "\t" + trial_name(trial) + "\t" +
                     std::to_string(tried) + "\t" + std::to_string(violations) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open ledger " + path);
  ssize_t n = ::write(fd, line.data(), line.size());
  ::close(fd);
  if (n != ssize_t(line.size())) throw std::runtime_error("short write to ledger " + path);
}

uint64_t torture_scale(uint64_t base) {
  double scale = 1;
  if (const char* s = std::getenv("H5TX_TORTURE_SCALE")) scale = std::atof(s);
  double v = double(base) * scale;
  return v < 1 ? 1 : uint64_t(v);
}

}  // namespace h5tx_test
