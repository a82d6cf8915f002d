// The bare-file undo driver (sec2j C names) against other openers: HDF5's
// file lock and identity by device+inode (issue 11 item 12), the journal's
// record of its data file (item 13), and plain HDF5 readers of a file with
// a pending journal (item 14). Second processes are real: a forked peer
// forked before the file is opened (so it shares no HDF5 or driver state
// with the test), h5py, and the h5tx binary.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "h5tx/error.hpp"
#include "h5tx/sec2j.h"
#include "h5tx/undo.hpp"
#include "hdf5/handle.hpp"
#include "test_util.hpp"
#include "undo/driver.hpp"

using h5tx::UndoFile;
using h5tx::UndoOptions;

namespace {

UndoOptions read_only() {
  UndoOptions o;
  o.read_only = true;
  return o;
}

const std::string kBinary = std::string(H5TX_BINARY_DIR) + "/bin/h5tx";

std::vector<int> ramp(int n, int start) {
  std::vector<int> v(static_cast<size_t>(n));
  for (int i = 0; i < n; i++) v[static_cast<size_t>(i)] = start + i;
  return v;
}

// Dataset "d": n ints, contiguous.
void create_ints(hid_t file, const std::vector<int>& v) {
  hsize_t n = v.size();
  hid_t space = H5Screate_simple(1, &n, nullptr);
  hid_t d = H5Dcreate2(file, "d", H5T_NATIVE_INT, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(d >= 0);
  REQUIRE(H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0);
  H5Dclose(d);
  H5Sclose(space);
}

// No Catch macros: also used in forked children.
bool write_ints(hid_t file, const std::vector<int>& v) {
  hid_t d = H5Dopen2(file, "d", H5P_DEFAULT);
  if (d < 0) return false;
  bool ok = H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) >= 0;
  H5Dclose(d);
  return ok;
}

std::vector<int> read_ints(hid_t file) {
  std::vector<int> v;
  hid_t d = H5Dopen2(file, "d", H5P_DEFAULT);
  if (d < 0) return v;
  hid_t space = H5Dget_space(d);
  hssize_t n = H5Sget_simple_extent_npoints(space);
  v.resize(static_cast<size_t>(n));
  if (H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) v.clear();
  H5Sclose(space);
  H5Dclose(d);
  return v;
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

void make_file(const std::string& path, const std::vector<int>& v) {
  UndoFile f = UndoFile::create(path);
  create_ints(f.hid(), v);
  f.close();
  std::remove((path + ".journal").c_str());
}

hid_t sec2j_fapl() {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_sec2j(fapl);
  H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG);  // as UndoFile's (HDF5 wants one degree per file)
  return fapl;
}

// Opens `path` through the driver's C names and reads "d": "ok <first>" or
// "refused: <the driver's error>".
std::string try_open(const std::string& path, bool writable) {
  hid_t fapl = sec2j_fapl();
  h5tx::undo::take_last_error();
  hid_t f = -1;
  H5E_BEGIN_TRY {
    f = H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl);
  }
  H5E_END_TRY;
  H5Pclose(fapl);
  if (f < 0) {
    std::string why = "?";
    if (std::exception_ptr e = h5tx::undo::take_last_error()) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        why = x.what();
      }
    }
    return "refused: " + why;
  }
  std::vector<int> v = read_ints(f);
  H5Fclose(f);
  return "ok " + (v.empty() ? std::string("none") : std::to_string(v[0]));
}

// A second process, forked before the test opens the file (it inherits no
// open HDF5 file and no driver registry entry), answering one request per
// line over pipes.
class Peer {
 public:
  explicit Peer(std::string path) : path_(std::move(path)) {
    int req[2], rep[2];
    REQUIRE(::pipe(req) == 0);
    REQUIRE(::pipe(rep) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(req[1]);
      ::close(rep[0]);
      serve(req[0], rep[1]);
      ::_exit(0);
    }
    ::close(req[0]);
    ::close(rep[1]);
    req_ = req[1];
    rep_ = rep[0];
  }
  ~Peer() {
    ::close(req_);
    int st;
    ::waitpid(pid_, &st, 0);
    ::close(rep_);
  }
  std::string ask(const std::string& cmd) {
    std::string line = cmd + "\n";
    REQUIRE(::write(req_, line.data(), line.size()) == static_cast<ssize_t>(line.size()));
    std::string out;
    char c;
    while (::read(rep_, &c, 1) == 1 && c != '\n') out.push_back(c);
    return out;
  }

