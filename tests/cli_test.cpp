// End-to-end tests of the h5tx command-line tool: they run the real binary
// (build/bin/h5tx) as an operator would, and check the HDF5 files it leaves
// with the Debian HDF5 tools (h5dump) and h5py where installed.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <fcntl.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "h5tx/sec2j.h"
#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "cli_util.hpp"
#include "test_util.hpp"

namespace {

using cli_test::cli;
using cli_test::contains;
using cli_test::lines_of;
using cli_test::read_file;
using cli_test::Result;
using cli_test::run_program;
using cli_test::write_file;

const std::string& kBinary = cli_test::binary();

// The dataset's elements as raw little-endian bytes, dumped by h5dump.
std::string h5dump_bytes(const h5tx_test::TempDir& dir, const std::string& file, const std::string& dataset) {
  std::string out = dir / "h5dump.bin";
  ::unlink(out.c_str());
  Result r = run_program({"/usr/bin/h5dump", "-b", "LE", "-d", dataset, "-o", out, file}, dir.path());
  INFO("h5dump stderr: " << r.err);
  REQUIRE(r.status == 0);
  return read_file(out);
}

bool have_h5py() {
  static int have = -1;
  if (have < 0) have = ::system("/usr/bin/python3 -c 'import h5py, numpy' >/dev/null 2>&1") == 0;
  return have == 1;
}

// A deterministic array of n bytes.
std::string pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = char(x >> 24);
  }
  return s;
}

std::string npy_file(const std::string& descr, const std::string& shape, const std::string& data) {
  std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  size_t total = 10 + dict.size() + 1;
  dict.append((total + 63) / 64 * 64 - total, ' ');
  dict += '\n';
  std::string h("\x93NUMPY\x01\x00", 8);
  h += char(dict.size() & 0xff);
  h += char(dict.size() >> 8);
  return h + dict + data;
}

// Chunk indices of "committed txid X chunks a-b,c" lines.
std::vector<uint64_t> committed_chunks(const std::string& out) {
  std::vector<uint64_t> v;
  for (const std::string& l : lines_of(out)) {
    size_t p = l.find(" chunks ");
    if (l.compare(0, 15, "committed txid ") != 0 || p == std::string::npos) continue;
    std::string ranges = l.substr(p + 8);
    std::istringstream in(ranges);
    std::string part;
    while (std::getline(in, part, ',')) {
      size_t dash = part.find('-');
      uint64_t a = std::stoull(part.substr(0, dash)),
               b = dash == std::string::npos ? a : std::stoull(part.substr(dash + 1));
      for (uint64_t i = a; i <= b; i++) v.push_back(i);
    }
  }
  return v;
}

// Address of the first stored chunk of `dataset` in `file` (to corrupt it).
haddr_t first_chunk_address(const std::string& file, const std::string& dataset, hsize_t* size) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(f >= 0);
  hid_t d = H5Dopen2(f, dataset.c_str(), H5P_DEFAULT);
  REQUIRE(d >= 0);
  hid_t sp = H5Dget_space(d);
  hsize_t off[8];
  unsigned mask = 0;
  haddr_t addr = 0;
  REQUIRE(H5Dget_chunk_info(d, sp, 0, off, &mask, &addr, size) >= 0);
  H5Sclose(sp);
  H5Dclose(d);
  H5Fclose(f);
  return addr;
}

void flip_byte(const std::string& path, uint64_t offset) {
  int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  unsigned char b = 0;
  REQUIRE(::pread(fd, &b, 1, off_t(offset)) == 1);
  b ^= 0x20;
  REQUIRE(::pwrite(fd, &b, 1, off_t(offset)) == 1);
  ::close(fd);
}

}  // namespace

TEST_CASE("usage errors exit 2 with one line naming the problem, --help exits 0") {
  h5tx_test::TempDir dir("cli_usage");
  CHECK(cli(dir, {}).status == 2);
  Result r = cli(dir, {"frobnicate"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "unknown command 'frobnicate'"));
  CHECK(cli(dir, {"--version"}).status == 0);
  CHECK(cli(dir, {"ingest", dir / "s"}).status == 2);
  r = cli(dir, {"ingest", dir / "s", "vol.h5:/a", "--from", "x", "--bogus"});
  CHECK(r.status == 2);
  CHECK(contains(r.err, "--bogus"));
  CHECK(lines_of(r.err).size() == 1);
  CHECK(cli(dir, {"create-dataset", dir / "s", "vol.h5:/a", "--dtype", "u17", "--shape", "4", "--chunk", "2"})
            .status == 2);
  CHECK(cli(dir, {"create-dataset", dir / "s", "vol.h5", "--dtype", "u8", "--shape", "4", "--chunk", "2"})
            .status == 2);
  CHECK(cli(dir, {"init", dir / "s", "--mode", "sideways"}).status == 2);
  CHECK(cli(dir, {"get", dir / "s", "vol.h5:/a"}).status == 2);
  for (const char* cmd : {"init", "create-dataset", "ls", "log", "get", "flush", "recover", "stats", "ingest",
                          "demo", "check", "dump", "export", "undo-recover"}) {
    Result h = cli(dir, {cmd, "--help"});
    CHECK(h.status == 0);
    CHECK(contains(h.out, std::string("usage: h5tx ") + cmd));
  }
  // A store that does not exist: a problem (1), not a usage error, naming the path.
  r = cli(dir, {"ls", dir / "nothing-here"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, dir / "nothing-here"));
  CHECK(lines_of(r.err).size() == 1);
}

