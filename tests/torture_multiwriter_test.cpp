// Crash-point enumeration with two writer processes interleaving their
// commit sequences on one redo store (issue 15; guarantees 1-4 of
// DESIGN.md, recorded in the reliability ledger like torture_crash_test).
//
// The two writers are two Store objects opened on one HOME through ONE
// FaultEnv, in one crash child (torture_harness.hpp). To the store's
// cross-process files they are two processes: every lock of procs/ and the
// LOCK is an open-file-description lock, which FaultEnv models per handle,
// so the second open finds the LOCK held (not alone: no recovery), each has
// its own registration and _temp names, commits take procs/commit in turn,
// and only the holder of procs/flusher flushes. The power cut at operation
// k stops both at once. After it, recovery (an open alone, then a close)
// must show every transaction whose commit() returned, chunk for chunk,
// none that never committed (no chunk of a transaction that was aborted,
// refused with ConflictError or not yet committed), and the one in flight
// all or nothing.
//
// One process's HDF5 library sees both Stores' data file handles; a data
// file cannot be open read-only in one Store while the other opens it
// read-write for a flush (HDF5 shares one file per process). Real
// processes have no such limit, so the scenarios keep every flush in the
// Store holding the flusher role while the other one is closed or has not
// read a data file since the last flush... see each scenario.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "test_util.hpp"
#include "torture_harness.hpp"
#include "torture_ledger.hpp"

using namespace h5tx;
using h5tx::testing::FaultEnv;
using namespace h5tx_test;

