// The undo driver reads the before-images of adjacent pages with one read
// per run (at most 1 MiB) and journals each run as one entry (format version
// 2): every page must be saved exactly once, with its original bytes (the
// short last page included), and a crash must revert every byte.
#include <catch2/catch.hpp>

#include <algorithm>
#include <iterator>
#include <random>
#include <set>
#include <string>

#include "io/testing/fault_env.hpp"
#include "undo/journal_format.hpp"
#include "undo/journaled_file.hpp"

using h5tx::OpenMode;
using h5tx::testing::FaultEnv;
using h5tx::undo::JournaledFile;
using h5tx::undo::JournaledFileOptions;

namespace {

const std::string kData = "/d/data.h5";
const std::string kJournal = "/d/data.h5.journal";

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// Writes `writes` (offset, length) inside one transaction, spills them,
// then checks the journal entry by entry and reverts after a crash.
void check_runs(size_t page, const std::string& original,
                const std::vector<std::pair<uint64_t, size_t>>& writes) {
  FaultEnv env;
  env.create_dir("/d");
  env.sync_dir("/");
  {
    auto f = env.open(kData, OpenMode::CreateTrunc);
    f->write(0, original.data(), original.size());
    f->sync();
  }
  env.sync_dir("/d");
  JournaledFileOptions o;
  o.page_size = page;
  JournaledFile jf(&env, kData, kJournal, JournaledFile::Mode::ReadWrite, o);
  jf.tx_start();
  std::set<uint64_t> expected;  // pages that existed and were written
  uint32_t seed = 1;
  for (const auto& w : writes) {
    std::string bytes = random_bytes(w.second, seed++);
    jf.write(w.first, bytes.data(), bytes.size());
    for (uint64_t p = w.first / page; p * page < std::min<uint64_t>(w.first + w.second, original.size()); p++)
      expected.insert(p);
  }
  jf.tx_prepare();  // spills: journal synced, data written

  auto journal = env.open(kJournal, OpenMode::ReadOnly);
  auto scanned = h5tx::undo::scan_journal(*journal);
  CHECK_FALSE(scanned.torn_tail);
  std::set<uint64_t> got;
  CHECK(scanned.header.version == h5tx::undo::kJournalVersion);  // runs since version 2
  CHECK(scanned.header.owner.name == h5tx::path_basename(kData));
  for (const auto& e : scanned.entries) {
    INFO("entry at offset " << e.offset << " length " << e.length);
    CHECK(e.offset % page == 0);
    CHECK(e.length <= std::max<uint64_t>(page, 1 << 20));
    // Whole pages, except a run ending at the end of the file.
    CHECK((e.length % page == 0 || e.offset + e.length == original.size()));
    std::string data(e.length, '\0');
    REQUIRE(journal->read(e.data_pos, &data[0], e.length) == e.length);
    CHECK((data == original.substr(e.offset, e.length)));
    for (uint64_t p = e.offset / page; p * page < e.offset + e.length; p++)
      CHECK(got.insert(p).second);  // every page saved once
  }
  CHECK(got == expected);
  // Adjacent pages share an entry: no more entries than runs of pages.
  size_t runs = 0;
  for (auto it = expected.begin(); it != expected.end(); ++it)
    if (it == expected.begin() || *std::prev(it) + 1 != *it) runs++;
  CHECK(scanned.entries.size() >= runs);
  CHECK(scanned.entries.size() <= runs + expected.size() * page / (1 << 20) + 1);

  env.crash();
  JournaledFile again(&env, kData, kJournal, JournaledFile::Mode::ReadWrite, o);
  std::string now(again.size(), '\0');
  again.read(0, &now[0], now.size());
  CHECK((now == original));
}

}  // namespace

TEST_CASE("before-images of adjacent pages: runs, gaps, a short last page and growth", "[undo]") {
  const size_t page = 512;
  const std::string original = random_bytes(20 * page + 100, 7);
  check_runs(page, original,
             {{page + 10, 3 * page},        // pages 1-4, one run
              {6 * page + 500, 20},         // pages 6-7 across a boundary
              {9 * page, 5 * page},         // pages 9-13, adjacent to nothing before
              {14 * page, page},            // page 14 joins the run 9-13
              {18 * page + 3, 4 * page}});  // pages 18-20 (short) and growth past the end
}

TEST_CASE("before-images of one long run are read in pieces of at most 1 MiB", "[undo]") {
  const size_t page = 512;
  const std::string original = random_bytes(3 * 1024 * 1024 + 300, 9);  // > 6000 pages
  check_runs(page, original, {{0, original.size() + 4096}});
}
