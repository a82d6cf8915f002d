// Redo mode basics: commit, read back before and after flush and reopen,
// the data files are ordinary HDF5 (h5py reads the committed bytes), abort,
// savepoints, metadata, validation at write time.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace redo_test;

TEST_CASE("redo: commit then read back before and after flush and reopen", "[redo]") {
  h5tx_test::TempDir dir("redo");
  std::string home = dir / "store";
  {
    auto store = Store::create(home);
    CHECK(store->mode() == Mode::Redo);
    make_file(*store, "a.h5", 16, true);
    auto tx = store->begin();
    for (uint64_t r = 0; r < 4; r++) tx.write_chunk("a.h5", "/grid", {r, 1}, chunk_bytes(1, r, 1));
    tx.set_message("first");
    tx.set_metadata("run", "1");
    // Own writes are visible before commit.
    CHECK(tx.read_chunk("a.h5", "/grid", {2, 1}) == chunk_bytes(1, 2, 1));
    tx.commit();
    CHECK(tx.txid() > 0);
    auto r = store->begin(h5tx::read_only_tx());
    CHECK(r.read_chunk("a.h5", "/grid", {3, 1}) == chunk_bytes(1, 3, 1));
    CHECK(r.read_chunk("a.h5", "/grid", {3, 2}) == std::vector<uint8_t>(256, 0));
    r.abort();
    auto pend = store->pending();
    if (!pend.empty()) {
      CHECK(pend.back().message == "first");
      CHECK(pend.back().metadata.at("run") == "1");
    }
    store->flush();
    CHECK(store->pending().empty());
    StoreStats st = store->stats();
    CHECK(st.pending_transactions == 0);
    CHECK(st.flushed_transactions == 2);
    auto r2 = store->begin();
    CHECK(r2.read_chunk("a.h5", "/grid", {0, 1}) == chunk_bytes(1, 0, 1));
    CHECK(r2.list_files() == std::vector<std::string>{"a.h5"});
    CHECK(r2.list_datasets("a.h5") == std::vector<std::string>{"/grid"});
  }
  auto store = Store::open(home);
  auto r = store->begin();
  for (uint64_t i = 0; i < 4; i++) CHECK(r.read_chunk("a.h5", "/grid", {i, 1}) == chunk_bytes(1, i, 1));
  DatasetSpec s = r.dataset_spec("a.h5", "/grid");
  CHECK(s.shape == Shape{128, 32});
  CHECK(s.compression == Compression::ShuffleDeflate);
}

TEST_CASE("redo: h5py reads exactly the committed bytes of a flushed file", "[redo]") {
  h5tx_test::TempDir dir("redo");
  std::string home = dir / "store";
  auto store = Store::create(home);
  make_file(*store, "v.h5", 4, true);
  {
    auto tx = store->begin();
    for (uint64_t r = 0; r < 4; r++)
      for (uint64_t c = 0; c < 4; c++) tx.write_chunk("v.h5", "/grid", {r, c}, chunk_bytes(5, r, c));
    tx.set_attribute("v.h5", "/grid", "gain", AttributeValue::scalar<double>(2.5));
    tx.commit();
  }
  store->close();
  // The expected array, row-major 32x32 u32.
  std::vector<uint32_t> expect(32 * 32);
  for (uint64_t r = 0; r < 4; r++)
    for (uint64_t c = 0; c < 4; c++) {
      auto b = chunk_bytes(5, r, c);
      const uint32_t* v = reinterpret_cast<const uint32_t*>(b.data());
      for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) expect[(r * 8 + i) * 32 + c * 8 + j] = v[i * 8 + j];
    }
  std::string expect_path = dir / "expect.bin";
  std::ofstream(expect_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(expect.data()), expect.size() * 4);
  std::string script = dir / "check.py";
  std::ofstream(script) << "import h5py, numpy, sys\n"
                           "f = h5py.File(sys.argv[1], 'r')\n"
                           "a = f['/grid'][...]\n"
                           "e = numpy.fromfile(sys.argv[2], dtype='<u4').reshape(32, 32)\n"
                           "assert a.dtype == numpy.uint32, a.dtype\n"
                           "assert a.shape == (32, 32), a.shape\n"
                           "assert (a == e).all()\n"
                           "assert f['/grid'].attrs['gain'] == 2.5\n";
  std::string cmd = "/usr/bin/python3 " + script + " " + home + "/data/v.h5 " + expect_path;
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("redo: abort and destructor abort run on_abort hooks", "[redo]") {
  h5tx_test::TempDir dir("redo");
  auto store = Store::create(dir / "s");
  make_file(*store, "a.h5");
  std::vector<int> order;
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
    tx.on_abort([&] { order.push_back(1); });
    tx.on_abort([&] { order.push_back(2); });
    tx.abort();
    CHECK_FALSE(tx.active());
  }
  CHECK(order == std::vector<int>{2, 1});
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
    tx.on_abort([&] { order.push_back(3); });
  }  // destructor aborts
  CHECK(order == std::vector<int>{2, 1, 3});
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == std::vector<uint8_t>(256, 0));
  CHECK_THROWS_AS(r.hid("a.h5"), StateError);
}

