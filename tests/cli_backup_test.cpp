// Backup, restore and replication end to end (h5tx backup / restore /
// replicate / promote), next to a real writer process that commits the
// whole time. Every state is read back independently: the restored or
// replicated data files with h5py, concurrent replica reads through
// `h5tx get` (a read-only open), and compared with the state the writer
// recorded at each txid.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <map>
#include <sstream>
#include <thread>

#include "cli_util.hpp"
#include "h5tx/env.hpp"
#include "h5tx/store.hpp"
#include "test_util.hpp"

using namespace h5tx;
using cli_test::cli;
using cli_test::contains;
using cli_test::lines_of;
using cli_test::read_file;
using cli_test::Result;

namespace {

constexpr uint64_t kChunk = 16;
constexpr uint64_t kFirstChunks = 4;

// One commit of the writer: tx i wrote value i into chunks a and b of /d,
// whose extent was then n chunks.
struct Commit {
  uint64_t txid;
  uint32_t i;
  uint64_t a, b, n;
};

// The writer process: creates the store, then commits until `stop` exists
// (or max commits), logging each commit after commit() returned.
[[noreturn]] void writer_main(const std::string& home, const std::string& log, const std::string& stop,
                              uint32_t max) {
  int rc = 0;
  try {
    auto s = Store::create(home);
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    {
      auto tx = s->begin();
      tx.create_file("vol.h5");
      DatasetSpec spec;
      spec.dtype = DType::U32;
      spec.shape = {kFirstChunks * kChunk};
      spec.max_shape = {kUnlimited};
      spec.chunk = {kChunk};
      tx.create_dataset("vol.h5", "/d", spec);
      tx.commit();
      dprintf(fd, "%" PRIu64 " 0 0 0 %" PRIu64 "\n", tx.txid(), kFirstChunks);
    }
    uint64_t n = kFirstChunks;
    for (uint32_t i = 1; i <= max && ::access(stop.c_str(), F_OK) != 0; i++) {
      auto tx = s->begin();
      if (i % 20 == 0) {
        n++;
        tx.extend_dataset("vol.h5", "/d", {n * kChunk});
      }
      uint64_t a = i % n, b = (i + n / 2) % n;
      std::vector<uint32_t> v(kChunk, i);
      tx.write_chunk("vol.h5", "/d", {a}, v.data(), v.size() * 4);
      tx.write_chunk("vol.h5", "/d", {b}, v.data(), v.size() * 4);
      tx.commit();
      dprintf(fd, "%" PRIu64 " %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", tx.txid(), i, a, b, n);
      ::usleep(1000);
    }
    s->close();
    ::close(fd);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer: %s\n", e.what());
    rc = 1;
  }
  ::_exit(rc);
}

std::vector<Commit> read_log(const std::string& log) {
  std::vector<Commit> out;
  for (const std::string& l : lines_of(read_file(log))) {
    Commit c;
    std::istringstream in(l);
    if (in >> c.txid >> c.i >> c.a >> c.b >> c.n) out.push_back(c);
  }
  return out;
}

// The value of every chunk of /d as of txid t (0 = never written).
std::vector<uint32_t> state_at(const std::vector<Commit>& log, uint64_t t) {
  std::vector<uint32_t> v;
  for (const Commit& c : log) {
    if (c.txid > t) break;
    v.resize(c.n, 0);
    if (c.i) v[c.a] = v[c.b] = c.i;
  }
  return v;
}

std::string str(const std::vector<uint32_t>& v) {
  std::string s;
  for (uint32_t x : v) s += std::to_string(x) + " ";
  return s;
}

// The chunks of data/vol.h5:/d read with h5py: one value per chunk, or a
// failure if a chunk holds two different values (half of a write).
std::vector<uint32_t> h5py_state(const std::string& home) {
  std::string out = h5tx_test::python(
      "import h5py, numpy as np\n"
      "f = h5py.File(\"" +
      home +
      "/data/vol.h5\", \"r\")\n"
      "a = f[\"d\"][...]\n"
      "c = " +
      std::to_string(kChunk) +
      "\n"
      "print(\" \".join(\"/\".join(str(int(x)) for x in np.unique(a[k*c:(k+1)*c])) for k in range(a.shape[0] "
      "// c)))\n");
  std::vector<uint32_t> v;
  std::istringstream in(out);
  std::string tok;
  while (in >> tok) {
    INFO("chunk " << v.size() << " holds " << tok);
    REQUIRE(tok.find('/') == std::string::npos);
    v.push_back(uint32_t(std::stoul(tok)));
  }
  return v;
}

uint64_t hex_txid(const std::string& s) {
  return std::stoull(s.substr(0, 16), nullptr, 16);
}

pid_t start_writer(const h5tx_test::TempDir& dir, uint32_t max = 100000) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) writer_main(dir / "src", dir / "log", dir / "stop", max);
  return pid;
}

