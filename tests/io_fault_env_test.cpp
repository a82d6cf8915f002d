// Tests of the fault-injecting Env: its crash model against the POSIX
// durability rules, operation counting, crash_after, fail_at, locks.
#include "io/testing/fault_env.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <thread>

#include "h5tx/error.hpp"
#include "io_test_util.hpp"

using h5tx::LockKind;
using h5tx::OpenMode;
using h5tx::testing::CrashOptions;
using h5tx::testing::CrashStats;
using h5tx::testing::FaultEnv;
using h5tx::testing::SimulatedCrash;
using h5tx_test::catch_error;

namespace {

// Creates path with contents, syncs the file and its directory.
void put_durable(FaultEnv& env, const std::string& path, const std::string& contents) {
  auto f = env.open(path, OpenMode::CreateTrunc);
  f->write(0, contents.data(), contents.size());
  f->sync();
  env.sync_dir(h5tx::path_dirname(path));
}

}  // namespace

TEST_CASE("fault env: behaves like a file system before any crash") {
  FaultEnv env;
  env.create_dir("/db");
  auto f = env.open("/db/a", OpenMode::CreateNew);
  f->write(0, "hello", 5);
  f->append(" world", 6);
  f->write(20, "x", 1);
  CHECK(f->size() == 21);
  std::string buf(30, '?');
  CHECK(f->read(0, &buf[0], 30) == 21);
  CHECK(buf.substr(0, 21) == "hello world" + std::string(9, '\0') + "x");
  f->truncate(5);
  CHECK(env.read_all("/db/a") == "hello");
  CHECK(env.file_size("/db/a") == 5);
  CHECK(env.list_dir("/db") == std::vector<std::string>{"a"});
  CHECK(env.list_dir("/") == std::vector<std::string>{"db"});
  CHECK(env.is_directory("/db"));
  env.create_dir("/db/sub");  // Env's own list_dir_entries: list_dir + is_directory
  auto entries = env.list_dir_entries("/db");
  REQUIRE(entries.size() == 2);
  CHECK((entries[0].name == "a" && !entries[0].directory));
  CHECK((entries[1].name == "sub" && entries[1].directory));
  env.remove_dir("/db/sub");
  CHECK_FALSE(env.is_directory("/db/a"));
  CHECK(env.exists("db/a"));  // relative paths start at the root

  auto nf = catch_error<h5tx::NotFoundError>([&] { env.open("/db/b", OpenMode::ReadOnly); });
  CHECK(nf.path() == "/db/b");
  CHECK(nf.sys_errno() == ENOENT);
  auto ae = catch_error<h5tx::AlreadyExistsError>([&] { env.create_dir("/db"); });
  CHECK(ae.sys_errno() == EEXIST);
  CHECK_THROWS_AS(env.open("/db/a", OpenMode::CreateNew), h5tx::AlreadyExistsError);
  CHECK_THROWS_AS(env.open("/nodir/a", OpenMode::Create), h5tx::NotFoundError);
  auto ne = catch_error<h5tx::IoError>([&] { env.remove_dir("/db"); });
  CHECK(ne.sys_errno() == ENOTEMPTY);
  auto ro = env.open("/db/a", OpenMode::ReadOnly);
  auto bf = catch_error<h5tx::IoError>([&] { ro->write(0, "z", 1); });
  CHECK(bf.sys_errno() == EBADF);

  env.write_file_atomic("/db/b", "bee");
  CHECK(env.read_all("/db/b") == "bee");
  env.rename("/db/b", "/db/a");
  CHECK(env.list_dir("/db") == std::vector<std::string>{"a"});
  CHECK(env.read_all("/db/a") == "bee");
  CHECK(f->size() == 5);  // the old handle still sees the replaced inode
  env.remove_flat_dir("/db");
  CHECK_FALSE(env.exists("/db"));
  CHECK(env.list_files().empty());
}

