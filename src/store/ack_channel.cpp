// Acknowledgements of a piped replica (store/ack_channel.hpp).
#include "store/ack_channel.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"

namespace h5tx {

namespace {
constexpr const char* kPrefix = "h5tx-ack 1 txid ";
constexpr size_t kAckSize = 33;  // the prefix (16), 16 hex, "\n"
}  // namespace

std::string encode_ack(uint64_t txid) {
  return journal::txid_line(kPrefix, txid);
}

void write_ack(int fd, uint64_t txid, const std::string& name) {
  const std::string line = encode_ack(txid);
  const char* p = line.data();
  size_t n = line.size();
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int e = errno;
      throw IoError(name, std::string("writing an acknowledgement failed: ") + std::strerror(e), e);
    }
    p += w;
    n -= size_t(w);
  }
}

AckReader::AckReader(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
  int flags = ::fcntl(fd_, F_GETFL);
  if (flags < 0 || ::fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
    int e = errno;
    throw IoError(name_, std::string("cannot read acknowledgements without blocking: ") + std::strerror(e),
                  e);
  }
}

bool AckReader::poll(uint64_t* txid) {
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(fd_, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (r < 0) {
      int e = errno;
      throw IoError(name_, std::string("reading acknowledgements failed: ") + std::strerror(e), e);
    }
    if (r == 0) break;
    partial_.append(buf, size_t(r));
    size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      const std::string line = partial_.substr(0, nl + 1);
      partial_.erase(0, nl + 1);
      uint64_t t = 0;
      if (!journal::parse_txid_line(line, kPrefix, &t))
        throw CorruptionError(name_, "not an acknowledgement line (h5tx-ack 1 txid <16 hex>)");
      newest_ = std::max(newest_, t);
      any_ = true;
    }
    if (partial_.size() > kAckSize) throw CorruptionError(name_, "not an acknowledgement line (too long)");
  }
  if (any_) *txid = newest_;
  return any_;
}

}  // namespace h5tx
