// Scratch directories for tests.
#include "test_util.hpp"

#include <unistd.h>

#include <atomic>
#include <boost/filesystem.hpp>
#include <cstdlib>

namespace h5tx_test {

TempDir::TempDir(const std::string& tag) {
  static std::atomic<int> counter{0};
  const char* base = std::getenv("H5TX_TEST_TMP");
  std::string root = base ? base : boost::filesystem::temp_directory_path().string();
  path_ = root + "/h5tx-" + tag + "-" + std::to_string(::getpid()) + "-" +
          std::to_string(counter++);
  boost::filesystem::remove_all(path_);
  boost::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  if (std::getenv("H5TX_KEEP_TEST_DIRS")) return;
  boost::system::error_code ec;
  boost::filesystem::remove_all(path_, ec);
}

}  // namespace h5tx_test