TEST_CASE("fault env: unsynced data is lost, synced data survives") {
  FaultEnv env;
  env.create_dir("/db");
  env.sync_dir("/");
  put_durable(env, "/db/a", "synced");
  auto f = env.open("/db/a", OpenMode::ReadWrite);
  f->write(0, "SYNCED-and-more", 15);
  CHECK(env.read_all("/db/a") == "SYNCED-and-more");
  CHECK(env.durable_contents("/db/a") == "synced");
  CrashStats st = env.crash();
  CHECK(st.pending_file_changes == 1);
  CHECK(st.kept_file_changes == 0);
  CHECK(env.read_all("/db/a") == "synced");

  // A truncate is a pending change too.
  auto g = env.open("/db/a", OpenMode::ReadWrite);
  g->truncate(2);
  g.reset();
  env.crash();
  CHECK(env.read_all("/db/a") == "synced");

  // datasync makes data durable just like sync.
  auto h = env.open("/db/a", OpenMode::ReadWrite);
  h->append("!", 1);
  h->datasync();
  env.crash();
  CHECK(env.read_all("/db/a") == "synced!");
}

TEST_CASE("fault env: open files and locks die at a crash") {
  FaultEnv env;
  put_durable(env, "/a", "x");
  auto f = env.open("/a", OpenMode::ReadWrite);
  auto lock = env.lock_file("/LOCK", LockKind::Exclusive, std::chrono::milliseconds(0));
  env.crash();
  CHECK_THROWS_AS(f->write(0, "y", 1), SimulatedCrash);
  CHECK_THROWS_AS(f->size(), SimulatedCrash);
  // The crash released the lock (the process died); LOCK itself was never
  // durably created, so it is gone.
  CHECK_FALSE(env.exists("/LOCK"));
  auto again = env.lock_file("/LOCK", LockKind::Exclusive, std::chrono::milliseconds(0));
  lock.reset();  // destroying a dead lock does not release the new one
  CHECK_THROWS_AS(env.lock_file("/LOCK", LockKind::Shared, std::chrono::milliseconds(0)), h5tx::BusyError);
  CHECK(env.read_all("/a") == "x");
}

TEST_CASE("fault env: an fsync'd file whose directory entry was never synced vanishes") {
  FaultEnv env;
  env.create_dir("/db");
  env.sync_dir("/");
  auto f = env.open("/db/new", OpenMode::CreateNew);
  f->write(0, "data", 4);
  f->sync();
  CHECK_FALSE(env.durably_exists("/db/new"));
  CHECK_THROWS_AS(env.durable_contents("/db/new"), h5tx::NotFoundError);
  env.crash();
  CHECK_FALSE(env.exists("/db/new"));
  CHECK(env.list_dir("/db").empty());

  // With the directory synced it survives.
  auto g = env.open("/db/new", OpenMode::CreateNew);
  g->write(0, "data", 4);
  g->sync();
  env.sync_dir("/db");
  env.crash();
  CHECK(env.read_all("/db/new") == "data");
}

TEST_CASE("fault env: a directory needs its parent synced") {
  FaultEnv env;
  env.create_dir("/db");
  put_durable(env, "/db/a", "a");  // syncs /db, but never /
  env.crash();
  CHECK_FALSE(env.exists("/db"));
  CHECK(env.list_files().empty());
}

TEST_CASE("fault env: a rename without a directory sync is lost") {
  FaultEnv env;
  env.create_dir("/db");
  env.sync_dir("/");
  put_durable(env, "/db/old", "old contents");
  put_durable(env, "/db/target", "replaced");
  env.rename("/db/old", "/db/target");
  CHECK(env.read_all("/db/target") == "old contents");
  CHECK(env.durable_contents("/db/target") == "replaced");
  CrashStats st = env.crash();
  CHECK(st.dir_changes == 1);
  CHECK(env.list_dir("/db") == (std::vector<std::string>{"old", "target"}));
  CHECK(env.read_all("/db/old") == "old contents");
  CHECK(env.read_all("/db/target") == "replaced");

  // rename + sync_dir survives.
  env.rename("/db/old", "/db/target");
  env.sync_dir("/db");
  env.crash();
  CHECK(env.list_dir("/db") == std::vector<std::string>{"target"});
  CHECK(env.read_all("/db/target") == "old contents");
}

