// Reader processes next to a live writer process (issue 15, phase 1;
// formats/store-procs.md, design.md "Processes"): real processes,
// forked before the parent opens anything.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "flush/procs.hpp"
#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "store/redo_store.hpp"
#include "pair_store_util.hpp"
#include "test_util.hpp"

using namespace h5tx;

namespace {

using pair_test::filled;
using pair_test::first_value;
using pair_test::kChunk;
using pair_test::wait_status;

const char* kFile = "r.h5";
const char* kDs = "/pair";

bool uniform(const std::vector<uint8_t>& b) {
  for (size_t i = 0; i + 4 <= b.size(); i += 4)
    if (std::memcmp(b.data(), b.data() + i, 4) != 0) return false;
  return true;
}

Options writer_options() {
  Options o;
  o.mode = Mode::Redo;
  o.max_unflushed_transactions = 8;  // the flusher runs all the time
  o.flush_batch_transactions = 4;
  o.flush_delay = std::chrono::milliseconds(0);
  return o;
}

Options reader_options() {
  Options o;
  o.read_only = true;
  o.lock_timeout = std::chrono::seconds(30);
  return o;
}

// A store with r.h5:/pair (2 chunks), both chunks holding 1.
void make_store(const std::string& home) {
  pair_test::make_pair_store(home, writer_options(), kFile, kDs);
}

// Commits values 2..last, each transaction writing both chunks.
[[noreturn]] void writer_main(const std::string& home, uint32_t last) {
  pair_test::writer_main(home, writer_options(), kFile, kDs, last);
}

// Reads both chunks in one transaction after another until it sees `last`:
// exit 0 if every snapshot had equal chunks and none went back; 2 on an
// inconsistency; 3 if `last` was not seen in time. reopen: a new Store
// for every transaction (as the CLI does), else one Store throughout.
[[noreturn]] void reader_main(const std::string& home, uint32_t last, bool reopen, int report_fd) {
  try {
    std::unique_ptr<Store> s;
    uint32_t prev = 0, seen = 0, distinct = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (prev < last) {
      if (std::chrono::steady_clock::now() > deadline) ::_exit(3);
      if (!s || reopen) s = Store::open(home, reader_options());
      auto tx = s->begin();
      std::vector<uint8_t> a = tx.read_chunk(kFile, kDs, {0});
      std::this_thread::yield();  // let the writer and its flusher move on between the two reads
      std::vector<uint8_t> b = tx.read_chunk(kFile, kDs, {1});
      tx.abort();
      uint32_t va = first_value(a), vb = first_value(b);
      if (!uniform(a) || !uniform(b) || va != vb) {
        std::fprintf(stderr, "reader: inconsistent snapshot: %u and %u\n", va, vb);
        ::_exit(2);
      }
      if (va < prev) {
        std::fprintf(stderr, "reader: went back in time: %u after %u\n", va, prev);
        ::_exit(2);
      }
      if (va != prev) distinct++;
      prev = va;
      seen++;
    }
    uint32_t msg[2] = {seen, distinct};
    if (::write(report_fd, msg, sizeof msg) != sizeof msg) ::_exit(4);
    ::_exit(0);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reader: %s\n", e.what());
    ::_exit(1);
  }
}

std::vector<std::string> registrations(const std::string& home) {
  std::vector<std::string> out;
  for (const auto& n : Env::posix()->list_dir(home + "/procs"))
    if (n.compare(0, 5, "snap-") == 0) out.push_back(n);
  return out;
}

void consistent_reader_while_writing(bool reopen) {
  h5tx_test::TempDir dir("readers");
  const std::string home = dir / "s";
  make_store(home);
  const uint32_t last = reopen ? 150 : 400;
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t reader = ::fork();
  REQUIRE(reader >= 0);
  if (reader == 0) {
    ::close(fds[0]);
    reader_main(home, last, reopen, fds[1]);
  }
  ::close(fds[1]);
  pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) writer_main(home, last);
  CHECK(wait_status(writer) == 0);
  CHECK(wait_status(reader) == 0);
  uint32_t msg[2] = {0, 0};
  REQUIRE(::read(fds[0], msg, sizeof msg) == sizeof msg);
  ::close(fds[0]);
  INFO("snapshots read: " << msg[0] << ", distinct values seen: " << msg[1]);
  CHECK(msg[1] >= 2);  // it saw the store move while it read
  // The writer's close may have left transactions the reader still pinned;
  // the reader _exited without closing, so its registration file is left,
  // unlocked: the next writer ignores it and removes it at once.
  auto s = Store::open(home, writer_options());
  auto t0 = std::chrono::steady_clock::now();
  s->flush();
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2));
  CHECK(s->stats().pending_transactions == 0);
  CHECK(registrations(home).size() == 1);  // only the open writer's own (store format 3)
  auto tx = s->begin();
  CHECK(first_value(tx.read_chunk(kFile, kDs, {0})) == last);
  CHECK(first_value(tx.read_chunk(kFile, kDs, {1})) == last);
  tx.abort();
  s->close();
}

}  // namespace

TEST_CASE("a reader process sees consistent snapshots that never go back while a writer process commits") {
  consistent_reader_while_writing(false);
}

