// The undo driver under HDF5: the seed scenario in a real child process that
// exits (also at every Env operation of a transaction), abort and nested
// rollback through h5tx::UndoFile, read-only opens of a file with a pending
// journal, garbage journals, the sec2j C API, and FaultEnv hosting the HDF5
// file itself (power cut at every operation).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "h5tx/error.hpp"
#include "h5tx/sec2j.h"
#include "h5tx/undo.hpp"
#include "hdf5/handle.hpp"
#include "io/testing/fault_env.hpp"
#include "crash_child.hpp"
#include "test_util.hpp"
#include "undo/driver.hpp"
#include "undo/journaled_file.hpp"

using h5tx::Env;
using h5tx::File;
using h5tx::OpenMode;
using h5tx::UndoFile;
using h5tx::UndoOptions;
using h5tx::hdf5::Handle;

namespace {

UndoOptions read_only() {
  UndoOptions o;
  o.read_only = true;
  return o;
}

// An Env that ends the process (_exit, like a crash: no destructors, no
// HDF5 close) just before its limit-th counted operation.
class ExitingEnv : public Env {
 public:
  ExitingEnv(Env* base, uint64_t limit) : base_(base), limit_(limit) {}
  uint64_t ops() const { return ops_; }
  void count() {
    if (++ops_ == limit_) _exit(99);
  }

  class ExitingFile : public File {
   public:
    ExitingFile(ExitingEnv* env, std::unique_ptr<File> f) : env_(env), f_(std::move(f)) {}
    size_t read(uint64_t o, void* b, size_t n) override { return f_->read(o, b, n); }
    void write(uint64_t o, const void* b, size_t n) override {
      env_->count();
      f_->write(o, b, n);
    }
    void append(const void* b, size_t n) override {
      env_->count();
      f_->append(b, n);
    }
    void truncate(uint64_t s) override {
      env_->count();
      f_->truncate(s);
    }
    void sync() override {
      env_->count();
      f_->sync();
    }
    void datasync() override {
      env_->count();
      f_->datasync();
    }
    uint64_t size() override { return f_->size(); }
    const std::string& path() const override { return f_->path(); }

   private:
    ExitingEnv* env_;
    std::unique_ptr<File> f_;
  };

  std::unique_ptr<File> open(const std::string& p, OpenMode m) override {
    count();
    return std::make_unique<ExitingFile>(this, base_->open(p, m));
  }
  bool exists(const std::string& p) override { return base_->exists(p); }
  bool is_directory(const std::string& p) override { return base_->is_directory(p); }
  uint64_t file_size(const std::string& p) override { return base_->file_size(p); }
  void remove_file(const std::string& p) override {
    count();
    base_->remove_file(p);
  }
  void rename(const std::string& a, const std::string& b) override {
    count();
    base_->rename(a, b);
  }
  void create_dir(const std::string& p) override {
    count();
    base_->create_dir(p);
  }
  void remove_dir(const std::string& p) override {
    count();
    base_->remove_dir(p);
  }
  std::vector<std::string> list_dir(const std::string& p) override { return base_->list_dir(p); }
  void sync_dir(const std::string& p) override {
    count();
    base_->sync_dir(p);
  }
  std::unique_ptr<h5tx::FileLock> lock_file(const std::string& p, h5tx::LockKind k,
                                            std::chrono::milliseconds t) override {
    return base_->lock_file(p, k, t);
  }
  uint64_t now_micros() override { return base_->now_micros(); }
  void sleep_micros(uint64_t us) override { base_->sleep_micros(us); }

 private:
  Env* base_;
  uint64_t limit_;
  uint64_t ops_ = 0;
};

struct ChildResult {
  int status = -1;    // exit code, or -1 if killed by a signal
  std::string notes;  // what the child wrote to its pipe
};

// Runs fn(pipe_fd) in a forked child that then _exits(0) (3 on an exception).
ChildResult run_child(const std::function<void(int)>& fn) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    try {
      fn(fds[1]);
    } catch (const std::exception& e) {
      std::string m = std::string("E:") + e.what();
      (void)!write(fds[1], m.data(), m.size());
      _exit(3);
    }
    _exit(0);
  }
  close(fds[1]);
  ChildResult r;
  char buf[512];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) r.notes.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