TEST_CASE("fault env: write_file_atomic is durable and atomic") {
  FaultEnv env;
  env.create_dir("/db");
  env.sync_dir("/");
  env.write_file_atomic("/db/f", "one");
  env.crash();
  CHECK(env.read_all("/db/f") == "one");
  // Crash after every prefix of the second write_file_atomic: old or new, never a mix.
  uint64_t start = env.op_count();
  for (uint64_t k = 0;; ++k) {
    env.crash_after(start + k);
    bool finished = false;
    try {
      env.write_file_atomic("/db/f", "two!");
      finished = true;
    } catch (const SimulatedCrash&) {
    }
    env.crash();
    std::string got = env.read_all("/db/f");
    INFO("crash after op " << k << ": " << got);
    CHECK((got == "one" || got == "two!"));
    if (finished) {
      CHECK(got == "two!");
      break;
    }
    // Restore "one" for the next round.
    env.write_file_atomic("/db/f", "one");
    start = env.op_count();
  }
}

TEST_CASE("fault env: cross-directory rename follows the per-directory rule") {
  FaultEnv env;
  env.create_dir("/a");
  env.create_dir("/b");
  env.sync_dir("/");
  put_durable(env, "/a/f", "F");
  env.rename("/a/f", "/b/f");

  SECTION("only the target synced: the file is under both names") {
    env.sync_dir("/b");
    env.crash();
    CHECK(env.read_all("/a/f") == "F");
    CHECK(env.read_all("/b/f") == "F");
  }
  SECTION("only the source synced: the file is gone") {
    env.sync_dir("/a");
    env.crash();
    CHECK(env.list_files().empty());
  }
  SECTION("both synced: moved") {
    env.sync_dir("/b");
    env.sync_dir("/a");
    env.crash();
    CHECK(env.list_files() == std::vector<std::string>{"/b/f"});
  }
}

TEST_CASE("fault env: a removed file comes back without a directory sync") {
  FaultEnv env;
  put_durable(env, "/f", "keep me");
  env.remove_file("/f");
  CHECK_FALSE(env.exists("/f"));
  CHECK(env.durably_exists("/f"));
  env.crash();
  CHECK(env.read_all("/f") == "keep me");

  env.remove_file("/f");
  env.sync_dir("/");
  env.crash();
  CHECK_FALSE(env.exists("/f"));

  // Likewise a removed directory.
  env.create_dir("/d");
  env.sync_dir("/");
  env.remove_dir("/d");
  env.crash();
  CHECK(env.is_directory("/d"));
}

TEST_CASE("fault env: random mode keeps whole pending writes, in order") {
  // Each write covers bytes [0, 8i) with digit i, so applying a subset in
  // order leaves a staircase: some prefix of each kept write's digit.
  const int kWrites = 4;
  bool saw_none = false, saw_all = false, saw_some = false;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    FaultEnv env;
    put_durable(env, "/f", "");
    auto f = env.open("/f", OpenMode::ReadWrite);
    for (int i = 1; i <= kWrites; ++i) {
      std::string s(8 * i, static_cast<char>('0' + i));
      f->write(0, s.data(), s.size());
    }
    CrashOptions opt;
    opt.keep_random_unsynced = true;
    opt.seed = seed;
    CrashStats st = env.crash(opt);
    CHECK(st.pending_file_changes == kWrites);
    CHECK(st.torn_writes == 0);
    std::string got = env.read_all("/f");
    INFO("seed " << seed << ": " << got);
    // Applying a subset in order leaves the largest kept write on top: the
    // whole file is digit m repeated 8*m times. Out-of-order application
    // would show a smaller digit below a larger one, a torn or partial
    // write a block of mixed digits.
    REQUIRE(got.size() % 8 == 0);
    for (size_t b = 0; b + 8 <= got.size(); b += 8) {
      CHECK(got.substr(b, 8) == std::string(8, got[b]));  // whole blocks only
      if (b > 0) CHECK(got[b] <= got[b - 8]);
      CHECK(got[b] >= static_cast<char>('0' + b / 8 + 1));
    }
    if (st.kept_file_changes == 0) {
      saw_none = true;
      CHECK(got.empty());
    } else if (st.kept_file_changes == kWrites) {
      saw_all = true;
      CHECK(got.size() == 8u * kWrites);
    } else {
      saw_some = true;
    }
    if (!got.empty()) CHECK(got.size() == 8u * static_cast<size_t>(got[0] - '0'));
  }
  CHECK(saw_none);
  CHECK(saw_all);
  CHECK(saw_some);
}