 private:
  void serve(int in, int out) {
    std::string cmd;
    char c;
    while (::read(in, &c, 1) == 1) {
      if (c != '\n') {
        cmd.push_back(c);
        continue;
      }
      std::string reply;
      if (cmd == "open-rw")
        reply = try_open(path_, true);
      else if (cmd == "open-ro")
        reply = try_open(path_, false);
      else if (cmd == "open-ro-nolock") {
        ::setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
        reply = try_open(path_, false);
        ::unsetenv("HDF5_USE_FILE_LOCKING");
      } else if (cmd == "recover") {
        H5E_BEGIN_TRY {
          reply = "rc " + std::to_string(H5FD_sec2j_recover(path_.c_str(), nullptr));
        }
        H5E_END_TRY;
      }
      for (char& ch : reply)
        if (ch == '\n') ch = ' ';
      reply += "\n";
      if (::write(out, reply.data(), reply.size()) < 0) return;
      cmd.clear();
    }
  }

  std::string path_;
  pid_t pid_ = -1;
  int req_ = -1, rep_ = -1;
};

// A process that opens `path` through the driver (page-sized writes go
// straight through: the journal is synced and the data file overwritten),
// overwrites "d" with `v` inside a transaction and dies without ending it.
void crash_inside_transaction(const std::string& path, const std::vector<int>& v) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int rc = 1;
    try {
      UndoOptions o;
      o.sync_every_write = true;
      UndoFile f = UndoFile::open(path, o);
      auto tx = f.begin();
      if (write_ints(f.hid(), v) && H5Fflush(f.hid(), H5F_SCOPE_LOCAL) >= 0) rc = 0;
      ::_exit(rc);  // the power cut, as far as this file is concerned: no abort, no close
    } catch (...) {
    }
    ::_exit(rc);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  REQUIRE(h5tx::undo::has_pending_journal(*h5tx::Env::posix(), path + ".journal"));
}

struct CliResult {
  int status = -1;
  std::string out;
};

CliResult run_cli(const std::vector<std::string>& args) {
  std::string cmd = kBinary;
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  return r;
}

}  // namespace

// ---- item 12 ---------------------------------------------------------------

TEST_CASE("undo lock: another spelling of an open file shares its live transaction", "[undo][lock]") {
  h5tx::hdf5::silence_error_printing();
  h5tx_test::TempDir dir("lock");
  const std::string path = dir / "t.h5";
  make_file(path, ramp(4096, 1));
  REQUIRE(::mkdir((dir / "sub").c_str(), 0755) == 0);
  REQUIRE(::link(path.c_str(), (dir / "hard.h5").c_str()) == 0);

  UndoOptions o;
  o.sync_every_write = true;  // the journal is live on disk at once
  UndoFile f = UndoFile::open(path, o);
  {
    auto tx = f.begin();
    REQUIRE(write_ints(f.hid(), ramp(4096, 1000)));
    REQUIRE(H5Fflush(f.hid(), H5F_SCOPE_LOCAL) >= 0);
    REQUIRE(h5tx::undo::has_pending_journal(*h5tx::Env::posix(), path + ".journal"));
    for (const std::string& other : {dir / "sub/../t.h5", dir / "hard.h5"}) {
      INFO(other);
      // The same file: it joins the transaction and sees its writes; before
      // the fix it reverted the live journal.
      CHECK(try_open(other, true) == "ok 1000");
      CHECK(try_open(other, false) == "ok 1000");
    }
    tx.commit();
  }
  f.close();
  UndoFile g = UndoFile::open(path, read_only());
  CHECK(read_ints(g.hid()) == ramp(4096, 1000));
}

