// Issue 11: a store whose entries were planted or damaged, and names that
// collide with the store's own, on the real POSIX Env. Each case asserts
// that nothing outside HOME changes, that committed data stays readable,
// and that what the store refuses is named in the error.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "h5tx/undo.hpp"

#include <hdf5.h>
#include <sys/wait.h>
#include "store_redo_util.hpp"
#include "test_util.hpp"
#include "util/names.hpp"

using namespace h5tx;
using namespace redo_test;

namespace {

Options no_flusher() {
  Options o;
  o.background_flusher = false;
  return o;
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  REQUIRE(f.good());
}

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// A redo store with one committed, unflushed transaction writing chunk
// (0,0) v7: a copy taken while the store was open (as a crash leaves it).
std::string store_with_pending(const h5tx_test::TempDir& dir) {
  std::string live = dir / "live", home = dir / "s";
  auto store = Store::create(live, no_flusher());
  make_file(*store, "a.h5");
  store->flush();
  auto tx = store->begin();
  tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(7, 0, 0));
  tx.commit();
  REQUIRE(std::system(("cp -a " + live + " " + home).c_str()) == 0);
  return home;
}

std::vector<std::string> entries(const std::string& dir) {
  return Env::posix()->list_dir(dir);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("untrusted: a symlink named like a transaction directory is refused, its target untouched",
          "[untrusted][redo]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = dir / "s";
  std::string victim = dir / "victim";
  REQUIRE(::mkdir(victim.c_str(), 0755) == 0);
  write_text(victim + "/precious", "keep me");
  {
    auto store = Store::create(home, no_flusher());
    make_file(*store, "a.h5");
  }
  std::string link = home + "/journal/working_00000000000000ff_temp";
  REQUIRE(::symlink(victim.c_str(), link.c_str()) == 0);
  std::string err = error_of([&] { Store::open(home, no_flusher()); });
  CHECK(err.find("working_00000000000000ff_temp") != std::string::npos);
  CHECK(err.find("not a directory") != std::string::npos);
  CHECK(read_text(victim + "/precious") == "keep me");
  CHECK(entries(victim) == std::vector<std::string>{"precious"});
  // The CLI's check reports it as a problem too (exit 1), and leaves it.
  std::string cmd = std::string(H5TX_BINARY_DIR) + "/bin/h5tx check --repair " + home + " >/dev/null 2>&1";
  CHECK(WEXITSTATUS(std::system(cmd.c_str())) == 1);
  CHECK(read_text(victim + "/precious") == "keep me");
  struct stat st;
  CHECK(::lstat(link.c_str(), &st) == 0);
}

TEST_CASE("untrusted: a symlinked undo journal is refused, its target not truncated", "[untrusted][redo]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = dir / "s";
  std::string victim = dir / "victim.bin";
  write_text(victim, std::string(10000, 'v'));
  {
    auto store = Store::create(home, no_flusher());
    make_file(*store, "a.h5");
  }
  REQUIRE(::mkdir((home + "/journal/undo_0000000000000100").c_str(), 0755) == 0);
  std::string link = home + "/journal/undo_0000000000000100/a.h5.journal";
  REQUIRE(::symlink(victim.c_str(), link.c_str()) == 0);
  std::string err = error_of([&] { Store::open(home, no_flusher()); });
  CHECK(err.find("symbolic link") != std::string::npos);
  CHECK(read_text(victim) == std::string(10000, 'v'));
}

TEST_CASE("untrusted: a symlink in place of journal/ or data/ is not followed", "[untrusted][redo]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = dir / "s";
  std::string elsewhere = dir / "elsewhere";
  REQUIRE(::mkdir(elsewhere.c_str(), 0755) == 0);
  write_text(elsewhere + "/working_0000000000000001_temp", "x");
  { Store::create(home, no_flusher()); }
  REQUIRE(::rmdir((home + "/journal").c_str()) == 0);
  REQUIRE(::symlink(elsewhere.c_str(), (home + "/journal").c_str()) == 0);
  CHECK_THROWS_AS(Store::open(home, no_flusher()), Error);
  CHECK(entries(elsewhere) == std::vector<std::string>{"working_0000000000000001_temp"});
}

TEST_CASE("untrusted: a stray empty _flushed directory deletes nothing", "[untrusted][redo]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = store_with_pending(dir);
  auto before = entries(home + "/journal");
  REQUIRE(before.size() == 1);
  REQUIRE(::mkdir((home + "/journal/working_00000000000fffff_flushed").c_str(), 0755) == 0);
  std::string err = error_of([&] { Store::open(home, no_flusher()); });
  CHECK(err.find("working_00000000000fffff_flushed") != std::string::npos);
  // The committed transaction is still there, and once the stray goes it applies.
  CHECK(Env::posix()->is_directory(home + "/journal/" + before[0]));
  REQUIRE(::rmdir((home + "/journal/working_00000000000fffff_flushed").c_str()) == 0);
  auto store = Store::open(home, no_flusher());
  store->flush();
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(7, 0, 0));
}