TEST_CASE("fault env: torn writes at 512-byte sector boundaries") {
  const size_t kSectors = 8;
  bool saw_torn = false;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    FaultEnv env;
    put_durable(env, "/f", std::string(kSectors * 512, 'o'));
    auto f = env.open("/f", OpenMode::ReadWrite);
    std::string n(kSectors * 512, 'n');
    f->write(0, n.data(), n.size());
    CrashOptions opt;
    opt.keep_random_unsynced = true;
    opt.tear_sectors = true;
    opt.seed = seed;
    CrashStats st = env.crash(opt);
    std::string got = env.read_all("/f");
    REQUIRE(got.size() == kSectors * 512);
    size_t new_sectors = 0;
    for (size_t s = 0; s < kSectors; ++s) {
      std::string sector = got.substr(s * 512, 512);
      bool all_new = sector == std::string(512, 'n');
      bool all_old = sector == std::string(512, 'o');
      INFO("seed " << seed << " sector " << s);
      CHECK((all_new || all_old));  // sectors are atomic
      new_sectors += all_new;
    }
    if (st.torn_writes == 1) {
      CHECK(new_sectors > 0);
      CHECK(new_sectors < kSectors);
      saw_torn = true;
    } else if (st.kept_file_changes == 1) {
      CHECK(new_sectors == kSectors);
    } else {
      CHECK(new_sectors == 0);
    }
  }
  CHECK(saw_torn);

  // Sectors are aligned to file offsets: a write of 100 bytes at 500 spans
  // two sectors and may be torn at offset 512.
  bool saw_split = false;
  for (uint64_t seed = 0; seed < 64 && !saw_split; ++seed) {
    FaultEnv env;
    put_durable(env, "/f", std::string(1024, 'o'));
    env.open("/f", OpenMode::ReadWrite)->write(500, std::string(100, 'n').data(), 100);
    CrashOptions opt;
    opt.keep_random_unsynced = opt.tear_sectors = true;
    opt.seed = seed;
    if (env.crash(opt).torn_writes == 0) continue;
    std::string got = env.read_all("/f");
    bool first = got.substr(500, 12) == std::string(12, 'n');
    bool second = got.substr(512, 88) == std::string(88, 'n');
    CHECK(first != second);
    saw_split = true;
  }
  CHECK(saw_split);

  // Fixed seed: the same choices every time.
  auto run = [](uint64_t seed) {
    FaultEnv env;
    put_durable(env, "/f", std::string(4096, 'o'));
    auto f = env.open("/f", OpenMode::ReadWrite);
    for (int i = 0; i < 4; ++i) f->write(i * 1000, std::string(1500, char('a' + i)).data(), 1500);
    CrashOptions opt;
    opt.keep_random_unsynced = opt.tear_sectors = true;
    opt.seed = seed;
    env.crash(opt);
    return env.read_all("/f");
  };
  CHECK(run(7) == run(7));
}

TEST_CASE("fault env: random mode keeps a prefix of the directory operations") {
  bool saw_partial = false;
  for (uint64_t seed = 0; seed < 32; ++seed) {
    FaultEnv env;
    put_durable(env, "/base", "b");
    for (int i = 0; i < 6; ++i) env.open("/f" + std::to_string(i), OpenMode::CreateNew);
    CrashOptions opt;
    opt.keep_random_unsynced = true;
    opt.seed = seed;
    CrashStats st = env.crash(opt);
    CHECK(st.dir_changes == 6);
    std::vector<std::string> expect{"/base"};
    for (uint64_t i = 0; i < st.kept_dir_changes; ++i) expect.push_back("/f" + std::to_string(i));
    CHECK(env.list_files() == expect);
    if (st.kept_dir_changes > 0 && st.kept_dir_changes < 6) saw_partial = true;
  }
  CHECK(saw_partial);
}

