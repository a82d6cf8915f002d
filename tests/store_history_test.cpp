// History (Options::history): reads as of every retained txid equal the
// state recorded when that txid committed; sizes of history for appends
// and overwrites; pack; switching history on and off; the errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <mutex>
#include <thread>
#include <random>
#include <sstream>

#include "flush/history_index.hpp"
#include "flush/procs.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "history_util.hpp"
#include "journal/history_segment.hpp"
#include "journal/tx_dir.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using h5tx_test::TempDir;
using history_test::dump_state;
using history_test::run_history_workload;

namespace {

Options history_options() {
  Options o;
  o.history = true;
  o.flush_delay = std::chrono::milliseconds(0);
  o.flush_batch_transactions = 3;
  return o;
}

std::vector<std::string> segments(const std::string& home) {
  std::vector<std::string> out;
  for (auto& n : Env::posix()->list_dir(home + "/history")) {
    uint64_t a, b;
    if (journal::parse_segment_name(n, &a, &b)) out.push_back(n);
  }
  return out;
}

// Every version recorded in history/, as text: replacing txid, operation,
// presence, and the stored chunk bytes.
std::multiset<std::string> versions(const std::string& home) {
  std::multiset<std::string> out;
  for (auto& n : segments(home)) {
    const std::string path = home + "/history/" + n;
    for (const auto& r : journal::read_segment(*Env::posix(), path).records) {
      std::ostringstream t;
      t << r.to_txid << " " << int(r.op.kind) << " " << r.op.file << " " << r.op.path << " " << r.op.name
        << " " << r.present;
      for (uint64_t c : r.op.shape) t << "," << c;
      if (r.present && r.op.kind == journal::OpKind::WriteChunk)
        t << " " << journal::read_segment_chunk(*Env::posix(), path, r.op);
      out.insert(t.str());
    }
  }
  return out;
}

std::multiset<std::string> versions_after(const std::multiset<std::string>& all, uint64_t limit) {
  std::multiset<std::string> out;
  for (const std::string& v : all)
    if (std::stoull(v) > limit) out.insert(v);
  return out;
}

uint64_t history_bytes(const std::string& home) {
  uint64_t n = 0;
  for (auto& s : segments(home)) n += Env::posix()->file_size(home + "/history/" + s);
  return n;
}

}  // namespace

TEST_CASE("as of every retained txid, reads equal the state recorded at its commit") {
  TempDir dir;
  std::string home = dir / "store";
  std::map<uint64_t, std::string> recorded;
  {
    auto store = Store::create(home, history_options());
    recorded = run_history_workload(*store, 40, 7);
    store->flush();
    StoreStats st = store->stats();
    CHECK(st.history);
    CHECK(st.history_oldest == 0);
    CHECK(st.history_segments > 0);
    for (const auto& [txid, state] : recorded) {
      INFO("as of txid " << txid);
      TxOptions o = read_only_tx();
      o.as_of = txid;
      auto tx = store->begin(o);
      CHECK(tx.snapshot() == txid);
      CHECK(dump_state(tx) == state);
    }
  }
  // Durable: a fresh open (a reader process's view too) reads the same.
  for (bool read_only : {false, true}) {
    Options o;
    o.read_only = read_only;
    auto store = Store::open(home, o);
    for (const auto& [txid, state] : recorded) {
      INFO("reopened" << (read_only ? " read-only" : "") << ", as of txid " << txid);
      TxOptions t = read_only_tx();
      t.as_of = txid;
      auto tx = store->begin(t);
      CHECK(dump_state(tx) == state);
    }
  }
}

TEST_CASE("as of reads while the flusher runs: unflushed, flushed and in between") {
  TempDir dir;
  Options o = history_options();
  o.flush_batch_transactions = 1;
  auto store = Store::create(dir / "store", o);
  std::map<uint64_t, std::string> recorded = run_history_workload(*store, 25, 11);
  // Some of these are still in the journal, some in the data files.
  for (const auto& [txid, state] : recorded) {
    TxOptions t = read_only_tx();
    t.as_of = txid;
    auto tx = store->begin(t);
    INFO("as of txid " << txid);
    CHECK(dump_state(tx) == state);
  }
}

