// Store layout: h5tx.store codec and golden file, LOCK exclusion with the
// holder's pid, txid reservation across reopen.
#include <catch2/catch.hpp>
#include <unistd.h>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "store/layout.hpp"
#include "test_util.hpp"

using namespace h5tx;

static std::string golden(const std::string& name) {
  return Env::posix()->read_all(std::string(H5TX_SOURCE_DIR) + "/formats/golden/" + name);
}

TEST_CASE("h5tx.store and TXID match the golden files byte for byte") {
  h5tx_test::TempDir dir("layout");
  std::string home = dir / "s";
  auto layout = Layout::create(Env::posix(), home, Options{});
  CHECK(Env::posix()->read_all(home + "/h5tx.store") == golden("h5tx.store-v3"));
  CHECK(Env::posix()->read_all(home + "/TXID") == golden("TXID-v1"));
  CHECK(Env::posix()->is_directory(home + "/data"));
  CHECK(Env::posix()->is_directory(home + "/journal"));
  CHECK(Env::posix()->is_directory(home + "/procs"));
}

TEST_CASE("procs/flusher's pid line matches the golden file byte for byte") {
  std::string g = golden("procs-flusher-v1");
  CHECK(procs::encode_flusher(12345) == g);
  uint64_t pid = 0;
  REQUIRE(procs::decode_flusher(g, &pid));
  CHECK(pid == 12345);
  CHECK_FALSE(procs::decode_flusher(g.substr(0, 29), &pid));
  CHECK_FALSE(procs::decode_flusher("", &pid));
}

TEST_CASE("_temp ids carry their writer's owner tag") {
  for (uint64_t reg : {uint64_t(0), uint64_t(1), ~uint64_t(0), uint64_t(0x123456789abcdef0)}) {
    uint64_t tag = procs::owner_tag(reg);
    CHECK(tag >= 1);
    CHECK(tag < (uint64_t(1) << 30));
    CHECK(procs::tag_of_temp(tag << 32 | 0xffffffffu) == tag);
  }
  uint64_t id = 0;
  CHECK(procs::parse_registration_name("snap-00000000000000ff", procs::kSnapPrefix, &id));
  CHECK(id == 0xff);
  CHECK(procs::parse_registration_name("snap-00000000000000fe.tmp", procs::kSnapPrefix, &id));
  CHECK(id == 0xfe);
  CHECK_FALSE(procs::parse_registration_name("snap-00000000000000fe.tmpx", procs::kSnapPrefix, &id));
  CHECK_FALSE(procs::parse_registration_name("asof-00000000000000fe", procs::kSnapPrefix, &id));
  CHECK_FALSE(procs::parse_registration_name("snap-0000000000000g00", procs::kSnapPrefix, &id));
}

TEST_CASE("a procs/ registration matches the golden file byte for byte") {
  std::string g = golden("procs-snap-v1");
  CHECK(procs::encode_registration(12345, 0x10042) == g);
  uint64_t pid = 0, snap = 0;
  REQUIRE(procs::decode_registration(g, &pid, &snap));
  CHECK(pid == 12345);
  CHECK(snap == 0x10042);
  // A read torn by a rewrite (a prefix new, the rest old) is refused
  // unless it equals one of the two values.
  std::string old_text = procs::encode_registration(12345, 0x10042);
  std::string new_text = procs::encode_registration(12345, 0x20051);
  for (size_t cut = 0; cut <= old_text.size(); cut++) {
    std::string torn = new_text.substr(0, cut) + old_text.substr(cut);
    if (procs::decode_registration(torn, &pid, &snap)) CHECK((snap == 0x10042 || snap == 0x20051));
  }
  CHECK_FALSE(procs::decode_registration(g.substr(0, 20), &pid, &snap));
  CHECK_FALSE(procs::decode_registration("", &pid, &snap));
  CHECK(procs::decode_registration(procs::encode_registration(1, procs::kNoSnapshot), &pid, &snap));
  CHECK(snap == procs::kNoSnapshot);
}

TEST_CASE("the txid counter procs/commit matches its golden file and rejects torn text") {
  std::string g = golden("procs-commit-v1");
  CHECK(procs::encode_counter(0x10042) == g);
  uint64_t next = 0;
  REQUIRE(procs::decode_counter(g, &next));
  CHECK(next == 0x10042);
  std::string newer = procs::encode_counter(0x20051);
  for (size_t cut = 1; cut < g.size(); cut++) {
    std::string torn = newer.substr(0, cut) + g.substr(cut);
    if (procs::decode_counter(torn, &next)) CHECK((next == 0x10042 || next == 0x20051));
  }
  CHECK_FALSE(procs::decode_counter("", &next));
  CHECK_FALSE(procs::decode_counter(procs::encode_counter(0), &next));  // 0 is no txid
}