// Kills the writer if a failed check leaves the test early (before the
// scratch directory goes).
struct WriterGuard {
  pid_t pid;
  ~WriterGuard() {
    if (::kill(pid, 0) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

int wait_status(pid_t pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Waits until the writer has logged at least n commits.
void wait_commits(const h5tx_test::TempDir& dir, size_t n) {
  for (int i = 0; i < 6000 && read_log(dir / "log").size() < n; i++) ::usleep(5000);
  REQUIRE(read_log(dir / "log").size() >= n);
}

// Waits until the replica dir/rep holds txid (its POSITION); false after 30 s.
bool wait_position(const h5tx_test::TempDir& dir, uint64_t txid) {
  for (int i = 0; i < 3000; i++) {
    Result p = cli(dir, {"replicate", "--position", dir / "rep"});
    if (p.status == 0 && hex_txid(p.out) >= txid) return true;
    ::usleep(10000);
  }
  return false;
}

void stop_writer(const h5tx_test::TempDir& dir, pid_t writer) {
  cli_test::write_file(dir / "stop", "");
  REQUIRE(wait_status(writer) == 0);
}

// `h5tx replicate src --to - --follow ... | h5tx replicate --from - rep ...`
// in a shell, with extra arguments for each side. The sender's pid goes to
// a file, so that stop() can end it (SIGTERM: it ends the stream with its
// trailer, and the receiver exits 0 on it).
class PipedFollow {
 public:
  PipedFollow(const h5tx_test::TempDir& dir, const std::string& send_args, const std::string& recv_args)
      : dir_(dir) {
    const std::string h = cli_test::binary();
    const std::string cmd = "( " + h + " replicate " + dir / "src" + " --to - --follow" + send_args +
                            " --since $(" + h + " replicate --position " + dir / "rep" + ") 2> " +
                            dir / "send.err" + " & echo $! > " + dir / "sender.pid" + "; wait ) | " + h +
                            " replicate --from - " + dir / "rep" + " 2> " + dir / "recv.err" + recv_args;
    sh_ = ::fork();
    REQUIRE(sh_ >= 0);
    if (sh_ == 0) {
      ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  // Ends the sender; both sides must exit 0.
  void stop() {
    const pid_t sender = pid_t(std::stol(read_file(dir_ / "sender.pid")));
    REQUIRE(sender > 0);
    ::kill(sender, SIGTERM);
    INFO(read_file(dir_ / "send.err") << read_file(dir_ / "recv.err"));
    CHECK(wait_status(sh_) == 0);
    sh_ = -1;
  }
  ~PipedFollow() {
    if (sh_ > 0) {
      ::kill(sh_, SIGKILL);
      ::waitpid(sh_, nullptr, 0);
    }
  }

 private:
  const h5tx_test::TempDir& dir_;
  pid_t sh_ = -1;
};

}  // namespace

TEST_CASE(
    "a full backup and a chain of 5 incrementals taken while a writer process commits restore to each "
    "point") {
  h5tx_test::TempDir dir("backup");
  pid_t writer = start_writer(dir);
  WriterGuard guard{writer};
  wait_commits(dir, 40);
  Result full = cli(dir, {"backup", dir / "src", dir / "full"});
  REQUIRE(full.status == 0);
  std::vector<uint64_t> points = {hex_txid(full.out)};
  std::vector<std::string> streams;
  for (int k = 1; k <= 5; k++) {
    wait_commits(dir, 40 + 30 * k);
    std::string s = dir / ("inc" + std::to_string(k));
    Result r = cli(dir, {"backup", "--incremental", dir / "src", s});
    REQUIRE(r.status == 0);
    points.push_back(hex_txid(r.out));
    CHECK(points[k] > points[k - 1]);
    streams.push_back(s);
  }
  Result st = cli(dir, {"stats", dir / "src"});
  CHECK(contains(st.out, "slot                backup at txid "));
  stop_writer(dir, writer);
  // The writer flushed and closed: what the slot needs since the last
  // incremental is in HOME/archive/; dropping the slot lets it go.
  {
    // Everything committed since the 5th incremental was flushed at close and kept.
    CHECK(!Env::posix()->list_dir(dir / "src/archive").empty());
    Result inc = cli(dir, {"backup", "--incremental", dir / "src", dir / "inc6"});
    REQUIRE(inc.status == 0);
    CHECK(cli(dir, {"backup", dir / "src", "--drop-slot", "backup"}).status == 0);
    Result after = cli(dir, {"stats", dir / "src"});
    CHECK(!contains(after.out, "slot "));
    CHECK(Env::posix()->list_dir(dir / "src/archive").empty());
    Result again = cli(dir, {"backup", "--incremental", dir / "src", dir / "inc7"});
    CHECK(again.status == 1);
    CHECK(contains(again.err, "no retention slot 'backup'"));
  }
  const std::vector<Commit> log = read_log(dir / "log");
  for (int k = 0; k <= 5; k++) {
    std::vector<std::string> args = {"restore", dir / ("r" + std::to_string(k)), dir / "full"};
    args.insert(args.end(), streams.begin(), streams.begin() + k);
    Result r = cli(dir, args);
    REQUIRE(r.status == 0);
    CHECK(hex_txid(r.out) == points[k]);
    INFO("restore to point " << k << " (txid " << points[k] << ")");
    CHECK(str(h5py_state(dir / ("r" + std::to_string(k)))) == str(state_at(log, points[k])));
  }
  // --to: a txid in the middle of the chain.
  const uint64_t mid = (points[2] + points[3]) / 2;
  Result r = cli(dir, {"restore", dir / "rmid", dir / "full", streams[0], streams[1], streams[2], streams[3],
                       "--to", std::to_string(mid)});
  REQUIRE(r.status == 0);
  uint64_t got = hex_txid(r.out);
  CHECK(got <= mid);
  CHECK(got > points[2] - 1);
  CHECK(str(h5py_state(dir / "rmid")) == str(state_at(log, mid)));
  // A gap in the chain is refused before anything is made.
  Result gap = cli(dir, {"restore", dir / "rgap", dir / "full", streams[0], streams[2]});
  CHECK(gap.status == 1);
  CHECK(contains(gap.err, "an incremental backup is missing"));
  CHECK(!Env::posix()->exists(dir / "rgap"));
  // The restored store is an ordinary store: it opens read-write and has the data.
  CHECK(cli(dir, {"flush", dir / "r5"}).status == 0);
}

TEST_CASE("a damaged incremental stream is refused naming the transaction, and nothing is restored") {
  h5tx_test::TempDir dir("backup");
  pid_t writer = start_writer(dir, 60);
  wait_commits(dir, 10);
  REQUIRE(cli(dir, {"backup", dir / "src", dir / "full"}).status == 0);
  REQUIRE(wait_status(writer) == 0);
  REQUIRE(cli(dir, {"backup", "--incremental", dir / "src", dir / "inc"}).status == 0);
  std::string bytes = read_file(dir / "inc");
  // The second record: header 48 bytes, each record 24 + length + 8.
  size_t at = 48;
  auto u64 = [&](size_t p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | uint8_t(bytes[p + size_t(i)]);
    return v;
  };
  at += 24 + u64(at + 16) + 8;
  const uint64_t txid = u64(at + 8);
  const uint64_t len = u64(at + 16);
  char name[17];
  std::snprintf(name, sizeof name, "%016" PRIx64, txid);
  for (uint64_t off : {uint64_t(30), len / 2, len - 1}) {
    std::string bad = bytes;
    bad[at + 24 + off] ^= 0x5a;
    cli_test::write_file(dir / "bad", bad);
    Result r = cli(dir, {"restore", dir / "r", dir / "full", dir / "bad"});
    CHECK(r.status == 1);
    CHECK(contains(r.err, "transaction " + std::string(name)));
    CHECK(!Env::posix()->exists(dir / "r"));
  }
  // Cut short: refused too.
  cli_test::write_file(dir / "short", bytes.substr(0, at + 24 + len / 2));
  Result r = cli(dir, {"restore", dir / "r", dir / "full", dir / "short"});
  CHECK(r.status == 1);
  CHECK(contains(r.err, "transaction " + std::string(name)));
  // The intact stream restores.
  CHECK(cli(dir, {"restore", dir / "r", dir / "full", dir / "inc"}).status == 0);
}

TEST_CASE(
    "a full backup as a stream taken while a writer process commits restores, with incrementals, to each "
    "point") {
  h5tx_test::TempDir dir("backup");
  pid_t writer = start_writer(dir);
  WriterGuard guard{writer};
  wait_commits(dir, 40);
  Result full = cli(dir, {"backup", "--stream", dir / "src", dir / "full.stm"});
  REQUIRE(full.status == 0);
  const uint64_t p0 = hex_txid(full.out);
  // The slot moved with it: an incremental continues from there.
  wait_commits(dir, 80);
  Result inc = cli(dir, {"backup", "--incremental", dir / "src", dir / "inc1"});
  REQUIRE(inc.status == 0);
  const uint64_t p1 = hex_txid(inc.out);
  CHECK(p1 > p0);
  // To standard output, without touching the slot.
  wait_commits(dir, 100);
  Result out = cli(dir, {"backup", "--stream", "--no-slot", dir / "src", "-"});
  REQUIRE(out.status == 0);
  CHECK(contains(out.err, "full backup stream: txid "));
  cli_test::write_file(dir / "piped.stm", out.out);
  const size_t at = out.err.find("txid ");
  REQUIRE(at != std::string::npos);
  const uint64_t p2 = hex_txid(out.err.substr(at + 5));
  CHECK(p2 >= p1);
  stop_writer(dir, writer);
  // --no-slot left the slot at the incremental.
  char p1_hex[17];
  std::snprintf(p1_hex, sizeof p1_hex, "%016" PRIx64, p1);
  CHECK(contains(cli(dir, {"stats", dir / "src"}).out,
                 "slot                backup at txid " + std::string(p1_hex)));
  const std::vector<Commit> log = read_log(dir / "log");
  Result r0 = cli(dir, {"restore", dir / "r0", dir / "full.stm"});
  REQUIRE(r0.status == 0);
  CHECK(hex_txid(r0.out) == p0);
  CHECK(str(h5py_state(dir / "r0")) == str(state_at(log, p0)));
  Result r1 = cli(dir, {"restore", dir / "r1", dir / "full.stm", dir / "inc1"});
  REQUIRE(r1.status == 0);
  INFO(full.err << inc.err << r0.err << r1.err);
  CHECK(hex_txid(r1.out) == p1);
  CHECK(str(h5py_state(dir / "r1")) == str(state_at(log, p1)));
  Result r2 = cli(dir, {"restore", dir / "r2", dir / "piped.stm"});
  REQUIRE(r2.status == 0);
  CHECK(hex_txid(r2.out) == p2);
  CHECK(str(h5py_state(dir / "r2")) == str(state_at(log, p2)));
  // A restored store is an ordinary store, and the same as a directory backup's restore.
  CHECK(cli(dir, {"flush", dir / "r1"}).status == 0);
  CHECK(str(h5py_state(dir / "r1")) == str(state_at(log, p1)));
  // A full stream is not an incremental, nor an incremental a full backup.
  Result wrong = cli(dir, {"restore", dir / "rw", dir / "inc1"});
  CHECK(wrong.status == 1);
  CHECK(contains(wrong.err, "not a full backup"));
  Result wrong2 = cli(dir, {"restore", dir / "rw", dir / "full.stm", dir / "piped.stm"});
  CHECK(wrong2.status == 1);
  CHECK(!Env::posix()->exists(dir / "rw"));
  // An existing stream file is not overwritten.
  Result again = cli(dir, {"backup", "--stream", dir / "src", dir / "full.stm"});
  CHECK(again.status == 1);
  CHECK(hex_txid(cli(dir, {"restore", dir / "r3", dir / "full.stm"}).out) == p0);
}

TEST_CASE("a damaged full backup stream is refused naming the file and offset, and nothing is restored") {
  h5tx_test::TempDir dir("backup");
  pid_t writer = start_writer(dir, 60);
  wait_commits(dir, 10);
  REQUIRE(wait_status(writer) == 0);
  REQUIRE(cli(dir, {"backup", "--stream", dir / "src", dir / "full.stm"}).status == 0);
  const std::string bytes = read_file(dir / "full.stm");
  // The data file's record: tag 3, name length, size, name, checksum; then its pieces.
  const size_t name_at = bytes.find("data/vol.h5");
  REQUIRE(name_at != std::string::npos);
  const size_t piece_at = name_at + 11 + 8;
  for (size_t off : {size_t(0), size_t(1000), size_t(2500)}) {
    std::string bad = bytes;
    REQUIRE(piece_at + off < bad.size() - 72);
    bad[piece_at + off] ^= 0x20;
    cli_test::write_file(dir / "bad.stm", bad);
    Result r = cli(dir, {"restore", dir / "r", dir / "bad.stm"});
    CHECK(r.status == 1);
    CHECK(contains(r.err, "base file data/vol.h5, piece at offset 0 of it: checksum mismatch"));
    CHECK(contains(r.err, "stream offset " + std::to_string(piece_at)));
    CHECK(!Env::posix()->exists(dir / "r"));
  }
  // Cut anywhere: refused.
  for (size_t cut : {size_t(10), piece_at - 3, piece_at + 100, bytes.size() - 1}) {
    cli_test::write_file(dir / "short.stm", bytes.substr(0, cut));
    Result r = cli(dir, {"restore", dir / "r", dir / "short.stm"});
    CHECK(r.status == 1);
    CHECK(!Env::posix()->exists(dir / "r"));
  }
  Result ok = cli(dir, {"restore", dir / "r", dir / "full.stm"});
  REQUIRE(ok.status == 0);
  CHECK(str(h5py_state(dir / "r")) == str(state_at(read_log(dir / "log"), hex_txid(ok.out))));
}

TEST_CASE("a backup of an idle, flushed store is labelled with its last commit, open or closed") {
  h5tx_test::TempDir dir("backup");
  uint64_t last = 0;
  {
    auto s = Store::create(dir / "src");
    {
      auto tx = s->begin();
      tx.create_file("vol.h5");
      DatasetSpec spec;
      spec.dtype = DType::U32;
      spec.shape = {4 * kChunk};
      spec.chunk = {kChunk};
      tx.create_dataset("vol.h5", "/d", spec);
      tx.commit();
    }
    for (uint32_t i = 1; i <= 5; i++) {
      auto tx = s->begin();
      std::vector<uint32_t> v(kChunk, i);
      tx.write_chunk("vol.h5", "/d", {i % 4}, v.data(), v.size() * 4);
      tx.commit();
      last = tx.txid();
    }
    s->flush();
    // Open and idle: journal/ holds no transaction any more.
    Result open = cli(dir, {"backup", "--no-slot", dir / "src", dir / "b-open"});
    REQUIRE(open.status == 0);
    CHECK(hex_txid(open.out) == last);
    s->close();
  }
  CHECK(hex_txid(read_file(dir / "src/FLUSHED").substr(20)) == last);
  for (const char* mode : {"dir", "stream"}) {
    INFO(mode);
    const std::string to = dir / (std::string("b-") + mode);
    Result b = std::string(mode) == "dir" ? cli(dir, {"backup", "--no-slot", dir / "src", to})
                                          : cli(dir, {"backup", "--stream", "--no-slot", dir / "src", to});
    REQUIRE(b.status == 0);
    CHECK(hex_txid(b.out) == last);
  }
  // Reopened and closed without commits: still the same.
  Store::open(dir / "src")->close();
  Result again = cli(dir, {"backup", dir / "src", dir / "b-again"});
  REQUIRE(again.status == 0);
  CHECK(hex_txid(again.out) == last);
  CHECK(cli(dir, {"replicate", "--position", dir / "b-again"}).out.substr(0, 16) == again.out.substr(0, 16));
}

TEST_CASE(
    "replicate --follow of a store under load, read concurrently, SIGKILLed and restarted, ends equal") {
  h5tx_test::TempDir dir("replica");
  pid_t writer = start_writer(dir);
  WriterGuard guard{writer};
  wait_commits(dir, 20);
  std::vector<std::vector<uint32_t>> seen;  // states read from the replica while it follows
  auto read_replica = [&] {
    Result g = cli(dir, {"get", dir / "rep", "vol.h5:/d", "--slice", ":"});
    if (g.status != 0) return;  // not made yet
    std::vector<uint32_t> all;
    std::istringstream in(g.out);
    std::string tok;
    while (in >> tok) {
      if (tok[0] == '[') continue;  // the row's index
      std::string digits;
      for (char c : tok)
        if (c >= '0' && c <= '9') digits += c;
      if (!digits.empty()) all.push_back(uint32_t(std::stoul(digits)));
    }
    std::vector<uint32_t> chunks;
    for (size_t k = 0; k * kChunk < all.size(); k++) {
      for (size_t j = 1; j < kChunk; j++)
        REQUIRE(all[k * kChunk + j] == all[k * kChunk]);  // never half a write
      chunks.push_back(all[k * kChunk]);
    }
    seen.push_back(chunks);
  };
  {
    cli_test::Background follower(dir, {"replicate", dir / "src", dir / "rep", "--follow"});
    for (int i = 0; i < 40; i++) {
      read_replica();
      ::usleep(20000);
    }
    follower.signal(SIGKILL);
    CHECK(follower.wait() == 128 + SIGKILL);
  }
  // A replica refuses read-write opens.
  Result rw = cli(dir, {"flush", dir / "rep"});
  CHECK(rw.status == 1);
  CHECK(contains(rw.err, "replica"));
  wait_commits(dir, read_log(dir / "log").size() + 30);
  {
    cli_test::Background follower(dir, {"replicate", dir / "src", dir / "rep", "--follow"});
    for (int i = 0; i < 20; i++) {
      read_replica();
      ::usleep(20000);
    }
    stop_writer(dir, writer);
    const std::vector<Commit> log = read_log(dir / "log");
    CHECK(wait_position(dir, log.back().txid));
    read_replica();
    follower.signal(SIGTERM);
    CHECK(follower.wait() == 0);
  }
  const std::vector<Commit> log = read_log(dir / "log");
  CHECK(str(h5py_state(dir / "rep")) == str(state_at(log, log.back().txid)));
  // Every state read while following was the source's state at some txid.
  std::map<std::string, bool> states;
  for (const Commit& c : log) states[str(state_at(log, c.txid))] = true;
  REQUIRE(seen.size() > 10);
  for (const auto& s : seen) {
    INFO("a replica read: " << str(s));
    CHECK(states.count(str(s)) == 1);
  }
  CHECK(cli(dir, {"promote", dir / "rep"}).status == 0);
  CHECK(cli(dir, {"flush", dir / "rep"}).status == 0);
}

TEST_CASE("replication through a pipe, and a receiver killed while applying a stream and rerun ends equal") {
  h5tx_test::TempDir dir("replica");
  pid_t writer = start_writer(dir, 40);
  REQUIRE(wait_status(writer) == 0);
  REQUIRE(cli(dir, {"replicate", dir / "src", dir / "rep"}).status == 0);
  // More commits in the source, then a stream of them through a pipe.
  pid_t more = ::fork();
  REQUIRE(more >= 0);
  if (more == 0) {
    int rc = 0;
    try {
      auto s = Store::open(dir / "src");
      for (uint32_t i = 1000; i < 1200; i++) {
        auto tx = s->begin();
        std::vector<uint32_t> v(kChunk, i);
        tx.write_chunk("vol.h5", "/d", {i % kFirstChunks}, v.data(), v.size() * 4);
        tx.commit();
      }
      s->close();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\n", e.what());
      rc = 1;
    }
    ::_exit(rc);
  }
  REQUIRE(wait_status(more) == 0);
  Result pos = cli(dir, {"replicate", "--position", dir / "rep"});
  REQUIRE(pos.status == 0);
  // The stream, kept in a file so that the receiver can be killed and rerun on it.
  Result send = cli_test::run_program({"/bin/sh", "-c",
                                       cli_test::binary() + " replicate " + dir / "src" + " --to - --since " +
                                           pos.out.substr(0, 16) + " > " + dir / "stream"},
                                      dir.path());
  INFO(send.err);
  REQUIRE(send.status == 0);
  for (int delay_ms : {5, 20, 60, 150}) {
    cli_test::Background recv(dir, {"replicate", "--from", "-", dir / "rep"}, dir / "stream");
    ::usleep(useconds_t(delay_ms) * 1000);
    recv.signal(SIGKILL);
    recv.wait();
    // Never half a transaction: the replica opens and reads whole chunks.
    Result g = cli(dir, {"get", dir / "rep", "vol.h5:/d", "--chunk", "0"});
    CHECK(g.status == 0);
  }
  Result piped = cli_test::run_program(
      {"/bin/sh", "-c",
       cli_test::binary() + " replicate " + dir / "src" + " --to - --since " + pos.out.substr(0, 16) + " | " +
           cli_test::binary() + " replicate --from - " + dir / "rep"},
      dir.path());
  INFO(piped.err);
  REQUIRE(piped.status == 0);
  // Equal to the source, chunk for chunk (both flushed: closed).
  CHECK(str(h5py_state(dir / "rep")) == str(h5py_state(dir / "src")));
  // A stream that starts after the replica's position is refused.
  Result ahead = cli_test::run_program(
      {"/bin/sh", "-c", cli_test::binary() + " replicate --from - " + dir / "rep" + " < " + dir / "stream"},
      dir.path());
  CHECK(ahead.status == 0);  // the same stream again: every transaction a no-op
}

TEST_CASE(
    "replicate --to - --follow piped into replicate --from - keeps a replica equal to a store under load") {
  h5tx_test::TempDir dir("replica");
  pid_t writer = start_writer(dir);
  WriterGuard guard{writer};
  wait_commits(dir, 20);
  REQUIRE(cli(dir, {"replicate", dir / "src", dir / "rep"}).status == 0);
  PipedFollow follow(dir, "", "");
  wait_commits(dir, read_log(dir / "log").size() + 60);
  stop_writer(dir, writer);
  const std::vector<Commit> log = read_log(dir / "log");
  CHECK(wait_position(dir, log.back().txid));
  follow.stop();
  CHECK(str(h5py_state(dir / "rep")) == str(state_at(log, log.back().txid)));
}

TEST_CASE(
    "a piped --follow moves the source's slot as the receiver acknowledges, and only then; stats warns about "
    "a slot left behind") {
  h5tx_test::TempDir dir("replica");
  pid_t writer = start_writer(dir);
  WriterGuard guard{writer};
  wait_commits(dir, 20);
  REQUIRE(cli(dir, {"replicate", dir / "src", dir / "rep"}).status == 0);
  const std::string h = cli_test::binary();
  auto slot_txid = [&] {
    for (const std::string& l : lines_of(cli(dir, {"stats", dir / "src"}).out))
      if (contains(l, "slot                replica at txid ")) return hex_txid(l.substr(l.find("txid ") + 5));
    return uint64_t(0);
  };
  // 1. Through a pipe without acknowledgements: the replica moves, the slot
  // stays at --since and pins what came after.
  const uint64_t since = slot_txid();
  REQUIRE(since > 0);
  wait_commits(dir, read_log(dir / "log").size() + 60);
  Result once = cli_test::run_program(
      {"/bin/sh", "-c",
       h + " replicate " + dir / "src" + " --to - --since $(" + h + " replicate --position " + dir / "rep" +
           ") | " + h + " replicate --from - " + dir / "rep"},
      dir.path());
  REQUIRE(once.status == 0);
  CHECK(hex_txid(cli(dir, {"replicate", "--position", dir / "rep"}).out) > since);
  CHECK(slot_txid() == since);
  Result st = cli(dir, {"stats", dir / "src"});
  CHECK(contains(st.err, "warning: slot replica pins"));
  // 2. Following, with the receiver's acknowledgements coming back through a FIFO.
  REQUIRE(::mkfifo((dir / "acks").c_str(), 0600) == 0);
  PipedFollow follow(dir, " --poll-ms 5 --ack-from " + dir / "acks", " --ack-to - > " + dir / "acks");
  wait_commits(dir, read_log(dir / "log").size() + 60);
  stop_writer(dir, writer);
  const std::vector<Commit> log = read_log(dir / "log");
  CHECK(wait_position(dir, log.back().txid));
  // The slot reaches what the replica holds (never past it).
  uint64_t s = 0;
  for (int i = 0; i < 3000 && (s = slot_txid()) < log.back().txid; i++) ::usleep(10000);
  CHECK(s == log.back().txid);
  CHECK(s <= hex_txid(cli(dir, {"replicate", "--position", dir / "rep"}).out));
  follow.stop();
  CHECK(str(h5py_state(dir / "rep")) == str(state_at(log, log.back().txid)));
  // What the slot pinned is released: no warning any more.
  Result after = cli(dir, {"stats", dir / "src"});
  CHECK(!contains(after.err, "warning: slot replica"));
}
