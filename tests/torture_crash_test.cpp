// Crash-point enumeration, recovery crashes and I/O error injection for
// each scenario of the torture suite (guarantees 1-5 of DESIGN.md), with
// the figures recorded in the reliability ledger.
//
// Scale: H5TX_TORTURE_SCALE multiplies the random seeds per crash point and
// the recovery-crash budget (default: 1 seed, 300 recovery crashes).
#include <catch2/catch.hpp>

#include "h5tx/store.hpp"
#include "test_util.hpp"
#include "torture_harness.hpp"
#include "torture_ledger.hpp"

using namespace h5tx;
using h5tx::testing::FaultEnv;
using namespace h5tx_test;

namespace {

std::vector<uint8_t> bytes(size_t n, uint32_t seed) {
  std::vector<uint8_t> v(n);
  uint32_t x = seed * 2654435761u + 1;
  for (auto& b : v) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b = uint8_t(x);
  }
  return v;
}

DatasetSpec spec_2d(Compression c = Compression::None) {
  DatasetSpec s;
  s.dtype = DType::U16;
  s.shape = {64, 64};
  s.chunk = {16, 16};
  s.compression = c;
  return s;
}
constexpr size_t kChunkBytes = 16 * 16 * 2;
const std::vector<uint8_t> kFill(kChunkBytes, 0);

ChunkWrite cw(const std::string& f, const std::string& d, Shape c, uint32_t seed,
              std::vector<uint8_t> before = kFill) {
  return {f, d, std::move(c), bytes(kChunkBytes, seed), std::move(before)};
}

void do_writes(Transaction& tx, const TxRecord& rec) {
  for (const auto& w : rec.writes) tx.write_chunk(w.file, w.dataset, w.coords, w.after);
}

// Commits `rec` with the outcome bookkeeping: in flight until commit returns.
void commit(Transaction& tx, const TxRecord& rec, Outcome& out) {
  out.in_flight = rec;
  tx.commit();
  out.committed.push_back(rec);
  out.in_flight.reset();
}

std::unique_ptr<Store> open(FaultEnv& env, Mode mode, const std::string& home = "/store") {
  return Store::open(home, torture_options(env, mode));
}

// A store with one file and one dataset holding one chunk, flushed.
std::vector<TxRecord> prepare_one_file(FaultEnv& env, Mode mode) {
  auto store = Store::create("/store", torture_options(env, mode));
  TxRecord rec;
  rec.created_files = {"f.h5"};
  rec.writes = {cw("f.h5", "/d", {0, 0}, 1)};
  auto tx = store->begin();
  tx.create_file("f.h5");
  tx.create_dataset("f.h5", "/d", spec_2d());
  do_writes(tx, rec);
  tx.commit();
  store->close();
  return {rec};
}

Scenario small_transaction(Mode mode) {
  Scenario s;
  s.name = std::string("small-tx-") + (mode == Mode::Redo ? "redo" : "undo");
  s.mode = mode;
  s.prepare = [mode](FaultEnv& env) { return prepare_one_file(env, mode); };
  s.act = [mode](FaultEnv& env, Outcome& out) {
    auto store = open(env, mode);
    TxRecord rec;
    rec.writes = {cw("f.h5", "/d", {0, 0}, 2, bytes(kChunkBytes, 1)), cw("f.h5", "/d", {1, 1}, 3)};
    auto tx = store->begin();
    do_writes(tx, rec);
    commit(tx, rec, out);
    store->close();
  };
  return s;
}

Scenario three_files_with_catalog(Mode mode) {
  Scenario s;
  s.name = std::string("three-files-catalog-") + (mode == Mode::Redo ? "redo" : "undo");
  s.mode = mode;
  s.prepare = [mode](FaultEnv& env) {
    Store::create("/store", torture_options(env, mode))->close();
    return std::vector<TxRecord>{};
  };
  s.act = [mode](FaultEnv& env, Outcome& out) {
    auto store = open(env, mode);
    TxRecord rec;
    rec.created_files = {"a.h5", "b.h5", "c.h5"};
    rec.writes = {cw("a.h5", "/x/raw", {0, 0}, 10, {}), cw("b.h5", "/y", {3, 2}, 11, {}),
                  cw("c.h5", "/z", {1, 0}, 12, {})};
    auto tx = store->begin();
    out.in_flight = rec;
    for (const auto& f : rec.created_files) tx.create_file(f);
    tx.create_dataset("a.h5", "/x/raw", spec_2d(Compression::ShuffleDeflate));
    tx.create_dataset("b.h5", "/y", spec_2d());
    tx.create_dataset("c.h5", "/z", spec_2d());
    tx.set_attribute("a.h5", "/x/raw", "width", AttributeValue::scalar<int32_t>(640));
    tx.set_attribute("b.h5", "/", "title", AttributeValue::string("torture"));
    tx.extend_dataset("c.h5", "/z", {64, 64});
    do_writes(tx, rec);
    commit(tx, rec, out);
    store->close();
  };
  return s;
}