void note(int fd, const std::string& s) {
  (void)!write(fd, s.data(), s.size());
}

// The seed's change: group bbic/volume/0 with attribute width = 640.
void make_seed_group(hid_t file) {
  Handle lcpl(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate");
  h5tx::hdf5::check(H5Pset_create_intermediate_group(lcpl, 1), "H5Pset_create_intermediate_group");
  Handle g(H5Gcreate2(file, "bbic/volume/0", lcpl, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2");
  Handle space(H5Screate(H5S_SCALAR), "H5Screate");
  Handle a(H5Acreate2(g, "width", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2");
  int width = 640;
  h5tx::hdf5::check(H5Awrite(a, H5T_NATIVE_INT, &width), "H5Awrite");
}

// Also some raw data, so a transaction has many writes of both kinds.
void write_dataset(hid_t file, const std::string& name, int value) {
  hsize_t dims[2] = {64, 64}, chunk[2] = {16, 16};
  Handle space(H5Screate_simple(2, dims, nullptr), "H5Screate_simple");
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate");
  h5tx::hdf5::check(H5Pset_chunk(dcpl, 2, chunk), "H5Pset_chunk");
  Handle d(H5Dcreate2(file, name.c_str(), H5T_STD_I32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
           "H5Dcreate2");
  std::vector<int> v(64 * 64, value);
  h5tx::hdf5::check(H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
}

bool exists(hid_t file, const std::string& path) {
  return h5tx::hdf5::link_exists(file, path);
}

int read_width(hid_t file) {
  Handle a(H5Aopen_by_name(file, "bbic/volume/0", "width", H5P_DEFAULT, H5P_DEFAULT), "H5Aopen_by_name");
  int w = 0;
  h5tx::hdf5::check(H5Aread(a, H5T_NATIVE_INT, &w), "H5Aread");
  return w;
}

int dataset_sum(hid_t file, const std::string& name) {
  Handle d(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "H5Dopen2");
  std::vector<int> v(64 * 64);
  h5tx::hdf5::check(H5Dread(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dread");
  int s = 0;
  for (int x : v) s += x;
  return s;
}

// Opens with the plain sec2 driver, read-only: the file is ordinary HDF5.
Handle open_plain(const std::string& path) {
  h5tx::hdf5::silence_error_printing();
  return Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "H5Fopen(sec2)", path);
}

// Power cut (mode chosen by k), then the durable data file and journal of
// `path` are copied to `real` and `real`.journal on the real file system.
int crash_and_dump(h5tx::testing::FaultEnv& env, uint64_t k, const std::string& path, const std::string& real,
                   int fd) {
  h5tx::testing::CrashOptions c;
  c.keep_random_unsynced = k % 2 == 1;
  c.tear_sectors = k % 3 == 0;
  c.seed = k;
  env.crash(c);
  Env* posix = Env::posix();
  for (const std::string& suffix : {std::string(), std::string(".journal")}) {
    if (posix->exists(real + suffix)) posix->remove_file(real + suffix);
    if (env.exists(path + suffix)) posix->write_file_atomic(real + suffix, env.read_all(path + suffix));
  }
  note(fd, "#dumped");
  return 0;
}

}  // namespace

TEST_CASE("seed scenario through the sec2j C API in a child that _exits", "[undo][hdf5][fork]") {
  h5tx_test::TempDir dir("undo-seed");
  const std::string path = dir / "test.h5";
  for (bool commit : {false, true}) {
    ChildResult r = run_child([&](int) {
      REQUIRE(H5FD_sec2j_init() >= 0);
      hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
      if (H5Pset_fapl_sec2j(fapl) < 0) _exit(4);
      hid_t fid = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
      if (fid < 0) _exit(5);
      if (H5FD_sec2j_tx_start(fid) < 0) _exit(6);
      make_seed_group(fid);
      H5Fflush(fid, H5F_SCOPE_GLOBAL);
      if (commit && H5FD_sec2j_tx_end(fid) < 0) _exit(7);
      _exit(0);
    });
    INFO("commit " << commit << " child: " << r.notes);
    REQUIRE(r.status == 0);
    CHECK_FALSE(h5tx::undo::has_pending_journal(*Env::posix(), path + ".journal"));
    {
      UndoFile f = UndoFile::open(path);  // reverts the pending journal
      CHECK(exists(f.hid(), "/bbic/volume/0") == commit);
      if (commit) CHECK(read_width(f.hid()) == 640);
    }
    CHECK_FALSE(Env::posix()->exists(path + ".journal"));
    Handle plain = open_plain(path);
    CHECK(exists(plain, "/bbic") == commit);
  }
}

// The same scenario, the child ending the process just before its k-th Env
// operation (data or journal write, truncate, sync, open, ...), for every k.
TEST_CASE("the child exits at every operation of a transaction", "[undo][hdf5][fork]") {
  h5tx_test::TempDir dir("undo-exit");
  const std::string path = dir / "f.h5";
  std::string base;
  {
    UndoFile f = UndoFile::create(path);
    auto tx = f.begin();
    write_dataset(f.hid(), "base", 1);
    tx.commit();
    f.close();
    base = Env::posix()->read_all(path);
  }
  auto reset = [&] {
    Env::posix()->write_file_atomic(path, base);
    if (Env::posix()->exists(path + ".journal")) Env::posix()->remove_file(path + ".journal");
  };
  for (int variant = 0; variant < 3; variant++) {
    auto child = [&](uint64_t limit) {
      return run_child([&, limit](int fd) {
        ExitingEnv env(Env::posix(), limit);
        UndoOptions o;
        o.env = &env;
        o.page_size = 512;
        o.buffer_bytes = variant == 0 ? (16 << 20) : 4096;
        o.sync_every_write = variant == 2;
        UndoFile f = UndoFile::open(path, o);
        auto tx = f.begin();
        make_seed_group(f.hid());
        write_dataset(f.hid(), "bbic/volume/0/data", 7);
        {
          Handle d(H5Dopen2(f.hid(), "base", H5P_DEFAULT), "H5Dopen2");
          std::vector<int> v(64 * 64, 2);
          h5tx::hdf5::check(H5Dwrite(d, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "H5Dwrite");
        }
        H5Fflush(f.hid(), H5F_SCOPE_GLOBAL);
        note(fd, "C");
        tx.commit();
        note(fd, "D");
        note(fd, "#" + std::to_string(env.ops()));
        _exit(0);
      });
    };
    reset();
    ChildResult dry = child(0);
    REQUIRE(dry.status == 0);
    uint64_t total = std::stoull(dry.notes.substr(dry.notes.find('#') + 1));
    REQUIRE(total > 5);
    uint64_t step = std::max<uint64_t>(1, total / 60);  // at most ~60 runs per variant
    for (uint64_t k = 1; k <= total + 1; k += (k < 20 ? 1 : step)) {
      reset();
      ChildResult r = child(k);
      INFO("variant " << variant << ", exit before op " << k << " of " << total << ", child: " << r.notes);
      REQUIRE((r.status == 99 || r.status == 0));
      bool started = r.notes.find('C') != std::string::npos;
      bool done = r.notes.find('D') != std::string::npos;
      uint64_t journal_size =
          Env::posix()->exists(path + ".journal") ? Env::posix()->file_size(path + ".journal") : 0;
      INFO("journal bytes " << journal_size);
      UndoFile f = UndoFile::open(path);
      bool present = exists(f.hid(), "/bbic/volume/0");
      if (done) CHECK(present);
      if (!started) CHECK_FALSE(present);
      if (present) {
        CHECK(read_width(f.hid()) == 640);
        CHECK(dataset_sum(f.hid(), "bbic/volume/0/data") == 7 * 64 * 64);
        CHECK(dataset_sum(f.hid(), "base") == 2 * 64 * 64);
      } else {
        CHECK(dataset_sum(f.hid(), "base") == 1 * 64 * 64);
      }
      f.close();
      CHECK(Env::posix()->read_all(path).size() >= base.size());
      Handle plain = open_plain(path);
      CHECK(exists(plain, "/base"));
    }
  }
}

TEST_CASE("abort reverts and reopens and the file stays usable", "[undo][hdf5]") {
  h5tx_test::TempDir dir("undo-abort");
  const std::string path = dir / "a.h5";
  UndoFile f = UndoFile::create(path);
  {
    auto tx = f.begin();
    H5Gclose(H5Gcreate2(f.hid(), "kept", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    tx.commit();
  }
  const std::string committed = Env::posix()->read_all(path);
  hid_t before = f.hid();
  {
    auto tx = f.begin();
    make_seed_group(f.hid());
    write_dataset(f.hid(), "big", 3);
    tx.abort();
  }
  CHECK(f.hid() != before);
  CHECK(f.depth() == 0);
  CHECK(exists(f.hid(), "/kept"));
  CHECK_FALSE(exists(f.hid(), "/bbic"));
  CHECK_FALSE(exists(f.hid(), "/big"));
  {
    auto tx = f.begin();  // destroyed without commit: aborts
    H5Gclose(H5Gcreate2(f.hid(), "dropped", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  CHECK_FALSE(exists(f.hid(), "/dropped"));
  {
    auto tx = f.begin();
    H5Gclose(H5Gcreate2(f.hid(), "later", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    tx.commit();
  }
  f.close();
  Handle plain = open_plain(path);
  CHECK(exists(plain, "/kept"));
  CHECK(exists(plain, "/later"));
  CHECK_FALSE(exists(plain, "/dropped"));
  (void)committed;
}

TEST_CASE("nested transactions: inner abort keeps the outer level's changes", "[undo][hdf5]") {
  h5tx_test::TempDir dir("undo-nested");
  const std::string path = dir / "n.h5";
  UndoFile f = UndoFile::create(path);
  auto outer = f.begin();
  H5Gclose(H5Gcreate2(f.hid(), "x", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  {
    auto inner = f.begin();
    CHECK(inner.level() == 2);
    H5Gclose(H5Gcreate2(f.hid(), "y", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    write_dataset(f.hid(), "ydata", 5);
    CHECK_THROWS_AS(outer.commit(), h5tx::StateError);  // inner still open
    inner.abort();
  }
  CHECK(f.depth() == 1);  // the outer level survived the reopen
  CHECK(exists(f.hid(), "/x"));
  CHECK_FALSE(exists(f.hid(), "/y"));
  CHECK_FALSE(exists(f.hid(), "/ydata"));
  {
    auto inner = f.begin();
    H5Gclose(H5Gcreate2(f.hid(), "z", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    inner.commit();
  }
  SECTION("outer commit keeps x and z") {
    outer.commit();
    f.close();
    Handle plain = open_plain(path);
    CHECK(exists(plain, "/x"));
    CHECK(exists(plain, "/z"));
    CHECK_FALSE(exists(plain, "/y"));
  }
  SECTION("outer abort drops everything") {
    outer.abort();
    CHECK_FALSE(exists(f.hid(), "/x"));
    CHECK_FALSE(exists(f.hid(), "/z"));
  }
}

TEST_CASE("read-only open of a file with a pending journal", "[undo][hdf5][fork]") {
  h5tx_test::TempDir dir("undo-ro");
  const std::string path = dir / "r.h5";
  {
    UndoFile f = UndoFile::create(path);
    auto tx = f.begin();
    write_dataset(f.hid(), "base", 1);
    tx.commit();
  }
  const std::string before = Env::posix()->read_all(path);
  ChildResult r = run_child([&](int) {
    UndoOptions o;
    o.buffer_bytes = 0;  // every write reaches the data file at once
    UndoFile f = UndoFile::open(path, o);
    auto tx = f.begin();
    make_seed_group(f.hid());
    write_dataset(f.hid(), "more", 9);
    H5Fflush(f.hid(), H5F_SCOPE_GLOBAL);
    _exit(0);
  });
  REQUIRE(r.status == 0);
  const std::string data = Env::posix()->read_all(path);
  const std::string journal = Env::posix()->read_all(path + ".journal");
  REQUIRE(data != before);
  CHECK(h5tx::undo::has_pending_journal(*Env::posix(), path + ".journal"));
  {
    UndoFile ro = UndoFile::open(path, read_only());
    CHECK_FALSE(exists(ro.hid(), "/bbic"));
    CHECK_FALSE(exists(ro.hid(), "/more"));
    CHECK(dataset_sum(ro.hid(), "base") == 64 * 64);
    CHECK_THROWS(ro.begin());
  }
  CHECK(Env::posix()->read_all(path) == data);
  CHECK(Env::posix()->read_all(path + ".journal") == journal);
  // The read-only view is byte for byte what a revert produces.
  std::string view;
  {
    h5tx::undo::JournaledFile jf(Env::posix(), path, path + ".journal",
                                 h5tx::undo::JournaledFile::Mode::ReadOnly, {});
    view.resize(jf.size());
    jf.read(0, &view[0], view.size());
  }
  CHECK(H5FD_sec2j_recover(path.c_str(), nullptr) == 1);
  CHECK(Env::posix()->read_all(path) == view);
  CHECK(H5FD_sec2j_recover(path.c_str(), nullptr) == 0);
  CHECK(dataset_sum(open_plain(path), "base") == 64 * 64);
  (void)before;
}

TEST_CASE("a garbage journal stops the open with a CorruptionError naming it", "[undo][hdf5]") {
  h5tx_test::TempDir dir("undo-garbage");
  const std::string path = dir / "g.h5";
  {
    UndoFile f = UndoFile::create(path);
    H5Gclose(H5Gcreate2(f.hid(), "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  }
  const std::string data = Env::posix()->read_all(path);
  Env::posix()->write_file_atomic(path + ".journal", "garbage garbage garbage garbage");
  for (bool ro : {false, true}) {
    try {
      UndoOptions o;
      o.read_only = ro;
      UndoFile::open(path, o);
      FAIL("opened despite a garbage journal");
    } catch (const h5tx::CorruptionError& e) {
      CHECK(e.path() == path + ".journal");
    }
  }
  // Through the C API: a negative id and the reason on the HDF5 error stack.
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  REQUIRE(H5Pset_fapl_sec2j(fapl) >= 0);
  hid_t fid = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
  CHECK(fid < 0);
  CHECK(h5tx::hdf5::error_stack_message().find(".journal") != std::string::npos);
  H5Pclose(fapl);
  CHECK(H5FD_sec2j_recover(path.c_str(), nullptr) < 0);
  CHECK(Env::posix()->read_all(path) == data);
}

TEST_CASE("sec2j C API: custom journal path and nesting and abort and wrong driver", "[undo][hdf5]") {
  h5tx_test::TempDir dir("undo-capi");
  const std::string path = dir / "c.h5";
  const std::string journal = dir / "elsewhere.jnl";
  hid_t id = H5FD_sec2j_init();
  REQUIRE(id >= 0);
  CHECK(H5FD_sec2j_init() == id);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  REQUIRE(H5Pset_fapl_sec2j_journal(fapl, journal.c_str()) >= 0);
  hid_t fid = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  REQUIRE(fid >= 0);
  REQUIRE(H5FD_sec2j_tx_start(fid) >= 0);
  REQUIRE(H5FD_sec2j_tx_start(fid) >= 0);
  CHECK(h5tx::undo::tx_depth(fid) == 2);
  H5Gclose(H5Gcreate2(fid, "a", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  REQUIRE(H5FD_sec2j_tx_end(fid) >= 0);
  REQUIRE(H5FD_sec2j_tx_end(fid) >= 0);  // the journal was used, and is now invalidated
  CHECK(Env::posix()->exists(journal));
  CHECK_FALSE(h5tx::undo::has_pending_journal(*Env::posix(), journal));
  CHECK_FALSE(Env::posix()->exists(path + ".journal"));
  CHECK(H5FD_sec2j_tx_end(fid) < 0);  // no transaction open
  REQUIRE(H5FD_sec2j_tx_start(fid) >= 0);
  H5Gclose(H5Gcreate2(fid, "b", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  REQUIRE(H5FD_sec2j_tx_abort(fid) >= 0);
  H5Fclose(fid);
  fid = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);
  REQUIRE(fid >= 0);
  CHECK(exists(fid, "/a"));
  CHECK_FALSE(exists(fid, "/b"));
  H5Fclose(fid);
  H5Pclose(fapl);
  CHECK_FALSE(Env::posix()->exists(journal));
  // A file under another driver is refused.
  {
    Handle plain(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen");
    CHECK(H5FD_sec2j_tx_start(plain) < 0);
  }
  // term unregisters; init registers again.
  H5FD_sec2j_term();
  CHECK(H5Iis_valid(id) <= 0);
  hid_t again = H5FD_sec2j_init();
  REQUIRE(again >= 0);
  fapl = H5Pcreate(H5P_FILE_ACCESS);
  REQUIRE(H5Pset_fapl_sec2j(fapl) >= 0);
  fid = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  CHECK(fid >= 0);
  CHECK(exists(fid, "/a"));
  H5Fclose(fid);
  H5Pclose(fapl);
}

// FaultEnv hosts the HDF5 file itself: a power cut after every operation of
// a transaction, with unsynced writes dropped, kept or torn. Each run is a
// child process that ends inside the Env call that was the crash point (its
// death hook), as a power cut ends a machine; it hands the durable bytes to
// the parent, which recovers them.
TEST_CASE("HDF5 file on FaultEnv: power cut at every operation", "[undo][hdf5][crash][fork]") {
  using h5tx::testing::FaultEnv;
  h5tx_test::TempDir dir("undo-power");
  const std::string real = dir / "f.h5";
  for (uint64_t k = 1;; k++) {
    ChildResult r = run_child([&](int fd) {
      FaultEnv env;
      env.create_dir("/d");
      env.sync_dir("/");
      const std::string path = "/d/f.h5";
      UndoOptions o;
      o.env = &env;
      o.page_size = 512;
      o.buffer_bytes = 8192;
      {
        UndoFile f = UndoFile::create(path, o);
        auto tx = f.begin();
        write_dataset(f.hid(), "base", 1);
        tx.commit();
      }
      env.on_death([&](const std::string& image) {
        _exit(crash_and_dump(*FaultEnv::from_image(image), k, path, real, fd));
      });
      env.crash_after(env.op_count() + k);
      {
        UndoFile f = UndoFile::open(path, o);
        auto tx = f.begin();
        make_seed_group(f.hid());
        write_dataset(f.hid(), "bbic/volume/0/data", 4);
        h5tx::hdf5::check(H5Fflush(f.hid(), H5F_SCOPE_GLOBAL), "H5Fflush");
        note(fd, "S");
        tx.commit();
        note(fd, "D");
        f.close();
      }
      note(fd, "F");
      _exit(crash_and_dump(env, k, path, real, fd));
    });
    INFO("power cut after op " << k << ", child: " << r.notes);
    REQUIRE(r.status == 0);
    bool started = r.notes.find('S') != std::string::npos;
    bool done = r.notes.find('D') != std::string::npos;
    UndoFile f = UndoFile::open(real);
    bool present = exists(f.hid(), "/bbic/volume/0");
    if (done) CHECK(present);
    if (!started) CHECK_FALSE(present);
    if (present) CHECK(dataset_sum(f.hid(), "bbic/volume/0/data") == 4 * 64 * 64);
    CHECK(dataset_sum(f.hid(), "base") == 64 * 64);
    f.close();
    if (r.notes.find('F') != std::string::npos) break;
  }
}

// A file left mid-transaction by the original sec2j driver: its journal
// (built here byte by byte, little-endian, CRC-32) is reverted when the file
// is opened through h5tx's H5Pset_fapl_sec2j.
TEST_CASE("an HDF5 file with a legacy sec2j journal opens reverted", "[undo][hdf5][legacy]") {
  h5tx_test::TempDir dir("undo-legacy");
  const std::string path = dir / "l.h5";
  {
    Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), "H5Fcreate");
    write_dataset(f, "base", 1);
  }
  const std::string before = Env::posix()->read_all(path);
  {
    Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "H5Fopen");
    make_seed_group(f);
  }
  const std::string after = Env::posix()->read_all(path);
  // One entry per changed 64-byte run below the old end, as the original
  // driver logged each write's old bytes.
  std::string body;
  uint64_t prev = 0, last = 0;
  auto le = [](std::string* s, uint64_t v, int n) {
    for (int i = 0; i < n; i++) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  for (uint64_t at = 0; at < before.size(); at += 64) {
    uint64_t n = std::min<uint64_t>(64, before.size() - at);
    if (before.compare(at, n, after, at, n) == 0) continue;
    std::string old = before.substr(at, n);
    uint64_t pos = 13 + body.size();
    le(&body, at, 8);
    le(&body, n, 8);
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : old) {
      c ^= b;
      for (int i = 0; i < 8; i++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    le(&body, ~c, 4);
    body += old;
    le(&body, prev, 8);
    prev = last = pos;
  }
  REQUIRE(last > 0);
  std::string journal = "sec2j";
  le(&journal, last, 8);
  Env::posix()->write_file_atomic(path + ".journal", journal + body);

  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  REQUIRE(H5Pset_fapl_sec2j(fapl) >= 0);
  hid_t fid = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);  // read-only: shows the old state
  REQUIRE(fid >= 0);
  CHECK_FALSE(exists(fid, "/bbic"));
  H5Fclose(fid);
  CHECK(Env::posix()->read_all(path) == after);
  fid = H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl);  // read-write: reverts
  REQUIRE(fid >= 0);
  CHECK_FALSE(exists(fid, "/bbic"));
  CHECK(dataset_sum(fid, "base") == 64 * 64);
  H5Fclose(fid);
  H5Pclose(fapl);
  CHECK_FALSE(Env::posix()->exists(path + ".journal"));
  CHECK(Env::posix()->read_all(path).substr(0, before.size()) == before);
}

// H5Fcreate first tries to open the file without the create flags and
// retries with them if that fails; a real I/O error of the first try must
// still reach the caller.
TEST_CASE("an I/O error in H5Fcreate's first open attempt is not masked", "[undo][hdf5][faults]") {
  h5tx::testing::FaultEnv env;
  env.create_dir("/d");
  UndoOptions o;
  o.env = &env;
  { UndoFile::create("/d/x.h5", o); }
  env.fail_at(env.op_count() + 1, EIO);
  CHECK_THROWS_AS(UndoFile::create("/d/x.h5", o), h5tx::IoError);
  UndoFile again = UndoFile::create("/d/x.h5", o);  // the fault was one-shot
  CHECK(again.hid() >= 0);
}

// A power cut at every operation of a commit but the last (its commit
// point): the transaction is reverted by the next open, the file opens and
// holds what it held before. Each crash is a child that ends inside the Env
// call (tests/crash_child.hpp); the parent recovers the child's disk.
TEST_CASE("a power cut at every operation of a commit before its commit point reverts it",
          "[undo][hdf5][crash][fork]") {
  using h5tx::testing::FaultEnv;
  const std::string path = "/d/f.h5";
  FaultEnv start;
  start.create_dir("/d");
  start.sync_dir("/");
  UndoOptions o;
  o.page_size = 512;
  {
    o.env = &start;
    UndoFile f = UndoFile::create(path, o);
    write_dataset(f.hid(), "base", 1);
  }
  // k = 0: no crash, and the commit's operation count.
  auto run = [&](uint64_t k) -> uint64_t {
    uint64_t commit_ops = 0;
    h5tx_test::CrashChild c = h5tx_test::run_crash_child(
        start,
        [&](FaultEnv& env) {
          UndoOptions po = o;
          po.env = &env;
          UndoFile f = UndoFile::open(path, po);
          auto tx = f.begin();
          make_seed_group(f.hid());
          write_dataset(f.hid(), "more", 2);
          h5tx::hdf5::check(H5Fflush(f.hid(), H5F_SCOPE_GLOBAL), "H5Fflush");
          uint64_t before = env.op_count();
          if (k > 0) env.crash_after(before + k);
          tx.commit();
          commit_ops = env.op_count() - before;
          f.close();
        },
        [&] { return std::to_string(commit_ops); });
    INFO("power cut after commit op " << k << ": " << c.error.value_or(""));
    REQUIRE_FALSE(c.error);
    CHECK(c.died == (k > 0));
    c.env->crash();
    UndoOptions ro = o;
    ro.env = c.env.get();
    UndoFile f = UndoFile::open(path, ro);
    CHECK(exists(f.hid(), "/base"));
    CHECK(exists(f.hid(), "/more") == (k == 0));
    f.close();
    return std::stoull(c.payload);
  };
  uint64_t n = run(0);
  REQUIRE(n > 3);
  for (uint64_t k = 1; k < n; k++) run(k);
}
