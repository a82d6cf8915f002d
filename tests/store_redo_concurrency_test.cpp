// Redo mode with many threads: concurrent commits to several files (group
// commit), first-committer-wins conflicts and blind writes, snapshot
// isolation while the flusher runs, backpressure blocking and unblocking,
// and spilling of large transactions.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace redo_test;

namespace {

// Env that forwards to POSIX but holds the operations `gated` selects
// (default: renames to *_flushed) while the gate is closed, so a test can
// stop the flusher or a committer at a chosen point.
class GateEnv : public Env {
 public:
  std::unique_ptr<File> open(const std::string& p, OpenMode m) override { return base_->open(p, m); }
  bool exists(const std::string& p) override { return base_->exists(p); }
  bool is_directory(const std::string& p) override { return base_->is_directory(p); }
  uint64_t file_size(const std::string& p) override { return base_->file_size(p); }
  void remove_file(const std::string& p) override { base_->remove_file(p); }
  void rename(const std::string& from, const std::string& to) override {
    maybe_wait("rename", to);
    base_->rename(from, to);
  }
  void create_dir(const std::string& p) override { base_->create_dir(p); }
  void remove_dir(const std::string& p) override { base_->remove_dir(p); }
  std::vector<std::string> list_dir(const std::string& p) override { return base_->list_dir(p); }
  void sync_dir(const std::string& p) override {
    maybe_wait("sync_dir", p);
    base_->sync_dir(p);
  }
  std::unique_ptr<FileLock> lock_file(const std::string& p, LockKind k,
                                      std::chrono::milliseconds t) override {
    return base_->lock_file(p, k, t);
  }
  uint64_t now_micros() override { return base_->now_micros(); }
  void sleep_micros(uint64_t m) override { base_->sleep_micros(m); }

  std::function<bool(const std::string& op, const std::string& path)> gated = [](const std::string& op,
                                                                                 const std::string& path) {
    return op == "rename" && path.size() > 8 && path.compare(path.size() - 8, 8, "_flushed") == 0;
  };

  void set_open(bool open) {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = open;
    cv_.notify_all();
  }
  void wait_for_flusher() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return waiting_ > 0; });
  }

 private:
  void maybe_wait(const std::string& op, const std::string& path) {
    std::unique_lock<std::mutex> lock(mu_);
    if (open_ || !gated(op, path)) return;
    waiting_++;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }

  Env* base_ = Env::posix();
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

}  // namespace

