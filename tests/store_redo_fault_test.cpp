// Redo mode over the fault-injecting Env: fsyncs per commit, a flusher I/O
// error at every operation of a flush (surfaces, stops the flusher, loses
// nothing), and a first crash-point enumeration of a small commit + flush
// (committed data complete, the in-flight transaction all or nothing, every
// HDF5 file opens after recovery).
#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <hdf5.h>

#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "io/testing/fault_env.hpp"
#include "crash_child.hpp"
#include "store_redo_util.hpp"
#include "test_util.hpp"

using namespace h5tx;
using namespace redo_test;
using h5tx::testing::FaultEnv;
using h5tx_test::CrashChild;

namespace {

const std::string kHome = "/store";

Options fault_options(FaultEnv& env) {
  Options o;
  o.env = &env;
  o.background_flusher = false;  // every flusher operation runs inside flush()
  return o;
}

// Two files with a dataset each, one chunk committed and flushed.
void prepare(FaultEnv& env) {
  auto store = Store::create(kHome, fault_options(env));
  make_file(*store, "a.h5", 2);
  make_file(*store, "b.h5", 2);
  auto tx = store->begin();
  tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(1, 0, 0));
  tx.commit();
  store->close();
}

// The transaction under test: overwrites the flushed chunk, adds two more
// in both files, and creates a third file with a compressed dataset, an
// attribute and a chunk.
void write_second(Transaction& tx) {
  tx.write_chunk("a.h5", "/grid", {0, 0}, chunk_bytes(2, 0, 0));
  tx.write_chunk("a.h5", "/grid", {1, 3}, chunk_bytes(2, 1, 3));
  tx.write_chunk("b.h5", "/grid", {1, 1}, chunk_bytes(2, 1, 1));
  tx.create_file("c.h5");
  tx.create_dataset("c.h5", "/deep/grid", grid_spec(2, true));
  tx.set_attribute("c.h5", "/deep", "note", AttributeValue::string("made by the second"));
  tx.write_chunk("c.h5", "/deep/grid", {1, 2}, chunk_bytes(2, 1, 2));
}

// 1 if the second transaction is fully visible, 0 if fully absent; fails the
// test on a mix.
int second_visible(Store& store) {
  auto r = store.begin(h5tx::read_only_tx());
  std::vector<bool> seen = {
      r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(2, 0, 0),
      r.read_chunk("a.h5", "/grid", {1, 3}) == chunk_bytes(2, 1, 3),
      r.read_chunk("b.h5", "/grid", {1, 1}) == chunk_bytes(2, 1, 1),
  };
  if (!seen[0]) REQUIRE(r.read_chunk("a.h5", "/grid", {0, 0}) == chunk_bytes(1, 0, 0));
  if (!seen[1]) REQUIRE(r.read_chunk("a.h5", "/grid", {1, 3}) == std::vector<uint8_t>(256, 0));
  if (!seen[2]) REQUIRE(r.read_chunk("b.h5", "/grid", {1, 1}) == std::vector<uint8_t>(256, 0));
  REQUIRE(seen[0] == seen[1]);
  REQUIRE(seen[1] == seen[2]);
  auto files = r.list_files();
  bool c_exists = std::find(files.begin(), files.end(), "c.h5") != files.end();
  REQUIRE(c_exists == seen[0]);
  if (c_exists) {
    REQUIRE(r.list_datasets("c.h5") == std::vector<std::string>{"/deep/grid"});
    REQUIRE(r.read_chunk("c.h5", "/deep/grid", {1, 2}) == chunk_bytes(2, 1, 2));
    REQUIRE(r.read_chunk("c.h5", "/deep/grid", {0, 2}) == std::vector<uint8_t>(256, 0));
  }
  return seen[0] ? 1 : 0;
}

// Opens the store (recovery), checks what is visible, flushes, checks again
// and reopens once more. Returns second_visible.
int recover_and_check(FaultEnv& env) {
  int visible;
  {
    auto store = Store::open(kHome, fault_options(env));
    visible = second_visible(*store);
    store->flush();
    REQUIRE(second_visible(*store) == visible);
    store->close();
  }
  auto store = Store::open(kHome, fault_options(env));
  REQUIRE(store->pending().empty());
  REQUIRE(second_visible(*store) == visible);
  return visible;
}

}  // namespace

