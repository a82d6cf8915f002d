// The H5FD_class_t of the undo driver: HDF5 callbacks forwarded to a
// JournaledFile, a process-wide registry of open (and parked) files, and the
// transaction calls on hid_t.
#include "undo/driver.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "h5tx/error.hpp"
#include "hdf5/handle.hpp"
#include "undo/journaled_file.hpp"
#include "undo/pending_journal.hpp"
#include "util/mutex.hpp"

namespace h5tx {
namespace undo {

namespace {

constexpr uint64_t kFileMagic = 0x68357478756e646full;  // "h5txundo"
constexpr haddr_t kMaxAddr = (static_cast<haddr_t>(1) << 63) - 1;

struct FaplInfo {
  DriverConfig cfg;
};

// One open of a file through the driver.
struct DriverFile {
  uint64_t magic = kFileMagic;
  std::string key;
  std::shared_ptr<JournaledFile> jf;
  haddr_t eoa = 0;
  DriverConfig cfg;
};

// What HDF5 holds: a standard-layout struct whose first member is the
// public H5FD_t, so the two pointers convert into each other.
struct DriverHandle {
  H5FD_t pub;
  DriverFile* file;
};

// Files open through the driver, by identity (device and inode, as HDF5's
// sec2 driver compares files; the normalized path only for an Env that
// cannot tell). HDF5 opens a file a second time to find out it is already
// open, and a user may open it under another spelling (./t.h5, an absolute
// path, a hard link): every handle of one file must share one JournaledFile,
// or the second would revert the first's live journal. The JournaledFile's
// data File holds the process's one flock of the file. An entry with
// opens == 0 is a file closed inside a transaction ("parked"): a reopen in
// this process resumes the transaction (and the lock is kept meanwhile).
struct Registry {
  struct Entry {
    std::shared_ptr<JournaledFile> jf;
    int opens = 0;
  };
  Mutex mu;
  std::map<std::string, Entry> files GUARDED_BY(mu);
};
Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: HDF5 may close files at exit
  return *r;
}

thread_local std::exception_ptr t_last_error;

// H5Fcreate first opens the file without the create flags and, if that
// fails, clears the error and retries with them. An I/O error (or a garbage
// journal) in the first attempt must not be masked by the retry: it is
// remembered here and thrown again by the retry of the same path.
thread_local std::string t_failed_open_key;
thread_local std::exception_ptr t_failed_open_error;

Mutex g_id_mu;
hid_t g_id GUARDED_BY(g_id_mu) = H5I_INVALID_HID;

// Collapses "//" and "/./" so two spellings of one path share a file.
std::string normalize(const std::string& p) {
  std::string out;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (!(part.empty() && !out.empty()) && part != ".") {
      if (!out.empty() && out.back() != '/') out += '/';
      out += part.empty() ? "/" : part;
    }
    i = j + 1;
  }
  return out.empty() ? p : out;
}

std::string key_of(const FileIdentity& id, const std::string& path) {
  if (!id.known) return normalize(path);
  return "@" + std::to_string(id.device) + ":" + std::to_string(id.inode);
}

// HDF5 1.10.8's rule (H5F__parse_file_lock_env_var, H5FD_sec2_lock): the
// environment variable HDF5_USE_FILE_LOCKING wins (TRUE or 1: lock, fail if
// the file system cannot; BEST_EFFORT: lock, ignore a file system without
// locks; FALSE or 0: no lock), else the file access property list's
// H5Pset_file_locking values (default: lock, ignore a file system without
// locks, ENOSYS).
struct LockPolicy {
  bool use = true;
  bool ignore_disabled = true;
};

LockPolicy lock_policy(hid_t fapl) {
  LockPolicy p;
  if (fapl >= 0) {
    hbool_t use = 1, ignore = 1;
    if (H5Pget_file_locking(fapl, &use, &ignore) >= 0) {
      p.use = use != 0;
      p.ignore_disabled = ignore != 0;
    }
  }
  if (const char* v = std::getenv("HDF5_USE_FILE_LOCKING")) {
    if (std::strcmp(v, "BEST_EFFORT") == 0)
      p = LockPolicy{true, true};
    else if (std::strcmp(v, "TRUE") == 0 || std::strcmp(v, "1") == 0)
      p = LockPolicy{true, false};
    else if (std::strcmp(v, "FALSE") == 0 || std::strcmp(v, "0") == 0)
      p = LockPolicy{false, false};
  }
  return p;
}

// Takes HDF5's lock on the data file as the sec2 driver does: flock
// LOCK_EX (read-write) or LOCK_SH (read-only), never waiting. BusyError if
// another process (or another open of the file outside this driver's
// registry) holds a conflicting one.
// True if it took the lock (false: locking is off, or ignored as sec2 does).
bool take_file_lock(File& data, bool writable, const LockPolicy& policy) {
  if (!policy.use) return false;
  try {
    if (data.try_lock(writable ? LockKind::Exclusive : LockKind::Shared)) return true;
  } catch (const IoError& e) {
    if (policy.ignore_disabled && e.sys_errno() == ENOSYS) return false;  // as sec2
    throw;
  }
  throw BusyError(data.path(),
                  std::string("unable to lock file, errno = ") + std::to_string(EWOULDBLOCK) +
                      ", error message = '" + std::strerror(EWOULDBLOCK) + "': another process has it open" +
                      (writable ? "" : " for writing") +
                      " (HDF5's file lock; HDF5_USE_FILE_LOCKING=FALSE opens it without)",
                  EWOULDBLOCK);
}

void push_error(const char* func, H5E_minor_t minor, const std::exception& e) {
  H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, H5E_VFL, minor, "%s", e.what());
}

