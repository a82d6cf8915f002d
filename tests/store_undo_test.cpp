// The undo-mode store: multi-file transactions written in place under undo
// journals; commit, abort with hooks, savepoints, raw HDF5 through hid(),
// the one-writer-or-many-readers rule (threads and processes), and
// all-or-nothing across crashes at every I/O operation of a transaction
// (forked children over the fault-injecting Env, power cut included).
#include <catch2/catch.hpp>

#include <hdf5.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "hdf5/dataset_ops.hpp"
#include "hdf5/handle.hpp"
#include "io/testing/fault_env.hpp"
#include "store/undo_store.hpp"
#include "crash_child.hpp"
#include "test_util.hpp"

using namespace h5tx;
using h5tx::testing::FaultEnv;

namespace {

using h5tx_test::python;

Options undo_options(Env* env = nullptr) {
  Options o;
  o.mode = Mode::Undo;
  o.env = env;
  return o;
}

DatasetSpec chunked_spec() {
  DatasetSpec s;
  s.dtype = DType::U32;
  s.shape = {8, 8};
  s.max_shape = {kUnlimited, 8};
  s.chunk = {4, 4};
  s.compression = Compression::ShuffleDeflate;
  s.fill_value = 7;
  return s;
}

// A 4x4 u32 chunk whose elements are value*1000 + index.
std::vector<uint8_t> chunk_of(uint32_t value) {
  std::vector<uint32_t> v(16);
  for (uint32_t i = 0; i < 16; i++) v[i] = value * 1000 + i;
  std::vector<uint8_t> out(64);
  std::memcpy(out.data(), v.data(), 64);
  return out;
}

// The value a chunk_of() chunk was made from; -1 if it is not one.
long value_of(const std::vector<uint8_t>& chunk) {
  if (chunk.size() != 64) return -1;
  uint32_t first;
  std::memcpy(&first, chunk.data(), 4);
  uint32_t value = first / 1000;
  return chunk == chunk_of(value) ? long(value) : -1;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Creates files with dataset /d (chunks [0,0] and [1,1] = `value`).
void populate(Store& store, const std::vector<std::string>& files, uint32_t value) {
  Transaction tx = store.begin();
  for (const std::string& f : files) {
    tx.create_file(f);
    tx.create_dataset(f, "/d", chunked_spec());
    tx.write_chunk(f, "/d", {0, 0}, chunk_of(value));
    tx.write_chunk(f, "/d", {1, 1}, chunk_of(value));
  }
  tx.commit();
}

long read_value(Store& store, const std::string& file, const Shape& coords = {0, 0}) {
  Transaction tx = store.begin(h5tx::read_only_tx());
  long v = value_of(tx.read_chunk(file, "/d", coords));
  tx.commit();
  return v;
}

int child_status(pid_t pid) {
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

}  // namespace

TEST_CASE("undo store: a multi-file transaction commits into ordinary HDF5 files") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  {
    auto store = Store::create(home, undo_options());
    CHECK(store->mode() == Mode::Undo);
    Transaction tx = store->begin();
    CHECK(tx.txid() > 0);
    tx.create_file("a.h5");
    tx.create_file("b.h5");
    tx.create_dataset("a.h5", "/raw/d", chunked_spec());
    tx.create_dataset("b.h5", "/d", chunked_spec());
    tx.write_chunk("a.h5", "/raw/d", {1, 0}, chunk_of(3));
    tx.write_chunk("b.h5", "/d", {0, 1}, chunk_of(4));
    tx.set_attribute("a.h5", "/", "run", AttributeValue::string("ingest 1"));
    tx.set_metadata("k", "v");  // undo mode keeps it in memory only
    tx.set_message("first");
    // The transaction sees its own writes; unwritten chunks are the fill value.
    CHECK(value_of(tx.read_chunk("a.h5", "/raw/d", {1, 0})) == 3);
    CHECK(tx.read_chunk("a.h5", "/raw/d", {0, 0}) ==
          std::vector<uint8_t>{7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0,
                               0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0,
                               7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0});
    CHECK(tx.list_files() == std::vector<std::string>{"a.h5", "b.h5"});
    CHECK(tx.list_datasets("a.h5") == std::vector<std::string>{"/raw/d"});
    tx.commit();
    CHECK_FALSE(tx.active());
    CHECK(store->stats().committed_transactions == 1);
    // Nothing is left in journal/ once committed.
    CHECK(Env::posix()->list_dir(home + "/journal").empty());
  }
  {
    auto store = Store::open(home, undo_options());
    Transaction tx = store->begin(h5tx::read_only_tx());
    CHECK(value_of(tx.read_chunk("a.h5", "/raw/d", {1, 0})) == 3);
    CHECK(value_of(tx.read_chunk("b.h5", "/d", {0, 1})) == 4);
    DatasetSpec s = tx.dataset_spec("b.h5", "/d");
    CHECK(s.shape == Shape{8, 8});
    CHECK(s.fletcher32);
    tx.commit();
  }
  // The files are plain HDF5: h5py reads the committed values (Fletcher32 verified).
  std::string out = python(
      "import h5py\n"
      "f = h5py.File(\"" +
      home +
      "/data/a.h5\", \"r\")\n"
      "d = f[\"raw/d\"]\n"
      "print(f.attrs[\"run\"], int(d[4, 0]), int(d[7, 3]), int(d[0, 0]))\n");
  INFO(out);
  CHECK(out.find("ingest 1 3000 3015 7\n") != std::string::npos);
}

TEST_CASE("undo directory names and the CREATED file") {
  uint64_t txid = 0;
  bool committed = true;
  CHECK(parse_undo_dir_name("undo_00000000000000ff", &txid, &committed));
  CHECK(txid == 255);
  CHECK_FALSE(committed);
  CHECK(parse_undo_dir_name("undo_0000000000010000_committed", &txid, &committed));
  CHECK(txid == 65536);
  CHECK(committed);
  CHECK_FALSE(parse_undo_dir_name("undo_ff", &txid, &committed));
  CHECK_FALSE(parse_undo_dir_name("undo_00000000000000FF", &txid, &committed));
  CHECK_FALSE(parse_undo_dir_name("undo_00000000000000ff_done", &txid, &committed));
  CHECK_FALSE(parse_undo_dir_name("working_00000000000000ff_done", &txid, &committed));

  std::string text = h5tx::journal::encode_created({"a.h5", "vol 2.h5"});
  CHECK(text == "a.h5\nvol 2.h5\n");
  // Pinned by the golden file of formats/undo-store.md.
  CHECK(text == slurp(std::string(H5TX_SOURCE_DIR) + "/formats/golden/undo-CREATED-v1"));
  CHECK(h5tx::journal::decode_created(text, "x") == std::vector<std::string>{"a.h5", "vol 2.h5"});
  CHECK(h5tx::journal::decode_created("", "x").empty());
  CHECK_THROWS_AS(h5tx::journal::decode_created("a.h5", "x"), CorruptionError);
  CHECK_THROWS_AS(h5tx::journal::decode_created("a/b\n", "x"), CorruptionError);
  CHECK_THROWS_AS(h5tx::journal::decode_created("\n", "x"), CorruptionError);

  // With identities (the file made and known: formats/undo-store.md).
  std::map<std::string, std::string> ids{{"a.h5", "2049:131074"}};
  std::string v2 = h5tx::journal::encode_created({"a.h5", "vol 2.h5"}, ids);
  CHECK(v2 == slurp(std::string(H5TX_SOURCE_DIR) + "/formats/golden/undo-CREATED-v2"));
  std::map<std::string, std::string> back;
  CHECK(h5tx::journal::decode_created(v2, "x", &back) == std::vector<std::string>{"a.h5", "vol 2.h5"});
  CHECK(back == ids);
  CHECK_THROWS_AS(h5tx::journal::decode_created("a.h5\t\n", "x"), CorruptionError);
  CHECK_THROWS_AS(h5tx::journal::decode_created("a.h5\tdev:ino\n", "x"), CorruptionError);
  CHECK_THROWS_AS(h5tx::journal::decode_created("a/b\t1:2\n", "x"), CorruptionError);
}

TEST_CASE("undo store: abort restores every byte of every file and runs hooks newest first") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  populate(*store, {"a.h5", "b.h5"}, 1);
  const std::string a_before = slurp(home + "/data/a.h5");
  const std::string b_before = slurp(home + "/data/b.h5");
  REQUIRE(!a_before.empty());

