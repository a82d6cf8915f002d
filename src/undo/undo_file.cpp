// h5tx::UndoFile and UndoTransaction (include/h5tx/undo.hpp) over the undo
// driver's internal API.
#include "h5tx/undo.hpp"

#include <utility>

#include "h5tx/error.hpp"
#include "hdf5/handle.hpp"
#include "undo/driver.hpp"

namespace h5tx {

UndoFile UndoFile::create(const std::string& path, const UndoOptions& options) {
  UndoOptions o = options;
  o.read_only = false;
  return UndoFile(path, o, true);
}

UndoFile UndoFile::open(const std::string& path, const UndoOptions& options) {
  return UndoFile(path, options, false);
}

UndoFile::UndoFile(std::string path, const UndoOptions& options, bool create)
    : path_(std::move(path)), options_(options) {
  hdf5::silence_error_printing();
  hdf5::Lock l(hdf5::mutex());
  hdf5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path_);
  undo::DriverConfig cfg;
  cfg.env = options_.env;
  cfg.journal_path = options_.journal_path;
  cfg.page_size = options_.page_size;
  cfg.buffer_bytes = options_.buffer_bytes;
  cfg.sync_every_write = options_.sync_every_write;
  cfg.follow_symlinks = options_.follow_symlinks;
  undo::set_fapl(fapl, cfg);
  hdf5::check(H5Pset_fclose_degree(fapl, H5F_CLOSE_STRONG), "H5Pset_fclose_degree", path_);
  undo::take_last_error();
  hid_t id = create ? H5Fcreate(path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl)
                    : H5Fopen(path_.c_str(), options_.read_only ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl);
  if (id < 0) {
    // The driver's own error (e.g. a CorruptionError naming a garbage
    // journal) says more than HDF5's "unable to open file".
    if (std::exception_ptr e = undo::take_last_error()) std::rethrow_exception(e);
    hdf5::throw_hdf5_error(create ? "H5Fcreate" : "H5Fopen", path_);
  }
  hid_ = id;
}

UndoFile::UndoFile(UndoFile&& o) noexcept
    : path_(std::move(o.path_)),
      options_(std::move(o.options_)),
      hid_(std::exchange(o.hid_, H5I_INVALID_HID)) {}

UndoFile& UndoFile::operator=(UndoFile&& o) noexcept {
  if (this != &o) {
    if (hid_ >= 0) H5Fclose(hid_);
    path_ = std::move(o.path_);
    options_ = std::move(o.options_);
    hid_ = std::exchange(o.hid_, H5I_INVALID_HID);
  }
  return *this;
}

UndoFile::~UndoFile() {
  if (hid_ >= 0) {
    hdf5::Lock l(hdf5::mutex());
    H5Fclose(hid_);  // a failure cannot be reported here; close() reports it
  }
}

void UndoFile::close() {
  if (hid_ < 0) return;
  hdf5::Lock l(hdf5::mutex());
  hid_t id = std::exchange(hid_, H5I_INVALID_HID);
  undo::take_last_error();
  herr_t status = H5Fclose(id);
  // The driver reports a failed close as its last error (see driver.cpp).
  if (std::exception_ptr e = undo::take_last_error()) std::rethrow_exception(e);
  if (status < 0) hdf5::throw_hdf5_error("H5Fclose", path_);
}

int UndoFile::depth() const {
  if (hid_ < 0) throw StateError(path_, "file is closed");
  return undo::tx_depth(hid_);
}

UndoTransaction UndoFile::begin() {
  if (hid_ < 0) throw StateError(path_, "file is closed");
  undo::tx_start(hid_);
  return UndoTransaction(this, depth());
}

void UndoFile::reopen() {
  close();
  *this = UndoFile(path_, options_, false);  // transactions run on read-write files only
}

UndoTransaction::UndoTransaction(UndoTransaction&& o) noexcept
    : file_(std::exchange(o.file_, nullptr)), level_(o.level_) {}

UndoTransaction::~UndoTransaction() {
  if (!file_) return;
  try {
    abort();
  } catch (const std::exception&) {
    // Nothing can be reported from a destructor. The driver marked the file
    // unusable and left its journal pending: the next open reverts it.
  }
}

void UndoTransaction::check_innermost(const char* op) const {
  if (!file_) throw StateError("", std::string("cannot ") + op + ": transaction already ended");
  int depth = file_->depth();
  if (depth != level_)
    throw StateError(file_->path(), std::string("cannot ") + op + " level " + std::to_string(level_) +
                                        ": the innermost open level is " + std::to_string(depth));
}

void UndoTransaction::commit() {
  check_innermost("commit");
  UndoFile* f = std::exchange(file_, nullptr);
  undo::tx_commit(f->hid());
}

void UndoTransaction::abort() {
  check_innermost("abort");
  UndoFile* f = std::exchange(file_, nullptr);
  undo::tx_abort(f->hid());
  f->reopen();
}

}  // namespace h5tx