TEST_CASE("reader processes opening the store again and again see consistent, advancing snapshots") {
  consistent_reader_while_writing(true);
}

TEST_CASE("a live reader's snapshot holds the flusher back, a SIGKILLed reader's pins nothing") {
  h5tx_test::TempDir dir("readers");
  const std::string home = dir / "s";
  make_store(home);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t reader = ::fork();
  REQUIRE(reader >= 0);
  if (reader == 0) {
    ::close(fds[0]);
    try {
      auto s = Store::open(home, reader_options());
      auto tx = s->begin();  // registers its snapshot
      uint32_t v = first_value(tx.read_chunk(kFile, kDs, {0}));
      if (::write(fds[1], &v, sizeof v) != sizeof v) ::_exit(4);
      for (;;) ::pause();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "reader: %s\n", e.what());
      ::_exit(1);
    }
  }
  ::close(fds[1]);
  uint32_t v = 0;
  REQUIRE(::read(fds[0], &v, sizeof v) == sizeof v);
  ::close(fds[0]);
  CHECK(v == 1);
  REQUIRE(registrations(home).size() == 1);

  auto s = Store::open(home, writer_options());  // the reader does not keep the writer out
  for (uint32_t i = 2; i < 6; i++) {
    auto tx = s->begin();
    tx.write_chunk(kFile, kDs, {0}, filled(i));
    tx.write_chunk(kFile, kDs, {1}, filled(i));
    tx.commit();
  }
  // The live reader's snapshot pins the journal: nothing newer is applied.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(s->stats().pending_transactions == 4);

  ::kill(reader, SIGKILL);
  CHECK(wait_status(reader) == 128 + SIGKILL);
  // Its lock died with it: the flusher sees that at its next look.
  auto t0 = std::chrono::steady_clock::now();
  s->flush();
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took < std::chrono::seconds(2));
  CHECK(s->stats().pending_transactions == 0);
  CHECK(registrations(home).size() == 1);  // the stale registration is gone; the writer's own stays
  auto tx = s->begin();
  CHECK(first_value(tx.read_chunk(kFile, kDs, {1})) == 5);
  tx.abort();
  s->close();
}

TEST_CASE("a read-only open does not wait for a writer, and a writer opens next to a reader") {
  h5tx_test::TempDir dir("readers");
  const std::string home = dir / "s";
  make_store(home);
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  // The child waits in pause(): killed however this test ends (a failure
  // that left it alive kept ctest waiting on its output until the timeout).
  h5tx_test::ChildGuard guard{writer};
  if (writer == 0) {
    ::close(fds[0]);
    try {
      auto s = Store::open(home, writer_options());
      auto tx = s->begin();
      tx.write_chunk(kFile, kDs, {0}, filled(7));
      tx.write_chunk(kFile, kDs, {1}, filled(7));
      tx.commit();
      char c = 1;
      if (::write(fds[1], &c, 1) != 1) ::_exit(4);
      for (;;) ::pause();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "writer: %s\n", e.what());
      ::_exit(1);
    }
  }
  ::close(fds[1]);
  char c = 0;
  REQUIRE(::read(fds[0], &c, 1) == 1);
  ::close(fds[0]);
  {
    Options o = reader_options();
    o.lock_timeout = std::chrono::milliseconds(0);  // would be a BusyError at once with the LOCK
    auto r = Store::open(home, o);
    auto tx = r->begin();
    CHECK(first_value(tx.read_chunk(kFile, kDs, {0})) == 7);
    CHECK(first_value(tx.read_chunk(kFile, kDs, {1})) == 7);
    CHECK(tx.list_files() == std::vector<std::string>{kFile});
    tx.abort();
    // A second writer process opens next to it (store format 3).
    Options w = writer_options();
    auto second = Store::open(home, w);
    second->close();
  }
}

TEST_CASE("a writer's flusher waits for a read-only Store of the same process to close a data file") {
  // HDF5 opens a file once per process: while a read-only Store of this
  // process has r.h5 open, the writer's flusher cannot open it read-write.
  // It waits (as for a reader process), it does not fail.
  h5tx_test::TempDir dir("readers");
  const std::string home = dir / "s";
  make_store(home);
  auto r = Store::open(home, reader_options());
  {
    auto tx = r->begin();
    CHECK(first_value(tx.read_chunk(kFile, kDs, {0})) == 1);  // r.h5 now open in r
    tx.abort();
  }
  auto w = Store::open(home, writer_options());
  {
    auto tx = w->begin();
    tx.write_chunk(kFile, kDs, {0}, filled(9));
    tx.write_chunk(kFile, kDs, {1}, filled(9));
    tx.commit();
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the flusher tries meanwhile
  r->close();
  w->flush();  // would rethrow a flusher failure
  CHECK(w->stats().pending_transactions == 0);
  w->close();
  auto check = Store::open(home, reader_options());
  auto tx = check->begin();
  CHECK(first_value(tx.read_chunk(kFile, kDs, {0})) == 9);
  CHECK(first_value(tx.read_chunk(kFile, kDs, {1})) == 9);
}