  std::vector<std::string> ran;
  {
    Transaction tx = store->begin();
    tx.on_abort([&] { ran.push_back("first"); });
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2));
    tx.write_chunk("b.h5", "/d", {1, 0}, chunk_of(2));
    tx.extend_dataset("a.h5", "/d", {100, 8});
    for (uint64_t r = 2; r < 25; r++) tx.write_chunk("a.h5", "/d", {r, 1}, chunk_of(uint32_t(r)));
    tx.set_attribute("b.h5", "/d", "note", AttributeValue::string("temporary"));
    tx.create_dataset("b.h5", "/new/e", chunked_spec());
    tx.create_file("c.h5");
    tx.on_abort([&] { ran.push_back("second"); });
    CHECK(value_of(tx.read_chunk("a.h5", "/d", {0, 0})) == 2);
    tx.abort();
    CHECK_FALSE(tx.active());
    CHECK_THROWS_AS(tx.commit(), StateError);
  }
  CHECK(ran == std::vector<std::string>{"second", "first"});
  CHECK(slurp(home + "/data/a.h5").size() == a_before.size());
  CHECK((slurp(home + "/data/a.h5") == a_before));
  CHECK(slurp(home + "/data/b.h5").size() == b_before.size());
  CHECK((slurp(home + "/data/b.h5") == b_before));
  CHECK_FALSE(Env::posix()->exists(home + "/data/c.h5"));
  CHECK(Env::posix()->list_dir(home + "/journal").empty());

  // The destructor of an uncommitted transaction aborts too.
  ran.clear();
  {
    Transaction tx = store->begin();
    tx.on_abort([&] { ran.push_back("dtor"); });
    tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(9));
    tx.create_file("d.h5");
  }
  CHECK(ran == std::vector<std::string>{"dtor"});
  CHECK(slurp(home + "/data/a.h5").size() == a_before.size());
  CHECK((slurp(home + "/data/a.h5") == a_before));
  CHECK_FALSE(Env::posix()->exists(home + "/data/d.h5"));
  CHECK(read_value(*store, "a.h5") == 1);
  CHECK(read_value(*store, "b.h5", {1, 1}) == 1);
  {
    Transaction tx = store->begin(h5tx::read_only_tx());
    CHECK(tx.dataset_spec("a.h5", "/d").shape == Shape{8, 8});
    CHECK(tx.list_datasets("b.h5") == std::vector<std::string>{"/d"});
    CHECK(tx.list_files() == std::vector<std::string>{"a.h5", "b.h5"});
  }
}

