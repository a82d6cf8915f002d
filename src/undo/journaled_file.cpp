// JournaledFile: buffering, before-images, nesting, commit/abort and the
// read-only overlay. The ordering argument is in formats/undo-journal.md.
#include "undo/journaled_file.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <new>
#include <utility>

#include "h5tx/error.hpp"
#include "undo/pending_journal.hpp"
#include "undo/superblock.hpp"

namespace h5tx {
namespace undo {

namespace {

constexpr size_t kStagingFlushBytes = 1 << 20;
constexpr size_t kKeepArenaBytes = 8 << 20;  // buffer memory kept between transactions

uint64_t make_nonce(Env* env, const void* self) {
  static std::atomic<uint64_t> counter{0};
  uint64_t x =
      env->now_micros() ^ (reinterpret_cast<uintptr_t>(self) << 16) ^ (++counter * 0x9E3779B97F4A7C15ull);
  return x ? x : 1;
}

OpenMode env_mode(JournaledFile::Mode m) {
  switch (m) {
    case JournaledFile::Mode::ReadOnly:
      return OpenMode::ReadOnly;
    case JournaledFile::Mode::ReadWrite:
      return OpenMode::ReadWrite;
    case JournaledFile::Mode::Create:
      return OpenMode::Create;
    case JournaledFile::Mode::CreateNew:
      return OpenMode::CreateNew;
    case JournaledFile::Mode::CreateTrunc:
      return OpenMode::CreateTrunc;
  }
  return OpenMode::ReadOnly;
}

}  // namespace

// Marks the transaction Failed if the guarded block throws inside one:
// after a failed write or sync nobody knows what reached the disk, so the
// transaction can only be abandoned (the next open reverts its journal).
// Whatever was thrown (an IoError, bad_alloc, anything): one error path.
// Outside a transaction the error just propagates, as with sec2.
#define H5TX_GUARDED(what, ...) \
  do {                          \
    try {                       \
      __VA_ARGS__;              \
    } catch (...) {             \
      mark_failed(what);        \
      throw;                    \
    }                           \
  } while (0)

// An error inside a transaction dooms it; every later transaction call
// rethrows this first error (the HDF5 callbacks drop their work instead, see
// write()).
void JournaledFile::mark_failed(const char* what) {
  if (levels_.empty() || state_ == State::Failed) return;
  broken_ = std::string(what) + " failed";
  failure_ = std::current_exception();
  transition(State::Failed, what);
}

const char* JournaledFile::state_name(State s) {
  switch (s) {
    case State::Idle:
      return "Idle";
    case State::Active:
      return "Active";
    case State::Prepared:
      return "Prepared";
    case State::Discarding:
      return "Discarding";
    case State::Failed:
      return "Failed";
  }
  return "?";
}

bool JournaledFile::legal(State from, State to) {
  using S = State;
  switch (from) {
    case S::Idle:
      return to == S::Active;
    case S::Active:
      return true;  // every state, itself included (nesting)
    case S::Prepared:
      return to == S::Active || to == S::Idle || to == S::Discarding || to == S::Failed;
    case S::Discarding:
      return to == S::Idle || to == S::Active || to == S::Failed;
    case S::Failed:
      return to == S::Failed;
  }
  return false;
}

void JournaledFile::transition(State to, const char* why) {
  if (!legal(state_, to))
    throw StateError(data_path_, std::string("internal error: the undo file's state cannot change from ") +
                                     state_name(state_) + " to " + state_name(to) + " (" + why + ")");
  state_ = to;
}

JournaledFile::JournaledFile(Env* env, std::string data_path, std::string journal_path, Mode mode,
                             const JournaledFileOptions& options, std::unique_ptr<File> data)
    : env_(env),
      data_path_(std::move(data_path)),
      journal_path_(std::move(journal_path)),
      default_journal_path_(journal_path_),
      opt_(options),
      read_only_(mode == Mode::ReadOnly) {
  if (opt_.page_size < kMinPageSize || opt_.page_size > kMaxPageSize)
    throw InvalidArgumentError(
        data_path_, "undo page size " + std::to_string(opt_.page_size) + " is outside [512, 64 MiB]");
  if (read_only_) {
    data_ = data ? std::move(data) : env_->open(data_path_, OpenMode::ReadOnly);
    pending_ = PendingJournal::load(*env_, journal_path_);
    if (pending_ && pending_->nothing_to_undo()) pending_.reset();
    if (pending_) pending_->check_owner(*data_);
    disk_size_ = data_->size();
    if (pending_) {
      pending_overlay_ = pending_->overlay();
      pending_size_ = pending_->has_original_size() ? pending_->original_size() : disk_size_;
      disk_valid_ = disk_size_;
      // Not analyzed: it runs inside the constructor, before any other
      // thread can have the object (clang skips constructors, not lambdas).
      SuperblockFlags sb =
          find_superblock(pending_size_, [&](uint64_t off, void* buf, size_t n) NO_THREAD_SAFETY_ANALYSIS {
            size_t got =
                static_cast<size_t>(std::min<uint64_t>(n, off < pending_size_ ? pending_size_ - off : 0));
            read_locked(off, static_cast<char*>(buf), got);
            return got;
          });
      if (sb.flags() != 0) {
        pending_sb_offset_ = sb.offset;
        pending_sb_ = sb.cleared();
      }
    }
  } else if (data) {
    data_ = std::move(data);
    revert_pending_journal(*env_, data_path_, journal_path_, data_.get());
    if (mode == Mode::CreateTrunc && data_->size() != 0) data_->truncate(0);
    disk_size_ = data_->size();
  } else {
    revert_pending_journal(*env_, data_path_, journal_path_);
    bool existed = env_->exists(data_path_);
    data_ = env_->open(data_path_, env_mode(mode));
    if (!existed) env_->sync_dir(path_dirname(data_path_));  // the new file's name is durable
    disk_size_ = data_->size();
  }
  disk_valid_ = logical_size_ = disk_size_;
}

JournaledFile::~JournaledFile() = default;

void JournaledFile::check_usable(const char* op) const {
  if (state_ != State::Failed) return;
  if (failure_) std::rethrow_exception(failure_);
  throw StateError(data_path_, std::string("cannot ") + op + ": the file is unusable after an error (" +
                                   broken_ + "); close it, the next open reverts its journal");
}

void JournaledFile::check_writable(const char* op) const {
  check_usable(op);
  if (read_only_) throw StateError(data_path_, std::string("cannot ") + op + ": opened read-only");
}

uint64_t JournaledFile::size() {
  MutexLock l(mu_);
  if (pending_) return pending_size_;
  return levels_.empty() ? disk_size_ : logical_size_;
}

void JournaledFile::read_disk(uint64_t addr, char* buf, size_t n) {
  uint64_t limit = std::min(disk_valid_, disk_size_);
  size_t got = 0;
  if (addr < limit) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, limit - addr));
    got = data_->read(addr, buf, want);
  }
  if (got < n) std::memset(buf + got, 0, n - got);
}