TEST_CASE("ingest of a .npy and a raw file, flushed: the HDF5 files hold exactly the input bytes") {
  h5tx_test::TempDir dir("cli_ingest");
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home}).status == 0);

  // u16 33x40x50 with edge chunks; f32 raw 70x90.
  std::string a = pattern(33 * 40 * 50 * 2, 1), b = pattern(70 * 90 * 4, 2);
  for (size_t i = 0; i + 3 < b.size(); i += 4) b[i + 3] = 0x3f;  // finite floats
  write_file(dir / "a.npy", npy_file("<u2", "33, 40, 50", a));
  write_file(dir / "b.raw", b);
  Result r = cli(dir, {"ingest", home, "vol.h5:/raw/a", "--from", dir / "a.npy", "--chunk", "16,16,16",
                       "--tx-chunks", "3", "--threads", "3"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "wrote 36 of 36 chunks"));
  CHECK(contains(r.err, "100.0%"));  // the progress line, plain (not a terminal)
  r = cli(dir, {"ingest", home, "other.h5:/b", "--from", dir / "b.raw", "--dtype", "f32", "--shape", "70,90",
                "--chunk", "32,32", "--compress", "deflate:5"});
  REQUIRE(r.status == 0);

  CHECK(h5dump_bytes(dir, home + "/data/vol.h5", "/raw/a") == a);
  CHECK(h5dump_bytes(dir, home + "/data/other.h5", "/b") == b);
  if (have_h5py()) {
    std::string py =
        "import h5py, numpy as np\n"
        "a = np.load('" +
        dir / "a.npy" +
        "')\n"
        "d = h5py.File('" +
        home +
        "/data/vol.h5', 'r')['raw/a']\n"
        "assert d.dtype == np.uint16 and d.shape == (33, 40, 50) and d.chunks == (16, 16, 16)\n"
        "assert (d[...] == a).all()\n"
        "print('h5py-ok')\n";
    Result p = run_program({"/usr/bin/python3", "-c", py}, dir.path());
    CHECK(p.err == "");
    CHECK(contains(p.out, "h5py-ok"));
  } else {
    WARN("h5py not installed for /usr/bin/python3: checked with h5dump only");
  }

  // The same ingest again finds everything committed and writes nothing.
  r = cli(dir, {"ingest", home, "vol.h5:/raw/a", "--from", dir / "a.npy"});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "already complete"));

  r = cli(dir, {"ls", home});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "/raw/a"));
  CHECK(contains(r.out, "u16  33x40x50  chunk 16x16x16  fletcher32"));
  CHECK(contains(r.out, "f32  70x90  chunk 32x32  deflate:5  fletcher32"));
  r = cli(dir, {"get", home, "vol.h5:/raw/a", "--slice", "2,3,4:7"});
  REQUIRE(r.status == 0);
  uint16_t v[3];
  std::memcpy(v, &a[((2 * 40 + 3) * 50 + 4) * 2], 6);
  CHECK(r.out ==
        "[2,3,4] " + std::to_string(v[0]) + " " + std::to_string(v[1]) + " " + std::to_string(v[2]) + "\n");
  r = cli(dir, {"get", home, "vol.h5:/raw/a", "--chunk", "2,2,3", "--raw"});
  REQUIRE(r.status == 0);
  REQUIRE(r.out.size() == 16 * 16 * 16 * 2);  // edge chunk: whole, padded with the fill value
  CHECK(std::memcmp(&r.out[0], &a[((32 * 40 + 32) * 50 + 48) * 2], 4) == 0);
  CHECK(r.out[2 * 2] == 0);
  CHECK(cli(dir, {"get", home, "vol.h5:/raw/a", "--chunk", "3,0,0"}).status == 2);

  r = cli(dir, {"check", home});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "0 problems"));
  r = cli(dir, {"export", home, dir / "out.h5"});
  REQUIRE(r.status == 0);
  CHECK(h5dump_bytes(dir, dir / "out.h5", "/vol.h5/raw/a") == a);
  CHECK(h5dump_bytes(dir, dir / "out.h5", "/other.h5/b") == b);
  CHECK(cli(dir, {"export", home, dir / "out.h5"}).status == 1);  // exists
  r = cli(dir, {"export", home, dir / "one.h5", "other.h5"});
  REQUIRE(r.status == 0);
  CHECK(h5dump_bytes(dir, dir / "one.h5", "/b") == b);

  // An HDF5 dataset as input (here: the export), default chunk shape.
  r = cli(dir, {"ingest", home, "copy.h5:/c", "--from", dir / "out.h5:/vol.h5/raw/a"});
  REQUIRE(r.status == 0);
  CHECK(h5dump_bytes(dir, home + "/data/copy.h5", "/c") == a);
}

