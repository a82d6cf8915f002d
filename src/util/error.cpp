// Formatting of h5tx::Error messages and the code -> subclass mapping.
#include "h5tx/error.hpp"

#include <cstring>

namespace h5tx {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::Io:
      return "I/O error";
    case ErrorCode::Corruption:
      return "corruption";
    case ErrorCode::Conflict:
      return "conflict";
    case ErrorCode::Busy:
      return "busy";
    case ErrorCode::InvalidArgument:
      return "invalid argument";
    case ErrorCode::NotFound:
      return "not found";
    case ErrorCode::AlreadyExists:
      return "already exists";
    case ErrorCode::Unsupported:
      return "unsupported";
    case ErrorCode::Hdf5:
      return "HDF5 error";
    case ErrorCode::State:
      return "invalid state";
  }
  return "error";
}

static std::string format(ErrorCode code, const std::string& path, const std::string& message,
                          int sys_errno) {
  std::string s = to_string(code);
  if (!path.empty()) s += ": " + path;
  s += ": " + message;
  if (sys_errno != 0) {
    s += " (errno " + std::to_string(sys_errno) + ": " + std::strerror(sys_errno) + ")";
  }
  return s;
}

Error::Error(ErrorCode code, std::string path, const std::string& message, int sys_errno)
    : std::runtime_error(format(code, path, message, sys_errno)),
      code_(code),
      path_(std::move(path)),
      detail_(message),
      errno_(sys_errno) {}

void throw_error(ErrorCode code, const std::string& path, const std::string& message, int sys_errno) {
  switch (code) {
    case ErrorCode::Io:
      throw IoError(path, message, sys_errno);
    case ErrorCode::Corruption:
      throw CorruptionError(path, message, sys_errno);
    case ErrorCode::Conflict:
      throw ConflictError(path, message, sys_errno);
    case ErrorCode::Busy:
      throw BusyError(path, message, sys_errno);
    case ErrorCode::InvalidArgument:
      throw InvalidArgumentError(path, message, sys_errno);
    case ErrorCode::NotFound:
      throw NotFoundError(path, message, sys_errno);
    case ErrorCode::AlreadyExists:
      throw AlreadyExistsError(path, message, sys_errno);
    case ErrorCode::Unsupported:
      throw UnsupportedError(path, message, sys_errno);
    case ErrorCode::Hdf5:
      throw Hdf5Error(path, message, sys_errno);
    case ErrorCode::State:
      throw StateError(path, message, sys_errno);
  }
  throw Error(code, path, message, sys_errno);
}

}  // namespace h5tx
