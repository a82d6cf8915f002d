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
#include "h5tx/store.hpp"
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

TEST_CASE("exit status is 0, 1 or 2 in every command, HDF5 failures are one line naming the file") {
  h5tx_test::TempDir dir("cli_errors");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  // Usage errors exit 2, a missing store exits 1, each with one line on stderr.
  for (const char* cmd : {"init", "create-dataset", "ls", "log", "get", "flush", "recover", "stats", "ingest",
                          "check", "dump", "export", "undo-recover", "attr"}) {
    INFO(cmd);
    Result r = cli(dir, {cmd, "--no-such-option"});
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
  }
  for (std::vector<std::string> args :
       std::vector<std::vector<std::string>>{{"ls", dir / "none"},
                                             {"log", dir / "none"},
                                             {"stats", dir / "none"},
                                             {"check", dir / "none"},
                                             {"flush", dir / "none"},
                                             {"dump", dir / "none", "1"},
                                             {"export", dir / "none", dir / "o.h5"},
                                             {"get", dir / "none", "a.h5:/x", "--slice", "0"}}) {
    INFO(args[0]);
    Result r = cli(dir, args);
    CHECK(r.status == 1);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(contains(r.err, dir / "none"));
  }

  py(dir,
     "f = h5py.File(\"in.h5\", \"w\")\n"
     "d = f.create_dataset(\"d\", data=np.arange(256 * 256, dtype=np.uint16).reshape(256, 256), chunks=(32, "
     "256), "
     "fletcher32=True)\n"
     "off = d.id.get_chunk_info(3).byte_offset\n"
     "f.close()\n"
     "b = bytearray(open(\"in.h5\", \"rb\").read())\n"
     "b[off + 100] ^= 0xff\n"
     "open(\"in.h5\", \"wb\").write(b)\n"
     "open(\"notes.h5\", \"w\").write(\"not HDF5\")\n");
  struct Case {
    std::vector<std::string> args;
    std::string file, what;
  };
  std::vector<Case> cases = {
      {{"ingest", home, "x.h5:/a", "--from", dir / "in.h5:/nope"}, dir / "in.h5:/nope", "doesn't exist"},
      {{"ingest", home, "x.h5:/a", "--from", dir / "notes.h5:/d"},
       dir / "notes.h5",
       "file signature not found"},
      // A chunk that fails its checksum, read by the prefetch thread or a worker.
      {{"ingest", home, "x.h5:/a", "--from", dir / "in.h5:/d", "--chunk", "32,256", "--tx-chunks", "1",
        "--threads", "3"},
       dir / "in.h5:/d",
       "Fletcher32"},
      {{"export", home, dir / "no/such/dir/o.h5"}, dir / "no/such/dir/o.h5", "No such file or directory"},
  };
  for (const Case& c : cases) {
    Result r = cli(dir, c.args);
    CHECK(r.status == 1);
    CHECK(!contains(r.err, "HDF5-DIAG"));
    std::vector<std::string> lines = lines_of(r.err);
    REQUIRE(!lines.empty());
    // The error is the last line (a progress line may precede it), and the only one.
    CHECK(lines.back().compare(0, 5, "h5tx ") == 0);
    CHECK(contains(lines.back(), c.file));
    CHECK(contains(lines.back(), c.what));
    CHECK(!contains(lines.back(), "(): "));  // no HDF5 call chain
    for (size_t i = 0; i + 1 < lines.size(); i++) CHECK(lines[i].compare(0, 7, "ingest ") == 0);
  }
  // A data file of the store that is not HDF5: the commands that read it say so in one line.
  REQUIRE(
      cli(dir, {"create-dataset", home, "v.h5:/x", "--dtype", "u8", "--shape", "4", "--chunk", "4"}).status ==
      0);
  write_file(home + "/data/v.h5", "garbage, not HDF5");
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"get", home, "v.h5:/x", "--slice", "0"}, {"export", home, dir / "e.h5"}}) {
    Result r = cli(dir, args);
    CHECK(r.status == 1);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(contains(r.err, home + "/data/v.h5"));
    CHECK(contains(r.err, "file signature not found"));
    CHECK(!contains(r.err, "HDF5-DIAG"));
  }
  Result r = cli(dir, {"check", home});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "BAD   HDF5 error: " + home + "/data/v.h5: cannot open: file signature not found\n"));
}

