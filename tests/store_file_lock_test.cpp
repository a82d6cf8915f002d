// Stores against outside readers of their data files (issue 11 item 15): an
// h5py process holding data/<file>.h5 open (HDF5's file lock, LOCK_SH). The
// redo flusher waits for that file only and says so (stats, stderr,
// backpressure); close() does not hang on it; the undo-mode store gives a
// write transaction on it a BusyError naming the file. Data is checked by
// reading it back with h5py.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "h5tx/error.hpp"
#include "h5tx/store.hpp"
#include "test_util.hpp"

using namespace h5tx;

namespace {

DatasetSpec spec() {
  DatasetSpec s;
  s.dtype = DType::U32;
  s.shape = {8, 8};
  s.chunk = {4, 4};
  return s;
}

// A 4x4 u32 chunk whose elements are value*1000 + index.
std::vector<uint8_t> chunk_of(uint32_t value) {
  std::vector<uint32_t> v(16);
  for (uint32_t i = 0; i < 16; i++) v[i] = value * 1000 + i;
  std::vector<uint8_t> out(64);
  std::memcpy(out.data(), v.data(), 64);
  return out;
}

void write_value(Store& store, const std::vector<std::string>& files, uint32_t value, bool create = false) {
  Transaction tx = store.begin();
  for (const std::string& f : files) {
    if (create) {
      tx.create_file(f);
      tx.create_dataset(f, "/d", spec());
    }
    tx.write_chunk(f, "/d", {0, 0}, chunk_of(value));
  }
  tx.commit();
}

// d[0, 0] / 1000 as h5py reads the file (its own process, plain HDF5).
std::string h5py_value(const std::string& path) {
  return h5tx_test::python("import h5py\nprint(int(h5py.File(\"" + path +
                           "\", \"r\")[\"d\"][0, 0]) // 1000)");
}

// An h5py reader holding `path` open until finish().
std::unique_ptr<h5tx_test::PythonProcess> hold(const std::string& path) {
  auto p = std::make_unique<h5tx_test::PythonProcess>(
      "import h5py, sys\nf = h5py.File(\"" + path +
      "\", \"r\")\nprint(\"holding\", int(f[\"d\"][0, 0]) // 1000)\n"
      "sys.stdin.read()\nprint(\"still\", int(f[\"d\"][0, 0]) // 1000)\n");
  return p;
}

bool eventually(const std::function<bool()>& cond, double seconds = 20) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

// Captures this process's stderr (fd 2) into a file while alive.
class StderrCapture {
 public:
  explicit StderrCapture(std::string path) : path_(std::move(path)) {
    std::fflush(stderr);
    saved_ = ::dup(2);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::close(fd);
  }
  ~StderrCapture() { restore(); }
  std::string text() {
    std::fflush(stderr);
    std::ifstream f(path_);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
  }
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }

 private:
  std::string path_;
  int saved_ = -1;
};

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("redo flusher: a data file held by an h5py reader waits, the other files go on", "[store][lock]") {
  h5tx_test::TempDir dir("flock");
  const std::string home = dir / "store";
  const std::string a = home + "/data/a.h5", b = home + "/data/b.h5";
  StderrCapture err(dir / "stderr.txt");
  Options o;
  o.flush_delay = std::chrono::milliseconds(0);
  o.max_unflushed_transactions = 2;  // backpressure soon
  auto store = Store::create(home, o);
  write_value(*store, {"a.h5", "b.h5"}, 1, true);
  store->flush();

  auto reader = hold(a);
  REQUIRE(reader->line() == "holding 1");
  write_value(*store, {"a.h5", "b.h5"}, 2);

  // The flusher waits for a.h5 and says so; b.h5 is written meanwhile.
  REQUIRE(eventually([&] { return !store->stats().waiting_for.empty(); }));
  StoreStats s = store->stats();
  CHECK(s.waiting_for == std::vector<std::string>{a});
  CHECK(s.flusher_state.compare(0, 9, "waiting: ") == 0);
  CHECK(contains(s.flusher_state, a + " is open in another process"));
  CHECK(s.pending_transactions == 1);
  CHECK(h5py_value(b) == "2\n");
  CHECK(contains(err.text(), "h5tx: flusher waits"));
  CHECK(contains(err.text(), a));

  // Commits go on until backpressure, which then says why it blocks.
  std::atomic<bool> done{false};
  std::thread committer([&] {
    for (uint32_t v = 3; v <= 5; v++) write_value(*store, {"b.h5"}, v);
    done = true;
  });
  REQUIRE(eventually(
      [&] { return contains(err.text(), "backpressure") || contains(err.text(), "commit waits"); }, 10));
  CHECK_FALSE(done.load());
  {
    Transaction tx = store->begin(h5tx::read_only_tx());  // the committed view is whole meanwhile
    CHECK(tx.read_chunk("a.h5", "/d", {0, 0}) == chunk_of(2));
    tx.commit();
  }

  // The reader saw a consistent file all along, and once it closes the
  // flusher finishes.
  std::string rest;
  CHECK(reader->finish(&rest) == 0);
  CHECK(rest == "still 1\n");
  committer.join();
  CHECK(done.load());
  store->flush();
  s = store->stats();
  CHECK(s.waiting_for.empty());
  CHECK(s.pending_transactions == 0);
  CHECK(contains(err.text(), "released"));
  store->close();
  err.restore();
  CHECK(h5py_value(a) == "2\n");
  CHECK(h5py_value(b) == "5\n");
}