TEST_CASE("an ingest killed with SIGKILL resumes: exactly the input's bytes, no chunk committed twice") {
  h5tx_test::TempDir dir("cli_kill");
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  const uint64_t n = 4u << 20;  // 4 MiB of u8, 64 chunks of 64 KiB
  std::string data = pattern(n, 7);
  write_file(dir / "in.raw", data);
  std::vector<std::string> args = {
      kBinary,     "ingest",  home,         "big.h5:/x",  "--from",    dir / "in.raw", "--dtype",
      "u8",        "--shape", "64,256,256", "--chunk",    "1,256,256", "--tx-chunks",  "2",
      "--threads", "2",       "--verbose",  "--max-rate", "2"};

  // First run: killed after five committed transactions.
  int out_pipe[2];
  REQUIRE(::pipe(out_pipe) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    int e = ::open((dir / "run1.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(e, 2);
    ::close(out_pipe[0]);
    std::vector<char*> av;
    for (const std::string& s : args) av.push_back(const_cast<char*>(s.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  std::string run1;
  int committed = 0;
  char buf[4096];
  while (committed < 5) {
    ssize_t got = ::read(out_pipe[0], buf, sizeof buf);
    if (got <= 0) break;
    run1.append(buf, size_t(got));
    committed = 0;
    for (const std::string& l : lines_of(run1)) committed += l.compare(0, 10, "committed ") == 0;
  }
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  while (true) {  // whatever it printed before dying
    ssize_t got = ::read(out_pipe[0], buf, sizeof buf);
    if (got <= 0) break;
    run1.append(buf, size_t(got));
  }
  ::close(out_pipe[0]);
  INFO("run 1 stdout:\n" << run1 << "\nstderr:\n" << read_file(dir / "run1.err"));
  REQUIRE(WIFSIGNALED(st));
  REQUIRE(WTERMSIG(st) == SIGKILL);
  std::vector<uint64_t> first = committed_chunks(run1);
  REQUIRE(first.size() >= 10);
  REQUIRE(first.size() < 64);

  // The crashed store: check finds no problem (leftovers are notes) and
  // changes nothing; log lists what is committed but not yet flushed.
  Result c = cli(dir, {"check", home});
  INFO("check after the kill:\n" << c.out << c.err);
  CHECK(c.status == 0);
  Result lg = cli(dir, {"log", home});
  CHECK(lg.status == 0);
  std::vector<uint64_t> pending_run1;  // from the transactions' metadata
  for (const std::string& l : lines_of(lg.out))
    if (contains(l, "h5tx.ingest.chunks = ")) {
      std::vector<uint64_t> p = committed_chunks("committed txid x chunks " + l.substr(l.find("= ") + 2));
      pending_run1.insert(pending_run1.end(), p.begin(), p.end());
    }

  // Second run (same command, without the rate limit): resumes.
  args.erase(args.end() - 2, args.end());
  Result r = run_program(args, dir.path());
  INFO("run 2 stdout:\n" << r.out << "\nstderr:\n" << r.err);
  REQUIRE(r.status == 0);
  REQUIRE(contains(r.out, "resuming ingest"));
  std::vector<uint64_t> second = committed_chunks(r.out);
  // "K of 64 chunks already committed": K covers every chunk run 1 reported
  // (and any it committed but was killed before printing).
  size_t p = r.out.find("run 1: ");
  REQUIRE(p != std::string::npos);
  uint64_t already = std::stoull(r.out.substr(r.out.find(": ", p) + 2));
  CHECK(already >= first.size());
  CHECK(already + second.size() == 64);
  std::set<uint64_t> all(first.begin(), first.end());
  CHECK(all.size() == first.size());
  for (uint64_t c : second) CHECK(all.insert(c).second);  // never written twice
  CHECK(all.size() + (already - first.size()) == 64);
  std::set<uint64_t> second_set(second.begin(), second.end());
  for (uint64_t c : pending_run1) CHECK(second_set.count(c) == 0);

  // The progress slot (flushed into data/.h5tx-ingest.h5) marks every
  // chunk as committed by the run's mark (1), and the finished run was
  // compacted to one record.
  size_t idp = r.out.find("resuming ingest ");
  std::string id = r.out.substr(idp + 16, 16);
  Result pr = cli(dir, {"get", home, ".h5tx-ingest.h5:/slots/0", "--slice", ":"});
  REQUIRE(pr.status == 0);
  std::string ones = "[0]";
  for (int i = 0; i < 64; i++) ones += " 1";
  CHECK(pr.out == ones + "\n");
  Result fin = cli(dir, {"attr", "get", home, ".h5tx-ingest.h5:/", "finished." + id});
  CHECK(fin.status == 0);
  CHECK(contains(fin.out, "run=1"));
  CHECK(contains(fin.out, "chunks=64"));

  CHECK(h5dump_bytes(dir, home + "/data/big.h5", "/x") == data);
  r = cli(dir, {"check", home});
  CHECK(r.status == 0);
  r = cli(dir,
          {"ingest", home, "big.h5:/x", "--from", dir / "in.raw", "--dtype", "u8", "--shape", "64,256,256"});
  CHECK(contains(r.out, "already complete"));
}

TEST_CASE("log and dump show pending transactions, check finds a flipped byte in a journal chunk file") {
  h5tx_test::TempDir dir("cli_journal");
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  REQUIRE(
      cli(dir, {"create-dataset", home, "v.h5:/d", "--dtype", "u8", "--shape", "64,64", "--chunk", "32,32"})
          .status == 0);
  // A process commits without the background flusher and dies without
  // closing the store: the transaction stays in the journal, committed.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 1;
    try {
      h5tx::Options o;
      o.background_flusher = false;
      o.spill_bytes = 1;
      std::unique_ptr<h5tx::Store> s = h5tx::Store::open(home, o);
      h5tx::Transaction tx = s->begin();
      std::vector<uint8_t> chunk(32 * 32, 0x5a);
      tx.write_chunk("v.h5", "/d", {1, 0}, chunk);
      tx.set_message("hand-written");
      tx.set_metadata("who", "cli_test");
      tx.commit();
      // And an uncommitted transaction whose chunks were spilled to its
      // _temp directory when the process died.
      h5tx::Transaction t2 = s->begin();
      t2.write_chunk("v.h5", "/d", {0, 0}, chunk);
      t2.write_chunk("v.h5", "/d", {0, 1}, chunk);
      ::_exit(0);  // inside the scope: no Store::close (which would flush)
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    ::_exit(code);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);

  Result r = cli(dir, {"log", home});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "hand-written"));
  CHECK(contains(r.out, "who = cli_test"));
  std::string txid = r.out.substr(5, 16);
  r = cli(dir, {"dump", home, txid});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "write-chunk     v.h5:/d (1,0)"));
  CHECK(contains(r.out, "metadata    who = cli_test"));
  r = cli(dir, {"check", home});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "_temp: uncommitted transaction"));
  size_t tp = r.out.find("/journal/working_");
  REQUIRE(tp != std::string::npos);
  Result dt = cli(dir, {"dump", home, r.out.substr(tp + 17, 16)});
  CHECK(dt.status == 0);
  CHECK(contains(dt.out, "never committed"));
  // A spare directory a crash left behind (empty MANIFEST) is reported, not an error.
  {
    std::string spare = home + "/journal/working_00000000000000aa_temp";
    REQUIRE(::mkdir(spare.c_str(), 0755) == 0);
    std::ofstream(spare + "/MANIFEST").close();
    Result sp = cli(dir, {"dump", home, "aa"});
    CHECK(sp.status == 0);
    CHECK(contains(sp.out, "spare directory"));
    REQUIRE(std::system(("rm -rf " + spare).c_str()) == 0);
  }

  std::string txdir = home + "/journal/working_" + txid + "_done";
  std::string chunk_file;
  DIR* d = ::opendir(txdir.c_str());
  REQUIRE(d != nullptr);
  while (dirent* e = ::readdir(d))
    if (std::string(e->d_name) != "MANIFEST" && e->d_name[0] != '.') chunk_file = txdir + "/" + e->d_name;
  ::closedir(d);
  REQUIRE(!chunk_file.empty());
  flip_byte(chunk_file, 7);
  std::string before = read_file(chunk_file);
  r = cli(dir, {"check", home});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "BAD"));
  CHECK(contains(r.out, chunk_file));
  // The damaged chunk copy, and (the library's own judgement) the store
  // does not open.
  CHECK(contains(r.err, "2 problems"));
  CHECK(contains(r.out, "the store does not open"));
  // check modified nothing: the transaction is still there, byte for byte.
  CHECK(read_file(chunk_file) == before);
  CHECK(::access((txdir + "/MANIFEST").c_str(), F_OK) == 0);
  // --repair removes the uncommitted _temp directory, nothing else.
  r = cli(dir, {"check", home, "--repair"});
  CHECK(r.status == 1);
  CHECK(contains(r.out, "removed " + home + "/journal/working_"));
  CHECK(read_file(chunk_file) == before);
  r = cli(dir, {"check", home});
  CHECK_FALSE(contains(r.out, "_temp"));
  // The store refuses to open over a committed transaction that fails its
  // checksum (never silently dropped), naming the file.
  r = cli(dir, {"log", home});
  CHECK(r.status == 1);
  CHECK(contains(r.err, chunk_file));
  // A stray empty _flushed directory newer than the _done one is no
  // evidence that the _done one was applied (issue 11, item 3): it would have
  // to be replayed after it and cannot be read, so it is a problem, and
  // --repair leaves both alone.
  std::string flushed = home + "/journal/working_3fffffffffffffff_flushed";
  REQUIRE(::mkdir(flushed.c_str(), 0755) == 0);
  r = cli(dir, {"check", home, "--repair"});
  CHECK(r.status == 1);
  CHECK(contains(r.out,
                 "working_3fffffffffffffff_flushed: applied transaction newer than a pending committed one "
                 "cannot be read"));
  CHECK(::access(flushed.c_str(), F_OK) == 0);
  CHECK(::access(txdir.c_str(), F_OK) == 0);
  CHECK(cli(dir, {"log", home}).status == 1);
}

