// Crash-point enumeration, recovery-crash and error-injection loops over
// FaultEnv; see torture_harness.hpp.
#include "torture_harness.hpp"

#include "crash_child.hpp"
#include <hdf5.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace h5tx_test {

using h5tx::testing::CrashOptions;
using h5tx::testing::FaultEnv;

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
  if (!in_crash_child()) {
    std::fprintf(stderr, "power_cut_with_open_store outside a crash child\n");
    std::abort();
  }
  (void)store.release();  // never destroyed: a machine without power runs no code
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
std::optional<std::vector<uint8_t>> observe(h5tx::Transaction& tx, const std::set<std::string>& files,
                                            const Key& k) {
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

std::vector<std::string> check_state(FaultEnv& env, const Scenario& s, const std::vector<TxRecord>& prepared,
                                     const Outcome& out) {
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
      if (model.count(k))
        before = model[k];
      else if (!w.before.empty())
        before = w.before;
      bool is_after = got && *got == w.after;
      bool is_before = (!got && !before) || (got && before && *got == *before);
      if (is_after && is_before) continue;  // the write did not change the chunk
      if (is_after)
        ++as_after;
      else if (is_before)
        ++as_before;
      else
        ++neither;
    }
    for (const auto& f : out.in_flight->created_files) {
      if (model_files.count(f)) continue;
      if (files.count(f))
        ++as_after;
      else
        ++as_before;
    }
    if (neither || (as_after && as_before))
      problems.push_back("G2: the in-flight transaction is partly visible (" + std::to_string(as_after) +
                         " parts new, " + std::to_string(as_before) + " old, " + std::to_string(neither) +
                         " neither)");
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

// Act on a copy of `start`, in a crash child, dying after act's operation
// `crash_k` (0: never). Returns the child's Env (before the power cut) and
// what act knew.
struct ActRun {
  std::unique_ptr<FaultEnv> env;
  Outcome out;
  bool died = false;
};

ActRun act_in_child(const Scenario& s, const FaultEnv& start, uint64_t crash_k) {
  Outcome out;
  CrashChild c = run_crash_child(
      start,
      [&](FaultEnv& env) {
        if (crash_k) env.crash_after(env.op_count() + crash_k);
        s.act(env, out);
        out.finished = true;
      },
      [&] { return encode_outcome(out); });
  ActRun r;
  r.out = decode_outcome(c.payload);
  r.died = c.died;
  if (c.error) {
    r.out.error = c.error;
    r.out.error_path = c.error_path;
  }
  r.env = std::move(c.env);
  return r;
}

void report(Tally& t, const std::string& what, const std::vector<std::string>& problems) {
  ++t.states;
  for (const auto& p : problems) t.violation(what + ": " + p);
}

// Recovery, then the checks; a recovery that throws is a violation.
std::vector<std::string> recover_and_check(FaultEnv& env, const Scenario& s,
                                           const std::vector<TxRecord>& prepared, const Outcome& out) {
  try {
    QuietStderr quiet;
    recover(env, s);
  } catch (const std::exception& e) {
    return {std::string("recovery failed: ") + e.what()};
  }
  return check_state(env, s, prepared, out);
}

// How many operations a recovery of (a copy of) `crashed` makes.
uint64_t recovery_ops(const FaultEnv& crashed, const Scenario& s) {
  auto env = crashed.clone();
  uint64_t before = env->op_count();
  try {
    QuietStderr quiet;
    recover(*env, s);
  } catch (const std::exception&) {
  }
  return env->op_count() - before;
}

}  // namespace

Start prepare_start(const Scenario& s) {
  std::vector<TxRecord> recs;
  FaultEnv blank;
  CrashChild c = run_crash_child(
      blank, [&](FaultEnv& env) { recs = s.prepare(env); }, [&] { return encode_records(recs); });
  if (c.died || c.error)
    throw std::runtime_error("prepare of scenario " + s.name +
                             " failed: " + c.error.value_or("the Env died"));
  return Start{std::move(c.env), decode_records(c.payload)};
}