void JournaledFile::read(uint64_t addr, void* out, size_t n) {
  MutexLock l(mu_);
  H5TX_GUARDED("read", read_locked(addr, static_cast<char*>(out), n));
}

void JournaledFile::read_locked(uint64_t addr, char* buf, size_t n) {
  if (pending_) {
    size_t in_file =
        addr >= pending_size_ ? 0 : static_cast<size_t>(std::min<uint64_t>(n, pending_size_ - addr));
    read_disk(addr, buf, in_file);
    std::memset(buf + in_file, 0, n - in_file);
    // Not analyzed: for_each_overlap calls it within this function, under
    // mu_, and a REQUIRES on a lambda is checked where the template calls it.
    pending_overlay_.for_each_overlap(
        addr, addr + in_file, [&](uint64_t s, uint64_t e, const FilePos& p) NO_THREAD_SAFETY_ANALYSIS {
          uint64_t from = std::max(s, addr), to = std::min(e, addr + in_file);
          pending_->read_journal(p.pos + (from - s), buf + (from - addr), static_cast<size_t>(to - from));
        });
    uint64_t sb_end = pending_sb_offset_ + pending_sb_.size();
    if (!pending_sb_.empty() && addr < sb_end && pending_sb_offset_ < addr + n) {
      uint64_t from = std::max(addr, pending_sb_offset_), to = std::min(addr + n, sb_end);
      std::memcpy(buf + (from - addr), pending_sb_.data() + (from - pending_sb_offset_),
                  static_cast<size_t>(to - from));
    }
    return;
  }
  read_disk(addr, buf, n);
  buffer_.for_each_overlap(addr, addr + n, [&](uint64_t s, uint64_t e, const BufferedBytes& b) {
    uint64_t from = std::max(s, addr), to = std::min(e, addr + n);
    std::memcpy(buf + (from - addr), b.data + (from - s), static_cast<size_t>(to - from));
  });
}

