// The undo driver's internal API as the undo store and the flusher use it:
// a journal path per transaction, prepare / forget around an external commit
// point, recovery of a prepared transaction, closing inside a transaction,
// and transactions on several files from several threads.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include "h5tx/error.hpp"
#include "hdf5/handle.hpp"
#include "io/testing/fault_env.hpp"
#include "test_util.hpp"
#include "undo/driver.hpp"

using h5tx::Env;
using h5tx::StateError;
using h5tx::hdf5::Handle;
namespace undo = h5tx::undo;

namespace {

Handle open_file(const std::string& path, bool create, undo::DriverConfig cfg = {}) {
  h5tx::hdf5::silence_error_printing();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  undo::set_fapl(fapl, cfg);
  hid_t id = create ? H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                    : H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
  if (id < 0) {
    if (auto e = undo::take_last_error()) std::rethrow_exception(e);
  }
  return Handle(id, "open", path);
}

void add_group(hid_t f, const std::string& name) {
  Handle g(H5Gcreate2(f, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2", name);
}

bool has(hid_t f, const std::string& name) {
  return h5tx::hdf5::link_exists(f, name);
}

// The store's commit point for a batch: its undo directory disappears durably.
void remove_undo_dir(const std::string& dir) {
  Env* env = Env::posix();
  env->rename(dir, dir + ".gone");
  env->sync_dir(h5tx::path_dirname(dir));
  env->remove_flat_dir(dir + ".gone");
}

}  // namespace

TEST_CASE("prepare and forget around the caller's commit point", "[undo][api]") {
  h5tx_test::TempDir dir("undo-api");
  Env* env = Env::posix();
  const std::string a = dir / "a.h5", b = dir / "b.h5";
  Handle fa = open_file(a, true), fb = open_file(b, true);
  for (int round = 0; round < 3; round++) {
    const std::string udir = dir / ("undo_" + std::to_string(round));
    env->create_dir(udir);
    env->sync_dir(dir.path());
    undo::tx_start(fa, udir + "/a.h5.journal");
    undo::tx_start(fb, udir + "/b.h5.journal");
    CHECK(undo::tx_depth(fa) == 1);
    add_group(fa, "ga" + std::to_string(round));
    add_group(fb, "gb" + std::to_string(round));
    undo::tx_prepare(fa);
    undo::tx_prepare(fb);
    CHECK(undo::has_pending_journal(*env, udir + "/a.h5.journal"));
    CHECK(undo::has_pending_journal(*env, udir + "/b.h5.journal"));
    CHECK_FALSE(env->exists(a + ".journal"));
    if (round == 1) {  // the caller gives up instead: abort both
      undo::tx_abort(fa);
      undo::tx_abort(fb);
      env->remove_flat_dir(udir);
      fa.reset();  // close before reopening, or HDF5 hands back the same (aborted) file
      fb.reset();
      fa = open_file(a, false);
      fb = open_file(b, false);
      CHECK_FALSE(has(fa, "/ga1"));
      CHECK_FALSE(has(fb, "/gb1"));
      continue;
    }
    remove_undo_dir(udir);
    undo::tx_forget(fa);
    undo::tx_forget(fb);
    CHECK(undo::tx_depth(fa) == 0);
    CHECK(has(fa, "/ga" + std::to_string(round)));
  }
  CHECK_THROWS_AS(undo::tx_forget(fa), StateError);  // nothing prepared
  undo::tx_start(fa);
  undo::tx_prepare(fa);
  add_group(fa, "late");
  h5tx::hdf5::check(H5Fflush(fa, H5F_SCOPE_LOCAL), "H5Fflush");
  CHECK_THROWS_AS(undo::tx_forget(fa), StateError);   // written after prepare
  CHECK_THROWS_AS(undo::tx_prepare(fb), StateError);  // no transaction
  undo::tx_commit(fa);
  fa.reset();
  fb.reset();
  Handle ra = open_file(a, false);
  CHECK(has(ra, "/ga0"));
  CHECK(has(ra, "/ga2"));
  CHECK(has(ra, "/late"));
  CHECK_FALSE(has(ra, "/ga1"));
}

TEST_CASE("a prepared transaction whose journal survives a crash is reverted", "[undo][api][fork]") {
  h5tx_test::TempDir dir("undo-prep");
  Env* env = Env::posix();
  const std::string a = dir / "a.h5";
  {
    Handle f = open_file(a, true);
    add_group(f, "base");
  }
  const std::string udir = dir / "undo_7";
  env->create_dir(udir);
  const std::string journal = udir + "/a.h5.journal";
  pid_t pid = fork();
  if (pid == 0) {
    try {
      Handle f = open_file(a, false);
      undo::tx_start(f, journal);
      add_group(f, "new");
      undo::tx_prepare(f);
    } catch (...) {
      _exit(3);
    }
    _exit(0);  // crash between prepare and the commit point
  }
  int st = 0;
  waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  REQUIRE(WEXITSTATUS(st) == 0);
  CHECK(undo::has_pending_journal(*env, journal));
  CHECK(undo::recover(*env, a, journal));
  CHECK_FALSE(undo::recover(*env, a, journal));  // idempotent
  Handle f = open_file(a, false);
  CHECK(has(f, "/base"));
  CHECK_FALSE(has(f, "/new"));
  CHECK_THROWS_AS(undo::recover(*env, a, journal), StateError);  // the file is open here
}

TEST_CASE("closing inside a transaction keeps it and a reopen resumes it", "[undo][api]") {
  h5tx_test::TempDir dir("undo-park");
  const std::string a = dir / "a.h5";
  Handle f = open_file(a, true);
  undo::tx_start(f);
  add_group(f, "g");
  f.reset();  // H5Fclose inside the transaction
  CHECK(undo::has_pending_journal(*Env::posix(), a + ".journal"));
  f = open_file(a, false);
  CHECK(undo::tx_depth(f) == 1);
  CHECK(has(f, "/g"));
  add_group(f, "h");
  undo::tx_commit(f);
  f.reset();
  f = open_file(a, false);
  CHECK(has(f, "/g"));
  CHECK(has(f, "/h"));
  CHECK(undo::tx_depth(f) == 0);
}

TEST_CASE("transactions on several files from several threads", "[undo][api][threads]") {
  h5tx_test::TempDir dir("undo-threads");
  const int kThreads = 3, kRounds = 15;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      try {
        std::string path = dir / ("t" + std::to_string(t) + ".h5");
        Handle f;
        {
          h5tx::hdf5::Lock l(h5tx::hdf5::mutex());
          f = open_file(path, true);
        }
        for (int r = 0; r < kRounds; r++) {
          undo::tx_start(f);
          {
            h5tx::hdf5::Lock l(h5tx::hdf5::mutex());
            add_group(f, "g" + std::to_string(r));
          }
          if (r % 3 == 2) {
            undo::tx_abort(f);
            h5tx::hdf5::Lock l(h5tx::hdf5::mutex());
            f.reset();
            f = open_file(path, false);
          } else {
            undo::tx_commit(f);
          }
        }
        h5tx::hdf5::Lock l(h5tx::hdf5::mutex());
        for (int r = 0; r < kRounds; r++)
          if (has(f, "/g" + std::to_string(r)) != (r % 3 != 2)) errors[t] += "g" + std::to_string(r) + " ";
        f.reset();
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; t++) {
    INFO("thread " << t);
    CHECK(errors[t].empty());
  }
}

// Ending the transaction inside H5Fclose keeps HDF5's closing writes
// (superblock, free-space release, truncate) inside it.
TEST_CASE("close_commit and close_prepare end the transaction after HDF5's last writes", "[undo][api]") {
  h5tx_test::TempDir dir("undo-closeend");
  Env* env = Env::posix();
  const std::string a = dir / "a.h5";
  {
    Handle f = open_file(a, true);
    add_group(f, "base");
  }

  // close_commit: durable, journal gone.
  Handle f = open_file(a, false);
  undo::tx_start(f);
  add_group(f, "c");
  {
    Handle g(H5Gopen2(f, "/c", H5P_DEFAULT), "H5Gopen2");
    CHECK_THROWS_AS(undo::close_commit(f), StateError);  // another id is open
  }
  undo::close_commit(f.release());
  CHECK_FALSE(env->exists(a + ".journal"));
  f = open_file(a, false);
  CHECK(has(f, "/c"));

  // close_prepare: the journal stays valid until the caller removes it.
  const std::string udir = dir / "undo_1";
  env->create_dir(udir);
  undo::tx_start(f, udir + "/a.h5.journal");
  add_group(f, "p");
  undo::close_prepare(f.release());
  CHECK(undo::has_pending_journal(*env, udir + "/a.h5.journal"));
  remove_undo_dir(udir);  // the caller's commit point
  f = open_file(a, false);
  CHECK(has(f, "/p"));

  // close_prepare, then no commit point: recovery reverts.
  env->create_dir(udir);
  undo::tx_start(f, udir + "/a.h5.journal");
  add_group(f, "q");
  undo::close_prepare(f.release());
  CHECK(undo::recover(*env, a, udir + "/a.h5.journal"));
  f = open_file(a, false);
  CHECK(has(f, "/p"));
  CHECK_FALSE(has(f, "/q"));
  CHECK_THROWS_AS(undo::close_commit(f), StateError);  // no transaction
}

TEST_CASE("an I/O error during close_commit surfaces and releases the file id", "[undo][api][faults]") {
  const std::string path = "/d/f.h5";
  for (uint64_t k = 1;; k++) {
    h5tx::testing::FaultEnv env;
    env.create_dir("/d");
    env.sync_dir("/");
    undo::DriverConfig cfg;
    cfg.env = &env;
    cfg.page_size = 512;
    {
      Handle f = open_file(path, true, cfg);
      add_group(f, "base");
    }
    Handle f = open_file(path, false, cfg);
    undo::tx_start(f);
    add_group(f, "new");
    uint64_t base = env.op_count();
    env.fail_at(base + k, EIO);
    bool threw = false;
    try {
      undo::close_commit(f.release());
    } catch (const h5tx::Error&) {
      threw = true;
    }
    INFO("fault at op " << k << " of close_commit");
    bool hit = env.op_count() >= base + k;
    CHECK(threw == hit);
    CHECK(H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE) == 0);
    env.clear_faults();
    Handle again = open_file(path, false, cfg);
    CHECK(has(again, "/base"));
    if (!threw) CHECK(has(again, "/new"));
    if (!hit) break;
  }
}
