// Mutexes that clang's thread-safety analysis understands, and the macros
// that annotate what they guard (after LevelDB's port/thread_annotations.h
// and port::Mutex). libstdc++'s std::mutex carries no annotations, so every
// mutex in src/ is one of these instead. Built with clang and
// -Wthread-safety (H5TX_THREAD_SAFETY_ANALYSIS, on by default with clang), a
// GUARDED_BY member touched without its mutex, or a REQUIRES function called
// without it, fails the build. Other compilers see plain std types and no
// attributes. See docs/design.md, "Lock order".
//
//   Mutex mu_;                 int n_ GUARDED_BY(mu_);
//   void add_locked() REQUIRES(mu_);      void add() EXCLUDES(mu_);
//   MutexLock lock(mu_);       ... lock.unlock(); ... lock.lock(); ...
//   CondVar cv_;               cv_.wait(lock, [&]() REQUIRES(mu_) { return n_ > 0; });
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>

#if defined(__clang__)
#define H5TX_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define H5TX_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) H5TX_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY H5TX_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) H5TX_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) H5TX_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) H5TX_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define ACQUIRED_AFTER(...) H5TX_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define REQUIRES(...) H5TX_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define REQUIRES_SHARED(...) H5TX_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#define ACQUIRE(...) H5TX_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define ACQUIRE_SHARED(...) H5TX_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define RELEASE(...) H5TX_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define RELEASE_SHARED(...) H5TX_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) H5TX_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) H5TX_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) H5TX_THREAD_ANNOTATION(assert_capability(x))
#define RETURN_CAPABILITY(x) H5TX_THREAD_ANNOTATION(lock_returned(x))
#define NO_THREAD_SAFETY_ANALYSIS H5TX_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace h5tx {

class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis the caller holds it (checks nothing at run time).
  void assert_held() ASSERT_CAPABILITY(this) {}

 private:
  friend class MutexLock;
  std::mutex mu_;
};

// Holds a Mutex for its scope, like std::unique_lock: unlock() and lock()
// let go of it and take it again inside the scope (the analysis follows),
// and CondVar waits with it.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : lock_(mu.mu_) {}
  ~MutexLock() RELEASE() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void lock() ACQUIRE() { lock_.lock(); }
  void unlock() RELEASE() { lock_.unlock(); }

 private:
  friend class CondVar;
  std::unique_lock<std::mutex> lock_;
};

// std::condition_variable over a MutexLock. A predicate that reads guarded
// members says so: [&]() REQUIRES(mu_) { ... } (it runs with the lock held).
class CondVar {
 public:
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

  void wait(MutexLock& lock) { cv_.wait(lock.lock_); }
  template <class Pred>
  void wait(MutexLock& lock, Pred pred) {
    cv_.wait(lock.lock_, pred);
  }
  template <class Rep, class Period>
  std::cv_status wait_for(MutexLock& lock, const std::chrono::duration<Rep, Period>& d) {
    return cv_.wait_for(lock.lock_, d);
  }
  template <class Rep, class Period, class Pred>
  bool wait_for(MutexLock& lock, const std::chrono::duration<Rep, Period>& d, Pred pred) {
    return cv_.wait_for(lock.lock_, d, pred);
  }
  template <class Clock, class Duration>
  std::cv_status wait_until(MutexLock& lock, const std::chrono::time_point<Clock, Duration>& t) {
    return cv_.wait_until(lock.lock_, t);
  }
  template <class Clock, class Duration, class Pred>
  bool wait_until(MutexLock& lock, const std::chrono::time_point<Clock, Duration>& t, Pred pred) {
    return cv_.wait_until(lock.lock_, t, pred);
  }

 private:
  std::condition_variable cv_;
};

// A reader/writer mutex (std::shared_mutex): WriterLock holds it
// exclusively, ReaderLock shared; REQUIRES_SHARED marks what readers may call.
class CAPABILITY("mutex") SharedMutex {
 public:
  SharedMutex() = default;
  SharedMutex(const SharedMutex&) = delete;
  SharedMutex& operator=(const SharedMutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  void lock_shared() ACQUIRE_SHARED() { mu_.lock_shared(); }
  void unlock_shared() RELEASE_SHARED() { mu_.unlock_shared(); }

 private:
  std::shared_mutex mu_;
};

class SCOPED_CAPABILITY WriterLock {
 public:
  explicit WriterLock(SharedMutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~WriterLock() RELEASE() { mu_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mu_;
};

class SCOPED_CAPABILITY ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mu) ACQUIRE_SHARED(mu) : mu_(mu) { mu_.lock_shared(); }
  ~ReaderLock() RELEASE() { mu_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mu_;
};

}  // namespace h5tx
