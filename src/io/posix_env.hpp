// Internal helpers of the io layer: turning a failed system call into the
// right h5tx::Error. Env::posix() itself is declared in include/h5tx/env.hpp.
#pragma once

#include <string>

namespace h5tx {
namespace io {

// Throws the Error subclass for errno `err`: ENOENT -> NotFoundError,
// EEXIST -> AlreadyExistsError, anything else -> IoError. The message is
// "<operation> failed"; the path and errno are attached to the error.
[[noreturn]] void throw_errno(const std::string& path, const std::string& operation, int err);

}  // namespace io
}  // namespace h5tx