TEST_CASE("undo store: savepoints roll back nested changes across files") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  populate(*store, {"a.h5", "b.h5"}, 1);
  std::vector<std::string> hooks;

  Transaction tx = store->begin();
  tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2));
  Savepoint sp1 = tx.savepoint();
  tx.on_abort([&] { hooks.push_back("after sp1"); });
  tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(3));
  tx.write_chunk("b.h5", "/d", {0, 0}, chunk_of(3));  // b first touched after sp1
  tx.create_file("c.h5");
  tx.create_dataset("c.h5", "/d", chunked_spec());
  tx.write_chunk("c.h5", "/d", {0, 0}, chunk_of(3));
  Savepoint sp2 = tx.savepoint();
  tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(4));
  tx.write_chunk("c.h5", "/d", {0, 0}, chunk_of(4));
  tx.set_attribute("a.h5", "/", "x", AttributeValue::scalar<int32_t>(1));

  tx.rollback_to(sp2);
  CHECK(value_of(tx.read_chunk("a.h5", "/d", {0, 0})) == 3);
  CHECK(value_of(tx.read_chunk("c.h5", "/d", {0, 0})) == 3);
  CHECK(value_of(tx.read_chunk("b.h5", "/d", {0, 0})) == 3);
  CHECK(hooks.empty());
  // sp2 stays valid: roll back to it again.
  tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(5));
  tx.rollback_to(sp2);
  CHECK(value_of(tx.read_chunk("a.h5", "/d", {0, 0})) == 3);

  tx.rollback_to(sp1);
  CHECK(hooks == std::vector<std::string>{"after sp1"});
  CHECK(value_of(tx.read_chunk("a.h5", "/d", {0, 0})) == 2);
  CHECK(value_of(tx.read_chunk("b.h5", "/d", {0, 0})) == 1);
  CHECK_FALSE(Env::posix()->exists(home + "/data/c.h5"));
  CHECK_THROWS_AS(tx.rollback_to(sp2), StateError);  // rolled back past it

  // Release merges a savepoint's changes into the enclosing level.
  tx.write_chunk("b.h5", "/d", {1, 1}, chunk_of(6));
  Savepoint sp3 = tx.savepoint();
  tx.write_chunk("b.h5", "/d", {1, 1}, chunk_of(7));
  tx.release(sp3);
  CHECK_THROWS_AS(tx.rollback_to(sp3), StateError);
  tx.rollback_to(sp1);  // undoes the released savepoint's change too
  CHECK(value_of(tx.read_chunk("b.h5", "/d", {1, 1})) == 1);
  tx.write_chunk("b.h5", "/d", {1, 1}, chunk_of(8));
  Savepoint sp4 = tx.savepoint();
  tx.write_chunk("a.h5", "/d", {1, 1}, chunk_of(8));
  (void)sp4;
  tx.commit();  // with savepoints still open
  CHECK(read_value(*store, "a.h5") == 2);
  CHECK(read_value(*store, "a.h5", {1, 1}) == 8);
  CHECK(read_value(*store, "b.h5") == 1);
  CHECK(read_value(*store, "b.h5", {1, 1}) == 8);
  CHECK(Env::posix()->list_dir(home + "/data") == std::vector<std::string>{"a.h5", "b.h5"});

  // Reopened, the committed state is what recovery keeps.
  store->close();
  store = Store::open(home, undo_options());
  CHECK(read_value(*store, "a.h5") == 2);
  CHECK(read_value(*store, "b.h5", {1, 1}) == 8);
}

