// Regression tests for undo journals that pass their checksums but name
// impossible places (found by tests/fuzz/undo_journal_fuzz): revert refuses
// them with a CorruptionError naming the journal and writes nothing.
#include <catch2/catch.hpp>

#include "h5tx/error.hpp"
#include "io/testing/fault_env.hpp"
#include "undo/journal_format.hpp"
#include "undo/pending_journal.hpp"

using namespace h5tx;

TEST_CASE("a legacy sec2j entry beyond the end of the data file is refused, file untouched") {
  // A legacy journal whose last entry has a valid CRC32 but the address 2^63-ish.
  const unsigned char journal[] = {
      0x73, 0x65, 0x63, 0x32, 0x6a, 0x39, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf1,
      0x80, 0x4c, 0x09, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
      0x0d, 0x0e, 0x0f, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf8, 0xff, 0xff, 0xff, 0x10, 0x00,
      0x4c, 0x09, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
      0x0e, 0xa9, 0x10, 0x00, 0x00, 0x00, 0x00, 0x73, 0x65, 0x00, 0x3d, 0x00};
  testing::FaultEnv env;
  {
    auto j = env.open("/f.h5.journal", OpenMode::CreateTrunc);
    j->write(0, journal, sizeof journal);
    auto d = env.open("/f.h5", OpenMode::CreateTrunc);
    std::string bytes(8192, 'x');
    d->write(0, bytes.data(), bytes.size());
    j->sync();
    d->sync();
  }
  std::string before = env.read_all("/f.h5");
  try {
    undo::revert_pending_journal(env, "/f.h5", "/f.h5.journal");
    FAIL("revert accepted an impossible before-image");
  } catch (const CorruptionError& e) {
    CHECK(e.path() == "/f.h5.journal");
    CHECK(std::string(e.what()).find("beyond") != std::string::npos);
  }
  CHECK(env.read_all("/f.h5") == before);
  CHECK(env.exists("/f.h5.journal"));
}

TEST_CASE("a journal whose original size exceeds the file and its images is refused, file untouched") {
  undo::JournalHeader h;
  h.page_size = 4096;
  h.original_size = uint64_t(1) << 62;  // valid checksum, impossible size
  h.nonce = 42;
  std::string journal = undo::encode_header(h);
  std::string page(4096, 'o');
  undo::append_entry(&journal, h, 0, 0, page.data(), page.size());
  testing::FaultEnv env;
  {
    auto j = env.open("/g.h5.journal", OpenMode::CreateTrunc);
    j->write(0, journal.data(), journal.size());
    auto d = env.open("/g.h5", OpenMode::CreateTrunc);
    std::string bytes(8192, 'x');
    d->write(0, bytes.data(), bytes.size());
    j->sync();
    d->sync();
  }
  std::string before = env.read_all("/g.h5");
  CHECK_THROWS_AS(undo::revert_pending_journal(env, "/g.h5", "/g.h5.journal"), CorruptionError);
  CHECK(env.read_all("/g.h5") == before);
}
