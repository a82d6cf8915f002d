// Hostile and damaged redo stores (issue 11, items 1, 3, 4, 6 and 7):
// journal entries written by hand with valid checksums
// (tests/crafted_store.hpp), so what is tested is recovery's validation,
// not its checksums. Each test asserts the correct behaviour: a bad record
// fails the open with a CorruptionError naming it (a bad name from the API:
// InvalidArgumentError naming it), nothing outside HOME is created or
// changed, the data files are untouched, the transaction is left where it
// is (never deleted on inferred evidence), committed data stays readable,
// and no length read from disk is allocated before it is checked.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "crafted_store.hpp"
#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "journal/tx_dir.hpp"
#include "test_util.hpp"

using namespace h5tx;
using journal::TxState;
namespace cs = h5tx_test::crafted;

namespace {

// A TempDir holding HOME (a store made by cs::make_store) and an "outside"
// directory with a canary file, and what the tree outside HOME looked like.
struct Scene {
  h5tx_test::TempDir dir{"hostile"};
  std::string home = dir / "home";
  cs::TreeSnapshot outside_before;
  std::map<std::string, std::string> data_before;

  Scene() {
    cs::make_store(home);
    Env::posix()->create_dir(dir / "outside");
    Env::posix()->open(dir / "outside/canary", OpenMode::CreateNew)->write(0, "canary", 6);
  }
  // Call after crafting the journal, before opening the store.
  void snapshot() {
    outside_before = cs::snapshot_tree(dir.path(), home);
    data_before = data_files();
  }
  std::map<std::string, std::string> data_files() const {
    std::map<std::string, std::string> m;
    for (const auto& n : Env::posix()->list_dir(home + "/data"))
      m[n] = Env::posix()->read_all(home + "/data/" + n);
    return m;
  }
  std::string outside_changes() const {
    return cs::diff_trees(outside_before, cs::snapshot_tree(dir.path(), home));
  }
};

// What a read-write open (recovery), a flush and a close did.
struct Outcome {
  bool ok = false;          // no exception
  bool h5tx_error = false;  // an h5tx::Error
  ErrorCode code = ErrorCode::Io;
  std::string path;
  std::string what;   // the message, or the foreign exception's
  std::string stage;  // "open" or "flush"
};

Outcome recover(const std::string& home) {
  Outcome o;
  o.stage = "open";
  try {
    auto store = Store::open(home);
    o.stage = "flush";
    store->flush();
    store->close();
    o.ok = true;
  } catch (const Error& e) {
    o.h5tx_error = true;
    o.code = e.code();
    o.path = e.path();
    o.what = e.what();
  } catch (const std::exception& e) {
    o.what = std::string("foreign exception: ") + e.what();
  }
  return o;
}

// The open failed with a CorruptionError whose path contains `names`.
void require_corruption_at_open(const Outcome& o, const std::string& names) {
  INFO("outcome: " << (o.ok ? "no error" : o.what) << " (stage " << o.stage << ")");
  REQUIRE_FALSE(o.ok);
  REQUIRE(o.h5tx_error);
  CHECK(o.stage == "open");
  CHECK(o.code == ErrorCode::Corruption);
  CHECK(o.path.find(names) != std::string::npos);
}

// Nothing outside HOME changed, the data files are as they were, and the
// transaction directory is still there.
void require_nothing_changed(const Scene& s, const std::string& tx_dir) {
  CHECK(s.outside_changes() == "");
  CHECK(s.data_files() == s.data_before);
  struct stat st;
  CHECK(::lstat(tx_dir.c_str(), &st) == 0);
}

std::string done_name(uint64_t txid) {
  return journal::tx_dir_name(txid, TxState::Done);
}

// Peak resident set size of this process since the last reset, in MiB.
void reset_peak_rss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}
uint64_t peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.compare(0, 6, "VmHWM:") == 0) return std::stoull(line.substr(6)) / 1024;
  return 0;
}

std::string read_chunk_now(const std::string& home, const std::string& dataset, const Shape& coords) {
  Options o;
  o.read_only = true;
  auto store = Store::open(home, o);
  auto tx = store->begin(h5tx::read_only_tx());
  auto v = tx.read_chunk(cs::kFile, dataset, coords);
  return std::string(v.begin(), v.end());
}

}  // namespace

// ---------------------------------------------------------------- item 1

TEST_CASE("hostile 1: a committed file name leaving HOME is refused, nothing outside HOME is created",
          "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  const std::string evil = "../../escape.h5";  // HOME/data/../../escape.h5 = <dir>/escape.h5
  tx.create_file(evil)
      .create_dataset(evil, "/d", cs::grid_spec(false))
      .write_chunk_inline(evil, "/d", {0, 0}, cs::chunk_bytes(3, 0, 0));
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, done_name(t));
  require_nothing_changed(s, d);
  CHECK_FALSE(Env::posix()->exists(s.dir / "escape.h5"));
}

