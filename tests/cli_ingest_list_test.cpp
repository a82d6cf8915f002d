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
  CHECK(contains(j1.out, "\"run\":1,\"latest\":true,\"record\":\"running\",\"target\":\"v.h5:/a\""));
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

  // Resumed to the end: complete, and compacted to one record. A
  // --no-resume run replaces that record with its own.
  REQUIRE(cli(dir, slow_ingest(dir, false)).status == 0);
  Result l2 = cli(dir, {"ingest", dir / "s", "--list"});
  CHECK(lines_of(l2.out).size() == 1);
  CHECK(contains(l2.out, "run 1: v.h5:/a"));
  CHECK(contains(l2.out, "256 of 256 chunks committed, complete (finished)\n"));
  CHECK(contains(cli(dir, {"ingest", dir / "s", "--list", "--json"}).out, "\"record\":\"finished\""));
  std::vector<std::string> again = slow_ingest(dir, false);
  again.push_back("--no-resume");
  REQUIRE(cli(dir, again).status == 0);
  Result l3 = cli(dir, {"ingest", dir / "s", "--list"});
  REQUIRE(lines_of(l3.out).size() == 1);
  CHECK(contains(lines_of(l3.out)[0], "run 2: "));
  CHECK(contains(lines_of(l3.out)[0], "256 of 256 chunks committed, complete (finished)"));
  CHECK_FALSE(contains(lines_of(l3.out)[0], "superseded"));

  // Usage: --list takes HOME only; ingest without --list needs FILE:/path.
  CHECK(cli(dir, {"ingest", dir / "s", "v.h5:/a", "--list"}).status == 2);
  CHECK(cli(dir, {"ingest", dir / "s", "--list", "--from", "x"}).status == 2);
  Result bad = cli(dir, {"ingest", dir / "s"});
  CHECK(bad.status == 2);
  CHECK(contains(bad.err, "ingest needs HOME FILE:/path (or HOME --list)"));
}

namespace {

std::vector<std::string> ingest_of(const h5tx_test::TempDir& dir, const std::string& input,
                                   const std::string& target, bool slow) {
  std::vector<std::string> a = slow_ingest(dir, slow);
  a[2] = target;
  a[4] = dir / input;
  return a;
}

void write_input(const h5tx_test::TempDir& dir, const std::string& name, int seed) {
  std::string bytes(256 * 256, '\0');
  for (size_t i = 0; i < bytes.size(); i++) bytes[i] = char(i * 7 + size_t(seed));
  write_file(dir / name, bytes);
}

// Runs Python (Debian's, with h5py) on `code`; its stdout.
std::string py(const h5tx_test::TempDir& dir, const std::string& code) {
  Result r = run_program({"/usr/bin/python3", "-c", code}, dir.path());
  INFO("python:\n" << code << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.status == 0);
  return r.out;
}

// Interrupts a slow ingest after it committed two transactions.
void interrupted(const h5tx_test::TempDir& dir, const std::vector<std::string>& args) {
  Background bg(dir, args);
  REQUIRE(bg.wait_lines("committed txid", 2) >= 2);
  bg.signal(SIGINT);
  REQUIRE(bg.wait() == 130);
}

}  // namespace