TEST_CASE("undo store: raw HDF5 calls through hid() are transactional (the sec2j scenario)") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  {
    Transaction tx = store->begin();
    tx.create_file("bbic.h5");
    tx.commit();
  }
  const std::string before = slurp(home + "/data/bbic.h5");
  auto add_group = [](hid_t f) {
    hdf5::Handle g = hdf5::ensure_group(f, "/bbic/volume/0");
    hdf5::Handle space(H5Screate(H5S_SCALAR), "H5Screate");
    hdf5::Handle attr(H5Acreate2(g, "width", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
    int32_t width = 640;
    REQUIRE(H5Awrite(attr, H5T_NATIVE_INT32, &width) >= 0);
    REQUIRE(H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0);
  };
  {
    Transaction tx = store->begin();
    add_group(hid_t(tx.hid("bbic.h5")));
    CHECK(hdf5::link_exists(hid_t(tx.hid("bbic.h5")), "/bbic/volume/0"));
    tx.abort();
  }
  CHECK(slurp(home + "/data/bbic.h5").size() == before.size());
  CHECK((slurp(home + "/data/bbic.h5") == before));
  {
    Transaction tx = store->begin(h5tx::read_only_tx());
    CHECK_FALSE(hdf5::link_exists(hid_t(tx.hid("bbic.h5")), "/bbic"));
  }
  {
    Transaction tx = store->begin();
    add_group(hid_t(tx.hid("bbic.h5")));
    tx.commit();
  }
  store->close();
  std::string out = python(
      "import h5py\n"
      "f = h5py.File(\"" +
      home +
      "/data/bbic.h5\", \"r\")\n"
      "print(int(f[\"bbic/volume/0\"].attrs[\"width\"]))\n");
  CHECK(out == "640\n");
}

TEST_CASE("undo store: read transactions cannot write, a read-only store cannot begin a writer") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  {
    auto store = Store::create(home, undo_options());
    populate(*store, {"a.h5"}, 1);
    Transaction tx = store->begin(h5tx::read_only_tx());
    CHECK(tx.txid() == 0);
    CHECK_THROWS_AS(tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2)), StateError);
    CHECK_THROWS_AS(tx.create_file("b.h5"), StateError);
    CHECK_THROWS_AS(tx.create_dataset("a.h5", "/e", chunked_spec()), StateError);
    CHECK_THROWS_AS(tx.set_attribute("a.h5", "/", "x", AttributeValue::scalar(1.0)), StateError);
    CHECK_THROWS_AS(tx.extend_dataset("a.h5", "/d", {9, 8}), StateError);
    CHECK_THROWS_AS(tx.read_chunk("zz.h5", "/d", {0, 0}), NotFoundError);
    CHECK(value_of(tx.read_chunk("a.h5", "/d", {1, 1})) == 1);
    tx.commit();
    Transaction w = store->begin();
    CHECK_THROWS_AS(w.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2).data(), 10), InvalidArgumentError);
    CHECK_THROWS_AS(w.create_file("a.h5"), AlreadyExistsError);
    CHECK_THROWS_AS(w.create_file("../x.h5"), InvalidArgumentError);
    CHECK_THROWS_AS(w.extend_dataset("a.h5", "/d", {4, 8}), InvalidArgumentError);  // shrink
    DatasetSpec other = chunked_spec();
    other.shape = {16, 8};
    CHECK_THROWS_AS(w.create_dataset("a.h5", "/d", other), AlreadyExistsError);
    // The same spec: AlreadyExistsError too, as in redo mode (one contract,
    // tests/store_contract_test.cpp).
    CHECK_THROWS_AS(w.create_dataset("a.h5", "/d", chunked_spec()), AlreadyExistsError);
    w.abort();
  }
  Options ro = undo_options();
  ro.read_only = true;
  auto store = Store::open(home, ro);
  CHECK_THROWS_AS(store->begin(), StateError);
  CHECK(read_value(*store, "a.h5") == 1);
}