TEST_CASE("undo lock: a second process can neither open nor recover a file in a live transaction",
          "[undo][lock]") {
  h5tx::hdf5::silence_error_printing();
  h5tx_test::TempDir dir("lock");
  const std::string path = dir / "t.h5";
  make_file(path, ramp(4096, 1));
  Peer peer(path);  // before this process opens the file

  UndoOptions o;
  o.sync_every_write = true;
  UndoFile f = UndoFile::open(path, o);
  {
    auto tx = f.begin();
    REQUIRE(write_ints(f.hid(), ramp(4096, 1000)));
    REQUIRE(H5Fflush(f.hid(), H5F_SCOPE_LOCAL) >= 0);

    std::string rw = peer.ask("open-rw");
    CHECK(contains(rw, "refused: "));
    CHECK(contains(rw, "unable to lock file"));
    CHECK(contains(rw, path));
    CHECK(contains(peer.ask("open-ro"), "unable to lock file"));
    CHECK(contains(peer.ask("recover"), "rc -1"));
    // HDF5_USE_FILE_LOCKING=FALSE: no lock; a read-only open then shows the
    // file as it was before the transaction, and changes nothing.
    CHECK(peer.ask("open-ro-nolock") == "ok 1");
    // Plain HDF5 (h5py, the sec2 driver) meets the same lock.
    int status = 0;
    std::string out = h5tx_test::python_status("import h5py\nh5py.File(\"" + path + "\", \"r\")", &status);
    CHECK(status != 0);
    CHECK(contains(out, "unable to lock file"));
    tx.commit();  // before the fix: success, with the writes reverted by the peer
  }
  f.close();
  CHECK(peer.ask("open-rw") == "ok 1000");
  UndoFile g = UndoFile::open(path, read_only());
  CHECK(read_ints(g.hid()) == ramp(4096, 1000));
}

TEST_CASE("undo lock: an h5py reader holding the file keeps the driver's writers out", "[undo][lock]") {
  h5tx::hdf5::silence_error_printing();
  h5tx_test::TempDir dir("lock");
  const std::string path = dir / "t.h5";
  make_file(path, ramp(64, 1));
  {
    h5tx_test::PythonProcess reader("import h5py, sys\nf = h5py.File(\"" + path +
                                    "\", \"r\")\nprint(\"ready\", f[\"d\"][0])\nsys.stdin.read()\n");
    REQUIRE(reader.line() == "ready 1");
    try {
      UndoFile::open(path);
      FAIL("opened read-write while h5py holds the file");
    } catch (const h5tx::BusyError& e) {
      CHECK(e.path() == path);
      CHECK(contains(e.what(), "unable to lock file"));
    }
    hid_t fapl = sec2j_fapl();
    hid_t id;
    H5E_BEGIN_TRY {
      id = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
    }
    H5E_END_TRY;
    H5Pclose(fapl);
    CHECK(id < 0);                           // HDF5's usual failure
    CHECK(try_open(path, false) == "ok 1");  // readers share the lock
    CHECK(reader.finish() == 0);
  }
  UndoFile f = UndoFile::open(path);
  {
    auto tx = f.begin();
    REQUIRE(write_ints(f.hid(), ramp(64, 7)));
    tx.commit();
  }
  f.close();
  CHECK(h5tx_test::python("import h5py\nprint(h5py.File(\"" + path + "\", \"r\")[\"d\"][0])") == "7\n");
}

// ---- item 13 ---------------------------------------------------------------