TEST_CASE("check finds a flipped byte in a flushed HDF5 file and names file, dataset and chunk") {
  h5tx_test::TempDir dir("cli_check");
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  write_file(dir / "a.npy", npy_file("<i4", "40, 40", pattern(40 * 40 * 4, 3)));
  REQUIRE(cli(dir, {"ingest", home, "m.h5:/grp/m", "--from", dir / "a.npy", "--chunk", "20,20"}).status == 0);
  REQUIRE(cli(dir, {"check", home}).status == 0);
  std::string file = home + "/data/m.h5";
  hsize_t size = 0;
  haddr_t addr = first_chunk_address(file, "/grp/m", &size);
  REQUIRE(size > 100);
  flip_byte(file, addr + 50);
  Result r = cli(dir, {"check", home});
  CHECK(r.status == 1);
  CHECK(contains(r.out, file));
  CHECK(contains(r.out, "dataset /grp/m chunk (0,0)"));
  CHECK(contains(r.err, "problems found"));
  // --repair does not touch data files: still bad.
  CHECK(cli(dir, {"check", home, "--repair"}).status == 1);
}

TEST_CASE("demo --size 8 ingests, flushes and verifies a synthetic volume") {
  h5tx_test::TempDir dir("cli_demo");
  Result r = cli(dir, {"demo", dir / "demo", "--size", "8"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "27 of 27 chunks match the generator"));
  CHECK(contains(r.out, dir / "demo/data/volume.h5"));
  CHECK(contains(r.out, "h5dump -d /volume"));
  Result d = run_program(
      {"/usr/bin/h5dump", "-d", "/volume", "-s", "0,0,0", "-c", "1,2,8", dir / "demo/data/volume.h5"},
      dir.path());
  CHECK(d.status == 0);
  CHECK(contains(d.out, "DATASET \"/volume\""));
  CHECK(h5dump_bytes(dir, dir / "demo/data/volume.h5", "/volume").size() == 161u * 161 * 161 * 2);
  // DIR must be new.
  CHECK(cli(dir, {"demo", dir / "demo", "--size", "1"}).status == 1);
}

