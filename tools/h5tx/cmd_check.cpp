// Inspection of the journal and the data files: `check` (verify every
// checksum in the store without modifying it; --repair discards only what
// is provably uncommitted) and `dump` (one transaction's MANIFEST).
//
// These two commands read the redo journal and the undo journals directly,
// so they include the internal journal/ and undo/ headers (the MANIFEST
// codec and the undo journal parser): the public API has no view of
// on-disk journal files. Everything else in the tool uses the public API.
#include <hdf5.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <sstream>

#include "commands.hpp"
#include "h5tx/env.hpp"
#include "h5tx/sec2j.h"
#include "h5tx/store.hpp"
#include "hdf5/handle.hpp"
#include "json.hpp"
#include "journal/manifest.hpp"
#include "journal/tx_dir.hpp"
#include "journal/tx_reader.hpp"
#include "journal/undo_created.hpp"
#include "progress.hpp"
#include "undo/pending_journal.hpp"
#include "util/names.hpp"

namespace h5tx {
namespace cli {

namespace {

// True for a redo store of format 3 or later, whose writer processes hold
// the LOCK shared (formats/store-procs.md): a shared lock no longer keeps
// them out. (A damaged or unreadable file: false, the older rule.)
bool writers_share_lock(Env* env, const std::string& home) {
  std::string text;
  try {
    text = env->read_all(path_join(home, "h5tx.store"), 64 << 10);
  } catch (const Error&) {
    return false;
  }
  bool redo = false;
  long version = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::string t;
    for (char ch : line)
      if (ch != ' ' && ch != '\t' && ch != '\r') t += ch;
    if (t == "mode=redo") redo = true;
    if (t.compare(0, 8, "version=") == 0 && t.size() < 20 &&
        t.find_first_not_of("0123456789", 8) == std::string::npos && t.size() > 8)
      version = std::stol(t.substr(8));
  }
  return redo && version >= 3;
}

// Takes the store's LOCK (shared to read, exclusive to repair) without
// opening the store, so that no recovery runs and nothing is modified.
// Where writer processes share the LOCK, reading takes it exclusively too.
std::unique_ptr<FileLock> lock_store(Env* env, const std::string& home, bool exclusive,
                                     std::chrono::milliseconds timeout) {
  if (!env->exists(path_join(home, "h5tx.store")))
    throw NotFoundError(home, "not an h5tx store (no h5tx.store)");
  if (writers_share_lock(env, home)) exclusive = true;
  return env->lock_file(path_join(home, "LOCK"), exclusive ? LockKind::Exclusive : LockKind::Shared, timeout);
}

struct Checker {
  Env* env = Env::posix();
  std::string home;
  uint64_t problems = 0, notes = 0;
  bool json = false;  // --json: collected for the final object, not printed
  std::vector<std::string> problem_list, note_list;

  void problem(const std::string& what) {
    problems++;
    problem_list.push_back(what);
    if (json) return;
    std::printf("BAD   %s\n", what.c_str());
    std::fflush(stdout);
  }
  void note(const std::string& what) {
    notes++;
    note_list.push_back(what);
    if (!json) std::printf("note  %s\n", what.c_str());
  }
};

// --- HDF5 files --------------------------------------------------------------

struct DatasetInfo {
  std::string path;
  hsize_t storage = 0;
};

herr_t collect_dataset(hid_t, const char* name, const H5O_info_t* info, void* data) {
  if (info->type == H5O_TYPE_DATASET) {
    std::string p = std::string("/") + name;
    static_cast<std::vector<DatasetInfo>*>(data)->push_back({p, 0});
  }
  return 0;
}

struct OpenedFile {
  hdf5::Handle file;
  std::vector<DatasetInfo> datasets;
};

// Opens `path` read-only (through the undo driver when a pending undo
// journal must be read through) and lists its datasets. Problems are reported.
bool open_hdf5(Checker& c, const std::string& path, const std::string& undo_journal, OpenedFile* out) {
  try {
    hdf5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), "cannot create a property list", path);
    if (!undo_journal.empty())
      hdf5::check(H5Pset_fapl_sec2j_journal(fapl.get(), undo_journal.c_str()),
                  "cannot select the undo driver", path);
    out->file = hdf5::Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get()), "cannot open", path);
    hdf5::check(H5Ovisit(out->file.get(), H5_INDEX_NAME, H5_ITER_NATIVE, collect_dataset, &out->datasets),
                "cannot list the objects", path);
    for (DatasetInfo& d : out->datasets) {
      hdf5::Handle ds(H5Dopen2(out->file.get(), d.path.c_str(), H5P_DEFAULT), "cannot open dataset",
                      path + ":" + d.path);
      d.storage = H5Dget_storage_size(ds.get());
    }
    return true;
  } catch (const Error& e) {
    c.problem(error_line(e));
    return false;
  }
}

