// End-to-end tests of the pipeline author's toolkit (issue 16) through the
// real binary: ingest into regions (--start) and after the end (--append),
// exit codes and one-line errors, signals, --json, attributes, inputs, the
// ingest bookkeeping, unmanaged datasets, post-crash reports. Results are
// checked with h5py (Debian's /usr/bin/python3) and h5dump.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "cli_util.hpp"
#include "test_util.hpp"

using namespace cli_test;

namespace {

// Runs a numpy script in `dir` (the script's working directory).
std::string py(const h5tx_test::TempDir& dir, const std::string& script) {
  return h5tx_test::python("import os, numpy as np, h5py\nos.chdir(\"" + dir.path() + "\")\n" + script);
}

}  // namespace

TEST_CASE("ingest --append extends an unlimited dataset and writes after its end, twice") {
  h5tx_test::TempDir dir("cli_append");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  py(dir,
     "np.save(\"a.npy\", np.arange(100 * 6, dtype=np.int32).reshape(100, 6))\n"
     "np.save(\"b.npy\", (1000 + np.arange(50 * 6, dtype=np.int32)).reshape(50, 6))\n"
     "np.save(\"c.npy\", (5000 + np.arange(30 * 6, dtype=np.int32)).reshape(30, 6))\n"
     "np.save(\"bad.npy\", np.zeros((3, 5), dtype=np.int32))\n");
  // The first append creates the dataset, unlimited along axis 0; the
  // chunk (64 rows) does not divide 100, so the second append starts inside
  // a chunk (read-modify-write of rows 64..127).
  Result r =
      cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "a.npy", "--append", "0", "--chunk", "64,6"});
  REQUIRE(r.status == 0);
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "b.npy", "--append", "0", "--tx-chunks", "1"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "written at 100,0 of the dataset (now 150x6)"));
  // The same command again: already complete, nothing appended twice.
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "b.npy", "--append", "0"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "already complete"));
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "c.npy", "--append", "0"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "written at 150,0"));
  CHECK(py(dir,
           "d = h5py.File(\"s/data/v.h5\", \"r\")[\"x\"]\n"
           "want = np.concatenate([np.load(\"a.npy\"), np.load(\"b.npy\"), np.load(\"c.npy\")])\n"
           "print(d.shape, d.maxshape, (d[...] == want).all())\n") == "(180, 6) (None, 6) True\n");
  // The other dimensions must match; usage error, one line.
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "bad.npy", "--append", "0"});
  CHECK(r.status == 2);
  CHECK(lines_of(r.err).size() == 1);
  CHECK(contains(r.err, "only dimension 0 may differ"));
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "c.npy", "--append", "2"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--append 2"));
  // A dataset that is not unlimited along the axis: usage error naming the maximum shape.
  REQUIRE(cli(dir, {"create-dataset", home, "v.h5:/fixed", "--dtype", "i32", "--shape", "100,6", "--chunk",
                    "10,6"})
              .status == 0);
  r = cli(dir, {"ingest", home, "v.h5:/fixed", "--from", dir / "c.npy", "--append", "0"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "maximum shape 100,6"));
  CHECK(lines_of(r.err).size() == 1);
  CHECK(cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "c.npy", "--append", "0", "--start", "0,0"})
            .status == 2);
}

TEST_CASE("ingest --start writes tiles into a region, read-modify-writing chunks it covers in part") {
  h5tx_test::TempDir dir("cli_start");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  REQUIRE(cli(dir, {"create-dataset", home, "m.h5:/mosaic", "--dtype", "u16", "--shape", "40,50", "--chunk",
                    "8,16", "--fill", "7"})
              .status == 0);
  py(dir,
     "np.save(\"t1.npy\", (np.arange(20 * 30) % 60000).astype(np.uint16).reshape(20, 30))\n"
     "np.save(\"t2.npy\", (1 + np.arange(13 * 9) * 3).astype(np.uint16).reshape(13, 9))\n");
  // Tile 1 chunk-aligned at (8,16); tile 2 unaligned at (5,3), overlapping nothing of tile 1.
  Result r = cli(dir, {"ingest", home, "m.h5:/mosaic", "--from", dir / "t1.npy", "--start", "8,16"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "written at 8,16 of the dataset (now 40x50)"));
  r = cli(dir, {"ingest", home, "m.h5:/mosaic", "--from", dir / "t2.npy", "--start", "5,3", "--tx-chunks",
                "2", "--threads", "2"});
  REQUIRE(r.status == 0);
  CHECK(py(dir,
           "d = h5py.File(\"s/data/m.h5\", \"r\")[\"mosaic\"][...]\n"
           "want = np.full((40, 50), 7, dtype=np.uint16)\n"
           "want[8:28, 16:46] = np.load(\"t1.npy\")\n"
           "want[5:18, 3:12] = np.load(\"t2.npy\")\n"
           "print(d.shape, (d == want).all())\n") == "(40, 50) True\n");
  // The same tile again is already complete; at another place it is another ingest.
  CHECK(contains(cli(dir, {"ingest", home, "m.h5:/mosaic", "--from", dir / "t2.npy", "--start", "5,3"}).out,
                 "already complete"));
  // Outside the maximum shape: a usage error naming the shapes.
  r = cli(dir, {"ingest", home, "m.h5:/mosaic", "--from", dir / "t2.npy", "--start", "30,45"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "m.h5:/mosaic has shape 40,50 and maximum shape 40,50"));
  CHECK(lines_of(r.err).size() == 1);
  // A missing dataset: --start does not create one.
  r = cli(dir, {"ingest", home, "m.h5:/nothing", "--from", dir / "t2.npy", "--start", "0,0"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "m.h5:/nothing"));
  CHECK(cli(dir, {"ingest", home, "m.h5:/mosaic", "--from", dir / "t2.npy", "--start", "1,2,3"}).status == 2);
  // Without --start an input smaller than the dataset is refused (it would not cover it).
  r = cli(dir, {"ingest", home, "m.h5:/mosaic", "--from", dir / "t2.npy"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--start or --append"));
}

TEST_CASE("an --append ingest killed with SIGKILL resumes where it was appending, not after the new end") {
  h5tx_test::TempDir dir("cli_append_kill");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  py(dir,
     "np.save(\"a.npy\", np.arange(10 * 1000, dtype=np.float64).reshape(10, 1000))\n"
     "np.save(\"b.npy\", -np.arange(300 * 1000, dtype=np.float64).reshape(300, 1000))\n");
  REQUIRE(cli(dir,
              {"ingest", home, "t.h5:/series", "--from", dir / "a.npy", "--append", "0", "--chunk", "4,1000"})
              .status == 0);
  const std::vector<std::string> args = {"ingest",   home,       "t.h5:/series", "--from", dir / "b.npy",
                                         "--append", "0",        "--tx-chunks",  "2",      "--threads",
                                         "2",        "--verbose"};
  {
    std::vector<std::string> slow = args;
    slow.push_back("--max-rate");
    slow.push_back("1");
    Background bg(dir, slow);
    REQUIRE(bg.wait_lines("committed txid", 3) >= 3);
    bg.signal(SIGKILL);
    CHECK(bg.wait() == 128 + SIGKILL);
  }
  Result r = cli(dir, args);
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "resuming ingest"));
  CHECK(py(dir,
           "d = h5py.File(\"s/data/t.h5\", \"r\")[\"series\"]\n"
           "want = np.concatenate([np.load(\"a.npy\"), np.load(\"b.npy\")])\n"
           "print(d.shape, (d[...] == want).all())\n") == "(310, 1000) True\n");
}
