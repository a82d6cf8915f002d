// End-to-end tests of the ingest bookkeeping as a user sees it (issue 16):
// `ls` leaves out data/.h5tx-ingest.h5 unless --all, and `ingest HOME
// --list` (text and --json) reports every recorded ingest run and its state,
// complete or interrupted.
#include <catch2/catch.hpp>

#include <signal.h>

#include <string>
#include <vector>

#include "cli_util.hpp"
#include "test_util.hpp"

using namespace cli_test;

namespace {

// A raw u8 input of 256x256 (256 chunks of 16x16), written once (its
// modification time is part of the ingest's identity).
void make_input(const h5tx_test::TempDir& dir) {
  std::string bytes(256 * 256, '\0');
  for (size_t i = 0; i < bytes.size(); i++) bytes[i] = char(i * 13);
  write_file(dir / "in.raw", bytes);
}

std::vector<std::string> slow_ingest(const h5tx_test::TempDir& dir, bool slow) {
  std::vector<std::string> a = {"ingest",  dir / "s",     "v.h5:/a", "--from",    dir / "in.raw",
                                "--dtype", "u8",          "--shape", "256,256",   "--chunk",
                                "16,16",   "--tx-chunks", "1",       "--threads", "1"};
  if (slow) {
    a.push_back("--max-rate");
    a.push_back("0.002");  // about 8 chunks a second
    a.push_back("--verbose");
  }
  return a;
}

}  // namespace

TEST_CASE("ls hides the ingest records unless --all, ingest --list shows runs and their state") {
  h5tx_test::TempDir dir("cli_ingest_list");
  REQUIRE(cli(dir, {"init", dir / "s"}).status == 0);
  make_input(dir);

  Result none = cli(dir, {"ingest", dir / "s", "--list"});
  CHECK(none.status == 0);
  CHECK(contains(none.out, "no ingests recorded"));
  CHECK(cli(dir, {"ingest", dir / "s", "--list", "--json"}).out ==
        "{\"store\":\"" + dir / "s" + "\",\"ingests\":[]}\n");

  // An interrupted ingest: incomplete.
  {
    Background bg(dir, slow_ingest(dir, true));
    REQUIRE(bg.wait_lines("committed txid", 2) >= 2);
    bg.signal(SIGINT);
    CHECK(bg.wait() == 130);
  }
  Result l1 = cli(dir, {"ingest", dir / "s", "--list"});
  REQUIRE(l1.status == 0);
  CHECK(lines_of(l1.out).size() == 1);
  CHECK(contains(l1.out, "run 1: v.h5:/a from raw "));
  CHECK(contains(l1.out, "shape 256,256, chunk 16,16, start 0,0"));
  CHECK(contains(l1.out, " of 256 chunks committed, incomplete"));
  CHECK_FALSE(contains(l1.out, " 256 of 256 chunks"));
  Result j1 = cli(dir, {"ingest", dir / "s", "--list", "--json"});
  CHECK(contains(j1.out, "\"run\":1,\"latest\":true,\"target\":\"v.h5:/a\""));
  CHECK(contains(j1.out, "\"shape\":[256,256],\"chunk\":[16,16],\"start\":[0,0],\"chunks\":256,"));
  CHECK(contains(j1.out, "\"complete\":false"));

  // ls: the records are not a user file.
  Result ls = cli(dir, {"ls", dir / "s"});
  REQUIRE(ls.status == 0);
  CHECK(contains(ls.out, "\nv.h5\n"));
  CHECK_FALSE(contains(ls.out, "\n.h5tx-ingest.h5\n"));
  CHECK(contains(ls.out, "(.h5tx-ingest.h5, the resume records of h5tx ingest, not shown"));
  Result all = cli(dir, {"ls", dir / "s", "--all"});
  CHECK(contains(all.out, "\n.h5tx-ingest.h5\n"));
  CHECK_FALSE(contains(all.out, "not shown"));
  Result lj = cli(dir, {"ls", dir / "s", "--json"});
  CHECK_FALSE(contains(lj.out, "{\"name\":\".h5tx-ingest.h5\""));
  CHECK(contains(lj.out, "\"hidden_files\":[\".h5tx-ingest.h5\"]"));
  CHECK(contains(cli(dir, {"ls", dir / "s", "--all", "--json"}).out, "\"hidden_files\":[]"));

  // Resumed to the end: complete. A --no-resume run supersedes it.
  REQUIRE(cli(dir, slow_ingest(dir, false)).status == 0);
  Result l2 = cli(dir, {"ingest", dir / "s", "--list"});
  CHECK(lines_of(l2.out).size() == 1);
  CHECK(contains(l2.out, "run 1: v.h5:/a"));
  CHECK(contains(l2.out, "256 of 256 chunks committed, complete\n"));
  std::vector<std::string> again = slow_ingest(dir, false);
  again.push_back("--no-resume");
  REQUIRE(cli(dir, again).status == 0);
  Result l3 = cli(dir, {"ingest", dir / "s", "--list"});
  REQUIRE(lines_of(l3.out).size() == 2);
  CHECK(contains(lines_of(l3.out)[0], "run 1: "));
  CHECK(contains(lines_of(l3.out)[0], "complete (superseded by a later run)"));
  CHECK(contains(lines_of(l3.out)[1], "run 2: "));
  CHECK(contains(lines_of(l3.out)[1], "256 of 256 chunks committed, complete"));
  CHECK_FALSE(contains(lines_of(l3.out)[1], "superseded"));

  // Usage: --list takes HOME only; ingest without --list needs FILE:/path.
  CHECK(cli(dir, {"ingest", dir / "s", "v.h5:/a", "--list"}).status == 2);
  CHECK(cli(dir, {"ingest", dir / "s", "--list", "--from", "x"}).status == 2);
  Result bad = cli(dir, {"ingest", dir / "s"});
  CHECK(bad.status == 2);
  CHECK(contains(bad.err, "ingest needs HOME FILE:/path (or HOME --list)"));
}
