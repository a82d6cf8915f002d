// _h5tx: the compiled half of the Python package h5tx (python/h5tx/).
// Binds the public C++ API only (include/h5tx/): Store, Transaction and
// the sec2j C names. The Python half (__init__.py, sec2j.py) gives it
// Python's idiom: keyword options, NumPy dtypes, slicing, context managers.
//
// Rules kept here:
//  - every h5tx::Error becomes the h5tx.Error subclass of its category
//    (h5tx/_errors.py), carrying path, message, errno and code;
//  - the GIL is released around every call that may block or do I/O, and
//    taken back by abort hooks before they run Python code;
//  - a Transaction (not thread-safe in C++) is guarded by a mutex, and a
//    Store by a shared mutex (close() exclusive), taken after the GIL is
//    released, so that misuse from several Python threads cannot crash;
//  - arrays are passed by pointer: the caller (Python) hands in C-contiguous
//    buffers of the right size, read results are written straight into a
//    NumPy array, and read_chunk's vector becomes the array's memory.
#include <dlfcn.h>
#include <hdf5.h>
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "h5tx/backup.hpp"
#include "h5tx/error.hpp"
#include "h5tx/sec2j.h"
#include "h5tx/store.hpp"

namespace py = pybind11;
using namespace h5tx;

namespace {

// --- errors ------------------------------------------------------------------

py::object* g_errors = nullptr;  // the module h5tx._errors (never freed: used at exit too)

const char* class_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::Io:
      return "IoError";
    case ErrorCode::Corruption:
      return "CorruptionError";
    case ErrorCode::Conflict:
      return "ConflictError";
    case ErrorCode::Busy:
      return "BusyError";
    case ErrorCode::InvalidArgument:
      return "InvalidArgumentError";
    case ErrorCode::NotFound:
      return "NotFoundError";
    case ErrorCode::AlreadyExists:
      return "AlreadyExistsError";
    case ErrorCode::Unsupported:
      return "UnsupportedError";
    case ErrorCode::Hdf5:
      return "Hdf5Error";
    case ErrorCode::State:
      return "StateError";
  }
  return "Error";
}

void set_python_error(ErrorCode code, const std::string& what, const std::string& path,
                      const std::string& detail, int sys_errno) {
  py::object cls = g_errors->attr(class_name(code));
  py::object exc = cls(what, path, detail, sys_errno, to_string(code));
  PyErr_SetObject(cls.ptr(), exc.ptr());
}

[[noreturn]] void raise(ErrorCode code, const std::string& path, const std::string& detail) {
  Error e(code, path, detail);
  set_python_error(code, e.what(), path, detail, 0);
  throw py::error_already_set();
}

// --- guards ------------------------------------------------------------------

std::chrono::milliseconds to_ms(double seconds, const char* what) {
  if (std::isnan(seconds)) raise(ErrorCode::InvalidArgument, "", std::string(what) + " is NaN");
  if (std::isinf(seconds) || seconds * 1000.0 > 9.0e15 || seconds * 1000.0 < -9.0e15)
    return seconds < 0 ? std::chrono::milliseconds(-1) : std::chrono::milliseconds::max();
  return std::chrono::milliseconds(static_cast<int64_t>(std::llround(seconds * 1000.0)));
}

double to_seconds(std::chrono::milliseconds ms) {
  if (ms == std::chrono::milliseconds::max()) return INFINITY;
  return double(ms.count()) / 1000.0;
}

// The Store, its close() excluding every other call.
struct PyStore {
  std::unique_ptr<Store> store;
  std::shared_mutex mu;
  bool closed = false;

  Store& get(const char* op) {
    if (closed || !store) raise(ErrorCode::State, "", std::string(op) + ": the store is closed");
    return *store;
  }
};

// A Python object kept by a C++ std::function (an abort hook): its last
// reference goes with the GIL held, whichever thread drops it.
struct PyHook {
  py::object fn;
  explicit PyHook(py::object f) : fn(std::move(f)) {}
  ~PyHook() {
    if (!Py_IsInitialized()) {
      fn.release();  // the interpreter is gone: leak rather than crash
      return;
    }
    py::gil_scoped_acquire gil;
    fn = py::object();
  }
};