TEST_CASE("undo mode: ingest, ls, check, export through the same commands") {
  h5tx_test::TempDir dir("cli_undo");
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home, "--mode", "undo"}).status == 0);
  std::string a = pattern(30 * 20 * 2, 5);
  write_file(dir / "a.npy", npy_file("<i2", "30, 20", a));
  Result r =
      cli(dir, {"ingest", home, "u.h5:/a", "--from", dir / "a.npy", "--chunk", "8,8", "--tx-chunks", "3"});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "wrote 12 of 12 chunks"));
  CHECK(h5dump_bytes(dir, home + "/data/u.h5", "/a") == a);
  CHECK(contains(cli(dir, {"ls", home}).out, "i16  30x20  chunk 8x8"));
  CHECK(cli(dir, {"check", home}).status == 0);
  REQUIRE(cli(dir, {"export", home, dir / "e.h5", "u.h5"}).status == 0);
  CHECK(h5dump_bytes(dir, dir / "e.h5", "/a") == a);
  CHECK(contains(cli(dir, {"ingest", home, "u.h5:/a", "--from", dir / "a.npy"}).out, "already complete"));
}

TEST_CASE("undo-recover reverts a bare sec2j file whose writer died inside a transaction") {
  h5tx_test::TempDir dir("cli_sec2j");
  std::string file = dir / "f.h5";
  // 24 MiB: more than the driver's 16 MiB write buffer, so the new values
  // reach the data file (after the journal is synced) before the crash.
  const int n_elems = 6 << 20;
  std::vector<int32_t> before(n_elems), after(n_elems);
  for (int i = 0; i < n_elems; i++) {
    before[size_t(i)] = i;
    after[size_t(i)] = -i - 1;
  }
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2j(fapl);
    hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    hsize_t n = hsize_t(n_elems);
    hid_t sp = H5Screate_simple(1, &n, nullptr);
    hid_t d = H5Dcreate2(f, "/d", H5T_STD_I32LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, before.data());
    H5Fflush(f, H5F_SCOPE_GLOBAL);
    if (H5FD_sec2j_tx_start(f) < 0) ::_exit(2);
    H5Dwrite(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, after.data());
    H5Fflush(f, H5F_SCOPE_GLOBAL);
    ::_exit(0);  // dies inside the transaction
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  REQUIRE(::access((file + ".journal").c_str(), F_OK) == 0);

  Result r = cli(dir, {"undo-recover", file});
  REQUIRE(r.status == 0);
  CHECK(contains(r.out, "reverted"));
  std::string want(reinterpret_cast<const char*>(before.data()), before.size() * 4);
  CHECK(h5dump_bytes(dir, file, "/d") == want);
  r = cli(dir, {"undo-recover", file});
  CHECK(r.status == 0);
  CHECK(contains(r.out, "nothing to revert"));
  CHECK(cli(dir, {"undo-recover", dir / "missing.h5"}).status == 1);
}

