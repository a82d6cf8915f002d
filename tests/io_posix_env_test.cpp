// Tests of the POSIX Env against a real directory: file I/O, directories,
// error types with path and errno, and OFD lock semantics.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <string>
#include <thread>

#include "h5tx/env.hpp"
#include "h5tx/error.hpp"
#include "io_test_util.hpp"
#include "test_util.hpp"

using h5tx::Env;
using h5tx::LockKind;
using h5tx::OpenMode;
using h5tx_test::catch_error;

namespace {

std::string read_at(h5tx::File& f, uint64_t offset, size_t n) {
  std::string s(n, '\0');
  s.resize(f.read(offset, &s[0], n));
  return s;
}

}  // namespace

TEST_CASE("posix: write, read, append, truncate, size") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string path = dir / "f";
  auto f = env->open(path, OpenMode::CreateNew);
  CHECK(f->path() == path);
  CHECK(f->size() == 0);
  f->write(0, "hello", 5);
  f->append(", world", 7);
  CHECK(f->size() == 12);
  CHECK(read_at(*f, 0, 100) == "hello, world");  // short read at EOF
  CHECK(read_at(*f, 7, 5) == "world");
  CHECK(read_at(*f, 12, 5).empty());

  f->write(20, "x", 1);  // past the end: a hole of zeros
  CHECK(f->size() == 21);
  CHECK(read_at(*f, 12, 9) == std::string(8, '\0') + "x");

  f->truncate(5);
  CHECK(f->size() == 5);
  f->append("!", 1);
  f->sync();
  f->datasync();
  CHECK(env->read_all(path) == "hello!");
  CHECK(env->file_size(path) == 6);

  // A large write goes through whole (pwrite loop).
  std::string big(3 << 20, 'b');
  for (size_t i = 0; i < big.size(); i += 4093) big[i] = static_cast<char>('a' + i % 26);
  f->write(0, big.data(), big.size());
  CHECK(read_at(*f, 0, big.size()) == big);
}

TEST_CASE("posix: open modes") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string path = dir / "f";

  auto nf = catch_error<h5tx::NotFoundError>([&] { env->open(path, OpenMode::ReadOnly); });
  CHECK(nf.path() == path);
  CHECK(nf.sys_errno() == ENOENT);
  CHECK(std::string(nf.what()).find(path) != std::string::npos);
  CHECK_THROWS_AS(env->open(path, OpenMode::ReadWrite), h5tx::NotFoundError);

  env->open(path, OpenMode::Create)->write(0, "abc", 3);
  CHECK(env->read_all(path) == "abc");
  env->open(path, OpenMode::Create);  // keeps contents
  CHECK(env->read_all(path) == "abc");

  auto ae = catch_error<h5tx::AlreadyExistsError>([&] { env->open(path, OpenMode::CreateNew); });
  CHECK(ae.path() == path);
  CHECK(ae.sys_errno() == EEXIST);

  env->open(path, OpenMode::CreateTrunc);
  CHECK(env->file_size(path) == 0);

  env->open(path, OpenMode::ReadWrite)->write(0, "xyz", 3);
  auto ro = env->open(path, OpenMode::ReadOnly);
  CHECK(read_at(*ro, 0, 3) == "xyz");
  auto bad = catch_error<h5tx::IoError>([&] { ro->write(0, "q", 1); });
  CHECK(bad.sys_errno() == EBADF);
  CHECK(bad.path() == path);
  CHECK(env->read_all(path) == "xyz");

  auto isdir = catch_error<h5tx::IoError>([&] { env->open(dir.path(), OpenMode::ReadOnly); });
  CHECK(isdir.sys_errno() == EISDIR);

  auto missing_parent = catch_error<h5tx::NotFoundError>([&] { env->open(dir / "no/f", OpenMode::Create); });
  CHECK(missing_parent.path() == dir / "no/f");
}