CrashRunStats enumerate_crashes(const Scenario& s, int random_seeds, uint64_t recovery_budget) {
  CrashRunStats st;
  const Start start = prepare_start(s);
  const uint64_t base = start.env->op_count();
  {
    ActRun full = act_in_child(s, *start.env, 0);
    if (!full.out.finished)
      throw std::runtime_error("scenario " + s.name +
                               " fails without faults: " + full.out.error.value_or("?"));
    st.ops = full.env->op_count() - base;
  }
  for (uint64_t k = 1; k <= st.ops; ++k) {
    // One child per crash point; every power cut of it on its own copy.
    ActRun r = act_in_child(s, *start.env, k);
    {
      auto env = r.env->clone();
      env->crash();
      report(st.crash, s.name + " crash after op " + std::to_string(k),
             recover_and_check(*env, s, start.prepared, r.out));
    }
    for (int seed = 1; seed <= random_seeds; ++seed) {
      auto env = r.env->clone();
      CrashOptions co;
      co.keep_random_unsynced = true;
      co.tear_sectors = true;
      co.seed = k * 7919 + uint64_t(seed);
      env->crash(co);
      report(st.crash,
             s.name + " random crash after op " + std::to_string(k) + " seed " + std::to_string(co.seed),
             recover_and_check(*env, s, start.prepared, r.out));
    }
  }
  // Guarantee 4: crash recovery itself at each of its operations, for crash
  // points k spread over the scenario, until the budget is spent.
  uint64_t spent = 0;
  uint64_t step = 1;
  if (st.ops > 0 && recovery_budget > 0) {
    ActRun probe = act_in_child(s, *start.env, st.ops / 2 + 1);
    probe.env->crash();
    uint64_t per_k = std::max<uint64_t>(1, recovery_ops(*probe.env, s));
    uint64_t ks = std::max<uint64_t>(1, recovery_budget / per_k);
    step = std::max<uint64_t>(1, st.ops / ks);
  }
  for (uint64_t k = 1; k <= st.ops && spent < recovery_budget; k += step) {
    ActRun r = act_in_child(s, *start.env, k);
    r.env->crash();
    const FaultEnv& crashed = *r.env;
    uint64_t rops = recovery_ops(crashed, s);
    for (uint64_t j = 1; j <= rops && spent < recovery_budget; ++j, ++spent) {
      CrashChild rc = run_crash_child(crashed, [&](FaultEnv& env) {
        env.crash_after(env.op_count() + j);
        recover(env, s);
      });
      if (rc.error) {
        st.recovery_crash.violation(s.name + ": recovery failed without a crash: " + *rc.error);
        continue;
      }
      rc.env->crash();
      report(st.recovery_crash,
             s.name + " crash after op " + std::to_string(k) + ", recovery crashed after op " +
                 std::to_string(j),
             recover_and_check(*rc.env, s, start.prepared, r.out));
    }
  }
  return st;
}

