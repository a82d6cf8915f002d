// HDF5 error stack capture, the HDF5 mutex, and Handle closing.
#include "hdf5/handle.hpp"

#include "h5tx/error.hpp"

namespace h5tx {
namespace hdf5 {

std::recursive_mutex& mutex() {
  static std::recursive_mutex m;
  return m;
}

void silence_error_printing() {
  // Per thread: a thread-safe HDF5 (Debian's) keeps the automatic error
  // printing setting in each thread's error stack, so a once-per-process
  // call left every other thread (flusher, ingest workers) printing
  // HDF5-DIAG dumps.
  thread_local bool done = false;
  if (done) return;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  done = true;
}

namespace {
herr_t collect(unsigned n, const H5E_error2_t* err, void* data) {
  auto* out = static_cast<std::string*>(data);
  if (n > 0) out->append("; ");
  if (err->func_name) out->append(err->func_name).append("(): ");
  if (err->desc) out->append(err->desc);
  return 0;
}
}  // namespace

std::string error_stack_message() {
  std::string msg;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &msg);
  H5Eclear2(H5E_DEFAULT);
  return msg.empty() ? "no HDF5 error message" : msg;
}

void throw_hdf5_error(const std::string& what, const std::string& path) {
  throw Hdf5Error(path, what + ": " + error_stack_message());
}

void Handle::reset() noexcept {
  if (id_ < 0) return;
  hid_t id = std::exchange(id_, H5I_INVALID_HID);
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      H5Fclose(id);
      break;
    case H5I_GROUP:
      H5Gclose(id);
      break;
    case H5I_DATASET:
      H5Dclose(id);
      break;
    case H5I_DATASPACE:
      H5Sclose(id);
      break;
    case H5I_DATATYPE:
      H5Tclose(id);
      break;
    case H5I_GENPROP_LST:
      H5Pclose(id);
      break;
    case H5I_ATTR:
      H5Aclose(id);
      break;
    default:
      H5Idec_ref(id);
      break;
  }
  H5Eclear2(H5E_DEFAULT);
}

void Handle::close_checked(const std::string& path) {
  if (id_ < 0) return;
  hid_t id = std::exchange(id_, H5I_INVALID_HID);
  herr_t st;
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      st = H5Fclose(id);
      break;
    case H5I_GROUP:
      st = H5Gclose(id);
      break;
    case H5I_DATASET:
      st = H5Dclose(id);
      break;
    case H5I_DATASPACE:
      st = H5Sclose(id);
      break;
    case H5I_DATATYPE:
      st = H5Tclose(id);
      break;
    case H5I_GENPROP_LST:
      st = H5Pclose(id);
      break;
    case H5I_ATTR:
      st = H5Aclose(id);
      break;
    default:
      st = H5Idec_ref(id) < 0 ? -1 : 0;
      break;
  }
  check(st, "close", path);
}

bool link_exists(hid_t file, const std::string& path) {
  if (path.empty() || path == "/") return true;
  // H5Lexists needs every intermediate link to exist: walk the components.
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    htri_t e = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
    if (e < 0) throw_hdf5_error("H5Lexists", prefix);
    if (e == 0) return false;
  }
  return true;
}

Handle ensure_group(hid_t file, const std::string& path) {
  if (path.empty() || path == "/") return Handle(H5Gopen2(file, "/", H5P_DEFAULT), "H5Gopen2", "/");
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    htri_t e = H5Lexists(file, prefix.c_str(), H5P_DEFAULT);
    if (e < 0) throw_hdf5_error("H5Lexists", prefix);
    if (e == 0) {
      Handle g(H5Gcreate2(file, prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Gcreate2", prefix);
      if (pos == std::string::npos) return g;
    } else if (pos == std::string::npos) {
      return Handle(H5Gopen2(file, prefix.c_str(), H5P_DEFAULT), "H5Gopen2", prefix);
    }
  }
}

}  // namespace hdf5
}  // namespace h5tx