// Reads every allocated chunk of every dataset through HDF5's filter
// pipeline (Fletcher32 verified on read).
void check_hdf5(Checker& c, const std::string& path, OpenedFile& f, Progress& progress) {
  for (const DatasetInfo& info : f.datasets) {
    std::string where = path + ":" + info.path;
    try {
      hdf5::Handle ds(H5Dopen2(f.file.get(), info.path.c_str(), H5P_DEFAULT), "cannot open dataset", where);
      hdf5::Handle type(H5Dget_type(ds.get()), "cannot read the type", where);
      hdf5::Handle space(H5Dget_space(ds.get()), "cannot read the dataspace", where);
      hdf5::Handle dcpl(H5Dget_create_plist(ds.get()), "cannot read the creation properties", where);
      int rank = H5Sget_simple_extent_ndims(space.get());
      size_t es = H5Tget_size(type.get());
      std::vector<hsize_t> dims(size_t(std::max(rank, 0)));
      if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
      if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED || rank <= 0) {
        hssize_t n = H5Sget_simple_extent_npoints(space.get());
        std::vector<uint8_t> buf(size_t(std::max<hssize_t>(n, 0)) * es + 1);
        hdf5::check(H5Dread(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "cannot read",
                    where);
        progress.add(info.storage, 0);
        continue;
      }
      std::vector<hsize_t> chunk(static_cast<size_t>(rank));
      H5Pget_chunk(dcpl.get(), rank, chunk.data());
      hsize_t nchunks = 0;
      hdf5::check(H5Dget_num_chunks(ds.get(), space.get(), &nchunks), "cannot count the chunks", where);
      size_t chunk_bytes = es;
      for (hsize_t x : chunk) chunk_bytes *= size_t(x);
      std::vector<uint8_t> buf(chunk_bytes);
      for (hsize_t i = 0; i < nchunks; i++) {
        std::vector<hsize_t> off(static_cast<size_t>(rank)), count(static_cast<size_t>(rank));
        unsigned mask = 0;
        haddr_t addr = 0;
        hsize_t size = 0;
        hdf5::check(H5Dget_chunk_info(ds.get(), space.get(), i, off.data(), &mask, &addr, &size),
                    "cannot read the chunk index", where);
        std::string coords;
        for (int d = 0; d < rank; d++) {
          count[size_t(d)] = std::min(chunk[size_t(d)], dims[size_t(d)] - off[size_t(d)]);
          coords += (d ? "," : "") + std::to_string(off[size_t(d)] / chunk[size_t(d)]);
        }
        hdf5::Handle fs(H5Dget_space(ds.get()), "cannot read the dataspace", where);
        hdf5::Handle ms(H5Screate_simple(rank, count.data(), nullptr), "cannot create a dataspace", where);
        herr_t rc = H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, off.data(), nullptr, count.data(), nullptr);
        if (rc >= 0) rc = H5Dread(ds.get(), type.get(), ms.get(), fs.get(), H5P_DEFAULT, buf.data());
        if (rc < 0)
          c.problem(path + ": dataset " + info.path + " chunk (" + coords + ") at file offset " +
                    std::to_string(addr) + ", " + std::to_string(size) +
                    " bytes: " + condense_hdf5_chain(hdf5::error_stack_message()));
        progress.add(size);
      }
    } catch (const Error& e) {
      c.problem(error_line(e));
    }
  }
}