TEST_CASE("redo store: close does not hang on a held data file, the next open applies it", "[store][lock]") {
  h5tx_test::TempDir dir("flock");
  const std::string home = dir / "store";
  const std::string a = home + "/data/a.h5";
  StderrCapture err(dir / "stderr.txt");
  Options o;
  o.flush_delay = std::chrono::milliseconds(0);
  {
    auto store = Store::create(home, o);
    write_value(*store, {"a.h5"}, 1, true);
    store->flush();
    auto reader = hold(a);
    REQUIRE(reader->line() == "holding 1");
    write_value(*store, {"a.h5"}, 2);
    REQUIRE(eventually([&] { return !store->stats().waiting_for.empty(); }));
    auto t0 = std::chrono::steady_clock::now();
    store->close();
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5));
    CHECK(reader->finish() == 0);
  }
  err.restore();
  CHECK(h5py_value(a) == "1\n");  // the commit is in the journal, durable
  {
    auto store = Store::open(home, o);
    Transaction tx = store->begin(h5tx::read_only_tx());
    CHECK(tx.read_chunk("a.h5", "/d", {0, 0}) == chunk_of(2));
    tx.commit();
    store->flush();
    store->close();
  }
  CHECK(h5py_value(a) == "2\n");
}

TEST_CASE("undo store: a write transaction on a data file held by an h5py reader gets a BusyError",
          "[store][lock]") {
  h5tx_test::TempDir dir("flock");
  const std::string home = dir / "store";
  const std::string a = home + "/data/a.h5", b = home + "/data/b.h5";
  Options o;
  o.mode = Mode::Undo;
  auto store = Store::create(home, o);
  write_value(*store, {"a.h5", "b.h5"}, 1, true);

  // Between transactions the store's kept files admit readers.
  auto reader = hold(a);
  REQUIRE(reader->line() == "holding 1");
  {
    Transaction tx = store->begin();
    tx.write_chunk("b.h5", "/d", {0, 0}, chunk_of(2));  // other files go on
    try {
      tx.write_chunk("a.h5", "/d", {0, 0}, chunk_of(2));
      FAIL("wrote a file an h5py reader holds");
    } catch (const BusyError& e) {
      CHECK(e.path() == a);
      CHECK(contains(e.what(), "another process has it open"));
      CHECK(contains(e.what(), "HDF5's file lock"));
    }
    tx.commit();
  }
  CHECK(h5py_value(b) == "2\n");
  std::string rest;
  CHECK(reader->finish(&rest) == 0);
  CHECK(rest == "still 1\n");

  write_value(*store, {"a.h5"}, 3);
  store->close();
  CHECK(h5py_value(a) == "3\n");
  CHECK(h5py_value(b) == "2\n");
}

TEST_CASE("h5tx stats names the data files other processes hold open", "[store][lock][cli]") {
  h5tx_test::TempDir dir("flock");
  const std::string home = dir / "store";
  const std::string a = home + "/data/a.h5";
  {
    auto store = Store::create(home, Options());
    write_value(*store, {"a.h5", "b.h5"}, 1, true);
    store->close();
  }
  h5tx_test::PythonProcess reader("import h5py, os, sys\nf = h5py.File(\"" + a +
                                  "\", \"r\")\nprint(os.getpid())\nsys.stdin.read()\n");
  std::string pid = reader.line();
  REQUIRE(!pid.empty());
  std::string cmd = std::string(H5TX_BINARY_DIR) + "/bin/h5tx stats '" + home + "' 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  CHECK(pclose(p) == 0);
  INFO(out);
  CHECK(contains(out, "held open           data/a.h5 by process " + pid + " (READ) (HDF5's file lock)"));
  CHECK_FALSE(contains(out, "data/b.h5 by process"));
  CHECK(reader.finish() == 0);
}