TEST_CASE("hostile 1: a committed HDF5 path with '..' is refused by recovery", "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  tx.create_dataset(cs::kFile, "/a/../../b", cs::grid_spec(false))
      .write_chunk_inline(cs::kFile, "/a/../../b", {0, 0}, cs::chunk_bytes(3, 0, 0));
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, done_name(t));
  require_nothing_changed(s, d);
}

TEST_CASE("hostile 1: redo reads refuse a file name leaving HOME", "[hostile]") {
  Scene s;
  // A real store beside HOME: its vol.h5 is <dir>/other/data/vol.h5.
  cs::make_store(s.dir / "other");
  const std::string evil = "../../other/data/vol.h5";
  s.snapshot();
  auto store = Store::open(s.home);
  auto tx = store->begin(h5tx::read_only_tx());
  auto expect_invalid = [&](const char* what, const std::function<void()>& f) {
    INFO(what);
    try {
      f();
      FAIL("accepted the file name " << evil);
    } catch (const InvalidArgumentError& e) {
      CHECK(e.path().find(evil) != std::string::npos);
    }
  };
  expect_invalid("list_datasets", [&] { tx.list_datasets(evil); });
  expect_invalid("dataset_spec", [&] { tx.dataset_spec(evil, cs::kGrid); });
  expect_invalid("read_chunk", [&] { tx.read_chunk(evil, cs::kGrid, {0, 0}); });
  expect_invalid("data_path", [&] { store->data_path(evil); });
  tx.abort();
  store->close();
  CHECK(s.outside_changes() == "");
}

TEST_CASE("hostile 1: writes through the API refuse a file name leaving HOME", "[hostile]") {
  Scene s;
  s.snapshot();
  auto store = Store::open(s.home);
  auto tx = store->begin();
  for (const std::string& evil :
       std::vector<std::string>{"../x.h5", "../../outside/canary", "a/b.h5", "..", std::string("x\0y", 3)}) {
    INFO(evil);
    CHECK_THROWS_AS(tx.create_file(evil), InvalidArgumentError);
  }
  tx.abort();
  store->close();
  CHECK(s.outside_changes() == "");
}

// ---------------------------------------------------------------- item 3

TEST_CASE("hostile 3: a stray empty _flushed directory with a higher txid loses no committed transaction",
          "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  const std::string chunk = cs::chunk_bytes(42, 1, 0);
  cs::CraftedTx tx(t);  // an ordinary committed transaction, not yet flushed
  tx.write_chunk_inline(cs::kFile, cs::kGrid, {1, 0}, chunk);
  std::string d = tx.write(s.home);
  cs::make_empty_tx_dir(s.home, t + 16, TxState::Flushed);
  s.snapshot();
  Outcome o = recover(s.home);
  INFO("outcome: " << (o.ok ? "no error" : o.what));
  CHECK(s.outside_changes() == "");
  if (o.ok) {
    // Recovery treated the stray as garbage and replayed the transaction.
    CHECK(read_chunk_now(s.home, cs::kGrid, {1, 0}) == chunk);
  } else {
    // Or it refused the journal, deleting nothing.
    CHECK(o.code == ErrorCode::Corruption);
    struct stat st;
    CHECK(::lstat(d.c_str(), &st) == 0);
    CHECK(s.data_files() == s.data_before);
  }
}

// ---------------------------------------------------------------- item 4

TEST_CASE("hostile 4: a journal entry with txid 2^64-1 is corruption, not a wrap to 0", "[hostile]") {
  Scene s;
  std::string d = cs::make_empty_tx_dir(s.home, ~uint64_t(0), TxState::Temp);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, "working_ffffffffffffffff_temp");
  require_nothing_changed(s, d);
}

TEST_CASE("hostile 4: a committed transaction with txid 2^64-1 is corruption", "[hostile]") {
  Scene s;
  cs::CraftedTx tx(~uint64_t(0));
  tx.write_chunk_inline(cs::kFile, cs::kGrid, {1, 0}, cs::chunk_bytes(4, 1, 0));
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, "working_ffffffffffffffff_done");
  require_nothing_changed(s, d);
}

// ---------------------------------------------------------------- item 6

TEST_CASE("hostile 6: a spilled chunk of 2 GiB in a small spill file is refused without allocating it",
          "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  tx.append_spill(cs::chunk_bytes(6, 1, 0))
      .write_chunk_ref(cs::kFile, cs::kGrid, {1, 0}, "spill", 0, uint64_t(2) << 30, 0x1234);
  std::string d = tx.write(s.home);
  s.snapshot();
  reset_peak_rss();
  uint64_t base = peak_rss_mib();
  Outcome o = recover(s.home);
  uint64_t grew = peak_rss_mib() - base;
  require_corruption_at_open(o, done_name(t) + "/spill");
  require_nothing_changed(s, d);
  CHECK(grew < 256);
}

