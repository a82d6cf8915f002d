// Scratch directories for tests.
#include "test_util.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>

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

std::string python(const std::string& script) {
  // Debian's python3 carries h5py; a python3 earlier in PATH (pyenv) may not.
  std::string py = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  std::string cmd = py + " -c '" + script + "' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  INFO(out);
  REQUIRE(rc == 0);
  return out;
}

}  // namespace h5tx_test
