// Crash-point enumeration, recovery crashes and I/O error injection for
// each scenario of the torture suite (guarantees 1-5 of DESIGN.md), with
// the figures recorded in the reliability ledger.
//
// Scale: H5TX_TORTURE_SCALE multiplies the random seeds per crash point and
// the recovery-crash budget (default: 3 seeds, 1000 recovery crashes per scenario).
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <tuple>

#include "h5tx/error.hpp"
#include "h5tx/staged.hpp"
#include "h5tx/store.hpp"
#include "h5tx/undo.hpp"
#include "hdf5/handle.hpp"
#include "journal/history_segment.hpp"
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
  write_all(tx, rec);
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
    write_all(tx, rec);
    commit_recorded(tx, rec, out);
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
    write_all(tx, rec);
    commit_recorded(tx, rec, out);
    store->close();
  };
  return s;
}

// Redo only: commits into recycled transaction directories (a flushed
// directory renamed back into use, its MANIFEST overwritten in place, cut
// shorter by the second commit and grown by the third). With `spill`, every
// chunk goes to the spill file, which is recycled too.
Scenario recycled_dirs(bool spill) {
  Scenario s;
  s.name = spill ? "recycled-spill-redo" : "recycled-dirs-redo";
  s.mode = Mode::Redo;
  s.prepare = [](FaultEnv& env) { return prepare_one_file(env, Mode::Redo); };
  s.act = [spill](FaultEnv& env, Outcome& out) {
    Options o = torture_options(env, Mode::Redo);
    if (spill) o.spill_chunk_bytes = 1;
    auto store = Store::open("/store", o);
    std::vector<TxRecord> recs(3);
    recs[0].writes = {cw("f.h5", "/d", {0, 0}, 2, bytes(kChunkBytes, 1)), cw("f.h5", "/d", {1, 1}, 3)};
    recs[1].writes = {cw("f.h5", "/d", {0, 0}, 4, bytes(kChunkBytes, 2))};
    recs[2].writes = {cw("f.h5", "/d", {1, 1}, 5, bytes(kChunkBytes, 3)), cw("f.h5", "/d", {0, 1}, 6),
                      cw("f.h5", "/d", {1, 0}, 7)};
    for (auto& rec : recs) {
      auto tx = store->begin();
      write_all(tx, rec);
      commit_recorded(tx, rec, out);
      store->flush();
    }
    store->close();
  };
  return s;
}