TEST_CASE("untrusted: a FIFO where a file belongs fails at once instead of hanging", "[untrusted][redo]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = store_with_pending(dir);
  std::string tx = home + "/journal/" + entries(home + "/journal")[0];
  REQUIRE(::unlink((tx + "/MANIFEST").c_str()) == 0);
  REQUIRE(::mkfifo((tx + "/MANIFEST").c_str(), 0644) == 0);
  std::string err = error_of([&] { Store::open(home, no_flusher()); });
  CHECK(err.find("FIFO") != std::string::npos);
  Options ro;
  ro.read_only = true;
  CHECK_THROWS_AS(Store::open(home, ro), Error);

  h5tx_test::TempDir dir2("untrusted");
  std::string home2 = dir2 / "s";
  { Store::create(home2); }
  REQUIRE(::unlink((home2 + "/h5tx.store").c_str()) == 0);
  REQUIRE(::mkfifo((home2 + "/h5tx.store").c_str(), 0644) == 0);
  err = error_of([&] { Store::open(home2); });
  CHECK(err.find("FIFO") != std::string::npos);
}

TEST_CASE("untrusted: txids near the top of the range are corruption, not a place to count from",
          "[untrusted][redo]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = dir / "s";
  { Store::create(home); }
  REQUIRE(::mkdir((home + "/journal/working_ffffffffffffffff_temp").c_str(), 0755) == 0);
  std::string err = error_of([&] { Store::open(home); });
  CHECK(err.find("working_ffffffffffffffff_temp") != std::string::npos);
  REQUIRE(::rmdir((home + "/journal/working_ffffffffffffffff_temp").c_str()) == 0);
  write_text(home + "/TXID", "fffffffffffffff0\n");
  CHECK_THROWS_AS(Store::open(home), CorruptionError);
}

TEST_CASE("untrusted: user names never collide with the store's own files", "[untrusted][redo][undo]") {
  for (Mode mode : {Mode::Redo, Mode::Undo}) {
    h5tx_test::TempDir dir("untrusted");
    std::string home = dir / "s";
    Options o = no_flusher();
    o.mode = mode;
    auto store = Store::create(home, o);
    for (const std::string f : {"y.tmp", "vol.h5.journal", "vol.h5", "x.tmp.journal"}) make_file(*store, f);
    store->flush();
    store->close();
    store = Store::open(home, o);  // recovery
    auto r = store->begin();
    auto files = r.list_files();
    std::sort(files.begin(), files.end());
    CHECK(files == std::vector<std::string>{"vol.h5", "vol.h5.journal", "x.tmp.journal", "y.tmp"});
    for (const std::string f : {"y.tmp", "vol.h5.journal", "vol.h5", "x.tmp.journal"})
      CHECK(r.list_datasets(f) == std::vector<std::string>{"/grid"});
    r.abort();
    // Reserved and over-long names are refused before anything is written.
    auto w = store->begin();
    CHECK_THROWS_AS(w.create_file(".h5tx.x"), InvalidArgumentError);
    CHECK_THROWS_AS(w.create_file(std::string(names::kMaxFileNameBytes + 1, 'n')), InvalidArgumentError);
    w.create_file(std::string(names::kMaxFileNameBytes, 'n'));
    w.commit();
    store->flush();
    store->close();
    store = Store::open(home, o);
    auto r2 = store->begin();
    CHECK(r2.list_files().size() == 5);
  }
}

TEST_CASE("untrusted: names with '..', '/', NUL or control characters are refused everywhere",
          "[untrusted][redo][undo]") {
  for (Mode mode : {Mode::Redo, Mode::Undo}) {
    h5tx_test::TempDir dir("untrusted");
    Options o = no_flusher();
    o.mode = mode;
    auto store = Store::create(dir / "s", o);
    make_file(*store, "a.h5");
    auto t = store->begin();
    for (const std::string& bad :
         std::vector<std::string>{"../x.h5", "..", "a/b", std::string("a\0b", 3), "a\x1b[2J", ""}) {
      CHECK_THROWS_AS(t.list_datasets(bad), InvalidArgumentError);
      CHECK_THROWS_AS(t.read_chunk(bad, "/grid", {0, 0}), InvalidArgumentError);
      CHECK_THROWS_AS(t.create_file(bad), InvalidArgumentError);
    }
    for (const std::string& bad :
         std::vector<std::string>{"/../grid", "/a/./b", "grid", "/a//b", "/a/", std::string("/g\0", 3)}) {
      CHECK_THROWS_AS(t.read_chunk("a.h5", bad, {0, 0}), InvalidArgumentError);
      CHECK_THROWS_AS(t.create_dataset("a.h5", bad, grid_spec()), InvalidArgumentError);
    }
  }
}