TEST_CASE("undo identity: a journal reverts only the data file it was written for", "[undo][lock]") {
  h5tx::hdf5::silence_error_printing();
  h5tx_test::TempDir dir("ident");
  const std::string x = dir / "x.h5", y = dir / "y.h5";
  make_file(x, ramp(4096, 1));
  make_file(y, ramp(4096, 500));
  crash_inside_transaction(x, ramp(4096, 9000));
  const std::string xj = x + ".journal";
  const std::string y_bytes = read_file(y), xj_bytes = read_file(xj);

  // The C name, the C++ API (read-write and read-only) and the CLI refuse.
  CHECK(H5FD_sec2j_recover(y.c_str(), xj.c_str()) < 0);
  UndoOptions o;
  o.journal_path = xj;
  for (bool ro : {false, true}) {
    o.read_only = ro;
    try {
      UndoFile::open(y, o);
      FAIL("opened y.h5 through x.h5's journal");
    } catch (const h5tx::CorruptionError& e) {
      CHECK(e.path() == xj);
      CHECK(contains(e.what(), "belongs to data file 'x.h5'"));
      CHECK(contains(e.what(), y));
    }
  }
  CliResult r = run_cli({"undo-recover", y, "--journal", xj});
  INFO(r.out);
  CHECK(r.status != 0);
  CHECK(contains(r.out, "belongs to data file 'x.h5'"));
  CHECK(read_file(y) == y_bytes);    // untouched
  CHECK(read_file(xj) == xj_bytes);  // and x's journal is not consumed

  // x restored from a backup elsewhere (new inode, same name) with its
  // journal still reverts.
  REQUIRE(::mkdir((dir / "restored").c_str(), 0755) == 0);
  const std::string rx = dir / "restored/x.h5";
  write_file(rx, read_file(x));
  write_file(rx + ".journal", xj_bytes);
  CHECK(H5FD_sec2j_recover(rx.c_str(), nullptr) == 1);

  // And x itself, to the same bytes: the state when its transaction began.
  CHECK(H5FD_sec2j_recover(x.c_str(), nullptr) == 1);
  CHECK(read_file(rx) == read_file(x));
  UndoFile f = UndoFile::open(x, read_only());
  CHECK(read_ints(f.hid()) == ramp(4096, 1));
}

// ---- item 14 ---------------------------------------------------------------

TEST_CASE("undo pending journal: plain HDF5 refuses a version 3 file with an unfinished transaction",
          "[undo][lock]") {
  h5tx::hdf5::silence_error_printing();
  h5tx_test::TempDir dir("sb3");
  const std::string path = dir / "v3.h5";
  h5tx_test::python(
      "import h5py, numpy\nwith h5py.File(\"" + path +
      "\", \"w\", libver=\"latest\") as f:\n  f[\"d\"] = numpy.arange(1, 4097, dtype=\"i4\")\n");
  const std::string before = read_file(path);
  REQUIRE(static_cast<unsigned char>(before[8]) == 3);  // superblock version 3
  REQUIRE(before[11] == 0);                             // no flags: closed cleanly

  crash_inside_transaction(path, ramp(4096, 7000));
  const std::string torn = read_file(path);
  CHECK(torn != before);
  CHECK(torn[11] != 0);  // HDF5's "open for write" flags stay set while the journal is pending

  // A plain reader is told, in HDF5's own words, instead of reading a torn mix.
  int status = 0;
  std::string out = h5tx_test::python_status(
      "import h5py\nf = h5py.File(\"" + path + "\", \"r\")\nprint(\"read\", f[\"d\"][0])", &status);
  INFO(out);
  CHECK(status != 0);
  CHECK(contains(out, "file is already open for write"));

  // The driver's read-only view: the state before the transaction, nothing changed.
  {
    UndoFile r = UndoFile::open(path, read_only());
    CHECK(read_ints(r.hid()) == ramp(4096, 1));
  }
  CHECK(read_file(path) == torn);

  // A read-write open reverts, and the stale flags go with the transaction.
  {
    UndoFile w = UndoFile::open(path);
    CHECK(read_ints(w.hid()) == ramp(4096, 1));
  }
  CHECK(read_file(path)[11] == 0);
  CHECK(h5tx_test::python("import h5py\nf = h5py.File(\"" + path +
                          "\", \"r\")\nprint(f[\"d\"][0], f[\"d\"][4095])") == "1 4096\n");
}