TEST_CASE("redo: many threads commit to several files, all reads agree", "[redo][threads]") {
  h5tx_test::TempDir dir("redo");
  std::string home = dir / "s";
  const int kThreads = 6, kCommits = 12;
  const std::vector<std::string> files = {"f0.h5", "f1.h5", "f2.h5"};
  Options opt;
  opt.flush_batch_transactions = 5;
  std::map<std::tuple<std::string, uint64_t, uint64_t>, std::vector<uint8_t>> expect;
  {
    auto store = Store::create(home, opt);
    for (const auto& f : files) make_file(*store, f, kThreads * kCommits / 4 + 1);
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kCommits; i++) {
          // Each thread owns distinct chunks, so no conflicts; every commit
          // touches two files.
          uint64_t row = uint64_t(t * kCommits + i) / 4, col = uint64_t(t * kCommits + i) % 4;
          auto tx = store->begin();
          const std::string& fa = files[i % 3];
          const std::string& fb = files[(i + 1) % 3];
          auto a = chunk_bytes(t * 100 + i, row, col);
          auto b = chunk_bytes(t * 100 + i + 50, row, col);
          tx.write_chunk(fa, "/grid", {row, col}, a);
          tx.write_chunk(fb, "/grid", {row, col}, b);
          tx.set_metadata("thread", std::to_string(t));
          tx.commit();
          std::lock_guard<std::mutex> lock(mu);
          expect[{fa, row, col}] = a;
          expect[{fb, row, col}] = b;
        }
      });
    }
    // Readers run alongside the writers and the background flusher: every
    // chunk reads as the fill value or as the one value ever committed to it.
    std::atomic<bool> writers_done{false};
    std::atomic<int> reads{0}, bad_reads{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 2; t++) {
      readers.emplace_back([&, t] {
        while (!writers_done) {
          auto r = store->begin(h5tx::read_only_tx());
          for (int n = 0; n < kThreads * kCommits; n += 5) {
            uint64_t row = uint64_t(n) / 4, col = uint64_t(n) % 4;
            int writer = n / kCommits, i = n % kCommits;
            const std::string& fa = files[i % 3];
            auto got = r.read_chunk(fa, "/grid", {row, col});
            // (Catch2 assertions are not thread-safe: count, check after join.)
            if (got != std::vector<uint8_t>(256, 0) && got != chunk_bytes(writer * 100 + i, row, col))
              bad_reads++;
            reads++;
          }
          (void)t;
        }
      });
    }
    for (auto& th : threads) th.join();
    writers_done = true;
    for (auto& th : readers) th.join();
    CHECK(reads > 0);
    CHECK(bad_reads == 0);
    auto check_all = [&](Store& s) {
      auto r = s.begin(h5tx::read_only_tx());
      for (const auto& kv : expect)
        REQUIRE(r.read_chunk(std::get<0>(kv.first), "/grid",
                             {std::get<1>(kv.first), std::get<2>(kv.first)}) == kv.second);
    };
    check_all(*store);  // before (or during) the flush
    store->flush();
    StoreStats st = store->stats();
    CHECK(st.pending_transactions == 0);
    CHECK(st.committed_transactions == uint64_t(kThreads * kCommits + 3));
    CHECK(st.flush_batches >= 1);
    check_all(*store);
  }
  auto store = Store::open(home);
  auto r = store->begin(h5tx::read_only_tx());
  for (const auto& kv : expect)
    REQUIRE(r.read_chunk(std::get<0>(kv.first), "/grid", {std::get<1>(kv.first), std::get<2>(kv.first)}) ==
            kv.second);
}

TEST_CASE("redo: first committer wins, blind writes last committer wins", "[redo]") {
  h5tx_test::TempDir dir("redo");
  auto store = Store::create(dir / "s");
  make_file(*store, "a.h5");
  auto t1 = store->begin();
  auto t2 = store->begin();
  t1.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
  t2.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(2, 0, 0));
  t2.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(2, 1, 0));
  bool hook = false;
  t2.on_abort([&] { hook = true; });
  t1.commit();
  CHECK_THROWS_AS(t2.commit(), ConflictError);
  CHECK(hook);
  CHECK_FALSE(t2.active());
  {
    auto r = store->begin();
    CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(1, 0, 0));
    CHECK(r.read_chunk("a.h5", "/grid", {1, 0}) == std::vector<uint8_t>(256, 0));  // nothing of t2
  }
  // Disjoint chunks do not conflict.
  auto t3 = store->begin();
  auto t4 = store->begin();
  t3.write_chunk("a.h5", "/grid", {2, 0}, chunk_bytes(3, 2, 0));
  t4.write_chunk("a.h5", "/grid", {3, 0}, chunk_bytes(4, 3, 0));
  t3.commit();
  t4.commit();
  // Blind writes: the last committer wins.
  TxOptions blind;
  blind.check_conflicts = false;
  auto b1 = store->begin(blind);
  auto b2 = store->begin(blind);
  b1.write_chunk("a.h5", "/grid", {5, 0}, chunk_bytes(10, 5, 0));
  b2.write_chunk("a.h5", "/grid", {5, 0}, chunk_bytes(11, 5, 0));
  b2.commit();
  b1.commit();
  // Two creates of one dataset always conflict, blind or not.
  auto c1 = store->begin(blind);
  auto c2 = store->begin(blind);
  c1.create_dataset("a.h5", "/new", grid_spec(2));
  c2.create_dataset("a.h5", "/new", grid_spec(2));
  c1.commit();
  CHECK_THROWS_AS(c2.commit(), ConflictError);
  store->flush();
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {5, 0}) == chunk_bytes(10, 5, 0));
  CHECK(r.read_chunk("a.h5", "/grid", {2, 0}) == chunk_bytes(3, 2, 0));
  CHECK(r.read_chunk("a.h5", "/grid", {3, 0}) == chunk_bytes(4, 3, 0));
  CHECK(r.list_datasets("a.h5") == std::vector<std::string>{"/grid", "/new"});
}

