// RAII ownership of HDF5 identifiers, HDF5 error stack -> h5tx::Hdf5Error,
// and the process-wide HDF5 mutex.
//
// The Debian HDF5 is the thread-safe build: each API call is serialized by
// HDF5's own global lock. That does not make a *sequence* of calls atomic
// (open a dataset, write a chunk, flush; or driver state that spans calls),
// so h5tx code holds hdf5::Lock around every sequence of HDF5 calls that
// must not interleave with another thread's. The mutex is recursive so
// helpers can nest. It is the one mutex of src/ that is not a Mutex
// (util/mutex.hpp): it guards HDF5's state, not a member of ours, and
// clang's analysis cannot express a lock taken again by its holder.
#pragma once

#include <hdf5.h>

#include <mutex>
#include <string>
#include <utility>

namespace h5tx {
namespace hdf5 {

std::recursive_mutex& mutex();
using Lock = std::lock_guard<std::recursive_mutex>;

// Turns HDF5's automatic error printing off for the calling thread (the
// setting is per thread in a thread-safe HDF5); h5tx reads the error stack
// itself and puts it into the exception message. Cheap after the first call.
void silence_error_printing();

// The current HDF5 error stack as one line ("H5Dopen2(): unable to open dataset; ...").
std::string error_stack_message();

// Throws Hdf5Error("<what>: <HDF5 message>", path) if status < 0.
[[noreturn]] void throw_hdf5_error(const std::string& what, const std::string& path);
inline herr_t check(herr_t status, const char* what, const std::string& path = "") {
  if (status < 0) throw_hdf5_error(what, path);
  return status;
}
inline hid_t check_id(hid_t id, const char* what, const std::string& path = "") {
  if (id < 0) throw_hdf5_error(what, path);
  return id;
}

// Owns one hid_t of any kind and closes it with the matching H5*close
// (found with H5Iget_type). Move-only.
class Handle {
 public:
  Handle() = default;
  // Takes ownership; throws Hdf5Error if id < 0.
  Handle(hid_t id, const char* what, const std::string& path = "") : id_(check_id(id, what, path)) {}
  static Handle adopt(hid_t id) {
    Handle h;
    h.id_ = id;
    return h;
  }
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  hid_t release() { return std::exchange(id_, H5I_INVALID_HID); }
  // Closes now. A failing H5Fclose is reported by close_checked instead.
  void reset() noexcept;
  // Closes now and throws Hdf5Error if HDF5 reports a failure (for files,
  // where a failed close can mean data did not reach the driver).
  void close_checked(const std::string& path = "");

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Convenience typed names (all are Handle; the name documents intent).
using FileHandle = Handle;
using GroupHandle = Handle;
using DatasetHandle = Handle;
using DataspaceHandle = Handle;
using TypeHandle = Handle;
using PlistHandle = Handle;
using AttributeHandle = Handle;

// True if `path` (absolute, e.g. "/a/b") names an existing link in file.
bool link_exists(hid_t file, const std::string& path);
// Opens group `path`, creating missing intermediate groups.
Handle ensure_group(hid_t file, const std::string& path);

}  // namespace hdf5
}  // namespace h5tx