struct PyTransaction {
  Transaction tx;
  std::mutex mu;
  std::string home;
  Mode mode = Mode::Redo;
  bool read_only = false;
};

// Runs `f` on the transaction with the GIL released and the transaction's
// mutex held (in that order: a thread waiting for the mutex never holds the GIL).
template <class F>
auto with_tx(PyTransaction& t, F&& f) -> decltype(f(t.tx)) {
  py::gil_scoped_release nogil;
  std::lock_guard<std::mutex> lock(t.mu);
  return f(t.tx);
}

template <class F>
auto with_store(PyStore& s, const char* op, F&& f) -> decltype(f(*s.store)) {
  py::gil_scoped_release nogil;
  std::shared_lock<std::shared_mutex> lock(s.mu);
  if (s.closed || !s.store) {
    py::gil_scoped_acquire gil;
    raise(ErrorCode::State, "", std::string(op) + ": the store is closed");
  }
  return f(*s.store);
}

// --- values ------------------------------------------------------------------

struct BufferView {
  const void* ptr = nullptr;
  size_t size = 0;
};

// A read-only view of a C-contiguous buffer (bytes, bytearray, memoryview,
// NumPy array). The caller keeps the object alive for the call.
BufferView contiguous(const py::buffer& b, const char* what) {
  Py_buffer view;
  if (PyObject_GetBuffer(b.ptr(), &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
    PyErr_Clear();
    raise(ErrorCode::InvalidArgument, "",
          std::string(what) + ": needs a C-contiguous buffer (bytes or a C-ordered NumPy array)");
  }
  BufferView v{view.buf, size_t(view.len)};
  PyBuffer_Release(&view);  // the object itself keeps the memory
  return v;
}

struct WritableView {
  void* ptr = nullptr;
  size_t size = 0;
};

WritableView writable(const py::buffer& b, const char* what) {
  Py_buffer view;
  if (PyObject_GetBuffer(b.ptr(), &view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) != 0) {
    PyErr_Clear();
    raise(ErrorCode::InvalidArgument, "", std::string(what) + ": needs a writable C-contiguous buffer");
  }
  WritableView v{view.buf, size_t(view.len)};
  PyBuffer_Release(&view);
  return v;
}

size_t elements(const Shape& s) {
  size_t n = 1;
  for (uint64_t d : s) {
    if (d != 0 && n > SIZE_MAX / d) raise(ErrorCode::InvalidArgument, "", "selection too large");
    n *= size_t(d);
  }
  return n;
}

py::dict spec_dict(const DatasetSpec& s) {
  py::dict d;
  d["dtype"] = dtype_name(s.dtype);
  d["shape"] = py::tuple(py::cast(s.shape));
  py::list mx;
  for (uint64_t m : (s.max_shape.empty() ? s.shape : s.max_shape)) {
    if (m == kUnlimited)
      mx.append(py::none());
    else
      mx.append(m);
  }
  d["maxshape"] = py::tuple(mx);
  d["chunks"] = py::tuple(py::cast(s.chunk));
  d["fillvalue"] = s.fill_value;
  d["compression"] = s.compression == Compression::ShuffleDeflate ? py::object(py::str("gzip")) : py::none();
  d["compression_opts"] =
      s.compression == Compression::ShuffleDeflate ? py::object(py::int_(s.deflate_level)) : py::none();
  d["shuffle"] = s.compression == Compression::ShuffleDeflate;
  d["fletcher32"] = s.fletcher32;
  return d;
}

// A DatasetSpec from the Python side's fields (maxshape: None = unlimited).
DatasetSpec make_spec(const std::string& dtype, const Shape& shape, const std::vector<py::object>& maxshape,
                      const Shape& chunks, double fill, bool compress, int level, bool fletcher32) {
  DatasetSpec s;
  s.dtype = parse_dtype(dtype);
  s.shape = shape;
  for (const py::object& o : maxshape) s.max_shape.push_back(o.is_none() ? kUnlimited : o.cast<uint64_t>());
  s.chunk = chunks;
  s.fill_value = fill;
  s.compression = compress ? Compression::ShuffleDeflate : Compression::None;
  if (compress) s.deflate_level = level;
  s.fletcher32 = fletcher32;
  return s;
}

// A staged chunk record as a plain tuple (picklable, shipped between
// processes): (file, dataset, coords, filter_mask, part, offset, size, hash).
py::tuple staged_tuple(const StagedChunk& c) {
  return py::make_tuple(c.file, c.dataset, py::tuple(py::cast(c.coords)), c.filter_mask, c.part, c.offset,
                        c.size, c.hash);
}

StagedChunk staged_from(const py::handle& h) {
  py::tuple t = py::reinterpret_borrow<py::object>(h).cast<py::tuple>();
  if (t.size() != 8) raise(ErrorCode::InvalidArgument, "", "a staged chunk record is a tuple of 8 fields");
  StagedChunk c;
  c.file = t[0].cast<std::string>();
  c.dataset = t[1].cast<std::string>();
  c.coords = t[2].cast<Shape>();
  c.filter_mask = t[3].cast<uint32_t>();
  c.part = t[4].cast<std::string>();
  c.offset = t[5].cast<uint64_t>();
  c.size = t[6].cast<uint64_t>();
  c.hash = t[7].cast<uint64_t>();
  return c;
}

py::dict info_dict(const TransactionInfo& t) {
  py::dict d;
  d["txid"] = t.txid;
  d["commit_time"] = double(t.commit_time_micros) / 1e6;
  d["bytes"] = t.bytes;
  d["operations"] = t.operations;
  d["message"] = t.message;
  d["metadata"] = t.metadata;
  return d;
}

// --- sec2j -------------------------------------------------------------------

struct StackEntry {
  hid_t cls, maj, min;
  std::string func, desc;
};

// Copies each entry; no HDF5 call here (API calls clear the default stack).
herr_t walk_cb(unsigned, const H5E_error2_t* e, void* data) {
  static_cast<std::vector<StackEntry>*>(data)->push_back(
      {e->cls_id, e->maj_num, e->min_num, e->func_name ? e->func_name : "?", e->desc ? e->desc : ""});
  return 0;
}

// HDF5's current error stack as text (innermost first); the stack is cleared.
std::string error_stack_text() {
  std::vector<StackEntry> entries;
  hid_t stack = H5Eget_current_stack();  // a copy; the default stack is cleared
  if (stack < 0) return "";
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, walk_cb, &entries);
  std::string out;
  for (size_t i = 0; i < entries.size(); i++) {
    const StackEntry& e = entries[i];
    char cls[64] = "", maj[128] = "", min[128] = "";
    H5Eget_class_name(e.cls, cls, sizeof cls);
    H5Eget_msg(e.maj, nullptr, maj, sizeof maj);
    H5Eget_msg(e.min, nullptr, min, sizeof min);
    out += "\n  #" + std::to_string(i) + " " + cls + " " + e.func + "(): " + e.desc + " [" + maj + " / " +
           min + "]";
  }
  H5Eclose_stack(stack);
  return out;
}

