// Crash points of applying a transaction stream (store/importer.hpp, as
// `h5tx replicate --from -` does it): a full backup of a store is made, an
// incremental stream of six more transactions is written, and the apply is
// crashed (power cut, unsynced writes lost or kept at random) after each of
// its file-system operations in turn. After every crash the copy opens and
// holds exactly the source's state at one of the stream's txids (never half
// a transaction); applying the same stream again then ends equal to the
// source.
#include <catch2/catch.hpp>

#include <map>

#include "crash_child.hpp"
#include "h5tx/backup.hpp"
#include "h5tx/store.hpp"
#include "io/testing/fault_env.hpp"
#include "journal/tx_stream.hpp"
#include "store/byte_streams.hpp"
#include "store/importer.hpp"

using namespace h5tx;
using h5tx::testing::FaultEnv;
using h5tx_test::CrashChild;

namespace {

const std::string kSrc = "/src";
const std::string kCopy = "/copy";
const std::string kStream = "/inc";
constexpr uint64_t kChunk = 4;

Options fault_options(FaultEnv& env) {
  Options o;
  o.env = &env;
  o.background_flusher = false;
  return o;
}

// The store's content as text: extent, each chunk's values, the attribute.
std::string state(Store& s) {
  auto tx = s.begin(TxOptions{.read_only = true});
  std::string out;
  DatasetSpec spec = tx.dataset_spec("a.h5", "/d");
  out += "extent " + std::to_string(spec.shape[0]) + ":";
  for (uint64_t k = 0; k * kChunk < spec.shape[0]; k++) {
    std::vector<uint8_t> c = tx.read_chunk("a.h5", "/d", {k});
    for (size_t i = 0; i < c.size(); i += 4) out += " " + std::to_string(c[i]);
  }
  std::vector<std::string> attrs = tx.list_attributes("a.h5", "/d");
  for (const auto& a : attrs) out += " @" + a;
  tx.abort();
  return out;
}

std::string state_of(FaultEnv& env, const std::string& home) {
  Options o = fault_options(env);
  o.read_only = true;
  auto s = Store::open(home, o);
  std::string st = state(*s);
  s->close();
  return st;
}

// Applies the stream file to the copy, as replicate --from - does.
void apply_stream(FaultEnv& env) {
  Importer imp(kCopy, fault_options(env));
  FileSource src(&env, kStream);
  journal::StreamReader reader(&src, kStream);
  journal::StreamTx tx;
  while (reader.next(&tx)) imp.apply(tx);
  imp.close();
}

// The source, its full backup, and the stream; the source's state after
// the backup and after each streamed transaction.
std::vector<std::string> prepare(FaultEnv& env) {
  std::vector<std::string> states;
  auto s = Store::create(kSrc, fault_options(env));
  {
    auto tx = s->begin();
    tx.create_file("a.h5");
    DatasetSpec spec;
    spec.dtype = DType::U32;
    spec.shape = {3 * kChunk};
    spec.max_shape = {kUnlimited};
    spec.chunk = {kChunk};
    tx.create_dataset("a.h5", "/d", spec);
    std::vector<uint32_t> v(kChunk, 100);
    tx.write_chunk("a.h5", "/d", {0}, v.data(), v.size() * 4);
    tx.commit();
  }
  s->flush();
  BackupOptions b;
  b.store = fault_options(env);
  BackupResult full = backup(kSrc, kCopy, b);
  REQUIRE(full.txid > 0);
  states.push_back(state(*s));
  for (uint32_t j = 1; j <= 6; j++) {
    auto tx = s->begin();
    std::vector<uint32_t> v(kChunk, j);
    tx.write_chunk("a.h5", "/d", {j % 3}, v.data(), v.size() * 4);
    if (j == 4) {
      tx.extend_dataset("a.h5", "/d", {4 * kChunk});
      tx.write_chunk("a.h5", "/d", {3}, v.data(), v.size() * 4);
    }
    if (j == 5) {
      AttributeValue a;
      a.is_string = true;
      a.text = "five";
      tx.set_attribute("a.h5", "/d", "v", a);
    }
    tx.commit();
    if (j == 3) s->flush();  // some of them flushed in the source, some not
    states.push_back(state(*s));
  }
  BackupResult inc = backup_incremental(kSrc, kStream, b);
  CHECK(inc.transactions == 6);
  s->close();
  return states;
}

}  // namespace