TEST_CASE("posix: directories, rename, remove") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string d = dir / "d";
  env->create_dir(d);
  CHECK(env->is_directory(d));
  CHECK(env->exists(d));
  auto ae = catch_error<h5tx::AlreadyExistsError>([&] { env->create_dir(d); });
  CHECK(ae.path() == d);
  CHECK(ae.sys_errno() == EEXIST);
  env->create_dir_if_missing(d);  // no error the second time

  for (const char* name : {"c", "a", "b"}) env->write_file_atomic(h5tx::path_join(d, name), name);
  CHECK(env->list_dir(d) == std::vector<std::string>{"a", "b", "c"});  // no . / .., no .tmp
  CHECK(env->read_all(d + "/b") == "b");
  env->sync_dir(d);

  env->rename(d + "/a", d + "/b");  // replaces
  CHECK(env->list_dir(d) == std::vector<std::string>{"b", "c"});
  CHECK(env->read_all(d + "/b") == "a");
  CHECK_FALSE(env->exists(d + "/a"));
  auto nf = catch_error<h5tx::NotFoundError>([&] { env->rename(d + "/a", d + "/z"); });
  CHECK(nf.path() == d + "/a");
  CHECK(nf.sys_errno() == ENOENT);

  auto ne = catch_error<h5tx::IoError>([&] { env->remove_dir(d); });
  CHECK(ne.sys_errno() == ENOTEMPTY);
  CHECK(ne.path() == d);

  auto nd = catch_error<h5tx::IoError>([&] { env->list_dir(d + "/b"); });
  CHECK(nd.sys_errno() == ENOTDIR);
  CHECK_THROWS_AS(env->list_dir(dir / "missing"), h5tx::NotFoundError);
  CHECK_THROWS_AS(env->sync_dir(dir / "missing"), h5tx::NotFoundError);
  CHECK_THROWS_AS(env->file_size(dir / "missing"), h5tx::NotFoundError);
  CHECK_FALSE(env->exists(d + "/b/under-a-file"));
  CHECK_FALSE(env->is_directory(d + "/b"));

  env->remove_file(d + "/c");
  auto rf = catch_error<h5tx::NotFoundError>([&] { env->remove_file(d + "/c"); });
  CHECK(rf.path() == d + "/c");
  env->remove_flat_dir(d);
  CHECK_FALSE(env->exists(d));
  CHECK_THROWS_AS(env->remove_dir(d), h5tx::NotFoundError);
}

TEST_CASE("posix: list_dir_entries tells directories from files and links, like is_directory") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string d = dir / "d";
  env->create_dir(d);
  env->create_dir(d + "/sub");
  env->write_file_atomic(d + "/file", "x");
  REQUIRE(::symlink((d + "/sub").c_str(), (d + "/link-to-dir").c_str()) == 0);
  REQUIRE(::symlink((d + "/missing").c_str(), (d + "/dangling").c_str()) == 0);
  REQUIRE(::mkfifo((d + "/fifo").c_str(), 0600) == 0);
  std::vector<std::string> names;
  for (const Env::DirEntry& e : env->list_dir_entries(d)) {
    names.push_back(e.name);
    CHECK(e.directory == env->is_directory(h5tx::path_join(d, e.name)));
    CHECK(e.directory == (e.name == "sub"));
  }
  CHECK(names == env->list_dir(d));  // the same names, sorted
  CHECK(names == std::vector<std::string>{"dangling", "fifo", "file", "link-to-dir", "sub"});
  CHECK_THROWS_AS(env->list_dir_entries(dir / "missing"), h5tx::NotFoundError);
  auto nd = catch_error<h5tx::IoError>([&] { env->list_dir_entries(d + "/file"); });
  CHECK(nd.sys_errno() == ENOTDIR);
  CHECK_THROWS_AS(env->list_dir_entries(d + "/link-to-dir"), h5tx::IoError);  // never followed
}

TEST_CASE("posix: exclusive and shared locks between two handles of one process") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string path = dir / "LOCK";

  auto ex = env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0));
  CHECK(env->exists(path));  // created
  auto busy = catch_error<h5tx::BusyError>(
      [&] { env->lock_file(path, LockKind::Shared, std::chrono::milliseconds(50)); });
  CHECK(busy.path() == path);
  CHECK(std::string(busy.what()).find("exclusive lock is held by another process or handle") !=
        std::string::npos);
  CHECK_THROWS_AS(env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0)), h5tx::BusyError);
  ex.reset();  // released on destruction

  auto s1 = env->lock_file(path, LockKind::Shared, std::chrono::milliseconds(0));
  auto s2 = env->lock_file(path, LockKind::Shared, std::chrono::milliseconds(0));  // shared locks coexist
  auto busy2 = catch_error<h5tx::BusyError>(
      [&] { env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0)); });
  CHECK(std::string(busy2.what()).find("shared lock is held") != std::string::npos);
  s1.reset();
  CHECK_THROWS_AS(env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0)), h5tx::BusyError);
  s2.reset();
  auto ex2 = env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0));
  CHECK(ex2 != nullptr);
}

