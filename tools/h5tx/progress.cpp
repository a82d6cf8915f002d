// Progress bar / progress lines (see progress.hpp).
#include "progress.hpp"

#include <unistd.h>

#include <algorithm>

#include "args.hpp"

namespace h5tx {
namespace cli {

Progress::Progress(std::string label, uint64_t total_bytes, int interactive, FILE* out)
    : label_(std::move(label)), total_(total_bytes), out_(out) {
  tty_ = interactive < 0 ? ::isatty(::fileno(out)) != 0 : interactive != 0;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

Progress::~Progress() {
  finish();
}

void Progress::add(uint64_t bytes, uint64_t items) {
  std::lock_guard<std::mutex> l(mu_);
  done_ += bytes;
  items_ += items;
  draw_locked(false);
}

void Progress::skip(uint64_t bytes, uint64_t items) {
  std::lock_guard<std::mutex> l(mu_);
  skipped_ += bytes;
  items_ += items;
}

void Progress::finish() {
  std::lock_guard<std::mutex> l(mu_);
  if (finished_) return;
  finished_ = true;
  draw_locked(true);
}

uint64_t Progress::done_bytes() const {
  std::lock_guard<std::mutex> l(mu_);
  return done_;
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::line(const std::string& label, uint64_t done, uint64_t skipped, uint64_t total,
                           uint64_t items, double seconds, bool bar) {
  uint64_t all = std::min(total, done + skipped);
  double frac = total ? double(all) / double(total) : 1.0;
  double rate = seconds > 0 ? double(done) / seconds : 0;
  std::string s = label + " ";
  if (bar) {
    const int width = 30;
    int fill = int(frac * width + 0.5);
    s += "[" + std::string(size_t(fill), '#') + std::string(size_t(width - fill), '.') + "] ";
  }
  char buf[160];
  std::snprintf(buf, sizeof buf, "%5.1f%%  %s / %s  %s/s", frac * 100, format_bytes(double(all)).c_str(),
                format_bytes(double(total)).c_str(), format_bytes(rate).c_str());
  s += buf;
  s += "  " + std::to_string(items) + (items == 1 ? " chunk" : " chunks");
  if (rate > 0 && all < total)
    s += "  ETA " + format_duration(double(total - all) / rate);
  else if (all >= total)
    s += "  in " + format_duration(seconds);
  return s;
}

void Progress::draw_locked(bool final) {
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (!final && since < (tty_ ? 0.1 : plain_interval_)) return;
  last_draw_ = now;
  std::string l = line(label_, done_, skipped_, total_, items_,
                       std::chrono::duration<double>(now - start_).count(), tty_);
  if (tty_)
    std::fprintf(out_, "\r%s\x1b[K%s", l.c_str(), final ? "\n" : "");
  else
    std::fprintf(out_, "%s\n", l.c_str());
  std::fflush(out_);
}

}  // namespace cli
}  // namespace h5tx
