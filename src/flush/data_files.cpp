// Access to the HDF5 files in data/ for redo mode.
#include "flush/data_files.hpp"

#include <cerrno>

#include "h5tx/error.hpp"
#include "journal/tx_dir.hpp"
#include "undo/driver.hpp"
#include "util/names.hpp"

namespace h5tx {

namespace {

bool reserved(const std::string& name) {
  return name.compare(0, sizeof names::kReservedPrefix - 1, names::kReservedPrefix) == 0;
}

}  // namespace

DataFiles::DataFiles(Env* env, std::string data_dir, std::string journal_dir, size_t page_size,
                     bool read_only)
    : env_(env),
      data_dir_(std::move(data_dir)),
      journal_dir_(std::move(journal_dir)),
      page_size_(page_size),
      read_only_(read_only) {}

void DataFiles::set_gate(std::unique_ptr<procs::Gate> gate, std::chrono::milliseconds timeout,
                         bool live_reader) {
  gate_ = std::move(gate);
  gate_timeout_ = timeout;
  live_reader_ = live_reader;
}

void DataFiles::check_generation(const std::string& generation) {
  if (generation == generation_) return;
  close_all();
  generation_ = generation;
}

DataFiles::~DataFiles() {
  hdf5::Lock hl(hdf5::mutex());
  handles_.clear();
}

std::string DataFiles::path(const std::string& file) const {
  return path_join(data_dir_, file);
}

// The store's own names in data/ begin with names::kReservedPrefix, which no
// data file name may (util/names.hpp): a user's "vol.h5.journal" or "x.tmp"
// is an ordinary data file.
// Two kinds, told apart by what follows the prefix so no file name makes one
// look like the other: "new.<file>" (an unfinished create, and
// "new.<file>.journal" its journal) and "jnl.<file>" (the driver's default
// journal of a data file opened outside a flush batch; never written by a
// batch, which names its own journals under journal/).
std::string DataFiles::scratch_path(const char* kind, const std::string& file) const {
  return path_join(data_dir_, std::string(names::kReservedPrefix) + kind + file);
}

bool DataFiles::exists(const std::string& file) {
  return handles_.count(file) || env_->exists(path(file));
}

std::vector<std::string> DataFiles::list() {
  std::vector<std::string> out;
  for (const auto& name : env_->list_dir(data_dir_))
    if (!reserved(name) && names::file_name_problem(name).empty() && !env_->is_directory(path(name)))
      out.push_back(name);
  return out;
}

hdf5::Handle DataFiles::make_fapl(const std::string& journal_path, bool for_update) {
  hdf5::Lock hl(hdf5::mutex());
  hdf5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  undo::DriverConfig cfg;
  cfg.env = env_;
  cfg.journal_path = journal_path;
  cfg.page_size = page_size_;
  cfg.follow_symlinks = false;  // nothing below HOME is followed
  undo::set_fapl(fapl, cfg);
  // A reader process: the data gate, not HDF5's lock (see set_gate).
  // HDF5_USE_FILE_LOCKING=TRUE still wins (the driver honours it).
  // A writer process of a store with several writers reads the same way,
  // but its flusher's updates keep HDF5's lock (outside readers).
  if (live_reader_ && !for_update && H5Pset_file_locking(fapl, 0, 1) < 0)
    hdf5::throw_hdf5_error("H5Pset_file_locking", "");
  return fapl;
}

// In a read-only store: the journal of an interrupted flush batch for `file`,
// so the driver serves the file as it was before the batch.
std::string DataFiles::pending_journal(const std::string& file) {
  for (const auto& name : env_->list_dir(journal_dir_)) {
    uint64_t txid;
    if (!journal::parse_undo_dir_name(name, &txid)) continue;
    std::string j = path_join(path_join(journal_dir_, name), file + ".journal");
    if (env_->exists(j)) return j;
  }
  return "";
}

namespace {

hid_t open_file(const std::string& path, unsigned flags, hid_t fapl) {
  hid_t id = H5Fopen(path.c_str(), flags, fapl);
  if (id < 0) {
    if (auto e = undo::take_last_error()) std::rethrow_exception(e);
    hdf5::throw_hdf5_error("H5Fopen", path);
  }
  return id;
}

}  // namespace

hid_t DataFiles::handle(const std::string& file) {
  auto it = handles_.find(file);
  if (it != handles_.end()) return it->second;
  std::string p = path(file);
  if (!env_->exists(p)) throw NotFoundError(p, "no such data file");
  hdf5::Lock hl(hdf5::mutex());
  // A reader (read-only, or a writer process that is not alone): a dead
  // flusher's pending undo journal is read through, never reverted here.
  std::string journal = read_only_ || live_reader_ ? pending_journal(file) : "";
  hdf5::Handle fapl = make_fapl(journal.empty() ? scratch_path("jnl.", file) : journal);
  hid_t id = open_file(p, H5F_ACC_RDONLY, fapl);
  return handles_.emplace(file, hdf5::Handle::adopt(id)).first->second;
}

hdf5::Handle DataFiles::open_for_update(const std::string& file) {
  if (read_only_) throw StateError(path(file), "the store is open read-only");
  close(file);
  hdf5::Lock hl(hdf5::mutex());
  hdf5::Handle fapl = make_fapl(scratch_path("jnl.", file), true);
  try {
    return hdf5::Handle::adopt(open_file(path(file), H5F_ACC_RDWR, fapl));
  } catch (const Hdf5Error& e) {
    // Another Store of this process (a read-only one on the same HOME)
    // has the file open: HDF5 shares an open file within a process and
    // will not open it read-write meanwhile. Like a reader process holding
    // it: the flusher waits for it and goes on with the other files.
    if (std::string(e.what()).find("already open for read-only") == std::string::npos) throw;
    throw BusyError(path(file),
                    "open read-only by another Store of this process (HDF5 opens a file once per process); "
                    "the flusher waits until it is closed",
                    EWOULDBLOCK);
  }
}

void DataFiles::close(const std::string& file) {
  auto it = handles_.find(file);
  if (it == handles_.end()) return;
  std::string p = path(file);
  hdf5::Handle h = std::move(it->second);
  handles_.erase(it);
  hdf5::Lock hl(hdf5::mutex());
  h.close_checked(p);
}

void DataFiles::close_all() {
  while (!handles_.empty()) {
    std::string file = handles_.begin()->first;  // close() erases the key
    close(file);
  }
}

void DataFiles::create_file(const std::string& file) {
  std::string p = path(file);
  if (handles_.count(file) || env_->exists(p)) return;
  std::string tmp = scratch_path("new.", file);
  {
    hdf5::Lock hl(hdf5::mutex());
    hdf5::Handle fapl = make_fapl(tmp + ".journal", true);
    hid_t id = H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (id < 0) {
      if (auto e = undo::take_last_error()) std::rethrow_exception(e);
      hdf5::throw_hdf5_error("H5Fcreate", tmp);
    }
    hdf5::Handle::adopt(id).close_checked(tmp);
  }
  env_->open(tmp, OpenMode::ReadWrite)->sync();
  env_->rename(tmp, p);
  env_->sync_dir(data_dir_);
}

void DataFiles::remove_temporaries() {
  bool removed = false;
  for (const auto& name : env_->list_dir(data_dir_)) {
    // An unfinished create's scratch file and its journal; never the
    // default journal of a data file (the driver reverts that one at open).
    const std::string prefix = std::string(names::kReservedPrefix) + "new.";
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    env_->remove_file(path(name));
    removed = true;
  }
  if (removed) env_->sync_dir(data_dir_);
}

}  // namespace h5tx
