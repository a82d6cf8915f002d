// Simulated crashes in a forked child process.
//
// A power cut ends the process: no destructor, no error handler, no HDF5
// at-exit cleanup runs after it. So the crash tests run the workload in a
// child: the child's FaultEnv is set to die after operation k, its death
// hook (FaultEnv::on_death) writes the Env's image (its whole in-memory
// "disk", synced and unsynced, see FaultEnv::image) and whatever the test
// wants to know about how far the workload got (the payload) to a pipe, and
// the child _exits inside the Env call that was the crash point. The
// parent rebuilds the Env from the image, cuts the power (FaultEnv::crash,
// with whatever crash options it likes, as many times as it likes on
// clones), recovers and checks. h5tx's code never sees a "dead" Env.
//
// Why an image through a pipe: FaultEnv keeps its state in ordinary C++
// containers in the child's memory, which the parent cannot see. A
// MAP_SHARED region would need FaultEnv to allocate from it, and a real
// temporary directory would lose FaultEnv's model of what is synced. The
// image is small (the test stores are a few hundred KiB) and copying it
// once per crash point costs less than the workload.
//
// Fork rules: the parent must be single-threaded (checked: run_crash_child
// throws otherwise) and must have no HDF5 file open (the child would
// inherit HDF5's in-memory state of it); the parent may have used HDF5
// before, since its library state is copied whole. The child ends with
// _exit, never returning into the test framework.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "io/testing/fault_env.hpp"

namespace h5tx_test {

struct CrashChild {
  // The Env reached its crash point: the child ended inside that call.
  bool died = false;
  // The child's file system when it ended (before any power cut): alive,
  // no handles; call crash() to cut the power.
  std::unique_ptr<h5tx::testing::FaultEnv> env;
  // What the payload function returned when the child ended.
  std::string payload;
  // The work threw an h5tx::Error (the Env did not die): its message and path.
  std::optional<std::string> error, error_path;
};

// Forks a child that runs work(env) on a clone of `start` (which must have
// no open Files: clone() drops them); work may call env.crash_after() (the
// Env dies there) and may end early with die_now(). The child ends when the
// Env dies, when work returns, or when work throws an h5tx::Error; then
// payload() (if given) is called in the child and its result handed back.
// Any other outcome (another exception, a signal, a bad exit) throws
// std::runtime_error in the parent, naming it.
CrashChild run_crash_child(const h5tx::testing::FaultEnv& start,
                           const std::function<void(h5tx::testing::FaultEnv&)>& work,
                           const std::function<std::string()>& payload = nullptr);

// Inside work: the machine dies now, with whatever is open (a power cut
// with an open store). Does not return.
[[noreturn]] void die_now(h5tx::testing::FaultEnv& env);

// Throws std::logic_error unless the process has exactly one thread and
// HDF5 has no file open.
void require_fork_safe(const char* why);

// True in a child of run_crash_child.
bool in_crash_child();

// A tiny encoder for payloads.
class Bytes {
 public:
  Bytes() = default;
  explicit Bytes(std::string in) : s_(std::move(in)) {}
  Bytes& u64(uint64_t v);
  Bytes& str(const std::string& v);
  uint64_t get_u64();
  std::string get_str();
  const std::string& data() const { return s_; }

 private:
  std::string s_;
  size_t pos_ = 0;
};

}  // namespace h5tx_test
