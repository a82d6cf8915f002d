// The one exception hierarchy of h5tx: every error is an h5tx::Error with a
// category, the path involved, and (for system errors) the errno.
#pragma once

#include "h5tx/export.hpp"

#include <stdexcept>
#include <string>

namespace h5tx {

enum class ErrorCode {
  Io,               // the operating system refused or failed an I/O call
  Corruption,       // on-disk data fails a checksum or does not parse
  Conflict,         // write-write conflict: another transaction committed first
  Busy,             // a lock is held by another transaction or process
  InvalidArgument,  // the caller asked for something that makes no sense
  NotFound,         // a file, dataset, chunk or transaction does not exist
  AlreadyExists,    // create of something that exists
  Unsupported,      // e.g. a store of a newer format version
  Hdf5,             // the HDF5 library reported an error
  State,            // operation not valid in the object's state (closed, ended)
};

H5TX_EXPORT const char* to_string(ErrorCode code);

class H5TX_EXPORT Error : public std::runtime_error {
 public:
  // message: what is wrong. path: the file or object involved ("" if none).
  // sys_errno: errno of the failed call, 0 if not a system error.
  Error(ErrorCode code, std::string path, const std::string& message, int sys_errno = 0);

  ErrorCode code() const noexcept { return code_; }
  const std::string& path() const noexcept { return path_; }
  int sys_errno() const noexcept { return errno_; }
  // The message without the path and errno decoration.
  const std::string& detail() const noexcept { return detail_; }

 private:
  ErrorCode code_;
  std::string path_;
  std::string detail_;
  int errno_;
};

#define H5TX_DEFINE_ERROR(Name, Code)                                     \
  class H5TX_EXPORT Name : public Error {                                 \
   public:                                                                \
    Name(std::string path, const std::string& message, int sys_errno = 0) \
        : Error(ErrorCode::Code, std::move(path), message, sys_errno) {}  \
  };

H5TX_DEFINE_ERROR(IoError, Io)
H5TX_DEFINE_ERROR(CorruptionError, Corruption)
H5TX_DEFINE_ERROR(ConflictError, Conflict)
H5TX_DEFINE_ERROR(BusyError, Busy)
H5TX_DEFINE_ERROR(InvalidArgumentError, InvalidArgument)
H5TX_DEFINE_ERROR(NotFoundError, NotFound)
H5TX_DEFINE_ERROR(AlreadyExistsError, AlreadyExists)
H5TX_DEFINE_ERROR(UnsupportedError, Unsupported)
H5TX_DEFINE_ERROR(Hdf5Error, Hdf5)
H5TX_DEFINE_ERROR(StateError, State)

#undef H5TX_DEFINE_ERROR

// Throws the Error subclass matching `code`.
[[noreturn]] void throw_error(ErrorCode code, const std::string& path, const std::string& message,
                              int sys_errno = 0);

}  // namespace h5tx