TEST_CASE("untrusted: a stray CREATED in undo mode never deletes a committed file", "[untrusted][undo]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = dir / "s";
  Options o;
  o.mode = Mode::Undo;
  {
    auto store = Store::create(home, o);
    make_file(*store, "keep.h5");
    auto tx = store->begin();
    tx.write_chunk("keep.h5", "/grid", {0, 0}, chunk_bytes(3, 0, 0));
    tx.commit();
  }
  std::string udir = home + "/journal/undo_00000000000000ff";
  REQUIRE(::mkdir(udir.c_str(), 0755) == 0);
  write_text(udir + "/CREATED", "keep.h5\n");
  auto size_before = Env::posix()->file_size(home + "/data/keep.h5");
  std::string err = error_of([&] { Store::open(home, o); });
  CHECK(err.find("keep.h5") != std::string::npos);
  REQUIRE(Env::posix()->exists(home + "/data/keep.h5"));
  CHECK(Env::posix()->file_size(home + "/data/keep.h5") == size_before);
  // h5py reads the committed chunk: the file is whole.
  std::string out = h5tx_test::python("import h5py; f = h5py.File(\"" + home +
                                      "/data/keep.h5\", \"r\"); print(int(f[\"/grid\"][0, 1]))");
  CHECK(std::stoul(out) == 3u * 1000003u + 1u);  // chunk_bytes(3, 0, 0), element 1
}

TEST_CASE("untrusted: a create interrupted before h5tx.store is finished by the next create", "[untrusted]") {
  h5tx_test::TempDir dir("untrusted");
  std::string home = dir / "s";
  REQUIRE(::mkdir(home.c_str(), 0755) == 0);
  REQUIRE(::mkdir((home + "/data").c_str(), 0755) == 0);
  REQUIRE(::mkdir((home + "/journal").c_str(), 0755) == 0);
  write_text(home + "/LOCK", "123\n");
  write_text(home + "/TXID.tmp", "00000");
  std::string err = error_of([&] { Store::open(home); });
  CHECK(err.find("interrupted") != std::string::npos);
  auto store = Store::create(home);
  make_file(*store, "a.h5");
  store->close();
  Store::open(home)->close();
  // A directory holding anything else is still refused.
  h5tx_test::TempDir dir2("untrusted");
  write_text(dir2 / "notes.txt", "mine");
  CHECK_THROWS_AS(Store::create(dir2.path()), AlreadyExistsError);
}

TEST_CASE("untrusted: HOME given as a symlink still works", "[untrusted]") {
  h5tx_test::TempDir dir("untrusted");
  std::string real = dir / "real";
  std::string link = dir / "link";
  REQUIRE(::mkdir(real.c_str(), 0755) == 0);
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  {
    auto store = Store::create(link);
    make_file(*store, "a.h5");
  }
  auto store = Store::open(link);
  auto r = store->begin();
  CHECK(r.list_files() == std::vector<std::string>{"a.h5"});
}

TEST_CASE("untrusted: log and dump print a message's escape sequences escaped", "[untrusted][cli]") {
  h5tx_test::TempDir dir("untrusted");
  std::string live = dir / "live", home = dir / "s";
  auto store = Store::create(live, no_flusher());
  make_file(*store, "a.h5");
  store->flush();
  {
    auto tx = store->begin();
    tx.set_message("evil\x1b[2J\x07 text");
    tx.set_metadata("k\x1b", "v\r");
    tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
    tx.commit();
  }
  REQUIRE(std::system(("cp -a " + live + " " + home).c_str()) == 0);
  store->close();
  std::string out_path = dir / "log.txt";
  std::string bin = std::string(H5TX_BINARY_DIR) + "/bin/h5tx";
  REQUIRE(std::system((bin + " log " + home + " > " + out_path).c_str()) == 0);
  std::string log = read_text(out_path);
  CHECK(log.find('\x1b') == std::string::npos);
  CHECK(log.find('\x07') == std::string::npos);
  CHECK(log.find("evil\\x1b[2J\\x07 text") != std::string::npos);
  CHECK(log.find("k\\x1b = v\\x0d") != std::string::npos);
  std::string txid = log.substr(log.find("txid ") + 5, 16);
  REQUIRE(std::system((bin + " dump " + home + " " + txid + " > " + out_path).c_str()) == 0);
  std::string dump = read_text(out_path);
  CHECK(dump.find('\x1b') == std::string::npos);
  CHECK(dump.find("evil\\x1b[2J\\x07 text") != std::string::npos);
}