TEST_CASE("redo: fsyncs per commit", "[redo][fault]") {
  FaultEnv env;
  prepare(env);
  auto store = Store::open(kHome, fault_options(env));
  env.set_trace(true);
  {
    auto tx = store->begin();  // the first commit after open also reserves a txid block
    write_second(tx);
    tx.commit();
  }
  size_t before = env.trace().size();
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(3, 1, 0));
    tx.write_chunk("a.h5", "/grid", {1, 1}, chunk_bytes(3, 1, 1));
    tx.write_chunk("b.h5", "/grid", {0, 0}, chunk_bytes(3, 0, 0));
    tx.write_chunk("c.h5", "/deep/grid", {0, 0}, chunk_bytes(3, 0, 0));
    tx.commit();
  }
  std::vector<std::string> trace = env.trace();
  int file_syncs = 0, dir_syncs = 0;
  for (size_t i = before; i < trace.size(); i++) {
    if (trace[i].find(" sync_dir ") != std::string::npos)
      dir_syncs++;
    else if (trace[i].find(" sync ") != std::string::npos || trace[i].find(" datasync ") != std::string::npos)
      file_syncs++;
  }
  INFO(env.trace_text());
  // The four chunks are inline in the MANIFEST: one data sync for all of
  // them; the _temp directory and journal/.
  CHECK(file_syncs == 1);
  CHECK(dir_syncs == 2);
}

TEST_CASE("redo: a commit after a flush reuses a flushed directory and its MANIFEST", "[redo][fault]") {
  FaultEnv env;
  prepare(env);  // one transaction committed and flushed: its directory is a spare now
  auto store = Store::open(kHome, fault_options(env));
  {
    auto tx = store->begin();
    write_second(tx);
    tx.commit();
  }
  store->flush();
  env.set_trace(true);
  uint64_t txid;
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(3, 1, 0));
    tx.commit();
    txid = tx.txid();
  }
  std::string trace = env.trace_text();
  INFO(trace);
  // No new directory, no new file: a _flushed directory renamed to _temp,
  // the MANIFEST opened (not created) and cut to the new length.
  CHECK(trace.find("create_dir") == std::string::npos);
  CHECK(trace.find("create-new") == std::string::npos);
  CHECK(trace.find("create-trunc") == std::string::npos);
  CHECK(trace.find("_flushed to /store/journal/working_") != std::string::npos);
  CHECK(trace.find("truncate /store/journal/working_") != std::string::npos);
  char done[64];
  std::snprintf(done, sizeof done, "/store/journal/working_%016llx_done",
                static_cast<unsigned long long>(txid));
  CHECK(env.list_dir(done) == std::vector<std::string>{"MANIFEST"});
  // The data reads back from the reused directory, then from the HDF5 file,
  // and again after a reopen.
  CHECK(store->begin().read_chunk("a.h5", "/grid", {1, 0}) == chunk_bytes(3, 1, 0));
  store->flush();
  CHECK(store->begin().read_chunk("a.h5", "/grid", {1, 0}) == chunk_bytes(3, 1, 0));
  store->close();
  CHECK(env.list_dir("/store/journal").empty());  // spares go at close
  auto again = Store::open(kHome, fault_options(env));
  CHECK(again->begin().read_chunk("a.h5", "/grid", {1, 0}) == chunk_bytes(3, 1, 0));
  CHECK(second_visible(*again) == 1);
}