// Runs fn; an exception becomes an HDF5 error (and the thread's last error).
template <typename Fn>
herr_t guarded(const char* func, H5E_minor_t minor, Fn&& fn) {
  try {
    fn();
    return 0;
  } catch (const std::exception& e) {
    t_last_error = std::current_exception();
    push_error(func, minor, e);
    return -1;
  }
}

DriverFile* as_file(const H5FD_t* f) {
  return reinterpret_cast<const DriverHandle*>(f)->file;
}

void* fapl_copy(const void* p) {
  try {
    return new FaplInfo(*static_cast<const FaplInfo*>(p));
  } catch (const std::exception& e) {
    push_error("undo_fapl_copy", H5E_CANTCOPY, e);
    return nullptr;
  }
}
herr_t fapl_free(void* p) {
  delete static_cast<FaplInfo*>(p);
  return 0;
}
void* fapl_get(H5FD_t* f) {
  try {
    return new FaplInfo{as_file(f)->cfg};
  } catch (const std::exception& e) {
    push_error("undo_fapl_get", H5E_CANTGET, e);
    return nullptr;
  }
}

JournaledFile::Mode mode_of(unsigned flags) {
  if (!(flags & H5F_ACC_RDWR)) return JournaledFile::Mode::ReadOnly;
  if (flags & H5F_ACC_CREAT) {
    if (flags & H5F_ACC_EXCL) return JournaledFile::Mode::CreateNew;
    if (flags & H5F_ACC_TRUNC) return JournaledFile::Mode::CreateTrunc;
    return JournaledFile::Mode::Create;
  }
  if (flags & H5F_ACC_TRUNC) return JournaledFile::Mode::CreateTrunc;
  return JournaledFile::Mode::ReadWrite;
}