namespace {

constexpr size_t kBytes = 16 * 16 * 2;  // one chunk of u16 16x16

std::vector<uint8_t> value(uint32_t seed) {
  std::vector<uint8_t> v(kBytes);
  for (size_t i = 0; i < v.size(); i++) v[i] = uint8_t(seed * 131 + i * 3 + (i >> 7));
  return v;
}

// A write of chunk `c` of f.h5:/d with value(seed). `before`: the value it
// replaces as the writing transaction saw it (0: the fill value).
ChunkWrite put(Shape c, uint32_t seed, uint32_t before = 0) {
  return {"f.h5", "/d", std::move(c), value(seed), before ? value(before) : std::vector<uint8_t>(kBytes, 0)};
}

TxRecord tx_of(std::vector<ChunkWrite> w) {
  TxRecord r;
  r.writes = std::move(w);
  return r;
}

std::unique_ptr<Store> writer(FaultEnv& env) {
  return Store::open("/store", torture_options(env, Mode::Redo));
}

// f.h5:/d (u16 64x64, 16x16 chunks) with chunk (0,0) = value(1), flushed.
std::vector<TxRecord> prepare_store(FaultEnv& env) {
  auto store = Store::create("/store", torture_options(env, Mode::Redo));
  TxRecord rec = tx_of({put({0, 0}, 1)});
  rec.created_files = {"f.h5"};
  auto tx = store->begin();
  tx.create_file("f.h5");
  DatasetSpec spec;
  spec.dtype = DType::U16;
  spec.shape = {64, 64};
  spec.chunk = {16, 16};
  tx.create_dataset("f.h5", "/d", spec);
  write_all(tx, rec);
  tx.commit();
  store->close();
  return {rec};
}

// Writer A's first step in every scenario: a commit and a flush, so that A
// holds the flusher role (taken by its first batch) before B opens.
void a_takes_flusher_role(Store& a, const TxRecord& rec, Outcome& out) {
  auto tx = a.begin();
  write_all(tx, rec);
  commit_recorded(tx, rec, out);
  a.flush();
}

// After recovery: the default checks (G1-G3, G2 for the one in flight),
// and no chunk of a transaction that never committed is visible: every
// chunk any transaction of the scenario wrote shows the last committed
// value, or the fill value (chunks of the one in flight: G2 decides).
std::vector<std::string> check_two_writers(FaultEnv& env, const Scenario& plain,
                                           const std::vector<TxRecord>& every,
                                           const std::vector<TxRecord>& prepared, const Outcome& out) {
  std::vector<std::string> problems = check_state(env, plain, prepared, out);
  std::map<Shape, std::vector<uint8_t>> model;
  for (const auto* list : {&prepared, &out.committed})
    for (const auto& t : *list)
      for (const auto& w : t.writes) model[w.coords] = w.after;
  std::set<Shape> in_flight;
  if (out.in_flight)
    for (const auto& w : out.in_flight->writes) in_flight.insert(w.coords);
  auto store = Store::open("/store", torture_options(env, Mode::Redo));
  auto tx = store->begin(read_only_tx());
  std::set<Shape> seen;
  for (const auto& t : every) {
    for (const auto& w : t.writes) {
      if (in_flight.count(w.coords) || !seen.insert(w.coords).second) continue;
      auto it = model.find(w.coords);
      std::vector<uint8_t> want = it != model.end() ? it->second : std::vector<uint8_t>(kBytes, 0);
      if (tx.read_chunk("f.h5", "/d", w.coords) != want)
        problems.push_back("G1/G2: chunk (" + std::to_string(w.coords[0]) + "," +
                           std::to_string(w.coords[1]) +
                           ") is not the last committed value (an uncommitted or lost write)");
    }
  }
  tx.abort();
  store->close();
  return problems;
}

// A scenario over two writers: `every` lists every transaction act begins
// (committed or not), for check_two_writers.
Scenario two_writers(std::string name, std::vector<TxRecord> every,
                     std::function<void(FaultEnv&, Outcome&)> act) {
  Scenario s;
  s.name = std::move(name);
  s.mode = Mode::Redo;
  s.prepare = prepare_store;
  s.act = std::move(act);
  Scenario plain = s;
  s.check = [plain, every](FaultEnv& env, const std::vector<TxRecord>& prepared, const Outcome& out) {
    return check_two_writers(env, plain, every, prepared, out);
  };
  return s;
}

// A begins, B begins, A writes, B writes, B commits, A commits (the later
// committer's catch-up reads B's commit in the commit section); B commits
// again and flushes (nothing: A holds the flusher role); A flushes both
// processes' commits; B closes, A closes.
Scenario interleaved() {
  TxRecord a0 = tx_of({put({0, 1}, 10)});
  TxRecord a1 = tx_of({put({1, 0}, 11), put({1, 1}, 12)});
  TxRecord b1 = tx_of({put({2, 2}, 21), put({3, 3}, 22)});
  TxRecord b2 = tx_of({put({2, 2}, 23, 21), put({0, 1}, 24, 10)});
  return two_writers("two-writers-interleaved-redo", {a0, a1, b1, b2}, [=](FaultEnv& env, Outcome& out) {
    auto a = writer(env);
    a_takes_flusher_role(*a, a0, out);
    auto b = writer(env);
    auto ta = a->begin();
    auto tb = b->begin();
    write_all(ta, a1);
    write_all(tb, b1);
    commit_recorded(tb, b1, out);
    commit_recorded(ta, a1, out);
    auto tb2 = b->begin();
    write_all(tb2, b2);
    commit_recorded(tb2, b2, out);
    b->flush();  // not the flusher: returns, A applies them
    b->close();
    a->flush();
    a->close();
  });
}

// Both read chunk (0,0) and write it: B commits first, A's commit gets
// ConflictError (first committer wins) and none of it may ever show; A
// tries again on B's value and commits. B closes, then A (the flusher)
// flushes at its close.
Scenario conflict() {
  TxRecord a0 = tx_of({put({0, 1}, 10)});
  TxRecord b1 = tx_of({put({0, 0}, 30, 1), put({1, 1}, 31)});
  TxRecord a1 = tx_of({put({0, 0}, 40, 1), put({3, 0}, 41)});  // refused
  TxRecord a2 = tx_of({put({0, 0}, 50, 30), put({3, 1}, 51)});
  return two_writers("two-writers-conflict-redo", {a0, b1, a1, a2}, [=](FaultEnv& env, Outcome& out) {
    auto a = writer(env);
    a_takes_flusher_role(*a, a0, out);
    auto b = writer(env);
    auto ta = a->begin();
    auto tb = b->begin();
    (void)ta.read_chunk("f.h5", "/d", {0, 0});
    (void)tb.read_chunk("f.h5", "/d", {0, 0});
    write_all(ta, a1);
    write_all(tb, b1);
    commit_recorded(tb, b1, out);
    out.in_flight = a1;
    bool refused = false;
    try {
      ta.commit();
    } catch (const ConflictError&) {
      refused = true;
    }
    out.in_flight.reset();
    if (!refused) throw StateError("/store", "the later committer of a conflicting write was not refused");
    auto ta2 = a->begin();
    if (ta2.read_chunk("f.h5", "/d", {0, 0}) != value(30))
      throw StateError("/store", "A does not see B's committed value after the conflict");
    write_all(ta2, a2);
    commit_recorded(ta2, a2, out);
    b->close();
    a->close();
  });
}

// A holds the flusher role while B commits, then closes (flushing what it
// knows, B's commit included); B commits again, takes the free role at its
// flush (a taker's cleanup and full catch-up) and flushes.
Scenario takeover() {
  TxRecord a0 = tx_of({put({0, 1}, 10)});
  TxRecord b1 = tx_of({put({2, 0}, 60), put({2, 1}, 61)});
  TxRecord a1 = tx_of({put({0, 1}, 62, 10)});
  TxRecord b2 = tx_of({put({2, 1}, 63, 61), put({3, 2}, 64)});
  return two_writers("two-writers-flusher-takeover-redo", {a0, b1, a1, b2}, [=](FaultEnv& env, Outcome& out) {
    auto a = writer(env);
    a_takes_flusher_role(*a, a0, out);
    auto b = writer(env);
    auto tb = b->begin();
    write_all(tb, b1);
    commit_recorded(tb, b1, out);
    auto ta = a->begin();
    write_all(ta, a1);
    commit_recorded(ta, a1, out);
    a->close();  // flushes b1 and a1, lets go of the role
    auto tb2 = b->begin();
    write_all(tb2, b2);
    commit_recorded(tb2, b2, out);
    b->flush();  // takes the role
    b->close();
  });
}

void run(const Scenario& s) {
  // Fewer random seeds than the one-writer scenarios (about twice their
  // operations): 1 per crash point, scaled by H5TX_TORTURE_SCALE.
  int seeds = int(torture_scale(1));
  uint64_t budget = torture_scale(400);
  CrashRunStats st = enumerate_crashes(s, seeds, budget);
  for (const auto& m : st.crash.messages) UNSCOPED_INFO(m);
  for (const auto& m : st.recovery_crash.messages) UNSCOPED_INFO(m);
  for (int g = 1; g <= 3; ++g)
    ledger_record(s.name, g, Trial::CrashState, st.crash.states, st.crash.violations);
  ledger_record(s.name, 4, Trial::CrashState, st.recovery_crash.states, st.recovery_crash.violations);
  WARN(s.name << ": K=" << st.ops << " operations, " << st.crash.states << " crash states, "
              << st.recovery_crash.states << " recovery-crash states, violations " << st.crash.violations
              << " + " << st.recovery_crash.violations);
  CHECK(st.crash.violations == 0);
  CHECK(st.recovery_crash.violations == 0);
  CHECK(st.crash.states >= st.ops);
}

}  // namespace

TEST_CASE("crash points: two writer processes interleaving their commits (redo)") {
  run(interleaved());
}
TEST_CASE("crash points: two writer processes, a conflict refused and retried (redo)") {
  run(conflict());
}
TEST_CASE("crash points: two writer processes, the flusher role taken over (redo)") {
  run(takeover());
}