TEST_CASE("undo store: one writer or many readers, in-process") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  populate(*store, {"a.h5", "b.h5"}, 1);

  SECTION("a writer excludes writers and readers until it ends") {
    Transaction w = store->begin();
    w.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2));
    std::atomic<int> busy{0};
    std::thread t([&] {
      try {
        store->begin({false, std::chrono::milliseconds(50)});
      } catch (const BusyError&) {
        busy++;
      }
      try {
        store->begin({true, std::chrono::seconds(0)});
      } catch (const BusyError&) {
        busy++;
      }
    });
    t.join();
    CHECK(busy == 2);
    // A writer waiting (without limit) gets the slot when the first commits.
    std::atomic<long> seen{-2};
    std::thread waiter([&] {
      Transaction w2 = store->begin({false, std::chrono::milliseconds(-1)});
      seen = value_of(w2.read_chunk("a.h5", "/d", {0, 0}));
      w2.write_chunk("a.h5", "/d", {0, 0}, chunk_of(3));
      w2.commit();
    });
    w.commit();
    waiter.join();
    CHECK(seen == 2);
    CHECK(read_value(*store, "a.h5") == 3);
  }

  SECTION("readers run together; a writer waits for all of them") {
    Transaction r1 = store->begin(h5tx::read_only_tx());
    CHECK(value_of(r1.read_chunk("a.h5", "/d", {0, 0})) == 1);
    std::atomic<int> ok{0};
    std::vector<std::thread> readers;
    for (int i = 0; i < 4; i++) {
      readers.emplace_back([&, i] {
        Transaction r = store->begin({true, std::chrono::seconds(5)});
        for (int k = 0; k < 10; k++) {
          const char* f = (i + k) % 2 ? "a.h5" : "b.h5";
          if (value_of(r.read_chunk(f, "/d", {1, 1})) == 1 &&
              r.list_datasets(f) == std::vector<std::string>{"/d"}) {
            ok++;
          }
        }
        r.commit();
      });
    }
    for (auto& t : readers) t.join();
    CHECK(ok == 40);
    CHECK_THROWS_AS(store->begin({false, std::chrono::milliseconds(10)}), BusyError);
    r1.commit();
    Transaction w = store->begin({false, std::chrono::milliseconds(0)});
    w.abort();
  }

  SECTION("close with an active transaction") {
    Transaction r = store->begin(h5tx::read_only_tx());
    CHECK_THROWS_AS(store->close(), StateError);
    CHECK_THROWS_AS(store->begin(h5tx::read_only_tx()), StateError);
    CHECK(value_of(r.read_chunk("a.h5", "/d", {0, 0})) == 1);
    r.commit();  // the last transaction releases the store lock
    auto again = Store::open(home, undo_options());
    CHECK(read_value(*again, "b.h5") == 1);
  }
}

TEST_CASE("undo store: across processes the store LOCK admits one writer process") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  auto store = Store::create(home, undo_options());
  populate(*store, {"a.h5"}, 1);
  Transaction w = store->begin();
  w.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2));

  auto in_child = [&](bool read_only) {
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 1;
      try {
        Options o = undo_options();
        o.read_only = read_only;
        auto s = Store::open(home, o);
        Transaction t = s->begin(h5tx::read_only_tx());
        code = 10 + int(value_of(t.read_chunk("a.h5", "/d", {0, 0})));
        t.commit();
      } catch (const BusyError& e) {
        code = std::string(e.what()).find(std::to_string(getppid())) != std::string::npos ? 3 : 4;
      } catch (const std::exception&) {
        code = 5;
      }
      _exit(code);
    }
    return child_status(pid);
  };
  // A second writer process, and a reader process, are refused while this
  // process holds the store (the error names our pid).
  CHECK(in_child(false) == 3);
  CHECK(in_child(true) == 3);
  w.commit();
  store->close();
  // Once released, other processes open it and see the committed state.
  CHECK(in_child(true) == 12);
  CHECK(in_child(false) == 12);
}

