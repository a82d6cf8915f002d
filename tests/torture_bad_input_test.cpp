// Guarantee 6: bad input gets a clear error naming the file and changes
// nothing. Every file of a store with committed-unflushed transactions
// (MANIFESTs, chunk files, h5tx.store, TXID) and every pending undo journal
// is truncated, bit-flipped, extended and replaced with garbage; each
// variant is opened. Either the open fails with an h5tx::Error whose
// message names the damaged file (or its transaction directory) and the
// store is byte-for-byte unchanged, or, for a mutation that leaves valid
// content (a TXID digit changed to another digit), every committed chunk
// still reads back. Also: a newer format version, stray entries in
// journal/, and a second writer process.
#include <catch2/catch.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>

#include "h5tx/store.hpp"
#include "crash_child.hpp"
#include "test_util.hpp"
#include "torture_harness.hpp"
#include "torture_ledger.hpp"

using namespace h5tx;
using h5tx::testing::FaultEnv;
using namespace h5tx_test;

namespace {

constexpr size_t kChunkBytes = 16 * 16 * 2;

std::vector<uint8_t> chunk_bytes(uint32_t seed) {
  std::vector<uint8_t> v(kChunkBytes);
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t((i * 31 + seed * 17) ^ (i >> 3));
  return v;
}

struct Committed {
  std::string file, ds;
  Shape coords;
  std::vector<uint8_t> bytes;
};

// A redo store with two committed, unflushed transactions (the power cut
// keeps exactly what commit made durable). In a crash child: see below.
std::vector<Committed> build_redo_in(FaultEnv& env) {
  Options o = torture_options(env, Mode::Redo);
  std::vector<Committed> out;
  auto store = Store::create("/store", o);
  {
    auto tx = store->begin();
    tx.create_file("f.h5");
    DatasetSpec s;
    s.dtype = DType::U16;
    s.shape = {64, 64};
    s.chunk = {16, 16};
    tx.create_dataset("f.h5", "/d", s);
    tx.write_chunk("f.h5", "/d", {0, 0}, chunk_bytes(1));
    tx.set_message("first");
    tx.commit();
    out.push_back({"f.h5", "/d", {0, 0}, chunk_bytes(1)});
    auto tx2 = store->begin();
    tx2.write_chunk("f.h5", "/d", {1, 2}, chunk_bytes(2));
    tx2.set_metadata("k", "v");
    tx2.commit();
    out.push_back({"f.h5", "/d", {1, 2}, chunk_bytes(2)});
  }
  power_cut_with_open_store(env, std::move(store));
  return out;
}

// The store of build_redo_in, built once in a crash child (the power cut
// with the store open ends a process), and what it committed.
struct RedoStore {
  std::unique_ptr<FaultEnv> env;
  std::vector<Committed> committed;
};

const RedoStore& redo_store() {
  static const RedoStore built = [] {
    std::vector<Committed> committed;
    FaultEnv blank;
    CrashChild c = run_crash_child(
        blank, [&](FaultEnv& env) { committed = build_redo_in(env); },
        [&] {
          Bytes b;
          b.u64(committed.size());
          for (const auto& c : committed) {
            b.str(c.file).str(c.ds).u64(c.coords.size());
            for (uint64_t x : c.coords) b.u64(x);
            b.str(std::string(c.bytes.begin(), c.bytes.end()));
          }
          return b.data();
        });
    if (c.died || c.error) throw std::runtime_error("building the test store failed");
    RedoStore r;
    Bytes b(c.payload);
    for (uint64_t n = b.get_u64(); n > 0; n--) {
      Committed x;
      x.file = b.get_str();
      x.ds = b.get_str();
      for (uint64_t m = b.get_u64(); m > 0; m--) x.coords.push_back(b.get_u64());
      std::string bytes = b.get_str();
      x.bytes.assign(bytes.begin(), bytes.end());
      r.committed.push_back(std::move(x));
    }
    r.env = std::move(c.env);
    return r;
  }();
  return built;
}

// A fresh copy of that store.
std::unique_ptr<FaultEnv> build_redo() {
  return redo_store().env->clone();
}

std::map<std::string, std::string> snapshot(FaultEnv& env) {
  std::map<std::string, std::string> m;
  for (const auto& f : env.list_durable_files()) m[f] = env.durable_contents(f);
  return m;
}

void put(FaultEnv& env, const std::string& path, const std::string& contents) {
  auto f = env.open(path, OpenMode::CreateTrunc);
  if (!contents.empty()) f->write(0, contents.data(), contents.size());
  f->sync();
}

std::vector<std::pair<std::string, std::string>> mutations(const std::string& orig, uint64_t seed) {
  std::vector<std::pair<std::string, std::string>> v;
  size_t n = orig.size();
  v.push_back({"empty", ""});
  if (n > 1) v.push_back({"truncated to half", orig.substr(0, n / 2)});
  if (n > 0) v.push_back({"last byte cut", orig.substr(0, n - 1)});
  for (size_t off : {size_t(0), size_t(8), size_t(16), size_t(33), n / 4, n / 2, 3 * n / 4, n > 9 ? n - 9 : 0,
                     n ? n - 1 : 0}) {
    if (off >= n) continue;
    std::string m = orig;
    m[off] = char(m[off] ^ 0x01);
    v.push_back({"bit flipped at " + std::to_string(off), m});
  }
  v.push_back({"garbage appended", orig + std::string("\x7f garbage\n", 10)});
  std::mt19937_64 rng(seed);
  std::string g(n ? n : 64, '\0');
  for (auto& c : g) c = char(rng());
  v.push_back({"replaced with garbage", g});
  return v;
}

bool names(const std::string& message, const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  std::string dir = path.substr(0, path.rfind('/'));
  std::string dir_base = dir.substr(dir.rfind('/') + 1);
  return message.find(path) != std::string::npos ||
         (message.find(dir_base) != std::string::npos && message.find(base) != std::string::npos) ||
         (base.rfind("chunk", 0) == 0 && message.find(dir_base) != std::string::npos);
}

}  // namespace