TEST_CASE("a version 1 store opens, and a read-write open upgrades it to version 3") {
  h5tx_test::TempDir dir("layout");
  std::string home = dir / "s";
  Layout::create(Env::posix(), home, Options{}).reset();
  Env::posix()->write_file_atomic(home + "/h5tx.store", golden("h5tx.store-v1"));
  Env::posix()->remove_flat_dir(home + "/procs");
  {
    Options ro;
    ro.read_only = true;
    auto l = Layout::open(Env::posix(), home, ro);  // version 1: the shared LOCK, as before
    CHECK(l->live_reader() == nullptr);
    CHECK(l->format().version == 1);
  }
  CHECK(Env::posix()->read_all(home + "/h5tx.store") == golden("h5tx.store-v1"));
  {
    auto l = Layout::open(Env::posix(), home, Options{});
    CHECK(l->format().version == 3);
    CHECK(l->alone());
    CHECK(l->multi_writer());
  }
  CHECK(Env::posix()->read_all(home + "/h5tx.store") == golden("h5tx.store-v3"));
  CHECK(Env::posix()->is_directory(home + "/procs"));
  Options ro;
  ro.read_only = true;
  auto l = Layout::open(Env::posix(), home, ro);
  CHECK(l->live_reader() != nullptr);
}

TEST_CASE("StoreFormat rejects bad and newer files with the path") {
  const std::string p = "/x/h5tx.store";
  StoreFormat f = StoreFormat::decode(golden("h5tx.store-v1"), p);
  CHECK(f.version == 1);
  CHECK(f.mode == Mode::Redo);
  CHECK(f.undo_page_size == 4096);
  CHECK(StoreFormat::decode(golden("h5tx.store-v2"), p).version == 2);
  CHECK(StoreFormat::decode(golden("h5tx.store-v3"), p).version == 3);
  CHECK_THROWS_AS(
      StoreFormat::decode("format = h5tx-store\nversion = 4\nmode = redo\nundo_page_size = 4096\n", p),
      UnsupportedError);
  CHECK_THROWS_AS(StoreFormat::decode("garbage\n", p), CorruptionError);
  CHECK_THROWS_AS(StoreFormat::decode("", p), CorruptionError);
  CHECK_THROWS_AS(
      StoreFormat::decode("format = h5tx-store\nversion = 1\nmode = sideways\nundo_page_size = 4096\n", p),
      CorruptionError);
  CHECK_THROWS_AS(
      StoreFormat::decode("format = h5tx-store\nversion = 1\nmode = redo\nundo_page_size = 4000\n", p),
      CorruptionError);
  CHECK_THROWS_AS(StoreFormat::decode(golden("h5tx.store-v1") + "extra = 1\n", p), CorruptionError);
  try {
    StoreFormat::decode("format = h5tx-store\nversion = 99\nmode = redo\nundo_page_size = 4096\n", p);
    FAIL("no throw");
  } catch (const UnsupportedError& e) {
    CHECK(e.path() == p);
    CHECK(std::string(e.what()).find("99") != std::string::npos);
  }
}

TEST_CASE("a newer store version is refused and nothing is changed") {
  h5tx_test::TempDir dir("layout");
  std::string home = dir / "s";
  Layout::create(Env::posix(), home, Options{}).reset();
  std::string text = "format = h5tx-store\nversion = 7\nmode = redo\nundo_page_size = 4096\n";
  Env::posix()->write_file_atomic(home + "/h5tx.store", text);
  std::string txid_before = Env::posix()->read_all(home + "/TXID");
  CHECK_THROWS_AS(Layout::open(Env::posix(), home, Options{}), UnsupportedError);
  CHECK(Env::posix()->read_all(home + "/h5tx.store") == text);
  CHECK(Env::posix()->read_all(home + "/TXID") == txid_before);
}

TEST_CASE("create refuses a non-empty directory, open refuses a non-store") {
  h5tx_test::TempDir dir("layout");
  Env* env = Env::posix();
  env->open(dir / "stray", OpenMode::CreateNew);
  CHECK_THROWS_AS(Layout::create(env, dir.path(), Options{}), AlreadyExistsError);
  CHECK_THROWS_AS(Layout::open(env, dir.path(), Options{}), NotFoundError);
  CHECK_THROWS_AS(Layout::open(env, dir / "missing", Options{}), NotFoundError);
}

