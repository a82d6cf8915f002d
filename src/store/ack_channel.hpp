// Acknowledgements of a piped replica (formats/tx-stream.md,
// "Acknowledgements"): the receiving `h5tx replicate --from - REPLICA
// --ack-to F` writes one line per durable position, "h5tx-ack 1 txid
// <16 lowercase hex>\n" (33 bytes), and the sending `h5tx replicate HOME
// --to - --ack-from F` reads them between polls and moves its slot. So a
// slot fed through a pipe advances to what the receiver holds durably,
// never further.
//
// AckReader polls a file descriptor (a FIFO, a pipe, a growing file)
// without blocking. Not thread-safe. Errors: IoError on a failed read or
// write, CorruptionError naming the channel for a line that is not an
// acknowledgement.
#pragma once

#include <cstdint>
#include <string>

namespace h5tx {

std::string encode_ack(uint64_t txid);
// Writes one acknowledgement to fd (whole; EINTR retried).
void write_ack(int fd, uint64_t txid, const std::string& name);

class AckReader {
 public:
  // fd is made non-blocking; `name` names the channel in errors.
  AckReader(int fd, std::string name);
  // Reads what is there now; true and *txid = the newest txid acknowledged
  // so far if any whole line came (ever). End of file is "nothing yet" (a
  // FIFO whose writer went away, a file not yet grown).
  bool poll(uint64_t* txid);

 private:
  int fd_;
  std::string name_;
  std::string partial_;
  uint64_t newest_ = 0;
  bool any_ = false;
};

}  // namespace h5tx
