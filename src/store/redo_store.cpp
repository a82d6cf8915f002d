// Redo mode: the store's lifecycle (open, publishing commits, flush, close,
// stats). Recovery is store/redo_recovery.*, reads of the committed state
// store/committed_view.*. See store/redo_store.hpp.
#include "store/redo_store.hpp"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <set>

#include "h5tx/error.hpp"
#include "flush/flushed_mark.hpp"
#include "flush/orphan_temps.hpp"
#include "flush/retention.hpp"
#include "journal/tx_dir.hpp"
#include "journal/staged_parts.hpp"
#include "journal/tx_reader.hpp"
#include "flush/history_pack.hpp"
#include "store/redo_recovery.hpp"
#include "store/redo_transaction.hpp"

namespace h5tx {

// Flushed transaction directories kept for reuse (journal/spare_dirs.hpp):
// as many as may be pending (Options::max_unflushed_transactions), so that
// a store that has once had that many pending creates no more directories;
// at most 256 MiB of them (a flush batch of large transactions by default).
// Disk space the journal keeps while the store is open; all of it goes at
// close.
static constexpr uint64_t kSpareDirBytes = uint64_t(256) << 20;
// Spare directories the background flusher makes ahead of the committers
// when it has nothing to apply (so that creating them, two inode
// allocations each, is not on the commit path).
static constexpr size_t kSpareDirsAhead = 32;
// The data gate (flush/procs.hpp). A reader process waits while the
// flusher applies a batch to one data file (at least this long, or
// Options::lock_timeout if longer); the flusher waits this long for the
// readers' reads in progress, then goes on with the batch's other files and
// tries again later.
static constexpr std::chrono::milliseconds kReaderGateWait{60000};
static constexpr std::chrono::milliseconds kFlusherGateWait{500};
// The commit section (procs/commit) is held for one group's renames and
// journal/ fsync: a committer or begin() waits at least this long for it
// (or Options::lock_timeout if longer; the default 0 is for opening).
static constexpr std::chrono::milliseconds kSectionWait{60000};
// The flusher process looks for dead writers' _temp directories this often
// (and whenever its poll finds a dead registration).
static constexpr uint64_t kSweepMicros = 5000000;

std::unique_ptr<StoreImpl> open_redo_store(std::unique_ptr<Layout> layout, const Options& options) {
  auto store = std::make_unique<RedoStore>(std::move(layout), options);
  store->open();
  return store;
}

RedoStore::RedoStore(std::unique_ptr<Layout> layout, const Options& options)
    : layout_(std::move(layout)),
      env_(layout_->env()),
      home_(layout_->home()),
      read_only_(layout_->read_only()),
      options_(options),
      queue_(layout_->env(), layout_->journal_dir(), [this] { return layout_->allocate_txid(); }),
      spares_(layout_->env(), options.max_unflushed_transactions, kSpareDirBytes) {
  multi_ = layout_->multi_writer();
  files_ = std::make_unique<DataFiles>(layout_->env(), layout_->data_dir(), layout_->journal_dir(),
                                       layout_->format().undo_page_size, layout_->read_only());
  // The data gate: between this writer's flusher and reader processes, or
  // this reader process and a writer's flusher (formats/store-procs.md).
  const bool shared = layout_->format().version >= 2 && (!read_only_ || layout_->live_reader());
  if (shared)
    files_->set_gate(std::make_unique<procs::Gate>(layout_->env(), layout_->procs_dir()),
                     read_only_ ? std::max(options_.lock_timeout, kReaderGateWait) : kFlusherGateWait,
                     read_only_ || multi_);
  // A writer next to other writer processes reads like a reader process
  // (another process may be the flusher).
  if (multi_) files_->set_gate_read_timeout(std::max(options_.lock_timeout, kReaderGateWait));
  view_ = std::make_unique<CommittedView>(layout_->env(), files_.get());
  Flusher::Hooks hooks;
  if (shared && !read_only_) {
    hooks.flush_limit = [this] { return std::min(snapshots_.flush_limit(), external_limit_.load()); };
    hooks.poll_limit = [this] { poll_registrations(); };
  } else {
    hooks.flush_limit = [this] { return snapshots_.flush_limit(); };
  }
  hooks.flushed = [this](const std::vector<journal::Manifest>& ms) {
    view_->flushed(ms);
    if (!multi_) return;
    MutexLock l(live_mu_);
    for (const auto& m : ms) live_known_.erase(m.txid);
  };
  if (multi_) {
    hooks.role = [this] { return flusher_role(); };
    hooks.failed = [this] { let_go_of_failed_role(); };
    hooks.other_flusher = [this] {
      return is_flusher_ ? std::string() : procs::flusher_holder(env_, layout_->procs_dir());
    };
    hooks.poll_limit = [this] {
      sync_registration();
      // Another process flushes: list journal/ to see what it applied. This
      // process flushes (it caught up in full when it took the role): only
      // other processes' new commits matter, and the counter tells. (A full
      // listing under the commit queue's lock every poll cost a single
      // writer two thirds of its W1 commit rate.)
      if (!is_flusher_)
        queue_.locked([this] { catch_up_in_section(true); });
      else if (counter_moved())
        queue_.locked([this] { catch_up_in_section(false); });
      poll_registrations();
    };
  }
  hooks.drained = [this](uint64_t newest) { flushed_mark::advance(*env_, home_, newest); };
  hooks.retired = [this](const std::string& dir) {
    // A retention slot needs it (an incremental backup, a replica): kept
    // in HOME/archive/ instead of being recycled (flush/retention.hpp).
    uint64_t txid;
    journal::TxState st;
    if (journal::parse_tx_dir_name(path_basename(dir), &txid, &st) &&
        retention::archive_if_pinned(*env_, home_, dir, txid))
      return;
    spares_.offer(dir);
  };
  hooks.replenish = [this] {
    // A few at a time, so a due batch never waits long behind this.
    for (int i = 0; i < 4 && spares_.size() < kSpareDirsAhead; i++)
      spares_.make_fresh(layout_->journal_dir(), layout_->temp_id());
    return spares_.size() < kSpareDirsAhead;
  };
  if (layout_->history()) {
    history_index_ = std::make_unique<HistoryIndex>(layout_->env(), layout_->history_dir());
    history_view_ = std::make_unique<HistoryView>(view_.get(), history_index_.get());
    if (!read_only_) {
      recorder_ = std::make_unique<HistoryRecorder>(layout_->env(), layout_->history_dir());
      hooks.before_apply = [this](const std::vector<BatchTx>& batch,
                                  const std::vector<journal::Manifest>& ms) {
        recorder_->record(*files_, batch, ms);
      };
    }
  }
  flusher_ = std::make_unique<Flusher>(layout_->env(), layout_->journal_dir(), files_.get(), options_,
                                       std::move(hooks));
  if (multi_) {
    own_reg_ = procs::Registration::create(env_, layout_->procs_dir());
    layout_->set_temp_owner(procs::owner_tag(own_reg_->id()));
    queue_.set_section({[this] {
                          section_ = procs::CommitSection::enter(env_, layout_->procs_dir(), section_wait());
                          try {
                            catch_up(false);
                          } catch (...) {
                            section_.reset();
                            throw;
                          }
                        },
                        [this] { section_.reset(); }});
    // A released snapshot only lets other flushers go further: the flusher
    // thread's next poll writes it (not the commit path). Pins are written
    // at begin(), before the snapshot is taken.
    snapshots_.set_on_change([this] { flusher_->notify(); });
  } else if (layout_->live_reader()) {
    snapshots_.set_on_change([this] {
      try {
        sync_registration();
      } catch (const Error&) {
        // Keeps the older (lower) value: the flusher is only held back.
      }
    });
  } else {
    snapshots_.set_on_change([this] { flusher_->notify(); });
  }
}

// Registrations read after `committed` was sampled: every transaction at or
// below it was committed before any registration made after the read, so
// such a reader's listing finds it (or finds it flushed): design.md,
// "Processes".
void RedoStore::poll_registrations() {
  uint64_t committed = snapshots_.last_committed();
  size_t dead = 0;
  uint64_t oldest = procs::oldest_registered(env_, layout_->procs_dir(), nullptr, procs::kSnapPrefix,
                                             own_reg_ ? own_reg_->path() : std::string(), &dead);
  external_limit_ = std::min(committed, oldest);
  // A writer process died (its registration just went): its _temp
  // directories are garbage now. The flusher also looks now and then, for
  // deaths another process's poll noticed first.
  if (multi_ && (dead > 0 || (is_flusher_ && env_->now_micros() - last_sweep_us_ >= kSweepMicros)))
    sweep_orphans();
}

void RedoStore::sweep_orphans() {
  last_sweep_us_ = env_->now_micros();
  try {
    remove_orphan_temps(env_, layout_->journal_dir(), layout_->procs_dir());
  } catch (const Error& e) {
    // Garbage left for the next sweep (or an open alone); flushing goes on.
    std::fprintf(stderr, "h5tx: removing a dead writer's _temp directories: %s\n", e.what());
  }
}

void RedoStore::let_go_of_failed_role() {
  MutexLock g(role_mu_);
  if (!is_flusher_) return;
  {
    MutexLock lock(files_->mutex());
    try {
      files_->close_all();  // no handle of this process on a file the next holder repairs
    } catch (const Error&) {
    }
  }
  // Its spare directories (named _flushed, or _temp) go before the role
  // does, as at close(): the next holder's cleanup removes applied
  // _flushed directories, and must not race a spill of this process
  // renaming one of them. What cannot be removed now is garbage that the
  // next holder's cleanup (or an open's recovery) removes.
  try {
    spares_.clear();
  } catch (const Error& e) {
    std::fprintf(stderr, "h5tx: %s: removing the failed flusher's spare directories: %s\n", home_.c_str(),
                 e.what());
  }
  is_flusher_ = false;
  flusher_lock_.reset();
  std::fprintf(stderr,
               "h5tx: %s: this process's flusher failed; it lets go of the flusher role for another writer "
               "process to take over (this process's commits fail until it reopens the store)\n",
               home_.c_str());
}

void RedoStore::sync_registration() {
  MutexLock l(reg_mu_);
  if (reg_closed_) return;
  uint64_t v = snapshots_.open_count() ? snapshots_.flush_limit() : procs::kNoSnapshot;
  if (v == reg_written_) return;
  registration()->set(v);
  reg_written_ = v;
}

std::chrono::milliseconds RedoStore::section_wait() const {
  return std::max(options_.lock_timeout, kSectionWait);
}

void RedoStore::renamed(uint64_t txid) {
  MutexLock l(live_mu_);
  own_renamed_.insert(txid);
  counter_seen_ = txid + 1;  // assign_txid moved the counter there
}

bool RedoStore::counter_moved() {
  // counter_file_ is opened once, by begin() (any thread): under live_mu_.
  File* f;
  {
    MutexLock l(live_mu_);
    if (!counter_file_)
      counter_file_ = env_->open(path_join(layout_->procs_dir(), procs::kCommitLock), OpenMode::ReadOnly);
    f = counter_file_.get();
  }
  std::string text(64, '\0');
  text.resize(f->read(0, &text[0], text.size()));
  uint64_t v = 0;
  return !procs::decode_counter(text, &v) || v != counter_seen_;
}

void RedoStore::catch_up_in_section(bool full) {
  if (section_) return;  // held by this process: nothing new elsewhere
  section_ = procs::CommitSection::enter(env_, layout_->procs_dir(), section_wait());
  try {
    catch_up(full);
  } catch (...) {
    section_.reset();
    throw;
  }
  section_.reset();
}

void RedoStore::catch_up(bool full) {
  // Nothing committed elsewhere since we last looked: the counter moves
  // (under the section) before every rename.
  const uint64_t counter = section_->next();
  if (!full && counter != 0 && counter == counter_seen_) return;
  MutexLock l(live_mu_);
  const std::string& jdir = layout_->journal_dir();
  journal::JournalListing listing = journal::list_journal(*env_, jdir);
  if (counter) counter_seen_ = counter;
  // New commits of other processes (ours are known from publish()): every
  // one is durable (renamed and synced under procs/commit, which we hold).
  for (uint64_t t : listing.done) {
    // Ours are published in order, or never if their journal/ fsync failed
    // (state unknown: left for the next open's recovery, as before).
    if (t <= known_max_ || own_renamed_.count(t)) continue;
    std::string dir = path_join(jdir, journal::tx_dir_name(t, journal::TxState::Done));
    journal::Manifest m;
    try {
      m = journal::read_manifest(*env_, dir, t);
    } catch (const Error&) {
      if (!env_->is_directory(dir)) continue;  // applied meanwhile by another process's flusher
      throw;
    }
    std::vector<const journal::Op*> ops;
    for (const auto& op : m.ops) ops.push_back(&op);
    std::vector<std::string> check, record;
    // Whether it checked conflicts is not recorded: its chunk writes count
    // as checked ones (a conflict where threads of one process would see
    // a blind write, never a missed one).
    conflict_keys_of(ops, true, &check, &record);
    conflicts_.record(record, t);
    view_->add(m, dir);
    snapshots_.committed(t);
    flusher_->enqueue(m.info(), dir);
    live_known_.emplace(t, std::move(m));
    known_max_ = t;
  }
  uint64_t newest = 0;
  for (const auto* v : {&listing.done, &listing.flushed})
    if (!v->empty()) newest = std::max(newest, v->back());
  if (newest > known_max_) {
    snapshots_.committed(newest);  // applied by another process before we saw them
    known_max_ = newest;
  }
  if (is_flusher_) return;  // only our own flusher removes _done directories then
  // Applied by another process's flusher (it renames only after applying).
  std::set<uint64_t> present(listing.done.begin(), listing.done.end());
  for (uint64_t t : journal::plan_flushed(listing).reapply) present.insert(t);
  std::vector<journal::Manifest> gone;
  std::vector<uint64_t> ids;
  for (auto it = live_known_.begin(); it != live_known_.end();) {
    if (present.count(it->first)) {
      ++it;
      continue;
    }
    ids.push_back(it->first);
    gone.push_back(std::move(it->second));
    it = live_known_.erase(it);
  }
  if (gone.empty()) return;
  view_->flushed(gone);
  flusher_->forget(ids);
}

bool RedoStore::flusher_role() {
  if (is_flusher_) return true;
  MutexLock g(role_mu_);  // the flusher thread, and close()
  if (is_flusher_) return true;
  std::unique_ptr<FileLock> role = procs::try_flusher_role(env_, layout_->procs_dir());
  if (!role) return false;
  // The previous holder died or closed: what it left half applied is
  // reverted (under the data gate) before anything else is applied; then
  // what it did apply stops counting here.
  {
    MutexLock lock(files_->mutex());
    files_->close_all();
  }
  try {
    recover_dead_flusher(*layout_, *files_);
  } catch (const BusyError&) {
    return false;  // reader processes keep the data files: try again later
  }
  queue_.locked([this] { catch_up_in_section(true); });
  // Names the holder in others' messages. An I/O error here fails the
  // flusher like any other (the role is let go of with `role`).
  procs::write_flusher_pid(env_, layout_->procs_dir());
  flusher_lock_ = std::move(role);
  is_flusher_ = true;
  sweep_orphans();
  return true;
}

void RedoStore::refresh_live() {
  MutexLock l(live_mu_);
  const std::string& jdir = layout_->journal_dir();
  journal::JournalListing listing = journal::list_journal(*env_, jdir);
  journal::FlushedPlan plan = journal::plan_flushed(listing);
  std::map<uint64_t, std::string> now;  // committed and not yet applied, as recovery would see them
  for (uint64_t t : listing.done) now[t] = path_join(jdir, journal::tx_dir_name(t, journal::TxState::Done));
  const std::set<uint64_t> plan_done(listing.done.begin(), listing.done.end());
  for (uint64_t t : plan.reapply)
    now[t] = path_join(jdir, journal::tx_dir_name(t, journal::TxState::Flushed));
  for (const auto& [txid, dir] : now) {
    if (live_known_.count(txid)) continue;
    journal::Manifest m;
    try {
      m = journal::read_manifest(*env_, dir, txid);
    } catch (const Error&) {
      // Flushed meanwhile, or a _flushed one being recycled or removed: in
      // the data files either way.
      if (!env_->is_directory(dir) || !plan_done.count(txid)) continue;
      throw;
    }
    view_->add(m, dir);
    live_known_.emplace(txid, std::move(m));
  }
  // Flushed since: the data files have them (the flusher renames only after
  // applying), and no open snapshot here is older (our registration).
  std::vector<journal::Manifest> gone;
  for (auto it = live_known_.begin(); it != live_known_.end();) {
    if (now.count(it->first)) {
      ++it;
      continue;
    }
    gone.push_back(std::move(it->second));
    it = live_known_.erase(it);
  }
  if (!gone.empty()) view_->flushed(gone);
  uint64_t newest = 0;
  for (const auto* v : {&listing.done, &listing.flushed})
    if (!v->empty()) newest = std::max(newest, v->back());
  if (newest) snapshots_.committed(newest);
}

RedoStore::~RedoStore() {
  // Store::~Store closes (and reports errors); this only makes sure the
  // thread is gone.
  flusher_->stop();
}

void RedoStore::open() {
  if (layout_->live_reader()) {
    // Registered at the newest txid listed before the scan lists again, so
    // that the flusher applies nothing newer than the scan's snapshot.
    journal::JournalListing first = journal::list_journal(*env_, layout_->journal_dir());
    uint64_t pin = 0;
    for (const auto* v : {&first.done, &first.flushed})
      if (!v->empty()) pin = std::max(pin, v->back());
    {
      MutexLock r(reg_mu_);
      layout_->live_reader()->set(pin);
      reg_written_ = pin;
    }
    uint64_t newest = 0;
    const std::vector<CommittedTx> committed = scan_live_redo_journal(*layout_, *files_, &newest);
    {
      MutexLock l(live_mu_);
      for (const auto& c : committed) {
        view_->add(c.manifest, c.dir);
        snapshots_.committed(c.manifest.txid);
        live_known_.emplace(c.manifest.txid, c.manifest);
      }
    }
    snapshots_.committed(std::max(pin, newest));
    sync_registration();
    return;
  }
  if (multi_ && !layout_->alone()) {
    // Other writer processes live: no recovery (the store is in use, and
    // was recovered by the first of them); their commits are read in.
    {
      MutexLock r(reg_mu_);
      own_reg_->set(0);  // nothing is applied past what the catch-up reads
      reg_written_ = 0;
    }
    queue_.locked([this] { catch_up_in_section(true); });
    sync_registration();
    flusher_->start();
    return;
  }
  // Queue the committed transactions in txid order and build the overlay.
  const std::vector<CommittedTx> committed =
      read_only() ? scan_redo_journal(*layout_, *files_) : recover_redo_journal(*layout_, *files_);
  for (const auto& c : committed) {
    if (multi_) {
      MutexLock l(live_mu_);
      live_known_.emplace(c.manifest.txid, c.manifest);
      known_max_ = std::max(known_max_, c.manifest.txid);
    }
    add_committed(c.manifest, c.dir);
  }
  if (multi_) {
    layout_->share(options_);  // other writers may come in now
    sync_registration();
  }
  if (!read_only()) flusher_->start();
}

void RedoStore::add_committed(const journal::Manifest& m, const std::string& dir) {
  view_->add(m, dir);
  snapshots_.committed(m.txid);
  flusher_->enqueue(m.info(), dir);
}

void RedoStore::check_open() const {
  if (closed_) throw StateError(home_, "the store is closed");
}

std::unique_ptr<TransactionImpl> RedoStore::begin(const TxOptions& options) {
  check_open();
  if (!multi_ && !layout_->live_reader()) return std::make_unique<RedoTransaction>(this, options);
  // A reader process, or a writer next to other writers: pin what this
  // process knows (registered before the journal is listed again), catch
  // up with the journal, then take the snapshot and let go of the pin.
  uint64_t pin = snapshots_.acquire();
  std::unique_ptr<TransactionImpl> tx;
  try {
    sync_registration();
    if (multi_) {
      if (counter_moved()) queue_.locked([this] { catch_up_in_section(false); });
    } else
      refresh_live();
    tx = std::make_unique<RedoTransaction>(this, options);
  } catch (...) {
    snapshots_.release(pin);
    throw;
  }
  snapshots_.release(pin);
  return tx;
}

uint64_t RedoStore::pin_as_of(uint64_t txid, bool read_only) {
  if (!read_only) throw InvalidArgumentError(home_, "as_of needs a read-only transaction");
  if (!history_index_)
    throw InvalidArgumentError(home_, "the store keeps no history (h5tx history on HOME, Options::history)");
  // The newest committed txid: the journal's, else the history's (a
  // store whose journal is empty), or OLDEST (no txid at or below it is
  // still to come: a switch-on starts it at the last txid handed out).
  history_index_->refresh();
  const uint64_t last =
      std::max({snapshots_.last_committed(), history_index_->newest(), history_index_->oldest()});
  if (txid > last)
    throw InvalidArgumentError(home_, "txid " + std::to_string(txid) + " is not committed (the newest is " +
                                          std::to_string(last) + ")");
  {
    MutexLock l(asof_mu_);
    as_of_open_.insert(txid);
    try {
      set_as_of_registration();
    } catch (...) {
      as_of_open_.erase(as_of_open_.find(txid));
      throw;
    }
  }
  // After the pin is visible: a pack either sees it or raised OLDEST first.
  uint64_t oldest = 0;
  try {
    oldest = history_index_->oldest();
  } catch (...) {
    unpin_as_of(txid);
    throw;
  }
  if (txid < oldest) {
    unpin_as_of(txid);
    throw NotFoundError(
        home_, "txid " + std::to_string(txid) +
                   " is older than the history kept (oldest available: " + std::to_string(oldest) + ")");
  }
  return txid;
}

void RedoStore::unpin_as_of(uint64_t txid) {
  MutexLock l(asof_mu_);
  auto it = as_of_open_.find(txid);
  if (it != as_of_open_.end()) as_of_open_.erase(it);
  try {
    set_as_of_registration();
  } catch (const Error&) {
    // Keeps the older (lower) value: pack is only held back.
  }
}

void RedoStore::add_history_stats(StoreStats* s) {
  if (!history_index_ || closed_) return;
  HistoryUsage u = history_usage(*env_, layout_->history_dir());
  s->history = true;
  s->history_oldest = u.oldest;
  s->history_segments = u.segments;
  s->history_bytes = u.bytes;
}

void RedoStore::set_as_of_registration() {
  if (closed_) return;
  uint64_t v = as_of_open_.empty() ? procs::kNoSnapshot : *as_of_open_.begin();
  if (!as_of_reg_) {
    if (v == procs::kNoSnapshot) return;
    as_of_reg_ = procs::Registration::create(env_, layout_->procs_dir(), procs::kAsOfPrefix);
  }
  as_of_reg_->set(v);
}

void RedoStore::publish(std::shared_ptr<const journal::Manifest> m, const std::string& dir) {
  if (multi_) {
    MutexLock l(live_mu_);
    own_renamed_.erase(m->txid);
    live_known_.emplace(m->txid, *m);
    known_max_ = std::max(known_max_, m->txid);
  }
  add_committed(*m, dir);
  committed_++;
}

void RedoStore::import_transaction(const journal::StreamTx& tx) {
  check_open();
  if (read_only()) throw StateError(home_, "import: the store is open read-only");
  flusher_->wait_for_room();
  const uint64_t txid = tx.txid;
  if (txid <= snapshots_.last_committed())
    throw InvalidArgumentError(home_, "import of transaction " + journal::txid_hex(txid) +
                                          ": the store already has a transaction that new or newer");
  layout_->observe_txid(txid);
  const std::string& jdir = layout_->journal_dir();
  // A _temp name of its own id (a spare directory may hold working_<txid>_temp).
  const std::string temp = path_join(
      jdir,
      journal::tx_dir_name(multi_ ? layout_->temp_id() : layout_->allocate_txid(), journal::TxState::Temp));
  const std::string done = path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Done));
  env_->create_dir(temp);
  {
    auto f = env_->open(path_join(temp, journal::kManifestName), OpenMode::CreateNew);
    f->write(0, tx.manifest_bytes.data(), tx.manifest_bytes.size());
    f->datasync();
  }
  env_->sync_dir(temp);
  if (multi_) {
    // Ours: the flusher's catch-up (another thread) must not take it for
    // another process's commit between the rename and publish().
    MutexLock l(live_mu_);
    own_renamed_.insert(txid);
  }
  env_->rename(temp, done);
  env_->sync_dir(jdir);
  commit_fsyncs += 3;
  publish(std::make_shared<const journal::Manifest>(tx.manifest), done);
}

