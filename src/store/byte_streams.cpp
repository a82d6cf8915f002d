// Files and pipes as byte sinks and sources (store/byte_streams.hpp).
#include "store/byte_streams.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "h5tx/error.hpp"

namespace h5tx {

FileSink::FileSink(Env* env, const std::string& path) : file_(env->open(path, OpenMode::CreateNew)) {}

void FileSink::write(const void* data, size_t n) {
  file_->write(offset_, data, n);
  offset_ += n;
}

void FileSink::flush() {
  file_->sync();
}

FileSource::FileSource(Env* env, const std::string& path) : file_(env->open(path, OpenMode::ReadOnly)) {
  size_ = file_->size();
}

size_t FileSource::read(void* buf, size_t n) {
  if (n > remaining()) n = size_t(remaining());
  size_t got = n ? file_->read(offset_, buf, n) : 0;
  offset_ += got;
  return got;
}

void FdSink::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      throw IoError(name_, std::string("writing the stream failed: ") + std::strerror(e), e);
    }
    p += w;
    n -= size_t(w);
  }
}

size_t FdSource::read(void* buf, size_t n) {
  for (;;) {
    ssize_t r = ::read(fd_, buf, n);
    if (r >= 0) return size_t(r);
    if (errno == EINTR) continue;
    int e = errno;
    throw IoError(name_, std::string("reading the stream failed: ") + std::strerror(e), e);
  }
}

}  // namespace h5tx
