// Several writer processes on one redo store (issue 15, phase 2;
// formats/store-procs.md, design.md "Processes"): real processes, each an
// exec of tests/mw_child.cpp, SIGKILLed at random moments.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "flush/orphan_temps.hpp"
#include "flush/procs.hpp"
#include "h5tx/backup.hpp"
#include "h5tx/env.hpp"
#include "journal/tx_dir.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "test_util.hpp"

using namespace h5tx;
using h5tx_test::TempDir;

namespace {

constexpr uint64_t kChunk = 64;  // u32 elements per chunk, as mw_child.cpp
constexpr uint64_t kSlots = 4096;

std::vector<uint8_t> filled(uint32_t v) {
  std::vector<uint32_t> w(kChunk, v);
  const uint8_t* p = reinterpret_cast<const uint8_t*>(w.data());
  return std::vector<uint8_t>(p, p + w.size() * 4);
}

Options options() {
  Options o;
  o.mode = Mode::Redo;
  o.lock_timeout = std::chrono::seconds(30);
  return o;
}

DatasetSpec u32(uint64_t chunks) {
  DatasetSpec spec;
  spec.dtype = DType::U32;
  spec.shape = {chunks * kChunk};
  spec.chunk = {kChunk};
  return spec;
}

// w.h5:/log and /pair, x.h5:/log2, c.h5:/ctr (all zero).
void make_store(const std::string& home) {
  auto s = Store::create(home, options());
  auto tx = s->begin();
  tx.create_file("w.h5");
  tx.create_file("x.h5");
  tx.create_file("c.h5");
  tx.create_dataset("w.h5", "/log", u32(kSlots));
  tx.create_dataset("w.h5", "/pair", u32(2));
  tx.create_dataset("x.h5", "/log2", u32(kSlots));
  tx.create_dataset("c.h5", "/ctr", u32(1));
  tx.write_chunk("w.h5", "/pair", {0}, filled(0));
  tx.write_chunk("w.h5", "/pair", {1}, filled(0));
  tx.write_chunk("c.h5", "/ctr", {0}, filled(0));
  tx.commit();
  s->close();
}

// Starts tests/mw_child.cpp with `args`; its stdout goes to `out` if given.
pid_t spawn(const std::vector<std::string>& args, const std::string& out = "") {
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!out.empty()) {
      FILE* f = std::freopen(out.c_str(), "w", stdout);
      (void)f;
    }
    std::vector<char*> argv;
    std::string prog = H5TX_MW_CHILD;
    argv.push_back(&prog[0]);
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(&a[0]);
    argv.push_back(nullptr);
    ::execv(prog.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool exists(const std::string& p) {
  return ::access(p.c_str(), F_OK) == 0;
}

void touch(const std::string& p) {
  std::ofstream(p).put('\n');
}

// "a b" lines of a ledger (a torn last line is ignored).
std::vector<std::pair<uint64_t, uint64_t>> ledger(const std::string& path) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    uint64_t a, b;
    if (l >> a >> b) out.emplace_back(a, b);
  }
  return out;
}

uint32_t value_of(const std::vector<uint8_t>& b) {
  uint32_t v;
  std::memcpy(&v, b.data(), 4);
  for (size_t i = 0; i + 4 <= b.size(); i += 4)
    if (std::memcmp(b.data(), b.data() + i, 4) != 0) return 0xffffffffu;  // not uniform
  return v;
}

// Every transaction the ledgers report is there, chunk for chunk; every
// other slot of the ranges handed out is all there or all absent.
void check_slots(const std::string& home, const std::map<uint64_t, uint64_t>& committed, uint64_t slots) {
  auto s = Store::open(home, options());
  auto tx = s->begin();
  uint64_t present = 0;
  for (uint64_t i = 0; i < slots; i++) {
    uint32_t a = value_of(tx.read_chunk("w.h5", "/log", {i}));
    uint32_t b = value_of(tx.read_chunk("x.h5", "/log2", {i}));
    INFO("slot " << i);
    CHECK(a == b);
    if (committed.count(i)) {
      CHECK(a == i + 1);
    } else {
      CHECK((a == 0 || a == i + 1));
    }
    present += a == i + 1;
  }
  uint32_t p0 = value_of(tx.read_chunk("w.h5", "/pair", {0}));
  CHECK(p0 == value_of(tx.read_chunk("w.h5", "/pair", {1})));
  CHECK(present >= committed.size());
  tx.abort();
  s->close();
}

}  // namespace