TEST_CASE("undo store: a crashed writer process is reverted, read-only opens see the old state") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  {
    auto store = Store::create(home, undo_options());
    populate(*store, {"a.h5", "b.h5"}, 1);
  }
  const std::string a_before = slurp(home + "/data/a.h5");
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      auto store = Store::open(home, undo_options());
      Transaction tx = store->begin();
      tx.create_file("new.h5");
      tx.create_dataset("new.h5", "/d", chunked_spec());
      for (uint64_t r = 0; r < 2; r++) {
        tx.write_chunk("a.h5", "/d", {r, r}, chunk_of(5));
        tx.write_chunk("b.h5", "/d", {r, 1 - r}, chunk_of(5));
      }
      tx.extend_dataset("a.h5", "/d", {400, 8});
      for (uint64_t r = 2; r < 100; r++) tx.write_chunk("a.h5", "/d", {r, 0}, chunk_of(5));
      // Push everything HDF5 holds to the driver, which writes it through
      // (journal synced first) once its buffer overflows or at flush.
      H5Fflush(hid_t(tx.hid("a.h5")), H5F_SCOPE_GLOBAL);
      H5Fflush(hid_t(tx.hid("new.h5")), H5F_SCOPE_GLOBAL);
      _exit(0);  // dies inside the transaction
    } catch (...) {
      _exit(2);
    }
  }
  REQUIRE(child_status(pid) == 0);
  CHECK(Env::posix()->exists(home + "/data/new.h5"));
  {
    Options ro = undo_options();
    ro.read_only = true;
    auto store = Store::open(home, ro);
    Transaction tx = store->begin(h5tx::read_only_tx());
    CHECK(tx.list_files() == std::vector<std::string>{"a.h5", "b.h5"});
    CHECK(value_of(tx.read_chunk("a.h5", "/d", {0, 0})) == 1);
    CHECK(tx.read_chunk("b.h5", "/d", {0, 1}) == hdf5::fill_chunk(chunked_spec()));
    CHECK(tx.dataset_spec("a.h5", "/d").shape == Shape{8, 8});
    CHECK_THROWS_AS(tx.read_chunk("new.h5", "/d", {0, 0}), NotFoundError);
    tx.commit();
    // Read-only changed nothing.
    CHECK(Env::posix()->exists(home + "/data/new.h5"));
  }
  auto store = Store::open(home, undo_options());
  CHECK_FALSE(Env::posix()->exists(home + "/data/new.h5"));
  CHECK(Env::posix()->list_dir(home + "/journal").empty());
  // Recovery restores the bytes the file had when the transaction began:
  // HDF5 had already set the superblock's "open for writing" flag (bytes
  // 20..23 of a version 0 superblock) when it opened the file read-write.
  std::string a_after = slurp(home + "/data/a.h5");
  REQUIRE(a_after.size() == a_before.size());
  std::vector<size_t> differ;
  for (size_t i = 0; i < a_after.size(); i++) {
    if (a_after[i] != a_before[i]) differ.push_back(i);
  }
  CHECK((differ.empty() || differ == std::vector<size_t>{20}));
  CHECK(read_value(*store, "a.h5") == 1);
  CHECK(read_value(*store, "b.h5", {1, 1}) == 1);
}

namespace {

const std::vector<std::string> kCrashFiles = {"a.h5", "b.h5", "c.h5"};

// The transaction the crash test interrupts: every kind of change, over
// three existing files and one it creates.
void crash_act(FaultEnv& env, bool* returned) {
  auto store = Store::open("/store", undo_options(&env));
  Transaction tx = store->begin();
  for (const std::string& f : kCrashFiles) {
    tx.write_chunk(f, "/d", {0, 0}, chunk_of(2));
    tx.write_chunk(f, "/d", {1, 1}, chunk_of(2));
  }
  tx.extend_dataset("b.h5", "/d", {16, 8});
  tx.write_chunk("b.h5", "/d", {3, 0}, chunk_of(2));
  tx.set_attribute("c.h5", "/", "gen", AttributeValue::scalar<int32_t>(2));
  tx.create_file("d.h5");
  tx.create_dataset("d.h5", "/d", chunked_spec());
  tx.write_chunk("d.h5", "/d", {0, 0}, chunk_of(2));
  tx.commit();
  *returned = true;
  store->close();
}

enum CrashVerdict { kNew = 20, kNewNotReturned = 21, kOld = 31, kLostCommit = 30, kMixed = 40 };

// After recovery at `home`: is the state entirely old or entirely new?
int crash_verdict(FaultEnv& env, const std::string& home, bool returned) {
  auto store = Store::open(home, undo_options(&env));
  Transaction tx = store->begin(h5tx::read_only_tx());
  int olds = 0, news = 0;
  auto count = [&](bool is_old, bool is_new) {
    olds += is_old;
    news += is_new;
  };
  for (const std::string& f : kCrashFiles) {
    for (Shape c : {Shape{0, 0}, Shape{1, 1}}) {
      long v = value_of(tx.read_chunk(f, "/d", c));
      count(v == 1, v == 2);
    }
  }
  Shape b_shape = tx.dataset_spec("b.h5", "/d").shape;
  count(b_shape == Shape{8, 8}, b_shape == Shape{16, 8});
  bool has_gen = H5Aexists(hid_t(tx.hid("c.h5")), "gen") > 0;
  count(!has_gen, has_gen);
  std::vector<std::string> files = tx.list_files();
  bool has_d = std::find(files.begin(), files.end(), "d.h5") != files.end();
  count(!has_d, has_d && value_of(tx.read_chunk("d.h5", "/d", {0, 0})) == 2);
  // Guarantee 3: every file in data/ opens and lists its datasets.
  for (const std::string& f : files) {
    if (tx.list_datasets(f) != std::vector<std::string>{"/d"}) return kMixed;
  }
  const int total = 3 * 2 + 3;
  if (news == total) return returned ? kNew : kNewNotReturned;
  if (olds == total) return returned ? kLostCommit : kOld;
  return kMixed;
}

}  // namespace