namespace {

// 8 MiB of u8 in 125 rows of 64000 bytes, one chunk each.
void make_big_input(const h5tx_test::TempDir& dir) {
  std::string data(125 * 64000, '\0');
  uint32_t x = 12345;
  for (char& c : data) {
    x = x * 1103515245 + 12345;
    c = char(x >> 24);
  }
  write_file(dir / "in.raw", data);
}

std::vector<std::string> big_ingest(const h5tx_test::TempDir& dir) {
  return {"ingest", dir / "s",   "r.h5:/r",   "--from",   dir / "in.raw", "--dtype",
          "u8",     "--shape",   "125,64000", "--chunk",  "1,64000",      "--tx-chunks",
          "2",      "--threads", "2",         "--verbose"};
}

// The flushed data equals the input (h5py).
std::string data_matches(const h5tx_test::TempDir& dir) {
  return py(dir,
            "d = h5py.File(\"s/data/r.h5\", \"r\")[\"r\"][...]\n"
            "want = np.fromfile(\"in.raw\", dtype=np.uint8).reshape(125, 64000)\n"
            "print(d.shape, (d == want).all())\n");
}

}  // namespace

TEST_CASE(
    "SIGINT or SIGTERM during an ingest: in-flight transactions finish, the store is flushed, exit 130/143, "
    "and the same command resumes") {
  for (int sig : {SIGINT, SIGTERM}) {
    INFO("signal " << sig);
    h5tx_test::TempDir dir(sig == SIGINT ? "cli_sigint" : "cli_sigterm");
    REQUIRE(cli(dir, {"init", dir / "s"}).status == 0);
    make_big_input(dir);
    std::vector<std::string> slow = big_ingest(dir);
    slow.push_back("--max-rate");
    slow.push_back("2");
    std::string out;
    {
      Background bg(dir, slow);
      REQUIRE(bg.wait_lines("committed txid", 3) >= 3);
      bg.signal(sig);
      CHECK(bg.wait() == 128 + sig);
      out = bg.out();
      INFO("stdout:\n" << out << "\nstderr:\n" << bg.err());
      CHECK(contains(out, std::string("interrupted by ") + (sig == SIGINT ? "SIGINT" : "SIGTERM")));
      CHECK(contains(out, "rerun the same command to resume"));
      CHECK(contains(out, "flushed to data/"));
      CHECK(contains(bg.err(), "interrupted: finishing the transactions in flight"));
    }
    // Closed and flushed: nothing pending, nothing in the journal to recover.
    Result lg = cli(dir, {"log", dir / "s"});
    CHECK(contains(lg.out, "no pending transactions"));
    Result r = cli(dir, big_ingest(dir));
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "resuming ingest"));
    CHECK(data_matches(dir) == "(125, 64000) True\n");
  }
}

TEST_CASE("a second SIGINT exits at once, recovery and the same command finish the ingest") {
  h5tx_test::TempDir dir("cli_sigint2");
  REQUIRE(cli(dir, {"init", dir / "s"}).status == 0);
  make_big_input(dir);
  std::vector<std::string> slow = big_ingest(dir);
  slow.push_back("--max-rate");
  slow.push_back("2");
  {
    Background bg(dir, slow);
    REQUIRE(bg.wait_lines("committed txid", 2) >= 2);
    bg.signal(SIGINT);
    bg.signal(SIGINT);
    CHECK(bg.wait() == 130);
  }
  Result r = cli(dir, big_ingest(dir));
  REQUIRE(r.status == 0);
  CHECK(data_matches(dir) == "(125, 64000) True\n");
  CHECK(cli(dir, {"check", dir / "s"}).status == 0);
}

namespace {

// Parses `text` (a command's stdout) with python3's json module and runs
// `script` on it as `d`; returns what the script prints.
std::string json_check(const h5tx_test::TempDir& dir, const std::string& text, const std::string& script) {
  write_file(dir / "out.json", text);
  return h5tx_test::python("import json\nd = json.load(open(\"" + dir / "out.json" + "\"))\n" + script);
}

}  // namespace