TEST_CASE("as_of errors: not read-only, no history, not committed, older than kept, undo mode") {
  TempDir dir;
  {
    auto plain = Store::create(dir / "plain");
    redo_test::make_file(*plain, "a.h5", 2);
    TxOptions t = read_only_tx();
    t.as_of = 1;
    CHECK_THROWS_AS(plain->begin(t), InvalidArgumentError);
  }
  Options u;
  u.mode = Mode::Undo;
  u.history = true;
  CHECK_THROWS_WITH(Store::create(dir / "undo", u), Catch::Contains("redo-mode"));
  CHECK_FALSE(Env::posix()->exists(dir / "undo"));  // refused before anything is made
  u.history.reset();
  {
    auto undo = Store::create(dir / "undo2", u);
    TxOptions t = read_only_tx();
    t.as_of = 1;
    CHECK_THROWS_AS(undo->begin(t), InvalidArgumentError);
  }
  auto store = Store::create(dir / "h", history_options());
  redo_test::make_file(*store, "a.h5", 2);
  uint64_t last = store->stats().last_txid;
  TxOptions rw;
  rw.as_of = last;
  CHECK_THROWS_AS(store->begin(rw), InvalidArgumentError);
  TxOptions future = read_only_tx();
  future.as_of = last + 1;
  CHECK_THROWS_WITH(store->begin(future), Catch::Contains("not committed"));
  // Pack past it: older reads name the oldest kept.
  store->flush();
  for (int i = 0; i < 3; i++) {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {0, 0}, redo_test::chunk_bytes(i + 1, 0, 0));
    tx.commit();
  }
  store->flush();
  uint64_t newest = store->stats().last_txid;
  PackOptions p;
  p.before = newest;
  PackStats ps = Store::pack(store->home(), p);
  CHECK(ps.oldest == newest);
  TxOptions old = read_only_tx();
  old.as_of = last;
  CHECK_THROWS_AS(store->begin(old), NotFoundError);
  CHECK_THROWS_WITH(store->begin(old), Catch::Contains("oldest available: " + std::to_string(newest)));
  TxOptions ok = read_only_tx();
  ok.as_of = newest;
  auto tx = store->begin(ok);
  CHECK(tx.read_chunk("a.h5", "/grid", {0, 0}) == redo_test::chunk_bytes(3, 0, 0));
}

TEST_CASE(
    "pack drops exactly the versions only older reads need, rewriting a segment that straddles the cut, and "
    "keeps pinned history") {
  TempDir dir;
  std::string home = dir / "store";
  // Only flush() applies the journal, 3 transactions a batch: segments of
  // several transactions whatever the machine's speed (a background
  // flusher on a slow run, under ASan, applied one at a time).
  Options o = history_options();
  o.background_flusher = false;
  auto store = Store::create(home, o);
  std::map<uint64_t, std::string> recorded = run_history_workload(*store, 30, 3);
  store->flush();
  std::vector<uint64_t> txids;
  for (auto& kv : recorded) txids.push_back(kv.first);
  // The cut: the first txid of a segment of several transactions, in the
  // second half (so that segment straddles it).
  uint64_t cut = 0;
  for (auto& n : segments(home)) {
    uint64_t a, b;
    journal::parse_segment_name(n, &a, &b);
    if (a < b && a >= txids[txids.size() / 2] && (cut == 0 || a < cut)) cut = a;
  }
  REQUIRE(cut != 0);
  REQUIRE(recorded.count(cut));

  // An open as-of transaction below the cut pins what it needs.
  TxOptions pin = read_only_tx();
  pin.as_of = txids[3];
  auto pinned = store->begin(pin);
  std::multiset<std::string> before = versions(home);
  PackOptions p;
  p.before = cut;
  PackStats ps = Store::pack(home, p);
  CHECK(ps.oldest == cut);
  CHECK(ps.limit == txids[3]);
  CHECK(versions(home) == versions_after(before, txids[3]));
  CHECK(dump_state(pinned) == recorded[txids[3]]);
  pinned.abort();

  // Without the pin: everything at or below the cut goes, nothing else.
  before = versions(home);
  const uint64_t bytes_before = history_bytes(home);
  ps = Store::pack(home, p);
  CHECK(ps.limit == cut);
  // Exactly the versions replaced after the cut stay: a segment that
  // straddles it is rewritten without the others.
  CHECK(versions(home) == versions_after(before, cut));
  CHECK(ps.segments_rewritten >= 1);
  CHECK(segments(home).size() == ps.segments_kept);
  CHECK(history_bytes(home) == ps.bytes_kept);
  CHECK(bytes_before - ps.bytes_kept == ps.bytes_removed);
  for (auto& n : segments(home)) {
    uint64_t a, b;
    journal::parse_segment_name(n, &a, &b);
    CHECK(b > cut);
    for (const auto& r : journal::read_segment(*Env::posix(), home + "/history/" + n).records)
      CHECK(r.to_txid > cut);
  }
  for (const auto& [txid, state] : recorded) {
    TxOptions t = read_only_tx();
    t.as_of = txid;
    INFO("as of txid " << txid);
    if (txid < cut) {
      CHECK_THROWS_AS(store->begin(t), NotFoundError);
    } else {
      auto tx = store->begin(t);
      CHECK(dump_state(tx) == state);
    }
  }

  // A retention slot (formats/history.md) holds pack back at its txid.
  Env::posix()->create_dir(home + "/slots");
  const size_t cut_at = size_t(std::find(txids.begin(), txids.end(), cut) - txids.begin());
  const uint64_t slot = txids[cut_at + (txids.size() - cut_at) / 2];
  Env::posix()->write_file_atomic(home + "/slots/backup",
                                  "h5tx-slot 1 txid " + journal::txid_hex(slot) + "\n");
  p.before = txids.back();
  ps = Store::pack(home, p);
  CHECK(ps.oldest == slot);
  for (auto& n : segments(home)) {
    uint64_t a, b;
    journal::parse_segment_name(n, &a, &b);
    CHECK(b > slot);
  }
  for (const auto& [txid, state] : recorded) {
    if (txid < slot) continue;
    TxOptions t = read_only_tx();
    t.as_of = txid;
    auto tx = store->begin(t);
    INFO("as of txid " << txid << " after pack to the slot");
    CHECK(dump_state(tx) == state);
  }
  Env::posix()->write_file_atomic(home + "/slots/bad", "h5tx-slot 2 txid zz\n");
  CHECK_THROWS_AS(Store::pack(home, p), CorruptionError);
}