TEST_CASE(
    "check of an undo store whose writer died after creating a file: the file is noted, not a problem") {
  h5tx_test::TempDir dir("cli_undo_created");
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home, "--mode", "undo"}).status == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      h5tx::Options o;
      auto store = h5tx::Store::open(home, o);
      h5tx::Transaction tx = store->begin();
      tx.create_file("new.h5");  // CREATED now lists "new.h5\t<dev:ino>"
      ::_exit(0);                // dies inside the transaction
    } catch (...) {
      ::_exit(3);
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  Result r = cli(dir, {"check", home});
  INFO("check said:\n" << r.out << r.err);
  CHECK(r.status == 0);
  CHECK(contains(r.out, "new.h5: created by an unfinished transaction"));
  CHECK(contains(r.out, " 0 problems"));
}

// Attributes: ls shows them (root group, groups, datasets), export copies
// them, in both modes; a deleted attribute is gone from both.
TEST_CASE("ls shows attributes and export copies them, in both modes") {
  for (const char* mode : {"redo", "undo"}) {
    INFO(mode);
    h5tx_test::TempDir dir(std::string("cli_attrs_") + mode);
    std::string home = dir / "store";
    REQUIRE(cli(dir, {"init", home, "--mode", mode}).status == 0);
    REQUIRE(
        cli(dir, {"create-dataset", home, "vol.h5:/raw/a", "--dtype", "u8", "--shape", "4", "--chunk", "4"})
            .status == 0);
    {
      auto s = h5tx::Store::open(home);
      auto tx = s->begin();
      tx.set_attribute("vol.h5", "/", "title", h5tx::AttributeValue::string("run 7"));
      tx.set_attribute("vol.h5", "/raw", "note", h5tx::AttributeValue::string("group attr"));
      tx.set_attribute("vol.h5", "/raw/a", "gain", h5tx::AttributeValue::scalar<double>(1.5));
      int16_t off[3] = {1, -2, 3};
      tx.set_attribute("vol.h5", "/raw/a", "offsets", h5tx::AttributeValue::array<int16_t>(off, 3));
      tx.set_attribute("vol.h5", "/raw/a", "gone", h5tx::AttributeValue::scalar<uint8_t>(1));
      tx.commit();
      auto t2 = s->begin();
      t2.delete_attribute("vol.h5", "/raw/a", "gone");
      t2.commit();
      s->close();
    }
    Result r = cli(dir, {"ls", home});
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "  @title = \"run 7\"\n"));
    CHECK(contains(r.out, "  /raw                     group\n    @note = \"group attr\"\n"));
    CHECK(contains(r.out, "    @gain = f64 1.5\n"));
    CHECK(contains(r.out, "    @offsets = i16 [1, -2, 3]\n"));
    CHECK(!contains(r.out, "gone"));

    for (bool one : {false, true}) {
      std::string out = dir / (one ? "one.h5" : "all.h5");
      std::vector<std::string> args = {"export", home, out};
      if (one) args.push_back("vol.h5");
      r = cli(dir, args);
      REQUIRE(r.status == 0);
      CHECK(contains(r.out, "and 4 attributes"));
      std::string base = one ? "" : "/vol.h5";
      hid_t f = H5Fopen(out.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
      REQUIRE(f >= 0);
      double gain = 0;
      hid_t a = H5Aopen_by_name(f, (base + "/raw/a").c_str(), "gain", H5P_DEFAULT, H5P_DEFAULT);
      REQUIRE(a >= 0);
      CHECK(H5Aread(a, H5T_NATIVE_DOUBLE, &gain) >= 0);
      CHECK(gain == 1.5);
      H5Aclose(a);
      int16_t off[3] = {0, 0, 0};
      a = H5Aopen_by_name(f, (base + "/raw/a").c_str(), "offsets", H5P_DEFAULT, H5P_DEFAULT);
      REQUIRE(a >= 0);
      CHECK(H5Aread(a, H5T_NATIVE_INT16, off) >= 0);
      CHECK((off[0] == 1 && off[1] == -2 && off[2] == 3));
      H5Aclose(a);
      CHECK(H5Aexists_by_name(f, (base + "/raw/a").c_str(), "gone", H5P_DEFAULT) == 0);
      CHECK(H5Aexists_by_name(f, (base + "/raw").c_str(), "note", H5P_DEFAULT) > 0);
      CHECK(H5Aexists_by_name(f, one ? "/" : "/vol.h5", "title", H5P_DEFAULT) > 0);
      H5Fclose(f);
    }
  }
}

