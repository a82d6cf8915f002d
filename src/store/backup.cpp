// Full and incremental backups, restore, and the slots' API
// (include/h5tx/backup.hpp; formats/tx-stream.md; docs/user-guide.md
// "Backup, restore and replication").
//
// A full backup is a reader process of the source (design.md, "Reader
// processes"): it registers a snapshot in procs/, which keeps the flusher
// from applying anything newer, lists the journal, copies the committed
// transactions it lists, then each data file under the data gate (the
// flusher cannot change a file while it is copied), and lets the copy's
// recovery replay the transactions over the data files, which makes it
// exact at the snapshot (replay is idempotent).
#include "h5tx/backup.hpp"

#include <algorithm>
#include <chrono>

#include "flush/procs.hpp"
#include "flush/retention.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "journal/tx_stream.hpp"
#include "store/backup_internal.hpp"
#include "store/byte_streams.hpp"
#include "store/importer.hpp"
#include "store/layout.hpp"
#include "store/retained.hpp"
#include "undo/pending_journal.hpp"
#include "util/names.hpp"

namespace h5tx {

namespace {

// How long the copy of one data file waits for the flusher's application
// of a batch to it (at least; Options::lock_timeout if longer).
constexpr std::chrono::milliseconds kGateWait{60000};
constexpr size_t kCopyPiece = size_t(1) << 20;

uint64_t newest_listed(const journal::JournalListing& l) {
  uint64_t n = 0;
  for (const auto* v : {&l.done, &l.flushed})
    if (!v->empty()) n = std::max(n, v->back());
  return n;
}

// Copies a regular file, then fsyncs the copy. Returns its size.
uint64_t copy_file(Env& env, const std::string& from, const std::string& to) {
  auto in = env.open(from, OpenMode::ReadOnly);
  auto out = env.open(to, OpenMode::CreateTrunc);
  std::string buf(kCopyPiece, '\0');
  uint64_t off = 0;
  for (;;) {
    size_t got = in->read(off, &buf[0], buf.size());
    if (got == 0) break;
    out->write(off, buf.data(), got);
    off += got;
  }
  out->sync();
  return off;
}

// A committed transaction (its MANIFEST with every chunk inline) as
// DIR/journal/working_<txid>_done, durably.
void write_done_dir(Env& env, const std::string& jdir, uint64_t txid, const std::string& manifest_bytes) {
  const std::string dir = path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Done));
  env.create_dir(dir);
  auto f = env.open(path_join(dir, journal::kManifestName), OpenMode::CreateNew);
  f->write(0, manifest_bytes.data(), manifest_bytes.size());
  f->sync();
  env.sync_dir(dir);
}

// The data file `name` of the source as of a consistent point: copied under
// the data gate; if a dead flusher's batch left a pending undo journal for
// it, its before-images are written into the copy (the bytes from before
// that batch, whose transactions the backup replays).
uint64_t copy_data_file(Env& env, const std::string& home, const std::string& name, const std::string& to) {
  const std::string from = path_join(path_join(home, "data"), name);
  uint64_t bytes = copy_file(env, from, to);
  const std::string jdir = path_join(home, "journal");
  for (uint64_t id : journal::list_journal(env, jdir).undo) {
    const std::string j = path_join(path_join(jdir, journal::undo_dir_name(id)), name + ".journal");
    if (!env.exists(j)) continue;
    auto pending = undo::PendingJournal::load(env, j);
    if (!pending || pending->nothing_to_undo()) continue;
    {
      auto src = env.open(from, OpenMode::ReadOnly);
      pending->check_owner(*src);
    }
    auto out = env.open(to, OpenMode::ReadWrite);
    pending->apply(*out);
  }
  return bytes;
}

void check_slot_name(const std::string& name) {
  std::string problem = retention::slot_name_problem(name);
  if (!problem.empty()) throw InvalidArgumentError(name, "invalid slot name: " + problem);
}

}  // namespace