TEST_CASE(
    "json output of ls, log, stats, check, dump and ingest (--json): one JSON value on stdout, errors on "
    "stderr") {
  h5tx_test::TempDir dir("cli_json");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  py(dir, "np.save(\"a.npy\", np.arange(20 * 30, dtype=np.float32).reshape(20, 30))\n");
  Result r = cli(dir, {"ingest", home, "v.h5:/raw/a", "--from", dir / "a.npy", "--chunk", "8,8", "--json",
                       "--verbose", "--tx-chunks", "4"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.err, "committed txid"));  // --verbose lines go to stderr
  CHECK(
      json_check(dir, r.out,
                 "print(d[\"run\"], d[\"chunks\"], d[\"chunks_written\"], d[\"transactions\"], d[\"shape\"], "
                 "d[\"chunk\"], d[\"start\"], d[\"complete\"], d[\"interrupted\"], d[\"signal\"], "
                 "len(d[\"id\"]))\n") == "1 12 12 3 [20, 30] [8, 8] [0, 0] True False None 16\n");
  r = cli(dir, {"ingest", home, "v.h5:/raw/a", "--from", dir / "a.npy", "--json"});
  CHECK(json_check(dir, r.out, "print(d[\"already_complete\"], d[\"chunks_written\"])\n") == "True 0\n");
  REQUIRE(cli(dir, {"create-dataset", home, "v.h5:/f", "--dtype", "f64", "--shape", "0,4", "--maxshape",
                    "unlimited,4", "--chunk", "2,4", "--fill", "nan"})
              .status == 0);

  // A process commits two transactions without the flusher and dies: log and dump show them.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      h5tx::Options o;
      o.background_flusher = false;
      auto s = h5tx::Store::open(home, o);
      auto tx = s->begin();
      tx.set_attribute("v.h5", "/raw/a", "gain", h5tx::AttributeValue::scalar<double>(1.5));
      int16_t off[3] = {1, -2, 3};
      tx.set_attribute("v.h5", "/raw/a", "offsets", h5tx::AttributeValue::array<int16_t>(off, 3));
      tx.set_attribute("v.h5", "/", "title", h5tx::AttributeValue::string("caf\xc3\xa9 \"q\"\n"));
      tx.set_message("attrs");
      tx.set_metadata("who", "json test");
      tx.commit();
      auto t2 = s->begin();
      std::vector<float> chunk(64, 2.5f);
      t2.write_chunk("v.h5", "/raw/a", {0, 0}, chunk.data(), chunk.size() * 4);
      t2.commit();
      ::_exit(0);
    } catch (...) {
      ::_exit(3);
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);

  r = cli(dir, {"log", home, "--json"});
  REQUIRE(r.status == 0);
  const std::string log_out =
      json_check(dir, r.out,
                 "p = d[\"pending\"]\n"
                 "print(d[\"mode\"], len(p), p[0][\"message\"], p[0][\"metadata\"], p[0][\"operations\"], "
                 "len(p[0][\"txid\"]), p[1][\"bytes\"] > 0)\n"
                 "print(p[1][\"txid\"])\n");
  std::vector<std::string> log_lines = lines_of(log_out);
  REQUIRE(log_lines.size() == 2);
  CHECK(log_lines[0] == "redo 2 attrs {'who': 'json test'} 3 16 True");
  r = cli(dir, {"dump", home, log_lines[1], "--json"});
  REQUIRE(r.status == 0);
  CHECK(json_check(dir, r.out,
                   "o = d[\"operations\"][0]\n"
                   "print(d[\"committed\"], d[\"txid\"] == \"" +
                       log_lines[1] +
                       "\", o[\"op\"], o[\"file\"], o[\"path\"], o[\"chunk\"], o[\"size\"] > 0, "
                       "len(o[\"xxh3\"]))\n") == "True True write-chunk v.h5 /raw/a [0, 0] True 16\n");

  r = cli(dir, {"ls", home, "--json"});
  REQUIRE(r.status == 0);
  CHECK(
      json_check(
          dir, r.out,
          "f = [x for x in d[\"files\"] if x[\"name\"] == \"v.h5\"][0]\n"
          "o = {x[\"path\"]: x for x in f[\"objects\"]}\n"
          "a = o[\"/raw/a\"]\n"
          "print(f[\"attributes\"][\"title\"], a[\"dtype\"], a[\"shape\"], a[\"chunk\"], "
          "a[\"attributes\"][\"gain\"], a[\"attributes\"][\"offsets\"])\n"
          "print(o[\"/f\"][\"max_shape\"], o[\"/f\"][\"fill_value\"], d[\"pending\"][\"transactions\"])\n") ==
      "{'dtype': 'string', 'value': 'café \"q\"\\n'} f32 [20, 30] [8, 8] {'dtype': 'f64', 'value': 1.5} "
      "{'dtype': 'i16', 'value': [1, -2, 3]}\n[None, 4] nan 2\n");
  r = cli(dir, {"stats", home, "--json"});
  REQUIRE(r.status == 0);
  CHECK(json_check(dir, r.out,
                   "print(d[\"pending_transactions\"], d[\"journal\"][\"done\"], d[\"last_txid\"] == \"" +
                       log_lines[1] + "\", d[\"data\"][\"files\"] >= 1)\n") == "2 2 True True\n");
  r = cli(dir, {"check", home, "--json"});
  REQUIRE(r.status == 0);
  CHECK(
      json_check(dir, r.out, "print(d[\"ok\"], d[\"committed_transactions_verified\"], d[\"problems\"])\n") ==
      "True 2 []\n");
  // A problem: exit 1, the JSON says so, the one-line summary is on stderr.
  write_file(home + "/data/junk.h5", "not HDF5");
  r = cli(dir, {"check", home, "--json"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "problems found"));
  CHECK(
      json_check(dir, r.out, "print(d[\"ok\"], len(d[\"problems\"]), \"junk.h5\" in d[\"problems\"][0])\n") ==
      "False 1 True\n");
  ::unlink((home + "/data/junk.h5").c_str());
  // Errors stay on stderr, stdout empty.
  r = cli(dir, {"ls", dir / "nothing", "--json"});
  CHECK(r.status == 1);
  CHECK(r.out.empty());
  CHECK(lines_of(r.err).size() == 1);
}

