// h5tx command-line tool: entry point and subcommand dispatch. Exit status,
// the same for every command: 0 ok, 1 problem found (or an error), 2 usage
// error, 128 + signal for an ingest interrupted by SIGINT (130) or SIGTERM
// (143). Errors are one line on stderr naming the file involved.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.hpp"
#include "h5tx/error.hpp"
#include "hdf5/handle.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

using namespace h5tx;
using namespace h5tx::cli;

namespace {

void print_overview(FILE* out) {
  std::fprintf(out,
               "usage: h5tx COMMAND [ARGS] [--help]\n\n"
               "Crash-safe atomic transactions for HDF5 files: store management, resumable\n"
               "batch ingest, inspection and checking. FILE:/path names dataset /path of the\n"
               "store's file data/FILE. Exit status: 0 ok, 1 problem found or error, 2 usage error,\n"
               "130 (SIGINT) / 143 (SIGTERM) an interrupted ingest (rerun it to resume).\n\n"
               "commands:\n");
  for (const Command& c : all_commands()) {
    // The first sentence of the summary.
    std::string first = c.spec.summary;
    for (char& ch : first)
      if (ch == '\n') ch = ' ';
    size_t dot = first.find(". ");
    if (dot != std::string::npos) first = first.substr(0, dot);
    if (!first.empty() && first.back() == '.') first.pop_back();
    std::fprintf(out, "  %-15s %s\n", c.spec.name.c_str(), first.c_str());
  }
  std::fprintf(out, "\n  h5tx COMMAND --help   details of one command\n  h5tx --version\n");
}

}  // namespace

int main(int argc, char** argv) {
#ifdef __GLIBC__
  // Buffers of 64 KiB and more (chunk copies, input units) come from mmap
  // and go back to the system when freed. With glibc's default, the
  // threshold grows after the first such free, later buffers come from the
  // heaps of the worker and flusher threads, and fragmentation made an
  // ingest's peak RSS grow with its input (105 MiB at 2 GiB, 135 MiB at
  // 4 GiB; 106 MiB at 4 GiB with this setting: docs/performance.md).
  mallopt(M_MMAP_THRESHOLD, 64 * 1024);
#endif
  hdf5::silence_error_printing();
  if (argc < 2) {
    print_overview(stderr);
    return 2;
  }
  std::string name = argv[1];
  if (name == "--version" || name == "version") {
    std::printf("h5tx %s\n", h5tx::version());
    return 0;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    print_overview(stdout);
    return 0;
  }
  for (const Command& c : all_commands()) {
    if (c.spec.name != name) continue;
    try {
      Args args = parse_args(c.spec, std::vector<std::string>(argv + 2, argv + argc));
      if (args.help) {
        std::fputs(help_text(c.spec).c_str(), stdout);
        return 0;
      }
      return c.run(args);
    } catch (const UsageError& e) {
      std::fprintf(stderr, "h5tx %s: %s\n", name.c_str(), error_line(e).c_str());
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "h5tx %s: %s\n", name.c_str(), error_line(e).c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "h5tx: unknown command '%s' (see h5tx --help)\n", name.c_str());
  return 2;
}