Env* backup_env(const Options& o) {
  return o.env ? o.env : Env::posix();
}

std::string check_source(Env& env, const std::string& home_arg) {
  const std::string home = env.resolve_symlinks(home_arg);
  const std::string fmt_path = path_join(home, Layout::kFormatFile);
  if (!env.is_directory(home)) throw NotFoundError(home_arg, "no such store directory");
  if (!env.exists(fmt_path)) throw NotFoundError(fmt_path, "not an h5tx store (h5tx.store is missing)");
  StoreFormat f = StoreFormat::decode(env.read_all(fmt_path, 64 << 10), fmt_path);
  if (f.mode != Mode::Redo)
    throw UnsupportedError(home,
                           "backup and replication work on redo-mode stores only (this one is in undo mode)");
  if (f.version < 2)
    throw UnsupportedError(home,
                           "a store of format version 1 has no procs/: open it read-write once with this "
                           "h5tx to upgrade it, then back it up");
  return home;
}

void prepare_dest(Env& env, const std::string& dest) {
  if (env.exists(dest)) {
    if (!env.is_directory(dest) || !env.list_dir(dest).empty())
      throw AlreadyExistsError(dest, "destination exists and is not an empty directory");
  } else {
    env.create_dir(dest);
    env.sync_dir(path_dirname(dest).empty() ? "." : path_dirname(dest));
  }
  for (const char* d : {"data", "journal", procs::kDirName}) env.create_dir(path_join(dest, d));
  env.sync_dir(dest);
}

BackupResult backup_to_dir(const std::string& home_arg, const std::string& dest_arg,
                           const BackupOptions& options, bool replica) {
  Env& env = *backup_env(options.store);
  const std::string home = check_source(env, home_arg);
  if (!options.no_slot) check_slot_name(options.slot);
  prepare_dest(env, dest_arg);
  const std::string dest = env.resolve_symlinks(dest_arg);
  const std::string jdir = path_join(home, "journal");
  const std::string djdir = path_join(dest, "journal");
  BackupResult r;

  // 1. The snapshot: registered at the newest txid listed before the
  // listing it copies (design.md, "Reader processes", point 2).
  std::unique_ptr<procs::Registration> reg =
      procs::Registration::create(&env, path_join(home, procs::kDirName));
  const uint64_t pin = newest_listed(journal::list_journal(env, jdir));
  reg->set(pin);
  const journal::JournalListing l = journal::list_journal(env, jdir);
  const journal::FlushedPlan plan = journal::plan_flushed(l);
  uint64_t snapshot = std::max(pin, newest_listed(l));
  {
    std::vector<uint64_t> archived = retention::list_archive(env, home);
    if (!archived.empty()) snapshot = std::max(snapshot, archived.back());
    uint64_t p;
    if (read_position(env, home, &p)) snapshot = std::max(snapshot, p);  // a replica, a restored store
    // A slot's txid was committed (and its transactions are flushed or listed).
    for (const auto& kv : retention::read_slots(env, home)) snapshot = std::max(snapshot, kv.second.txid);
  }

  // 2. The committed transactions not yet (or not surely) in the data files.
  std::vector<std::pair<uint64_t, std::string>> committed;
  for (uint64_t t : l.done)
    committed.push_back({t, path_join(jdir, journal::tx_dir_name(t, journal::TxState::Done))});
  for (uint64_t t : plan.reapply)
    committed.push_back({t, path_join(jdir, journal::tx_dir_name(t, journal::TxState::Flushed))});
  std::sort(committed.begin(), committed.end());
  uint64_t vanished = 0;  // the newest one flushed and recycled while copied
  std::vector<uint64_t> copied;
  for (const auto& [txid, dir] : committed) {
    std::string bytes;
    try {
      bytes = journal::inline_transaction(env, dir, txid);
    } catch (const Error&) {
      if (env.is_directory(dir)) throw;
      vanished = txid;  // flushed: it and everything older are in the data files copied below
      continue;
    }
    write_done_dir(env, djdir, txid, bytes);
    copied.push_back(txid);
    r.bytes += bytes.size();
  }
  // Older than a flushed one: in the data files; replaying them without the
  // vanished one would put older chunk copies over its.
  for (uint64_t t : copied) {
    if (t > vanished) {
      r.transactions++;
      continue;
    }
    env.remove_flat_dir(path_join(djdir, journal::tx_dir_name(t, journal::TxState::Done)));
  }
  env.sync_dir(djdir);

  // 3. The data files, each under the data gate.
  procs::Gate gate(&env, path_join(home, procs::kDirName));
  const auto wait = std::max(options.store.lock_timeout, kGateWait);
  std::vector<std::string> names;
  {
    procs::Gate::ReadHold hold = gate.read(wait);
    names = env.list_dir(path_join(home, "data"));
  }
  for (const std::string& name : names) {
    if (!names::file_name_problem(name).empty()) continue;  // the store's scratch files
    if (env.is_directory(path_join(path_join(home, "data"), name))) continue;
    procs::Gate::ReadHold hold = gate.read(wait);
    r.bytes += copy_data_file(env, home, name, path_join(path_join(dest, "data"), name));
  }
  env.sync_dir(path_join(dest, "data"));

  // 4. The copy's store files; the slot while the snapshot still holds the
  // flusher back, so no transaction newer than it is recycled unseen.
  env.write_file_atomic(path_join(dest, Layout::kFormatFile),
                        env.read_all(path_join(home, Layout::kFormatFile), 64 << 10));
  env.write_file_atomic(path_join(dest, Layout::kTxidFile), journal::txid_hex(snapshot + 1) + "\n");
  if (!options.no_slot) retention::write_slot(env, home, options.slot, snapshot);
  reg.reset();

  // 5. Recovery in the copy replays the copied transactions; then it is
  // marked complete (POSITION last).
  {
    Importer imp(dest, options.store);
    imp.close();
  }
  if (replica) mark_replica(env, dest);
  write_position(env, dest, snapshot);
  r.txid = snapshot;
  return r;
}

