// As-of reads in a reader process while a writer process commits and its
// flusher moves replaced versions into history/ (real processes, forked
// before the parent opens anything): every as-of read is consistent (both
// chunks of one transaction), the same txid always reads the same state,
// and states never go back as the txid grows; a pack running meanwhile in
// a third process never breaks a read it allowed.
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>

#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "pair_store_util.hpp"
#include "test_util.hpp"

using namespace h5tx;

namespace {

using pair_test::filled;
using pair_test::first_value;
using pair_test::wait_status;

const char* kFile = "h.h5";
const char* kDs = "/pair";

Options writer_options() {
  Options o;
  o.max_unflushed_transactions = 8;
  o.flush_batch_transactions = 3;
  o.flush_delay = std::chrono::milliseconds(0);
  return o;
}

[[noreturn]] void writer_main(const std::string& home, uint32_t last) {
  pair_test::writer_main(home, writer_options(), kFile, kDs, last);
}

// Packs every few milliseconds, keeping the newest `keep` txids it knows of.
[[noreturn]] void packer_main(const std::string& home, int rounds) {
  try {
    for (int i = 0; i < rounds; i++) {
      uint64_t last = 0;
      {
        Options o;
        o.read_only = true;
        o.lock_timeout = std::chrono::seconds(30);
        last = Store::open(home, o)->stats().last_txid;
      }
      if (last > 20) {
        PackOptions p;
        p.before = last - 20;
        Store::pack(home, p);
      }
      ::usleep(20000);
    }
    ::_exit(0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "packer: %s\n", e.what());
    ::_exit(1);
  }
}

// Reads as of random committed txids until the writer's last value shows:
// exit 0 if all held; 2 on a violation; 3 on time out.
[[noreturn]] void reader_main(const std::string& home, uint32_t last, int report_fd) {
  try {
    Options o;
    o.read_only = true;
    o.lock_timeout = std::chrono::seconds(30);
    auto s = Store::open(home, o);
    std::map<uint64_t, uint32_t> seen;
    std::mt19937_64 rng(9);
    uint32_t reads = 0, refused = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    bool saw_last = false;
    while (!saw_last || reads < 50) {
      if (std::chrono::steady_clock::now() > deadline) ::_exit(3);
      uint64_t newest = s->stats().last_txid;
      if (newest == 0) continue;
      uint64_t t = 1 + rng() % newest;
      TxOptions a = read_only_tx();
      a.as_of = t;
      Transaction tx;
      try {
        tx = s->begin(a);
      } catch (const NotFoundError&) {
        refused++;  // packed away
        continue;
      }
      uint32_t va = first_value(tx.read_chunk(kFile, kDs, {0}));
      std::this_thread::yield();
      uint32_t vb = first_value(tx.read_chunk(kFile, kDs, {1}));
      tx.abort();
      if (va != vb) {
        std::fprintf(stderr, "reader: as of %llu: %u and %u\n", (unsigned long long)t, va, vb);
        ::_exit(2);
      }
      auto it = seen.find(t);
      if (it != seen.end() && it->second != va) {
        std::fprintf(stderr, "reader: as of %llu: %u, earlier %u\n", (unsigned long long)t, va, it->second);
        ::_exit(2);
      }
      seen[t] = va;
      saw_last = saw_last || va == last;
      reads++;
    }
    uint32_t prev = 0;
    for (const auto& [t, v] : seen) {
      if (v < prev) {
        std::fprintf(stderr, "reader: as of %llu: %u after %u\n", (unsigned long long)t, v, prev);
        ::_exit(2);
      }
      prev = v;
    }
    uint32_t msg[3] = {reads, uint32_t(seen.size()), refused};
    if (::write(report_fd, msg, sizeof msg) != sizeof msg) ::_exit(4);
    ::_exit(0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reader: %s\n", e.what());
    ::_exit(1);
  }
}

}  // namespace

TEST_CASE(
    "as-of reads in a reader process stay consistent and repeatable while a writer process flushes and a "
    "pack runs") {
  h5tx_test::TempDir dir("history-readers");
  const std::string home = dir / "s";
  Options create = writer_options();
  create.history = true;
  pair_test::make_pair_store(home, create, kFile, kDs);
  const uint32_t last = 300;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t reader = ::fork();
  REQUIRE(reader >= 0);
  if (reader == 0) {
    ::close(fds[0]);
    reader_main(home, last, fds[1]);
  }
  ::close(fds[1]);
  pid_t packer = ::fork();
  REQUIRE(packer >= 0);
  if (packer == 0) packer_main(home, 40);
  pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) writer_main(home, last);
  CHECK(wait_status(writer) == 0);
  CHECK(wait_status(packer) == 0);
  CHECK(wait_status(reader) == 0);
  uint32_t msg[3] = {0, 0, 0};
  REQUIRE(::read(fds[0], msg, sizeof msg) == sizeof msg);
  ::close(fds[0]);
  INFO("as-of reads: " << msg[0] << ", distinct txids: " << msg[1] << ", refused (packed): " << msg[2]);
  CHECK(msg[1] >= 10);
  // Afterwards, in this process: every txid from OLDEST on reads a value
  // that never goes back, and the newest reads the last value.
  auto s = Store::open(home, writer_options());
  StoreStats st = s->stats();
  uint32_t prev = 0;
  for (uint64_t t = st.history_oldest;; t++) {
    TxOptions a = read_only_tx();
    a.as_of = t;
    Transaction tx;
    try {
      tx = s->begin(a);
    } catch (const InvalidArgumentError&) {
      break;  // past the newest committed txid
    }
    uint32_t v = first_value(tx.read_chunk(kFile, kDs, {0}));
    CHECK(v >= prev);
    CHECK(v == first_value(tx.read_chunk(kFile, kDs, {1})));
    prev = v;
  }
  CHECK(prev == last);
}
