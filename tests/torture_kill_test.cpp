// Guarantees 1-4 under real process kills: a child process commits in a
// loop and reports each txid to the parent over a pipe after commit()
// returns; the parent sends SIGKILL at random moments (during commits,
// flushes, and right after start, i.e. during recovery), reopens the store
// and checks that every reported transaction is complete and that no
// transaction is partly visible. Both modes. Rounds: H5TX_KILL_ROUNDS
// (default 150 per mode), or scaled by H5TX_TORTURE_SCALE.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <random>

#include "h5tx/store.hpp"
#include "test_util.hpp"
#include "torture_ledger.hpp"

using namespace h5tx;

namespace {

constexpr uint64_t kChunk = 1024;      // bytes per chunk (u8)
constexpr uint64_t kMaxSeq = 1 << 15;  // transactions per test
const char* kFile = "k.h5";
const char* kDs = "/seq";

// Transaction s writes chunks 2s and 2s+1; both carry s in every byte pair.
std::vector<uint8_t> pattern(uint64_t s, int half) {
  std::vector<uint8_t> v(kChunk);
  for (size_t i = 0; i < v.size(); i += 4) {
    uint32_t w = uint32_t(s * 2 + half) * 2654435761u;
    std::memcpy(&v[i], &w, 4);
  }
  return v;
}

Options options_for(Mode mode) {
  Options o;
  o.mode = mode;
  o.lock_timeout = std::chrono::seconds(10);
  o.max_unflushed_transactions = 8;  // flushes happen all the time
  o.flush_batch_transactions = 4;
  return o;
}

[[noreturn]] void child_main(const std::string& home, Mode mode, uint64_t start, int fd) {
  try {
    auto store = Store::open(home, options_for(mode));
    for (uint64_t s = start; s < kMaxSeq; ++s) {
      TxOptions to;
      to.check_conflicts = false;
      auto tx = store->begin(to);
      tx.write_chunk(kFile, kDs, {2 * s}, pattern(s, 0));
      tx.write_chunk(kFile, kDs, {2 * s + 1}, pattern(s, 1));
      tx.commit();
      uint64_t msg[2] = {s, tx.txid()};
      if (::write(fd, msg, sizeof msg) != sizeof msg) ::_exit(3);
    }
    store->close();
    ::_exit(0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kill child: %s\n", e.what());
    ::_exit(4);
  }
}

struct Verdict {
  uint64_t violations = 0;
  std::vector<std::string> messages;
};

// Checks transactions [from, to): reported ones complete, others all or nothing.
void verify(Store& store, const std::map<uint64_t, uint64_t>& reported, uint64_t from, uint64_t to,
            Verdict* v) {
  auto tx = store.begin({true, std::chrono::seconds(30), true});
  std::vector<uint8_t> fill(kChunk, 0);
  for (uint64_t s = from; s < to; ++s) {
    auto a = tx.read_chunk(kFile, kDs, {2 * s});
    auto b = tx.read_chunk(kFile, kDs, {2 * s + 1});
    bool a_new = a == pattern(s, 0), b_new = b == pattern(s, 1);
    bool a_old = a == fill, b_old = b == fill;
    if (reported.count(s) && !(a_new && b_new)) {
      ++v->violations;
      v->messages.push_back("reported transaction " + std::to_string(s) + " (txid " +
                            std::to_string(reported.at(s)) + ") is not complete");
    } else if (!((a_new && b_new) || (a_old && b_old))) {
      ++v->violations;
      v->messages.push_back("transaction " + std::to_string(s) + " is partly visible");
    }
  }
  tx.abort();
}

void run_kills(Mode mode, uint64_t rounds) {
  h5tx_test::TempDir dir("kill");
  std::string home = dir / "store";
  {
    auto store = Store::create(home, options_for(mode));
    auto tx = store->begin();
    tx.create_file(kFile);
    DatasetSpec spec;
    spec.dtype = DType::U8;
    spec.shape = {2 * kMaxSeq * kChunk};
    spec.chunk = {kChunk};
    tx.create_dataset(kFile, kDs, spec);
    tx.commit();
    store->close();
  }
  std::mt19937_64 rng(mode == Mode::Redo ? 1234 : 5678);
  std::map<uint64_t, uint64_t> reported;  // seq -> txid
  uint64_t next = 0;
  Verdict verdict;
  uint64_t kills = 0;
  for (uint64_t round = 0; round < rounds && next + 1000 < kMaxSeq; ++round) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      child_main(home, mode, next, fds[1]);
    }
    ::close(fds[1]);
    // Kill after a random delay: 0 lands in open/recovery, longer ones in
    // commits and flushes.
    int kind = int(rng() % 4);
    useconds_t delay = kind == 0 ? useconds_t(rng() % 3000) : useconds_t(5000 + rng() % 60000);
    ::usleep(delay);
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ++kills;
    uint64_t msg[2];
    uint64_t round_start = next;
    while (::read(fds[0], msg, sizeof msg) == sizeof msg) {
      reported[msg[0]] = msg[1];
      next = std::max(next, msg[0] + 1);
    }
    ::close(fds[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      FAIL("child failed before the kill, status " << WEXITSTATUS(status));
    // Reopen (recovery) and check this round's window; the whole range
    // every 10 rounds and at the end.
    auto store = Store::open(home, options_for(mode));
    bool full = round % 10 == 9 || round + 1 == rounds;
    verify(*store, reported, full ? 0 : (round_start > 4 ? round_start - 4 : 0), next + 2, &verdict);
    store->close();
    next += 2;  // skip past a possibly in-flight transaction
  }
  for (const auto& m : verdict.messages) UNSCOPED_INFO(m);
  std::string scenario = std::string("kill-") + (mode == Mode::Redo ? "redo" : "undo");
  h5tx_test::ledger_record(scenario, 1, h5tx_test::Trial::Kill, kills, verdict.violations);
  h5tx_test::ledger_record(scenario, 2, h5tx_test::Trial::Kill, kills, verdict.violations);
  h5tx_test::ledger_record(scenario, 3, h5tx_test::Trial::Kill, kills, 0);
  WARN(scenario << ": " << kills << " kills, " << reported.size()
                << " reported transactions, violations: " << verdict.violations);
  CHECK(verdict.violations == 0);
  CHECK(reported.size() > 0);
}

uint64_t rounds() {
  if (const char* r = std::getenv("H5TX_KILL_ROUNDS")) return std::strtoull(r, nullptr, 10);
  return h5tx_test::torture_scale(150);
}

}  // namespace

TEST_CASE("redo mode: SIGKILL at random moments loses no reported commit") {
  run_kills(Mode::Redo, rounds());
}

TEST_CASE("undo mode: SIGKILL at random moments loses no reported commit") {
  run_kills(Mode::Undo, rounds());
}