void JournaledFile::write(uint64_t addr, const void* buf, size_t n) {
  MutexLock l(mu_);
  // Stale cache contents after an abort, and writes of a transaction that
  // an error already doomed (its commit will refuse): dropped, so HDF5 can
  // close the file (HDF5 1.10 leaves a dangling file id when close fails).
  if (state_ == State::Discarding || state_ == State::Failed) return;
  check_writable("write");
  if (n == 0) return;
  try {
    write_locked(addr, buf, n);
  } catch (...) {
    // An error that doomed the transaction: its next transaction call
    // (commit, prepare, abort) rethrows it. HDF5 is not told, because an
    // HDF5 1.10 call failing inside its metadata cache can leave the file
    // impossible to close. Outside a transaction it is HDF5's error.
    if (state_ != State::Failed) throw;
  }
}

void JournaledFile::write_locked(uint64_t addr, const void* buf, size_t n) {
  H5TX_GUARDED("write", {
    if (levels_.empty()) {
      data_->write(addr, buf, n);
      data_dirty_ = true;
      disk_size_ = std::max(disk_size_, addr + n);
      disk_valid_ = logical_size_ = disk_size_;
      return;
    }
    buffer_.insert(addr, n, BufferedBytes{arena_.copy(buf, n)});
    logical_size_ = std::max(logical_size_, addr + n);
    if (state_ == State::Prepared) transition(State::Active, "write");
    // The arena also holds overwritten bytes: bound it too.
    if (opt_.sync_every_write || buffer_.bytes() > opt_.buffer_bytes || arena_.used() > 2 * opt_.buffer_bytes)
      spill();
  });
}

void JournaledFile::truncate(uint64_t size) {
  MutexLock l(mu_);
  if (state_ == State::Discarding || state_ == State::Failed) return;  // as in write()
  check_writable("truncate");
  try {
    truncate_locked(size);
  } catch (...) {
    if (state_ != State::Failed) throw;  // as in write()
  }
}

void JournaledFile::truncate_locked(uint64_t size) {
  H5TX_GUARDED("truncate", {
    if (levels_.empty()) {
      if (size != disk_size_) {
        data_->truncate(size);
        data_dirty_ = true;
      }
      disk_size_ = disk_valid_ = logical_size_ = size;
      return;
    }
    if (size == logical_size_) return;
    if (state_ == State::Prepared) transition(State::Active, "truncate");
    if (size < logical_size_) {
      buffer_.erase(size, UINT64_MAX);
      disk_valid_ = std::min(disk_valid_, size);
    }
    logical_size_ = size;
    if (opt_.sync_every_write) spill();
  });
}

