// Staged writing (include/h5tx/staged.hpp): StagedWriters fill part files
// of a transaction's _temp directory, the transaction adopts their records
// and commits them with its one rename; nothing is visible before; bad
// records are refused before anything is adopted; an abandoned staging
// directory is removed by the next open; undo mode refuses staging.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "h5tx/env.hpp"
#include "h5tx/staged.hpp"
#include "h5tx/store.hpp"
#include "journal/tx_dir.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace redo_test;

namespace {

// The staging directory a token names (h5tx-stage-1:<dir>).
std::string token_dir(const std::string& token) {
  return token.substr(token.find(':') + 1);
}

// The chunks (r, c) for r in rows, c in 0..3, written by one StagedWriter.
std::vector<StagedChunk> stage_rows(const std::string& token, const DatasetSpec& spec, uint64_t r0,
                                    uint64_t r1, uint32_t seed) {
  StagedWriter w(token);
  for (uint64_t r = r0; r < r1; r++)
    for (uint64_t c = 0; c < 4; c++) {
      auto b = chunk_bytes(seed, r, c);
      w.write_chunk("a.h5", "/grid", spec, {r, c}, b.data(), b.size());
    }
  CHECK(w.part().rfind("part-", 0) == 0);
  return w.finish();
}

// A new store with a.h5:/grid (8 chunk rows) and a staging transaction.
struct Staging {
  h5tx_test::TempDir dir{"staged"};
  std::string home = dir / "store";
  std::unique_ptr<Store> store;
  Transaction tx;
  std::string token;
  DatasetSpec spec;
  Staging() {
    store = Store::create(home);
    make_file(*store, "a.h5", 8);
    tx = store->begin();
    token = tx.stage();
    spec = tx.dataset_spec("a.h5", "/grid");
  }
};

}  // namespace

TEST_CASE("staged: parts of two writers adopted and committed at once, read back after reopen", "[staged]") {
  for (bool compress : {false, true}) {
    h5tx_test::TempDir dir("staged");
    std::string home = dir / "store";
    {
      auto store = Store::create(home);
      make_file(*store, "a.h5", 8, compress);
      auto tx = store->begin();
      std::string token = tx.stage();
      CHECK(tx.stage() == token);
      DatasetSpec spec = tx.dataset_spec("a.h5", "/grid");
      auto a = stage_rows(token, spec, 0, 4, 7);
      auto b = stage_rows(token, spec, 4, 8, 7);
      REQUIRE(a.size() == 16);
      CHECK(a[0].part != b[0].part);  // one part file per writer
      // Nothing is visible to another transaction before commit.
      {
        auto r = store->begin(read_only_tx());
        CHECK(r.read_chunk("a.h5", "/grid", {1, 1}) == std::vector<uint8_t>(256, 0));
      }
      tx.adopt(a);
      tx.adopt(b);
      // Own staged writes are read back through the transaction.
      CHECK(tx.read_chunk("a.h5", "/grid", {5, 2}) == chunk_bytes(7, 5, 2));
      tx.commit();
      auto r = store->begin(read_only_tx());
      CHECK(r.read_chunk("a.h5", "/grid", {3, 3}) == chunk_bytes(7, 3, 3));
    }
    auto store = Store::open(home);
    auto r = store->begin(read_only_tx());
    for (uint64_t row = 0; row < 8; row++)
      for (uint64_t c = 0; c < 4; c++)
        CHECK(r.read_chunk("a.h5", "/grid", {row, c}) == chunk_bytes(7, row, c));
    r.abort();
    store->flush();
    auto r2 = store->begin(read_only_tx());
    CHECK(r2.read_chunk("a.h5", "/grid", {7, 0}) == chunk_bytes(7, 7, 0));
  }
}

// Runs `work` in a forked child, which must end with _exit(0) (like a
// kill -9: no destructor, no abort, no close runs); any other end fails.
// The parent has no store open (fork rules of crash_child.hpp).
static void in_dying_child(const std::function<void()>& work) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      work();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(4);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
}

