// Crash points and injected I/O errors for undo-mode transactions on data
// files that an earlier commit of the same store kept open: a crash in the
// second transaction keeps the first and reverts the second, and an abort
// after a kept-open commit restores the committed bytes (guarantees 1-5 of
// DESIGN.md, recorded in the reliability ledger like torture_crash_test).
#include <catch2/catch.hpp>

#include "h5tx/store.hpp"
#include "hdf5/handle.hpp"
#include "test_util.hpp"
#include "torture_harness.hpp"
#include "torture_ledger.hpp"

using namespace h5tx;
using h5tx::testing::FaultEnv;
using namespace h5tx_test;

namespace {

constexpr size_t kChunkBytes = 16 * 16 * 2;

std::vector<uint8_t> pattern(uint32_t seed) {
  std::vector<uint8_t> v(kChunkBytes);
  for (size_t i = 0; i < v.size(); i++) v[i] = uint8_t(seed * 31 + i * 7);
  return v;
}

ChunkWrite write_of(Shape coords, uint32_t seed, uint32_t before_seed = 0) {
  return {"f.h5", "/d", std::move(coords), pattern(seed),
          before_seed ? pattern(before_seed) : std::vector<uint8_t>(kChunkBytes, 0)};
}

// One store, one file; then, with the store open throughout: two commits
// (the second on the file the first kept open), an abort, and a commit.
Scenario kept_open_file() {
  Scenario s;
  s.name = "kept-open-file-undo";
  s.mode = Mode::Undo;
  s.prepare = [](FaultEnv& env) {
    auto store = Store::create("/store", torture_options(env, Mode::Undo));
    TxRecord rec;
    rec.created_files = {"f.h5"};
    rec.writes = {write_of({0, 0}, 1)};
    DatasetSpec spec;
    spec.dtype = DType::U16;
    spec.shape = {64, 64};
    spec.chunk = {16, 16};
    auto tx = store->begin();
    tx.create_file("f.h5");
    tx.create_dataset("f.h5", "/d", spec);
    write_all(tx, rec);
    tx.commit();
    store->close();
    return std::vector<TxRecord>{rec};
  };
  s.act = [](FaultEnv& env, Outcome& out) {
    auto store = Store::open("/store", torture_options(env, Mode::Undo));
    TxRecord first;
    first.writes = {write_of({0, 1}, 20), write_of({1, 0}, 21)};
    TxRecord second;
    second.writes = {write_of({0, 1}, 22, 20), write_of({2, 2}, 23), write_of({0, 0}, 24, 1)};
    TxRecord fourth;
    fourth.writes = {write_of({3, 3}, 26), write_of({2, 2}, 27, 23)};
    {
      auto tx = store->begin();
      write_all(tx, first);
      commit_recorded(tx, first, out);
    }
    {
      auto tx = store->begin();
      write_all(tx, second);
      commit_recorded(tx, second, out);
    }
    {
      // Aborted: neither committed nor in flight, so the checks expect
      // the second transaction's bytes at {2,2} and {0,0}.
      auto tx = store->begin();
      tx.write_chunk("f.h5", "/d", {2, 2}, pattern(25));
      tx.write_chunk("f.h5", "/d", {0, 0}, pattern(25));
      tx.abort();
    }
    {
      auto tx = store->begin();
      write_all(tx, fourth);
      commit_recorded(tx, fourth, out);
    }
    store->close();
  };
  return s;
}

}  // namespace

TEST_CASE("crash points: transactions on a file kept open by earlier commits (undo)") {
  Scenario s = kept_open_file();
  CrashRunStats st = enumerate_crashes(s, int(torture_scale(3)), torture_scale(1000));
  for (const auto& m : st.crash.messages) UNSCOPED_INFO(m);
  for (const auto& m : st.recovery_crash.messages) UNSCOPED_INFO(m);
  for (int g = 1; g <= 3; ++g)
    ledger_record(s.name, g, Trial::CrashState, st.crash.states, st.crash.violations);
  ledger_record(s.name, 4, Trial::CrashState, st.recovery_crash.states, st.recovery_crash.violations);
  WARN(s.name << ": K=" << st.ops << " operations, " << st.crash.states << " crash states, "
              << st.recovery_crash.states << " recovery-crash states");
  CHECK(st.crash.violations == 0);
  CHECK(st.recovery_crash.violations == 0);
  CHECK(st.crash.states >= st.ops);
}

TEST_CASE("injected I/O errors: transactions on a file kept open by earlier commits (undo)") {
  Scenario s = kept_open_file();
  Tally t = inject_errors(s);
  for (const auto& m : t.messages) UNSCOPED_INFO(m);
  ledger_record(s.name, 5, Trial::InjectedError, t.states, t.violations);
  WARN(s.name << ": " << t.states << " injected errors, violations " << t.violations
              << "; HDF5 kept the id of a failed H5Fclose after " << t.hdf5_dangling_ids);
  CHECK(t.violations == 0);
  CHECK(t.states > 0);
}