BackupResult backup(const std::string& home, const std::string& dest, const BackupOptions& options) {
  return backup_to_dir(home, dest, options, false);
}

BackupResult backup_incremental(const std::string& home_arg, const std::string& stream_file,
                                const BackupOptions& options) {
  Env& env = *backup_env(options.store);
  const std::string home = check_source(env, home_arg);
  check_slot_name(options.slot);
  auto slots = retention::read_slots(env, home);
  auto it = slots.find(options.slot);
  const std::string slot_path = path_join(path_join(home, retention::kSlotsDir), options.slot);
  if (it == slots.end())
    throw NotFoundError(slot_path, "no retention slot '" + options.slot +
                                       "': a full backup (h5tx backup HOME DEST) makes one");
  if (it->second.damaged) throw CorruptionError(slot_path, "retention slot is damaged (not a slot line)");
  BackupResult r;
  r.from = it->second.txid;
  std::vector<uint64_t> txids = retained_after(env, home, r.from);
  r.txid = txids.empty() ? r.from : txids.back();
  {
    FileSink sink(&env, stream_file);
    journal::StreamWriter w(&sink, r.from, r.txid);
    for (uint64_t t : txids) w.add(t, read_retained(env, home, t));
    w.finish(r.txid);
    r.transactions = w.count();
    r.bytes = w.bytes();
  }
  std::string parent = path_dirname(stream_file);
  env.sync_dir(parent.empty() ? "." : parent);
  retention::write_slot(env, home, options.slot, r.txid);
  retention::prune_archive(env, home);
  return r;
}