TEST_CASE("redo: savepoints roll back chunks and catalog and metadata", "[redo]") {
  h5tx_test::TempDir dir("redo");
  auto store = Store::create(dir / "s");
  make_file(*store, "a.h5");
  auto tx = store->begin();
  tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
  tx.set_message("before");
  Savepoint sp = tx.savepoint();
  int hook_runs = 0;
  tx.on_abort([&] { hook_runs++; });
  tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(2, 0, 0));
  tx.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(2, 1, 0));
  tx.create_dataset("a.h5", "/other", grid_spec(2));
  tx.set_message("after");
  CHECK(tx.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(2, 0, 0));
  tx.rollback_to(sp);
  CHECK(hook_runs == 1);
  CHECK(tx.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(1, 0, 0));
  CHECK(tx.read_chunk("a.h5", "/grid", {1, 0}) == std::vector<uint8_t>(256, 0));
  CHECK(tx.list_datasets("a.h5") == std::vector<std::string>{"/grid"});
  // The savepoint stays valid; release forgets it.
  tx.write_chunk("a.h5", "/grid", {2, 0}, chunk_bytes(3, 2, 0));
  tx.rollback_to(sp);
  CHECK(tx.read_chunk("a.h5", "/grid", {2, 0}) == std::vector<uint8_t>(256, 0));
  tx.release(sp);
  CHECK_THROWS_AS(tx.rollback_to(sp), StateError);
  tx.commit();
  auto pend = store->pending();
  store->flush();
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(1, 0, 0));
  CHECK(r.list_datasets("a.h5") == std::vector<std::string>{"/grid"});
}

TEST_CASE("redo: inputs are validated at write time", "[redo]") {
  h5tx_test::TempDir dir("redo");
  auto store = Store::create(dir / "s");
  make_file(*store, "a.h5", 2);
  auto tx = store->begin();
  CHECK_THROWS_AS(tx.write_chunk("nope.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0)), NotFoundError);
  CHECK_THROWS_AS(tx.write_chunk("a.h5", "/nope", {0, 0}, chunk_bytes(1, 0, 0)), NotFoundError);
  CHECK_THROWS_AS(tx.write_chunk("a.h5", "/grid", {2, 0}, chunk_bytes(1, 0, 0)), InvalidArgumentError);
  CHECK_THROWS_AS(tx.write_chunk("a.h5", "/grid", {0}, chunk_bytes(1, 0, 0)), InvalidArgumentError);
  CHECK_THROWS_AS(tx.write_chunk("a.h5", "/grid", {0, 0}, std::vector<uint8_t>(10)), InvalidArgumentError);
  CHECK_THROWS_AS(tx.create_file("a.h5"), AlreadyExistsError);
  CHECK_THROWS_AS(tx.create_file("../x"), InvalidArgumentError);
  CHECK_THROWS_AS(tx.create_dataset("a.h5", "/grid", grid_spec()), AlreadyExistsError);
  CHECK_THROWS_AS(tx.extend_dataset("a.h5", "/grid", {16, 64}), InvalidArgumentError);
  CHECK_THROWS_AS(tx.set_attribute("a.h5", "/nope", "x", AttributeValue::scalar<int32_t>(1)), NotFoundError);
  // Extending makes the new chunk rows writable in the same transaction.
  tx.extend_dataset("a.h5", "/grid", {24, 32});
  tx.write_chunk("a.h5", "/grid", {2, 0}, chunk_bytes(1, 2, 0));
  tx.commit();
  store->flush();
  auto r = store->begin();
  CHECK(r.dataset_spec("a.h5", "/grid").shape == Shape{24, 32});
  CHECK(r.read_chunk("a.h5", "/grid", {2, 0}) == chunk_bytes(1, 2, 0));
}

TEST_CASE("redo: unwritten chunks of a dataset not yet flushed read as its fill value", "[redo]") {
  h5tx_test::TempDir dir("redo");
  Options opt;
  opt.background_flusher = false;
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5");
  store->flush();  // a.h5 exists in data/, without /filled
  DatasetSpec s = grid_spec(2);
  s.fill_value = 7;
  {
    auto tx = store->begin();
    tx.create_dataset("a.h5", "/filled", s);
    tx.commit();
  }
  std::vector<uint32_t> sevens(64, 7);
  std::vector<uint8_t> expect(reinterpret_cast<uint8_t*>(sevens.data()),
                              reinterpret_cast<uint8_t*>(sevens.data()) + 256);
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/filled", {1, 1}) == expect);
  r.abort();
  store->flush();
  auto r2 = store->begin();
  CHECK(r2.read_chunk("a.h5", "/filled", {1, 1}) == expect);
  CHECK(r2.dataset_spec("a.h5", "/filled").fill_value == 7);
}