H5FD_t* drv_open(const char* name, unsigned flags, hid_t fapl, haddr_t maxaddr) {
  t_last_error = nullptr;
  DriverHandle* out = nullptr;
  herr_t r = guarded("undo_open", H5E_CANTOPENFILE, [&] {
    if (!name || !*name) throw InvalidArgumentError("", "empty file name");
    if (maxaddr == 0 || maxaddr == HADDR_UNDEF || maxaddr > kMaxAddr)
      throw InvalidArgumentError(name, "bad maxaddr");
    const FaplInfo* info = static_cast<const FaplInfo*>(H5Pget_driver_info(fapl));
    DriverConfig cfg = info ? info->cfg : DriverConfig{};
    Env* env = cfg.env ? cfg.env : Env::posix();
    // A user's bare file may be a symlink: resolve it once, so the Env
    // (which never follows one) opens the file itself, and its default
    // journal sits beside the real file. A store's files are never followed.
    std::string path = cfg.follow_symlinks ? env->resolve_symlinks(name) : std::string(name);
    std::string journal = cfg.journal_path.empty() ? default_journal_path(path) : cfg.journal_path;
    JournaledFile::Mode mode = mode_of(flags);

    auto f = std::make_unique<DriverFile>();
    f->cfg = cfg;
    std::exception_ptr earlier = std::exchange(t_failed_open_error, nullptr);
    if (earlier && t_failed_open_key == normalize(path) && (flags & H5F_ACC_CREAT))
      std::rethrow_exception(earlier);
    // Open the file first (never truncating: it may be open already) to learn
    // which file it is; a new file's name is made durable.
    std::unique_ptr<File> data;
    bool created = false;
    if (mode == JournaledFile::Mode::ReadOnly) {
      data = env->open(path, OpenMode::ReadOnly);
    } else if (mode == JournaledFile::Mode::ReadWrite) {
      data = env->open(path, OpenMode::ReadWrite);
    } else if (mode == JournaledFile::Mode::CreateNew) {
      data = env->open(path, OpenMode::CreateNew);
      created = true;
    } else {
      created = !env->exists(path);
      data = env->open(path, OpenMode::Create);
    }
    if (created) env->sync_dir(path_dirname(path));
    f->key = key_of(data->identity(), path);
    Registry& reg = registry();
    MutexLock l(reg.mu);
    auto it = reg.files.find(f->key);
    if (it != reg.files.end()) {
      if (it->second.opens == 0 && mode == JournaledFile::Mode::ReadOnly)
        throw StateError(path, "the file was closed inside a transaction; reopen it read-write to resume it");
      if (it->second.opens == 0 && (flags & H5F_ACC_TRUNC))
        throw StateError(path, "cannot truncate: the file was closed inside an unfinished transaction");
      f->jf = it->second.jf;
      it->second.opens++;
    } else {
      // The lock comes before anything reads the journal: a second process
      // must never revert (or read through) a live transaction's journal.
      bool locked = take_file_lock(*data, mode != JournaledFile::Mode::ReadOnly, lock_policy(fapl));
      JournaledFileOptions o;
      o.page_size = cfg.page_size;
      o.buffer_bytes = cfg.buffer_bytes;
      o.sync_every_write = cfg.sync_every_write;
      f->jf = std::make_shared<JournaledFile>(env, path, journal, mode, o, std::move(data));
      f->jf->set_locked(locked);
      reg.files[f->key] = Registry::Entry{f->jf, 1};
    }
    out = new DriverHandle();
    out->file = f.release();
  });
  if (r < 0 && !(flags & H5F_ACC_CREAT)) {
    try {
      std::rethrow_exception(t_last_error);
    } catch (const NotFoundError&) {
      // The expected failure of H5Fcreate's first attempt on a new file.
    } catch (...) {
      t_failed_open_key = normalize(name ? name : "");
      t_failed_open_error = t_last_error;
    }
  }
  return r < 0 ? nullptr : &out->pub;
}

// A failing close is reported on the error stack and as the thread's last
// error, but returns success: HDF5 1.10 keeps the file id of a failed close
// pointing at freed memory and crashes on it at exit. The file's journal
// stays pending, so the next open reverts the unfinished transaction.
herr_t drv_close(H5FD_t* file) {
  std::unique_ptr<DriverHandle> handle(reinterpret_cast<DriverHandle*>(file));
  std::unique_ptr<DriverFile> f(handle->file);
  guarded("undo_close", H5E_CANTCLOSEFILE, [&] {
    Registry& reg = registry();
    MutexLock l(reg.mu);
    auto it = reg.files.find(f->key);
    if (it == reg.files.end() || it->second.jf != f->jf) return;
    if (--it->second.opens > 0) return;
    bool keep = false;
    try {
      keep = f->jf->close();
    } catch (...) {
      reg.files.erase(it);  // unusable; its journal stays pending for the next open
      throw;
    }
    if (!keep) reg.files.erase(it);
  });
  return 0;
}

