// Crash-point enumeration, recovery-crash and error-injection loops over
// FaultEnv; see torture_harness.hpp.
#include "torture_harness.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>

namespace h5tx_test {

using h5tx::testing::CrashOptions;
using h5tx::testing::FaultEnv;
using h5tx::testing::SimulatedCrash;

QuietStderr::QuietStderr() {
  if (std::getenv("H5TX_TORTURE_VERBOSE")) return;
  std::fflush(stderr);
  saved_ = ::dup(2);
  int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  ::dup2(devnull, 2);
  ::close(devnull);
}

QuietStderr::~QuietStderr() {
  if (saved_ < 0) return;
  std::fflush(stderr);
  ::dup2(saved_, 2);
  ::close(saved_);
}

void write_all(h5tx::Transaction& tx, const TxRecord& rec) {
  for (const auto& w : rec.writes) tx.write_chunk(w.file, w.dataset, w.coords, w.after);
}

void commit_recorded(h5tx::Transaction& tx, const TxRecord& rec, Outcome& out) {
  out.in_flight = rec;
  tx.commit();
  out.committed.push_back(rec);
  out.in_flight.reset();
}

void power_cut_with_open_store(FaultEnv& env, std::unique_ptr<h5tx::Store> store) {
  env.crash_after(env.op_count());
  {
    QuietStderr quiet;
    store.reset();
  }
  env.crash();
}

h5tx::Options torture_options(FaultEnv& env, h5tx::Mode mode) {
  h5tx::Options o;
  o.env = &env;
  o.mode = mode;
  o.background_flusher = false;
  return o;
}

void recover(FaultEnv& env, const Scenario& s) {
  if (s.recover) return s.recover(env);
  auto store = h5tx::Store::open(s.home, torture_options(env, s.mode));
  store->close();
}

namespace {

struct Key {
  std::string file, dataset;
  h5tx::Shape coords;
  bool operator<(const Key& o) const {
    return std::tie(file, dataset, coords) < std::tie(o.file, o.dataset, o.coords);
  }
};

std::string describe(const Key& k) {
  std::ostringstream s;
  s << k.file << ":" << k.dataset << "[";
  for (size_t i = 0; i < k.coords.size(); ++i) s << (i ? "," : "") << k.coords[i];
  s << "]";
  return s.str();
}

// The chunk as the store shows it, or nullopt if its file or dataset is absent.
std::optional<std::vector<uint8_t>> observe(h5tx::Transaction& tx,
                                            const std::set<std::string>& files, const Key& k) {
  if (!files.count(k.file)) return std::nullopt;
  try {
    return tx.read_chunk(k.file, k.dataset, k.coords);
  } catch (const h5tx::NotFoundError&) {
    return std::nullopt;
  }
}

// Guarantee 3: every file in data/ opens and every chunk of every dataset reads.
void check_readable(h5tx::Transaction& tx, std::vector<std::string>* problems) {
  for (const auto& f : tx.list_files()) {
    for (const auto& d : tx.list_datasets(f)) {
      h5tx::DatasetSpec spec = tx.dataset_spec(f, d);
      size_t rank = spec.shape.size();
      h5tx::Shape n(rank), c(rank, 0);
      uint64_t total = 1;
      for (size_t i = 0; i < rank; ++i) {
        n[i] = (spec.shape[i] + spec.chunk[i] - 1) / spec.chunk[i];
        total *= n[i];
      }
      for (uint64_t i = 0; i < total && total < 100000; ++i) {
        uint64_t r = i;
        for (size_t j = rank; j-- > 0;) {
          c[j] = r % n[j];
          r /= n[j];
        }
        try {
          tx.read_chunk(f, d, c);
        } catch (const h5tx::Error& e) {
          problems->push_back(std::string("G3: chunk of ") + f + ":" + d + " does not read: " + e.what());
          return;
        }
      }
    }
  }
}

}  // namespace

std::vector<std::string> check_state(FaultEnv& env, const Scenario& s,
                                     const std::vector<TxRecord>& prepared, const Outcome& out) {
  if (s.check) return s.check(env, prepared, out);
  std::vector<std::string> problems;
  std::map<Key, std::vector<uint8_t>> model;
  std::set<std::string> model_files;
  auto apply = [&](const TxRecord& t) {
    for (const auto& f : t.created_files) model_files.insert(f);
    for (const auto& w : t.writes) model[{w.file, w.dataset, w.coords}] = w.after;
  };
  for (const auto& t : prepared) apply(t);
  for (const auto& t : out.committed) apply(t);

  std::unique_ptr<h5tx::Store> store;
  try {
    store = h5tx::Store::open(s.home, torture_options(env, s.mode));
  } catch (const std::exception& e) {
    problems.push_back(std::string("G3: store does not open after recovery: ") + e.what());
    return problems;
  }
  auto tx = store->begin({true, std::chrono::seconds(10), true});
  auto listed = tx.list_files();
  std::set<std::string> files(listed.begin(), listed.end());

  std::set<Key> in_flight_keys;
  if (out.in_flight)
    for (const auto& w : out.in_flight->writes) in_flight_keys.insert({w.file, w.dataset, w.coords});

  // Guarantee 1: everything committed (and prepared) is there.
  for (const auto& f : model_files)
    if (!files.count(f)) problems.push_back("G1: committed file " + f + " is missing");
  for (const auto& [k, v] : model) {
    if (in_flight_keys.count(k)) continue;
    auto got = observe(tx, files, k);
    if (!got || *got != v) problems.push_back("G1: committed chunk " + describe(k) + " lost or wrong");
  }
  // Guarantee 2: the in-flight transaction is all there or absent.
  if (out.in_flight) {
    int as_after = 0, as_before = 0, neither = 0;
    for (const auto& w : out.in_flight->writes) {
      Key k{w.file, w.dataset, w.coords};
      auto got = observe(tx, files, k);
      std::optional<std::vector<uint8_t>> before;
      if (model.count(k)) before = model[k];
      else if (!w.before.empty()) before = w.before;
      bool is_after = got && *got == w.after;
      bool is_before = (!got && !before) || (got && before && *got == *before);
      if (is_after && is_before) continue;  // the write did not change the chunk
      if (is_after) ++as_after;
      else if (is_before) ++as_before;
      else ++neither;
    }
    for (const auto& f : out.in_flight->created_files) {
      if (model_files.count(f)) continue;
      if (files.count(f)) ++as_after;
      else ++as_before;
    }
    if (neither || (as_after && as_before))
      problems.push_back("G2: the in-flight transaction is partly visible (" +
                         std::to_string(as_after) + " parts new, " + std::to_string(as_before) +
                         " old, " + std::to_string(neither) + " neither)");
  }
  check_readable(tx, &problems);
  tx.abort();
  try {
    store->close();
  } catch (const std::exception& e) {
    problems.push_back(std::string("G3: closing the recovered store failed: ") + e.what());
  }
  return problems;
}

namespace {

struct Run {
  std::unique_ptr<FaultEnv> env;
  std::vector<TxRecord> prepared;
  Outcome out;
  uint64_t base = 0;  // op count before act
};

// prepare, then act with the Env dying after act's operation `crash_k`
// (0: never) or failing operation `fail_k` with `err`.
Run run_act(const Scenario& s, uint64_t crash_k, uint64_t fail_k = 0, int err = 0) {
  Run r;
  r.env = std::make_unique<FaultEnv>();
  r.prepared = s.prepare(*r.env);
  r.base = r.env->op_count();
  if (crash_k) r.env->crash_after(r.base + crash_k);
  if (fail_k) r.env->fail_at(r.base + fail_k, err);
  QuietStderr quiet;
  try {
    s.act(*r.env, r.out);
    r.out.finished = true;
  } catch (const SimulatedCrash&) {
  } catch (const h5tx::Error& e) {
    if (!r.env->dead()) {
      r.out.error = e.what();
      r.out.error_path = e.path();
    }
  }
  return r;
}

void report(Tally& t, const std::string& what, const std::vector<std::string>& problems) {
  ++t.states;
  for (const auto& p : problems) t.violation(what + ": " + p);
}

// Recovery, then the checks; a recovery that throws is a violation.
std::vector<std::string> recover_and_check(Run& r, const Scenario& s) {
  try {
    QuietStderr quiet;
    recover(*r.env, s);
  } catch (const std::exception& e) {
    return {std::string("recovery failed: ") + e.what()};
  }
  return check_state(*r.env, s, r.prepared, r.out);
}

}  // namespace

CrashRunStats enumerate_crashes(const Scenario& s, int random_seeds, uint64_t recovery_budget) {
  CrashRunStats st;
  {
    Run full = run_act(s, 0);
    if (!full.out.finished)
      throw std::runtime_error("scenario " + s.name + " fails without faults: " +
                               full.out.error.value_or("?"));
    st.ops = full.env->op_count() - full.base;
  }
  uint64_t recovery_ops_seen = 0;
  for (uint64_t k = 1; k <= st.ops; ++k) {
    {
      Run r = run_act(s, k);
      r.env->crash();
      report(st.crash, s.name + " crash after op " + std::to_string(k), recover_and_check(r, s));
    }
    for (int seed = 1; seed <= random_seeds; ++seed) {
      Run r = run_act(s, k);
      CrashOptions co;
      co.keep_random_unsynced = true;
      co.tear_sectors = true;
      co.seed = k * 7919 + uint64_t(seed);
      r.env->crash(co);
      report(st.crash, s.name + " random crash after op " + std::to_string(k) + " seed " +
                           std::to_string(co.seed),
             recover_and_check(r, s));
    }
  }
  // Guarantee 4: crash recovery itself at each of its operations, for crash
  // points k spread over the scenario, until the budget is spent.
  uint64_t spent = 0;
  uint64_t step = 1;
  if (st.ops > 0 && recovery_budget > 0) {
    Run probe = run_act(s, st.ops / 2 + 1);
    probe.env->crash();
    uint64_t before = probe.env->op_count();
    try {
      QuietStderr quiet;
      recover(*probe.env, s);
    } catch (const std::exception&) {
    }
    recovery_ops_seen = probe.env->op_count() - before;
    uint64_t per_k = recovery_ops_seen ? recovery_ops_seen : 1;
    uint64_t ks = std::max<uint64_t>(1, recovery_budget / per_k);
    step = std::max<uint64_t>(1, st.ops / ks);
  }
  for (uint64_t k = 1; k <= st.ops && spent < recovery_budget; k += step) {
    uint64_t rops;
    {
      Run r = run_act(s, k);
      r.env->crash();
      uint64_t before = r.env->op_count();
      try {
        QuietStderr quiet;
        recover(*r.env, s);
      } catch (const std::exception&) {
      }
      rops = r.env->op_count() - before;
    }
    for (uint64_t j = 1; j <= rops && spent < recovery_budget; ++j, ++spent) {
      Run r = run_act(s, k);
      r.env->crash();
      r.env->crash_after(r.env->op_count() + j);
      try {
        QuietStderr quiet;
        recover(*r.env, s);
      } catch (const SimulatedCrash&) {
      } catch (const h5tx::Error&) {
        if (!r.env->dead()) {
          st.recovery_crash.violation(s.name + ": recovery failed without a crash");
          continue;
        }
      }
      r.env->crash();
      report(st.recovery_crash,
             s.name + " crash after op " + std::to_string(k) + ", recovery crashed after op " +
                 std::to_string(j),
             recover_and_check(r, s));
    }
  }
  return st;
}

Tally inject_errors(const Scenario& s) {
  Tally t;
  Run full = run_act(s, 0);
  uint64_t ops = full.env->op_count() - full.base;
  // Which of act's operations are syncs (from a traced run).
  std::set<uint64_t> syncs;
  std::map<uint64_t, std::string> op_text;  // act's op k -> its trace line
  {
    auto env = std::make_unique<FaultEnv>();
    s.prepare(*env);
    uint64_t base = env->op_count();
    env->set_trace(true);
    Outcome out;
    QuietStderr quiet;
    s.act(*env, out);
    for (const auto& line : env->trace()) {
      if (line.empty() || line[0] != '#') continue;
      std::istringstream in(line.substr(1));
      uint64_t idx;
      std::string op;
      in >> idx >> op;
      if (idx > base) op_text[idx - base] = line;
      if (idx > base && op.find("sync") != std::string::npos) syncs.insert(idx - base);
    }
  }
  struct Fault {
    uint64_t k;
    int err;
  };
  std::vector<Fault> faults;
  for (uint64_t k = 1; k <= ops; ++k) {
    faults.push_back({k, EIO});
    faults.push_back({k, ENOSPC});
  }
  for (uint64_t k : syncs) faults.push_back({k, EIO});  // the "failed fsync" pass
  for (const auto& f : faults) {
    Run r = run_act(s, 0, f.k, f.err);
    std::string what = s.name + " errno " + std::to_string(f.err) + " at op " + std::to_string(f.k) +
                       " (" + op_text[f.k] + ")";
    std::vector<std::string> problems;
    if (!r.out.error)
      problems.push_back("G5: the injected error did not surface as an h5tx::Error");
    else if (r.out.error_path->empty())
      problems.push_back("G5: the error names no path: " + *r.out.error);
    r.env->clear_faults();
    r.env->crash();  // nothing unsynced is assumed to have reached the disk
    auto more = recover_and_check(r, s);
    problems.insert(problems.end(), more.begin(), more.end());
    report(t, what, problems);
  }
  return t;
}

}  // namespace h5tx_test