Tally inject_errors(const Scenario& s) {
  Tally t;
  const Start start = prepare_start(s);
  const uint64_t base = start.env->op_count();
  // How many operations act makes, and which are syncs (from a traced run).
  uint64_t ops = 0;
  std::set<uint64_t> syncs;
  std::map<uint64_t, std::string> op_text;  // act's op k -> its trace line
  {
    std::vector<std::string> trace;
    CrashChild c = run_crash_child(*start.env, [&](FaultEnv& env) {
      env.set_trace(true);
      Outcome out;
      s.act(env, out);
    });
    if (c.died || c.error) throw std::runtime_error("scenario " + s.name + " fails without faults");
    ops = c.env->op_count() - base;
    for (const auto& line : c.env->trace()) {
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
    Outcome out;
    int64_t dangling = 0;
    CrashChild c = run_crash_child(
        *start.env,
        [&](FaultEnv& env) {
          env.fail_at(base + f.k, f.err);
          try {
            s.act(env, out);
            out.finished = true;
          } catch (const h5tx::Error& e) {
            out.error = e.what();
            out.error_path = e.path();
          }
          dangling = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
        },
        [&] { return Bytes().u64(uint64_t(dangling)).str(encode_outcome(out)).data(); });
    {
      Bytes b(c.payload);
      dangling = int64_t(b.get_u64());
      out = decode_outcome(b.get_str());
    }
    std::string what = s.name + " errno " + std::to_string(f.err) + " at op " + std::to_string(f.k) + " (" +
                       op_text[f.k] + ")";
    std::vector<std::string> problems;
    if (!out.error)
      problems.push_back("G5: the injected error did not surface as an h5tx::Error");
    else if (out.error_path->empty())
      problems.push_back("G5: the error names no path: " + *out.error);
    if (dangling > 0) t.hdf5_dangling_ids++;
    FaultEnv& env = *c.env;
    env.clear_faults();
    env.crash();  // nothing unsynced is assumed to have reached the disk
    auto more = recover_and_check(env, s, start.prepared, out);
    problems.insert(problems.end(), more.begin(), more.end());
    report(t, what, problems);
  }
  return t;
}

// ---- Outcome and TxRecord as bytes ----

namespace {

void put_record(Bytes& b, const TxRecord& r) {
  b.u64(r.writes.size());
  for (const auto& w : r.writes) {
    b.str(w.file).str(w.dataset);
    b.u64(w.coords.size());
    for (uint64_t c : w.coords) b.u64(c);
    b.str(std::string(w.after.begin(), w.after.end()));
    b.str(std::string(w.before.begin(), w.before.end()));
  }
  b.u64(r.created_files.size());
  for (const auto& f : r.created_files) b.str(f);
}

TxRecord get_record(Bytes& b) {
  TxRecord r;
  for (uint64_t n = b.get_u64(); n > 0; n--) {
    ChunkWrite w;
    w.file = b.get_str();
    w.dataset = b.get_str();
    for (uint64_t m = b.get_u64(); m > 0; m--) w.coords.push_back(b.get_u64());
    std::string after = b.get_str(), before = b.get_str();
    w.after.assign(after.begin(), after.end());
    w.before.assign(before.begin(), before.end());
    r.writes.push_back(std::move(w));
  }
  for (uint64_t n = b.get_u64(); n > 0; n--) r.created_files.push_back(b.get_str());
  return r;
}

void put_optional(Bytes& b, const std::optional<std::string>& v) {
  b.u64(v.has_value());
  if (v) b.str(*v);
}

std::optional<std::string> get_optional(Bytes& b) {
  if (!b.get_u64()) return std::nullopt;
  return b.get_str();
}

}  // namespace

std::string encode_records(const std::vector<TxRecord>& recs) {
  Bytes b;
  b.u64(recs.size());
  for (const auto& r : recs) put_record(b, r);
  return b.data();
}

std::vector<TxRecord> decode_records(const std::string& bytes) {
  Bytes b(bytes);
  std::vector<TxRecord> recs;
  for (uint64_t n = b.get_u64(); n > 0; n--) recs.push_back(get_record(b));
  return recs;
}

std::string encode_outcome(const Outcome& out) {
  Bytes b;
  b.str(encode_records(out.committed));
  b.u64(out.in_flight.has_value());
  if (out.in_flight) put_record(b, *out.in_flight);
  b.u64(out.finished);
  put_optional(b, out.error);
  put_optional(b, out.error_path);
  return b.data();
}

Outcome decode_outcome(const std::string& bytes) {
  Bytes b(bytes);
  Outcome out;
  out.committed = decode_records(b.get_str());
  if (b.get_u64()) out.in_flight = get_record(b);
  out.finished = b.get_u64() != 0;
  out.error = get_optional(b);
  out.error_path = get_optional(b);
  return out;
}

}  // namespace h5tx_test
