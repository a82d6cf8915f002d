// h5tx command-line tool: entry point and subcommand dispatch.
#include <cstdio>
#include <cstring>

#include "h5tx/store.hpp"

int main(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "version") == 0)) {
    std::printf("h5tx %s\n", h5tx::version());
    return 0;
  }
  std::fprintf(stderr, "usage: h5tx --version\n");
  return 2;
}