TEST_CASE("fault env: operation counting and crash_after") {
  FaultEnv env;
  env.set_trace(true);
  CHECK(env.op_count() == 0);
  env.create_dir("/d");                                                              // 1
  auto f = env.open("/d/f", OpenMode::CreateNew);                                    // 2
  f->write(0, "a", 1);                                                               // 3
  f->append("b", 1);                                                                 // 4
  f->truncate(2);                                                                    // 5
  f->sync();                                                                         // 6
  f->datasync();                                                                     // 7
  env.sync_dir("/d");                                                                // 8
  env.rename("/d/f", "/d/g");                                                        // 9
  env.remove_file("/d/g");                                                           // 10
  env.remove_dir("/d");                                                              // 11
  { auto l = env.lock_file("/L", LockKind::Shared, std::chrono::milliseconds(0)); }  // 12
  CHECK(env.op_count() == 12);
  CHECK_THROWS_AS(env.open("/missing", OpenMode::ReadOnly), h5tx::NotFoundError);  // 13: fails, counts
  CHECK(env.op_count() == 13);
  uint64_t reads = env.read_count();
  env.exists("/L");
  env.list_dir("/");
  env.file_size("/L");
  CHECK(env.op_count() == 13);  // reads are not operations
  CHECK(env.read_count() == reads + 3);
  auto trace = env.trace();
  REQUIRE(trace.size() == 13);
  CHECK(trace[0] == "#1 create_dir /d");
  CHECK(trace[2] == "#3 write /d/f offset=0 n=1");
  CHECK(trace[8] == "#9 rename /d/f to /d/g");

  SECTION("stops after exactly k operations") {
    for (uint64_t k = 0; k <= 6; ++k) {
      FaultEnv e;
      e.crash_after(k);
      uint64_t done = 0;
      try {
        e.create_dir("/x");
        ++done;
        auto g = e.open("/x/a", OpenMode::Create);
        ++done;
        for (int i = 0; i < 10; ++i) {
          g->append("z", 1);
          ++done;
        }
      } catch (const SimulatedCrash&) {
      }
      CHECK(done == k);
      CHECK(e.op_count() == k);
      CHECK(e.dead());
      // Everything throws until crash(), reads included.
      CHECK_THROWS_AS(e.exists("/x"), SimulatedCrash);
      CHECK_THROWS_AS(e.now_micros(), SimulatedCrash);
      CHECK_THROWS_AS(e.create_dir("/y"), SimulatedCrash);
      CHECK(e.op_count() == k);
      e.crash();
      CHECK_FALSE(e.dead());
      CHECK_FALSE(e.exists("/x"));  // nothing was synced
      e.create_dir("/y");           // alive again
    }
  }
  SECTION("SimulatedCrash is not an h5tx::Error") {
    env.crash_after(env.op_count());
    bool caught_as_error = false;
    try {
      env.create_dir("/z");
    } catch (const h5tx::Error&) {
      caught_as_error = true;
    } catch (const SimulatedCrash&) {
    }
    CHECK_FALSE(caught_as_error);
  }
}