// Redo only: three committed, unflushed transactions; act = recovery + one flush batch.
Scenario flush_batch() {
  Scenario s;
  s.name = "flush-batch-redo";
  s.mode = Mode::Redo;
  s.prepare = [](FaultEnv& env) {
    auto recs = prepare_one_file(env, Mode::Redo);
    auto store = open(env, Mode::Redo);
    for (uint32_t i = 0; i < 3; ++i) {
      TxRecord rec;
      rec.writes = {cw("f.h5", "/d", {i, 1}, 100 + i), cw("f.h5", "/d", {2, i}, 200 + i)};
      if (i == 2) rec.writes.push_back(cw("f.h5", "/d", {0, 1}, 300, bytes(kChunkBytes, 100)));
      auto tx = store->begin();
      do_writes(tx, rec);
      tx.commit();
      recs.push_back(rec);
    }
    // Leave them unflushed: a power cut now keeps exactly what commit made durable.
    power_cut_with_open_store(env, std::move(store));
    return recs;
  };
  s.act = [](FaultEnv& env, Outcome&) {
    auto store = open(env, Mode::Redo);
    store->flush();
    store->close();
  };
  return s;
}

void run_scenario(const Scenario& s, int guarantee_mask = 0) {
  (void)guarantee_mask;
  int seeds = int(torture_scale(1));
  uint64_t budget = torture_scale(300);
  CrashRunStats st = enumerate_crashes(s, seeds, budget);
  for (const auto& m : st.crash.messages) UNSCOPED_INFO(m);
  for (const auto& m : st.recovery_crash.messages) UNSCOPED_INFO(m);
  for (int g = 1; g <= 3; ++g)
    ledger_record(s.name, g, Trial::CrashState, st.crash.states, st.crash.violations);
  ledger_record(s.name, 4, Trial::CrashState, st.recovery_crash.states,
                st.recovery_crash.violations);
  WARN(s.name << ": K=" << st.ops << " operations, " << st.crash.states << " crash states, "
              << st.recovery_crash.states << " recovery-crash states, violations "
              << st.crash.violations << " + " << st.recovery_crash.violations);
  CHECK(st.crash.violations == 0);
  CHECK(st.recovery_crash.violations == 0);
  CHECK(st.crash.states >= st.ops);
}

void run_errors(const Scenario& s) {
  Tally t = inject_errors(s);
  for (const auto& m : t.messages) UNSCOPED_INFO(m);
  ledger_record(s.name, 5, Trial::InjectedError, t.states, t.violations);
  WARN(s.name << ": " << t.states << " injected errors, violations " << t.violations);
  CHECK(t.violations == 0);
  CHECK(t.states > 0);
}

}  // namespace

TEST_CASE("crash points: small transaction (redo)") { run_scenario(small_transaction(Mode::Redo)); }
TEST_CASE("crash points: three files with catalog operations (redo)") {
  run_scenario(three_files_with_catalog(Mode::Redo));
}
TEST_CASE("crash points: flush batch (redo)") { run_scenario(flush_batch()); }
TEST_CASE("crash points: small transaction over one file (undo)") {
  run_scenario(small_transaction(Mode::Undo));
}
TEST_CASE("crash points: three files with catalog operations (undo)") {
  run_scenario(three_files_with_catalog(Mode::Undo));
}

TEST_CASE("injected I/O errors: small transaction (redo)") { run_errors(small_transaction(Mode::Redo)); }
TEST_CASE("injected I/O errors: flush batch (redo)") { run_errors(flush_batch()); }
TEST_CASE("injected I/O errors: three files (undo)") {
  run_errors(three_files_with_catalog(Mode::Undo));
}