// Runs an sec2j C call with the GIL released; a negative result raises
// h5tx.Hdf5Error with `what` and HDF5's error stack.
template <class F>
long long sec2j_call(const std::string& what, const std::string& path, F&& f) {
  long long r;
  std::string stack;
  {
    py::gil_scoped_release nogil;
    H5Eclear2(H5E_DEFAULT);
    r = static_cast<long long>(f());
    if (r < 0) stack = error_stack_text();
  }
  if (r < 0)
    raise(ErrorCode::Hdf5, path,
          what + " failed" + (stack.empty() ? std::string(" (HDF5's error stack is empty)") : ":" + stack));
  return r;
}

std::string library_path(const void* symbol) {
  Dl_info info;
  if (dladdr(symbol, &info) && info.dli_fname) return info.dli_fname;
  return "";
}

}  // namespace

PYBIND11_MODULE(_h5tx, m) {
  m.doc() = "The compiled part of h5tx (use the h5tx package, not this module).";
  g_errors = new py::object(py::module_::import("h5tx._errors"));
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      set_python_error(e.code(), e.what(), e.path(), e.detail(), e.sys_errno());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "out of memory");
    }
  });

  m.def("version", &h5tx::version);
  m.def("hdf5_version_built", [] {
    return std::to_string(H5_VERS_MAJOR) + "." + std::to_string(H5_VERS_MINOR) + "." +
           std::to_string(H5_VERS_RELEASE);
  });
  m.def("hdf5_version_loaded", [] {
    unsigned a = 0, b = 0, c = 0;
    H5get_libversion(&a, &b, &c);
    return std::to_string(a) + "." + std::to_string(b) + "." + std::to_string(c);
  });
  m.def("hdf5_library_path", [] { return library_path(reinterpret_cast<const void*>(&H5get_libversion)); });
  m.def("h5tx_library_path", [] { return library_path(reinterpret_cast<const void*>(&h5tx::version)); });

  // --- Backup, restore, replication (include/h5tx/backup.hpp) ---------------
  // Each returns (txid, from, transactions, bytes); the GIL is released.
  auto result = [](const BackupResult& r) { return py::make_tuple(r.txid, r.from, r.transactions, r.bytes); };
  m.def("backup", [result](const std::string& home, const std::string& dest, bool incremental, bool stream,
                           const std::string& slot, bool no_slot, double lock_timeout) {
    BackupOptions o;
    o.slot = slot;
    o.no_slot = no_slot;
    o.store.lock_timeout = to_ms(lock_timeout, "lock_timeout");
    BackupResult r;
    {
      py::gil_scoped_release nogil;
      r = incremental ? backup_incremental(home, dest, o)
          : stream    ? backup_stream(home, dest, o)
                      : backup(home, dest, o);
    }
    return result(r);
  });
  m.def("restore", [result](const std::string& dest, const std::string& full,
                            const std::vector<std::string>& incr, uint64_t to, double lock_timeout) {
    RestoreOptions o;
    o.to = to;
    o.store.lock_timeout = to_ms(lock_timeout, "lock_timeout");
    BackupResult r;
    {
      py::gil_scoped_release nogil;
      r = restore(dest, full, incr, o);
    }
    return result(r);
  });
  // follow: keeps going while `keep_going()` (a Python callable, called
  // with the GIL between polls) returns true.
  m.def("replicate", [result](const std::string& home, const std::string& replica, const std::string& slot,
                              double lock_timeout, bool follow, py::object keep_going, unsigned poll_ms) {
    ReplicateOptions o;
    o.slot = slot;
    o.store.lock_timeout = to_ms(lock_timeout, "lock_timeout");
    o.follow = follow;
    o.poll_ms = poll_ms;
    if (!keep_going.is_none())
      o.keep_going = [keep_going] {
        py::gil_scoped_acquire gil;
        return keep_going().cast<bool>();
      };
    BackupResult r;
    {
      py::gil_scoped_release nogil;
      r = replicate(home, replica, o);
    }
    return result(r);
  });
  m.def("promote", [](const std::string& replica) {
    py::gil_scoped_release nogil;
    promote(replica);
  });
  m.def("position", [](const std::string& store) { return position(store); });
  m.def("list_slots", [](const std::string& home) {
    py::list out;
    for (const SlotInfo& s : list_slots(home))
      out.append(py::make_tuple(s.name, s.txid, s.pinned_bytes, s.damaged));
    return out;
  });
  m.def("drop_slot", [](const std::string& home, const std::string& name) { drop_slot(home, name); });

  // --- Options ---------------------------------------------------------------
  py::class_<Options>(m, "Options")
      .def(py::init<>())
      .def_property(
          "read_only", [](const Options& o) { return o.read_only; },
          [](Options& o, bool v) { o.read_only = v; })
      .def_property(
          "lock_timeout", [](const Options& o) { return to_seconds(o.lock_timeout); },
          [](Options& o, double s) { o.lock_timeout = to_ms(s, "lock_timeout"); })
      .def_readwrite("max_unflushed_transactions", &Options::max_unflushed_transactions)
      .def_readwrite("max_unflushed_bytes", &Options::max_unflushed_bytes)
      .def_readwrite("flush_batch_transactions", &Options::flush_batch_transactions)
      .def_readwrite("flush_batch_bytes", &Options::flush_batch_bytes)
      .def_property(
          "flush_delay", [](const Options& o) { return to_seconds(o.flush_delay); },
          [](Options& o, double s) { o.flush_delay = to_ms(s, "flush_delay"); })
      .def_readwrite("spill_bytes", &Options::spill_bytes)
      .def_readwrite("spill_chunk_bytes", &Options::spill_chunk_bytes)
      .def_readwrite("background_flusher", &Options::background_flusher)
      .def_readwrite("undo_page_size", &Options::undo_page_size)
      .def_property(
          "history",
          [](const Options& o) -> py::object {
            if (!o.history) return py::none();
            return py::bool_(*o.history);
          },
          [](Options& o, py::object v) {
            if (v.is_none())
              o.history.reset();
            else
              o.history = v.cast<bool>();
          })
      .def_property(
          "mode",
          [](const Options& o) -> py::object {
            if (!o.mode) return py::none();
            return py::str(*o.mode == Mode::Undo ? "undo" : "redo");
          },
          [](Options& o, const std::string& mode) {
            if (mode == "redo")
              o.mode = Mode::Redo;
            else if (mode == "undo")
              o.mode = Mode::Undo;
            else
              raise(ErrorCode::InvalidArgument, "",
                    "mode must be \"redo\" or \"undo\", not \"" + mode + "\"");
          });

  // --- Transaction -------------------------------------------------------------
  py::class_<PyTransaction, std::shared_ptr<PyTransaction>>(m, "Transaction")
      .def_property_readonly(
          "txid", [](PyTransaction& t) { return with_tx(t, [](Transaction& x) { return x.txid(); }); })
      .def_property_readonly(
          "snapshot",
          [](PyTransaction& t) { return with_tx(t, [](Transaction& x) { return x.snapshot(); }); })
      .def_property_readonly(
          "active", [](PyTransaction& t) { return with_tx(t, [](Transaction& x) { return x.active(); }); })
      .def_property_readonly("read_only", [](PyTransaction& t) { return t.read_only; })
      .def_property_readonly("mode", [](PyTransaction& t) { return t.mode == Mode::Undo ? "undo" : "redo"; })
      .def("create_file", [](PyTransaction& t,
                             const std::string& f) { with_tx(t, [&](Transaction& x) { x.create_file(f); }); })
      .def("create_dataset",
           [](PyTransaction& t, const std::string& f, const std::string& p, const std::string& dtype,
              const Shape& shape, const std::vector<py::object>& maxshape, const Shape& chunks, double fill,
              bool compress, int level, bool fletcher32) {
             DatasetSpec s = make_spec(dtype, shape, maxshape, chunks, fill, compress, level, fletcher32);
             with_tx(t, [&](Transaction& x) { x.create_dataset(f, p, s); });
           })
      .def("extend_dataset",
           [](PyTransaction& t, const std::string& f, const std::string& p, const Shape& s) {
             with_tx(t, [&](Transaction& x) { x.extend_dataset(f, p, s); });
           })
      .def("dataset_spec",
           [](PyTransaction& t, const std::string& f, const std::string& p) {
             DatasetSpec s = with_tx(t, [&](Transaction& x) { return x.dataset_spec(f, p); });
             return spec_dict(s);
           })
      .def("list_files",
           [](PyTransaction& t) { return with_tx(t, [](Transaction& x) { return x.list_files(); }); })
      .def("list_datasets",
           [](PyTransaction& t, const std::string& f) {
             return with_tx(t, [&](Transaction& x) { return x.list_datasets(f); });
           })
      // Attributes: numbers as (dtype name, little-endian bytes), strings as str.
      .def("set_attribute_string",
           [](PyTransaction& t, const std::string& f, const std::string& o, const std::string& n,
              const std::string& text) {
             AttributeValue v = AttributeValue::string(text);
             with_tx(t, [&](Transaction& x) { x.set_attribute(f, o, n, v); });
           })
      .def("set_attribute_numbers",
           [](PyTransaction& t, const std::string& f, const std::string& o, const std::string& n,
              const std::string& dtype, const py::buffer& data) {
             AttributeValue v;
             v.dtype = parse_dtype(dtype);
             BufferView b = contiguous(data, "attribute value");
             v.bytes.assign(static_cast<const uint8_t*>(b.ptr), static_cast<const uint8_t*>(b.ptr) + b.size);
             with_tx(t, [&](Transaction& x) { x.set_attribute(f, o, n, v); });
           })
      .def("get_attribute",
           [](PyTransaction& t, const std::string& f, const std::string& o,
              const std::string& n) -> py::tuple {
             AttributeValue v = with_tx(t, [&](Transaction& x) { return x.get_attribute(f, o, n); });
             if (v.is_string) return py::make_tuple(py::none(), py::str(v.text), true);
             return py::make_tuple(dtype_name(v.dtype),
                                   py::bytes(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()),
                                   false);
           })
      .def("list_attributes",
           [](PyTransaction& t, const std::string& f, const std::string& o) {
             return with_tx(t, [&](Transaction& x) { return x.list_attributes(f, o); });
           })
      .def("delete_attribute",
           [](PyTransaction& t, const std::string& f, const std::string& o, const std::string& n) {
             with_tx(t, [&](Transaction& x) { x.delete_attribute(f, o, n); });
           })
      .def("write_chunk",
           [](PyTransaction& t, const std::string& f, const std::string& d, const Shape& c,
              const py::buffer& data) {
             BufferView b = contiguous(data, "write_chunk");
             with_tx(t, [&](Transaction& x) { x.write_chunk(f, d, c, b.ptr, b.size); });
           })
      .def("read_chunk",
           [](PyTransaction& t, const std::string& f, const std::string& d, const Shape& c) {
             auto* v = new std::vector<uint8_t>();
             py::capsule owner(v, [](void* p) { delete static_cast<std::vector<uint8_t>*>(p); });
             *v = with_tx(t, [&](Transaction& x) { return x.read_chunk(f, d, c); });
             return py::array(py::dtype("u1"), {v->size()}, {size_t(1)}, v->data(), owner);
           })
      .def("write",
           [](PyTransaction& t, const std::string& f, const std::string& d, const Shape& start,
              const Shape& count, const std::string& dtype, const py::buffer& data) {
             DType type = parse_dtype(dtype);
             BufferView b = contiguous(data, "write");
             if (b.size != elements(count) * dtype_size(type))
               raise(ErrorCode::InvalidArgument, f + ":" + d,
                     "the data has " + std::to_string(b.size) + " bytes, the selection needs " +
                         std::to_string(elements(count) * dtype_size(type)));
             with_tx(t, [&](Transaction& x) { x.write(f, d, start, count, type, b.ptr); });
           })
      .def("read_into",
           [](PyTransaction& t, const std::string& f, const std::string& d, const Shape& start,
              const Shape& count, const std::string& dtype, const py::buffer& out) {
             DType type = parse_dtype(dtype);
             WritableView b = writable(out, "read");
             if (b.size != elements(count) * dtype_size(type))
               raise(ErrorCode::InvalidArgument, f + ":" + d, "output buffer of the wrong size");
             with_tx(t, [&](Transaction& x) { x.read(f, d, start, count, type, b.ptr); });
           })
      .def("savepoint",
           [](PyTransaction& t) { return with_tx(t, [](Transaction& x) { return x.savepoint().id; }); })
      .def("rollback_to",
           [](PyTransaction& t, uint64_t id) {
             with_tx(t, [&](Transaction& x) { x.rollback_to(Savepoint{id}); });
           })
      .def("release", [](PyTransaction& t,
                         uint64_t id) { with_tx(t, [&](Transaction& x) { x.release(Savepoint{id}); }); })
      .def("set_message", [](PyTransaction& t,
                             const std::string& s) { with_tx(t, [&](Transaction& x) { x.set_message(s); }); })
      .def("set_metadata",
           [](PyTransaction& t, const std::string& k, const std::string& v) {
             with_tx(t, [&](Transaction& x) { x.set_metadata(k, v); });
           })
      .def("on_abort",
           [](PyTransaction& t, py::function fn) {
             auto hook = std::make_shared<PyHook>(std::move(fn));
             with_tx(t, [&](Transaction& x) {
               x.on_abort([hook] {
                 py::gil_scoped_acquire gil;
                 try {
                   hook->fn();
                 } catch (py::error_already_set& e) {
                   // An abort cannot fail because of a hook: report it as Python reports errors in __del__.
                   e.discard_as_unraisable("h5tx on_abort hook");
                 }
               });
             });
           })
      .def("hid",
           [](PyTransaction& t, const std::string& f) {
             return static_cast<int64_t>(with_tx(t, [&](Transaction& x) { return x.hid(f); }));
           })
      .def("stage", [](PyTransaction& t) { return with_tx(t, [](Transaction& x) { return x.stage(); }); })
      .def(
          "adopt",
          [](PyTransaction& t, const py::iterable& records, const py::object& token) {
            std::vector<StagedChunk> chunks;
            for (const py::handle& h : records) chunks.push_back(staged_from(h));
            if (token.is_none()) {
              with_tx(t, [&](Transaction& x) { x.adopt(chunks); });
            } else {
              std::string tok = token.cast<std::string>();
              with_tx(t, [&](Transaction& x) { x.adopt(chunks, tok); });
            }
          },
          py::arg("records"), py::arg("token") = py::none())
      .def("commit", [](PyTransaction& t) { with_tx(t, [](Transaction& x) { x.commit(); }); })
      .def("abort", [](PyTransaction& t) { with_tx(t, [](Transaction& x) { x.abort(); }); });

  // --- StagedWriter -------------------------------------------------------------
  py::class_<StagedWriter>(m, "StagedWriter")
      .def(py::init([](const std::string& token) {
             py::gil_scoped_release nogil;
             return std::make_unique<StagedWriter>(token);
           }),
           py::arg("token"))
      .def("write_chunk",
           [](StagedWriter& w, const std::string& f, const std::string& d, const std::string& dtype,
              const Shape& shape, const Shape& chunks, double fill, bool compress, int level, bool fletcher32,
              const Shape& coords, const py::buffer& data) {
             DatasetSpec s = make_spec(dtype, shape, {}, chunks, fill, compress, level, fletcher32);
             BufferView b = contiguous(data, "write_chunk");
             py::gil_scoped_release nogil;
             w.write_chunk(f, d, s, coords, b.ptr, b.size);
           })
      .def("finish",
           [](StagedWriter& w) {
             std::vector<StagedChunk> chunks;
             {
               py::gil_scoped_release nogil;
               chunks = w.finish();
             }
             py::list out;
             for (const auto& c : chunks) out.append(staged_tuple(c));
             return out;
           })
      .def_property_readonly("dir", &StagedWriter::dir)
      .def_property_readonly("part", &StagedWriter::part);

  // --- Store -------------------------------------------------------------------
  py::class_<PyStore, std::shared_ptr<PyStore>>(m, "Store")
      .def_static("create",
                  [](const std::string& home, const Options& o) {
                    auto s = std::make_shared<PyStore>();
                    py::gil_scoped_release nogil;
                    s->store = Store::create(home, o);
                    return s;
                  })
      .def_static("open",
                  [](const std::string& home, const Options& o) {
                    auto s = std::make_shared<PyStore>();
                    py::gil_scoped_release nogil;
                    s->store = Store::open(home, o);
                    return s;
                  })
      .def_static("pack",
                  [](const std::string& home, py::object before, py::object older_than, const Options& o) {
                    PackOptions p;
                    if (!before.is_none()) p.before = before.cast<uint64_t>();
                    if (!older_than.is_none())
                      p.older_than = std::chrono::microseconds(int64_t(older_than.cast<double>() * 1e6));
                    PackStats r;
                    {
                      py::gil_scoped_release nogil;
                      r = Store::pack(home, p, o);
                    }
                    py::dict d;
                    d["oldest"] = r.oldest;
                    d["limit"] = r.limit;
                    d["segments_removed"] = r.segments_removed;
                    d["segments_rewritten"] = r.segments_rewritten;
                    d["bytes_removed"] = r.bytes_removed;
                    d["segments_kept"] = r.segments_kept;
                    d["bytes_kept"] = r.bytes_kept;
                    return d;
                  })
      .def_static("quarantine",
                  [](const std::string& home, uint64_t txid, const Options& o) {
                    py::gil_scoped_release nogil;
                    Store::quarantine(home, txid, o);
                  })
      .def_property_readonly("closed", [](PyStore& s) { return s.closed; })
      .def_property_readonly("mode",
                             [](PyStore& s) { return s.get("mode").mode() == Mode::Undo ? "undo" : "redo"; })
      .def_property_readonly("home", [](PyStore& s) { return s.get("home").home(); })
      .def("data_path", [](PyStore& s, const std::string& f) { return s.get("data_path").data_path(f); })
      .def("begin",
           [](PyStore& s, bool read_only, double timeout, bool check_conflicts, py::object as_of) {
             TxOptions o;
             o.read_only = read_only;
             o.timeout = to_ms(timeout, "timeout");
             o.check_conflicts = check_conflicts;
             if (!as_of.is_none()) o.as_of = as_of.cast<uint64_t>();
             auto t = std::make_shared<PyTransaction>();
             t->read_only = read_only;
             with_store(s, "begin", [&](Store& st) {
               t->tx = st.begin(o);
               t->home = st.home();
               t->mode = st.mode();
               return 0;
             });
             return t;
           })
      .def("flush",
           [](PyStore& s) {
             with_store(s, "flush", [](Store& st) {
               st.flush();
               return 0;
             });
           })
      .def("stats",
           [](PyStore& s) {
             StoreStats st = with_store(s, "stats", [](Store& x) { return x.stats(); });
             py::dict d;
             d["pending_transactions"] = st.pending_transactions;
             d["pending_bytes"] = st.pending_bytes;
             d["flushed_transactions"] = st.flushed_transactions;
             d["flushed_bytes"] = st.flushed_bytes;
             d["flush_batches"] = st.flush_batches;
             d["committed_transactions"] = st.committed_transactions;
             d["last_txid"] = st.last_txid;
             d["flusher_state"] = st.flusher_state;
             d["waiting_for"] = st.waiting_for;
             d["history"] = st.history;
             d["history_oldest"] = st.history_oldest;
             d["history_segments"] = st.history_segments;
             d["history_bytes"] = st.history_bytes;
             return d;
           })
      .def("stage", [](PyStore& s) { return with_store(s, "stage", [](Store& x) { return x.stage(); }); })
      .def("pending",
           [](PyStore& s) {
             std::vector<TransactionInfo> p = with_store(s, "pending", [](Store& x) { return x.pending(); });
             py::list out;
             for (const auto& t : p) out.append(info_dict(t));
             return out;
           })
      .def("close", [](PyStore& s) {
        py::gil_scoped_release nogil;
        std::unique_lock<std::shared_mutex> lock(s.mu);
        if (s.closed) return;
        s.closed = true;
        std::unique_ptr<Store> st = std::move(s.store);
        st->close();  // throws after releasing what it can; the store object is done either way
      });

  // --- sec2j -------------------------------------------------------------------
  m.def("sec2j_init", [] { return sec2j_call("H5FD_sec2j_init()", "", [] { return H5FD_sec2j_init(); }); });
  m.def("sec2j_term", [] {
    py::gil_scoped_release nogil;
    H5FD_sec2j_term();
  });
  m.def("sec2j_set_fapl", [](int64_t fapl, const std::string& journal) {
    return sec2j_call(journal.empty()
                          ? "H5Pset_fapl_sec2j(fapl " + std::to_string(fapl) + ")"
                          : "H5Pset_fapl_sec2j_journal(fapl " + std::to_string(fapl) + ", " + journal + ")",
                      journal, [&] {
                        return journal.empty() ? H5Pset_fapl_sec2j(hid_t(fapl))
                                               : H5Pset_fapl_sec2j_journal(hid_t(fapl), journal.c_str());
                      });
  });
  m.def("sec2j_tx_start", [](int64_t f) {
    return sec2j_call("H5FD_sec2j_tx_start(file " + std::to_string(f) + ")", "",
                      [&] { return H5FD_sec2j_tx_start(hid_t(f)); });
  });
  m.def("sec2j_tx_end", [](int64_t f) {
    return sec2j_call("H5FD_sec2j_tx_end(file " + std::to_string(f) + ")", "",
                      [&] { return H5FD_sec2j_tx_end(hid_t(f)); });
  });
  m.def("sec2j_tx_abort", [](int64_t f) {
    return sec2j_call("H5FD_sec2j_tx_abort(file " + std::to_string(f) + ")", "",
                      [&] { return H5FD_sec2j_tx_abort(hid_t(f)); });
  });
  m.def("sec2j_recover", [](const std::string& path, const std::string& journal) {
    return sec2j_call("H5FD_sec2j_recover(" + path + ")", path, [&] {
      return H5FD_sec2j_recover(path.c_str(), journal.empty() ? nullptr : journal.c_str());
    });
  });
}