TEST_CASE("redo: a large chunk goes to the spill file at once, and the spill file is recycled",
          "[redo][fault]") {
  FaultEnv env;
  prepare(env);
  Options o = fault_options(env);
  o.spill_chunk_bytes = 256;  // the test's chunks are 256 bytes
  auto store = Store::open(kHome, o);
  uint64_t first, second;
  {
    auto tx = store->begin();
    write_second(tx);
    tx.commit();
    first = tx.txid();
  }
  char done[64];
  std::snprintf(done, sizeof done, "/store/journal/working_%016llx_done",
                static_cast<unsigned long long>(first));
  CHECK(env.list_dir(done) == std::vector<std::string>{"MANIFEST", "spill"});
  uint64_t spill_size = env.file_size(std::string(done) + "/spill");
  CHECK(spill_size >= 3 * 256);  // the three chunks, stored (c.h5's may be filtered)
  store->flush();
  env.set_trace(true);
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(4, 1, 0));
    // Read-your-writes from the spill file.
    CHECK(tx.read_chunk("a.h5", "/grid", {1, 0}) == chunk_bytes(4, 1, 0));
    tx.commit();
    second = tx.txid();
  }
  std::string trace = env.trace_text();
  INFO(trace);
  CHECK(trace.find("create_dir") == std::string::npos);
  CHECK(trace.find("create-new") == std::string::npos);
  std::snprintf(done, sizeof done, "/store/journal/working_%016llx_done",
                static_cast<unsigned long long>(second));
  // The old spill file is reused from offset 0: its tail is unreferenced.
  CHECK(env.file_size(std::string(done) + "/spill") == spill_size);
  CHECK(store->begin().read_chunk("a.h5", "/grid", {1, 0}) == chunk_bytes(4, 1, 0));
  store->close();
  auto again = Store::open(kHome, fault_options(env));
  auto r = again->begin();
  CHECK(r.read_chunk("a.h5", "/grid", {1, 0}) == chunk_bytes(4, 1, 0));
  CHECK(second_visible(*again) == 1);
}

TEST_CASE("redo: a flusher I/O error surfaces and stops the flusher and loses nothing", "[redo][fault]") {
  // A dry run lists the operations of the flush.
  std::vector<std::string> flush_ops;
  {
    FaultEnv env;
    prepare(env);
    auto store = Store::open(kHome, fault_options(env));
    auto tx = store->begin();
    write_second(tx);
    tx.commit();
    env.set_trace(true);
    store->flush();
    flush_ops = env.trace();
    store->close();
  }
  REQUIRE(flush_ops.size() > 20);
  // Each trial runs in a child process (tests/crash_child.hpp, without a
  // crash point): the flush fails there through h5tx's ordinary error path
  // and the process goes on; but when the failed write is HDF5's at
  // H5Fclose, HDF5 1.10 keeps a file id that crashes its at-exit cleanup,
  // so the child _exits after handing over its disk and what it saw.
  FaultEnv start;
  prepare(start);
  int failures_seen = 0;
  for (uint64_t k = 1; k <= flush_ops.size(); k++) {
    INFO("failing operation " << k << " of the flush: " << flush_ops[k - 1]);
    // What the child saw: name -> held.
    std::map<std::string, bool> seen;
    bool failed = false;
    h5tx_test::CrashChild c = h5tx_test::run_crash_child(
        start,
        [&](FaultEnv& env) {
          auto store = Store::open(kHome, fault_options(env));
          {
            auto tx = store->begin();
            write_second(tx);
            tx.commit();
          }
          env.fail_at(env.op_count() + k, k % 2 ? EIO : ENOSPC);
          // REDO_TRACE_K=<k> prints the operations of iteration k (debugging aid).
          const char* trace_k = std::getenv("REDO_TRACE_K");
          bool trace = trace_k && std::to_string(k) == trace_k;
          if (trace) env.set_trace(true);
          try {
            store->flush();
          } catch (const Error& e) {
            failed = true;
            // Io; or Hdf5 when the failed write is HDF5's rewrite of the
            // (unchanged) superblock as it closes the file after the batch.
            seen["error is Io or Hdf5"] = e.code() == ErrorCode::Io || e.code() == ErrorCode::Hdf5;
          }
          if (trace) std::fprintf(stdout, "%s\n", env.trace_text().c_str());
          if (!failed) {
            // A failure that is tolerated (the driver removing an undo journal it
            // already invalidated durably; HDF5's probing open before it creates
            // a file): the flush completed.
            seen["nothing pending"] = store->stats().pending_transactions == 0;
            seen["second visible"] = second_visible(*store) == 1;
            store->close();
            return;
          }
          seen["flusher failed"] = store->stats().flusher_state.compare(0, 7, "failed:") == 0;
          {
            auto tx = store->begin();
            tx.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(9, 1, 0));
            try {
              tx.commit();
              seen["commit refused"] = false;
            } catch (const IoError&) {
              seen["commit refused"] = true;
            }
          }
          try {
            store->flush();
            seen["flush refused"] = false;
          } catch (const IoError&) {
            seen["flush refused"] = true;
          }
          // Reads still see every committed transaction.
          seen["second visible"] = second_visible(*store) == 1;
          try {
            store->close();
          } catch (const Error&) {
          }
        },
        [&] {
          h5tx_test::Bytes b;
          b.u64(failed).u64(seen.size());
          for (const auto& kv : seen) b.str(kv.first).u64(kv.second);
          return b.data();
        });
    INFO("child: " << c.error.value_or("no error escaped"));
    REQUIRE_FALSE(c.error);
    h5tx_test::Bytes b(c.payload);
    failed = b.get_u64();
    for (uint64_t n = b.get_u64(); n > 0; n--) {
      std::string what = b.get_str();
      seen[what] = b.get_u64();
    }
    for (const auto& kv : seen) {
      INFO(kv.first);
      CHECK(kv.second);
    }
    if (failed) failures_seen++;
    FaultEnv& env = *c.env;
    if (k % 2 == 0) env.crash();  // odd k: reopened as is; even k: after a power cut
    CHECK(recover_and_check(env) == 1);
  }
  CHECK(failures_seen > 20);
}