TEST_CASE("undo store: a multi-file transaction is all-or-nothing at every crash point") {
  FaultEnv env;
  {
    auto store = Store::create("/store", undo_options(&env));
    populate(*store, kCrashFiles, 1);
  }
  // A dry run on a copy finds the transaction's operations: each is a crash point.
  uint64_t first, last;
  {
    auto dry = env.clone();
    first = dry->op_count();
    bool returned = false;
    crash_act(*dry, &returned);
    REQUIRE(returned);
    last = dry->op_count();
  }
  REQUIRE(last > first);
  const uint64_t points = last - first;
  const uint64_t stride = points > 120 ? points / 120 + 1 : 1;
  std::map<int, int> verdicts;
  std::vector<std::string> bad;
  for (uint64_t k = first + 1; k <= last + 1; k += stride) {
    for (int mode = 0; mode < 3; mode++) {
      // The transaction runs in a crash child until the machine dies there
      // (tests/crash_child.hpp); this process cuts the power and recovers.
      int code = 50;
      try {
        bool returned = false;
        h5tx_test::CrashChild c = h5tx_test::run_crash_child(
            env,
            [&](FaultEnv& e) {
              e.crash_after(k);
              crash_act(e, &returned);
            },
            [&] { return std::string(returned ? "returned" : ""); });
        if (c.error) throw std::runtime_error("the transaction failed: " + *c.error);
        returned = !c.payload.empty();
        std::unique_ptr<FaultEnv> crashed = std::move(c.env);
        testing::CrashOptions co;
        co.keep_random_unsynced = mode >= 1;
        co.tear_sectors = mode >= 1;
        co.seed = k;
        crashed->crash(co);
        if (mode == 2) {
          // Guarantee 4: recovery itself crashes; the next one repairs it.
          h5tx_test::CrashChild r = h5tx_test::run_crash_child(*crashed, [&](FaultEnv& e) {
            e.crash_after(e.op_count() + 1 + k % 13);
            Store::open("/store", undo_options(&e));
          });
          if (r.error) throw std::runtime_error("recovery failed: " + *r.error);
          crashed = std::move(r.env);
          crashed->crash(co);
        }
        code = crash_verdict(*crashed, "/store", returned);
      } catch (const std::exception& e) {
        UNSCOPED_INFO("crash after op " << k << " (mode " << mode << "): " << e.what());
      }
      verdicts[code]++;
      if (code != kNew && code != kNewNotReturned && code != kOld) {
        bad.push_back("crash after op " + std::to_string(k) + " (mode " + std::to_string(mode) +
                      "): verdict " + std::to_string(code));
      }
    }
  }
  INFO("points " << points << ", stride " << stride);
  std::string report;
  for (const std::string& b : bad) report += b + "\n";
  INFO(report);
  CHECK(bad.empty());
  // Both outcomes happen: early crashes revert, late ones keep.
  CHECK(verdicts[kOld] > 0);
  CHECK(verdicts[kNew] > 0);
}