TEST_CASE(
    "applying a stream crashed at every operation and applied again ends equal, never half a transaction") {
  FaultEnv start;
  const std::vector<std::string> states = prepare(start);
  std::map<std::string, int> state_index;
  for (size_t i = 0; i < states.size(); i++) state_index[states[i]] = int(i);
  REQUIRE(state_index.size() == states.size());  // every transaction changes the state
  REQUIRE(state_of(start, kCopy) == states.front());
  int crashes = 0;
  std::map<int, int> seen;  // state index after the crash -> count
  for (uint64_t k = 1;; k++) {
    CrashChild c = h5tx_test::run_crash_child(start, [&](FaultEnv& env) {
      env.crash_after(env.op_count() + k);
      apply_stream(env);
    });
    INFO("crash after operation " << k << ": " << c.error.value_or(""));
    REQUIRE_FALSE(c.error);
    if (!c.died) {
      REQUIRE(state_of(*c.env, kCopy) == states.back());
      break;
    }
    crashes++;
    std::unique_ptr<FaultEnv> env = std::move(c.env);
    h5tx::testing::CrashOptions co;
    co.keep_random_unsynced = k % 2 == 0;
    co.seed = k;
    env->crash(co);
    const std::string after = state_of(*env, kCopy);
    INFO("state after the crash: " << after);
    REQUIRE(state_index.count(after) == 1);
    seen[state_index[after]]++;
    apply_stream(*env);
    CHECK(state_of(*env, kCopy) == states.back());
    uint64_t pos = 0;
    REQUIRE(read_position(*env, kCopy, &pos));
  }
  INFO("crash points: " << crashes);
  CHECK(crashes > 50);
  CHECK(seen.size() == states.size());  // crashes left every prefix of the stream
}

TEST_CASE(
    "a full backup crashed at every operation leaves the source as it was and no complete-looking copy") {
  // The source: two transactions flushed into data/, two committed in the
  // journal only (its writer lost power before flushing them).
  CrashChild made = h5tx_test::run_crash_child(FaultEnv(), [&](FaultEnv& env) {
    auto s = Store::create(kSrc, fault_options(env));
    for (uint32_t j = 0; j < 4; j++) {
      auto tx = s->begin();
      if (j == 0) {
        tx.create_file("a.h5");
        DatasetSpec spec;
        spec.dtype = DType::U32;
        spec.shape = {3 * kChunk};
        spec.chunk = {kChunk};
        tx.create_dataset("a.h5", "/d", spec);
      }
      std::vector<uint32_t> v(kChunk, j + 1);
      tx.write_chunk("a.h5", "/d", {j % 3}, v.data(), v.size() * 4);
      tx.commit();
      if (j == 1) s->flush();
    }
    h5tx_test::die_now(env);
  });
  REQUIRE(made.died);
  FaultEnv& start = *made.env;
  start.crash();
  const std::string before = state_of(start, kSrc);
  REQUIRE(before == "extent 12: 4 4 4 4 2 2 2 2 3 3 3 3");
  int crashes = 0, complete = 0;
  for (uint64_t k = 1;; k++) {
    CrashChild c = h5tx_test::run_crash_child(start, [&](FaultEnv& env) {
      env.crash_after(env.op_count() + k);
      BackupOptions b;
      b.store = fault_options(env);
      backup(kSrc, kCopy, b);
    });
    INFO("crash after operation " << k << ": " << c.error.value_or(""));
    REQUIRE_FALSE(c.error);
    std::unique_ptr<FaultEnv> env = std::move(c.env);
    if (c.died) {
      crashes++;
      h5tx::testing::CrashOptions co;
      co.keep_random_unsynced = k % 2 == 0;
      co.seed = k;
      env->crash(co);
    }
    CHECK(state_of(*env, kSrc) == before);  // the source is unharmed
    uint64_t pos = 0;
    if (read_position(*env, kCopy, &pos)) {  // marked complete: then it is
      complete++;
      CHECK(state_of(*env, kCopy) == before);
    }
    if (!c.died) break;
  }
  INFO("crash points: " << crashes << ", complete copies: " << complete);
  CHECK(crashes > 30);
  CHECK(complete >= 1);
}