void JournaledFile::open_journal() {
  if (!journal_) {
    journal_ = env_->open(journal_path_, OpenMode::Create);
    if (journal_->size() != 0) {
      journal_.reset();
      throw StateError(journal_path_,
                       "undo journal exists and is not empty; another handle's "
                       "transaction? refusing to overwrite it");
    }
    journal_needs_dir_sync_ = true;
    journal_size_ = journal_extent_ = 0;
  }
}

char* JournaledFile::Staging::grow(size_t n) {
  char* p = mem.get() + size;
  size += n;
  return p;
}

void JournaledFile::write_journal() {
  if (staging_.size == 0) return;
  journal_pending_ = true;
  journal_->write(journal_size_, staging_.mem.get(), staging_.size);
  journal_->start_writeback(journal_size_, staging_.size);  // overlaps the next run's reads
  journal_size_ += staging_.size;
  journal_extent_ = std::max(journal_extent_, journal_size_);
  staging_.size = 0;
}

// Makes the buffered writes and size change of the innermost level reach the
// data file: before-images of every page about to change that the level has
// not saved yet are appended to the journal, the journal is synced (and its
// directory, the first time), and only then is the data file touched.
// Moves the write buffer to the data file, before-images first: the pages
// of this level's starting state that the buffer (or a pending truncation)
// would overwrite go to the journal, which is synced; then the buffer is
// written (WAL order: journal durable before the data file changes).
void JournaledFile::spill() {
  Level& level = levels_.back();
  const std::vector<uint64_t> pages = pages_to_save(level);
  const bool size_change = disk_valid_ < disk_size_ || logical_size_ != disk_size_;
  if (pages.empty() && buffer_.empty() && !size_change) return;
  if (!pages.empty() || journal_size_ == 0) journal_before_images(level, pages);
  write_buffer();
}

// The pages (sorted, unique) whose before-images this level still lacks
// and that the buffer or a pending truncation would change. Only bytes
// below the level's starting size have a before-image.
std::vector<uint64_t> JournaledFile::pages_to_save(const Level& level) {
  const uint64_t ps = opt_.page_size;
  std::vector<uint64_t> pages;
  auto need = [&](uint64_t from, uint64_t to) {
    to = std::min(to, level.start_size);
    if (from >= to) return;
    for (uint64_t p = from / ps; p <= (to - 1) / ps; p++)
      if (!level.images.count(p)) pages.push_back(p);
  };
  for (const auto& kv : buffer_.pieces()) need(kv.first, kv.second.end);
  if (disk_valid_ < disk_size_) need(disk_valid_, disk_size_);
  std::sort(pages.begin(), pages.end());
  pages.erase(std::unique(pages.begin(), pages.end()), pages.end());
  return pages;
}