// --- check -------------------------------------------------------------------

// The journal: committed transactions must verify; the rest is noted.
// Adds what `check --repair` may remove to *removable; returns the number
// of committed transactions verified.
uint64_t check_journal(Checker& c, const std::string& jdir, std::vector<std::string>* removable_out) {
  std::vector<std::string>& removable = *removable_out;
  journal::JournalListing jl = journal::list_journal(*c.env, jdir);
  uint64_t tx_ok = 0;
  for (uint64_t txid : jl.done) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Done));
    try {
      journal::verify_transaction(*c.env, dir, txid);
      tx_ok++;
    } catch (const Error& e) {
      c.problem(std::string("committed transaction ") + hex16(txid) + ": " + error_line(e));
    }
  }
  for (uint64_t txid : jl.temp) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Temp));
    TempDirKind k;
    try {
      k = classify_temp_dir(*c.env, dir);
    } catch (const NotFoundError&) {
      continue;  // taken or removed by a live writer since the listing
    }
    c.note(k.spare ? dir + ": spare directory made ahead of commits, no transaction (recovery removes it)"
                   : dir + ": uncommitted transaction, " + format_bytes(double(k.bytes)) +
                         " (recovery discards it)");
    removable.push_back(dir);
  }
  // _flushed directories newer than a _done one are replayed again after it
  // by recovery (journal::plan_flushed): they must verify, and stay.
  journal::FlushedPlan plan = journal::plan_flushed(jl);
  for (uint64_t txid : plan.reapply) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Flushed));
    try {
      journal::verify_transaction(*c.env, dir, txid);
      c.note(dir + ": applied, but newer than a pending committed transaction (recovery replays it again)");
    } catch (const Error& e) {
      c.problem(dir +
                ": applied transaction newer than a pending committed one cannot be read "
                "(recovery refuses to open the store): " +
                error_line(e));
    }
  }
  for (uint64_t txid : plan.garbage) {
    std::string dir = path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Flushed));
    c.note(dir + ": transaction already applied to data/ (recovery deletes it)");
    removable.push_back(dir);
  }
  for (const std::string& other : jl.other) {
    std::string p = path_join(jdir, other);
    uint64_t txid = 0;
    bool committed = false;
    if (journal::parse_undo_store_dir_name(other, &txid, &committed) && committed && c.env->is_directory(p)) {
      c.note(p + ": committed undo-mode transaction, already in data/ (recovery deletes it)");
      removable.push_back(p);
    } else {
      c.problem(p +
                ": not an h5tx journal entry, or not a directory (every open refuses the store "
                "until it is moved away; left alone)");
    }
  }

  return tx_ok;
}

// Pending undo journals of an interrupted flush batch or undo-mode
// transaction: they must parse. Fills *undo_of (data file name -> journal
// path) and *created_by_unfinished (files recovery removes).
void check_undo_dirs(Checker& c, const std::string& jdir, const std::string& ddir,
                     std::map<std::string, std::string>* undo_of_out, std::set<std::string>* created_out) {
  std::map<std::string, std::string>& undo_of = *undo_of_out;
  std::set<std::string>& created_by_unfinished = *created_out;
  journal::JournalListing jl = journal::list_journal(*c.env, jdir);
  // Pending undo journals of an interrupted flush batch or undo-mode
  // transaction: they must parse; the data files are then checked as
  // recovery will leave them (read through the journal: pre-transaction
  // bytes), and files the unfinished transaction created are skipped.
  for (uint64_t txid : jl.undo) {
    std::string dir = path_join(jdir, journal::undo_dir_name(txid));
    for (const std::string& n : c.env->list_dir(dir)) {
      std::string jp = path_join(dir, n);
      if (n == journal::kCreatedFile) {
        try {
          for (const std::string& f : journal::decode_created(c.env->read_all(jp, 16 << 20), jp))
            created_by_unfinished.insert(f);
        } catch (const Error& e) {
          c.problem(error_line(e));
        }
        continue;
      }
      if (n.size() <= 8 || n.compare(n.size() - 8, 8, ".journal") != 0) continue;
      std::string file = n.substr(0, n.size() - 8);
      try {
        std::unique_ptr<undo::PendingJournal> pj = undo::PendingJournal::load(*c.env, jp);
        if (pj && !pj->nothing_to_undo()) {
          std::string dp = path_join(ddir, file);  // a journal of another file is refused
          if (c.env->exists(dp)) pj->check_owner(*c.env->open(dp, OpenMode::ReadOnly));
          undo_of[file] = jp;
          c.note(jp + ": pending undo journal (" + std::to_string(pj->images().size()) +
                 " before-images); recovery reverts data/" + file);
        }
      } catch (const Error& e) {
        c.problem(std::string("undo journal: ") + error_line(e));
      }
    }
  }
}