TEST_CASE("four writer processes, SIGKILLed and restarted, and a reader process") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  make_store(home);
  const std::string stop = dir.path() + "/stop";
  pid_t reader = spawn({"reader", home, stop}, dir.path() + "/reader.out");

  std::mt19937 rng(1234);
  struct Slot {
    pid_t pid = -1;
    std::string ledger;
  };
  std::vector<Slot> writers(4);
  std::vector<std::string> ledgers;
  uint64_t next_slot = 0, kills = 0, starts = 0;
  constexpr uint64_t kPerRun = 40;
  auto start = [&](Slot& w) {  // a new writer on the next free slots, if any are left
    w.pid = -1;
    if (next_slot + kPerRun > kSlots) return;
    w.ledger = dir.path() + "/ledger-" + std::to_string(starts++);
    ledgers.push_back(w.ledger);
    w.pid = spawn({"writer", home, w.ledger, std::to_string(next_slot), std::to_string(kPerRun)});
    next_slot += kPerRun;
  };
  for (auto& w : writers) start(w);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(12);
  while (std::chrono::steady_clock::now() < until && next_slot + kPerRun <= kSlots) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 150));
    for (auto& w : writers) {  // finished ones: successfully, and replaced
      int st = 0;
      if (w.pid > 0 && ::waitpid(w.pid, &st, WNOHANG) == w.pid) {
        INFO(w.ledger);
        REQUIRE(WIFEXITED(st));
        REQUIRE(WEXITSTATUS(st) == 0);
        start(w);
      }
    }
    Slot& victim = writers[rng() % writers.size()];
    if (victim.pid <= 0) continue;
    ::kill(victim.pid, SIGKILL);
    wait_status(victim.pid);
    kills++;
    start(victim);
  }
  for (auto& w : writers) {
    if (w.pid <= 0) continue;
    INFO(w.ledger);
    CHECK(wait_status(w.pid) == 0);
  }
  touch(stop);
  CHECK(wait_status(reader) == 0);
  std::ifstream rin(dir.path() + "/reader.out");
  uint64_t snapshots = 0;
  rin >> snapshots;
  CHECK(snapshots > 0);

  std::map<uint64_t, uint64_t> committed;  // slot -> txid
  std::set<uint64_t> txids;
  for (const auto& l : ledgers)
    for (const auto& [slot, txid] : ledger(l)) {
      committed[slot] = txid;
      CHECK(txids.insert(txid).second);  // txids are unique across processes
    }
  CHECK(kills > 0);
  CHECK(committed.size() > 4 * kPerRun);
  check_slots(home, committed, next_slot);
}

TEST_CASE("two processes incrementing one chunk: the result is the serial order of the commits") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  make_store(home);
  pid_t a = spawn({"incr", home, dir.path() + "/a", "60"});
  pid_t b = spawn({"incr", home, dir.path() + "/b", "60"});
  CHECK(wait_status(a) == 0);
  CHECK(wait_status(b) == 0);
  std::set<uint64_t> values;
  std::map<uint64_t, uint64_t> by_txid;  // txid -> value written
  for (const char* n : {"/a", "/b"})
    for (const auto& [v, txid] : ledger(dir.path() + n)) {
      CHECK(values.insert(v).second);  // no increment was lost or repeated
      by_txid[txid] = v;
    }
  CHECK(values.size() == 120);
  // In txid order, each commit wrote one more than the one before.
  uint64_t expect = 1;
  for (const auto& [txid, v] : by_txid) CHECK(v == expect++);
  auto s = Store::open(home, options());
  auto tx = s->begin();
  CHECK(value_of(tx.read_chunk("c.h5", "/ctr", {0})) == 120);
  tx.abort();
  s->close();
}