TEST_CASE("attr get, set, delete and list through the Transaction attribute API, in both modes") {
  for (const char* mode : {"redo", "undo"}) {
    INFO(mode);
    h5tx_test::TempDir dir(std::string("cli_attr_") + mode);
    const std::string home = dir / "s";
    REQUIRE(cli(dir, {"init", home, "--mode", mode}).status == 0);
    REQUIRE(cli(dir, {"create-dataset", home, "v.h5:/g/d", "--dtype", "u8", "--shape", "4", "--chunk", "4"})
                .status == 0);
    Result r = cli(dir, {"attr", "set", home, "v.h5:/g/d", "units", "--value", "counts"});
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "set v.h5:/g/d @units = \"counts\" (txid "));
    REQUIRE(cli(dir, {"attr", "set", home, "v.h5:/", "gains", "--value", "1.5,-2,0.25", "--dtype", "f64"})
                .status == 0);
    REQUIRE(cli(dir, {"attr", "set", home, "v.h5:/g", "n", "--value", "-7", "--dtype", "i16"}).status == 0);
    REQUIRE(cli(dir, {"attr", "set", home, "v.h5:/g/d", "gone", "--value", "x"}).status == 0);
    REQUIRE(cli(dir, {"attr", "delete", home, "v.h5:/g/d", "gone"}).status == 0);
    CHECK(cli(dir, {"attr", "get", home, "v.h5:/g/d", "units"}).out == "counts\n");
    CHECK(cli(dir, {"attr", "get", home, "v.h5:/", "gains"}).out == "1.5,-2,0.25\n");
    CHECK(cli(dir, {"attr", "list", home, "v.h5:/g"}).out == "@n = i16 -7\n");
    CHECK(cli(dir, {"attr", "list", home, "v.h5:/g/d"}).out == "@units = \"counts\"\n");
    // Missing attribute or object: 1; bad values and sub-commands: 2; each one line.
    r = cli(dir, {"attr", "get", home, "v.h5:/g/d", "gone"});
    CHECK(r.status == 1);
    CHECK(contains(r.err, "v.h5:/g/d"));
    CHECK(lines_of(r.err).size() == 1);
    CHECK(cli(dir, {"attr", "list", home, "v.h5:/nothing"}).status == 1);
    r = cli(dir, {"attr", "set", home, "v.h5:/g/d", "b", "--value", "300", "--dtype", "u8"});
    CHECK(r.status == 2);
    CHECK(lines_of(r.err).size() == 1);
    CHECK(cli(dir, {"attr", "set", home, "v.h5:/g/d", "b"}).status == 2);
    CHECK(cli(dir, {"attr", "frob", home, "v.h5:/g/d", "b"}).status == 2);
    CHECK(cli(dir, {"attr", "get", home, "v.h5:/g/d"}).status == 2);
    REQUIRE(cli(dir, {"flush", home}).status == 0);
    CHECK(py(dir,
             "f = h5py.File(\"s/data/v.h5\", \"r\")\n"
             "print(f[\"g/d\"].attrs[\"units\"], list(f.attrs[\"gains\"]), f[\"g\"].attrs[\"n\"], "
             "\"gone\" in f[\"g/d\"].attrs)\n") == "counts [1.5, -2.0, 0.25] -7 False\n");
  }
}

