// h5tx-bench: runs the benchmark table of issue 7 (h5tx against the
// baselines a user would otherwise pick) and writes it as Markdown and JSON.
//
// Each row (a workload run by one system) runs in a fresh child process
// (this binary re-executed with --child) in its own scratch directory, so
// its peak RSS (VmHWM) is its own and no state leaks between rows. Rows
// that fail or whose mode is not built are reported as "not measured:
// <reason>", never with a number.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "bench.hpp"
#include "h5tx/error.hpp"
#include "report.hpp"

namespace h5tx {
namespace bench {

namespace {

const char* kUsage =
    "usage: h5tx-bench [options]\n"
    "Runs the h5tx benchmark table (workloads W1-W5, W4slow, flusher memory, open time,\n"
    "issue 13 ingest I1/I1z/I1py, check time, ingest scaling, issue 15 W6/W6L writer processes)\n"
    "against the raw / plain HDF5 / per-write-fsync / copy+rename / sqlite baselines.\n"
    "\n"
    "  --quick          sizes / ~16 (smoke test, well under a minute)\n"
    "  --dir DIR        scratch directory (default ./h5tx-bench-scratch); each row\n"
    "                   gets DIR/<row>, removed after the row\n"
    "  --md FILE        write the Markdown report to FILE (default: stdout)\n"
    "  --json FILE      write the JSON report to FILE\n"
    "  --only LIST      comma-separated rows or workloads (W1,W4/plain,FLUSH)\n"
    "  --repeat N       run the W1-W5 rows N times, interleaved, and report the\n"
    "                   median of each metric (default 3; 1 with --quick)\n"
    "  --list           print the rows and exit\n"
    "  --keep           keep the scratch directories\n"
    "  --SIZE N         override a size (after --quick): see --sizes\n"
    "  --sizes          print the sizes and exit\n"
    "  -h, --help       this text\n";

struct SizeOption {
  const char* name;
  uint64_t Sizes::*field;
  const char* help;
};

const SizeOption kSizeOptions[] = {
    {"w1-tx", &Sizes::w1_tx, "W1 transactions (one chunk each)"},
    {"w1-chunk", &Sizes::w1_chunk, "W1/W3 chunk bytes"},
    {"copy-tx", &Sizes::copy_tx, "W1 copy+rename transactions measured"},
    {"copy-file-mib", &Sizes::copy_file_mib, "copy+rename HDF5 file size (MiB)"},
    {"w2-mib", &Sizes::w2_mib, "W2 MiB ingested"},
    {"w2-chunk", &Sizes::w2_chunk, "W2 chunk bytes"},
    {"w2-chunks-per-tx", &Sizes::w2_chunks_per_tx, "W2 chunks per transaction"},
    {"w3-threads", &Sizes::w3_threads, "W3 threads"},
    {"w3-tx-per-thread", &Sizes::w3_tx_per_thread, "W3 transactions per thread"},
    {"w4-mib", &Sizes::w4_mib, "W4 MiB overwritten in one transaction"},
    {"w45-chunk", &Sizes::w45_chunk, "W4/W5 chunk bytes"},
    {"w5-mib", &Sizes::w5_mib, "W5 MiB appended (and MiB existing before)"},
    {"w5-tx", &Sizes::w5_tx, "W5 transactions"},
    {"flush-small-mib", &Sizes::flush_small_mib, "small flusher backlog (MiB)"},
    {"flush-large-mib", &Sizes::flush_large_mib, "large flusher backlog (MiB)"},
    {"open-tx", &Sizes::open_tx, "pending transactions for the open-time row"},
    {"i1-mib", &Sizes::i1_mib, "I1/I1z/I1py/CHECK volume size (MiB)"},
    {"dask-mib", &Sizes::dask_mib, "DASK1/DASK2: dask array stored (MiB)"},
    {"scale-small-mib", &Sizes::scale_small_mib, "SCALE: smallest CLI ingest (MiB)"},
    {"scale-mid-mib", &Sizes::scale_mid_mib, "SCALE: middle CLI ingest (MiB)"},
    {"scale-large-mib", &Sizes::scale_large_mib, "SCALE: largest CLI ingest (MiB)"},
    {"sync-delay-ms", &Sizes::sync_delay_ms, "W4slow: delay added to every sync (ms)"},
    {"w6-tx", &Sizes::w6_tx, "W6: transactions per writer (W1-sized)"},
    {"w6-large-tx", &Sizes::w6_large_tx, "W6L: transactions per writer (W2-sized)"},
};

struct Args {
  bool quick = false;
  bool list = false;
  bool keep = false;
  bool print_sizes = false;
  int repeat = 3;
  Sizes sizes;
  std::string dir = "h5tx-bench-scratch";
  std::string md, json, only;
  // Child mode.
  std::string child, child_dir, child_out;
  std::vector<std::string> size_args;  // passed on to children
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::fprintf(stderr, "h5tx-bench: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

uint64_t parse_u64(const std::string& opt, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end || errno || x == 0)
    usage_error("--" + opt + " needs a positive integer, got '" + v + "'");
  return x;
}

Args parse_args(int argc, char** argv) {
  Args a;
  std::vector<std::string> v(argv + 1, argv + argc);
  for (const auto& s : v)
    if (s == "--quick") a.quick = true;
  if (a.quick) {
    a.sizes = Sizes::quick();
    a.repeat = 1;
  }
  for (size_t i = 0; i < v.size(); i++) {
    const std::string& s = v[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= v.size()) usage_error(s + " needs a value");
      return v[++i];
    };
    if (s == "--quick") continue;
    if (s == "-h" || s == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (s == "--list")
      a.list = true;
    else if (s == "--keep")
      a.keep = true;
    else if (s == "--sizes")
      a.print_sizes = true;
    else if (s == "--dir")
      a.dir = value();
    else if (s == "--md")
      a.md = value();
    else if (s == "--json")
      a.json = value();
    else if (s == "--only")
      a.only = value();
    else if (s == "--repeat")
      a.repeat = int(parse_u64("repeat", value()));
    else if (s == "--child")
      a.child = value();
    else if (s == "--child-dir")
      a.child_dir = value();
    else if (s == "--child-out")
      a.child_out = value();
    else {
      bool found = false;
      for (const auto& o : kSizeOptions) {
        if (s == std::string("--") + o.name) {
          std::string x = value();
          a.sizes.*o.field = parse_u64(o.name, x);
          a.size_args.push_back(s);
          a.size_args.push_back(x);
          found = true;
        }
      }
      if (!found) usage_error("unknown option " + s);
    }
  }
  return a;
}

// The process's peak resident set (VmHWM), in MiB.
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

double load_average() {
  std::ifstream in("/proc/loadavg");
  double l = 0;
  in >> l;
  return l;
}

const RowSpec* find_row(const std::string& id) {
  for (const auto& r : all_rows())
    if (r.id() == id) return &r;
  return nullptr;
}

// Child mode: run one row, write "metric NAME VALUE" lines or "error MSG".
int run_child(const Args& a) {
  const RowSpec* row = find_row(a.child);
  std::ostringstream out;
  int rc = 0;
  if (!row) {
    out << "error no such row " << a.child << "\n";
    rc = 1;
  } else {
    try {
      Context c{a.sizes, a.child_dir};
      Result r = row->run(c);
      // Rows whose work runs in a child of this process report that
      // child's peak RSS themselves.
      r.metrics[r.metrics.count("rss_mib") ? "driver_rss_mib" : "rss_mib"] = peak_rss_mib();
      out.precision(10);
      for (const auto& m : r.metrics) out << "metric " << m.first << " " << m.second << "\n";
    } catch (const std::exception& e) {
      std::string msg = e.what();
      for (char& ch : msg)
        if (ch == '\n') ch = ' ';
      out << "error " << msg << "\n";
      rc = 1;
    }
  }
  std::ofstream f(a.child_out);
  f << out.str();
  f.close();
  return f ? rc : 1;
}

bool selected(const Args& a, const RowSpec& r) {
  if (a.only.empty()) return true;
  std::stringstream ss(a.only);
  std::string item;
  while (std::getline(ss, item, ','))
    if (item == r.id() || item == r.workload) return true;
  return false;
}

std::string safe_name(const std::string& id) {
  std::string s = id;
  for (char& c : s)
    if (c == '/' || c == '+') c = '_';
  return s;
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw IoError("/proc/self/exe", "readlink failed", errno);
  return std::string(buf, size_t(n));
}

// Runs one row in a child process and collects its result.
RowOutcome run_row(const Args& a, const RowSpec& row, const std::string& exe) {
  RowOutcome o;
  o.spec = &row;
  o.load_before = load_average();
  std::string dir = a.dir + "/" + safe_name(row.id());
  std::string out = a.dir + "/" + safe_name(row.id()) + ".out";
  remove_tree(dir);
  make_dirs(dir);
  ::unlink(out.c_str());
  std::vector<std::string> args = {exe, "--child", row.id(), "--child-dir", dir, "--child-out", out};
  if (a.quick) args.push_back("--quick");
  args.insert(args.end(), a.size_args.begin(), a.size_args.end());
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(&s[0]);
  argv.push_back(nullptr);
  // Start every row from a clean disk state: the previous row's dirty
  // pages written back and its deleted files' blocks freed (ext4 frees, and
  // with -o discard trims, them at the next journal commit).
  ::sync();
  std::fflush(nullptr);
  double t0 = now_seconds();
  pid_t pid = ::fork();
  if (pid < 0) throw IoError(exe, "fork failed", errno);
  if (pid == 0) {
    ::execv(exe.c_str(), argv.data());
    std::fprintf(stderr, "h5tx-bench: exec %s: %s\n", exe.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  int status = 0;
  struct rusage ru;
  while (::wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) throw IoError(exe, "wait4 failed", errno);
  }
  double wall = now_seconds() - t0;
  std::ifstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind, name;
    ls >> kind;
    if (kind == "metric") {
      double v = 0;
      ls >> name >> v;
      o.result.metrics[name] = v;
    } else if (kind == "error") {
      std::getline(ls, name);
      o.result.error = name.empty() ? "?" : name.substr(1);
    }
  }
  if (o.result.error.empty() && o.result.metrics.empty()) {
    std::ostringstream why;
    if (WIFSIGNALED(status))
      why << "child killed by signal " << WTERMSIG(status);
    else
      why << "child exited with status " << WEXITSTATUS(status) << " and no result";
    o.result.error = why.str();
  }
  if (o.result.error.empty()) {
    o.result.metrics["row_wall_seconds"] = wall;
    o.result.metrics["rss_wait4_mib"] = double(ru.ru_maxrss) / 1024.0;
  } else {
    o.result.metrics.clear();
  }
  if (!a.keep) remove_tree(dir);
  ::unlink(out.c_str());
  return o;
}

// The order of the rows in pass `pass`: each workload's rows rotated by
// `pass` places, so no system always runs first after another workload
// (the first row after a pause or a large delete tends to pay for it).
std::vector<size_t> pass_order(const std::vector<const RowSpec*>& rows, int pass) {
  std::vector<size_t> order;
  for (size_t begin = 0; begin < rows.size();) {
    size_t end = begin;
    while (end < rows.size() && rows[end]->workload == rows[begin]->workload) end++;
    size_t n = end - begin;
    for (size_t k = 0; k < n; k++) order.push_back(begin + (k + size_t(pass)) % n);
    begin = end;
  }
  return order;
}

// One outcome from several runs of a row: the median of every metric,
// plus the range of tx/s; the first error if any run failed.
RowOutcome combine_runs(const std::vector<RowOutcome>& runs) {
  for (const auto& o : runs)
    if (!o.result.error.empty()) return o;
  RowOutcome c = runs.front();
  if (runs.size() == 1) {
    c.result.metrics["runs"] = 1;
    return c;
  }
  for (auto& m : c.result.metrics) {
    std::vector<double> v;
    for (const auto& o : runs) {
      auto it = o.result.metrics.find(m.first);
      if (it != o.result.metrics.end()) v.push_back(it->second);
    }
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    m.second = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
  double lo = 1e300, hi = 0, load = 0;
  for (const auto& o : runs) {
    double t = o.result.metrics.at("tx_per_s");
    lo = std::min(lo, t);
    hi = std::max(hi, t);
    load = std::max(load, o.load_before);
  }
  c.result.metrics["tx_per_s_min"] = lo;
  c.result.metrics["tx_per_s_max"] = hi;
  c.result.metrics["runs"] = double(runs.size());
  c.load_before = load;
  return c;
}

std::string machine_info() {
  std::ostringstream m;
  struct utsname u;
  if (::uname(&u) == 0) m << u.sysname << " " << u.release << " " << u.machine;
  m << ", " << ::sysconf(_SC_NPROCESSORS_ONLN) << " CPUs";
  long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  m << ", " << (double(pages) * double(page) / double(1 << 30)) << " GiB RAM";
  return m.str();
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
  return buf;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
  f.close();
  if (!f) throw IoError(path, "cannot write report");
}

int run_parent(const Args& a, int argc, char** argv) {
  if (a.list) {
    for (const auto& r : all_rows()) std::printf("%s\n", r.id().c_str());
    return 0;
  }
  if (a.print_sizes) {
    for (const auto& o : kSizeOptions)
      std::printf("--%-18s %12llu  %s\n", o.name, (unsigned long long)(a.sizes.*o.field), o.help);
    return 0;
  }
  RunInfo info;
  info.quick = a.quick;
  info.repeat = a.repeat;
  info.sizes = a.sizes;
  for (int i = 0; i < argc; i++) info.command += (i ? " " : "") + std::string(argv[i]);
  info.started_utc = utc_now();
  info.machine = machine_info();
  info.load_start = load_average();
  std::string exe = self_exe();
  make_dirs(a.dir);
  std::vector<const RowSpec*> selected_rows;
  for (const auto& r : all_rows())
    if (selected(a, r)) selected_rows.push_back(&r);
  if (selected_rows.empty()) usage_error("--only selected no row (see --list)");
  // runs[i]: the outcomes of selected_rows[i], one per pass (rows that are
  // not repeated run in the first pass only).
  std::vector<std::vector<RowOutcome>> runs(selected_rows.size());
  double t0 = now_seconds();
  for (int pass = 0; pass < a.repeat; pass++) {
    for (size_t i : pass_order(selected_rows, pass)) {
      const RowSpec& r = *selected_rows[i];
      if (pass > 0 && (!r.repeated || !runs[i].front().result.error.empty())) continue;
      std::fprintf(stderr, "h5tx-bench: pass %d/%d %-22s ", pass + 1, a.repeat, r.id().c_str());
      std::fflush(stderr);
      RowOutcome o = run_row(a, r, exe);
      if (o.result.error.empty())
        std::fprintf(stderr, "%.1f s\n", o.result.metrics["row_wall_seconds"]);
      else
        std::fprintf(stderr, "not measured: %s\n", o.result.error.c_str());
      runs[i].push_back(std::move(o));
    }
  }
  std::vector<RowOutcome> rows;
  for (const auto& r : runs) rows.push_back(combine_runs(r));
  info.total_seconds = now_seconds() - t0;
  info.load_end = load_average();
  if (!a.keep) ::rmdir(a.dir.c_str());
  std::string md = markdown_report(rows, info);
  if (a.md.empty())
    std::fputs(md.c_str(), stdout);
  else
    write_file(a.md, md);
  if (!a.json.empty()) write_file(a.json, json_report(rows, info));
  return 0;
}

}  // namespace

}  // namespace bench
}  // namespace h5tx

int main(int argc, char** argv) {
  using namespace h5tx::bench;
  Args a = parse_args(argc, argv);
  if (!a.child.empty()) return run_child(a);
  try {
    return run_parent(a, argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "h5tx-bench: %s\n", e.what());
    return 1;
  }
}