TEST_CASE("fault env: fail_at injects EIO and ENOSPC without effect") {
  FaultEnv env;
  put_durable(env, "/f", "0123456789");
  auto f = env.open("/f", OpenMode::ReadWrite);

  SECTION("write fails with EIO, nothing written") {
    env.fail_at(env.op_count() + 1, EIO);
    auto e = catch_error<h5tx::IoError>([&] { f->write(0, "XXXX", 4); });
    CHECK(e.sys_errno() == EIO);
    CHECK(e.path() == "/f");
    CHECK(env.read_all("/f") == "0123456789");
    f->write(0, "YY", 2);  // only once
    CHECK(env.read_all("/f") == "YY23456789");
  }
  SECTION("append fails with ENOSPC after a partial write") {
    env.fail_at(env.op_count() + 1, ENOSPC, 3);
    auto e = catch_error<h5tx::IoError>([&] { f->append("abcdef", 6); });
    CHECK(e.sys_errno() == ENOSPC);
    CHECK(e.path() == "/f");
    CHECK(env.read_all("/f") == "0123456789abc");
  }
  SECTION("directory operations fail without effect") {
    env.fail_at(env.op_count() + 1, ENOSPC);
    auto e = catch_error<h5tx::IoError>([&] { env.create_dir("/d"); });
    CHECK(e.sys_errno() == ENOSPC);
    CHECK(e.path() == "/d");
    CHECK_FALSE(env.exists("/d"));
    env.fail_at(env.op_count() + 1, EIO);
    auto r = catch_error<h5tx::IoError>([&] { env.rename("/f", "/g"); });
    CHECK(r.sys_errno() == EIO);
    CHECK(r.path() == "/f");
    CHECK(env.exists("/f"));
    CHECK_FALSE(env.exists("/g"));
    env.fail_at(env.op_count() + 1, EIO);
    CHECK_THROWS_AS(env.open("/new", OpenMode::CreateNew), h5tx::IoError);
    CHECK_FALSE(env.exists("/new"));
  }
  SECTION("a failed sync_dir leaves the entries pending") {
    env.open("/g", OpenMode::CreateNew)->sync();
    env.fail_at(env.op_count() + 1, EIO);
    CHECK_THROWS_AS(env.sync_dir("/"), h5tx::IoError);
    CHECK_FALSE(env.durably_exists("/g"));
    env.sync_dir("/");
    CHECK(env.durably_exists("/g"));
  }
}

TEST_CASE("fault env: after a failed fsync the data never becomes durable") {
  FaultEnv env;
  put_durable(env, "/f", "old-old-old");
  auto f = env.open("/f", OpenMode::ReadWrite);
  f->write(0, "NEW", 3);
  env.fail_at(env.op_count() + 1, EIO);
  auto e = catch_error<h5tx::IoError>([&] { f->sync(); });
  CHECK(e.sys_errno() == EIO);
  CHECK(e.path() == "/f");
  CHECK(env.read_all("/f") == "NEW-old-old");  // the page cache still shows it
  f->write(8, "end", 3);
  f->sync();  // succeeds, but only for the write made after the failure
  CHECK(env.durable_contents("/f") == "old-old-end");
  env.crash();
  CHECK(env.read_all("/f") == "old-old-end");
}

TEST_CASE("fault env: locks") {
  FaultEnv env;
  auto ex = env.lock_file("/LOCK", LockKind::Exclusive, std::chrono::milliseconds(0));
  auto busy = catch_error<h5tx::BusyError>(
      [&] { env.lock_file("/LOCK", LockKind::Shared, std::chrono::milliseconds(10)); });
  CHECK(busy.path() == "/LOCK");
  CHECK(std::string(busy.what()).find("exclusive lock is held by another process or handle") !=
        std::string::npos);
  ex.reset();
  auto s1 = env.lock_file("/LOCK", LockKind::Shared, std::chrono::milliseconds(0));
  auto s2 = env.lock_file("/LOCK", LockKind::Shared, std::chrono::milliseconds(0));
  auto b2 = catch_error<h5tx::BusyError>(
      [&] { env.lock_file("/LOCK", LockKind::Exclusive, std::chrono::milliseconds(0)); });
  CHECK(std::string(b2.what()).find("a shared lock is held") != std::string::npos);
  s1.reset();
  CHECK_THROWS_AS(env.lock_file("/LOCK", LockKind::Exclusive, std::chrono::milliseconds(0)), h5tx::BusyError);

  // A waiter is granted the lock when the holder lets go.
  std::thread releaser([&] {
    env.sleep_micros(20000);
    s2.reset();
  });
  auto got = env.lock_file("/LOCK", LockKind::Exclusive, std::chrono::seconds(60));
  releaser.join();
  CHECK(got != nullptr);
  CHECK_THROWS_AS(env.lock_file("/LOCK", LockKind::Shared, std::chrono::milliseconds(0)), h5tx::BusyError);
}

TEST_CASE("fault env: the fake clock") {
  FaultEnv env;
  uint64_t a = env.now_micros();
  CHECK(a > 1500000000ull * 1000000ull);
  env.sleep_micros(10ull * 1000000ull);  // returns at once, the clock moves on
  CHECK(env.now_micros() >= a + 10ull * 1000000ull);
}

