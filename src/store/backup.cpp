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
#include <cstring>
#include <functional>

#include "flush/flushed_mark.hpp"
#include "flush/procs.hpp"
#include "flush/retention.hpp"
#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "journal/tx_stream.hpp"
#include "store/backup_internal.hpp"
#include "store/byte_streams.hpp"
#include "store/data_file_image.hpp"
#include "store/importer.hpp"
#include "store/layout.hpp"
#include "store/retained.hpp"
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

// The data file `name` of the source as of a consistent point (the caller
// holds the data gate), copied to `to` and synced.
uint64_t copy_data_file(Env& env, const std::string& home, const std::string& name, const std::string& to) {
  DataFileImage image(env, home, name);
  auto out = env.open(to, OpenMode::CreateTrunc);
  std::string buf(size_t(std::min<uint64_t>(image.size(), kCopyPiece)), '\0');
  for (uint64_t off = 0; off < image.size();) {
    const size_t n = size_t(std::min<uint64_t>(kCopyPiece, image.size() - off));
    image.read(off, &buf[0], n);
    out->write(off, buf.data(), n);
    off += n;
  }
  out->sync();
  return image.size();
}

// What a full backup takes of the source, in the order that makes it
// consistent (design.md, "Reader processes"): a snapshot registration that
// holds the flusher back, the committed transactions listed after it, then
// the data files, each under the data gate. Replaying the transactions
// newer than `replay_after` over the data files gives the source as of
// `txid` exactly (replay is idempotent).
class FullSnapshot {
 public:
  FullSnapshot(Env& env, const std::string& home)
      : env_(env), home_(home), jdir_(path_join(home, "journal")) {
    // Registered at the newest txid listed before the listing it copies.
    reg_ = procs::Registration::create(&env, path_join(home, procs::kDirName));
    const uint64_t pin = newest_listed(journal::list_journal(env, jdir_));
    reg_->set(pin);
    const journal::JournalListing l = journal::list_journal(env, jdir_);
    const journal::FlushedPlan plan = journal::plan_flushed(l);
    txid_ = std::max(pin, newest_listed(l));
    std::vector<uint64_t> archived = retention::list_archive(env, home);
    if (!archived.empty()) txid_ = std::max(txid_, archived.back());
    uint64_t p;
    if (read_position(env, home, &p)) txid_ = std::max(txid_, p);  // a replica, a restored store
    // The newest transaction retired from journal/ (an idle, flushed store).
    if (flushed_mark::read(env, home, &p)) txid_ = std::max(txid_, p);
    // A slot's txid was committed (and its transactions are flushed or listed).
    for (const auto& kv : retention::read_slots(env, home)) txid_ = std::max(txid_, kv.second.txid);
    for (uint64_t t : l.done)
      committed_.push_back({t, path_join(jdir_, journal::tx_dir_name(t, journal::TxState::Done))});
    for (uint64_t t : plan.reapply)
      committed_.push_back({t, path_join(jdir_, journal::tx_dir_name(t, journal::TxState::Flushed))});
    std::sort(committed_.begin(), committed_.end());
  }

  // The txid the backup holds the source as of.
  uint64_t txid() const { return txid_; }

  // Hands each committed transaction not yet (or not surely) in the data
  // files to `fn` (txid, its inline MANIFEST bytes), in txid order. One
  // flushed and recycled meanwhile is skipped: it and everything older are
  // in the data files, and replay_after() says so.
  void transactions(const std::function<void(uint64_t, const std::string&)>& fn) {
    for (const auto& [txid, dir] : committed_) {
      std::string bytes;
      try {
        bytes = journal::inline_transaction(env_, dir, txid);
      } catch (const Error&) {
        if (env_.is_directory(dir)) throw;
        replay_after_ = txid;
        continue;
      }
      fn(txid, bytes);
    }
  }
  // Older than a transaction flushed while copied: in the data files;
  // replaying them without it would put older chunk copies over its.
  uint64_t replay_after() const { return replay_after_; }

