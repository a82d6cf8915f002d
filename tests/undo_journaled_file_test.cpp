// The undo driver's file layer (src/undo/journaled_file.*) without HDF5, on
// FaultEnv: buffering, before-images, nesting, commit/abort, crashes at every
// operation with power-loss semantics, read-only overlay, torn tails, garbage
// and legacy journals.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <random>
#include <set>
#include <string>

#include <xxhash.h>

#include "crash_child.hpp"
#include "h5tx/error.hpp"
#include "io/testing/fault_env.hpp"
#include "util/byte_codec.hpp"
#include "undo/driver.hpp"
#include "undo/journal_format.hpp"
#include "undo/journaled_file.hpp"

using h5tx::CorruptionError;
using h5tx::OpenMode;
using h5tx::StateError;
using h5tx::testing::CrashOptions;
using h5tx::testing::FaultEnv;
using h5tx::undo::JournaledFile;
using h5tx::undo::JournaledFileOptions;
using h5tx_test::Bytes;
using h5tx_test::CrashChild;
using h5tx_test::run_crash_child;

namespace {

uint64_t le64(const unsigned char* p) {
  return h5tx::load_le(p, 8);
}
uint32_t le32(const unsigned char* p) {
  return uint32_t(h5tx::load_le(p, 4));
}

const std::string kData = "/d/data.h5";
const std::string kJournal = "/d/data.h5.journal";

std::string pattern(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A durable file of `contents` in a fresh directory.
void make_file(FaultEnv& env, const std::string& contents) {
  env.create_dir("/d");
  env.sync_dir("/");
  auto f = env.open(kData, OpenMode::CreateTrunc);
  if (!contents.empty()) f->write(0, contents.data(), contents.size());
  f->sync();
  env.sync_dir("/d");
}

std::string read_all(JournaledFile& jf) {
  std::string s(jf.size(), '\0');
  if (!s.empty()) jf.read(0, &s[0], s.size());
  return s;
}

std::unique_ptr<JournaledFile> open_rw(FaultEnv& env, JournaledFileOptions o = {}) {
  return std::make_unique<JournaledFile>(&env, kData, kJournal, JournaledFile::Mode::ReadWrite, o);
}

// A journal that holds no transaction: gone, empty, or (kept open for the
// next transaction) its header zeroed.
bool invalidated(const std::string& journal) {
  return journal.empty() ||
         std::all_of(journal.begin(), journal.begin() + std::min<size_t>(journal.size(), 64),
                     [](char c) { return c == 0; });
}

// Applies a write to the model too.
void put(JournaledFile& jf, std::string& model, uint64_t at, const std::string& bytes) {
  jf.write(at, bytes.data(), bytes.size());
  if (model.size() < at + bytes.size()) model.resize(at + bytes.size(), '\0');
  model.replace(at, bytes.size(), bytes);
}

JournaledFileOptions small_pages(size_t buffer = 16 << 20) {
  JournaledFileOptions o;
  o.page_size = 512;
  o.buffer_bytes = buffer;
  return o;
}

}  // namespace

TEST_CASE("outside a transaction the file is a plain file", "[undo]") {
  FaultEnv env;
  make_file(env, "");
  auto jf = open_rw(env);
  jf->write(10, "abc", 3);
  CHECK(jf->size() == 13);
  char buf[20];
  jf->read(0, buf, 20);  // past EOF reads zeros
  CHECK(std::string(buf, 20) == std::string(10, '\0') + "abc" + std::string(7, '\0'));
  jf->truncate(11);
  CHECK(env.read_all(kData) == std::string(10, '\0') + "a");
  CHECK_FALSE(jf->close());
  CHECK_FALSE(env.exists(kJournal));
}

TEST_CASE("commit makes the changes durable and invalidates the journal", "[undo]") {
  FaultEnv env;
  std::string model = pattern(5000, 1);
  make_file(env, model);
  auto jf = open_rw(env, small_pages());
  jf->tx_start();
  put(*jf, model, 100, pattern(700, 2));
  put(*jf, model, 4900, pattern(300, 3));  // grows the file
  CHECK(read_all(*jf) == model);
  CHECK(env.read_all(kData) != model);  // buffered: the data file is untouched so far
  jf->tx_commit();
  CHECK(env.durable_contents(kData) == model);
  CHECK(invalidated(env.durable_contents(kJournal)));
  CHECK_FALSE(jf->close());
  env.crash();
  CHECK(env.read_all(kData) == model);
}

TEST_CASE("the journal is synced once per spill and not per write", "[undo]") {
  FaultEnv env;
  std::string model = pattern(64 * 1024, 4);
  make_file(env, model);
  auto jf = open_rw(env, small_pages());
  jf->tx_start();
  env.set_trace(true);
  for (int i = 0; i < 100; i++) put(*jf, model, static_cast<uint64_t>(i) * 600, pattern(100, 10 + i));
  jf->tx_commit();
  env.set_trace(false);
  int journal_syncs = 0, data_syncs = 0, dir_syncs = 0;
  int first_data_write = -1, first_journal_sync = -1, first_dir_sync = -1, index = 0;
  for (const auto& line : env.trace()) {
    index++;
    bool journal = line.find(kJournal) != std::string::npos;
    bool sync = line.find(" sync ") != std::string::npos || line.find(" datasync ") != std::string::npos;
    if (sync && journal) {
      journal_syncs++;
      if (first_journal_sync < 0) first_journal_sync = index;
    }
    if (!journal && sync && line.find(kData) != std::string::npos) data_syncs++;
    if (line.find(" sync_dir /d") != std::string::npos) {
      dir_syncs++;
      if (first_dir_sync < 0) first_dir_sync = index;
    }
    if (!journal && line.find(" write " + kData) != std::string::npos && first_data_write < 0)
      first_data_write = index;
  }
  CHECK(journal_syncs == 2);  // before the data writes, and the invalidation
  CHECK(data_syncs == 1);
  CHECK(dir_syncs == 1);  // the journal's creation
  CHECK(first_journal_sync > 0);
  CHECK(first_data_write > first_journal_sync);
  CHECK(first_dir_sync > first_journal_sync);  // the new journal's name is durable ...
  CHECK(first_data_write > first_dir_sync);    // ... before the data file changes
  CHECK(env.read_all(kData) == model);
}

TEST_CASE("abort restores the before-images and truncates growth and then discards writes", "[undo]") {
  FaultEnv env;
  const std::string original = pattern(3000, 5);
  make_file(env, original);
  std::string model = original;
  auto jf = open_rw(env, small_pages(1024));  // small buffer: spills during the transaction
  jf->tx_start();
  for (int i = 0; i < 20; i++) put(*jf, model, static_cast<uint64_t>(i) * 170, pattern(400, 20 + i));
  jf->truncate(9000);
  CHECK(jf->size() == 9000);
  jf->tx_abort();
  CHECK(env.durable_contents(kData) == original);
  CHECK(invalidated(env.durable_contents(kJournal)));
  CHECK(jf->discarding());
  jf->write(0, "stale", 5);  // HDF5 flushing its caches: ignored
  jf->truncate(1);
  CHECK(env.read_all(kData) == original);
  CHECK_THROWS_AS(jf->tx_start(), StateError);
  CHECK_FALSE(jf->close());
}

TEST_CASE("nested transactions: inner rollback and merge and a crash restores the outermost state",
          "[undo]") {
  FaultEnv env;
  const std::string original = pattern(4096, 6);
  make_file(env, original);
  std::string model = original;
  auto jf = open_rw(env, small_pages());
  jf->tx_start();
  put(*jf, model, 0, pattern(1000, 7));
  const std::string after_outer = model;
  jf->tx_start();
  CHECK(jf->depth() == 2);
  put(*jf, model, 500, pattern(2000, 8));
  put(*jf, model, 4000, pattern(1000, 9));  // grows
  jf->tx_abort();
  CHECK(jf->depth() == 1);
  CHECK(env.read_all(kData) == after_outer);
  CHECK(jf->close());  // still inside the outer level: kept for a reopen
  // What the driver does on reopen: resume the same object.
  jf->tx_start();
  model = after_outer;
  put(*jf, model, 3000, pattern(2000, 10));
  jf->tx_commit();  // merge into the outer level
  CHECK(jf->depth() == 1);
  CHECK(read_all(*jf) == model);
  CHECK(jf->close());
  env.crash();
  auto again = open_rw(env);
  CHECK(read_all(*again) == original);
}

TEST_CASE("a transaction much larger than the buffer reverts after a crash", "[undo]") {
  FaultEnv env;
  const std::string original = pattern(256 * 1024, 11);
  make_file(env, original);
  std::string model = original;
  auto jf = open_rw(env, small_pages(8 * 1024));
  jf->tx_start();
  std::mt19937 rng(12);
  for (int i = 0; i < 300; i++) {
    uint64_t at = rng() % (300 * 1024);
    put(*jf, model, at, pattern(1 + rng() % 5000, static_cast<uint32_t>(rng())));
  }
  CHECK(read_all(*jf) == model);
  CHECK(env.file_size(kData) > original.size());
  CHECK(env.file_size(kJournal) > original.size() / 2);
  env.crash();
  auto again = open_rw(env);
  CHECK(read_all(*again) == original);
  CHECK_FALSE(env.exists(kJournal));
}

TEST_CASE("shrinking inside a transaction is reverted", "[undo]") {
  FaultEnv env;
  const std::string original = pattern(10000, 13);
  make_file(env, original);
  std::string model = original;
  auto jf = open_rw(env, small_pages());
  jf->tx_start();
  jf->truncate(3000);
  jf->truncate(6000);  // the bytes 3000..6000 now read as zeros
  model = original.substr(0, 3000) + std::string(3000, '\0');
  put(*jf, model, 5000, "x");
  CHECK(read_all(*jf) == model);
  jf->tx_prepare();
  CHECK(env.read_all(kData) == model);
  env.crash();
  CHECK(read_all(*open_rw(env)) == original);
}

// The core crash test: a transaction is crashed after every single
// operation, under three power-loss models; after recovery the file is
// exactly the old or (only once commit may have run) the new contents.
TEST_CASE("crash at every operation: all or nothing", "[undo][crash]") {
  const std::string original = pattern(20000, 14);
  for (int variant = 0; variant < 3; variant++) {
    for (uint64_t k = 1;; k++) {
      FaultEnv start;
      make_file(start, original);
      std::string model = original;
      bool commit_started = false, committed = false;
      CrashChild c = run_crash_child(
          start,
          [&](FaultEnv& env) {
            env.crash_after(env.op_count() + k);
            JournaledFileOptions o = small_pages(4096);
            o.sync_every_write = variant == 2;
            auto jf = open_rw(env, o);
            jf->tx_start();
            std::mt19937 rng(15);
            for (int i = 0; i < 12; i++) {
              uint64_t at = rng() % 24000;
              put(*jf, model, at, pattern(1 + rng() % 3000, static_cast<uint32_t>(rng())));
            }
            if (variant == 1) jf->truncate(15000), model.resize(15000);
            commit_started = true;
            jf->tx_commit();
            committed = true;
            jf->close();
          },
          [&] { return Bytes().u64(commit_started).u64(committed).str(model).data(); });
      REQUIRE_FALSE(c.error);
      Bytes progress(c.payload);
      commit_started = progress.get_u64();
      committed = progress.get_u64();
      model = progress.get_str();
      bool finished = !c.died;
      FaultEnv& env = *c.env;
      CrashOptions opts;
      opts.keep_random_unsynced = k % 2 == 0;
      opts.tear_sectors = k % 4 == 0;
      opts.seed = k;
      env.crash(opts);
      INFO("variant " << variant << " crash after op " << k);
      std::string got = read_all(*open_rw(env));
      if (committed) {
        CHECK(got == model);
      } else if (!commit_started) {
        CHECK(got == original);
      } else {
        CHECK((got == original || got == model));
      }
      CHECK_FALSE(h5tx::undo::has_pending_journal(env, kJournal));
      if (finished) break;
    }
  }
}

// The journal at the path given at open stays between transactions, its
// header zeroed: the next transaction overwrites it from the start, and the
// stale entries past its own end (a larger earlier transaction's) must never
// be taken for its entries.
TEST_CASE("a journal reused by later transactions: crash at every operation", "[undo][crash]") {
  const std::string original = pattern(40000, 17);
  for (uint64_t k = 1;; k++) {
    FaultEnv start;
    make_file(start, original);
    std::vector<std::string> states{original};  // after each commit
    std::string model = original;
    int commits_started = 0;
    bool kept = false;
    CrashChild c = run_crash_child(
        start,
        [&](FaultEnv& env) {
          env.crash_after(env.op_count() + k);
          auto jf = open_rw(env, small_pages(8192));
          std::mt19937 rng(18);
          // Large, small, medium: the second and third leave stale entries behind their own.
          for (int t : {30, 3, 12}) {
            jf->tx_start();
            for (int i = 0; i < t; i++) {
              uint64_t at = rng() % 42000;
              put(*jf, model, at, pattern(1 + rng() % 2000, static_cast<uint32_t>(rng())));
            }
            commits_started++;
            jf->tx_commit();
            states.push_back(model);
          }
          kept = env.file_size(kJournal) > 0;  // not truncated
          jf->close();
        },
        [&] {
          Bytes b;
          b.u64(uint64_t(commits_started)).u64(kept).str(model).u64(states.size());
          for (const auto& st : states) b.str(st);
          return b.data();
        });
    REQUIRE_FALSE(c.error);
    {
      Bytes b(c.payload);
      commits_started = int(b.get_u64());
      kept = b.get_u64();
      model = b.get_str();
      states.resize(b.get_u64());
      for (auto& st : states) st = b.get_str();
    }
    bool finished = !c.died;
    FaultEnv& env = *c.env;
    if (finished) {
      CHECK(kept);
      CHECK_FALSE(env.exists(kJournal));  // removed at close
    }
    CrashOptions opts;
    opts.keep_random_unsynced = k % 2 == 0;
    opts.tear_sectors = k % 4 == 0;
    opts.seed = k;
    env.crash(opts);
    INFO("crash after op " << k);
    std::string got = read_all(*open_rw(env));
    size_t done = states.size() - 1;  // commits that returned
    if (static_cast<int>(done) == commits_started) {
      CHECK(got == states[done]);
    } else {
      CHECK((got == states[done] || got == model));
    }
    CHECK_FALSE(h5tx::undo::has_pending_journal(env, kJournal));
    if (finished) break;
  }
}

TEST_CASE("recovery is idempotent: a crash while reverting is repaired by the next open", "[undo][crash]") {
  const std::string original = pattern(30000, 16);
  for (uint64_t k = 1;; k++) {
    FaultEnv start;
    FaultEnv& env = start;
    make_file(env, original);
    {
      auto jf = open_rw(env, small_pages(2048));
      jf->tx_start();
      std::string model = original;
      for (int i = 0; i < 10; i++) put(*jf, model, static_cast<uint64_t>(i) * 3500, pattern(2500, 30 + i));
      jf->tx_prepare();  // everything written and synced, journal valid
    }
    env.crash();
    REQUIRE(h5tx::undo::has_pending_journal(env, kJournal));
    CrashChild c = run_crash_child(start, [&](FaultEnv& e) {
      e.crash_after(e.op_count() + k);
      h5tx::undo::recover(e, kData, kJournal);
    });
    REQUIRE_FALSE(c.error);
    bool finished = !c.died;
    CrashOptions opts;
    opts.keep_random_unsynced = true;
    opts.tear_sectors = k % 2 == 0;
    opts.seed = k;
    c.env->crash(opts);
    INFO("crash after revert op " << k);
    CHECK(read_all(*open_rw(*c.env)) == original);
    if (finished) break;
  }
}

TEST_CASE("read-only open with a pending journal shows the old bytes and changes nothing", "[undo]") {
  FaultEnv env;
  const std::string original = pattern(9000, 17);
  make_file(env, original);
  {
    auto jf = open_rw(env, small_pages(1024));
    jf->tx_start();
    std::string model = original;
    for (int i = 0; i < 8; i++) put(*jf, model, static_cast<uint64_t>(i) * 1300, pattern(900, 40 + i));
    put(*jf, model, 12000, "grown");
    jf->tx_prepare();
  }
  env.crash();
  const std::string data_before = env.read_all(kData);
  const std::string journal_before = env.read_all(kJournal);
  REQUIRE(data_before != original);
  JournaledFile ro(&env, kData, kJournal, JournaledFile::Mode::ReadOnly, {});
  CHECK(ro.size() == original.size());
  CHECK(read_all(ro) == original);
  char tail[8];
  ro.read(original.size() - 4, tail, 8);  // past the old end: zeros
  CHECK(std::string(tail, 8) == original.substr(original.size() - 4) + std::string(4, '\0'));
  CHECK_THROWS_AS(ro.write(0, "x", 1), StateError);
  ro.close();
  CHECK(env.read_all(kData) == data_before);
  CHECK(env.read_all(kJournal) == journal_before);
}

TEST_CASE("a garbage journal is rejected naming the journal and the data file is untouched", "[undo]") {
  for (int kind = 0; kind < 3; kind++) {
    FaultEnv env;
    const std::string original = pattern(5000, 18);
    make_file(env, original);
    std::string garbage;
    if (kind == 0) garbage = "this is not a journal at all";
    if (kind == 1) {  // our magic, damaged header checksum
      h5tx::undo::JournalHeader h{4096, 5000, 7, h5tx::undo::kJournalVersion, {}};
      garbage = h5tx::undo::encode_header(h);
      garbage[30] ^= 1;
    }
    if (kind == 2) garbage = pattern(5000, 19);
    {
      auto j = env.open(kJournal, OpenMode::CreateTrunc);
      j->write(0, garbage.data(), garbage.size());
      j->sync();
    }
    INFO("kind " << kind);
    try {
      open_rw(env);
      FAIL("opened despite a garbage journal");
    } catch (const CorruptionError& e) {
      CHECK(e.path() == kJournal);
      CHECK(std::string(e.what()).find("journal") != std::string::npos);
    }
    CHECK_THROWS_AS(JournaledFile(&env, kData, kJournal, JournaledFile::Mode::ReadOnly, {}), CorruptionError);
    CHECK_THROWS_AS(h5tx::undo::recover(env, kData, kJournal), CorruptionError);
    CHECK(env.read_all(kData) == original);
    CHECK(env.read_all(kJournal) == garbage);
  }
}

TEST_CASE("a torn tail entry is ignored because its page was never overwritten", "[undo]") {
  FaultEnv env;
  const std::string original = pattern(2048, 20);
  make_file(env, original);
  // Entry 1 (page 0) synced and its page overwritten; entry 2 (page 2) torn,
  // page 2 untouched, as the write ordering guarantees.
  h5tx::undo::JournalHeader h{512, original.size(), 99, h5tx::undo::kJournalVersion, {}};
  std::string j = h5tx::undo::encode_header(h);
  h5tx::undo::append_entry(&j, h, 0, 0, original.data(), 512);
  std::string torn;
  h5tx::undo::append_entry(&torn, h, 1024, 0, original.data() + 1024, 512);
  for (size_t cut : {size_t(5), size_t(31), size_t(32), size_t(300), torn.size()}) {
    std::string journal = j + torn.substr(0, cut);
    if (cut == torn.size()) journal[journal.size() - 1] ^= 0x55;  // complete but checksum fails
    std::string data = original;
    data.replace(0, 512, pattern(512, 21));
    data += "growth";
    {
      auto f = env.open(kData, OpenMode::CreateTrunc);
      f->write(0, data.data(), data.size());
      auto jf = env.open(kJournal, OpenMode::CreateTrunc);
      jf->write(0, journal.data(), journal.size());
    }
    INFO("torn entry cut at " << cut);
    CHECK(h5tx::undo::recover(env, kData, kJournal));
    CHECK(env.read_all(kData) == original);
  }
}

TEST_CASE("journals with a header that never reached the disk hold nothing", "[undo]") {
  FaultEnv env;
  const std::string original = pattern(1000, 22);
  make_file(env, original);
  for (const std::string& j : {std::string(700, '\0'), std::string("h5txun"), std::string(1, 's') + "ec2"}) {
    {
      auto f = env.open(kJournal, OpenMode::CreateTrunc);
      f->write(0, j.data(), j.size());
    }
    CHECK_FALSE(h5tx::undo::has_pending_journal(env, kJournal));
    CHECK_FALSE(h5tx::undo::recover(env, kData, kJournal));
    CHECK_FALSE(env.exists(kJournal));
    CHECK(env.read_all(kData) == original);
  }
}

// The legacy format, written here byte by byte as the original driver did
// (x86-64: little-endian hsize_t), independent of h5tx's parser.
namespace {

void le(std::string* s, uint64_t v, int n) {
  for (int i = 0; i < n; i++) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t crc32_of(const std::string& d) {  // CRC-32/ISO-HDLC, bitwise
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : d) {
    c ^= b;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

// Entries (address, before-image bytes) in journal order; returns the journal.
std::string legacy_journal(const std::vector<std::pair<uint64_t, std::string>>& entries,
                           bool stale_first_link) {
  std::string body;
  uint64_t prev = stale_first_link ? 4242 : 0, last = 0;
  for (const auto& e : entries) {
    uint64_t pos = 13 + body.size();
    le(&body, e.first, 8);
    le(&body, e.second.size(), 8);
    le(&body, crc32_of(e.second), 4);
    body += e.second;
    le(&body, prev, 8);
    prev = last = pos;
  }
  std::string j = "sec2j";
  le(&j, last, 8);
  return j + body;
}

}  // namespace

TEST_CASE("a legacy sec2j journal is recognised and reverted", "[undo][legacy]") {
  FaultEnv env;
  const std::string original = pattern(4000, 23);
  make_file(env, original);
  // A transaction of the original driver: it logged each write's old bytes
  // (below the EOA at tx_start), then wrote; two writes overlap.
  std::string data = original;
  std::vector<std::pair<uint64_t, std::string>> entries;
  auto legacy_write = [&](uint64_t at, const std::string& bytes) {
    entries.push_back({at, data.substr(at, bytes.size())});
    data.replace(at, bytes.size(), bytes);
  };
  legacy_write(100, pattern(50, 24));
  legacy_write(120, pattern(300, 25));
  legacy_write(3000, pattern(1000, 26));
  std::string journal = legacy_journal(entries, true);
  REQUIRE(env.read_all(kData) == original);
  {
    auto f = env.open(kData, OpenMode::ReadWrite);
    f->write(0, data.data(), data.size());
    auto j = env.open(kJournal, OpenMode::CreateTrunc);
    j->write(0, journal.data(), journal.size());
  }
  SECTION("read-only open shows the old bytes") {
    JournaledFile ro(&env, kData, kJournal, JournaledFile::Mode::ReadOnly, {});
    CHECK(read_all(ro) == original);
    CHECK(env.read_all(kData) == data);
    CHECK(env.read_all(kJournal) == journal);
  }
  SECTION("read-write open reverts") {
    auto jf = open_rw(env);
    CHECK(read_all(*jf) == original);
    CHECK(env.durable_contents(kData) == original);
    CHECK_FALSE(env.exists(kJournal));
  }
  SECTION("a torn last entry is ignored") {
    // A fourth entry whose data write never happened: cut short.
    std::vector<std::pair<uint64_t, std::string>> more = entries;
    more.push_back({0, original.substr(0, 80)});
    std::string j4 = legacy_journal(more, true);
    j4.resize(j4.size() - 30);
    auto j = env.open(kJournal, OpenMode::CreateTrunc);
    j->write(0, j4.data(), j4.size());
    j.reset();
    CHECK(h5tx::undo::recover(env, kData, kJournal));
    CHECK(env.read_all(kData) == original);
  }
  SECTION("a damaged entry before the last is corruption") {
    std::string bad = journal;
    bad[13 + 20 + 3] ^= 1;  // first entry's data
    auto j = env.open(kJournal, OpenMode::CreateTrunc);
    j->write(0, bad.data(), bad.size());
    j.reset();
    CHECK_THROWS_AS(h5tx::undo::recover(env, kData, kJournal), CorruptionError);
    CHECK(env.read_all(kData) == data);
  }
  SECTION("a legacy journal with no transaction holds nothing") {
    std::string idle = "sec2j";
    le(&idle, 0, 8);
    auto j = env.open(kJournal, OpenMode::CreateTrunc);
    j->write(0, idle.data(), idle.size());
    j.reset();
    CHECK_FALSE(h5tx::undo::recover(env, kData, kJournal));
    CHECK(env.read_all(kData) == data);
  }
}

// Golden files: formats/golden/undo-journal-v1.bin (our format, built with
// the codec from fixed inputs) and sec2j-legacy-journal.bin (built byte by
// byte above). Set H5TX_WRITE_GOLDEN=1 to rewrite them.
namespace {

void check_golden(const std::string& name, const std::string& bytes) {
  std::string path = std::string(H5TX_SOURCE_DIR) + "/formats/golden/" + name;
  h5tx::Env* env = h5tx::Env::posix();
  if (std::getenv("H5TX_WRITE_GOLDEN")) env->write_file_atomic(path, bytes);
  REQUIRE(env->exists(path));
  CHECK(env->read_all(path) == bytes);
}

std::string ramp(size_t n, int start) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>((start + i) & 0xff);
  return s;
}

}  // namespace

// Version 1 is no longer written, but still read (a journal left by an
// older build must revert).
TEST_CASE("golden: undo journal v1", "[undo][golden]") {
  h5tx::undo::JournalHeader h{512, 1000, 0x0123456789abcdefull, 1, {}};
  std::string j = h5tx::undo::encode_header(h);
  std::string p0 = ramp(512, 0), p1 = ramp(488, 7), p0b = ramp(512, 100);
  h5tx::undo::append_entry(&j, h, 0, 0, p0.data(), 512);
  h5tx::undo::append_entry(&j, h, 512, 0, p1.data(), 488);  // the partial last page
  h5tx::undo::append_entry(&j, h, 0, 1, p0b.data(), 512);   // a nested level's image
  REQUIRE(j.size() == 64 + 3 * 32 + 512 + 488 + 512);
  check_golden("undo-journal-v1.bin", j);
  // The checksums as the format doc defines them, computed in one shot.
  CHECK(le64(reinterpret_cast<const unsigned char*>(j.data()) + 56) == XXH3_64bits(j.data(), 56));
  std::string e1 = j.substr(64 + 32 + 512, 24) + p1;  // second entry: bytes 0..23, then data
  CHECK(le64(reinterpret_cast<const unsigned char*>(j.data()) + 64 + 32 + 512 + 24) ==
        XXH3_64bits_withSeed(e1.data(), e1.size(), 0x0123456789abcdefull));

  // And it parses back to what went in.
  FaultEnv env;
  make_file(env, "");
  {
    auto f = env.open(kJournal, OpenMode::CreateTrunc);
    f->write(0, j.data(), j.size());
  }
  auto f = env.open(kJournal, OpenMode::ReadOnly);
  auto s = h5tx::undo::scan_journal(*f);
  CHECK(s.header.page_size == 512);
  CHECK(s.header.original_size == 1000);
  CHECK(s.header.nonce == 0x0123456789abcdefull);
  REQUIRE(s.entries.size() == 3);
  CHECK(s.entries[1].offset == 512);
  CHECK(s.entries[1].length == 488);
  CHECK(s.entries[2].level == 1);
  CHECK_FALSE(s.torn_tail);
  f.reset();

  // A version 1 journal still reverts: the first image of each page wins.
  {
    auto d = env.open(kData, OpenMode::CreateTrunc);
    d->write(0, std::string(3000, 'x').data(), 3000);
    d->sync();
  }
  CHECK(h5tx::undo::recover(env, kData, kJournal));
  CHECK(env.read_all(kData) == p0 + p1);
}

TEST_CASE("golden: undo journal v2", "[undo][golden]") {
  h5tx::undo::JournalHeader h{512, 1000, 0x0123456789abcdefull, 2, {}};
  std::string run = ramp(1000, 3), p0b = ramp(512, 100);
  std::string j = h5tx::undo::encode_header(h);
  h5tx::undo::append_entry(&j, h, 0, 0, run.data(), 1000);  // pages 0 and 1 (short: the end of the file)
  h5tx::undo::append_entry(&j, h, 0, 1, p0b.data(), 512);   // a nested level's image of page 0
  REQUIRE(j.size() == 64 + 2 * 32 + 1000 + 512);
  check_golden("undo-journal-v2.bin", j);
  CHECK(le32(reinterpret_cast<const unsigned char*>(j.data()) + 8) == 2);
  std::string e0 = j.substr(64, 24) + run;  // first entry: bytes 0..23, then data
  CHECK(le64(reinterpret_cast<const unsigned char*>(j.data()) + 64 + 24) ==
        XXH3_64bits_withSeed(e0.data(), e0.size(), 0x0123456789abcdefull));

  // It parses back, and reverting it writes the run (not the nested image
  // of page 0) and truncates to 1000 bytes.
  FaultEnv env;
  make_file(env, std::string(3000, 'x'));
  {
    auto f = env.open(kJournal, OpenMode::CreateTrunc);
    f->write(0, j.data(), j.size());
    f->sync();
  }
  {
    auto f = env.open(kJournal, OpenMode::ReadOnly);
    auto s = h5tx::undo::scan_journal(*f);
    CHECK(s.header.version == 2);
    REQUIRE(s.entries.size() == 2);
    CHECK(s.entries[0].length == 1000);
    CHECK(s.entries[1].level == 1);
    CHECK_FALSE(s.torn_tail);
  }
  CHECK(h5tx::undo::recover(env, kData, kJournal));
  CHECK(env.read_all(kData) == run);
}

// Version 3 (written): the header records the data file's identity
// (device, inode, base name) and is 384 bytes.
TEST_CASE("golden: undo journal v3", "[undo][golden]") {
  h5tx::undo::JournalHeader h{512, 1000, 0x0123456789abcdefull, 3, {}};
  h.owner.device = 0x801;  // 8:1, e.g. /dev/sda1
  h.owner.inode = 0x3039;  // 12345
  h.owner.name = "data.h5";
  std::string run = ramp(1000, 3), p0b = ramp(512, 100);
  std::string j = h5tx::undo::encode_header(h);
  REQUIRE(j.size() == 384);
  h5tx::undo::append_entry(&j, h, 0, 0, run.data(), 1000);
  h5tx::undo::append_entry(&j, h, 0, 1, p0b.data(), 512);
  REQUIRE(j.size() == 384 + 2 * 32 + 1000 + 512);
  check_golden("undo-journal-v3.bin", j);
  const unsigned char* u = reinterpret_cast<const unsigned char*>(j.data());
  CHECK(uint32_t(h5tx::load_le(u + 8, 4)) == 3);
  CHECK(uint32_t(h5tx::load_le(u + 12, 4)) == 384);
  CHECK(h5tx::load_le(u + 40, 8) == 0x801);
  CHECK(h5tx::load_le(u + 48, 8) == 12345);
  CHECK(uint32_t(h5tx::load_le(u + 56, 4)) == 7);
  CHECK(j.compare(64, 7, "data.h5") == 0);
  CHECK(std::all_of(j.begin() + 71, j.begin() + 376, [](char c) { return c == 0; }));
  CHECK(h5tx::load_le(u + 376, 8) == XXH3_64bits(j.data(), 376));
  std::string e0 = j.substr(384, 24) + run;
  CHECK(h5tx::load_le(u + 384 + 24, 8) == XXH3_64bits_withSeed(e0.data(), e0.size(), 0x0123456789abcdefull));

  FaultEnv env;
  make_file(env, std::string(3000, 'x'));
  auto put_journal = [&](const std::string& path) {
    auto f = env.open(path, OpenMode::CreateTrunc);
    f->write(0, j.data(), j.size());
    f->sync();
  };
  put_journal(kJournal);
  {
    auto f = env.open(kJournal, OpenMode::ReadOnly);
    auto s = h5tx::undo::scan_journal(*f);
    CHECK(s.header.version == 3);
    CHECK(s.header.owner.device == 0x801);
    CHECK(s.header.owner.inode == 12345);
    CHECK(s.header.owner.name == "data.h5");
    REQUIRE(s.entries.size() == 2);
    CHECK(s.entries[0].length == 1000);
    CHECK_FALSE(s.torn_tail);
  }
  // Another data file (other name, other inode) is refused, untouched, and
  // the journal is kept; the file it names (same base name: a restore from
  // backup gets new inodes) reverts.
  {
    auto d = env.open("/d/other.h5", OpenMode::CreateTrunc);
    d->write(0, std::string(3000, 'y').data(), 3000);
    d->sync();
  }
  try {
    h5tx::undo::recover(env, "/d/other.h5", kJournal);
    FAIL("a journal of data.h5 reverted other.h5");
  } catch (const CorruptionError& e) {
    CHECK(std::string(e.what()).find("data.h5") != std::string::npos);
    CHECK(std::string(e.what()).find("/d/other.h5") != std::string::npos);
  }
  CHECK(env.read_all("/d/other.h5") == std::string(3000, 'y'));
  CHECK(env.exists(kJournal));
  CHECK(h5tx::undo::recover(env, kData, kJournal));
  CHECK(env.read_all(kData) == run);
}

TEST_CASE("golden: legacy sec2j journal", "[undo][golden]") {
  std::string j = legacy_journal({{0, ramp(16, 1)}, {4096, ramp(8, 50)}}, false);
  REQUIRE(j.size() == 13 + 28 + 16 + 28 + 8);
  check_golden("sec2j-legacy-journal.bin", j);
}

// Every injected I/O error inside a transaction reaches the caller (never
// swallowed), and the file is then all-or-nothing.
TEST_CASE("an I/O error at any operation of a transaction surfaces", "[undo][faults]") {
  const std::string original = pattern(6000, 50);
  for (uint64_t k = 1;; k++) {
    FaultEnv env;
    make_file(env, original);
    env.create_dir("/d/undo_1");
    std::string model = original;
    uint64_t base = env.op_count();
    env.fail_at(base + k, k % 2 ? EIO : ENOSPC);
    bool threw = false, committed = false;
    try {
      auto jf = open_rw(env, small_pages(2048));
      jf->tx_start("/d/undo_1/data.h5.journal");  // a per-transaction journal is removed at commit
      for (int i = 0; i < 6; i++) put(*jf, model, static_cast<uint64_t>(i) * 1100, pattern(1500, 60 + i));
      jf->tx_commit();
      committed = true;
      jf->close();
    } catch (const h5tx::Error& e) {
      threw = true;
    }
    INFO("fault at op " << k << " of the transaction");
    bool fault_hit = env.op_count() >= base + k;
    CHECK(threw == fault_hit);
    env.clear_faults();
    std::string got = read_all(*std::make_unique<JournaledFile>(
        &env, kData, "/d/undo_1/data.h5.journal", JournaledFile::Mode::ReadWrite, JournaledFileOptions{}));
    if (committed)
      CHECK(got == model);
    else
      CHECK((got == original || got == model));
    CHECK_FALSE(env.exists("/d/undo_1/data.h5.journal"));
    if (!fault_hit) break;
  }
}

// ---- the state machine (journaled_file.hpp, "THE STATE MACHINE") ----

namespace {
using State = JournaledFile::State;
const State kStates[] = {State::Idle, State::Active, State::Prepared, State::Discarding, State::Failed};
}  // namespace

TEST_CASE("state machine: the transition table is the one documented", "[undo][state]") {
  // The table in journaled_file.hpp, row by row.
  std::set<std::pair<State, State>> documented = {
      {State::Idle, State::Active},         {State::Active, State::Active},
      {State::Active, State::Prepared},     {State::Active, State::Idle},
      {State::Active, State::Discarding},   {State::Active, State::Failed},
      {State::Prepared, State::Active},     {State::Prepared, State::Idle},
      {State::Prepared, State::Discarding}, {State::Prepared, State::Failed},
      {State::Discarding, State::Idle},     {State::Discarding, State::Active},
      {State::Discarding, State::Failed},   {State::Failed, State::Failed},
  };
  for (State from : kStates) {
    for (State to : kStates) {
      INFO(JournaledFile::state_name(from) << " -> " << JournaledFile::state_name(to));
      CHECK(JournaledFile::legal(from, to) == (documented.count({from, to}) == 1));
    }
  }
  // Failed is terminal; nothing leads back to Prepared but tx_prepare from Active.
  for (State to : kStates)
    if (to != State::Failed) CHECK_FALSE(JournaledFile::legal(State::Failed, to));
  CHECK_FALSE(JournaledFile::legal(State::Idle, State::Prepared));
  CHECK_FALSE(JournaledFile::legal(State::Discarding, State::Prepared));
}

TEST_CASE("state machine: legal call sequences walk the table", "[undo][state]") {
  FaultEnv env;
  make_file(env, pattern(8192, 50));
  auto jf = open_rw(env, small_pages());
  CHECK(jf->state() == State::Idle);
  jf->tx_start();
  CHECK(jf->state() == State::Active);
  jf->write(100, "a", 1);
  jf->tx_start();  // nested
  CHECK(jf->state() == State::Active);
  CHECK(jf->depth() == 2);
  jf->tx_commit();  // the nested level
  CHECK(jf->state() == State::Active);
  jf->tx_prepare();
  CHECK(jf->state() == State::Prepared);
  jf->truncate(jf->size());  // changes nothing: still prepared
  CHECK(jf->state() == State::Prepared);
  jf->write(200, "b", 1);  // a write after prepare: active again
  CHECK(jf->state() == State::Active);
  jf->tx_prepare();
  jf->tx_commit();
  CHECK(jf->state() == State::Idle);
  // Prepared -> Idle by forget (the caller owns the journal then).
  jf->tx_start();
  jf->write(300, "c", 1);
  jf->tx_prepare();
  jf->tx_forget();
  CHECK(jf->state() == State::Idle);
  // Abort: Discarding until close, writes dropped, Idle after close.
  jf->tx_start();
  jf->write(400, "d", 1);
  jf->tx_abort();
  CHECK(jf->state() == State::Discarding);
  CHECK(jf->discarding());
  jf->write(500, "e", 1);  // HDF5's stale cache: dropped, no error
  CHECK_FALSE(jf->close());
  CHECK(jf->state() == State::Idle);
  // An inner abort leaves the outer level; close parks the file (Active).
  jf->tx_start();
  jf->tx_start();
  jf->tx_abort();
  CHECK(jf->state() == State::Discarding);
  CHECK(jf->close());
  CHECK(jf->state() == State::Active);
  jf->tx_abort();
  CHECK_FALSE(jf->close());
  CHECK(jf->state() == State::Idle);
}

TEST_CASE("state machine: illegal call sequences give StateError and change nothing", "[undo][state]") {
  FaultEnv env;
  make_file(env, pattern(4096, 51));
  auto jf = open_rw(env, small_pages());
  // Idle: no transaction to end.
  CHECK_THROWS_AS(jf->tx_commit(), StateError);
  CHECK_THROWS_AS(jf->tx_abort(), StateError);
  CHECK_THROWS_AS(jf->tx_prepare(), StateError);
  CHECK_THROWS_AS(jf->tx_forget(), StateError);
  CHECK_THROWS_AS(jf->end_on_close(JournaledFile::EndOnClose::Commit), StateError);
  CHECK(jf->state() == State::Idle);
  // Active: forget needs Prepared; prepare needs one level.
  jf->tx_start();
  CHECK_THROWS_AS(jf->tx_forget(), StateError);
  jf->tx_start();
  CHECK_THROWS_AS(jf->tx_prepare(), StateError);
  CHECK(jf->state() == State::Active);
  CHECK(jf->depth() == 2);
  // Discarding (after an abort): nothing but close.
  jf->tx_abort();
  CHECK(jf->state() == State::Discarding);
  CHECK_THROWS_AS(jf->tx_abort(), StateError);
  CHECK_THROWS_AS(jf->tx_commit(), StateError);
  CHECK_THROWS_AS(jf->tx_prepare(), StateError);
  CHECK_THROWS_AS(jf->tx_start(), StateError);
  CHECK(jf->state() == State::Discarding);
  CHECK(jf->close());  // the outer level is still open: parked
  CHECK(jf->state() == State::Active);
}

TEST_CASE("state machine: an error inside a transaction makes it Failed, terminally", "[undo][state]") {
  FaultEnv env;
  const std::string original = pattern(4096, 52);
  make_file(env, original);
  auto jf = open_rw(env, small_pages());
  jf->tx_start();
  jf->write(0, "x", 1);
  env.fail_at(env.op_count() + 1, EIO);  // the commit's first operation
  CHECK_THROWS_AS(jf->tx_commit(), h5tx::IoError);
  CHECK(jf->state() == State::Failed);
  jf->write(10, "y", 1);                            // dropped
  jf->truncate(1);                                  // dropped
  CHECK_THROWS_AS(jf->tx_commit(), h5tx::IoError);  // the first error again
  CHECK_THROWS_AS(jf->tx_abort(), h5tx::IoError);
  CHECK_THROWS_AS(jf->tx_start(), h5tx::IoError);
  CHECK_FALSE(jf->close());
  CHECK(jf->state() == State::Failed);
  env.crash();
  CHECK(read_all(*open_rw(env)) == original);
}

TEST_CASE("state machine: an error outside a transaction just propagates", "[undo][state]") {
  FaultEnv env;
  make_file(env, pattern(4096, 53));
  auto jf = open_rw(env, small_pages());
  env.fail_at(env.op_count() + 1, EIO);
  CHECK_THROWS_AS(jf->write(0, "x", 1), h5tx::IoError);
  CHECK(jf->state() == State::Idle);
  jf->write(0, "x", 1);
  jf->tx_start();
  CHECK(jf->state() == State::Active);
  jf->tx_commit();
  CHECK_FALSE(jf->close());
}