// Data files: every chunk through its checksum, each file as recovery
// will leave it (read through its pending undo journal, if any). Returns
// the number of data files read.
size_t check_data_files(Checker& c, const std::string& ddir, std::map<std::string, std::string>& undo_of,
                        const std::set<std::string>& created_by_unfinished) {
  std::vector<std::string> names =
      c.env->is_directory(ddir) ? c.env->list_dir(ddir) : std::vector<std::string>{};
  std::sort(names.begin(), names.end());
  std::vector<std::pair<std::string, OpenedFile>> files;
  uint64_t total = 0;
  for (const std::string& n : names) {
    std::string p = path_join(ddir, n);
    if (c.env->is_directory(p)) {
      c.note(p + ": unexpected directory in data/ (left alone)");
      continue;
    }
    // The store's own names in data/ carry the reserved prefix (util/names.hpp);
    // every other name is a data file, whatever its suffix.
    const std::string jnl = std::string(names::kReservedPrefix) + "jnl.";
    if (n.compare(0, jnl.size(), jnl) == 0) {
      std::string file = n.substr(jnl.size());
      try {
        std::unique_ptr<undo::PendingJournal> pj = undo::PendingJournal::load(*c.env, p);
        if (pj && !pj->nothing_to_undo()) {
          std::string dp = path_join(ddir, file);
          if (c.env->exists(dp)) pj->check_owner(*c.env->open(dp, OpenMode::ReadOnly));
          undo_of[file] = p;
          c.note(p + ": pending undo journal; the next read-write open reverts " + file);
        }
      } catch (const Error& e) {
        c.problem(std::string("undo journal: ") + error_line(e));
      }
      continue;
    }
    if (n.compare(0, sizeof names::kReservedPrefix - 1, names::kReservedPrefix) == 0) {
      c.note(p + ": a data file being created when the store was last open (recovery removes it)");
      continue;
    }
    if (!names::file_name_problem(n).empty()) {
      c.note(p + ": not a valid data file name (" + names::file_name_problem(n) + "; ignored by the store)");
      continue;
    }
    if (created_by_unfinished.count(n)) {
      c.note(p + ": created by an unfinished transaction (recovery removes it); not checked");
      continue;
    }
    files.emplace_back(p, OpenedFile{});
    auto u = undo_of.find(n);
    if (!open_hdf5(c, p, u == undo_of.end() ? "" : u->second, &files.back().second)) {
      files.pop_back();
      continue;
    }
    for (const DatasetInfo& d : files.back().second.datasets) total += d.storage;
  }
  Progress progress("check", total);
  for (auto& f : files) check_hdf5(c, f.first, f.second, progress);
  progress.finish();
  return files.size();
}