TEST_CASE("staged: a client killed before commit leaves nothing, one killed after commit everything",
          "[staged]") {
  for (bool commit : {false, true}) {
    h5tx_test::TempDir dir("staged");
    std::string home = dir / "store";
    {
      auto store = Store::create(home);
      make_file(*store, "a.h5", 8);
    }
    std::string token_file = dir / "token";
    in_dying_child([&] {
      auto store = Store::open(home);
      auto tx = store->begin();
      std::string token = tx.stage();
      Env::posix()->write_file_atomic(token_file, token);
      tx.adopt(stage_rows(token, tx.dataset_spec("a.h5", "/grid"), 0, 2, 3));
      if (commit) tx.commit();
      ::_exit(0);  // dies with the transaction and the store open
    });
    std::string token = Env::posix()->read_all(token_file);
    CHECK(Env::posix()->is_directory(token_dir(token)) == !commit);  // renamed to _done by the commit
    auto store = Store::open(home);
    CHECK_FALSE(Env::posix()->exists(token_dir(token)));
    auto r = store->begin(read_only_tx());
    for (uint64_t row = 0; row < 2; row++)
      for (uint64_t c = 0; c < 4; c++)
        CHECK(r.read_chunk("a.h5", "/grid", {row, c}) ==
              (commit ? chunk_bytes(3, row, c) : std::vector<uint8_t>(256, 0)));
    // A writer given the dead transaction's token finds no directory.
    CHECK_THROWS_AS(StagedWriter(token), NotFoundError);
  }
}

TEST_CASE("staged: a staged transaction that adopted nothing commits nothing and removes its directory",
          "[staged]") {
  Staging st;
  stage_rows(st.token, st.spec, 0, 1, 1);  // a part nobody adopts
  st.tx.commit();
  CHECK(st.tx.txid() == 0);
  CHECK_FALSE(Env::posix()->exists(token_dir(st.token)));
}

TEST_CASE("staged: abort removes the staged part files", "[staged]") {
  Staging st;
  st.tx.adopt(stage_rows(st.token, st.spec, 0, 1, 1));
  CHECK(Env::posix()->is_directory(token_dir(st.token)));
  st.tx.abort();
  CHECK_FALSE(Env::posix()->exists(token_dir(st.token)));
  CHECK_THROWS_AS(StagedWriter(st.token), NotFoundError);
}

TEST_CASE("staged: bad records are refused and none is adopted", "[staged]") {
  Staging st;
  Transaction& tx = st.tx;
  auto good = stage_rows(st.token, st.spec, 0, 1, 2);
  auto refused = [&](StagedChunk bad) {
    std::vector<StagedChunk> v = good;
    v.push_back(bad);
    CHECK_THROWS_AS(tx.adopt(v), InvalidArgumentError);
    CHECK(tx.read_chunk("a.h5", "/grid", {0, 0}) == std::vector<uint8_t>(256, 0));  // nothing adopted
  };
  StagedChunk c = good[0];
  c.part = "../../data/a.h5";
  refused(c);
  c = good[0];
  c.part = "part-00000000000000000000000000000000";  // no such file
  refused(c);
  c = good[0];
  c.offset = 4 * 256 - 10;  // runs past the end of the part file
  refused(c);
  c = good[0];
  c.size = 100;  // not a chunk size of the dataset
  refused(c);
  c = good[0];
  c.coords = {8, 0};  // outside the extent
  refused(c);
  c = good[0];
  c.dataset = "/nope";
  CHECK_THROWS_AS(tx.adopt({c}), NotFoundError);
  tx.adopt(good);
  CHECK(tx.read_chunk("a.h5", "/grid", {0, 3}) == chunk_bytes(2, 0, 3));
  tx.commit();
}

