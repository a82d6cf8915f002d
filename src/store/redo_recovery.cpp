// Redo-mode recovery (store/redo_recovery.hpp).
#include "store/redo_recovery.hpp"

#include <algorithm>
#include <optional>

#include "h5tx/error.hpp"
#include "flush/flushed_mark.hpp"
#include "flush/retention.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "store/replay_check.hpp"
#include "undo/driver.hpp"
#include "undo/pending_journal.hpp"
#include "util/names.hpp"

namespace h5tx {

using journal::TxState;

namespace {

// An entry of journal/ that h5tx did not make (an unknown name, or one of
// our names that is not a directory) is not something to guess about: the
// open fails naming it, and nothing is changed.
// live: a writer process renames and removes its directories while we list
// them; an entry of ours that is gone, or a directory by now, was one of
// those.
void refuse_strays(Env& env, const journal::JournalListing& l, const std::string& jdir, bool live = false) {
  std::vector<std::string> other;
  for (const std::string& name : l.other) {
    std::string p = path_join(jdir, name);
    uint64_t txid;
    journal::TxState st;
    bool ours = journal::parse_tx_dir_name(name, &txid, &st) || journal::parse_undo_dir_name(name, &txid);
    if (live && ours && (!env.exists(p) || env.is_directory(p))) continue;
    other.push_back(name);
  }
  if (other.empty()) return;
  std::string p = path_join(jdir, other.front());
  bool ours_by_name = env.exists(p) && !env.is_directory(p);
  throw CorruptionError(p, ours_by_name
                               ? "journal entry is not a directory (a symlink, FIFO or file where a "
                                 "transaction directory belongs); move it away to open the store"
                               : "unexpected entry in the journal directory (not a transaction or undo "
                                 "directory of this store); move it away to open the store");
}

// The committed transactions recovery must (re)apply, in txid order, each
// verified (MANIFEST and every chunk copy): the _done ones, and the _flushed
// ones newer than the oldest _done (journal::plan_flushed). Reads only.
// live: a writer process may flush (and remove) a transaction while we
// read it; one whose directory is gone by the time it fails to read was
// applied to the data files, and is skipped.
std::vector<CommittedTx> committed_on_disk(Env& env, const std::string& jdir,
                                           const journal::JournalListing& l, const journal::FlushedPlan& plan,
                                           bool live = false) {
  std::vector<CommittedTx> out;
  for (uint64_t txid : l.done) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, TxState::Done));
    try {
      out.push_back({journal::verify_transaction(env, dir, txid), dir, false});
    } catch (const Error& e) {
      if (live && !env.is_directory(dir)) continue;
      if (e.code() != ErrorCode::Corruption) throw;
      // Restore it from a copy, or move it aside (never deleted).
      throw CorruptionError(e.path(), e.detail() + " (committed transaction " + journal::txid_hex(txid) +
                                          "; restore it, or h5tx recover HOME --quarantine " +
                                          journal::txid_hex(txid) + " moves it aside)");
    }
  }
  for (uint64_t txid : plan.reapply) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, TxState::Flushed));
    try {
      out.push_back({journal::verify_transaction(env, dir, txid), dir, true});
    } catch (const Error& e) {
      // live: a writer renames a directory _flushed only after applying
      // it, then recycles or removes it (its files go first): one that no
      // longer reads is in the data files.
      if (live) continue;
      if (e.code() != ErrorCode::Corruption) throw;
      throw CorruptionError(
          dir, "applied transaction newer than the pending committed transaction " +
                   journal::txid_hex(l.done.front()) +
                   " cannot be read, so replaying that one could overwrite its data: " + e.detail());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CommittedTx& a, const CommittedTx& b) { return a.manifest.txid < b.manifest.txid; });
  return out;
}