TEST_CASE("undo store: bad input in journal/ is refused by name and changes nothing") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  {
    auto store = Store::create(home, undo_options());
    populate(*store, {"a.h5"}, 1);
  }
  Env* env = Env::posix();
  const std::string a_before = slurp(home + "/data/a.h5");
  const std::string undo = home + "/journal/undo_00000000000000ff";
  struct Case {
    std::string name, bad_path, contents;
  };
  std::vector<Case> cases = {
      {"stray file", home + "/journal/notes.txt", "hello"},
      {"garbage journal", undo + "/a.h5.journal", "this is not an undo journal, just text"},
      {"bad CREATED list", undo + "/CREATED", "a.h5\nno/slash.h5\n"},
      {"stray file in an undo directory", undo + "/core", "x"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    if (path_dirname(c.bad_path) == undo) env->create_dir(undo);
    {
      auto f = env->open(c.bad_path, OpenMode::CreateTrunc);
      f->write(0, c.contents.data(), c.contents.size());
    }
    try {
      Store::open(home, undo_options());
      FAIL("opened");
    } catch (const CorruptionError& e) {
      CHECK(e.path() == c.bad_path);
    }
    // Read-only opens refuse it too.
    Options ro = undo_options();
    ro.read_only = true;
    CHECK_THROWS_AS(Store::open(home, ro), CorruptionError);
    CHECK(slurp(c.bad_path) == c.contents);
    CHECK((slurp(home + "/data/a.h5") == a_before));
    env->remove_file(c.bad_path);
    if (env->exists(undo)) env->remove_flat_dir(undo);
  }
  auto store = Store::open(home, undo_options());
  CHECK(read_value(*store, "a.h5") == 1);
}

TEST_CASE("undo store: typed hyperslab writes land in the HDF5 file as h5py sees them") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  {
    auto store = Store::create(home, undo_options());
    Transaction tx = store->begin();
    tx.create_file("v.h5");
    DatasetSpec s = chunked_spec();
    s.shape = {10, 8};
    tx.create_dataset("v.h5", "/img", s);
    std::vector<uint32_t> box(5 * 6);
    for (uint32_t i = 0; i < box.size(); i++) box[i] = 100 + i;
    tx.write<uint32_t>("v.h5", "/img", {3, 1}, {5, 6}, box.data());
    std::vector<uint32_t> back(5 * 6);
    tx.read<uint32_t>("v.h5", "/img", {3, 1}, {5, 6}, back.data());
    CHECK(back == box);
    tx.commit();
  }
  std::string out = python(
      "import h5py\n"
      "d = h5py.File(\"" +
      home +
      "/data/v.h5\", \"r\")[\"img\"]\n"
      "print(int(d[3, 1]), int(d[7, 6]), int(d[2, 1]), int(d[9, 7]))\n");
  CHECK(out == "100 129 7 7\n");
}

// Issue 11 item 13 in a store: a journal in journal/undo_<txid>/ under
// another data file's name (x's journal named y.h5.journal) is refused
// before recovery changes anything, naming both files.
TEST_CASE("undo store: recovery refuses an undo journal of another data file and changes nothing") {
  h5tx_test::TempDir dir("undo");
  const std::string home = dir / "store";
  {
    auto store = Store::create(home, undo_options());
    populate(*store, {"a.h5", "b.h5"}, 1);
  }
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      auto store = Store::open(home, undo_options());
      Transaction tx = store->begin();
      tx.extend_dataset("a.h5", "/d", {400, 8});
      for (uint64_t r = 0; r < 100; r++) tx.write_chunk("a.h5", "/d", {r, 0}, chunk_of(5));
      tx.savepoint();  // a nested level: the writes so far go through, journal synced first
      _exit(0);        // dies inside the transaction
    } catch (...) {
      _exit(2);
    }
  }
  REQUIRE(child_status(pid) == 0);
  Env* env = Env::posix();
  std::string udir;
  for (const std::string& n : env->list_dir(home + "/journal"))
    if (n.compare(0, 5, "undo_") == 0 && env->exists(home + "/journal/" + n + "/a.h5.journal"))
      udir = home + "/journal/" + n;
  REQUIRE(!udir.empty());
  env->rename(udir + "/a.h5.journal", udir + "/b.h5.journal");
  const std::string a_torn = slurp(home + "/data/a.h5"), b_before = slurp(home + "/data/b.h5");
  try {
    Store::open(home, undo_options());
    FAIL("recovery used a.h5's journal for b.h5");
  } catch (const CorruptionError& e) {
    CHECK(e.path() == udir + "/b.h5.journal");
    CHECK(std::string(e.what()).find("belongs to data file 'a.h5'") != std::string::npos);
    CHECK(std::string(e.what()).find(home + "/data/b.h5") != std::string::npos);
  }
  CHECK(slurp(home + "/data/a.h5") == a_torn);
  CHECK(slurp(home + "/data/b.h5") == b_before);
  CHECK(env->exists(udir + "/b.h5.journal"));
  // Put right, the store recovers: a.h5 as it was.
  env->rename(udir + "/b.h5.journal", udir + "/a.h5.journal");
  auto store = Store::open(home, undo_options());
  CHECK(read_value(*store, "a.h5") == 1);
  CHECK(read_value(*store, "b.h5") == 1);
}
