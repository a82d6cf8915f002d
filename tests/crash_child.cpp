// Simulated crashes in forked children; see crash_child.hpp.
#include "crash_child.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include <hdf5.h>

#include "h5tx/error.hpp"

namespace h5tx_test {

using h5tx::testing::FaultEnv;

namespace {

// Exit codes of a child that reported (0) or failed to (anything else).
constexpr int kReported = 0;
constexpr int kPipeFailed = 71;

bool g_in_crash_child = false;

void write_all_or_exit(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(kPipeFailed);
    done += static_cast<size_t>(n);
  }
}

// The child's one message: status, payload, error, error path, image.
[[noreturn]] void report(int fd, char status, const std::string& image,
                         const std::function<std::string()>& payload, const std::string& error,
                         const std::string& error_path) {
  std::string p;
  if (payload && status != 'X') p = payload();
  Bytes msg;
  msg.str(std::string(1, status)).str(p).str(error).str(error_path).str(image);
  write_all_or_exit(fd, msg.data());
  _exit(kReported);
}

}  // namespace

Bytes& Bytes::u64(uint64_t v) {
  for (int i = 0; i < 8; i++) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return *this;
}

Bytes& Bytes::str(const std::string& v) {
  u64(v.size());
  s_ += v;
  return *this;
}

uint64_t Bytes::get_u64() {
  if (s_.size() - pos_ < 8) throw std::runtime_error("payload truncated");
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= uint64_t(static_cast<unsigned char>(s_[pos_ + i])) << (8 * i);
  pos_ += 8;
  return v;
}

std::string Bytes::get_str() {
  uint64_t n = get_u64();
  if (s_.size() - pos_ < n) throw std::runtime_error("payload truncated");
  std::string v = s_.substr(pos_, n);
  pos_ += n;
  return v;
}

void require_fork_safe(const char* why) {
  if (DIR* d = ::opendir("/proc/self/task")) {
    int threads = 0;
    while (struct dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') threads++;
    ::closedir(d);
    if (threads > 1)
      throw std::logic_error(std::string(why) + ": the process has " + std::to_string(threads) +
                             " threads; fork only from a single-threaded process");
  }
  ssize_t open_files = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  if (open_files > 0)
    throw std::logic_error(std::string(why) + ": HDF5 has " + std::to_string(open_files) +
                           " file(s) open; a child would inherit them");
}

bool in_crash_child() {
  return g_in_crash_child;
}

void die_now(FaultEnv& env) {
  env.crash_after(env.op_count());  // the death hook _exits
  std::fprintf(stderr, "die_now: the Env has no death hook (not in a crash child?)\n");
  std::abort();
}

CrashChild run_crash_child(const FaultEnv& start, const std::function<void(FaultEnv&)>& work,
                           const std::function<std::string()>& payload) {
  require_fork_safe("run_crash_child");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[0]);
    g_in_crash_child = true;
    const int out = fds[1];
    if (!std::getenv("H5TX_TORTURE_VERBOSE")) {
      int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (devnull >= 0) ::dup2(devnull, 2);
    }
    std::unique_ptr<FaultEnv> env = start.clone();
    env->on_death([&](const std::string& image) { report(out, 'D', image, payload, "", ""); });
    try {
      work(*env);
    } catch (const h5tx::Error& e) {
      report(out, 'E', env->image(), payload, e.what(), e.path());
    } catch (const std::exception& e) {
      report(out, 'X', "", nullptr, e.what(), "");
    } catch (...) {
      report(out, 'X', "", nullptr, "an exception that is not a std::exception", "");
    }
    report(out, 'F', env->image(), payload, "", "");
  }
  ::close(fds[1]);
  std::string msg;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(st))
    throw std::runtime_error("crash child killed by signal " + std::to_string(WTERMSIG(st)) + " (" +
                             strsignal(WTERMSIG(st)) + ")");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != kReported)
    throw std::runtime_error("crash child exited with status " + std::to_string(WEXITSTATUS(st)));
  Bytes in(std::move(msg));
  CrashChild r;
  const std::string status = in.get_str();
  r.payload = in.get_str();
  std::string error = in.get_str(), error_path = in.get_str();
  if (status == "X") throw std::runtime_error("crash child failed: " + error);
  r.died = status == "D";
  if (status == "E") {
    r.error = error;
    r.error_path = error_path;
  }
  r.env = FaultEnv::from_image(in.get_str());
  return r;
}

}  // namespace h5tx_test