TEST_CASE(
    "init creates missing parent directories, --fill takes negatives, nan and inf where the dtype allows") {
  h5tx_test::TempDir dir("cli_init_fill");
  const std::string home = dir / "a/b/store";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  CHECK(::access((home + "/h5tx.store").c_str(), F_OK) == 0);
  REQUIRE(cli(dir, {"create-dataset", home, "f.h5:/nan", "--dtype", "f32", "--shape", "4", "--chunk", "4",
                    "--fill", "nan"})
              .status == 0);
  REQUIRE(cli(dir, {"create-dataset", home, "f.h5:/ninf", "--dtype", "f64", "--shape", "4", "--chunk", "4",
                    "--fill", "-inf"})
              .status == 0);
  REQUIRE(cli(dir, {"create-dataset", home, "f.h5:/neg", "--dtype", "i16", "--shape", "4", "--chunk", "4",
                    "--fill", "-3"})
              .status == 0);
  Result bad = cli(dir, {"create-dataset", home, "f.h5:/bad", "--dtype", "i16", "--shape", "4", "--chunk",
                         "4", "--fill", "nan"});
  CHECK(bad.status == 1);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  CHECK(cli(dir, {"create-dataset", home, "f.h5:/bad", "--dtype", "i16", "--shape", "4", "--chunk", "4",
                  "--fill", "0x10"})
            .status == 2);
  REQUIRE(cli(dir, {"flush", home}).status == 0);
  const std::string out = h5tx_test::python("import h5py, math\nf = h5py.File(\"" + home +
                                            "/data/f.h5\", \"r\")\n"
                                            "print(math.isnan(f[\"nan\"].fillvalue), f[\"ninf\"].fillvalue, "
                                            "f[\"neg\"].fillvalue, list(f[\"neg\"][...]))\n");
  CHECK(out == "True -inf -3 [-3, -3, -3, -3]\n");
}

