// The undo-mode store keeps the data files a commit touched open for the
// next write transaction: abort after such a commit, read transactions,
// objects left open through hid(), and closing the store (crash points of
// the same: torture_undo_kept_test.cpp).
#include <catch2/catch.hpp>

#include <hdf5.h>

#include <fstream>
#include <sstream>

#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "hdf5/handle.hpp"
#include "test_util.hpp"
#include "undo/driver.hpp"

using namespace h5tx;

namespace {

Options undo_options() {
  Options o;
  o.mode = Mode::Undo;
  return o;
}

std::vector<uint8_t> chunk_of(uint8_t value) {
  return std::vector<uint8_t>(16, value);
}

void create_file(Store& store, const std::string& file) {
  DatasetSpec spec;
  spec.dtype = DType::U8;
  spec.shape = {8, 8};
  spec.chunk = {4, 4};
  Transaction tx = store.begin();
  tx.create_file(file);
  tx.create_dataset(file, "/d", spec);
  tx.write_chunk(file, "/d", {0, 0}, chunk_of(1));
  tx.commit();
}

void write_value(Store& store, const std::string& file, uint8_t value) {
  Transaction tx = store.begin();
  tx.write_chunk(file, "/d", {0, 0}, chunk_of(value));
  tx.write_chunk(file, "/d", {1, 1}, chunk_of(value));
  tx.commit();
}

int read_value(Store& store, const std::string& file) {
  Transaction tx = store.begin(h5tx::read_only_tx());
  std::vector<uint8_t> a = tx.read_chunk(file, "/d", {0, 0});
  tx.commit();
  return a == chunk_of(a[0]) ? a[0] : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ssize_t open_files() {
  return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
}

}  // namespace

TEST_CASE("undo store: a committed file stays open for the next writer, abort restores its bytes") {
  h5tx_test::TempDir dir("undo-kept");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  create_file(*store, "a.h5");
  create_file(*store, "b.h5");
  write_value(*store, "a.h5", 2);

  long long id;
  {
    Transaction tx = store->begin();
    id = tx.hid("a.h5");
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(3));
    tx.commit();
  }
  const std::string committed = slurp(home + "/data/a.h5");
  {
    Transaction tx = store->begin();
    CHECK(tx.hid("a.h5") == id);  // the same open file: no reopen per transaction
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(4));
    tx.write_chunk("b.h5", "/d", {0, 0}, chunk_of(4));
    hid_t f = hid_t(tx.hid("a.h5"));
    hdf5::Handle g(H5Gcreate2(f, "/g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2");
    g.reset();
    tx.savepoint();  // the driver writes its buffer into the file
    CHECK(slurp(home + "/data/a.h5") != committed);
    tx.abort();
  }
  // Every byte as the commit left it, and the file open again for writers.
  CHECK((slurp(home + "/data/a.h5") == committed));
  {
    Transaction tx = store->begin();
    hid_t f = hid_t(tx.hid("a.h5"));
    CHECK(H5Lexists(f, "/g", H5P_DEFAULT) == 0);
    CHECK(tx.read_chunk("a.h5", "/d", {0, 0}) == chunk_of(3));
    CHECK(tx.read_chunk("b.h5", "/d", {0, 0}) == chunk_of(1));
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(5));
    tx.commit();
  }
  // A read transaction opens read-only: the writer's open files were closed.
  {
    Transaction tx = store->begin(h5tx::read_only_tx());
    unsigned intent = 0;
    REQUIRE(H5Fget_intent(hid_t(tx.hid("a.h5")), &intent) >= 0);
    CHECK(intent == H5F_ACC_RDONLY);
    CHECK(tx.read_chunk("a.h5", "/d", {0, 0}) == chunk_of(5));
    CHECK(tx.read_chunk("b.h5", "/d", {0, 0}) == chunk_of(1));
    tx.commit();
  }
  write_value(*store, "a.h5", 6);  // reopens after the reader
  CHECK(read_value(*store, "a.h5") == 6);
  write_value(*store, "b.h5", 7);
  store->close();
  CHECK(open_files() == 0);
  store = Store::open(home, undo_options());
  CHECK(read_value(*store, "a.h5") == 6);
  CHECK(read_value(*store, "b.h5") == 7);
}

TEST_CASE("undo store: objects left open through hid() at commit close with the file") {
  h5tx_test::TempDir dir("undo-kept");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  create_file(*store, "a.h5");
  hid_t dset;
  {
    Transaction tx = store->begin();
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2));
    dset = H5Dopen2(hid_t(tx.hid("a.h5")), "/d", H5P_DEFAULT);
    REQUIRE(dset >= 0);
    tx.commit();
  }
  CHECK(H5Iis_valid(dset) <= 0);
  CHECK(open_files() == 0);
  write_value(*store, "a.h5", 3);
  CHECK(read_value(*store, "a.h5") == 3);
}

TEST_CASE("undo store: the kept files close before the LOCK goes, also after a late commit") {
  h5tx_test::TempDir dir("undo-kept");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  create_file(*store, "a.h5");
  write_value(*store, "a.h5", 2);
  CHECK(open_files() == 1);
  {
    Transaction tx = store->begin();
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(3));
    CHECK_THROWS_AS(store->close(), StateError);
    tx.commit();  // the store is closed: the file is closed, then the LOCK released
  }
  CHECK(open_files() == 0);
  store = Store::open(home, undo_options());
  CHECK(read_value(*store, "a.h5") == 3);
  write_value(*store, "a.h5", 4);
  store.reset();  // the destructor closes too
  CHECK(open_files() == 0);
  store = Store::open(home, undo_options());
  CHECK(read_value(*store, "a.h5") == 4);
}

TEST_CASE(
    "undo store: single-file commits reuse one undo directory and its journal, nothing is left after close") {
  h5tx_test::TempDir dir("undo-kept");
  const std::string home = dir / "store";
  Env& env = *Env::posix();
  auto store = Store::create(home, undo_options());
  create_file(*store, "a.h5");  // created a file: committed by renaming its directory
  CHECK(env.list_dir(home + "/journal").empty());
  write_value(*store, "a.h5", 2);  // one existing file: committed in place
  std::vector<std::string> spare = env.list_dir(home + "/journal");
  REQUIRE(spare.size() == 1);
  const std::string journal = home + "/journal/" + spare[0] + "/a.h5.journal";
  CHECK(env.exists(journal));  // kept open, its header zeroed
  CHECK_FALSE(undo::has_pending_journal(env, journal));
  for (uint8_t v = 3; v < 6; v++) write_value(*store, "a.h5", v);
  CHECK(env.list_dir(home + "/journal") == spare);
  CHECK(read_value(*store, "a.h5") == 5);  // a reader closes the kept file and its journal
  CHECK(env.list_dir(home + "/journal/" + spare[0]).empty());
  write_value(*store, "a.h5", 6);
  CHECK(env.list_dir(home + "/journal") == spare);
  {
    // Two files: committed by renaming the (reused) directory.
    create_file(*store, "b.h5");
    Transaction tx = store->begin();
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(7));
    tx.write_chunk("b.h5", "/d", {0, 0}, chunk_of(7));
    tx.commit();
  }
  CHECK(env.list_dir(home + "/journal").empty());
  write_value(*store, "b.h5", 8);
  CHECK(env.list_dir(home + "/journal").size() == 1);
  store->close();
  CHECK(env.list_dir(home + "/journal").empty());
  store = Store::open(home, undo_options());
  CHECK(read_value(*store, "a.h5") == 7);
  CHECK(read_value(*store, "b.h5") == 8);
}