// A writer process (`mode`: victim or archiver) commits slots 0..5 and
// blocks inside its flush batch; a joiner opened next to it commits slots
// 100..104. `at_stall` runs while the victim is blocked; then the victim
// is SIGKILLed and the joiner flushes (taking the flusher role) and
// closes. Returns slot -> txid of everything the two committed.
std::map<uint64_t, uint64_t> kill_flusher_in_batch(const TempDir& dir, const std::string& home,
                                                   const std::string& mode,
                                                   const std::function<void()>& at_stall) {
  const std::string marker = dir.path() + "/stall";
  pid_t victim = spawn({mode, home, dir.path() + "/v", "6", marker});
  h5tx_test::ChildGuard vguard{victim};
  while (!exists(marker + ".ready")) {
    int st = 0;
    REQUIRE(::waitpid(victim, &st, WNOHANG) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_t joiner = spawn({"joiner", home, dir.path() + "/j", "100", "5", marker});
  h5tx_test::ChildGuard jguard{joiner};
  while (!exists(marker + ".joined") || ledger(dir.path() + "/j").size() < 5) {
    int st = 0;
    REQUIRE(::waitpid(joiner, &st, WNOHANG) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  touch(marker + ".go");
  while (!exists(marker)) {
    int st = 0;
    REQUIRE(::waitpid(victim, &st, WNOHANG) == 0);  // it stalls, never ends, inside the batch
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  at_stall();
  ::kill(victim, SIGKILL);
  CHECK(wait_status(victim) == 128 + SIGKILL);
  vguard.pid = -1;
  touch(marker + ".finish");
  CHECK(wait_status(joiner) == 0);
  jguard.pid = -1;
  std::map<uint64_t, uint64_t> committed;
  for (const char* n : {"/v", "/j"})
    for (const auto& [slot, txid] : ledger(dir.path() + n)) committed[slot] = txid;
  CHECK(committed.size() == 11);
  return committed;
}

TEST_CASE("the flusher role moves to another writer process when its holder dies inside a batch") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  make_store(home);
  auto committed = kill_flusher_in_batch(dir, home, "victim", [&] {
    // Stalled inside the batch: a data file written under its undo journal.
    bool undo = false;
    for (const auto& name : Env::posix()->list_dir(home + "/journal"))
      undo = undo || name.compare(0, 5, "undo_") == 0;
    CHECK(undo);
  });
  check_slots(home, committed, 105);
}

TEST_CASE(
    "a flusher that dies before it archives a batch a retention slot needs: the next flusher archives it, "
    "and the incremental backup holds every transaction") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  make_store(home);
  const std::string full = dir.path() + "/full";
  const uint64_t slot = backup(home, full).txid;  // the slot "backup" now needs every later transaction
  auto committed = kill_flusher_in_batch(dir, home, "archiver", [&] {
    // The victim's batch (its 6 and the joiner's commits it had seen) is
    // applied and renamed _flushed, not yet archived.
    size_t flushed = 0;
    for (const auto& name : Env::posix()->list_dir(home + "/journal"))
      flushed += name.find("_flushed") != std::string::npos;
    CHECK(flushed >= 6);
  });
  for (const auto& [s, txid] : committed) CHECK(txid > slot);
  const std::string inc = dir.path() + "/inc";
  BackupResult b = backup_incremental(home, inc);
  CHECK(b.from == slot);
  CHECK(b.transactions == committed.size());
  const std::string restored = dir.path() + "/restored";
  restore(restored, full, {inc});
  check_slots(restored, committed, 105);
}

TEST_CASE("two processes racing Store::create on one HOME: one creates, the other gets a clear error") {
  for (int round = 0; round < 5; round++) {
    TempDir dir;
    std::string home = dir.path() + "/store";
    const std::string go = dir.path() + "/go";
    pid_t a = spawn({"create", home, go});
    pid_t b = spawn({"create", home, go});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    touch(go);
    int sa = wait_status(a), sb = wait_status(b);
    INFO("exit statuses " << sa << " " << sb);
    CHECK(((sa == 0) != (sb == 0)));
    int loser = sa == 0 ? sb : sa;
    CHECK((loser == 3 || loser == 4));  // AlreadyExistsError or BusyError
    auto s = Store::open(home, options());
    s->close();
  }
}

TEST_CASE("an undo-mode store keeps one writer process: a second gets BusyError saying why") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  Options o = options();
  o.mode = Mode::Undo;
  o.lock_timeout = std::chrono::milliseconds(0);
  auto s = Store::create(home, o);
  try {
    Store::open(home, o);
    FAIL("a second writer of an undo-mode store opened");
  } catch (const BusyError& e) {
    CHECK(std::string(e.what()).find("undo-mode store has one writer process") != std::string::npos);
  }
  s->close();
}

TEST_CASE("a writer process whose flusher fails lets go of the flusher role: another process flushes") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  make_store(home);
  const std::string marker = dir.path() + "/fail";
  pid_t failer = spawn({"failer", home, dir.path() + "/v", "6", marker});
  while (!exists(marker + ".ready")) {
    int st = 0;
    REQUIRE(::waitpid(failer, &st, WNOHANG) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_t joiner = spawn({"joiner", home, dir.path() + "/j", "100", "5", marker});
  while (!exists(marker + ".joined") || ledger(dir.path() + "/j").size() < 5) {
    int st = 0;
    REQUIRE(::waitpid(joiner, &st, WNOHANG) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  touch(marker + ".go");
  while (!exists(marker + ".failed")) {
    int st = 0;
    REQUIRE(::waitpid(failer, &st, WNOHANG) == 0);  // alive, store open, flusher failed
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The joiner's flush takes the role the failed process let go of and
  // flushes everything (exit 1 if it could not).
  touch(marker + ".finish");
  CHECK(wait_status(joiner) == 0);
  CHECK(wait_status(failer) == 0);
  std::map<uint64_t, uint64_t> committed;
  for (const char* n : {"/v", "/j"})
    for (const auto& [slot, txid] : ledger(dir.path() + n)) committed[slot] = txid;
  CHECK(committed.size() == 11);
  check_slots(home, committed, 105);
}

TEST_CASE("a commit held by backpressure behind a stuck flusher process fails with BusyError naming it") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  make_store(home);
  const std::string marker = dir.path() + "/held";
  pid_t victim = spawn({"holder", home, dir.path() + "/v", "6", marker});
  while (!exists(marker)) {
    int st = 0;
    REQUIRE(::waitpid(victim, &st, WNOHANG) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(victim, SIGSTOP);  // holds the flusher role, flushes nothing
  const std::string out = dir.path() + "/room.out";
  pid_t room = spawn({"room", home, dir.path() + "/r", "200"}, out);
  CHECK(wait_status(room) == 4);
  std::ifstream in(out);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  INFO(text);
  CHECK(text.find("flusher role is held by process " + std::to_string(victim)) != std::string::npos);
  ::kill(victim, SIGKILL);
  CHECK(wait_status(victim) == 128 + SIGKILL);
  // Nothing was lost: every commit that returned is there.
  std::map<uint64_t, uint64_t> committed;
  for (const char* n : {"/v", "/r"})
    for (const auto& [slot, txid] : ledger(dir.path() + n)) committed[slot] = txid;
  check_slots(home, committed, 260);
}

TEST_CASE("the _temp directories of a SIGKILLed writer process are removed at once, a live one's never") {
  TempDir dir;
  std::string home = dir.path() + "/store";
  make_store(home);
  auto store = Store::open(home, options());  // the flusher process (takes the role at its first poll)
  const std::string marker = dir.path() + "/idle";
  pid_t idle = spawn({"idle", home, marker});
  // The idle process's _temp directories: its spares, named by its tag.
  auto temps_of = [&](uint64_t tag) {
    std::set<std::string> out;
    for (const auto& name : Env::posix()->list_dir(home + "/journal")) {
      uint64_t id = 0;
      journal::TxState state;
      if (journal::parse_tx_dir_name(name, &id, &state) && state == journal::TxState::Temp &&
          procs::tag_of_temp(id) == tag)
        out.insert(name);
    }
    return out;
  };
  std::set<std::string> before;
  for (const auto& name : Env::posix()->list_dir(home + "/procs")) before.insert(name);
  uint64_t tag = 0;
  for (int i = 0; i < 3000 && (tag == 0 || temps_of(tag).empty()); i++) {
    int st = 0;
    REQUIRE(::waitpid(idle, &st, WNOHANG) == 0);
    for (const auto& name : Env::posix()->list_dir(home + "/procs")) {
      uint64_t id = 0;
      if (procs::parse_registration_name(name, procs::kSnapPrefix, &id) && name.size() == 21 &&
          exists(marker) && !before.count(name) && !temps_of(procs::owner_tag(id)).empty())
        tag = procs::owner_tag(id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(tag != 0);
  std::set<std::string> live = temps_of(tag);
  // A sweep while it lives removes none of them.
  remove_orphan_temps(Env::posix(), home + "/journal", home + "/procs");
  for (const auto& name : live) CHECK(exists(home + "/journal/" + name));
  ::kill(idle, SIGKILL);
  CHECK(wait_status(idle) == 128 + SIGKILL);
  // The writer still open notices the dead registration at its next poll.
  for (int i = 0; i < 3000 && !temps_of(tag).empty(); i++)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(temps_of(tag).empty());
  store->close();
}
