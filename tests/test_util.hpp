// Helpers shared by the tests: scratch directories on the real file system.
#pragma once

#include <string>

namespace h5tx_test {

// A fresh empty directory under the build tree's scratch area, removed
// (recursively) when the object dies unless H5TX_KEEP_TEST_DIRS is set.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "t");
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `python3 -c script` (Debian's, which has h5py and numpy) and returns
// its output; fails the test if it exits non-zero. The script must not
// contain single quotes.
std::string python(const std::string& script);

}  // namespace h5tx_test