TEST_CASE("redo: an I/O error at any operation of a commit fails it cleanly", "[redo][fault]") {
  int failures = 0;
  for (uint64_t k = 1;; k++) {
    INFO("failing operation " << k << " of the commit");
    FaultEnv env;
    prepare(env);
    auto store = Store::open(kHome, fault_options(env));
    uint64_t base = 0;
    bool failed = false;
    {
      auto tx = store->begin();
      write_second(tx);
      base = env.op_count();
      env.fail_at(base + k, k % 2 ? EIO : ENOSPC);
      try {
        tx.commit();
      } catch (const Error& e) {
        failed = true;
        CHECK(e.code() == ErrorCode::Io);
      }
    }
    if (!failed) {
      CHECK(env.op_count() < base + k);  // past the commit's last operation
      env.clear_faults();
      CHECK(second_visible(*store) == 1);
      break;
    }
    failures++;
    // Nothing of a failed commit is visible in this process...
    CHECK(second_visible(*store) == 0);
    // ...and the store keeps working unless journal/ itself could not be
    // synced (then commits are refused until it is reopened).
    bool poisoned = false;
    {
      auto tx = store->begin();
      tx.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(9, 1, 0));
      try {
        tx.commit();
      } catch (const IoError&) {
        poisoned = true;
      }
    }
    try {
      store->close();
    } catch (const Error&) {
    }
    store.reset();
    if (k % 2 == 0) env.crash();
    // After reopening, the failed transaction is all or nothing (a failed
    // journal/ fsync may still have made it durable).
    int visible = recover_and_check(env);
    if (!poisoned) CHECK(visible == 0);
  }
  CHECK(failures > 5);
}

TEST_CASE("redo: a background flusher failure surfaces on the next commit and in stats", "[redo][fault]") {
  FaultEnv env;
  prepare(env);
  Options opt = fault_options(env);
  opt.background_flusher = true;
  auto store = Store::open(kHome, opt);
  store->flush();
  // An open snapshot holds the flusher back while the transaction commits.
  auto pin = store->begin(h5tx::read_only_tx());
  {
    auto tx = store->begin();
    write_second(tx);
    tx.set_message("kept");
    tx.commit();
  }
  REQUIRE(store->pending().size() == 1);
  CHECK(store->pending()[0].message == "kept");
  // Every operation from now on fails: the flusher's batch fails at once.
  uint64_t base = env.op_count();
  for (uint64_t k = 1; k < 400; k++) env.fail_at(base + k, EIO);
  pin.abort();
  while (store->stats().flusher_state.compare(0, 7, "failed:") != 0) env.sleep_micros(1000);
  env.clear_faults();
  StoreStats st = store->stats();
  CHECK(st.pending_transactions >= 1);
  {
    auto tx = store->begin();
    tx.write_chunk("a.h5", "/grid", {1, 0}, chunk_bytes(9, 1, 0));
    CHECK_THROWS_AS(tx.commit(), IoError);
  }
  CHECK_THROWS_AS(store->flush(), IoError);
  CHECK(second_visible(*store) == 1);
  CHECK_THROWS_AS(store->close(), IoError);
  store.reset();
  CHECK(recover_and_check(env) == 1);
}