TEST_CASE("untrusted: a data file that is a symlink is refused, a bare file through a symlink opens",
          "[untrusted][undo][redo]") {
  for (Mode mode : {Mode::Redo, Mode::Undo}) {
    h5tx_test::TempDir dir("untrusted");
    std::string home = dir / "s";
    Options o = no_flusher();
    o.mode = mode;
    {
      auto store = Store::create(home, o);
      make_file(*store, "a.h5");
    }
    // Outside HOME: an HDF5 file the store must never read or write.
    std::string outside = dir / "outside.h5";
    REQUIRE(std::system(("cp " + home + "/data/a.h5 " + outside).c_str()) == 0);
    auto before = read_text(outside);
    REQUIRE(::symlink(outside.c_str(), (home + "/data/evil.h5").c_str()) == 0);
    auto store = Store::open(home, o);
    auto tx = store->begin();
    CHECK_THROWS_AS(tx.write_chunk("evil.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0)), Error);
    tx.abort();
    store->close();
    CHECK(read_text(outside) == before);
  }
  // The sec2j user's file is theirs to symlink: it opens, and its journal
  // sits beside the real file.
  h5tx_test::TempDir dir("untrusted");
  std::string real = dir / "t.h5", link = dir / "l.h5";
  UndoFile::create(real).close();
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  UndoFile f = UndoFile::open(link);
  f.close();
}

TEST_CASE("untrusted: a flush batch journal of another data file fails recovery before anything is reverted",
          "[untrusted][redo]") {
  // Two pending journals in one flush batch's undo directory: a.h5's own,
  // and c.h5's journal under the name b.h5.journal. Recovery must refuse
  // before it reverts a.h5 (issue 11, items 13 and 6: bad input changes
  // nothing).
  h5tx_test::TempDir dir("untrusted");
  std::string home = dir / "s";
  {
    auto store = Store::create(home, no_flusher());
    for (const std::string f : {"a.h5", "b.h5", "c.h5"}) make_file(*store, f);
  }
  std::string udir = home + "/journal/undo_0000000000000100";
  REQUIRE(::mkdir(udir.c_str(), 0755) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      std::vector<UndoFile> files;
      std::vector<UndoTransaction> txs;
      for (const auto& fj : std::vector<std::pair<std::string, std::string>>{{"a.h5", "a.h5.journal"},
                                                                             {"c.h5", "b.h5.journal"}}) {
        UndoOptions o;
        o.journal_path = udir + "/" + fj.second;
        o.buffer_bytes = 1;  // every write goes through, its journal synced first
        o.follow_symlinks = false;
        files.push_back(UndoFile::open(home + "/data/" + fj.first, o));
      }
      for (auto& f : files) {
        txs.push_back(f.begin());
        hid_t ds = H5Dopen2(f.hid(), "/grid", H5P_DEFAULT);
        std::vector<uint32_t> v(128 * 32, 0xdeadbeef);
        if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) _exit(3);
        H5Dclose(ds);
        H5Fflush(f.hid(), H5F_SCOPE_LOCAL);
      }
      _exit(0);  // dies inside both transactions
    } catch (...) {
      _exit(2);
    }
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  std::string a_torn = read_text(home + "/data/a.h5"), b_before = read_text(home + "/data/b.h5");
  try {
    Store::open(home, no_flusher());
    FAIL("recovery used c.h5's journal for b.h5");
  } catch (const CorruptionError& e) {
    CHECK(e.path() == udir + "/b.h5.journal");
  }
  CHECK(read_text(home + "/data/a.h5") == a_torn);  // not reverted: nothing changed
  CHECK(read_text(home + "/data/b.h5") == b_before);
  // With the misnamed journal moved away, recovery reverts a.h5 (and c.h5
  // keeps its torn bytes, its journal gone: the operator's choice).
  REQUIRE(::rename((udir + "/b.h5.journal").c_str(), (dir / "c-journal").c_str()) == 0);
  auto store = Store::open(home, no_flusher());
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == std::vector<uint8_t>(256, 0));
}