TEST_CASE("the read-only commands work while h5tx ingest writes into the store") {
  h5tx_test::TempDir dir("cli_live");
  std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  const uint64_t n = 8u << 20;  // 8 MiB of u8 at 2 MiB/s: about 4 s of commits and flushes
  write_file(dir / "in.raw", pattern(n, 3));
  std::vector<std::string> args = {
      kBinary,       "ingest", home,         "big.h5:/x",   "--from",   dir / "in.raw",
      "--dtype",     "u8",     "--shape",    "128,256,256", "--chunk",  "1,256,256",
      "--tx-chunks", "2",      "--max-rate", "2",           "--verbose"};
  int out_pipe[2];
  REQUIRE(::pipe(out_pipe) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    int e = ::open((dir / "ingest.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(e, 2);
    ::close(out_pipe[0]);
    std::vector<char*> av;
    for (const std::string& s : args) av.push_back(const_cast<char*>(s.c_str()));
    av.push_back(nullptr);
    ::execv(av[0], av.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  // Wait for the first commits (the file and dataset then exist).
  std::string out;
  char buf[4096];
  int committed = 0;
  while (committed < 3) {
    ssize_t got = ::read(out_pipe[0], buf, sizeof buf);
    if (got <= 0) break;
    out.append(buf, size_t(got));
    committed = 0;
    for (const std::string& l : lines_of(out)) committed += l.compare(0, 10, "committed ") == 0;
  }
  REQUIRE(committed >= 3);
  int rounds = 0;
  for (; rounds < 3; rounds++) {
    INFO("round " << rounds);
    Result r = cli(dir, {"ls", home, "--lock-timeout", "0"});
    CHECK(r.status == 0);
    CHECK(contains(r.out, "big.h5"));
    r = cli(dir, {"log", home, "--lock-timeout", "0"});
    CHECK(r.status == 0);
    r = cli(dir, {"get", home, "big.h5:/x", "--chunk", "0,0,0", "--raw", "--lock-timeout", "0"});
    CHECK(r.status == 0);
    CHECK(r.out == pattern(n, 3).substr(0, 256 * 256));
    r = cli(dir, {"stats", home, "--lock-timeout", "0"});
    CHECK(r.status == 0);
    // dump: a transaction the log lists now (the flusher may apply and
    // remove it meanwhile, which dump then says).
    r = cli(dir, {"log", home});
    std::string txid;
    for (const std::string& l : lines_of(r.out))
      if (l.compare(0, 5, "txid ") == 0) txid = l.substr(5, 16);
    if (!txid.empty()) {
      Result d = cli(dir, {"dump", home, txid, "--lock-timeout", "0"});
      CHECK((d.status == 0 || contains(d.err, "flushed") || contains(d.err, "not in the journal")));
    }
    r = cli(dir, {"check", home, "--lock-timeout", "0"});
    CHECK(r.status == 0);
    CHECK(contains(r.out, "live store"));
    std::string exported = dir / ("out" + std::to_string(rounds) + ".h5");
    r = cli(dir, {"export", home, exported, "--lock-timeout", "0"});
    CHECK(r.status == 0);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  while (::read(out_pipe[0], buf, sizeof buf) > 0) {
  }
  ::close(out_pipe[0]);
  INFO("ingest stderr:\n" << read_file(dir / "ingest.err"));
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  // Afterwards (no writer): the classic check under the LOCK, and the data.
  Result r = cli(dir, {"check", home});
  CHECK(r.status == 0);
  r = cli(dir, {"get", home, "big.h5:/x", "--chunk", "127,0,0", "--raw"});
  CHECK(r.out == pattern(n, 3).substr(n - 256 * 256));
}

TEST_CASE("check and recover tell spare directories from discarded uncommitted transactions") {
  h5tx_test::TempDir dir("cli_spares");
  const std::string home = dir / "store";
  REQUIRE(cli(dir, {"init", home}).status == 0);
  REQUIRE(cli(dir, {"create-dataset", home, "a.h5:/d", "--dtype", "u8", "--shape", "64", "--chunk", "16"})
              .status == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      auto store = h5tx::Store::open(home);
      std::vector<uint8_t> c(16, 9);
      auto tx = store->begin();
      tx.write_chunk("a.h5", "/d", {1}, c.data(), c.size());
      tx.commit();
      // The idle flusher makes spare directories ahead of the committers.
      for (int i = 0; i < 200; i++) {
        int spares = 0;
        for (const auto& n : h5tx::Env::posix()->list_dir(home + "/journal"))
          if (n.size() > 5 && n.compare(n.size() - 5, 5, "_temp") == 0) spares++;
        if (spares >= 2) break;
        ::usleep(10000);
      }
      // And an unfinished transaction.
      auto tx2 = store->begin();
      std::vector<uint8_t> c2(16, 7);
      tx2.write_chunk("a.h5", "/d", {2}, c2.data(), c2.size());
      ::_exit(0);  // dies with both in journal/
    } catch (...) {
      ::_exit(3);
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  Result check = cli(dir, {"check", home});
  INFO("check said:\n" << check.out << check.err);
  CHECK(check.status == 0);
  CHECK(contains(check.out, "spare directory made ahead of commits, no transaction"));
  Result rec = cli(dir, {"recover", home});
  INFO("recover said:\n" << rec.out << rec.err);
  REQUIRE(rec.status == 0);
  CHECK(contains(rec.out, "spare directories removed (empty _temp):"));
  CHECK(!contains(rec.out, "spare directories removed (empty _temp):       0\n"));
  CHECK(h5tx_test::python("import h5py\nprint(list(h5py.File(\"" + home +
                          "/data/a.h5\", \"r\")[\"d\"][16:18]))\n") == "[9, 9]\n");
}