TEST_CASE("fault env: many files created and removed do not accumulate") {
  FaultEnv env;
  env.create_dir("/j");
  env.sync_dir("/");
  for (int round = 0; round < 50; ++round) {
    std::string d = "/j/t" + std::to_string(round);
    env.create_dir(d);
    for (int i = 0; i < 4; ++i) put_durable(env, d + "/c" + std::to_string(i), std::string(1000, 'x'));
    env.sync_dir("/j");
    env.remove_flat_dir(d);
    env.sync_dir("/j");
  }
  CHECK(env.list_files().empty());
  CHECK(env.list_durable_files().empty());
  CHECK(env.inode_count() < 100);  // 250 were created
  env.crash();
  CHECK(env.inode_count() == 2);  // "/" and "/j"
  CHECK(env.list_dir("/j").empty());
}

TEST_CASE("fault env: kill_process keeps unsynced data but kills handles and locks") {
  FaultEnv env;
  env.create_dir("/d");
  auto f = env.open("/d/f", OpenMode::CreateNew);
  f->write(0, "unsynced", 8);
  auto lock = env.lock_file("/d/LOCK", LockKind::Exclusive, std::chrono::milliseconds(0));
  env.crash_after(env.op_count());
  CHECK(env.dead());
  env.kill_process();
  CHECK_FALSE(env.dead());
  CHECK_THROWS_AS(f->size(), SimulatedCrash);
  CHECK(env.read_all("/d/f") == "unsynced");  // the page cache survived
  auto again = env.lock_file("/d/LOCK", LockKind::Exclusive, std::chrono::milliseconds(0));  // released
  lock.reset();
  CHECK_THROWS_AS(env.lock_file("/d/LOCK", LockKind::Shared, std::chrono::milliseconds(0)), h5tx::BusyError);
  env.crash();  // a later power cut still loses what was never synced
  CHECK_FALSE(env.exists("/d"));
}

TEST_CASE("fault env: clone copies the file system, pending state included") {
  FaultEnv env;
  put_durable(env, "/f", "durable");
  env.open("/f", OpenMode::ReadWrite)->write(0, "PENDING", 7);
  env.open("/g", OpenMode::CreateNew)->write(0, "g", 1);
  auto copy = env.clone();
  CHECK(copy->op_count() == env.op_count());
  CHECK(copy->read_all("/f") == "PENDING");
  CHECK(copy->durable_contents("/f") == "durable");
  CHECK(copy->list_files() == (std::vector<std::string>{"/f", "/g"}));

  copy->remove_file("/g");  // independent of the original
  CHECK(env.exists("/g"));
  copy->crash();
  CHECK(copy->read_all("/f") == "durable");
  CHECK_FALSE(copy->exists("/g"));
  CHECK(env.read_all("/f") == "PENDING");
  env.open("/f", OpenMode::ReadWrite)->sync();
  env.crash();
  CHECK(env.read_all("/f") == "PENDING");
}

TEST_CASE("fault env: fail_read_at") {
  FaultEnv env;
  put_durable(env, "/f", "abc");
  auto f = env.open("/f", OpenMode::ReadOnly);
  env.fail_read_at(env.read_count() + 1, EIO);
  char buf[3];
  auto e = catch_error<h5tx::IoError>([&] { f->read(0, buf, 3); });
  CHECK(e.sys_errno() == EIO);
  CHECK(e.path() == "/f");
  CHECK(f->read(0, buf, 3) == 3);  // once only
  CHECK(std::string(buf, 3) == "abc");
  env.fail_read_at(env.read_count() + 1, EIO);
  CHECK_THROWS_AS(env.list_dir("/"), h5tx::IoError);
  CHECK(env.list_dir("/") == std::vector<std::string>{"f"});
}