enum class CrashMode {
  Plain,          // every unsynced change is lost
  Torn,           // a random subset of unsynced writes lands, torn at sectors
  DuringRecovery  // and the first recovery crashes too, at each of its operations
};

// Runs commit + flush crashing after operation k, for every k, each in a
// crash child (tests/crash_child.hpp); checks the guarantees after
// recovery. Returns the number of crash points.
int enumerate_crashes(CrashMode mode, int* recovery_crash_points = nullptr) {
  int crashes = 0, visible_after_crash = 0, recovery_crashes = 0;
  FaultEnv start;
  prepare(start);
  for (uint64_t k = 1;; k++) {
    bool committed = false;
    CrashChild c = h5tx_test::run_crash_child(
        start,
        [&](FaultEnv& env) {
          auto store = Store::open(kHome, fault_options(env));
          env.crash_after(env.op_count() + k);
          auto tx = store->begin();
          write_second(tx);
          tx.commit();
          committed = true;
          store->flush();
          store->close();
        },
        [&] { return std::string(committed ? "committed" : ""); });
    INFO("crash after operation " << k << ": " << c.error.value_or(""));
    REQUIRE_FALSE(c.error);  // only the crash may stop the scenario
    if (!c.died) break;      // the scenario finished: k is past its last operation
    committed = !c.payload.empty();
    std::unique_ptr<FaultEnv> env = std::move(c.env);
    crashes++;
    h5tx::testing::CrashOptions co;
    if (mode == CrashMode::Torn) {
      co.keep_random_unsynced = true;
      co.tear_sectors = true;
      co.seed = k;
    }
    env->crash(co);
    INFO("commit returned: " << committed);
    if (mode == CrashMode::DuringRecovery && k % 3 == 0) {
      // Crash the recovery at each of its operations; the next one repairs.
      for (uint64_t j = 1;; j++) {
        CrashChild r = h5tx_test::run_crash_child(*env, [&](FaultEnv& e) {
          e.crash_after(e.op_count() + j);
          Store::open(kHome, fault_options(e))->close();
        });
        INFO("recovery crashed after operation " << j << ": " << r.error.value_or(""));
        REQUIRE_FALSE(r.error);
        env = std::move(r.env);
        if (!r.died) break;  // recovered (and closed) without reaching op j
        recovery_crashes++;
        env->crash();
      }
    }
    // A read-only open first: no recovery writes, the interrupted flush
    // batch read through its undo journals, the same visible state.
    int visible_ro;
    {
      std::vector<std::string> files_before = env->list_files();
      Options ro = fault_options(*env);
      ro.read_only = true;
      auto store = Store::open(kHome, ro);
      visible_ro = second_visible(*store);
      store->close();
      CHECK(env->list_files() == files_before);
    }
    int visible = recover_and_check(*env);
    CHECK(visible_ro == visible);
    if (committed) CHECK(visible == 1);
    visible_after_crash += visible;
  }
  CHECK(visible_after_crash > 0);
  if (recovery_crash_points) *recovery_crash_points = recovery_crashes;
  return crashes;
}

TEST_CASE("redo: crash at every operation of a commit and flush", "[redo][fault]") {
  int crashes = enumerate_crashes(CrashMode::Plain);
  CHECK(crashes > 20);
  WARN("crash points enumerated: " << crashes);
}

TEST_CASE("redo: crash at every operation with torn unsynced writes", "[redo][fault]") {
  CHECK(enumerate_crashes(CrashMode::Torn) > 20);
}

TEST_CASE("redo: crash during recovery is repaired by the next recovery", "[redo][fault]") {
  int recovery_crashes = 0;
  CHECK(enumerate_crashes(CrashMode::DuringRecovery, &recovery_crashes) > 20);
  CHECK(recovery_crashes > 20);
  WARN("crashes inside recovery: " << recovery_crashes);
}