TEST_CASE("pack --older-than keeps the transactions committed within the age") {
  TempDir dir;
  std::string home = dir / "store";
  auto store = Store::create(home, history_options());
  run_history_workload(*store, 10, 5);
  store->flush();
  PackOptions p;
  p.older_than = std::chrono::hours(1);  // everything is younger: nothing goes
  PackStats ps = Store::pack(home, p);
  CHECK(ps.segments_removed == 0);
  CHECK(ps.oldest == 0);
  p.older_than = std::chrono::microseconds(0);  // everything is older: all but what the newest read needs
  ps = Store::pack(home, p);
  CHECK(ps.oldest == store->stats().last_txid);
  CHECK(ps.segments_kept == 0);
}

TEST_CASE("history sizes: appends cost records, overwrites the replaced chunks") {
  TempDir dir;
  Options o = history_options();
  o.flush_batch_transactions = 8;
  auto store = Store::create(dir / "store", o);
  DatasetSpec s;
  s.dtype = DType::F64;
  s.shape = {1024, 512};
  s.chunk = {128, 64};  // 64 KiB chunks, 64 of them
  {
    auto tx = store->begin();
    tx.create_file("big.h5");
    tx.create_dataset("big.h5", "/d", s);
    tx.commit();
  }
  std::mt19937_64 rng(1);
  uint64_t data_bytes = 0;
  // Every chunk once, random (incompressible) bytes, a chunk row per transaction.
  auto write_all = [&] {
    data_bytes = 0;
    for (uint64_t r = 0; r < 8; r++) {
      auto tx = store->begin();
      for (uint64_t c = 0; c < 8; c++) {
        std::vector<uint8_t> v(128 * 64 * 8);
        for (auto& b : v) b = uint8_t(rng());
        tx.write_chunk("big.h5", "/d", {r, c}, v);
        data_bytes += v.size();
      }
      tx.commit();
    }
    store->flush();
  };
  write_all();
  StoreStats st = store->stats();
  double append_ratio = double(st.history_bytes) / double(data_bytes);
  WARN("history after an append-only ingest of " << data_bytes << " bytes: " << st.history_bytes
                                                 << " bytes, ratio " << append_ratio);
  CHECK(append_ratio < 0.01);
  uint64_t before = st.history_bytes;
  write_all();
  st = store->stats();
  double overwrite_ratio = double(st.history_bytes - before) / double(data_bytes);
  WARN("history after overwriting every chunk once: " << (st.history_bytes - before) << " bytes for "
                                                      << data_bytes << " replaced bytes, ratio "
                                                      << overwrite_ratio);
  CHECK(overwrite_ratio >= 1.0);
  CHECK(overwrite_ratio < 1.02);
}