TEST_CASE("damaged store files: clear error naming the file, nothing changed") {
  const auto& committed = redo_store().committed;
  auto base = snapshot(*redo_store().env);
  uint64_t tried = 0, violations = 0, accepted = 0;
  for (const auto& [path, contents] : base) {
    if (path.find("/data/") != std::string::npos) continue;  // HDF5 files: see the check tool's tests
    if (path.find("/LOCK") != std::string::npos) continue;   // content is informational
    for (const auto& [what, bad] : mutations(contents, tried)) {
      ++tried;
      auto env_ptr = build_redo();
      FaultEnv& env = *env_ptr;
      put(env, path, bad);
      auto before = snapshot(env);
      std::string error;
      try {
        QuietStderr quiet;
        auto store = Store::open("/store", torture_options(env, Mode::Redo));
        // Opened: acceptable only if everything committed reads back intact.
        auto tx = store->begin({true, std::chrono::seconds(10), true});
        for (const auto& c : committed)
          if (tx.read_chunk(c.file, c.ds, c.coords) != c.bytes) error = "committed chunk changed";
        tx.abort();
        store->close();
        if (!error.empty()) {
          ++violations;
          UNSCOPED_INFO(path << " " << what << ": opened but " << error);
        } else {
          ++accepted;
        }
        continue;
      } catch (const Error& e) {
        error = e.what();
      }
      bool ok = names(error, path);
      auto after = snapshot(env);
      if (!ok) UNSCOPED_INFO(path << " " << what << ": error does not name the file: " << error);
      if (after != before) UNSCOPED_INFO(path << " " << what << ": the store was changed");
      if (!ok || after != before) ++violations;
    }
  }
  ledger_record("damaged-files-redo", 6, Trial::BadInput, tried, violations);
  WARN("damaged files: " << tried << " variants, " << accepted << " opened with all data intact, violations "
                         << violations);
  CHECK(violations == 0);
  CHECK(tried > 50);
}

TEST_CASE("a newer format version and stray journal entries are refused, nothing changed") {
  uint64_t tried = 0, violations = 0;
  auto expect_refused = [&](const std::string& what, const std::function<void(FaultEnv&)>& damage,
                            const std::string& must_name) {
    ++tried;
    auto env_ptr = build_redo();
    FaultEnv& env = *env_ptr;
    damage(env);
    auto before = snapshot(env);
    try {
      QuietStderr quiet;
      Store::open("/store", torture_options(env, Mode::Redo));
      ++violations;
      UNSCOPED_INFO(what << ": opened");
    } catch (const Error& e) {
      if (std::string(e.what()).find(must_name) == std::string::npos) {
        ++violations;
        UNSCOPED_INFO(what << ": error does not name " << must_name << ": " << e.what());
      }
    }
    if (snapshot(env) != before) {
      ++violations;
      UNSCOPED_INFO(what << ": the store was changed");
    }
  };
  expect_refused(
      "version 4",
      [](FaultEnv& env) {
        put(env, "/store/h5tx.store",
            "format = h5tx-store\nversion = 4\nmode = redo\nundo_page_size = 4096\n");
      },
      "h5tx.store");
  expect_refused(
      "stray file in journal/", [](FaultEnv& env) { put(env, "/store/journal/notes.txt", "hello"); },
      "notes.txt");
  expect_refused(
      "bad txid directory name",
      [](FaultEnv& env) {
        env.create_dir("/store/journal/working_12_done");
        env.sync_dir("/store/journal");
      },
      "working_12_done");
  ledger_record("newer-version-and-strays", 6, Trial::BadInput, tried, violations);
  CHECK(violations == 0);
}

TEST_CASE("a second writer process of an undo-mode store gets Busy naming the holder's pid") {
  // (A redo store takes several writer processes: store_multiwriter_lock_test.)
  h5tx_test::TempDir dir("busy");
  std::string home = dir / "s";
  Options undo;
  undo.mode = Mode::Undo;
  Store::create(home, undo)->close();
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto store = Store::open(home);
    char c = 'r';
    if (::write(ready[1], &c, 1) != 1) ::_exit(2);
    ::pause();
    ::_exit(0);
  }
  char c;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  uint64_t violations = 0;
  try {
    Store::open(home);
    ++violations;
  } catch (const BusyError& e) {
    CHECK(std::string(e.what()).find(std::to_string(pid)) != std::string::npos);
    CHECK(std::string(e.what()).find("one writer process") != std::string::npos);
    CHECK(e.path().find("LOCK") != std::string::npos);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  // The holder died: the lock is gone with it.
  CHECK_NOTHROW(Store::open(home)->close());
  ledger_record("second-writer", 6, Trial::BadInput, 1, violations);
  CHECK(violations == 0);
}
