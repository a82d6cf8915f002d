// Redo recovery on open from journal states left "by hand": a copy of a live
// store taken between commit and flush (its _done directories), an
// unfinished _temp directory, a leftover _flushed directory, and a corrupt
// _done directory (the open fails naming the file; nothing is changed).
// Also a read-only open of a store with unflushed transactions.
#include <catch2/catch.hpp>

#include <cstdlib>

#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace redo_test;

namespace {

Options no_flusher() {
  Options o;
  o.background_flusher = false;
  return o;
}

// The store at `home` with transactions in every state a crash can leave:
// returns the path of a copy taken while it was open ("crashed").
std::string crashed_copy(const h5tx_test::TempDir& dir) {
  std::string home = dir / "live";
  auto store = Store::create(home, no_flusher());
  make_file(*store, "a.h5");
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
    tx.commit();
  }
  store->flush();  // chunk (0,0) v1 is in the HDF5 file
  {
    auto tx = store->begin();
    tx.create_file("b.h5");
    tx.create_dataset("b.h5", "/grid", grid_spec(2));
    tx.write_chunk("b.h5", "/grid", {1, 1}, chunk_bytes(2, 1, 1));
    tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(2, 0, 0));
    tx.set_message("second");
    tx.commit();  // _done, not flushed
  }
  std::string copy = dir / "crashed";
  REQUIRE(std::system(("cp -a " + home + " " + copy).c_str()) == 0);
  return copy;
}

std::vector<std::string> journal_entries(const std::string& home) {
  return Env::posix()->list_dir(home + "/journal");
}

}  // namespace

TEST_CASE("redo recovery: _done is rolled forward while _temp and _flushed are discarded",
          "[redo][recovery]") {
  h5tx_test::TempDir dir("redo");
  std::string home = crashed_copy(dir);
  Env* env = Env::posix();
  std::string j = home + "/journal/";
  // An unfinished commit with a chunk file and no MANIFEST.
  env->create_dir(j + "working_00000000000fffff_temp");
  env->open(j + "working_00000000000fffff_temp/chunk_00000000", OpenMode::CreateNew)->write(0, "xyz", 3);
  // A flushed transaction whose deletion was interrupted (garbage inside;
  // the live store kept the first flushed directory for reuse, so the copy
  // may have it already).
  env->create_dir_if_missing(j + "working_0000000000000001_flushed");
  env->open(j + "working_0000000000000001_flushed/MANIFEST", OpenMode::CreateTrunc)->write(0, "junk", 4);
  // A half-built data file (the store's scratch name, util/names.hpp).
  env->open(home + "/data/.h5tx.new.c.h5", OpenMode::CreateNew)->write(0, "junk", 4);

  auto store = Store::open(home, no_flusher());
  auto entries = journal_entries(home);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].find("_done") != std::string::npos);
  CHECK_FALSE(env->exists(home + "/data/.h5tx.new.c.h5"));
  auto pend = store->pending();
  REQUIRE(pend.size() == 1);
  CHECK(pend[0].message == "second");
  {
    auto r = store->begin();
    CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(2, 0, 0));
    CHECK(r.read_chunk("b.h5", "/grid", {1, 1}) == chunk_bytes(2, 1, 1));
    CHECK(r.list_files() == std::vector<std::string>{"a.h5", "b.h5"});
  }
  // New commits get txids above every committed one found in the journal
  // (not above _temp names: with several writer processes those are
  // random ids, and TXID is above every txid handed out anyway).
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {3, 3}, chunk_bytes(3, 3, 3));
    tx.commit();
    CHECK(tx.txid() > pend[0].txid);
  }
  store->flush();
  // Flushed directories stay only as spares for reuse, and go at close.
  for (const auto& e : journal_entries(home)) CHECK(e.find("_flushed") != std::string::npos);
  store->close();
  CHECK(journal_entries(home).empty());
  auto again = Store::open(home);
  auto r = again->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(2, 0, 0));
  CHECK(r.read_chunk("b.h5", "/grid", {1, 1}) == chunk_bytes(2, 1, 1));
  CHECK(r.read_chunk("a.h5", "/grid", {3, 3}) == chunk_bytes(3, 3, 3));
}