TEST_CASE("redo: snapshot isolation while the flusher runs", "[redo][threads]") {
  h5tx_test::TempDir dir("redo");
  Options opt;
  opt.flush_batch_transactions = 2;
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5", 4);
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(0, 0, 0));
    tx.commit();
  }
  auto old = store->begin(h5tx::read_only_tx());
  CHECK(old.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(0, 0, 0));
  // Writers keep overwriting the chunk and extending the dataset while the
  // old snapshot stays open; the flusher may apply only what it can see.
  std::thread writer([&] {
    for (int i = 1; i <= 20; i++) {
      auto tx = store->begin();
      tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(i, 0, 0));
      if (i == 10) tx.extend_dataset("a.h5", "/grid", {64, 32});
      tx.commit();
    }
  });
  for (int k = 0; k < 50; k++) {
    REQUIRE(old.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(0, 0, 0));
    REQUIRE(old.dataset_spec("a.h5", "/grid").shape == Shape{32, 32});
  }
  writer.join();
  CHECK(old.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(0, 0, 0));
  CHECK(store->stats().pending_transactions >= 20);  // pinned by the open snapshot
  old.abort();
  store->flush();
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(20, 0, 0));
  CHECK(r.dataset_spec("a.h5", "/grid").shape == Shape{64, 32});
}

TEST_CASE("redo: backpressure blocks commit while the flusher is behind", "[redo][threads]") {
  h5tx_test::TempDir dir("redo");
  GateEnv env;
  Options opt;
  opt.env = &env;
  opt.max_unflushed_transactions = 1;
  opt.flush_batch_transactions = 1;
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5");
  store->flush();
  env.set_open(false);
  auto commit_one = [&](int i) {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {uint64_t(i), 0}, chunk_bytes(i, i, 0));
    tx.commit();
  };
  commit_one(0);
  env.wait_for_flusher();  // the flusher holds transaction 0's batch at the gate
  commit_one(1);           // pending: 2 (> 1)
  std::atomic<bool> returned{false};
  std::thread blocked([&] {
    commit_one(2);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK_FALSE(returned.load());
  CHECK(store->stats().pending_transactions == 2);
  CHECK(store->stats().flusher_state == "running");
  env.set_open(true);
  blocked.join();
  CHECK(returned.load());
  store->flush();
  auto r = store->begin();
  for (int i = 0; i < 3; i++) CHECK(r.read_chunk("a.h5", "/grid", {uint64_t(i), 0}) == chunk_bytes(i, i, 0));
}

TEST_CASE("redo: backpressure never blocks without a background flusher", "[redo]") {
  h5tx_test::TempDir dir("redo");
  Options opt;
  opt.background_flusher = false;
  opt.max_unflushed_transactions = 1;
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5");
  for (int i = 0; i < 5; i++) {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {uint64_t(i), 0}, chunk_bytes(i, i, 0));
    tx.commit();
  }
  CHECK(store->stats().pending_transactions == 6);
  CHECK(store->stats().flusher_state == "idle");
  CHECK(store->pending().size() == 6);
  store->flush();
  CHECK(store->stats().pending_transactions == 0);
  CHECK(store->stats().flushed_transactions == 6);
}

TEST_CASE("redo: a large transaction spills its chunks to its _temp directory", "[redo]") {
  h5tx_test::TempDir dir("redo");
  Options opt;
  opt.spill_bytes = 1000;  // about 4 raw chunks
  opt.background_flusher = false;
  std::string home = dir / "s";
  auto store = Store::create(home, opt);
  make_file(*store, "a.h5");
  auto tx = store->begin();
  for (uint64_t r = 0; r < 16; r++) tx.write_chunk("a.h5", "/grid", {r, 3}, chunk_bytes(7, r, 3));
  bool temp_seen = false;
  for (const auto& name : Env::posix()->list_dir(home + "/journal"))
    temp_seen = temp_seen || name.find("_temp") != std::string::npos;
  CHECK(temp_seen);
  tx.write_chunk("a.h5", "/grid", {15, 3}, chunk_bytes(8, 15, 3));  // overwrite a spilled chunk
  CHECK(tx.read_chunk("a.h5", "/grid", {15, 3}) == chunk_bytes(8, 15, 3));
  CHECK(tx.read_chunk("a.h5", "/grid", {12, 3}) == chunk_bytes(7, 12, 3));
  tx.commit();
  std::vector<std::string> names = Env::posix()->list_dir(home + "/journal");
  REQUIRE(names.size() == 2);  // the dataset's transaction and this one, both _done
  for (const auto& n : names) CHECK(n.find("_done") != std::string::npos);
  store->flush();
  auto r = store->begin();
  for (uint64_t i = 0; i < 15; i++) CHECK(r.read_chunk("a.h5", "/grid", {i, 3}) == chunk_bytes(7, i, 3));
  CHECK(r.read_chunk("a.h5", "/grid", {15, 3}) == chunk_bytes(8, 15, 3));
}

