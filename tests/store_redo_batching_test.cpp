// Redo mode: the background flusher waits for a worthwhile batch (a full
// batch, the oldest transaction's delay, flush(), close() or backpressure),
// and the cache of the data files' catalog follows what batches change.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace redo_test;

namespace {

constexpr uint64_t kHour = 3600 * 1000;  // a delay no test waits for

void commit_chunk(Store& store, uint64_t row, uint32_t seed) {
  auto tx = store.begin();
  tx.write_chunk("a.h5", "/grid", {row, 0}, chunk_bytes(seed, row, 0));
  tx.commit();
}

// Polls until the flusher has applied `n` transactions on its own (no flush()).
void wait_flushed(Store& store, uint64_t n) {
  for (int i = 0; i < 6000 && store.stats().flushed_transactions < n; i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(store.stats().flushed_transactions >= n);
}

}  // namespace

TEST_CASE("redo batching: quick commits wait for the delay, flush() does not", "[redo]") {
  h5tx_test::TempDir dir("redo");
  Options opt;
  opt.flush_delay = std::chrono::milliseconds(kHour);
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5");
  for (uint64_t i = 0; i < 9; i++) commit_chunk(*store, i, 1);
  // 10 transactions, less than a batch, not near backpressure, delay not over.
  CHECK(store->stats().pending_transactions == 10);
  CHECK(store->stats().flush_batches == 0);
  store->flush();
  StoreStats st = store->stats();
  CHECK(st.pending_transactions == 0);
  CHECK(st.flushed_transactions == 10);
  CHECK(st.flush_batches == 1);
  auto r = store->begin();
  for (uint64_t i = 0; i < 9; i++) CHECK(r.read_chunk("a.h5", "/grid", {i, 0}) == chunk_bytes(1, i, 0));
}

TEST_CASE("redo batching: a full batch starts at once, close() does not wait", "[redo]") {
  h5tx_test::TempDir dir("redo");
  std::string home = dir / "s";
  Options opt;
  opt.flush_delay = std::chrono::milliseconds(kHour);
  opt.flush_batch_transactions = 4;
  {
    auto store = Store::create(home, opt);
    make_file(*store, "a.h5");
    for (uint64_t i = 0; i < 8; i++) commit_chunk(*store, i, 2);
    wait_flushed(*store, 8);  // two full batches, without flush()
    StoreStats st = store->stats();
    CHECK(st.flushed_transactions == 8);
    CHECK(st.flush_batches == 2);
    CHECK(st.pending_transactions == 1);  // waits for a full batch or the delay
    store->close();                       // applies it without waiting for the delay
    CHECK(store->stats().flush_batches == 3);
  }
  opt.background_flusher = false;
  auto store = Store::open(home, opt);
  CHECK(store->stats().pending_transactions == 0);
  auto r = store->begin();
  for (uint64_t i = 0; i < 8; i++) CHECK(r.read_chunk("a.h5", "/grid", {i, 0}) == chunk_bytes(2, i, 0));
}

TEST_CASE("redo batching: backpressure starts batches without waiting for the delay", "[redo]") {
  h5tx_test::TempDir dir("redo");
  Options opt;
  opt.flush_delay = std::chrono::milliseconds(kHour);
  opt.max_unflushed_transactions = 4;
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5");
  for (uint64_t i = 0; i < 20; i++) commit_chunk(*store, i % 16, 3 + uint32_t(i));
  // Never more than the limit plus the one being committed is pending.
  CHECK(store->stats().pending_transactions <= 5);
  CHECK(store->stats().flush_batches >= 1);
  store->flush();
  CHECK(store->stats().flushed_transactions == 21);
  auto r = store->begin();
  for (uint64_t i = 4; i < 20; i++)
    CHECK(r.read_chunk("a.h5", "/grid", {i % 16, 0}) == chunk_bytes(3 + uint32_t(i), i % 16, 0));
}

TEST_CASE("redo batching: the catalog cache follows creates and extends", "[redo]") {
  h5tx_test::TempDir dir("redo");
  Options opt;
  opt.flush_delay = std::chrono::milliseconds(kHour);
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5", 16);
  store->flush();
  {
    // Caches: a.h5 exists with /grid of 16 chunk rows; b.h5 does not exist.
    auto tx = store->begin();
    CHECK(tx.dataset_spec("a.h5", "/grid").shape == Shape{128, 32});
    CHECK_THROWS_AS(tx.write_chunk("b.h5", "/grid", {0, 0}, chunk_bytes(0, 0, 0)), NotFoundError);
    CHECK_THROWS_AS(tx.write_chunk("a.h5", "/grid", {20, 0}, chunk_bytes(0, 20, 0)), InvalidArgumentError);
    CHECK_THROWS_AS(tx.dataset_spec("a.h5", "/other"), NotFoundError);
    tx.abort();
  }
  {
    auto tx = store->begin();
    tx.extend_dataset("a.h5", "/grid", {256, 32});
    tx.create_dataset("a.h5", "/other", grid_spec(2));
    tx.commit();
  }
  make_file(*store, "b.h5", 4);
  // Seen through the overlay before the flush, through the files after it.
  for (int pass = 0; pass < 2; pass++) {
    auto tx = store->begin();
    CHECK(tx.dataset_spec("a.h5", "/grid").shape == Shape{256, 32});
    CHECK(tx.dataset_spec("a.h5", "/other").shape == Shape{16, 32});
    CHECK(tx.dataset_spec("b.h5", "/grid").shape == Shape{32, 32});
    tx.write_chunk("a.h5", "/grid", {20, 0}, chunk_bytes(5, 20, 0));
    tx.write_chunk("b.h5", "/grid", {3, 0}, chunk_bytes(5, 3, 0));
    tx.commit();
    if (pass == 0) store->flush();
  }
  store->flush();
  CHECK(store->stats().pending_transactions == 0);
  auto r = store->begin();
  CHECK(r.dataset_spec("a.h5", "/grid").shape == Shape{256, 32});
  CHECK(r.read_chunk("a.h5", "/grid", {20, 0}) == chunk_bytes(5, 20, 0));
  CHECK(r.read_chunk("b.h5", "/grid", {3, 0}) == chunk_bytes(5, 3, 0));
}