void RedoStore::flush() {
  check_open();
  if (read_only()) return;
  flusher_->flush();
}

// Applies what can be applied (transactions pinned by a still-open snapshot
// stay in the journal, durable, for the next open), stops the flusher,
// closes the data files and releases the lock, even if one of those steps
// fails; the first failure is then rethrown.
void RedoStore::close() {
  if (closed_.exchange(true)) return;
  std::exception_ptr error;
  // With several writer processes only the flusher flushes (the others'
  // commits are its to apply); the role is taken if it is free.
  if (!read_only()) {
    try {
      if (!multi_ || flusher_role()) flusher_->flush(false);
    } catch (const std::exception&) {
      error = std::current_exception();
    }
  }
  flusher_->stop();
  if (!read_only()) {
    try {
      spares_.clear();
    } catch (const std::exception&) {
      if (!error) error = std::current_exception();
    }
  }
  // Another writer process takes the role, and removes the _flushed
  // directories it finds: ours are gone by now.
  {
    MutexLock g(role_mu_);
    is_flusher_ = false;
    flusher_lock_.reset();
  }
  {
    MutexLock lock(files_->mutex());
    try {
      files_->close_all();
    } catch (const std::exception&) {
      if (!error) error = std::current_exception();
    }
  }
  {
    MutexLock l(reg_mu_);
    reg_closed_ = true;  // no registration write after this
  }
  {
    MutexLock l(asof_mu_);
    as_of_reg_.reset();  // removes procs/asof-*
  }
  if (own_reg_) {
    try {
      own_reg_->close();
    } catch (const std::exception&) {
      if (!error) error = std::current_exception();
    }
  }
  own_reg_.reset();
  layout_.reset();  // releases the LOCK (or removes the registration)
  if (error) std::rethrow_exception(error);
}