TEST_CASE("staged: malformed tokens and chunks are refused by the writer", "[staged]") {
  Staging st;
  const std::string& home = st.home;
  CHECK_THROWS_AS(StagedWriter("nonsense"), InvalidArgumentError);
  CHECK_THROWS_AS(StagedWriter("h5tx-stage-1:relative/journal/working_0000000000000001_temp"),
                  InvalidArgumentError);
  CHECK_THROWS_AS(StagedWriter("h5tx-stage-1:" + home + "/journal/../journal/working_0000000000000001_temp"),
                  InvalidArgumentError);
  CHECK_THROWS_AS(StagedWriter("h5tx-stage-1:" + home + "/data/working_0000000000000001_temp"),
                  InvalidArgumentError);
  CHECK_THROWS_AS(StagedWriter("h5tx-stage-1:" + home + "/journal/working_0000000000000001_done"),
                  InvalidArgumentError);
  StagedWriter w(st.token);
  const DatasetSpec& spec = st.spec;
  std::vector<uint8_t> small(10);
  CHECK_THROWS_AS(w.write_chunk("a.h5", "/grid", spec, {0, 0}, small.data(), small.size()),
                  InvalidArgumentError);
  auto b = chunk_bytes(1, 0, 0);
  CHECK_THROWS_AS(w.write_chunk("../a.h5", "/grid", spec, {0, 0}, b.data(), b.size()), InvalidArgumentError);
  w.write_chunk("a.h5", "/grid", spec, {0, 0}, b.data(), b.size());
  CHECK(w.finish().size() == 1);
  CHECK_THROWS_AS(w.finish(), StateError);
}

TEST_CASE("staged: adopt without stage, and undo mode, are refused", "[staged]") {
  h5tx_test::TempDir dir("staged");
  {
    auto store = Store::create(dir / "redo");
    make_file(*store, "a.h5", 8);
    auto tx = store->begin();
    StagedChunk c;
    c.file = "a.h5";
    c.dataset = "/grid";
    c.coords = {0, 0};
    CHECK_THROWS_AS(tx.adopt({c}), StateError);
  }
  Options o;
  o.mode = Mode::Undo;
  auto store = Store::create(dir / "undo", o);
  auto tx = store->begin();
  CHECK_THROWS_AS(tx.stage(), UnsupportedError);
  CHECK_THROWS_AS(tx.adopt({}), UnsupportedError);
}

TEST_CASE("staged: a directory of Store::stage() taken over by a transaction's adopt(records, token)",
          "[staged]") {
  h5tx_test::TempDir dir("staged");
  std::string home = dir / "store";
  auto store = Store::create(home);
  make_file(*store, "a.h5", 8);
  std::string token = store->stage();
  CHECK(store->stage() != token);  // a new directory every call
  DatasetSpec spec = store->begin(read_only_tx()).dataset_spec("a.h5", "/grid");
  auto a = stage_rows(token, spec, 0, 4, 5);
  auto b = stage_rows(token, spec, 4, 8, 5);
  {
    // Bad records: refused before the directory is taken.
    auto tx = store->begin();
    StagedChunk bad = a[0];
    bad.offset = 1 << 20;
    CHECK_THROWS_AS(tx.adopt({bad}, token), InvalidArgumentError);
    CHECK(Env::posix()->is_directory(token_dir(token)));
    // A token of another store.
    h5tx_test::TempDir other("staged");
    auto o = Store::create(other / "store");
    make_file(*o, "a.h5", 8);
    std::string foreign = o->stage();
    CHECK_THROWS_AS(tx.adopt(stage_rows(foreign, spec, 0, 1, 1), foreign), InvalidArgumentError);
  }
  {
    // Taken over and aborted: the directory is the transaction's, and goes.
    std::string t2 = store->stage();
    auto tx = store->begin();
    tx.adopt(stage_rows(t2, spec, 0, 1, 9), t2);
    CHECK_FALSE(Env::posix()->exists(token_dir(t2)));
    CHECK(tx.read_chunk("a.h5", "/grid", {0, 1}) == chunk_bytes(9, 0, 1));
    tx.abort();
    CHECK_THROWS_AS(store->begin().adopt({}, t2), NotFoundError);  // gone with the abort
  }
  {
    // A transaction with a directory of its own cannot take another.
    auto tx = store->begin();
    tx.stage();
    CHECK_THROWS_AS(tx.adopt(a, token), StateError);
  }
  auto tx = store->begin();
  tx.adopt(a, token);
  tx.adopt(b, token);  // the same directory, now its own
  CHECK_FALSE(Env::posix()->exists(token_dir(token)));
  {
    // A second taker finds it gone; nothing is visible before the commit.
    auto late = store->begin();
    CHECK_THROWS_AS(late.adopt(a, token), NotFoundError);
    CHECK(late.read_chunk("a.h5", "/grid", {2, 2}) == std::vector<uint8_t>(256, 0));
  }
  tx.commit();
  store->close();
  store = Store::open(home);
  store->flush();
  auto r = store->begin(read_only_tx());
  for (uint64_t row = 0; row < 8; row++)
    for (uint64_t c = 0; c < 4; c++) CHECK(r.read_chunk("a.h5", "/grid", {row, c}) == chunk_bytes(5, row, c));
}