// Appends one entry per run of adjacent pages (the journal header first,
// for the transaction's first entry) and syncs the journal.
void JournaledFile::journal_before_images(Level& level, const std::vector<uint64_t>& pages) {
  const uint32_t level_no = static_cast<uint32_t>(levels_.size() - 1);
  const uint64_t ps = opt_.page_size;
  open_journal();
  const uint64_t max_run = std::max<uint64_t>(ps, kMaxRunEntryBytes);
  // Flushed past kStagingFlushBytes, so one more entry always fits.
  size_t want = static_cast<size_t>(kMaxHeaderSize + kStagingFlushBytes + kEntryHeaderSize + max_run);
  if (staging_.capacity < want) {
    staging_.mem.reset(new char[want]);
    staging_.capacity = want;
  }
  staging_.size = 0;
  if (journal_size_ == 0) {
    header_.page_size = ps;
    header_.original_size = levels_.front().start_size;
    header_.nonce = make_nonce(env_, this);
    header_.version = kJournalVersion;
    header_.owner = owner_of(*data_, data_path_);
    std::string h = encode_header(header_);
    std::memcpy(staging_.grow(h.size()), h.data(), h.size());
  }
  // One entry per run of adjacent pages (at most max_run bytes), its
  // before-image read with one call straight into the staging buffer.
  for (size_t i = 0; i < pages.size();) {
    size_t j = i + 1;
    while (j < pages.size() && pages[j] == pages[j - 1] + 1 && (j + 1 - i) * ps <= max_run) j++;
    uint64_t run_off = pages[i] * ps;
    size_t run_len =
        static_cast<size_t>(std::min<uint64_t>((pages[j - 1] + 1) * ps, level.start_size) - run_off);
    uint64_t pos = journal_size_ + staging_.size + kEntryHeaderSize;
    char* entry = staging_.grow(kEntryHeaderSize + run_len);
    if (data_->read(run_off, entry + kEntryHeaderSize, run_len) != run_len)
      throw IoError(data_path_, "short read of " + std::to_string(run_len) + " bytes at " +
                                    std::to_string(run_off) + " while saving before-images");
    seal_entry(entry, header_, run_off, level_no, static_cast<uint32_t>(run_len));
    for (; i < j; i++) {
      uint64_t off = pages[i] * ps;
      uint32_t len = static_cast<uint32_t>(std::min<uint64_t>(ps, level.start_size - off));
      level.images[pages[i]] = Image{pos + (off - run_off), len};
    }
    if (staging_.size >= kStagingFlushBytes) write_journal();
  }
  write_journal();
  journal_->datasync();  // also makes a new size durable
  if (journal_needs_dir_sync_) {
    env_->sync_dir(path_dirname(journal_path_));
    journal_needs_dir_sync_ = false;
  }
}

// The buffer to the data file (its before-images are durable), then the
// file's pending truncation or growth.
void JournaledFile::write_buffer() {
  data_dirty_ = true;
  if (disk_valid_ < disk_size_) {
    data_->truncate(disk_valid_);
    disk_size_ = disk_valid_;
  }
  // Pieces adjacent both in the file and in the arena go out in one call.
  const auto& pieces = buffer_.pieces();
  for (auto it = pieces.begin(); it != pieces.end();) {
    uint64_t start = it->first, end = it->second.end;
    const char* data = it->second.payload.data;
    for (++it; it != pieces.end() && it->first == end && it->second.payload.data == data + (end - start);
         ++it)
      end = it->second.end;
    data_->write(start, data, static_cast<size_t>(end - start));
    data_->start_writeback(start, end - start);  // the commit's sync waits less
    disk_size_ = std::max(disk_size_, end);
  }
  buffer_.clear();
  arena_.reset();
  if (logical_size_ != disk_size_) data_->truncate(logical_size_);
  disk_size_ = disk_valid_ = logical_size_;
}

void JournaledFile::sync_data_if_dirty() {
  if (data_dirty_) {
    data_->datasync();  // also makes a new size durable
    data_dirty_ = false;
  }
}

// The end of the outermost level: the journal is truncated and synced (the
// commit point). A journal at the path given at open stays open for the next
// transaction; one given to tx_start is removed now, so an error doing so
// reaches the caller of commit/abort rather than a close that cannot fail.
// A journal that stays open is invalidated by zeroing its header instead
// (a zero header means "nothing pending"; the next transaction overwrites
// the file from the start, and the stale entries after its own fail their
// checksums under its new nonce): no blocks are freed and reallocated per
// transaction, and the sync writes one block.
void JournaledFile::invalidate_journal() {
  bool keep = journal_path_ == default_journal_path_ && journal_extent_ <= opt_.journal_keep_bytes;
  if (journal_ && journal_size_ > 0) {
    if (keep) {
      static const char zeros[kMaxHeaderSize] = {};  // a whole header of any version
      journal_->write(0, zeros, sizeof zeros);
      journal_->datasync();
    } else {
      journal_->truncate(0);
      journal_->sync();
      journal_extent_ = 0;
    }
  }
  journal_size_ = 0;
  journal_pending_ = false;
  if (journal_path_ != default_journal_path_) close_journal();
}