// store/replay_check.hpp over `committed`, in order (CorruptionError).
void check_replay(DataFiles& files, const std::vector<CommittedTx>& committed) {
  if (committed.empty()) return;
  ReplayCheck check(&files);
  try {
    for (const auto& c : committed) check.check(c.manifest, c.dir);
  } catch (...) {
    MutexLock lock(files.mutex());
    files.close_all();
    throw;
  }
  MutexLock lock(files.mutex());
  files.close_all();
}

// Reverts the undo journals of interrupted flush batches (the data files
// as they were before each batch). Every journal is checked first (a known
// entry, not garbage, written for the data file it is named after), so a
// bad one fails before any file is reverted.
void revert_undo_journals(Layout& layout, DataFiles& files, const journal::JournalListing& l) {
  Env& env = *layout.env();
  const std::string& jdir = layout.journal_dir();
  std::vector<std::pair<std::string, std::string>> reverts;  // data file, journal
  for (uint64_t id : l.undo) {
    std::string udir = path_join(jdir, journal::undo_dir_name(id));
    for (const auto& name : env.list_dir(udir)) {
      const std::string suffix = ".journal";
      std::string file =
          name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0
              ? name.substr(0, name.size() - suffix.size())
              : "";
      std::string journal = path_join(udir, name);
      if (file.empty() || !names::file_name_problem(file).empty())
        throw CorruptionError(journal, "unexpected entry in a flush batch's undo directory");
      std::string data = layout.data_path(file);
      if (!env.exists(data)) continue;                          // nothing was written that needs reverting
      auto pending = undo::PendingJournal::load(env, journal);  // CorruptionError if garbage
      if (pending && !pending->nothing_to_undo()) pending->check_owner(*env.open(data, OpenMode::ReadOnly));
      reverts.emplace_back(data, journal);
    }
  }
  if (!reverts.empty()) {
    // Reader processes stay out of the data files meanwhile (procs.hpp).
    std::unique_ptr<procs::Gate::WriteHold> gate;
    if (files.gate()) gate = files.gate()->write(files.gate_timeout());
    for (const auto& r : reverts) undo::recover(env, r.first, r.second);
    if (gate) gate->bump();
  }
}

// Recovery of a read-write open. Verification comes first and only reads,
// so a corrupt committed transaction fails the open with nothing changed.
// Each later step is idempotent: a crash during recovery is repaired by the
// next recovery. No committed transaction is ever deleted here: a _done
// directory goes only after its own apply is durable (the flusher).
}  // namespace

std::vector<CommittedTx> recover_redo_journal(Layout& layout, DataFiles& files) {
  Env& env = *layout.env();
  const std::string& jdir = layout.journal_dir();
  journal::JournalListing l = journal::list_journal(env, jdir);
  refuse_strays(env, l, jdir);
  journal::FlushedPlan plan = journal::plan_flushed(l);
  std::vector<CommittedTx> committed = committed_on_disk(env, jdir, l, plan);
  uint64_t max_txid = 0;
  // Not _temp names: with several writer processes they are random ids
  // (TXID is above every txid handed out anyway).
  for (const auto* v : {&l.done, &l.flushed, &l.undo})
    if (!v->empty()) max_txid = std::max(max_txid, v->back());
  if (max_txid) layout.observe_txid(max_txid);

  // 1. Revert interrupted flush batches.
  revert_undo_journals(layout, files, l);
  // Every operation must apply to the catalog as it now is (after the revert).
  check_replay(files, committed);
  // 2. Applied transactions newer than a pending one go back to _done, so
  // they are replayed after it (durably, before anything is removed).
  if (!plan.reapply.empty()) {
    for (auto& c : committed) {
      if (!c.flushed) continue;
      std::string done = path_join(jdir, journal::tx_dir_name(c.manifest.txid, TxState::Done));
      env.rename(c.dir, done);
      c.dir = done;
    }
    env.sync_dir(jdir);
  }
  // 3. Garbage: reverted undo journals, unfinished commits, applied transactions.
  bool removed = false;
  for (uint64_t id : l.undo) {
    env.remove_flat_dir(path_join(jdir, journal::undo_dir_name(id)));
    removed = true;
  }
  for (uint64_t id : l.temp) {
    env.remove_flat_dir(path_join(jdir, journal::tx_dir_name(id, TxState::Temp)));
    removed = true;
  }
  // Applied ones that no committed one follows: the newest is recorded first.
  if (!plan.garbage.empty() && l.done.empty()) flushed_mark::advance(env, layout.home(), plan.garbage.back());
  for (uint64_t id : plan.garbage) {
    // Applied; kept in HOME/archive/ if a retention slot needs it.
    const std::string dir = path_join(jdir, journal::tx_dir_name(id, TxState::Flushed));
    if (!retention::archive_if_pinned(env, layout.home(), dir, id)) env.remove_flat_dir(dir);
    removed = true;
  }
  if (removed) env.sync_dir(jdir);
  retention::prune_archive(env, layout.home());
  files.remove_temporaries();
  return committed;
}