BackupResult restore(const std::string& dest_arg, const std::string& full_arg,
                     const std::vector<std::string>& incrementals, const RestoreOptions& options) {
  Env& env = *backup_env(options.store);
  const std::string full = check_source(env, full_arg);
  uint64_t base;
  if (!read_position(env, full, &base))
    throw NotFoundError(path_join(full, Layout::kPositionFile),
                        "not a complete full backup (no POSITION: unfinished, or written to since)");
  if (options.to && options.to < base)
    throw InvalidArgumentError(full, "--to " + journal::txid_hex(options.to) +
                                         " is older than the full backup (" + journal::txid_hex(base) + ")");
  // Every stream read and checked whole, and the chain checked, before
  // anything is made.
  uint64_t reach = base;
  for (const std::string& s : incrementals) {
    FileSource src(&env, s);
    journal::StreamReader reader(&src, s);
    if (reader.from() > reach)
      throw InvalidArgumentError(s, "stream starts after transaction " + journal::txid_hex(reader.from()) +
                                        " but the backups before it reach only " + journal::txid_hex(reach) +
                                        ": an incremental backup is missing");
    journal::StreamTx tx;
    while (reader.next(&tx)) {
    }
    reach = std::max(reach, reader.end_txid());
  }
  prepare_dest(env, dest_arg);
  const std::string dest = env.resolve_symlinks(dest_arg);
  BackupResult r;
  r.from = base;
  for (const char* f : {Layout::kFormatFile, Layout::kTxidFile})
    env.write_file_atomic(path_join(dest, f), env.read_all(path_join(full, f), 64 << 10));
  for (const std::string& name : env.list_dir(path_join(full, "data"))) {
    if (!names::file_name_problem(name).empty()) continue;
    r.bytes +=
        copy_file(env, path_join(path_join(full, "data"), name), path_join(path_join(dest, "data"), name));
  }
  env.sync_dir(path_join(dest, "data"));
  const journal::JournalListing l = journal::list_journal(env, path_join(full, "journal"));
  for (uint64_t t : l.done)
    write_done_dir(
        env, path_join(dest, "journal"), t,
        journal::inline_transaction(
            env, path_join(path_join(full, "journal"), journal::tx_dir_name(t, journal::TxState::Done)), t));
  env.sync_dir(path_join(dest, "journal"));
  write_position(env, dest, base);
  Importer imp(dest, options.store);
  for (const std::string& s : incrementals) {
    FileSource src(&env, s);
    journal::StreamReader reader(&src, s);
    journal::StreamTx tx;
    bool done = false;
    while (reader.next(&tx)) {
      if (options.to && tx.txid > options.to) {
        done = true;
        break;
      }
      if (imp.apply(tx)) {
        r.transactions++;
        r.bytes += tx.manifest_bytes.size();
      }
    }
    if (done) break;
  }
  r.txid = imp.position();
  imp.close();
  return r;
}

uint64_t position(const std::string& store, const Options& options) {
  Env& env = *backup_env(options);
  uint64_t p;
  if (!read_position(env, env.resolve_symlinks(store), &p))
    throw NotFoundError(
        path_join(store, Layout::kPositionFile),
        "the store has no position (not a backup, restored store or replica, or written to since)");
  return p;
}

std::vector<SlotInfo> list_slots(const std::string& home_arg, const Options& options) {
  Env& env = *backup_env(options);
  const std::string home = env.resolve_symlinks(home_arg);
  std::vector<SlotInfo> out;
  for (const auto& [name, s] : retention::read_slots(env, home)) {
    SlotInfo i;
    i.name = name;
    i.txid = s.txid;
    i.damaged = s.damaged;
    i.pinned_bytes = retention::archived_bytes_after(env, home, s.txid);
    out.push_back(i);
  }
  return out;
}

void drop_slot(const std::string& home_arg, const std::string& name, const Options& options) {
  Env& env = *backup_env(options);
  const std::string home = env.resolve_symlinks(home_arg);
  retention::drop_slot(env, home, name);
  retention::prune_archive(env, home);
}

}  // namespace h5tx
