// Helpers of the end-to-end CLI tests (tests/cli_*_test.cpp): run the real
// binary (build/bin/h5tx) with its output captured, or as a background
// process whose stdout is read line by line (to signal it mid-ingest).
#pragma once

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"

namespace cli_test {

inline const std::string& binary() {
  static const std::string b = std::string(H5TX_BINARY_DIR) + "/bin/h5tx";
  return b;
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), std::streamsize(bytes.size()));
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

inline std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  std::string l;
  while (std::getline(in, l)) v.push_back(l);
  return v;
}

struct Result {
  int status = -1;
  std::string out, err;
};

// Runs `argv` (argv[0] is the program path) with stdout/stderr captured in
// files of `scratch`, stdin from `stdin_path` (default /dev/null).
inline Result run_program(const std::vector<std::string>& argv, const std::string& scratch,
                          const std::string& stdin_path = "/dev/null") {
  std::string out = scratch + "/.stdout", err = scratch + "/.stderr";
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int i = ::open(stdin_path.c_str(), O_RDONLY);
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(i, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  Result r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// h5tx ARGS, in `dir`; the command line and its output are INFO for a failing check.
inline Result cli(const h5tx_test::TempDir& dir, std::vector<std::string> args,
                  const std::string& stdin_path = "/dev/null") {
  args.insert(args.begin(), binary());
  Result r = run_program(args, dir.path(), stdin_path);
  std::string line;
  for (size_t i = 1; i < args.size(); i++) line += " " + args[i];
  UNSCOPED_INFO("h5tx" << line << " -> " << r.status << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  return r;
}

// h5tx running in the background: stdout through a pipe, stderr to a file.
class Background {
 public:
  // stdin from `stdin_path` if given (else the test's own).
  Background(const h5tx_test::TempDir& dir, std::vector<std::string> args, const std::string& stdin_path = "")
      : err_path_(dir / ".bg.stderr") {
    args.insert(args.begin(), binary());
    int p[2];
    REQUIRE(::pipe(p) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      if (!stdin_path.empty()) ::dup2(::open(stdin_path.c_str(), O_RDONLY), 0);
      ::dup2(p[1], 1);
      int e = ::open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(e, 2);
      ::close(p[0]);
      std::vector<char*> av;
      for (const std::string& s : args) av.push_back(const_cast<char*>(s.c_str()));
      av.push_back(nullptr);
      ::execv(av[0], av.data());
      ::_exit(127);
    }
    ::close(p[1]);
    fd_ = p[0];
  }
  ~Background() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  // Reads stdout until `n` lines start with `prefix` (or EOF); returns that count.
  int wait_lines(const std::string& prefix, int n) {
    int count = 0;
    char buf[4096];
    while (true) {
      count = 0;
      for (const std::string& l : lines_of(out_)) count += l.compare(0, prefix.size(), prefix) == 0;
      if (count >= n) return count;
      ssize_t got = ::read(fd_, buf, sizeof buf);
      if (got <= 0) return count;
      out_.append(buf, size_t(got));
    }
  }
  void signal(int sig) { ::kill(pid_, sig); }
  // Waits for the exit (reading the rest of stdout); exit status, or 128 + signal.
  int wait() {
    char buf[4096];
    ssize_t got;
    while ((got = ::read(fd_, buf, sizeof buf)) > 0) out_.append(buf, size_t(got));
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  const std::string& out() const { return out_; }
  std::string err() const { return read_file(err_path_); }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string out_, err_path_;
};

}  // namespace cli_test
