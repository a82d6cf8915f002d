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

// Like python(), but returns the output and the exit status instead of
// failing the test when the script fails.
std::string python_status(const std::string& script, int* status);

// A /usr/bin/python3 process (h5py) running `script` beside the test, e.g.
// holding an HDF5 file open. line() reads one line of its stdout (the
// script says when it is ready); finish() closes its stdin (a script
// blocked in sys.stdin.read() then goes on), collects the rest of its output
// into *rest (if given) and waits for it, returning its exit status; the
// destructor does the same.
class PythonProcess {
 public:
  explicit PythonProcess(const std::string& script);
  ~PythonProcess();
  PythonProcess(const PythonProcess&) = delete;
  PythonProcess& operator=(const PythonProcess&) = delete;
  std::string line();
  int finish(std::string* rest = nullptr);

 private:
  int pid_ = -1;
  int in_fd_ = -1;
  void* out_ = nullptr;  // FILE*
};

// A child process killed (SIGKILL) and reaped when this dies, unless pid
// was set to -1 (the test waited for it): a failed check that leaves a
// blocked child alive would keep ctest waiting on its output.
struct ChildGuard {
  int pid = -1;
  ~ChildGuard();
};

}  // namespace h5tx_test