// A store a writer process has open (its LOCK is held): checked through a
// read-only open, which a redo store of format 2 allows next to the writer
// (formats/store-procs.md): the open verifies every committed transaction
// in the journal, and one transaction then reads every chunk of every
// dataset at its snapshot (the journal's copies checksum-verified, the data
// files' through HDF5's filters). What is checked is what is committed and
// flushed at that snapshot; the writer's uncommitted directories and its
// flush batch in progress are its own business. Other stores wait for the
// LOCK (BusyError after --lock-timeout), as before.
int run_live_check(Checker& c, const Args& a) {
  Options o;
  o.read_only = true;
  o.lock_timeout = a.get_seconds("lock-timeout", 10);
  std::unique_ptr<Store> s = Store::open(c.home, o);
  uint64_t files = 0, datasets = 0, chunks = 0;
  auto tx = s->begin();
  for (const std::string& f : tx.list_files()) {
    files++;
    for (const std::string& d : tx.list_datasets(f)) {
      datasets++;
      try {
        DatasetSpec spec = tx.dataset_spec(f, d);
        Shape grid(spec.shape.size()), at(spec.shape.size(), 0);
        bool empty = false;
        for (size_t i = 0; i < grid.size(); i++) {
          grid[i] = (spec.shape[i] + spec.chunk[i] - 1) / spec.chunk[i];
          if (grid[i] == 0) empty = true;
        }
        while (!empty) {
          try {
            tx.read_chunk(f, d, at);
            chunks++;
          } catch (const Error& e) {
            c.problem(f + ":" + d + ": " + e.what());
          }
          size_t i = grid.size();
          while (i > 0 && ++at[i - 1] == grid[i - 1]) at[--i] = 0;
          if (i == 0) break;
        }
      } catch (const Error& e) {
        c.problem(f + ":" + d + ": " + e.what());
      }
    }
  }
  uint64_t snap = tx.snapshot();
  tx.abort();
  s->close();
  std::printf("%s: live store (a writer process has it open): checked at snapshot %s: %" PRIu64
              " data files, %" PRIu64 " datasets, %" PRIu64 " chunks read, %" PRIu64 " problems\n",
              c.home.c_str(), hex16(snap).c_str(), files, datasets, chunks, c.problems);
  return c.problems ? 1 : 0;
}

int run_check(const Args& a) {
  Checker c;
  c.home = a.positional[0];
  c.json = a.flags.count("json") > 0;
  bool repair = a.flags.count("repair") > 0;
  std::unique_ptr<FileLock> lock;
  if (!repair) {
    try {
      lock = lock_store(c.env, c.home, false, std::chrono::milliseconds(0));
    } catch (const BusyError&) {
      try {
        return run_live_check(c, a);
      } catch (const BusyError&) {
        // Not a store readers may share: wait for the LOCK as before.
      }
    }
  }
  if (!lock) lock = lock_store(c.env, c.home, repair, a.get_seconds("lock-timeout", 10));
  std::string jdir = path_join(c.home, "journal"), ddir = path_join(c.home, "data");

  std::vector<std::string> removable;
  const uint64_t tx_ok = check_journal(c, jdir, &removable);
  std::map<std::string, std::string> undo_of;  // data file name -> journal path
  std::set<std::string> created_by_unfinished;
  check_undo_dirs(c, jdir, ddir, &undo_of, &created_by_unfinished);
  const size_t files_read = check_data_files(c, ddir, undo_of, created_by_unfinished);

  std::vector<std::string> removed;
  if (repair) {
    for (const std::string& dir : removable) {
      c.env->remove_flat_dir(dir);
      removed.push_back(dir);
      if (!c.json) std::printf("removed %s\n", dir.c_str());
    }
    if (!removable.empty()) c.env->sync_dir(jdir);
  }
  // Last, the library's own judgement: whatever every open refuses is a
  // problem here too, whatever the checks above made of it.
  lock.reset();
  try {
    Options o;
    o.read_only = true;
    o.lock_timeout = a.get_seconds("lock-timeout", 10);
    Store::open(c.home, o)->close();
  } catch (const BusyError& e) {
    c.note(std::string("could not open the store to confirm it opens: ") + error_line(e));
  } catch (const Error& e) {
    c.problem(std::string("the store does not open: ") + error_line(e));
  }
  if (c.json) {
    Json j;
    j.begin_object().field("store", c.home).field("ok", c.problems == 0);
    j.field("committed_transactions_verified", tx_ok).field("data_files_read", uint64_t(files_read));
    j.key("problems").strings(c.problem_list).key("notes").strings(c.note_list);
    j.key("removed").strings(removed).end_object().print();
  } else {
    std::printf("%s: %zu committed transactions verified, %zu data files read, %" PRIu64 " problems, %" PRIu64
                " notes\n",
                c.home.c_str(), size_t(tx_ok), files_read, c.problems, c.notes);
  }
  if (c.problems) {
    std::fprintf(stderr, "h5tx check: %s: %" PRIu64 " problems found (lines starting BAD)\n", c.home.c_str(),
                 c.problems);
    return 1;
  }
  return 0;
}

