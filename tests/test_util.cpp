// Scratch directories for tests.
#include "test_util.hpp"

#include <signal.h>
#include <sys/wait.h>
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
  path_ = root + "/h5tx-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  boost::filesystem::remove_all(path_);
  boost::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  if (std::getenv("H5TX_KEEP_TEST_DIRS")) return;
  boost::system::error_code ec;
  boost::filesystem::remove_all(path_, ec);
}

namespace {

// Debian's python3 carries h5py; a python3 earlier in PATH (pyenv) may not.
const char* debian_python() {
  return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
}

}  // namespace

std::string python_status(const std::string& script, int* status) {
  std::string cmd = std::string(debian_python()) + " -c '" + script + "' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int rc = pclose(p);
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
  return out;
}

std::string python(const std::string& script) {
  int status = 0;
  std::string out = python_status(script, &status);
  INFO(out);
  REQUIRE(status == 0);
  return out;
}

PythonProcess::PythonProcess(const std::string& script) {
  int in[2], out[2];
  REQUIRE(::pipe(in) == 0);
  REQUIRE(::pipe(out) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(in[0]);
    ::close(in[1]);
    ::close(out[0]);
    ::close(out[1]);
    const char* py = debian_python();
    ::execlp(py, py, "-u", "-c", script.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  pid_ = pid;
  in_fd_ = in[1];
  out_ = ::fdopen(out[0], "r");
}

std::string PythonProcess::line() {
  std::string s;
  int c;
  while ((c = std::fgetc(static_cast<FILE*>(out_))) != EOF && c != '\n') s.push_back(static_cast<char>(c));
  return s;
}

int PythonProcess::finish(std::string* rest) {
  if (pid_ < 0) return -1;
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
  int c;
  while (out_ && (c = std::fgetc(static_cast<FILE*>(out_))) != EOF)
    if (rest) rest->push_back(static_cast<char>(c));
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
  if (out_) std::fclose(static_cast<FILE*>(out_));
  out_ = nullptr;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

PythonProcess::~PythonProcess() {
  finish();
}

ChildGuard::~ChildGuard() {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

}  // namespace h5tx_test