TEST_CASE("history switched on and off at a read-write open") {
  TempDir dir;
  std::string home = dir / "store";
  uint64_t first = 0;
  {
    auto store = Store::create(home);
    redo_test::make_file(*store, "a.h5", 2);
    first = store->stats().last_txid;
    CHECK_FALSE(store->stats().history);
  }
  CHECK(Env::posix()->read_all(home + "/h5tx.store").find("features") == std::string::npos);
  Options ro;
  ro.read_only = true;
  ro.history = true;
  CHECK_THROWS_AS(Store::open(home, ro), InvalidArgumentError);
  Options on;
  on.history = true;
  std::string at_first;
  uint64_t second = 0;
  {
    auto store = Store::open(home, on);
    StoreStats st = store->stats();
    CHECK(st.history);
    CHECK(st.history_oldest >= first);
    {
      auto tx = store->begin();
      tx.write_chunk("a.h5", "/grid", {1, 1}, redo_test::chunk_bytes(9, 1, 1));
      tx.commit();
    }
    second = store->stats().last_txid;
    auto tx = store->begin([&] {
      TxOptions t = read_only_tx();
      t.as_of = second;
      return t;
    }());
    CHECK(tx.read_chunk("a.h5", "/grid", {1, 1}) == redo_test::chunk_bytes(9, 1, 1));
  }
  CHECK(Env::posix()->read_all(home + "/h5tx.store").find("features = history\n") != std::string::npos);
  {
    auto store = Store::open(home);  // unset: kept
    CHECK(store->stats().history);
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {1, 1}, redo_test::chunk_bytes(10, 1, 1));
    tx.commit();
    store->flush();
    TxOptions t = read_only_tx();
    t.as_of = second;
    auto old = store->begin(t);
    CHECK(old.read_chunk("a.h5", "/grid", {1, 1}) == redo_test::chunk_bytes(9, 1, 1));
  }
  Options off;
  off.history = false;
  {
    auto store = Store::open(home, off);
    CHECK_FALSE(store->stats().history);
  }
  CHECK_FALSE(Env::posix()->exists(home + "/history"));
  CHECK(Env::posix()->read_all(home + "/h5tx.store").find("features") == std::string::npos);
}

TEST_CASE("h5tx.store: an unknown feature is refused, history round-trips") {
  TempDir dir;
  auto store = Store::create(dir / "s", history_options());
  store->close();
  std::string text = Env::posix()->read_all(dir / "s/h5tx.store");
  CHECK(text ==
        Env::posix()->read_all(std::string(H5TX_SOURCE_DIR) + "/formats/golden/h5tx.store-v3-history"));
  std::string bad = text;
  bad.replace(bad.find("history"), 7, "history,timetravel");
  Env::posix()->write_file_atomic(dir / "s/h5tx.store", bad);
  CHECK_THROWS_WITH(Store::open(dir / "s"), Catch::Contains("feature 'timetravel'"));
}

TEST_CASE("as of reads in one thread while another commits and the flusher replaces versions") {
  TempDir dir;
  Options o = history_options();
  o.flush_batch_transactions = 1;
  auto store = Store::create(dir / "store", o);
  std::mutex mu;
  std::map<uint64_t, std::string> recorded;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::map<uint64_t, std::string> all = run_history_workload(*store, 40, 17, [&](Transaction& tx) {
      std::string s = dump_state(tx);
      std::lock_guard<std::mutex> l(mu);
      recorded[tx.snapshot()] = s;
      return s;
    });
    done = true;
  });
  std::mt19937 rng(3);
  int checked = 0, mismatches = 0;
  while (!done || checked < 20) {
    uint64_t txid = 0;
    std::string want;
    {
      std::lock_guard<std::mutex> l(mu);
      if (recorded.empty()) continue;
      auto it = recorded.begin();
      std::advance(it, rng() % recorded.size());
      txid = it->first;
      want = it->second;
    }
    TxOptions t = read_only_tx();
    t.as_of = txid;
    auto tx = store->begin(t);
    if (dump_state(tx) != want) mismatches++;
    checked++;
  }
  writer.join();
  INFO(checked << " as-of reads checked");
  CHECK(mismatches == 0);
  CHECK(checked >= 20);
}