TEST_CASE("ingest inputs: big-endian and Fortran .npy, .npz members, stdin, HDF5 contiguous and compact") {
  h5tx_test::TempDir dir("cli_inputs");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  py(dir,
     "a = np.arange(30 * 20, dtype=np.int32).reshape(30, 20) * -7\n"
     "np.save(\"be.npy\", a.astype(\">i4\"))\n"
     "np.save(\"f.npy\", np.asfortranarray(np.arange(17 * 9 * 5, dtype=np.float64).reshape(17, 9, 5) / 3))\n"
     "np.save(\"fbe.npy\", np.asfortranarray(np.arange(40 * 50, dtype=\">u2\").reshape(40, 50)))\n"
     "np.savez(\"s.npz\", a=np.arange(100, dtype=np.int16).reshape(10, 10), b=np.ones((3, 4)))\n"
     "np.savez_compressed(\"c.npz\", big=np.arange(200 * 300, dtype=np.int64).reshape(200, 300) % 977,\n"
     "                    f=np.asfortranarray(np.arange(13 * 11, dtype=\">f4\").reshape(13, 11)))\n"
     "np.save(\"st.npy\", np.asfortranarray(np.arange(24 * 6, dtype=\">i2\").reshape(24, 6)))\n"
     "np.arange(20 * 30, dtype=\"<f4\").tofile(\"r.bin\")\n"
     "for n, want in [(\"be.npy\", [b\">i4\"]), (\"f.npy\", [b\"<f8\", b\"True\"]),\n"
     "                (\"fbe.npy\", [b\">u2\", b\"True\"])]:\n"
     "    assert all(w in open(n, \"rb\").read(128) for w in want), n\n"
     "import zipfile\n"
     "assert zipfile.ZipFile(\"s.npz\").getinfo(\"a.npy\").compress_type == zipfile.ZIP_STORED\n"
     "assert zipfile.ZipFile(\"c.npz\").getinfo(\"big.npy\").compress_type == zipfile.ZIP_DEFLATED\n"
     "with h5py.File(\"in.h5\", \"w\") as f:\n"
     "    f.create_dataset(\"cont\", data=np.arange(33 * 41, dtype=\">i2\").reshape(33, 41))\n"
     "    sid = h5py.h5s.create_simple((3, 4))\n"
     "    pl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)\n"
     "    pl.set_layout(h5py.h5d.COMPACT)\n"
     "    d = h5py.h5d.create(f.id, b\"comp\", h5py.h5t.STD_U32LE, sid, pl)\n"
     "    d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(12, dtype=np.uint32).reshape(3, 4) + 5)\n"
     "    assert f[\"cont\"].id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS\n"
     "    assert f[\"comp\"].id.get_create_plist().get_layout() == h5py.h5d.COMPACT\n");
  struct Case {
    std::string from, target, chunk;
  };
  const std::vector<Case> cases = {
      {"be.npy", "/be", "7,6"},   {"f.npy", "/f", "4,4,2"},         {"fbe.npy", "/fbe", "9,16"},
      {"s.npz:a", "/s_a", "3,4"}, {"s.npz:b.npy", "/s_b", "2,3"},   {"c.npz:big", "/c_big", "64,64"},
      {"c.npz:f", "/c_f", "5,4"}, {"in.h5:/cont", "/cont", "8,16"}, {"in.h5:/comp", "/comp", "2,3"}};
  for (const Case& c : cases) {
    Result r = cli(dir, {"ingest", home, "v.h5:" + c.target, "--from", dir / c.from, "--chunk", c.chunk,
                         "--threads", "2", "--tx-chunks", "3"});
    CHECK(r.status == 0);
  }
  // stdin: a .npy stream (Fortran order, big-endian) and raw data with --dtype --shape.
  CHECK(
      cli(dir, {"ingest", home, "v.h5:/stdin_npy", "--from", "-", "--chunk", "5,4"}, dir / "st.npy").status ==
      0);
  CHECK(cli(dir, {"ingest", home, "v.h5:/stdin_raw", "--from", "-", "--dtype", "f32", "--shape", "20,30"},
            dir / "r.bin")
            .status == 0);
  CHECK(py(dir,
           "f = h5py.File(\"s/data/v.h5\", \"r\")\n"
           "z = np.load(\"s.npz\"); c = np.load(\"c.npz\"); g = h5py.File(\"in.h5\", \"r\")\n"
           "want = {\"be\": np.load(\"be.npy\"), \"f\": np.load(\"f.npy\"), \"fbe\": np.load(\"fbe.npy\"),\n"
           "        \"s_a\": z[\"a\"], \"s_b\": z[\"b\"], \"c_big\": c[\"big\"], \"c_f\": c[\"f\"],\n"
           "        \"cont\": g[\"cont\"][...], \"comp\": g[\"comp\"][...], \"stdin_npy\": "
           "np.load(\"st.npy\"),\n"
           "        \"stdin_raw\": np.fromfile(\"r.bin\", dtype=\"<f4\").reshape(20, 30)}\n"
           "for k in sorted(want):\n"
           "    d = f[k]\n"
           "    w = want[k]\n"
           "    ok = d.shape == w.shape and d.dtype == w.dtype.newbyteorder(\"<\") and (d[...] == w).all()\n"
           "    print(k, ok, d.dtype.byteorder in \"<=|\")\n") ==
        "be True True\nc_big True True\nc_f True True\ncomp True True\ncont True True\nf True True\n"
        "fbe True True\ns_a True True\ns_b True True\nstdin_npy True True\nstdin_raw True True\n");
  // A file input resumes (the same command is complete); stdin is a new ingest each run.
  CHECK(contains(cli(dir, {"ingest", home, "v.h5:/c_f", "--from", dir / "c.npz:f"}).out, "already complete"));
  Result r = cli(dir, {"ingest", home, "v.h5:/stdin_npy", "--from", "-"}, dir / "st.npy");
  CHECK(r.status == 0);
  CHECK(!contains(r.out, "already complete"));
  r = cli(dir, {"ingest", home, "v.h5:/stdin_npy", "--from", "-", "--resume"}, dir / "st.npy");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "not resumable"));

  // Errors: one line, naming the archive or member.
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "s.npz:zz"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "no member 'zz'"));
  CHECK(contains(r.err, "members: a, b"));
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "s.npz"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "s.npz:NAME"));
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", "-"}, dir / "r.bin");
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--dtype and --shape"));
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", "-", "--dtype", "u8", "--shape", "4"});  // /dev/null
  CHECK(r.status == 1);
  CHECK(contains(r.err, "stdin is empty"));
  // An encrypted member and one that needs zip64: the central directory
  // entries of member "e" / "z" patched (flag bit 0; sizes 0xffffffff).
  py(dir,
     "np.savez(\"p.npz\", ok=np.arange(4), e=np.arange(5), z=np.arange(6))\n"
     "b = bytearray(open(\"p.npz\", \"rb\").read())\n"
     "i = 0\n"
     "while True:\n"
     "    i = b.find(b\"PK\\x01\\x02\", i)\n"
     "    if i < 0: break\n"
     "    n = int.from_bytes(b[i + 28:i + 30], \"little\")\n"
     "    name = bytes(b[i + 46:i + 46 + n])\n"
     "    if name == b\"e.npy\": b[i + 8] |= 1\n"
     "    if name == b\"z.npy\": b[i + 20:i + 28] = b\"\\xff\" * 8\n"
     "    i += 46\n"
     "open(\"p.npz\", \"wb\").write(b)\n");
  CHECK(cli(dir, {"ingest", home, "v.h5:/ok", "--from", dir / "p.npz:ok"}).status == 0);
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "p.npz:e"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "p.npz:e"));
  CHECK(contains(r.err, "encrypted"));
  CHECK(lines_of(r.err).size() == 1);
  r = cli(dir, {"ingest", home, "v.h5:/x", "--from", dir / "p.npz:z"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "p.npz:z"));
  CHECK(contains(r.err, "zip64"));
  CHECK(lines_of(r.err).size() == 1);
  CHECK(contains(cli(dir, {"ingest", "--help"}).out, "$TMPDIR"));
}