TEST_CASE("hostile 6: a spilled chunk of 2^40 bytes is a CorruptionError, not std::bad_alloc", "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  tx.append_spill(cs::chunk_bytes(6, 1, 0))
      .write_chunk_ref(cs::kFile, cs::kGrid, {1, 0}, "spill", 0, uint64_t(1) << 40, 0x1234);
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, done_name(t) + "/spill");
  require_nothing_changed(s, d);
}

TEST_CASE("hostile 6: a spill offset of 2 GiB is a CorruptionError naming the spill file", "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  tx.append_spill(cs::chunk_bytes(6, 1, 0))
      .write_chunk_ref(cs::kFile, cs::kGrid, {1, 0}, "spill", uint64_t(2) << 30, cs::kChunkBytes, 0x1234);
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, done_name(t) + "/spill");
  require_nothing_changed(s, d);
}

TEST_CASE("hostile 6: a sparse 128 MiB h5tx.store is refused without reading it into memory", "[hostile]") {
  Scene s;
  {
    auto f = Env::posix()->open(s.home + "/h5tx.store", OpenMode::ReadWrite);
    f->truncate(uint64_t(128) << 20);
  }
  s.snapshot();
  reset_peak_rss();
  uint64_t base = peak_rss_mib();
  Outcome o = recover(s.home);
  uint64_t grew = peak_rss_mib() - base;
  require_corruption_at_open(o, "h5tx.store");
  CHECK(s.outside_changes() == "");
  CHECK(grew < 64);
}

// ---------------------------------------------------------------- item 7

TEST_CASE("hostile 7: a chunk copy of the wrong size marked filters-skipped is refused at recovery",
          "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  // /zipped has shuffle, deflate and Fletcher32: mask 0x7 skips all three,
  // so the stored copy must be the raw 256-byte chunk. It has 16 bytes.
  tx.write_chunk_inline(cs::kFile, cs::kZipped, {1, 0}, cs::chunk_bytes(7, 1, 0).substr(0, 16), 0x7);
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, done_name(t));
  require_nothing_changed(s, d);
}

TEST_CASE("hostile 7: an unfiltered chunk copy of the wrong size is refused at recovery", "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  tx.write_chunk_inline(cs::kFile, cs::kGrid, {1, 0}, cs::chunk_bytes(7, 1, 0).substr(0, 100));
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, done_name(t));
  require_nothing_changed(s, d);
}

TEST_CASE("hostile 7: operations that cannot apply are refused at recovery, naming the transaction",
          "[hostile]") {
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  cs::CraftedTx tx(t);
  const std::string c = cs::chunk_bytes(8, 0, 0);
  SECTION("chunk coordinates outside the maximum shape") {
    tx.write_chunk_inline(cs::kFile, cs::kGrid, {0, 10}, c);
  }
  SECTION("chunk coordinates of the wrong rank") {
    tx.write_chunk_inline(cs::kFile, cs::kGrid, {0, 0, 0}, c);
  }
  SECTION("a chunk of a dataset that does not exist") {
    tx.write_chunk_inline(cs::kFile, "/missing", {0, 0}, c);
  }
  SECTION("a chunk of a file that does not exist") {
    tx.write_chunk_inline("missing.h5", cs::kGrid, {0, 0}, c);
  }
  SECTION("an extent past the maximum shape") {
    tx.extend_dataset(cs::kFile, cs::kGrid, {16, 64});
  }
  std::string d = tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  require_corruption_at_open(o, done_name(t));
  require_nothing_changed(s, d);
}

TEST_CASE("hostile: a crafted ordinary transaction is replayed (the helper's records are sound)",
          "[hostile]") {
  // The control for the tests above: the same kind of hand-written record,
  // with nothing wrong in it, is accepted, applied and readable.
  Scene s;
  uint64_t t = cs::unused_txid(s.home);
  const std::string a = cs::chunk_bytes(11, 1, 0), b = cs::chunk_bytes(12, 1, 1);
  cs::CraftedTx tx(t);
  tx.write_chunk_inline(cs::kFile, cs::kGrid, {1, 0}, a).write_chunk_spilled(cs::kFile, cs::kGrid, {1, 1}, b);
  tx.write(s.home);
  s.snapshot();
  Outcome o = recover(s.home);
  INFO(o.what);
  REQUIRE(o.ok);
  CHECK(s.outside_changes() == "");
  CHECK(read_chunk_now(s.home, cs::kGrid, {1, 0}) == a);
  CHECK(read_chunk_now(s.home, cs::kGrid, {1, 1}) == b);
  CHECK(read_chunk_now(s.home, cs::kGrid, {0, 0}) == cs::chunk_bytes(1, 0, 0));
  CHECK(Env::posix()->list_dir(s.home + "/journal").empty());
}