TEST_CASE("staged: a directory of Store::stage() nobody took is removed by the next open", "[staged]") {
  h5tx_test::TempDir dir("staged");
  std::string home = dir / "store";
  std::string token;
  {
    auto store = Store::create(home);
    make_file(*store, "a.h5", 8);
    token = store->stage();
    stage_rows(token, store->begin(read_only_tx()).dataset_spec("a.h5", "/grid"), 0, 2, 4);
  }
  // This process did not remove it at close: only recovery does.
  CHECK(Env::posix()->is_directory(token_dir(token)));
  auto store = Store::open(home);
  CHECK_FALSE(Env::posix()->exists(token_dir(token)));
  auto r = store->begin(read_only_tx());
  CHECK(r.read_chunk("a.h5", "/grid", {1, 1}) == std::vector<uint8_t>(256, 0));
  Options ro;
  ro.read_only = true;
  store->close();
  CHECK_THROWS_AS(Store::open(home, ro)->stage(), StateError);
  Options undo;
  undo.mode = Mode::Undo;
  CHECK_THROWS_AS(Store::create(dir / "undo", undo)->stage(), UnsupportedError);
}

TEST_CASE("staged: a flushed staged transaction's directory is recycled without its part files", "[staged]") {
  Staging st;
  st.tx.adopt(stage_rows(st.token, st.spec, 0, 2, 6));
  stage_rows(st.token, st.spec, 2, 3, 6);  // a part nobody adopts (a retried task's dead attempt)
  st.tx.commit();
  std::string journal = st.home + "/journal";
  std::string flushed = journal + "/" + journal::tx_dir_name(st.tx.txid(), journal::TxState::Flushed);
  st.store->flush();
  // Kept for reuse (under its _flushed name, or taken already by a commit),
  // but no part file is left anywhere in the journal.
  auto part_files = [&] {
    size_t n = 0;
    for (const auto& d : Env::posix()->list_dir(journal))
      if (Env::posix()->is_directory(journal + "/" + d))
        for (const auto& f : Env::posix()->list_dir(journal + "/" + d)) n += f.rfind("part-", 0) == 0;
    return n;
  };
  CHECK(Env::posix()->is_directory(flushed));
  CHECK(part_files() == 0);
  // Reused by the next commits, which read back right.
  for (uint64_t row = 0; row < 4; row++) {
    auto tx = st.store->begin();
    auto b = chunk_bytes(8, row, 0);
    tx.write_chunk("a.h5", "/grid", {row, 0}, b);
    tx.commit();
  }
  st.store->close();
  auto store = Store::open(st.home);
  auto r = store->begin(read_only_tx());
  CHECK(r.read_chunk("a.h5", "/grid", {1, 0}) == chunk_bytes(8, 1, 0));
  CHECK(r.read_chunk("a.h5", "/grid", {1, 1}) == chunk_bytes(6, 1, 1));
  CHECK(r.read_chunk("a.h5", "/grid", {2, 1}) == std::vector<uint8_t>(256, 0));
}
