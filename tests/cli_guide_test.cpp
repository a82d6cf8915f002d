// Keeps docs/user-guide.md true to the code: it contains the C++ example
// (docs/examples/quickstart.cpp, which tests/cli/tests.cmake builds and runs)
// verbatim, a section for every h5tx command, and every option of each.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "commands.hpp"

namespace {

std::string read_source(const std::string& rel) {
  std::ifstream f(std::string(H5TX_SOURCE_DIR) + "/" + rel);
  REQUIRE(f.good());
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("the user guide holds the compiled example verbatim") {
  std::string guide = read_source("docs/user-guide.md");
  std::string example = read_source("docs/examples/quickstart.cpp");
  CHECK(guide.find("```cpp\n" + example + "```\n") != std::string::npos);
}

TEST_CASE("the user guide documents every command and every option") {
  std::string guide = read_source("docs/user-guide.md");
  for (const h5tx::cli::Command& c : h5tx::cli::all_commands()) {
    size_t section = guide.find("\n### " + c.spec.name + "\n");
    INFO("command " << c.spec.name);
    REQUIRE(section != std::string::npos);
    size_t end = guide.find("\n### ", section + 1);
    std::string text = guide.substr(section, end == std::string::npos ? std::string::npos : end - section);
    for (const h5tx::cli::OptionSpec& o : c.spec.options) {
      INFO("option --" << o.name);
      if (o.name == "lock-timeout")
        CHECK(guide.find("--lock-timeout") != std::string::npos);
      else
        CHECK(text.find("--" + o.name) != std::string::npos);
    }
  }
}