TEST_CASE("fault env: crash_after is exact with several threads") {
  FaultEnv env;
  std::vector<std::unique_ptr<h5tx::File>> files;
  for (int t = 0; t < 4; ++t) files.push_back(env.open("/f" + std::to_string(t), OpenMode::CreateNew));
  const uint64_t base = env.op_count();
  env.crash_after(base + 150);
  std::atomic<uint64_t> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        for (int i = 0; i < 100; ++i) {
          files[t]->append("x", 1);
          done++;
        }
      } catch (const SimulatedCrash&) {
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(done == 150);
  CHECK(env.op_count() == base + 150);
  uint64_t bytes = 0;
  env.kill_process();  // keeps the unsynced bytes, to count them
  for (int t = 0; t < 4; ++t) bytes += env.file_size("/f" + std::to_string(t));
  CHECK(bytes == 150);
}

TEST_CASE("fault env: unsynced cross-directory renames of directories may leave a cycle") {
  FaultEnv env;
  env.create_dir("/a");
  env.create_dir("/a/b");
  env.sync_dir("/");
  env.sync_dir("/a");
  put_durable(env, "/a/b/f", "f");
  env.rename("/a/b", "/c");  // "/" gains c -> B (synced below); "/a" still durably holds b
  env.sync_dir("/");
  env.rename("/a", "/c/a");  // B gains a -> A (synced); "/" still durably holds a
  env.sync_dir("/c");
  // Durably: / -> {a: A, c: B}, A -> {b: B}, B -> {a: A, f}: a cycle A -> B -> A.
  // Listing visits each directory once, under the first path found.
  CHECK(env.list_durable_files() == std::vector<std::string>{"/a/b/f"});
  env.crash();
  CHECK(env.read_all("/c/f") == "f");
  CHECK(env.read_all("/a/b/f") == "f");
  CHECK(env.read_all("/a/b/a/b/f") == "f");
  CHECK_FALSE(env.list_files().empty());  // terminates despite the cycle
}

TEST_CASE("fault env: a full disk") {
  FaultEnv env;
  put_durable(env, "/a", std::string(600, 'a'));
  env.set_disk_capacity(1000);
  CHECK(env.used_bytes() == 600);
  auto f = env.open("/b", OpenMode::CreateNew);
  f->write(0, std::string(300, 'b').data(), 300);
  auto e = catch_error<h5tx::IoError>([&] { f->append(std::string(300, 'c').data(), 300); });
  CHECK(e.sys_errno() == ENOSPC);
  CHECK(e.path() == "/b");
  CHECK(env.read_all("/b") == std::string(300, 'b') + std::string(100, 'c'));  // a short write
  CHECK(env.used_bytes() == 1000);
  f->write(0, "BB", 2);  // overwriting needs no space
  CHECK_THROWS_AS(f->truncate(500), h5tx::IoError);
  CHECK(env.file_size("/b") == 400);
  CHECK_THROWS_AS(f->append("x", 1), h5tx::IoError);

  env.remove_file("/a");  // frees its space
  f->append(std::string(500, 'd').data(), 500);
  CHECK(env.file_size("/b") == 900);
  env.set_disk_capacity(0);
  f->append(std::string(5000, 'e').data(), 5000);
  CHECK(env.file_size("/b") == 5900);
}

TEST_CASE("fault env: File::try_lock has flock semantics and dies at a crash") {
  FaultEnv env;
  auto a = env.open("/f", OpenMode::CreateNew);
  auto b = env.open("/f", OpenMode::ReadOnly);
  auto other = env.open("/g", OpenMode::CreateNew);
  CHECK(a->identity() == b->identity());
  CHECK(a->identity() != other->identity());
  CHECK(a->try_lock(LockKind::Exclusive));
  CHECK_FALSE(b->try_lock(LockKind::Shared));
  CHECK(a->try_lock(LockKind::Shared));
  CHECK(b->try_lock(LockKind::Shared));
  CHECK(other->try_lock(LockKind::Exclusive));  // another file
  a->unlock();
  CHECK(b->try_lock(LockKind::Exclusive));  // b alone now: converts
  auto before = a->identity();
  env.sync_dir("/");
  env.crash();
  auto c = env.open("/f", OpenMode::ReadWrite);
  CHECK(c->try_lock(LockKind::Exclusive));  // the dead handles' locks are gone
  CHECK(c->identity() != before);           // a new "device" after a crash
  CHECK_THROWS_AS(b->try_lock(LockKind::Shared), SimulatedCrash);
}