TEST_CASE(
    "redo writers share the store (the first alone), an undo writer gets Busy naming the holder's pid") {
  h5tx_test::TempDir dir("layout");
  std::string home = dir / "s";
  auto writer = Layout::create(Env::posix(), home, Options{});
  CHECK(writer->alone());
  {
    // Another opener waits for procs/open while the first is alone (its
    // recovery may run): Busy after the timeout, naming the file.
    Options quick;
    quick.lock_timeout = std::chrono::milliseconds(0);
    try {
      Layout::open(Env::posix(), home, quick);
      FAIL("a writer came in while the first was recovering");
    } catch (const BusyError& e) {
      CHECK(e.path() == home + "/procs/open");
    }
  }
  writer->share(Options{});
  {
    auto second = Layout::open(Env::posix(), home, Options{});
    CHECK_FALSE(second->alone());
    CHECK(second->multi_writer());
  }
  Options ro;
  ro.read_only = true;
  {
    // Redo, format 2: readers register in procs/ instead of sharing LOCK,
    // next to the writer, and a writer opens next to them.
    auto r0 = Layout::open(Env::posix(), home, ro);
    CHECK(r0->live_reader() != nullptr);
    writer.reset();
    auto r1 = Layout::open(Env::posix(), home, ro);
    CHECK(r1->read_only());
    CHECK_THROWS_AS(r1->allocate_txid(), StateError);
    auto w = Layout::open(Env::posix(), home, Options{});
  }
  // Undo mode keeps the shared LOCK for readers.
  std::string uhome = dir / "u";
  Options uo;
  uo.mode = Mode::Undo;
  auto uwriter = Layout::create(Env::posix(), uhome, uo);
  CHECK_THROWS_AS(Layout::open(Env::posix(), uhome, ro), BusyError);
  try {
    Layout::open(Env::posix(), uhome, uo);
    FAIL("second undo writer was let in");
  } catch (const BusyError& e) {
    CHECK(std::string(e.what()).find(std::to_string(::getpid())) != std::string::npos);
    CHECK(std::string(e.what()).find("one writer process") != std::string::npos);
    CHECK(e.path() == uhome + "/LOCK");
  }
  uwriter.reset();
  auto r1 = Layout::open(Env::posix(), uhome, ro);
  auto r2 = Layout::open(Env::posix(), uhome, ro);
  CHECK(r1->live_reader() == nullptr);
  CHECK_THROWS_AS(Layout::open(Env::posix(), uhome, Options{}), BusyError);
}

TEST_CASE("txids are strictly increasing across reopen, and above observed ids") {
  for (Mode mode : {Mode::Undo, Mode::Redo}) {
    INFO(int(mode));
    h5tx_test::TempDir dir("layout");
    std::string home = dir / "s";
    Options o;
    o.mode = mode;
    // Undo mode hands out txids from memory; a redo writer (format 3)
    // provisional ids, and the real one under the commit section.
    auto next = [](Layout& l) {
      if (!l.multi_writer()) return l.allocate_txid();
      auto section = procs::CommitSection::enter(Env::posix(), l.procs_dir(), std::chrono::milliseconds(0));
      return l.assign_txid(*section, l.allocate_txid());
    };
    uint64_t last;
    {
      auto l = Layout::create(Env::posix(), home, o);
      CHECK(l->multi_writer() == (mode == Mode::Redo));
      uint64_t a = next(*l);
      uint64_t b = next(*l);
      CHECK(a == 1);
      CHECK(b == 2);
      last = b;
    }
    {
      auto l = Layout::open(Env::posix(), home, o);
      uint64_t c = next(*l);
      CHECK(c > last);
      l->observe_txid(c + 1000);
      uint64_t d = next(*l);
      CHECK(d == c + 1001);
      // Crossing a reservation block rewrites TXID before the id is used.
      for (uint64_t i = 0; i < Layout::kTxidBlock; ++i) last = next(*l);
    }
    auto l = Layout::open(Env::posix(), home, o);
    CHECK(next(*l) > last);
  }
}

TEST_CASE("txid hex and file names") {
  CHECK(Layout::txid_hex(0x1aULL) == "000000000000001a");
  uint64_t v = 0;
  CHECK(Layout::parse_txid_hex("00000000000000ff", &v));
  CHECK(v == 255);
  CHECK_FALSE(Layout::parse_txid_hex("00000000000000FF", &v));
  CHECK_FALSE(Layout::parse_txid_hex("ff", &v));
  CHECK_NOTHROW(Layout::check_file_name("vol.h5"));
  CHECK_THROWS_AS(Layout::check_file_name("a/b.h5"), InvalidArgumentError);
  CHECK_THROWS_AS(Layout::check_file_name(".."), InvalidArgumentError);
  CHECK_THROWS_AS(Layout::check_file_name(""), InvalidArgumentError);
}

TEST_CASE("errors carry category, path and errno in the message") {
  IoError e("/a/b", "write failed", 28);
  CHECK(e.code() == ErrorCode::Io);
  CHECK(e.path() == "/a/b");
  CHECK(e.sys_errno() == 28);
  std::string m = e.what();
  CHECK(m.find("/a/b") != std::string::npos);
  CHECK(m.find("errno 28") != std::string::npos);
  CHECK_THROWS_AS(throw_error(ErrorCode::Busy, "p", "m"), BusyError);
  CHECK_THROWS_AS(throw_error(ErrorCode::Corruption, "p", "m"), Error);
}