TEST_CASE("redo recovery: a corrupt _done fails the open and changes nothing", "[redo][recovery]") {
  h5tx_test::TempDir dir("redo");
  std::string home = crashed_copy(dir);
  Env* env = Env::posix();
  std::string done;
  for (const auto& e : journal_entries(home))
    if (e.find("_done") != std::string::npos) done = home + "/journal/" + e;
  REQUIRE(!done.empty());
  // The chunks are inline after the MANIFEST's record: its last bytes are
  // the last chunk's.
  std::string chunk = done + "/MANIFEST";
  REQUIRE(env->list_dir(done) == std::vector<std::string>{"MANIFEST"});
  env->create_dir(home + "/journal/working_00000000000fffff_temp");

  SECTION("a damaged chunk copy") {
    auto f = env->open(chunk, OpenMode::ReadWrite);
    char c;
    f->read(f->size() - 5, &c, 1);
    c ^= 0x10;
    f->write(f->size() - 5, &c, 1);
    try {
      Store::open(home);
      FAIL("opened a store with a corrupt committed transaction");
    } catch (const CorruptionError& e) {
      CHECK(e.path() == chunk);
      CHECK(std::string(e.what()).find("working_") != std::string::npos);
    }
  }
  SECTION("a truncated MANIFEST") {
    auto f = env->open(done + "/MANIFEST", OpenMode::ReadWrite);
    f->truncate(f->size() - 3);
    try {
      Store::open(home);
      FAIL("opened a store with a corrupt committed transaction");
    } catch (const CorruptionError& e) {
      CHECK(e.path() == done + "/MANIFEST");
    }
  }
  SECTION("a missing chunk file") {
    env->remove_file(chunk);
    CHECK_THROWS_AS(Store::open(home), CorruptionError);
  }
  SECTION("a stray entry in journal/") {
    env->open(home + "/journal/notes.txt", OpenMode::CreateNew)->write(0, "hi", 2);
    try {
      Store::open(home);
      FAIL("opened a store with a stray journal entry");
    } catch (const CorruptionError& e) {
      CHECK(e.path() == home + "/journal/notes.txt");
    }
    CHECK(env->exists(home + "/journal/notes.txt"));
  }
  // Nothing was changed: the transaction and even the _temp garbage remain.
  CHECK(env->exists(done));
  CHECK(env->exists(home + "/journal/working_00000000000fffff_temp"));
}

TEST_CASE("redo: a read-only open serves unflushed transactions and writes nothing", "[redo][recovery]") {
  h5tx_test::TempDir dir("redo");
  std::string home = crashed_copy(dir);
  Env* env = Env::posix();
  env->create_dir(home + "/journal/working_00000000000fffff_temp");
  auto before = journal_entries(home);
  {
    Options ro;
    ro.read_only = true;
    auto store = Store::open(home, ro);
    auto r = store->begin(h5tx::read_only_tx());
    CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(2, 0, 0));
    CHECK(r.read_chunk("b.h5", "/grid", {1, 1}) == chunk_bytes(2, 1, 1));
    auto w = store->begin();
    CHECK_THROWS_AS(w.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(3, 0, 0)), StateError);
    store->flush();  // no-op
    CHECK(store->stats().flusher_state == "stopped");
  }
  CHECK(journal_entries(home) == before);
  CHECK_FALSE(env->exists(home + "/data/b.h5"));
}

TEST_CASE("redo recovery: a _done older than a _flushed is replayed, then the _flushed one again",
          "[redo][recovery]") {
  // The crash left the rename of an older transaction of a flushed batch
  // undone while a newer one's rename survived. The older one is never
  // deleted on that inference (issue 11, item 3): both are replayed in
  // txid order, which leaves the newer data.
  h5tx_test::TempDir dir("redo");
  std::string home = dir / "s";
  std::vector<std::string> saved;
  {
    auto store = Store::create(home, no_flusher());
    make_file(*store, "a.h5");
    store->flush();
    for (int v = 1; v <= 2; v++) {
      auto tx = store->begin();
      tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(v, 0, 0));
      tx.commit();
    }
    saved = journal_entries(home);
    REQUIRE(saved.size() == 2);
    for (const auto& e : saved)
      REQUIRE(std::system(("cp -a " + home + "/journal/" + e + " " + dir.path() + "/" + e).c_str()) == 0);
    store->close();  // both applied in one batch: the file holds version 2
  }
  std::string older = saved[0], newer = saved[1];
  std::string newer_flushed = newer.substr(0, newer.size() - 5) + "_flushed";
  REQUIRE(std::system(("cp -a " + dir.path() + "/" + older + " " + home + "/journal/" + older).c_str()) == 0);
  REQUIRE(std::system(
              ("cp -a " + dir.path() + "/" + newer + " " + home + "/journal/" + newer_flushed).c_str()) == 0);
  {
    Options ro;
    ro.read_only = true;
    auto store = Store::open(home, ro);
    CHECK(store->pending().size() == 2);
    auto r = store->begin();
    CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(2, 0, 0));
  }
  auto store = Store::open(home, no_flusher());
  CHECK(store->pending().size() == 2);
  CHECK(journal_entries(home) == std::vector<std::string>{older, newer});
  {
    auto r = store->begin();
    CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(2, 0, 0));
  }
  store->close();  // flushes both, in txid order
  CHECK(journal_entries(home).empty());
  // h5py, with no h5tx in the way: the newer version is in the file.
  std::string out = h5tx_test::python("import h5py; f = h5py.File(\"" + home +
                                      "/data/a.h5\", \"r\"); print(int(f[\"/grid\"][0, 1]))");
  CHECK(std::stoul(out) == 2u * 1000003u + 1u);  // chunk_bytes(2, 0, 0), element 1
}