// The outermost transaction ended: most of the buffer memory goes back.
void JournaledFile::end_transaction_memory() {
  buffer_.clear();
  arena_.release(kKeepArenaBytes);
  staging_ = Staging();
}

void JournaledFile::tx_start(const std::string& journal_path, bool keep_journal) {
  MutexLock l(mu_);
  check_writable("start a transaction");
  if (state_ == State::Discarding)
    throw StateError(data_path_, "cannot start a transaction after an abort; close and reopen the file");
  if (!levels_.empty() && !journal_path.empty() && journal_path != journal_path_)
    throw InvalidArgumentError(journal_path, "a nested transaction cannot change the journal path");
  H5TX_GUARDED("tx_start", {
    if (levels_.empty()) {
      const std::string& want = journal_path.empty() ? default_journal_path_ : journal_path;
      if (want != journal_path_) {
        close_journal();
        journal_path_ = want;
      }
      if (keep_journal) default_journal_path_ = want;
      // Earlier writes outside a transaction become durable first, so the
      // before-images saved below are the bytes a crash would find.
      sync_data_if_dirty();
    } else {
      spill();  // the inner level's before-images come from the disk
    }
    levels_.push_back(Level{logical_size_, {}});
    if (state_ != State::Active) transition(State::Active, "tx_start");
  });
}

void JournaledFile::tx_commit() {
  MutexLock l(mu_);
  check_writable("commit");
  if (state_ == State::Discarding) throw StateError(data_path_, "commit after an abort");
  if (state_ == State::Idle) throw StateError(data_path_, "commit without a transaction");
  H5TX_GUARDED("commit", {
    if (levels_.size() > 1) {
      // Merge: a page the parent has not saved keeps the child's image, which
      // is also the parent's (the page did not change in between).
      Level child = std::move(levels_.back());
      levels_.pop_back();
      Level& parent = levels_.back();
      uint64_t ps = opt_.page_size;
      for (const auto& kv : child.images)
        if (kv.first * ps < parent.start_size) parent.images.emplace(kv.first, kv.second);
      return;
    }
    spill();
    sync_data_if_dirty();
    invalidate_journal();
    levels_.clear();
    end_transaction_memory();
    transition(State::Idle, "tx_commit");
  });
}

void JournaledFile::tx_prepare() {
  MutexLock l(mu_);
  check_writable("prepare");
  if (state_ == State::Discarding) throw StateError(data_path_, "prepare after an abort");
  if (levels_.size() != 1)
    throw StateError(data_path_, "prepare needs exactly one open transaction level, have " +
                                     std::to_string(levels_.size()));
  H5TX_GUARDED("prepare", {
    spill();
    sync_data_if_dirty();
    transition(State::Prepared, "tx_prepare");
  });
}

void JournaledFile::tx_forget() {
  MutexLock l(mu_);
  check_writable("forget");
  if (state_ != State::Prepared)
    throw StateError(data_path_, "forget needs a prepared transaction with no write since prepare");
  levels_.clear();
  journal_.reset();  // the caller removed it; no journal I/O here
  journal_size_ = journal_extent_ = 0;
  journal_pending_ = false;
  end_transaction_memory();
  transition(State::Idle, "tx_forget");
}

void JournaledFile::tx_abort() {
  MutexLock l(mu_);
  check_writable("abort");
  if (state_ == State::Discarding) throw StateError(data_path_, "abort after an abort");
  if (state_ == State::Idle) throw StateError(data_path_, "abort without a transaction");
  H5TX_GUARDED("abort", {
    Level level = std::move(levels_.back());
    buffer_.clear();
    arena_.reset();
    if (!level.images.empty() || disk_size_ != level.start_size) {
      std::string page(opt_.page_size, '\0');
      for (const auto& kv : level.images) {
        const Image& im = kv.second;
        if (journal_->read(im.journal_pos, &page[0], im.length) != im.length)
          throw CorruptionError(journal_path_, "undo journal is shorter than the images it recorded");
        data_->write(kv.first * opt_.page_size, page.data(), im.length);
      }
      data_->truncate(level.start_size);
      data_dirty_ = true;
    }
    sync_data_if_dirty();
    disk_size_ = disk_valid_ = logical_size_ = level.start_size;
    levels_.pop_back();
    if (levels_.empty()) {
      invalidate_journal();
      end_transaction_memory();
    }
    transition(State::Discarding, "tx_abort");
  });
}