TEST_CASE("ls lists datasets h5tx does not manage with the reason, get reads contiguous and compact ones") {
  h5tx_test::TempDir dir("cli_unmanaged");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  REQUIRE(cli(dir, {"create-dataset", home, "v.h5:/m", "--dtype", "u8", "--shape", "8,8", "--chunk", "4,4"})
              .status == 0);
  REQUIRE(cli(dir, {"flush", home}).status == 0);
  // Written by h5py into the flushed data file while no store process runs.
  py(dir,
     "with h5py.File(\"s/data/v.h5\", \"a\") as f:\n"
     "    f.create_dataset(\"u/cont\", data=np.arange(30 * 40, dtype=\"<i2\").reshape(30, 40) - 600)\n"
     "    f.create_dataset(\"u/be\", data=(np.arange(12).reshape(3, 4) / 4).astype(\">f8\"), chunks=(2, 2))\n"
     "    f.create_dataset(\"u/str\", data=np.array([b\"ab\", b\"cd\"]))\n"
     "    f.create_dataset(\"u/vstr\", data=[\"x\", \"yy\"], dtype=h5py.string_dtype())\n"
     "    f.create_dataset(\"u/cmp\", data=np.zeros(3, dtype=[(\"a\", \"i4\"), (\"b\", \"f8\")]))\n"
     "    f.create_dataset(\"u/vl\", shape=(2,), dtype=h5py.vlen_dtype(np.int32))\n"
     "    sid = h5py.h5s.create_simple((3, 4))\n"
     "    pl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)\n"
     "    pl.set_layout(h5py.h5d.COMPACT)\n"
     "    d = h5py.h5d.create(f.id, b\"u/comp\", h5py.h5t.STD_U8LE, sid, pl)\n"
     "    d.write(h5py.h5s.ALL, h5py.h5s.ALL, np.arange(12, dtype=np.uint8).reshape(3, 4) * 3)\n");
  Result r = cli(dir, {"ls", home});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "  /m                       u8  8x8  chunk 4x4"));
  CHECK(contains(r.out, "  /u/be                    (not managed by h5tx: big-endian"));
  CHECK(
      contains(r.out, "  /u/cont                  (not managed by h5tx: dataset is not chunked (contiguous"));
  CHECK(contains(r.out, "  /u/comp                  (not managed by h5tx: dataset is not chunked (compact"));
  CHECK(contains(r.out, "  /u/str                   (not managed by h5tx: data type is not one of"));
  CHECK(contains(r.out, "string)"));
  CHECK(contains(r.out, "  /u/cmp                   (not managed by h5tx: data type is not one of"));
  CHECK(contains(r.out, "compound)"));
  CHECK(contains(r.out, "  /u/vl                    (not managed by h5tx: data type is not one of"));
  CHECK(contains(r.out, "variable-length)"));
  CHECK(contains(r.out, "  /u/vstr                  (not managed by h5tx:"));
  r = cli(dir, {"ls", home, "--json"});
  REQUIRE(r.status == 0);
  write_file(dir / "ls.json", r.out);
  CHECK(py(dir,
           "import json\n"
           "d = json.load(open(\"ls.json\"))\n"
           "o = {x[\"path\"]: x for x in d[\"files\"][0][\"objects\"]}\n"
           "print(o[\"/m\"][\"dtype\"], o[\"/u/cont\"][\"managed\"], \"contiguous\" in "
           "o[\"/u/cont\"][\"unsupported\"])\n") == "u8 False True\n");
  // get --slice of contiguous, compact and big-endian chunked numeric datasets.
  r = cli(dir, {"get", home, "v.h5:/u/cont", "--slice", "1:3,2:6"});
  REQUIRE(r.status == 0);
  CHECK(r.out == "[1,2] -558 -557 -556 -555\n[2,2] -518 -517 -516 -515\n");
  r = cli(dir, {"get", home, "v.h5:/u/comp", "--slice", ":,:"});
  REQUIRE(r.status == 0);
  CHECK(r.out == "[0,0] 0 3 6 9\n[1,0] 12 15 18 21\n[2,0] 24 27 30 33\n");
  r = cli(dir, {"get", home, "v.h5:/u/be", "--slice", "2,1:3"});
  REQUIRE(r.status == 0);
  CHECK(r.out == "[2,1] 2.25 2.5\n");
  r = cli(dir, {"get", home, "v.h5:/u/cont", "--slice", "0:30,0:40", "--raw"});
  REQUIRE(r.status == 0);
  write_file(dir / "cont.raw", r.out);
  CHECK(py(dir,
           "a = np.fromfile(\"cont.raw\", dtype=\"<i2\").reshape(30, 40)\n"
           "print((a == h5py.File(\"s/data/v.h5\", \"r\")[\"u/cont\"][...]).all())\n") == "True\n");
  r = cli(dir, {"get", home, "v.h5:/u/cont", "--chunk", "0,0"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "use --slice"));
  r = cli(dir, {"get", home, "v.h5:/u/str", "--slice", "0:1"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "numeric"));
  CHECK(lines_of(r.err).size() == 1);
  // A committed, unflushed transaction (a process died without closing the
  // store): get refuses the unmanaged dataset and says to flush.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      h5tx::Options o;
      o.background_flusher = false;
      std::unique_ptr<h5tx::Store> s = h5tx::Store::open(home, o);
      h5tx::Transaction tx = s->begin();
      std::vector<uint8_t> chunk(16, 0x5a);
      tx.write_chunk("v.h5", "/m", {1, 1}, chunk);
      tx.commit();
      ::_exit(0);  // no Store::close (which would flush)
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(1);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  r = cli(dir, {"get", home, "v.h5:/u/comp", "--slice", "0,:"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "pending"));
  CHECK(contains(r.err, "h5tx flush"));
  REQUIRE(cli(dir, {"flush", home}).status == 0);
  r = cli(dir, {"get", home, "v.h5:/u/comp", "--slice", "0,:"});
  CHECK(r.status == 0);
  CHECK(r.out == "[0,0] 0 3 6 9\n");
  CHECK(contains(cli(dir, {"get", "--help"}).out, "not manage"));
  CHECK(contains(cli(dir, {"ls", "--help"}).out, "not managed by h5tx"));
}