  // The data files' names, in order; `fn(name)` for each under the data gate.
  void data_files(std::chrono::milliseconds wait, const std::function<void(const std::string&)>& fn) {
    procs::Gate gate(&env_, path_join(home_, procs::kDirName));
    std::vector<std::string> names;
    {
      procs::Gate::ReadHold hold = gate.read(wait);
      names = env_.list_dir(path_join(home_, "data"));
    }
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      if (!names::file_name_problem(name).empty()) continue;  // the store's scratch files
      if (env_.is_directory(path_join(path_join(home_, "data"), name))) continue;
      procs::Gate::ReadHold hold = gate.read(wait);
      fn(name);
    }
  }

  // Lets the flusher go on (after the slot is written).
  void release() { reg_.reset(); }

 private:
  Env& env_;
  std::string home_, jdir_;
  std::unique_ptr<procs::Registration> reg_;
  uint64_t txid_ = 0;
  uint64_t replay_after_ = 0;
  std::vector<std::pair<uint64_t, std::string>> committed_;
};

void check_slot_name(const std::string& name) {
  std::string problem = retention::slot_name_problem(name);
  if (!problem.empty()) throw InvalidArgumentError(name, "invalid slot name: " + problem);
}

// Reads the full stream file whole, checking every record, piece and the
// trailer. Returns its txid; *replay_after: the transactions its data files
// already hold.
uint64_t check_full_stream(Env& env, const std::string& path, uint64_t* replay_after) {
  FileSource src(&env, path);
  journal::StreamReader reader(&src, path);
  if (!reader.full())
    throw InvalidArgumentError(path, "not a full backup (a stream of transactions " +
                                         journal::txid_hex(reader.from()) +
                                         "..: give the full backup first, then the incrementals)");
  journal::StreamTx tx;
  while (reader.next(&tx)) {
  }
  journal::StreamFile f;
  while (reader.next_file(&f)) {
  }
  *replay_after = reader.replay_after();
  return reader.end_txid();
}