int JournaledFile::depth() {
  MutexLock l(mu_);
  return static_cast<int>(levels_.size());
}

bool JournaledFile::discarding() {
  MutexLock l(mu_);
  return state_ == State::Discarding;
}

JournaledFile::State JournaledFile::state() {
  MutexLock l(mu_);
  return state_;
}

void JournaledFile::set_locked(bool locked) {
  MutexLock l(mu_);
  locked_ = locked;
}

void JournaledFile::relock(LockKind kind) {
  MutexLock l(mu_);
  if (kind == LockKind::Shared) {
    // Only lets readers in: on any failure the file keeps its exclusive
    // lock, which is merely less friendly. Never throws (it runs after a
    // commit point).
    if (!locked_ || !levels_.empty()) return;
    try {
      data_->try_lock(LockKind::Shared);
    } catch (...) {
    }
    return;
  }
  check_usable("change the file lock");
  if (!locked_) return;
  if (!levels_.empty()) throw StateError(data_path_, "cannot change the file lock inside a transaction");
  bool taken = false;
  H5TX_GUARDED("relock", taken = data_->try_lock(kind));
  if (taken) return;
  // flock dropped the shared lock while converting: take it back if it can.
  H5TX_GUARDED("relock", if (!data_->try_lock(LockKind::Shared)) locked_ = false);
  throw BusyError(data_path_,
                  "another process has the file open (HDF5's file lock, e.g. an h5py or h5dump "
                  "reader); it cannot be written until that process closes it",
                  EWOULDBLOCK);
}

void JournaledFile::end_on_close(EndOnClose how) {
  MutexLock l(mu_);
  check_writable("end the transaction on close");
  if (levels_.size() != 1 || state_ == State::Discarding)
    throw StateError(data_path_, "ending on close needs exactly one open transaction level, have " +
                                     std::to_string(levels_.size()));
  end_on_close_ = how;
}

bool JournaledFile::close() {
  MutexLock l(mu_);
  if (state_ == State::Discarding) transition(levels_.empty() ? State::Idle : State::Active, "close");
  EndOnClose end = std::exchange(end_on_close_, EndOnClose::None);
  if (read_only_ || state_ == State::Failed) {
    if (end != EndOnClose::None && failure_) std::rethrow_exception(failure_);
    return false;  // a failed file keeps its journal pending
  }
  if (!levels_.empty()) {
    H5TX_GUARDED("close", {
      spill();
      if (end == EndOnClose::None) return true;
      sync_data_if_dirty();
      if (end == EndOnClose::Commit) {
        invalidate_journal();
      } else {
        journal_.reset();  // prepared: the caller owns the journal from now on
        journal_size_ = journal_extent_ = 0;
        journal_pending_ = false;
      }
      levels_.clear();
      end_transaction_memory();
      transition(State::Idle, "close");
    });
  }
  close_journal();
  return false;
}

// Closes the journal of finished transactions and removes the (empty) file.
// Only called with no transaction pending in the journal (empty, or its
// header zeroed).
void JournaledFile::close_journal() {
  if (!journal_) return;
  journal_.reset();
  bool invalid = !journal_pending_;
  journal_size_ = journal_extent_ = 0;
  if (invalid && env_->exists(journal_path_)) env_->remove_file(journal_path_);
}

}  // namespace undo
}  // namespace h5tx