TEST_CASE("redo: dataset creates conflict only when their paths collide", "[redo]") {
  h5tx_test::TempDir dir("redo");
  auto store = Store::create(dir / "s");
  make_file(*store, "a.h5");
  auto c1 = store->begin();
  auto c2 = store->begin();
  auto c3 = store->begin();
  c1.create_dataset("a.h5", "/g/x", grid_spec(2));
  c2.create_dataset("a.h5", "/g", grid_spec(2));    // a dataset where c1 makes a group
  c3.create_dataset("a.h5", "/g/y", grid_spec(2));  // a sibling: fine
  c1.commit();
  CHECK_THROWS_AS(c2.commit(), ConflictError);
  c3.commit();
  store->flush();
  auto r = store->begin();
  CHECK(r.list_datasets("a.h5") == std::vector<std::string>{"/g/x", "/g/y", "/grid"});
}

TEST_CASE("redo: close with a transaction still open keeps what it pins", "[redo]") {
  h5tx_test::TempDir dir("redo");
  std::string home = dir / "s";
  {
    auto store = Store::create(home);
    make_file(*store, "a.h5");
    auto reader = store->begin(h5tx::read_only_tx());
    {
      auto tx = store->begin();
      tx.write_chunk("a.h5", "/grid", {1, 1}, chunk_bytes(4, 1, 1));
      tx.commit();
    }
    store->close();  // does not wait for `reader`
    CHECK_THROWS_AS(reader.read_chunk("a.h5", "/grid", {1, 1}), StateError);
  }
  auto store = Store::open(home);
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {1, 1}) == chunk_bytes(4, 1, 1));
}

TEST_CASE("redo: a conflict found at rename time leaves nothing visible", "[redo][threads]") {
  // t1 is held after writing its files; t2 passes the early conflict check,
  // writes its files and waits for t1's turn; t1 commits; t2 must fail.
  h5tx_test::TempDir dir("redo");
  GateEnv env;
  Options opt;
  opt.env = &env;
  opt.background_flusher = false;
  auto store = Store::create(dir / "s", opt);
  make_file(*store, "a.h5");
  env.gated = [](const std::string& op, const std::string& path) {
    return op == "sync_dir" && path.find("_temp") != std::string::npos;
  };
  auto t1 = store->begin();
  auto t2 = store->begin();
  t1.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
  t2.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(2, 0, 0));
  t2.write_chunk("a.h5", "/grid", {1, 1}, chunk_bytes(2, 1, 1));
  env.set_open(false);
  std::thread c1([&] { t1.commit(); });
  env.wait_for_flusher();  // t1 is at its _temp directory sync
  std::atomic<bool> conflict{false};
  std::thread c2([&] {
    try {
      t2.commit();
    } catch (const ConflictError&) {
      conflict = true;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  env.set_open(true);
  c1.join();
  c2.join();
  CHECK(conflict.load());
  auto r = store->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(1, 0, 0));
  CHECK(r.read_chunk("a.h5", "/grid", {1, 1}) == std::vector<uint8_t>(256, 0));
  r.abort();
  // The loser's directory is gone; only t1's and the setup's remain.
  int done = 0;
  for (const auto& n : Env::posix()->list_dir(dir / "s/journal")) {
    CHECK(n.find("_temp") == std::string::npos);
    done += n.find("_done") != std::string::npos;
  }
  CHECK(done == 2);
}