// Writes what a checked full stream holds into the new store directory
// DEST (data/, journal/ made): its files, its transactions newer than
// `replay_after` as committed ones (recovery replays them), TXID. Every
// piece is checked again as it is read. Returns the bytes written.
uint64_t write_full_stream(Env& env, const std::string& path, uint64_t replay_after,
                           const std::string& dest) {
  FileSource src(&env, path);
  journal::StreamReader reader(&src, path);
  uint64_t bytes = 0;
  journal::StreamTx tx;
  while (reader.next(&tx)) {
    if (tx.txid <= replay_after) continue;
    write_done_dir(env, path_join(dest, "journal"), tx.txid, tx.manifest_bytes);
    bytes += tx.manifest_bytes.size();
  }
  env.sync_dir(path_join(dest, "journal"));
  journal::StreamFile f;
  std::string piece;
  while (reader.next_file(&f)) {
    auto out = env.open(path_join(dest, f.name), OpenMode::CreateNew);
    uint64_t off = 0;
    while (reader.next_piece(&piece)) {
      out->write(off, piece.data(), piece.size());
      off += piece.size();
    }
    out->sync();
    bytes += off;
  }
  env.sync_dir(path_join(dest, "data"));
  env.write_file_atomic(path_join(dest, Layout::kTxidFile), journal::txid_hex(reader.end_txid() + 1) + "\n");
  env.sync_dir(dest);
  return bytes;
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
  const std::string djdir = path_join(dest, "journal");
  BackupResult r;

  FullSnapshot snap(env, home);
  const uint64_t snapshot = snap.txid();
  std::vector<std::pair<uint64_t, uint64_t>> copied;  // txid, bytes
  snap.transactions([&](uint64_t txid, const std::string& bytes) {
    write_done_dir(env, djdir, txid, bytes);
    copied.push_back({txid, bytes.size()});
  });
  for (const auto& [t, n] : copied) {
    if (t > snap.replay_after()) {
      r.transactions++;
      r.bytes += n;
      continue;
    }
    env.remove_flat_dir(path_join(djdir, journal::tx_dir_name(t, journal::TxState::Done)));
  }
  env.sync_dir(djdir);
  snap.data_files(std::max(options.store.lock_timeout, kGateWait), [&](const std::string& name) {
    r.bytes += copy_data_file(env, home, name, path_join(path_join(dest, "data"), name));
  });
  env.sync_dir(path_join(dest, "data"));

  // The copy's store files; the slot while the snapshot still holds the
  // flusher back, so no transaction newer than it is recycled unseen.
  env.write_file_atomic(path_join(dest, Layout::kFormatFile),
                        env.read_all(path_join(home, Layout::kFormatFile), 64 << 10));
  env.write_file_atomic(path_join(dest, Layout::kTxidFile), journal::txid_hex(snapshot + 1) + "\n");
  if (!options.no_slot) retention::write_slot(env, home, options.slot, snapshot);
  snap.release();

  // Recovery in the copy replays the copied transactions; then it is
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

BackupResult backup_to_sink(const std::string& home_arg, journal::ByteSink* sink,
                            const std::function<void()>& make_durable, const BackupOptions& options) {
  Env& env = *backup_env(options.store);
  const std::string home = check_source(env, home_arg);
  if (!options.no_slot) check_slot_name(options.slot);
  BackupResult r;
  FullSnapshot snap(env, home);
  journal::StreamWriter w(sink, 0, snap.txid(), /*full=*/true);
  std::vector<std::pair<uint64_t, uint64_t>> added;  // txid, bytes
  snap.transactions([&](uint64_t txid, const std::string& bytes) {
    w.add(txid, bytes);
    added.push_back({txid, bytes.size()});
  });
  for (const auto& [t, n] : added)
    if (t > snap.replay_after()) r.transactions++;
  const std::string format = env.read_all(path_join(home, Layout::kFormatFile), 64 << 10);
  w.add_file(Layout::kFormatFile, format.size(),
             [&](uint64_t off, char* buf, size_t n) { std::memcpy(buf, format.data() + off, n); });
  snap.data_files(std::max(options.store.lock_timeout, kGateWait), [&](const std::string& name) {
    DataFileImage image(env, home, name);
    w.add_file("data/" + name, image.size(),
               [&](uint64_t off, char* buf, size_t n) { image.read(off, buf, n); });
  });
  w.finish_base(snap.replay_after());
  w.finish(snap.txid());
  make_durable();
  if (!options.no_slot) retention::write_slot(env, home, options.slot, snap.txid());
  snap.release();
  r.txid = snap.txid();
  r.bytes = w.bytes();
  return r;
}

BackupResult backup_stream(const std::string& home, const std::string& stream_file,
                           const BackupOptions& options) {
  Env& env = *backup_env(options.store);
  check_source(env, home);  // before the stream file is made
  auto sink = std::make_unique<FileSink>(&env, stream_file);
  try {
    return backup_to_sink(
        home, sink.get(),
        [&] {
          std::string parent = path_dirname(stream_file);
          env.sync_dir(parent.empty() ? "." : parent);
        },
        options);
  } catch (...) {
    // An unfinished stream (no trailer) would be refused anyway; it goes,
    // so that the same command can be run again.
    sink.reset();
    try {
      env.remove_file(stream_file);
    } catch (const Error&) {
    }
    throw;
  }
}

BackupResult backup_stream_to_fd(const std::string& home, int fd, const BackupOptions& options) {
  FdSink sink(fd, "-");
  return backup_to_sink(
      home, &sink, [] {}, options);
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
  // FULL is a full backup directory or a full stream file.
  const bool from_stream = env.exists(full_arg) && !env.is_directory(full_arg);
  std::string full = full_arg;
  uint64_t base, replay_after = 0;
  if (from_stream) {
    base = check_full_stream(env, full, &replay_after);
  } else {
    full = check_source(env, full_arg);
    if (!read_position(env, full, &base))
      throw NotFoundError(path_join(full, Layout::kPositionFile),
                          "not a complete full backup (no POSITION: unfinished, or written to since)");
  }
  if (options.to && options.to < base)
    throw InvalidArgumentError(full, "--to " + journal::txid_hex(options.to) +
                                         " is older than the full backup (" + journal::txid_hex(base) + ")");
  // Every stream read and checked whole, and the chain checked, before
  // anything is made.
  uint64_t reach = base;
  for (const std::string& s : incrementals) {
    FileSource src(&env, s);
    journal::StreamReader reader(&src, s);
    if (reader.full())
      throw InvalidArgumentError(s, "a full backup stream cannot follow the full backup (give it first)");
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
  if (from_stream) {
    r.bytes += write_full_stream(env, full, replay_after, dest);
  } else {
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
              env, path_join(path_join(full, "journal"), journal::tx_dir_name(t, journal::TxState::Done)),
              t));
    env.sync_dir(path_join(dest, "journal"));
  }
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
