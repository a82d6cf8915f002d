// Where transaction streams (journal/tx_stream.hpp) go and come from: a
// file through the Env (so fault injection sees it), or a pipe (a file
// descriptor: standard input or output of h5tx replicate).
#pragma once

#include <memory>
#include <string>

#include "h5tx/env.hpp"
#include "journal/tx_stream.hpp"

namespace h5tx {

// A new file (AlreadyExistsError if it exists); flush() fsyncs it.
class FileSink : public journal::ByteSink {
 public:
  FileSink(Env* env, const std::string& path);
  void write(const void* data, size_t n) override;
  void flush() override;

 private:
  std::unique_ptr<File> file_;
  uint64_t offset_ = 0;
};

class FileSource : public journal::ByteSource {
 public:
  FileSource(Env* env, const std::string& path);
  size_t read(void* buf, size_t n) override;
  uint64_t remaining() const override { return size_ - offset_; }

 private:
  std::unique_ptr<File> file_;
  uint64_t size_ = 0, offset_ = 0;
};

// A pipe or terminal: IoError naming `name` on a failed write (EPIPE: the
// reader went away) or read.
class FdSink : public journal::ByteSink {
 public:
  FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  void write(const void* data, size_t n) override;
  void flush() override {}

 private:
  int fd_;
  std::string name_;
};

class FdSource : public journal::ByteSource {
 public:
  FdSource(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  size_t read(void* buf, size_t n) override;

 private:
  int fd_;
  std::string name_;
};

}  // namespace h5tx
