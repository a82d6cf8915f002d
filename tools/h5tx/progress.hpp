// Progress reporting of long commands (ingest, check, demo) on stderr. On a
// terminal: one line redrawn with '\r' at most ten times a second, with a
// bar, percent, MiB/s and ETA. Not a terminal (logs, pipes): a plain line
// every few seconds. Thread-safe: workers call add() as they finish work.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace h5tx {
namespace cli {

class Progress {
 public:
  // `total_bytes` of work; `label` starts each line ("ingest", "check").
  // interactive: -1 decides with isatty(stderr); 0/1 force it.
  Progress(std::string label, uint64_t total_bytes, int interactive = -1, FILE* out = stderr);
  ~Progress();

  // `bytes` more done (and `items` more units, e.g. chunks).
  void add(uint64_t bytes, uint64_t items = 1);
  // Work already done before this run (a resumed ingest): counts towards the
  // percentage but not towards the throughput.
  void skip(uint64_t bytes, uint64_t items);
  // Final line (and newline on a terminal). Idempotent.
  void finish();

  uint64_t done_bytes() const;
  double elapsed_seconds() const;
  // Seconds between plain lines when not a terminal (default 2).
  void set_plain_interval(double seconds) { plain_interval_ = seconds; }

  // The text of one progress line (exposed for tests).
  static std::string line(const std::string& label, uint64_t done, uint64_t skipped, uint64_t total,
                          uint64_t items, double seconds, bool bar);

 private:
  void draw_locked(bool final);

  std::string label_;
  uint64_t total_;
  bool tty_;
  FILE* out_;
  double plain_interval_ = 2.0;
  mutable std::mutex mu_;
  uint64_t done_ = 0, skipped_ = 0, items_ = 0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace cli
}  // namespace h5tx