TEST_CASE("posix: a waiting lock is granted once the holder releases it") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string path = dir / "LOCK";
  auto ex = env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0));
  std::atomic<bool> released{false};
  std::thread holder([&] {
    env->sleep_micros(50000);
    released = true;
    ex.reset();
  });
  auto got = env->lock_file(path, LockKind::Exclusive, std::chrono::seconds(60));  // waits, does not time out
  CHECK(released);
  holder.join();
}

TEST_CASE("posix: locks exclude another process") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string path = dir / "LOCK";
  int to_parent[2], to_child[2];
  REQUIRE(::pipe(to_parent) == 0);
  REQUIRE(::pipe(to_child) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int rc = 0;
    try {
      auto lock = Env::posix()->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0));
      char c = 'L';
      if (::write(to_parent[1], &c, 1) != 1) rc = 2;
      if (::read(to_child[0], &c, 1) != 1) rc = 3;
    } catch (...) {
      rc = 1;
    }
    ::_exit(rc);
  }
  char c = 0;
  REQUIRE(::read(to_parent[0], &c, 1) == 1);
  CHECK_THROWS_AS(env->lock_file(path, LockKind::Shared, std::chrono::milliseconds(0)), h5tx::BusyError);
  REQUIRE(::write(to_child[1], &c, 1) == 1);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto lock = env->lock_file(path, LockKind::Exclusive,
                             std::chrono::milliseconds(0));  // the child's exit released it
  CHECK(lock != nullptr);
  for (int fd : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) ::close(fd);
}

TEST_CASE("posix: clock") {
  Env* env = Env::posix();
  uint64_t a = env->now_micros();
  CHECK(a > 1500000000ull * 1000000ull);  // after 2017: microseconds since the epoch
  env->sleep_micros(1000);
  CHECK(env->now_micros() >= a);
}

TEST_CASE("path helpers") {
  CHECK(h5tx::path_join("a", "b") == "a/b");
  CHECK(h5tx::path_join("a/", "b") == "a/b");
  CHECK(h5tx::path_dirname("/x/y") == "/x");
  CHECK(h5tx::path_dirname("/x") == "/");
  CHECK(h5tx::path_dirname("x") == ".");
  CHECK(h5tx::path_basename("/x/y") == "y");
}

// File::try_lock is HDF5's flock: per open file description, so two Files of
// one process conflict too; independent of lock_file's fcntl locks.
TEST_CASE("posix: File::try_lock (flock) and File::identity") {
  h5tx_test::TempDir dir("io");
  Env* env = Env::posix();
  std::string path = dir / "f.h5";
  auto a = env->open(path, OpenMode::CreateNew);
  auto b = env->open(path, OpenMode::ReadOnly);
  REQUIRE(::link(path.c_str(), (dir / "link.h5").c_str()) == 0);
  auto c = env->open(dir / "link.h5", OpenMode::ReadOnly);
  auto other = env->open(dir / "other.h5", OpenMode::CreateNew);

  CHECK(a->identity().known);
  CHECK(a->identity() == b->identity());
  CHECK(a->identity() == c->identity());  // another name, the same file
  CHECK(a->identity() != other->identity());

  CHECK(a->try_lock(LockKind::Exclusive));
  CHECK_FALSE(b->try_lock(LockKind::Shared));
  CHECK_FALSE(c->try_lock(LockKind::Exclusive));
  auto fcntl_lock =
      env->lock_file(path, LockKind::Exclusive, std::chrono::milliseconds(0));  // a different kind of lock
  fcntl_lock.reset();
  CHECK(a->try_lock(LockKind::Shared));  // converted
  CHECK(b->try_lock(LockKind::Shared));  // readers share
  CHECK_FALSE(c->try_lock(LockKind::Exclusive));
  a->unlock();
  b.reset();  // closing releases
  CHECK(c->try_lock(LockKind::Exclusive));
  // Another process meets the same lock.
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto mine = Env::posix()->open(path, OpenMode::ReadOnly);
    ::_exit(mine->try_lock(LockKind::Shared) ? 1 : 0);
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
}