// Redo only: a staged transaction (Dask atomic stores, formats/redo-manifest.md
// "Staged parts"): two StagedWriters (as two worker processes would) write
// part files into a staging directory, a transaction adopts their records
// and commits; then a flush. The staging directory is the transaction's own
// (Transaction::stage()), or (`takeover`) one Store::stage() made, owned by
// no transaction (Dask's compute=False atomic stores), which adopt(records,
// token) takes over with one rename. A crash before the commit's rename
// leaves nothing of it (the directory is garbage under either name), one
// after it keeps all of it.
Scenario staged_transaction(bool takeover) {
  Scenario s;
  s.name = takeover ? "staged-takeover-redo" : "staged-tx-redo";
  s.mode = Mode::Redo;
  s.prepare = [](FaultEnv& env) { return prepare_one_file(env, Mode::Redo); };
  s.act = [takeover](FaultEnv& env, Outcome& out) {
    auto store = open(env, Mode::Redo);
    TxRecord rec;
    rec.writes = {cw("f.h5", "/d", {0, 0}, 2, bytes(kChunkBytes, 1)), cw("f.h5", "/d", {1, 1}, 3),
                  cw("f.h5", "/d", {3, 2}, 4)};
    auto tx = store->begin();
    std::string token = takeover ? store->stage() : tx.stage();
    DatasetSpec spec = tx.dataset_spec("f.h5", "/d");
    std::vector<StagedChunk> records;
    for (size_t part = 0; part < 2; part++) {
      StagedWriter w(token, &env);
      for (size_t i = part; i < rec.writes.size(); i += 2) {
        const ChunkWrite& c = rec.writes[i];
        w.write_chunk(c.file, c.dataset, spec, c.coords, c.after.data(), c.after.size());
      }
      for (auto& r : w.finish()) records.push_back(std::move(r));
    }
    if (takeover)
      tx.adopt(records, token);
    else
      tx.adopt(records);
    commit_recorded(tx, rec, out);
    store->flush();
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
      write_all(tx, rec);
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

// History (formats/history.md). The chunk values visible as of every txid
// from OLDEST up, in txid order with repeats dropped: must be the states
// after each committed transaction (state 0: before the first), from the
// one OLDEST shows on. Catalog versions ride along: the extend must show
// exactly from its txid on (a chunk beyond the old extent is unreadable).
std::vector<std::string> check_history(FaultEnv& env, const std::vector<TxRecord>& prepared,
                                       const Outcome& out, bool packed) {
  std::vector<std::string> problems;
  std::vector<TxRecord> all = prepared;
  all.insert(all.end(), out.committed.begin(), out.committed.end());
  std::set<std::tuple<std::string, std::string, Shape>> keys;
  for (const auto& r : all)
    for (const auto& w : r.writes) keys.insert({w.file, w.dataset, w.coords});
  auto state_text = [&](std::map<std::tuple<std::string, std::string, Shape>, std::vector<uint8_t>>& m) {
    std::string t;
    for (const auto& k : keys) {
      auto it = m.find(k);
      t += it == m.end() ? std::string("-") : std::string(it->second.begin(), it->second.end());
      t += "|";
    }
    return t;
  };
  std::vector<std::string> expected;
  {
    std::map<std::tuple<std::string, std::string, Shape>, std::vector<uint8_t>> m;
    expected.push_back(state_text(m));
    for (const auto& r : all) {
      for (const auto& w : r.writes) m[{w.file, w.dataset, w.coords}] = w.after;
      expected.push_back(state_text(m));
    }
  }
  Options o = torture_options(env, Mode::Redo);
  o.read_only = true;
  auto store = Store::open("/store", o);
  uint64_t oldest = store->stats().history_oldest;
  std::vector<std::string> seen;
  for (uint64_t t = oldest; t < oldest + 100000; t++) {
    TxOptions a = read_only_tx();
    a.as_of = t;
    std::unique_ptr<Transaction> tx;
    try {
      tx = std::make_unique<Transaction>(store->begin(a));
    } catch (const InvalidArgumentError&) {
      break;  // not committed: past the newest
    } catch (const Error& e) {
      problems.push_back("history: as of txid " + std::to_string(t) + ": " + e.what());
      break;
    }
    std::map<std::tuple<std::string, std::string, Shape>, std::vector<uint8_t>> m;
    try {
      auto files = tx->list_files();
      for (const auto& k : keys) {
        const auto& [f, d, c] = k;
        if (std::find(files.begin(), files.end(), f) == files.end()) continue;
        auto ds = tx->list_datasets(f);
        if (std::find(ds.begin(), ds.end(), d) == ds.end()) continue;
        DatasetSpec sp = tx->dataset_spec(f, d);
        bool inside = true;
        for (size_t i = 0; i < c.size(); i++) inside = inside && c[i] * sp.chunk[i] < sp.shape[i];
        if (!inside) continue;
        std::vector<uint8_t> v = tx->read_chunk(f, d, c);
        if (v != kFill) m[k] = v;
      }
    } catch (const Error& e) {
      problems.push_back("history: reading as of txid " + std::to_string(t) + ": " + e.what());
      break;
    }
    std::string text = state_text(m);
    if (seen.empty() || seen.back() != text) seen.push_back(text);
  }
  if (!packed && oldest != 0) problems.push_back("history: OLDEST moved without a pack");
  // The states seen must be a suffix of the expected sequence ending with
  // the newest (an in-flight transaction may have committed too).
  std::vector<std::string> with_inflight = expected;
  if (out.in_flight) {
    std::map<std::tuple<std::string, std::string, Shape>, std::vector<uint8_t>> m;
    for (const auto& r : all)
      for (const auto& w : r.writes) m[{w.file, w.dataset, w.coords}] = w.after;
    for (const auto& w : out.in_flight->writes) m[{w.file, w.dataset, w.coords}] = w.after;
    with_inflight.push_back(state_text(m));
  }
  auto is_suffix = [&](const std::vector<std::string>& exp) {
    if (seen.empty() || seen.size() > exp.size()) return false;
    return std::equal(seen.begin(), seen.end(), exp.end() - seen.size());
  };
  if (problems.empty() && !is_suffix(expected) && !is_suffix(with_inflight))
    problems.push_back("history: the states as of the retained txids (" + std::to_string(seen.size()) +
                       " distinct) are not the committed sequence (" + std::to_string(expected.size()) + ")");
  if (problems.empty() && !packed && seen.size() < expected.size())
    problems.push_back("history: states lost without a pack (" + std::to_string(seen.size()) + " of " +
                       std::to_string(expected.size()) + ")");
  return problems;
}

// A redo store with history, three committed transactions overwriting
// chunks and extending the dataset, left unflushed: act = recovery + the
// flush that moves the replaced versions into history/.
Scenario history_flush(bool pack) {
  Scenario s;
  s.name = pack ? "history-pack-redo" : "history-flush-redo";
  s.mode = Mode::Redo;
  s.prepare = [pack](FaultEnv& env) {
    Options o = torture_options(env, Mode::Redo);
    o.history = true;
    auto store = Store::create("/store", o);
    std::vector<TxRecord> recs;
    DatasetSpec sp = spec_2d();
    sp.shape = {32, 64};
    sp.max_shape = {64, 64};
    {
      TxRecord rec;
      rec.created_files = {"f.h5"};
      rec.writes = {cw("f.h5", "/d", {0, 0}, 1), cw("f.h5", "/d", {1, 1}, 2)};
      auto tx = store->begin();
      tx.create_file("f.h5");
      tx.create_dataset("f.h5", "/d", sp);
      write_all(tx, rec);
      tx.commit();
      recs.push_back(rec);
    }
    store->flush();
    for (uint32_t i = 0; i < 3; ++i) {
      TxRecord rec;
      rec.writes = {cw("f.h5", "/d", {0, 0}, 10 + i, recs.back().writes[0].after)};
      if (i == 1) rec.writes.push_back(cw("f.h5", "/d", {3, 2}, 20));  // beyond the old extent
      if (i == 2) rec.writes.push_back(cw("f.h5", "/d", {1, 1}, 30, bytes(kChunkBytes, 2)));
      auto tx = store->begin();
      if (i == 1) tx.extend_dataset("f.h5", "/d", {64, 64});
      write_all(tx, rec);
      tx.commit();
      recs.push_back(rec);
      // Pack: the last two transactions share a segment, which the pack
      // (to the txid before the newest) straddles and rewrites.
      if (pack && i != 1) store->flush();
    }
    power_cut_with_open_store(env, std::move(store));
    return recs;
  };
  if (pack) {
    s.act = [](FaultEnv& env, Outcome&) {
      // Keeps reads as of the txid before the newest segment's: drops the others.
      uint64_t newest = 0;
      for (const auto& n : env.list_dir("/store/history")) {
        uint64_t first = 0, last = 0;
        if (journal::parse_segment_name(n, &first, &last)) newest = std::max(newest, last);
      }
      PackOptions p;
      p.before = newest - 1;
      Store::pack("/store", p, torture_options(env, Mode::Redo));
    };
  } else {
    s.act = [](FaultEnv& env, Outcome&) {
      auto store = open(env, Mode::Redo);
      store->flush();
      store->close();
    };
  }
  Scenario plain = s;
  s.check = [plain, pack](FaultEnv& env, const std::vector<TxRecord>& prepared, const Outcome& out) {
    std::vector<std::string> problems = check_state(env, plain, prepared, out);
    for (auto& p : check_history(env, prepared, out, pack)) problems.push_back(p);
    return problems;
  };
  return s;
}

// The sec2j seed scenario on a bare HDF5 file under the undo driver: one
// transaction creates group bbic/volume/0 with attribute width = 640 and
// overwrites a dataset. After recovery the file opens and shows all of it
// or none of it (all of it once commit returned).
const char* kBare = "/bare.h5";
std::vector<uint8_t> bare_bytes(uint32_t seed) {
  return bytes(64 * 1024, seed);
}

void write_bare_dataset(hid_t file, const std::vector<uint8_t>& v, bool create) {
  hdf5::Handle d;
  if (create) {
    hsize_t n = v.size();
    hdf5::Handle space(H5Screate_simple(1, &n, nullptr), "H5Screate_simple");
    d = hdf5::Handle(H5Dcreate2(file, "/d", H5T_NATIVE_UINT8, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                     "H5Dcreate2", "/d");
  } else {
    d = hdf5::Handle(H5Dopen2(file, "/d", H5P_DEFAULT), "H5Dopen2", "/d");
  }
  hdf5::check(H5Dwrite(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
}

Scenario bare_undo_file() {
  Scenario s;
  s.name = "bare-file-undo-driver";
  s.mode = Mode::Undo;
  s.prepare = [](FaultEnv& env) {
    UndoOptions o;
    o.env = &env;
    auto f = UndoFile::create(kBare, o);
    write_bare_dataset(f.hid(), bare_bytes(1), true);
    f.close();
    // Outside a transaction the driver is plain sec2: make the starting file durable.
    env.open(kBare, OpenMode::ReadWrite)->sync();
    env.sync_dir("/");
    return std::vector<TxRecord>{};
  };
  s.act = [](FaultEnv& env, Outcome& out) {
    UndoOptions o;
    o.env = &env;
    auto f = UndoFile::open(kBare, o);
    auto tx = f.begin();
    out.in_flight = TxRecord{};
    {
      hdf5::Lock l(hdf5::mutex());
      hdf5::Handle g = hdf5::ensure_group(f.hid(), "/bbic/volume/0");
      hdf5::Handle space(H5Screate(H5S_SCALAR), "H5Screate");
      hdf5::Handle a(H5Acreate2(g, "width", H5T_NATIVE_INT32, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
      int32_t width = 640;
      hdf5::check(H5Awrite(a, H5T_NATIVE_INT32, &width), "H5Awrite");
      write_bare_dataset(f.hid(), bare_bytes(2), false);
    }
    tx.commit();
    out.committed.push_back(*out.in_flight);
    out.in_flight.reset();
    f.close();
  };
  s.recover = [](FaultEnv& env) {
    UndoOptions o;
    o.env = &env;
    UndoFile::open(kBare, o).close();  // a read-write open reverts a pending journal
  };
  s.check = [](FaultEnv& env, const std::vector<TxRecord>&, const Outcome& out) {
    std::vector<std::string> problems;
    try {
      UndoOptions o;
      o.env = &env;
      o.read_only = true;
      auto f = UndoFile::open(kBare, o);
      hdf5::Lock l(hdf5::mutex());
      bool group = hdf5::link_exists(f.hid(), "/bbic/volume/0");
      bool width_ok = false;
      if (group) {
        int32_t w = 0;
        hdf5::Handle a(H5Aopen_by_name(f.hid(), "/bbic/volume/0", "width", H5P_DEFAULT, H5P_DEFAULT),
                       "H5Aopen_by_name");
        hdf5::check(H5Aread(a, H5T_NATIVE_INT32, &w), "H5Aread");
        width_ok = w == 640;
      }
      std::vector<uint8_t> v(64 * 1024);
      hdf5::Handle d(H5Dopen2(f.hid(), "/d", H5P_DEFAULT), "H5Dopen2", "/d");
      hdf5::check(H5Dread(d, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dread");
      bool is_new = group && width_ok && v == bare_bytes(2);
      bool is_old = !group && v == bare_bytes(1);
      if (!out.committed.empty() && !is_new) problems.push_back("G1: the committed transaction is lost");
      if (!is_new && !is_old) problems.push_back("G2: the transaction is partly visible");
    } catch (const std::exception& e) {
      problems.push_back(std::string("G3: the file does not open or read: ") + e.what());
    }
    return problems;
  };
  return s;
}

void run_scenario(const Scenario& s, int guarantee_mask = 0) {
  (void)guarantee_mask;
  int seeds = int(torture_scale(3));
  uint64_t budget = torture_scale(1000);
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

void run_errors(const Scenario& s) {
  Tally t = inject_errors(s);
  for (const auto& m : t.messages) UNSCOPED_INFO(m);
  ledger_record(s.name, 5, Trial::InjectedError, t.states, t.violations);
  WARN(s.name << ": " << t.states << " injected errors, violations " << t.violations
              << "; HDF5 kept the id of a failed H5Fclose after " << t.hdf5_dangling_ids);
  CHECK(t.violations == 0);
  CHECK(t.states > 0);
}

}  // namespace

TEST_CASE("crash points: small transaction (redo)") {
  run_scenario(small_transaction(Mode::Redo));
}
TEST_CASE("crash points: three files with catalog operations (redo)") {
  run_scenario(three_files_with_catalog(Mode::Redo));
}
TEST_CASE("crash points: flush batch (redo)") {
  run_scenario(flush_batch());
}
TEST_CASE("crash points: commits into recycled directories (redo)") {
  run_scenario(recycled_dirs(false));
}
TEST_CASE("crash points: commits into recycled spill files (redo)") {
  run_scenario(recycled_dirs(true));
}
TEST_CASE("crash points: a flush that moves replaced versions into history (redo)") {
  run_scenario(history_flush(false));
}
TEST_CASE("crash points: pack of history (redo)") {
  run_scenario(history_flush(true));
}
TEST_CASE("crash points: staged transaction, parts from two writers (redo)") {
  run_scenario(staged_transaction(false));
}

TEST_CASE("crash points: staging directory of Store::stage() taken over by a transaction (redo)") {
  run_scenario(staged_transaction(true));
}
TEST_CASE("crash points: small transaction over one file (undo)") {
  run_scenario(small_transaction(Mode::Undo));
}
TEST_CASE("crash points: three files with catalog operations (undo)") {
  run_scenario(three_files_with_catalog(Mode::Undo));
}

TEST_CASE("crash points: undo driver transaction on a bare HDF5 file (sec2j seed)") {
  run_scenario(bare_undo_file());
}

TEST_CASE("injected I/O errors: small transaction (redo)") {
  run_errors(small_transaction(Mode::Redo));
}
TEST_CASE("injected I/O errors: flush batch (redo)") {
  run_errors(flush_batch());
}
TEST_CASE("injected I/O errors: commits into recycled directories (redo)") {
  run_errors(recycled_dirs(false));
}
TEST_CASE("injected I/O errors: commits into recycled spill files (redo)") {
  run_errors(recycled_dirs(true));
}
TEST_CASE("injected I/O errors: staged transaction, parts from two writers (redo)") {
  run_errors(staged_transaction(false));
}

TEST_CASE("injected I/O errors: staging directory of Store::stage() taken over by a transaction (redo)") {
  run_errors(staged_transaction(true));
}
TEST_CASE("injected I/O errors: three files (undo)") {
  run_errors(three_files_with_catalog(Mode::Undo));
}
TEST_CASE("injected I/O errors: three files with catalog operations (redo)") {
  run_errors(three_files_with_catalog(Mode::Redo));
}
TEST_CASE("injected I/O errors: a flush into history (redo)") {
  run_errors(history_flush(false));
}
TEST_CASE("injected I/O errors: undo driver transaction on a bare HDF5 file") {
  run_errors(bare_undo_file());
}