// A read-only open writes nothing: _temp and _flushed directories are
// ignored (but for _flushed ones newer than a _done one, served from where
// they are, as recovery would replay them), pending undo journals are read through by DataFiles (the data
// files are seen as they were before the interrupted batch), and every
// _done transaction is verified and served from the overlay.
std::vector<CommittedTx> scan_live_redo_journal(Layout& layout, DataFiles& files, uint64_t* newest) {
  Env& env = *layout.env();
  const std::string& jdir = layout.journal_dir();
  journal::JournalListing l = journal::list_journal(env, jdir);
  refuse_strays(env, l, jdir, true);
  *newest = 0;
  for (const auto* v : {&l.done, &l.flushed})
    if (!v->empty()) *newest = std::max(*newest, v->back());
  std::vector<CommittedTx> committed = committed_on_disk(env, jdir, l, journal::plan_flushed(l), true);
  std::optional<procs::Gate::ReadHold> hold;
  if (files.gate()) hold = files.gate()->read(files.gate_read_timeout());
  check_replay(files, committed);
  return committed;
}

void recover_dead_flusher(Layout& layout, DataFiles& files) {
  Env& env = *layout.env();
  const std::string& jdir = layout.journal_dir();
  journal::JournalListing l = journal::list_journal(env, jdir);
  revert_undo_journals(layout, files, l);
  // Its batch's _done directories are applied again (idempotent); the
  // _flushed ones older than every _done one are applied: garbage.
  bool removed = false;
  for (uint64_t id : l.undo) {
    env.remove_flat_dir(path_join(jdir, journal::undo_dir_name(id)));
    removed = true;
  }
  const journal::FlushedPlan plan = journal::plan_flushed(l);
  if (!plan.garbage.empty() && l.done.empty()) flushed_mark::advance(env, layout.home(), plan.garbage.back());
  for (uint64_t id : plan.garbage) {
    // Applied; kept in HOME/archive/ if a retention slot needs it (the dead
    // holder may have died between its batch's rename to _flushed and the
    // move to archive/: removed, an incremental backup or a replica would
    // silently lack it).
    const std::string dir = path_join(jdir, journal::tx_dir_name(id, TxState::Flushed));
    try {
      if (!retention::archive_if_pinned(env, layout.home(), dir, id)) env.remove_flat_dir(dir);
    } catch (const NotFoundError&) {
      // Gone meanwhile: a spare that a failed holder, still running, took
      // for a transaction of its own before it let go of its spares.
      if (env.is_directory(dir)) throw;
    }
    removed = true;
  }
  if (removed) env.sync_dir(jdir);
  files.remove_temporaries();
}

std::vector<CommittedTx> scan_redo_journal(Layout& layout, DataFiles& files) {
  Env& env = *layout.env();
  const std::string& jdir = layout.journal_dir();
  journal::JournalListing l = journal::list_journal(env, jdir);
  refuse_strays(env, l, jdir);
  std::vector<CommittedTx> committed = committed_on_disk(env, jdir, l, journal::plan_flushed(l));
  check_replay(files, committed);
  return committed;
}

}  // namespace h5tx
