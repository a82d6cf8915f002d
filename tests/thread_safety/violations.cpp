// Code clang's thread-safety analysis must reject, one VIOLATION at a time
// (tests/thread_safety/tests.cmake compiles this file once per case, and
// once with none defined, which must compile cleanly): proof that a
// lock-discipline mistake in src/ fails the build.
#include "util/mutex.hpp"

namespace {

using h5tx::CondVar;
using h5tx::Mutex;
using h5tx::MutexLock;
using h5tx::ReaderLock;
using h5tx::SharedMutex;
using h5tx::WriterLock;

class Counter {
 public:
  void add() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    add_locked();
  }
  int wait_positive() EXCLUDES(mu_) {
    MutexLock lock(mu_);
    cv_.wait(lock, [&]() REQUIRES(mu_) { return n_ > 0; });
    lock.unlock();
    lock.lock();
    return n_;
  }
  void violate();

 private:
  void add_locked() REQUIRES(mu_) {
    n_++;
    cv_.notify_all();
  }

  Mutex mu_;
  CondVar cv_;
  int n_ GUARDED_BY(mu_) = 0;
};

class Table {
 public:
  int get() const EXCLUDES(mu_) {
    ReaderLock lock(mu_);
    return v_;
  }
  void set(int v) EXCLUDES(mu_) {
    WriterLock lock(mu_);
    v_ = v;
  }
  void violate();

 private:
  mutable SharedMutex mu_;
  int v_ GUARDED_BY(mu_) = 0;
};

void Counter::violate() {
#if defined(UNGUARDED_WRITE)
  n_++;  // without the lock
#elif defined(UNGUARDED_READ)
  int n = n_;  // without the lock
  (void)n;
#elif defined(LOCKED_CALL)
  add_locked();  // a _locked function without the lock
#elif defined(EXCLUDED_CALL)
  MutexLock lock(mu_);
  add();  // takes mu_ again: self-deadlock
#elif defined(AFTER_UNLOCK)
  MutexLock lock(mu_);
  lock.unlock();
  n_++;  // the lock was let go
#endif
}

void Table::violate() {
#if defined(SHARED_WRITE)
  ReaderLock lock(mu_);
  v_ = 1;  // a write under the read lock
#endif
}

}  // namespace

int main() {
  Counter c;
  c.add();
  c.violate();
  Table t;
  t.set(c.wait_positive());
  t.violate();
  return t.get() == 1 ? 0 : 1;
}