TEST_CASE("SIGINT during an ingest from stdin: committed chunks stay, the message says it is not resumable") {
  h5tx_test::TempDir dir("cli_stdin_sigint");
  const std::string home = dir / "s";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  py(dir, "np.save(\"a.npy\", np.arange(40 * 65536, dtype=np.uint8).reshape(40, 65536))\n");
  Background bg(dir,
                {"ingest", home, "v.h5:/x", "--from", "-", "--chunk", "1,65536", "--tx-chunks", "1",
                 "--threads", "1", "--max-rate", "0.5", "--verbose"},
                dir / "a.npy");
  REQUIRE(bg.wait_lines("committed txid", 2) >= 2);
  bg.signal(SIGINT);
  CHECK(bg.wait() == 130);
  INFO("stdout:\n" << bg.out() << "\nstderr:\n" << bg.err());
  CHECK(contains(bg.out(), "an ingest from stdin is not resumable"));
  CHECK(!contains(bg.out(), "rerun the same command to resume"));
  // The same command again is a new ingest that writes every chunk.
  Result r = cli(dir, {"ingest", home, "v.h5:/x", "--from", "-", "--chunk", "1,65536"}, dir / "a.npy");
  REQUIRE(r.status == 0);
  CHECK(!contains(r.out, "resuming"));
  CHECK(py(dir, "print((h5py.File(\"s/data/v.h5\", \"r\")[\"x\"][...] == np.load(\"a.npy\")).all())\n") ==
        "True\n");
}