// --- dump --------------------------------------------------------------------

std::string attr_text(const AttributeValue& v) {
  if (v.is_string) return "\"" + v.text + "\"";
  std::string out = std::string(dtype_name(v.dtype)) + "[" + std::to_string(v.count()) + "] 0x";
  char buf[3];
  for (size_t i = 0; i < v.bytes.size() && i < 32; i++) {
    std::snprintf(buf, sizeof buf, "%02x", v.bytes[i]);
    out += buf;
  }
  if (v.bytes.size() > 32) out += "...";
  return out;
}

int run_dump(const Args& a) {
  const bool json = a.flags.count("json") > 0;
  Env* env = Env::posix();
  std::string home = a.positional[0], t = a.positional[1];
  uint64_t txid = 0;
  if (t.empty() || t.size() > 16 || t.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    throw UsageError("TXID '" + t + "' is not a transaction id (up to 16 hex digits, as h5tx log prints)");
  txid = std::stoull(t, nullptr, 16);
  // A writer process may have the store (then a read-only open, which a
  // format 2 redo store allows next to it, stands for the LOCK; its flusher
  // may apply and remove the transaction while it is printed: said so).
  std::unique_ptr<FileLock> lock;
  std::unique_ptr<Store> live;
  try {
    lock = lock_store(env, home, false, std::chrono::milliseconds(0));
  } catch (const BusyError&) {
    Options o;
    o.read_only = true;
    o.lock_timeout = a.get_seconds("lock-timeout", 10);
    try {
      live = Store::open(home, o);
    } catch (const BusyError&) {
      lock = lock_store(env, home, false, a.get_seconds("lock-timeout", 10));
    }
  }
  std::string jdir = path_join(home, "journal"), dir, state;
  for (auto st : {journal::TxState::Done, journal::TxState::Temp, journal::TxState::Flushed}) {
    std::string d = path_join(jdir, journal::tx_dir_name(txid, st));
    if (env->is_directory(d)) {
      dir = d;
      state = st == journal::TxState::Done   ? "committed, not yet flushed"
              : st == journal::TxState::Temp ? "uncommitted (being written, or left by a crash)"
                                             : "flushed (being deleted)";
      break;
    }
  }
  if (dir.empty())
    throw NotFoundError(
        path_join(jdir, journal::tx_dir_name(txid, journal::TxState::Done)),
        "transaction " + hex16(txid) + " is not in the journal (flushed already, or never committed)");
  // The JSON of a directory without a MANIFEST of this transaction.
  auto json_no_manifest = [&](const std::string& why) {
    Json j;
    j.begin_object().field("txid", hex16(txid)).field("state", state).field("directory", dir);
    j.field("committed", false).key("manifest").null().field("note", why).end_object().print();
  };
  if (!env->exists(path_join(dir, journal::kManifestName))) {  // an uncommitted transaction's spilled chunks
    std::string spill = path_join(dir, journal::kSpillFileName);
    if (json) {
      json_no_manifest(
          "no MANIFEST: " + format_bytes(env->exists(spill) ? double(env->file_size(spill)) : 0.0) +
          " of spilled chunks, never committed");
      return 0;
    }
    std::printf(
        "transaction %s  %s\n  directory   %s\n  no MANIFEST: %s of spilled chunks, never committed\n",
        hex16(txid).c_str(), state.c_str(), dir.c_str(),
        format_bytes(env->exists(spill) ? double(env->file_size(spill)) : 0.0).c_str());
    return 0;
  }
  journal::Manifest m;
  if (dir.size() >= 5 && dir.compare(dir.size() - 5, 5, "_done") == 0) {
    try {
      m = journal::read_manifest(*env, dir, txid);  // a committed one must parse: errors are real
    } catch (const Error&) {
      if (!live || env->is_directory(dir)) throw;
      throw NotFoundError(dir, "transaction " + hex16(txid) +
                                   " was flushed while it was read (a writer "
                                   "process has the store open)");
    }
  } else {
    // A _temp or _flushed directory may hold anything: an unfinished
    // commit's MANIFEST, or (a spare kept for reuse) an empty or older one.
    try {
      m = journal::read_manifest(*env, dir, txid);
    } catch (const CorruptionError& e) {
      if (json) {
        json_no_manifest("no MANIFEST of this transaction (" + error_line(e) +
                         "): never committed, or a spare directory kept for reuse");
        return 0;
      }
      std::printf(
          "transaction %s  %s\n  directory   %s\n  no MANIFEST of this transaction (%s): never committed,"
          " or a spare directory kept for reuse\n",
          hex16(txid).c_str(), state.c_str(), dir.c_str(), error_line(e).c_str());
      return 0;
    }
  }
  if (json) {
    Json j;
    j.begin_object().field("txid", hex16(m.txid)).field("state", state).field("directory", dir);
    j.field("committed", dir.size() >= 5 && dir.compare(dir.size() - 5, 5, "_done") == 0);
    j.field("commit_time_micros", m.commit_time_micros)
        .field("commit_time", format_time_micros(m.commit_time_micros));
    j.field("message", m.message).key("metadata").string_map(m.metadata);
    j.field("chunk_bytes", uint64_t(m.chunk_bytes())).key("operations").begin_array();
    for (const journal::Op& op : m.ops) {
      j.begin_object();
      switch (op.kind) {
        case journal::OpKind::CreateFile:
          j.field("op", "create-file").field("file", op.file);
          break;
        case journal::OpKind::CreateDataset:
          j.field("op", "create-dataset").field("file", op.file).field("path", op.path);
          j.field("dtype", dtype_name(op.spec.dtype)).key("shape").shape(op.spec.shape);
          j.key("max_shape").shape(op.spec.max_shape).key("chunk").shape(op.spec.chunk);
          j.field("compression",
                  op.spec.compression == Compression::ShuffleDeflate ? "shuffle+deflate" : "none");
          j.field("deflate_level", op.spec.deflate_level).field("fletcher32", op.spec.fletcher32);
          j.field("fill_value", op.spec.fill_value);
          break;
        case journal::OpKind::ExtendDataset:
          j.field("op", "extend-dataset")
              .field("file", op.file)
              .field("path", op.path)
              .key("shape")
              .shape(op.shape);
          break;
        case journal::OpKind::SetAttribute:
          j.field("op", "set-attribute")
              .field("file", op.file)
              .field("object", op.path)
              .field("name", op.name);
          j.field("value", attr_text(op.attr));
          break;
        case journal::OpKind::DeleteAttribute:
          j.field("op", "delete-attribute")
              .field("file", op.file)
              .field("object", op.path)
              .field("name", op.name);
          break;
        case journal::OpKind::WriteChunk: {
          char hash[20];
          std::snprintf(hash, sizeof hash, "%016" PRIx64, op.chunk_hash);
          j.field("op", "write-chunk")
              .field("file", op.file)
              .field("path", op.path)
              .key("chunk")
              .shape(op.shape);
          j.field("location", op.chunk_file).field("offset", op.chunk_offset).field("size", op.chunk_size);
          j.field("xxh3", std::string(hash)).field("filter_mask", uint64_t(op.filter_mask));
          break;
        }
      }
      j.end_object();
    }
    j.end_array().end_object().print();
    return 0;
  }
  std::printf("transaction %s  %s\n", hex16(m.txid).c_str(), state.c_str());
  std::printf("  directory   %s\n", dir.c_str());
  std::printf("  committed   %s\n", format_time_micros(m.commit_time_micros).c_str());
  // User text is escaped: a message must not drive the terminal.
  std::printf("  message     %s\n", names::printable(m.message).c_str());
  for (const auto& kv : m.metadata)
    std::printf("  metadata    %s = %s\n", names::printable(kv.first).c_str(),
                names::printable(kv.second).c_str());
  std::printf("  chunk bytes %s in %zu operations\n", format_bytes(double(m.chunk_bytes())).c_str(),
              m.ops.size());
  for (const journal::Op& op : m.ops) {
    switch (op.kind) {
      case journal::OpKind::CreateFile:
        std::printf("  create-file     %s\n", op.file.c_str());
        break;
      case journal::OpKind::CreateDataset:
        std::printf("  create-dataset  %s:%s %s %s (max %s) chunk %s%s%s fill %g\n", op.file.c_str(),
                    op.path.c_str(), dtype_name(op.spec.dtype), format_shape(op.spec.shape, "x").c_str(),
                    format_shape(op.spec.max_shape, "x").c_str(), format_shape(op.spec.chunk, "x").c_str(),
                    op.spec.compression == Compression::ShuffleDeflate
                        ? (" deflate:" + std::to_string(op.spec.deflate_level)).c_str()
                        : "",
                    op.spec.fletcher32 ? " fletcher32" : "", op.spec.fill_value);
        break;
      case journal::OpKind::ExtendDataset:
        std::printf("  extend-dataset  %s:%s to %s\n", op.file.c_str(), op.path.c_str(),
                    format_shape(op.shape, "x").c_str());
        break;
      case journal::OpKind::SetAttribute:
        std::printf("  set-attribute   %s:%s %s = %s\n", op.file.c_str(), op.path.c_str(), op.name.c_str(),
                    names::printable(attr_text(op.attr)).c_str());
        break;
      case journal::OpKind::DeleteAttribute:
        std::printf("  delete-attribute %s:%s %s\n", op.file.c_str(), op.path.c_str(), op.name.c_str());
        break;
      case journal::OpKind::WriteChunk:
        std::printf("  write-chunk     %s:%s (%s) -> %s @%" PRIu64 ", %" PRIu64 " bytes, xxh3 %016" PRIx64
                    ", filter mask %u\n",
                    op.file.c_str(), op.path.c_str(), format_shape(op.shape).c_str(), op.chunk_file.c_str(),
                    op.chunk_offset, op.chunk_size, op.chunk_hash, op.filter_mask);
        break;
    }
  }
  return 0;
}

}  // namespace

std::vector<Command> check_commands() {
  OptionSpec lt = lock_timeout_option();
  return {
      {{"check",
        "HOME [--repair]",
        "Verify the whole store without modifying it: every committed journal transaction\n"
        "(MANIFEST and chunk checksums), every pending undo journal, and every chunk of every\n"
        "HDF5 file in data/ read through its Fletcher32 checksum. Names the file, dataset and\n"
        "chunk of every problem; last, open the store read-only through the library, so whatever\n"
        "every open refuses is a problem too. Exit status 1 if there is any.",
        {{"repair", "",
          "also remove what is provably uncommitted or already applied: journal/working_*_temp, "
          "working_*_flushed older than every _done, and undo_*_committed directories (never an "
          "entry that is not a real directory; takes the store's exclusive lock)"},
         json_option(),
         lt},
        1,
        1},
       run_check},
      {{"dump",
        "HOME TXID",
        "Print the MANIFEST of a transaction in the journal: header, metadata and every operation.",
        {json_option(), lt},
        2,
        2},
       run_dump},
  };
}

}  // namespace cli
}  // namespace h5tx