TEST_CASE("finished ingests are compacted: runs reuse a free progress slot, one record per ingest") {
  h5tx_test::TempDir dir("cli_ingest_compact");
  REQUIRE(cli(dir, {"init", dir / "s"}).status == 0);
  write_input(dir, "a.raw", 1);
  write_input(dir, "b.raw", 2);

  // A is interrupted: it holds slot 0. B runs to the end six times (five
  // of them --no-resume): it takes slot 1 once and reuses it.
  interrupted(dir, ingest_of(dir, "a.raw", "v.h5:/a", true));
  for (int i = 0; i < 6; i++) {
    std::vector<std::string> b = ingest_of(dir, "b.raw", "v.h5:/b", false);
    if (i) b.push_back("--no-resume");
    Result r = cli(dir, b);
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "run " + std::to_string(i + 1)));
  }
  Result resumed = cli(dir, ingest_of(dir, "a.raw", "v.h5:/a", false));
  REQUIRE(resumed.status == 0);
  CHECK(contains(resumed.out, "resuming ingest"));

  Result l = cli(dir, {"ingest", dir / "s", "--list"});
  REQUIRE(l.status == 0);
  INFO(l.out);
  REQUIRE(lines_of(l.out).size() == 2);
  CHECK(contains(l.out, "run 1: v.h5:/a"));
  CHECK(contains(l.out, "run 6: v.h5:/b"));
  CHECK(contains(lines_of(l.out)[0], "256 of 256 chunks committed, complete (finished)"));
  CHECK(contains(lines_of(l.out)[1], "256 of 256 chunks committed, complete (finished)"));

  // Read back independently: two slot datasets and nothing else, both free,
  // slot 1 at its sixth use; two finished records; both targets exact.
  const std::string store = dir / "s";
  std::string out =
      py(dir,
         "import h5py, numpy as np\n"
         "f = h5py.File('" +
             store +
             "/data/.h5tx-ingest.h5', 'r')\n"
             "names = []\n"
             "f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)\n"
             "print(sorted(names))\n"
             "print([f['slots/%d' % k].attrs['state'] for k in (0, 1)])\n"
             "print(f['slots/1'].attrs['mark'], f['slots/0'].attrs['mark'])\n"
             "print(sorted(a for a in f.attrs if a.startswith('finished.')).__len__())\n"
             "v = h5py.File('" +
             store +
             "/data/v.h5', 'r')\n"
             "for name, seed in (('a', 1), ('b', 2)):\n"
             "    want = ((np.arange(65536) * 7 + seed) % 256).astype(np.uint8).reshape(256, 256)\n"
             "    print(name, bool((v[name][...] == want).all()))\n");
  CHECK(out == "['slots/0', 'slots/1']\n['free', 'free']\n6 1\n2\na True\nb True\n");

  // A third ingest takes a free slot instead of making one.
  write_input(dir, "c.raw", 3);
  REQUIRE(cli(dir, ingest_of(dir, "c.raw", "v.h5:/c", false)).status == 0);
  CHECK(py(dir,
           "import h5py\n"
           "f = h5py.File('" +
               store +
               "/data/.h5tx-ingest.h5', 'r')\n"
               "print(sorted(f['slots']), f['slots/0'].attrs['mark'])\n") == "['0', '1'] 2\n");
}

TEST_CASE("an unfinished ingest recorded by an earlier build (/<id>/<run>) resumes and is compacted") {
  h5tx_test::TempDir dir("cli_ingest_legacy");
  REQUIRE(cli(dir, {"init", dir / "s"}).status == 0);
  make_input(dir);
  interrupted(dir, slow_ingest(dir, true));
  // Rewrite its slot as the earlier layout: a dataset /<id>/1 whose
  // elements are 1 (the run) for committed chunks, with the same
  // attributes; no slot. (The store is closed and flushed: data/ holds
  // plain HDF5 files.)
  const std::string store = dir / "s";
  std::string id = py(dir,
                      "import h5py, numpy as np\n"
                      "f = h5py.File('" +
                          store +
                          "/data/.h5tx-ingest.h5', 'r+')\n"
                          "s = f['slots/0']\n"
                          "ident = s.attrs['id']\n"
                          "marks = (s[...] == int(s.attrs['mark'])).astype(np.uint32)\n"
                          "d = f.create_dataset('%s/1' % ident, data=marks, chunks=s.chunks)\n"
                          "for k in ('target', 'input', 'shape', 'chunk', 'start'):\n"
                          "    d.attrs[k] = s.attrs[k]\n"
                          "del f['slots']\n"
                          "print(ident, end='')\n");
  REQUIRE(id.size() == 16);
  Result l1 = cli(dir, {"ingest", dir / "s", "--list", "--json"});
  CHECK(contains(l1.out, "\"record\":\"legacy\""));
  CHECK(contains(l1.out, "\"complete\":false"));

  Result r = cli(dir, slow_ingest(dir, false));
  INFO(r.out << r.err);
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "resuming ingest " + id + " run 1: "));
  Result l2 = cli(dir, {"ingest", dir / "s", "--list"});
  REQUIRE(lines_of(l2.out).size() == 1);
  CHECK(contains(l2.out, "run 1: v.h5:/a"));
  CHECK(contains(l2.out, "complete (finished)"));
  CHECK(py(dir,
           "import h5py, numpy as np\n"
           "v = h5py.File('" +
               store +
               "/data/v.h5', 'r')\n"
               "want = ((np.arange(65536) * 13) % 256).astype(np.uint8).reshape(256, 256)\n"
               "print(bool((v['a'][...] == want).all()))\n") == "True\n");
}