int drv_cmp(const H5FD_t* a, const H5FD_t* b) {
  int c = as_file(a)->key.compare(as_file(b)->key);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

herr_t drv_query(const H5FD_t*, unsigned long* flags) {
  if (flags)
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA;
  return 0;
}

haddr_t drv_get_eoa(const H5FD_t* f, H5FD_mem_t) {
  return as_file(f)->eoa;
}

herr_t drv_set_eoa(H5FD_t* f, H5FD_mem_t, haddr_t addr) {
  as_file(f)->eoa = addr;
  return 0;
}

haddr_t drv_get_eof(const H5FD_t* f, H5FD_mem_t) {
  haddr_t eof = HADDR_UNDEF;
  guarded("undo_get_eof", H5E_CANTGET, [&] { eof = as_file(f)->jf->size(); });
  return eof;
}

herr_t drv_get_handle(H5FD_t* f, hid_t, void** handle) {
  if (!handle) return -1;
  *handle = f;
  return 0;
}

bool region_overflow(haddr_t addr, size_t size) {
  return addr == HADDR_UNDEF || addr > kMaxAddr || size > kMaxAddr - addr;
}

herr_t drv_read(H5FD_t* f, H5FD_mem_t, hid_t, haddr_t addr, size_t size, void* buf) {
  return guarded("undo_read", H5E_READERROR, [&] {
    if (region_overflow(addr, size))
      throw InvalidArgumentError(as_file(f)->jf->data_path(), "read address overflow");
    as_file(f)->jf->read(addr, buf, size);
  });
}

herr_t drv_write(H5FD_t* f, H5FD_mem_t, hid_t, haddr_t addr, size_t size, const void* buf) {
  return guarded("undo_write", H5E_WRITEERROR, [&] {
    if (region_overflow(addr, size))
      throw InvalidArgumentError(as_file(f)->jf->data_path(), "write address overflow");
    as_file(f)->jf->write(addr, buf, size);
  });
}

herr_t drv_flush(H5FD_t*, hid_t, hbool_t) {
  return 0;
}

herr_t drv_truncate(H5FD_t* f, hid_t, hbool_t) {
  return guarded("undo_truncate", H5E_CANTUPDATE, [&] {
    DriverFile* df = as_file(f);
    if (df->jf->read_only()) return;
    if (df->jf->size() != df->eoa) df->jf->truncate(df->eoa);
  });
}

// HDF5's flock is taken in drv_open, before a pending journal is read
// (H5F_open calls lock only after open), and held by the JournaledFile.
herr_t drv_lock(H5FD_t*, hbool_t) {
  return 0;
}
herr_t drv_unlock(H5FD_t*) {
  return 0;
}

herr_t drv_terminate() {
  MutexLock l(g_id_mu);
  g_id = H5I_INVALID_HID;
  return 0;
}

H5FD_class_t make_class() {
  H5FD_class_t c;
  std::memset(&c, 0, sizeof c);
  c.name = "h5tx_undo";
  c.maxaddr = kMaxAddr;
  c.fc_degree = H5F_CLOSE_WEAK;
  c.terminate = drv_terminate;
  c.fapl_size = sizeof(FaplInfo);
  c.fapl_get = fapl_get;
  c.fapl_copy = fapl_copy;
  c.fapl_free = fapl_free;
  c.open = drv_open;
  c.close = drv_close;
  c.cmp = drv_cmp;
  c.query = drv_query;
  c.get_eoa = drv_get_eoa;
  c.set_eoa = drv_set_eoa;
  c.get_eof = drv_get_eof;
  c.get_handle = drv_get_handle;
  c.read = drv_read;
  c.write = drv_write;
  c.flush = drv_flush;
  c.truncate = drv_truncate;
  c.lock = drv_lock;
  c.unlock = drv_unlock;
  const H5FD_mem_t map[H5FD_MEM_NTYPES] = H5FD_FLMAP_DICHOTOMY;
  for (int i = 0; i < H5FD_MEM_NTYPES; i++) c.fl_map[i] = map[i];
  return c;
}

std::shared_ptr<JournaledFile> file_of(hid_t file) {
  hdf5::Handle fapl(H5Fget_access_plist(file), "H5Fget_access_plist");
  if (H5Pget_driver(fapl) != driver_id())
    throw StateError("", "the HDF5 file is not open with the h5tx undo driver");
  void* h = nullptr;
  hdf5::check(H5Fget_vfd_handle(file, H5P_DEFAULT, &h), "H5Fget_vfd_handle");
  DriverFile* f = h ? static_cast<DriverHandle*>(h)->file : nullptr;
  if (!f || f->magic != kFileMagic) throw StateError("", "bad undo driver handle");
  return f->jf;
}

void flush(hid_t file, const std::shared_ptr<JournaledFile>& jf) {
  hdf5::check(H5Fflush(file, H5F_SCOPE_LOCAL), "H5Fflush", jf->data_path());
}

}  // namespace

hid_t driver_id() {
  MutexLock l(g_id_mu);
  if (g_id >= 0 && H5Iget_type(g_id) == H5I_VFL) return g_id;
  static const H5FD_class_t cls = make_class();
  g_id = H5FDregister(&cls);
  if (g_id < 0) hdf5::throw_hdf5_error("H5FDregister(h5tx undo driver)", "");
  return g_id;
}