StoreStats RedoStore::stats() {
  if (layout_ && layout_->live_reader() && !closed_) {
    // A reader process: the journal as it is now.
    refresh_live();
    StoreStats s;
    MutexLock l(live_mu_);
    s.pending_transactions = live_known_.size();
    for (const auto& kv : live_known_) s.pending_bytes += kv.second.info().bytes;
    s.last_txid = snapshots_.last_committed();
    s.flusher_state = "stopped";
    add_history_stats(&s);
    return s;
  }
  FlusherStats f = flusher_->stats();
  StoreStats s;
  s.pending_transactions = f.pending_transactions;
  s.pending_bytes = f.pending_bytes;
  s.flushed_transactions = f.flushed_transactions;
  s.flushed_bytes = f.flushed_bytes;
  s.flush_batches = f.batches;
  s.committed_transactions = committed_;
  s.last_txid = snapshots_.last_committed();
  s.flusher_state = read_only() ? std::string("stopped") : f.state;
  s.waiting_for = f.waiting_for;
  if (closed_ && f.state.compare(0, 6, "failed") != 0) s.flusher_state = "stopped";
  add_history_stats(&s);
  return s;
}

std::string RedoStore::stage() {
  check_open();
  if (read_only()) throw StateError(home_, "stage: the store is open read-only");
  // A name of its own (a random id: several writer processes), created
  // empty; no sync: before a transaction takes it over it is garbage
  // whatever happens to it, and the taker's commit syncs it.
  std::string dir =
      path_join(layout_->journal_dir(), journal::tx_dir_name(layout_->temp_id(), journal::TxState::Temp));
  env_->create_dir(dir);
  return journal::stage_token(dir);
}

std::vector<TransactionInfo> RedoStore::pending() {
  if (layout_ && layout_->live_reader() && !closed_) {
    refresh_live();
    std::vector<TransactionInfo> out;
    MutexLock l(live_mu_);
    for (const auto& kv : live_known_) out.push_back(kv.second.info());
    return out;
  }
  return flusher_->pending();
}

}  // namespace h5tx