void unregister_driver() {
  hid_t id;
  {
    MutexLock l(g_id_mu);
    id = g_id;
    g_id = H5I_INVALID_HID;
  }
  if (id >= 0 && H5Iget_type(id) == H5I_VFL)
    hdf5::check(H5FDunregister(id), "H5FDunregister(h5tx undo driver)");
}

void set_fapl(hid_t fapl, const DriverConfig& cfg) {
  if (cfg.page_size < kMinPageSize || cfg.page_size > kMaxPageSize)
    throw InvalidArgumentError(
        cfg.journal_path, "undo page size " + std::to_string(cfg.page_size) + " is outside [512, 64 MiB]");
  FaplInfo info{cfg};
  hdf5::check(H5Pset_driver(fapl, driver_id(), &info), "H5Pset_driver(h5tx undo driver)");
}

void tx_start(hid_t file) {
  tx_start(file, "");
}

void tx_start(hid_t file, const std::string& journal_path) {
  hdf5::Lock l(hdf5::mutex());
  auto jf = file_of(file);
  flush(file, jf);
  jf->tx_start(journal_path);
}

void tx_start_kept(hid_t file, const std::string& journal_path) {
  hdf5::Lock l(hdf5::mutex());
  auto jf = file_of(file);
  flush(file, jf);
  jf->tx_start(journal_path, true);
}

void tx_commit(hid_t file) {
  hdf5::Lock l(hdf5::mutex());
  auto jf = file_of(file);
  flush(file, jf);
  jf->tx_commit();
}

void tx_abort(hid_t file) {
  hdf5::Lock l(hdf5::mutex());
  file_of(file)->tx_abort();
}

void set_file_lock(hid_t file, LockKind kind) {
  hdf5::Lock l(hdf5::mutex());
  file_of(file)->relock(kind);
}

void tx_prepare(hid_t file) {
  hdf5::Lock l(hdf5::mutex());
  auto jf = file_of(file);
  flush(file, jf);
  jf->tx_prepare();
}

void tx_forget(hid_t file) {
  hdf5::Lock l(hdf5::mutex());
  file_of(file)->tx_forget();
}

int tx_depth(hid_t file) {
  hdf5::Lock l(hdf5::mutex());
  return file_of(file)->depth();
}

namespace {

void close_ending(hid_t file, JournaledFile::EndOnClose how) {
  hdf5::Lock l(hdf5::mutex());
  auto jf = file_of(file);
  ssize_t ids = H5Fget_obj_count(file, H5F_OBJ_ALL);
  if (ids != 1)
    throw StateError(jf->data_path(), "cannot end the transaction on close: " + std::to_string(ids - 1) +
                                          " other ids of the file are open");
  jf->end_on_close(how);
  take_last_error();
  herr_t status = H5Fclose(file);
  if (std::exception_ptr e = take_last_error()) std::rethrow_exception(e);
  if (status < 0) hdf5::throw_hdf5_error("H5Fclose", jf->data_path());
}

}  // namespace

void close_commit(hid_t file) {
  close_ending(file, JournaledFile::EndOnClose::Commit);
}
void close_prepare(hid_t file) {
  close_ending(file, JournaledFile::EndOnClose::Prepare);
}

bool has_pending_journal(Env& env, const std::string& journal_path) {
  auto p = PendingJournal::load(env, journal_path);
  return p && !p->nothing_to_undo();
}

bool recover(Env& env, const std::string& data_path, const std::string& journal_path) {
  const bool data_exists = env.exists(data_path);
  if (data_exists) {
    FileIdentity id = env.open(data_path, OpenMode::ReadOnly)->identity();
    Registry& reg = registry();
    MutexLock l(reg.mu);
    if (reg.files.count(key_of(id, data_path)))
      throw StateError(data_path,
                       "cannot recover a file that is open (or inside a parked transaction) "
                       "in this process");
  }
  if (!env.exists(journal_path)) return false;  // nothing to do, nothing to lock
  // The lock before the journal is even read: a live transaction's journal
  // (perhaps not yet synced, so it looks empty) must not be touched.
  std::unique_ptr<File> data;
  if (data_exists) {
    data = env.open(data_path, OpenMode::ReadWrite);
    take_file_lock(*data, true, lock_policy(H5I_INVALID_HID));
  }
  return revert_pending_journal(env, data_path, journal_path, data.get());
}

std::string default_journal_path(const std::string& data_path) {
  return data_path + ".journal";
}

std::exception_ptr take_last_error() {
  std::exception_ptr e = t_last_error;
  t_last_error = nullptr;
  return e;
}

}  // namespace undo
}  // namespace h5tx
